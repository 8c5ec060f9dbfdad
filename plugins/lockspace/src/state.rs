//! Lock state strings (`drvInquire`, `drvRelease` → `drvAcquire`), the migration
//! hand-over format:
//!
//! ```text
//! lockspace/1;d:x:3:/var/lib/images/a.img;l:s:0:key:space:/leases/f:4096
//! ```
//!
//! After the version tag, one `;`-separated entry per locked resource: kind (`d` disk,
//! `l` lease), mode (`x` exclusive, `s` shared), the lease's generation when the state was
//! taken, then the resource: a disk's canonical path; a lease's key, lockspace, path (the
//! last two empty when absent) and offset. Fields are percent-escaped, so any path works.
//! The generation lets `drvAcquire` detect a stale state: it changes every time someone
//! takes the lease exclusively.
//!
//! A disk's second, host-local lock ([`Target::DiskIdentity`], see `naming.rs`) is never
//! written into a state: device and inode numbers mean nothing on the destination host,
//! which derives its own from the disk path.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::error::{Error, Result};

const TAG: &str = "lockspace/1";

/// What a resource locks, independent of how it was named by the caller.
#[derive(Debug, Clone)]
pub enum Target {
    /// A disk, by canonical path (or the absolute path as given when it does not exist).
    Disk { path: String },
    /// The image behind a disk path on this host, whatever name reaches it (hard links,
    /// bind mounts): `host` and the image's device and inode (`ino` 0 and `dev` the
    /// device number for a block device). `path` is the name it was reached by, for
    /// messages only: two targets with the same image are equal whatever their paths.
    DiskIdentity {
        path: String,
        host: String,
        dev: u64,
        ino: u64,
    },
    /// A lease: `key` in `lockspace`; with `path`, a byte-range lock at `offset` in it.
    Lease {
        key: String,
        lockspace: Option<String>,
        path: Option<String>,
        offset: u64,
    },
}

/// Compares a target's identity (what is locked), never a `DiskIdentity`'s `path`.
fn identity_key(t: &Target) -> (u8, &str, &str, &str, u64, u64) {
    #[cfg(test)]
    tests::PROBES.with(|p| p.set(p.get() + 1));
    match t {
        Target::Disk { path } => (0, path, "", "", 0, 0),
        Target::DiskIdentity { host, dev, ino, .. } => (1, host, "", "", *dev, *ino),
        Target::Lease {
            key,
            lockspace,
            path,
            offset,
        } => (
            2 + u8::from(path.is_some()),
            key,
            lockspace.as_deref().unwrap_or(""),
            path.as_deref().unwrap_or(""),
            *offset,
            u64::from(lockspace.is_some()),
        ),
    }
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        identity_key(self) == identity_key(other)
    }
}

impl Eq for Target {}

impl Hash for Target {
    fn hash<H: Hasher>(&self, state: &mut H) {
        identity_key(self).hash(state)
    }
}

impl Target {
    /// How error messages name it.
    /// For messages: names escaped ([`escape`]).
    pub fn describe(&self) -> String {
        use crate::record::escape;
        match self {
            Target::Disk { path } => format!("disk '{}'", escape(path)),
            Target::DiskIdentity { path, dev, ino, .. } if *ino == 0 => format!(
                "disk '{}' (block device {}:{}, by any name)",
                escape(path),
                libc::major(*dev),
                libc::minor(*dev)
            ),
            Target::DiskIdentity { path, dev, ino, .. } => format!(
                "disk '{}' (image inode {ino} on device {}:{}, by any name)",
                escape(path),
                libc::major(*dev),
                libc::minor(*dev)
            ),
            Target::Lease {
                key,
                path: Some(p),
                offset,
                ..
            } => format!("lease '{}' ({} offset {offset})", escape(key), escape(p)),
            Target::Lease { key, .. } => format!("lease '{}'", escape(key)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub target: Target,
    pub shared: bool,
    pub generation: u64,
}

fn escape(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/._-+@,=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn unescape(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(&format!("bad escape in '{s}'")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad(&format!("'{s}' is not UTF-8")))
}

fn bad(why: &str) -> Error {
    Error::invalid_arg(format!("invalid lock state: {why}"))
}

pub fn encode(entries: &[Entry]) -> String {
    let mut s = String::from(TAG);
    for e in entries {
        let mode = if e.shared { 's' } else { 'x' };
        match &e.target {
            // Host-local: the receiver derives its own from the disk's path.
            Target::DiskIdentity { .. } => continue,
            Target::Disk { path } => {
                s.push(';');
                s.push_str(&format!("d:{mode}:{}:", e.generation));
                escape(path, &mut s);
            }
            Target::Lease {
                key,
                lockspace,
                path,
                offset,
            } => {
                s.push(';');
                s.push_str(&format!("l:{mode}:{}:", e.generation));
                escape(key, &mut s);
                s.push(':');
                escape(lockspace.as_deref().unwrap_or(""), &mut s);
                s.push(':');
                escape(path.as_deref().unwrap_or(""), &mut s);
                s.push_str(&format!(":{offset}"));
            }
        }
    }
    s
}

pub fn decode(state: &str) -> Result<Vec<Entry>> {
    let mut parts = state.split(';');
    if parts.next() != Some(TAG) {
        return Err(bad(&format!("'{state}' does not start with '{TAG}'")));
    }
    let mut out = Vec::new();
    for part in parts {
        let f: Vec<&str> = part.split(':').collect();
        let shared = match f.get(1) {
            Some(&"x") => false,
            Some(&"s") => true,
            _ => return Err(bad(&format!("entry '{part}' has no mode x or s"))),
        };
        let generation = f
            .get(2)
            .and_then(|g| g.parse::<u64>().ok())
            .ok_or_else(|| bad(&format!("entry '{part}' has no generation")))?;
        let target = match (f[0], f.len()) {
            ("d", 4) => {
                let path = unescape(f[3])?;
                if !path.starts_with('/') {
                    return Err(bad(&format!("disk path '{path}' is not absolute")));
                }
                Target::Disk { path }
            }
            ("l", 7) => {
                let opt = |s: &str| -> Result<Option<String>> {
                    let v = unescape(s)?;
                    Ok((!v.is_empty()).then_some(v))
                };
                Target::Lease {
                    key: unescape(f[3])?,
                    lockspace: opt(f[4])?,
                    path: opt(f[5])?,
                    offset: f[6]
                        .parse()
                        .map_err(|_| bad(&format!("entry '{part}' has a bad offset")))?,
                }
            }
            _ => return Err(bad(&format!("malformed entry '{part}'"))),
        };
        if let Target::Lease { path: Some(p), .. } = &target {
            if !p.starts_with('/') {
                return Err(bad(&format!("lease path '{p}' is not absolute")));
            }
        }
        out.push(Entry {
            target,
            shared,
            generation,
        });
    }
    Ok(out)
}

/// Merges a state's entries into the resources a `drvAcquire` wants (`wanted`, each with
/// the generation the state expects of it): an entry for a wanted resource sets that
/// generation, any other entry is added through `make` (which returns its resources,
/// the first one being the entry's own, or refuses it). One hash lookup per entry, so a
/// state of n entries costs O(n) (it was a linear search per entry: 40k entries, 2.6 s).
pub fn merge<R>(
    wanted: &mut Vec<(R, Option<u64>)>,
    target_of: impl Fn(&R) -> &Target,
    entries: Vec<Entry>,
    mut make: impl FnMut(Entry) -> Result<Vec<R>>,
) -> Result<()> {
    let mut index: HashMap<Target, usize> = HashMap::with_capacity(wanted.len() + entries.len());
    for (i, (r, _)) in wanted.iter().enumerate() {
        index.entry(target_of(r).clone()).or_insert(i);
    }
    for e in entries {
        if let Some(&i) = index.get(&e.target) {
            wanted[i].1 = Some(e.generation);
            continue;
        }
        let generation = e.generation;
        for (k, r) in make(e)?.into_iter().enumerate() {
            if index.contains_key(target_of(&r)) {
                continue;
            }
            index.insert(target_of(&r).clone(), wanted.len());
            // Only the entry's own lease carries a generation to check.
            wanted.push((r, (k == 0).then_some(generation)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Target comparisons and hashes done by this thread (complexity test).
        pub static PROBES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    fn disk(i: usize) -> Entry {
        Entry {
            target: Target::Disk {
                path: format!("/images/disk-{i}.img"),
            },
            shared: false,
            generation: i as u64,
        }
    }

    /// Target probes to merge a state of `n` entries into `n / 2` wanted resources of
    /// which half are in the state.
    fn probes_for(n: usize) -> u64 {
        let mut wanted: Vec<(Target, Option<u64>)> =
            (0..n / 2).map(|i| (disk(i * 2).target, None)).collect();
        let entries: Vec<Entry> = (0..n).map(disk).collect();
        let state = encode(&entries);
        PROBES.with(|p| p.set(0));
        let decoded = decode(&state).unwrap();
        merge(&mut wanted, |t| t, decoded, |e| Ok(vec![e.target])).unwrap();
        assert_eq!(wanted.len(), n);
        assert!(wanted.iter().all(|(_, g)| g.is_some()));
        PROBES.with(|p| p.get())
    }

    #[test]
    fn merging_a_state_is_linear_in_probes() {
        let small = probes_for(2_000);
        let large = probes_for(40_000);
        // 20x the entries: linear gives ~20x the probes, the old search gave ~400x.
        eprintln!("target probes: 2000 entries {small}, 40000 entries {large}");
        assert!(large <= small * 30, "{small} -> {large}");
    }

    #[test]
    fn identity_ignores_the_name_and_is_never_encoded() {
        let a = Target::DiskIdentity {
            path: "/a".into(),
            host: "h".into(),
            dev: 1,
            ino: 2,
        };
        let b = Target::DiskIdentity {
            path: "/b".into(),
            host: "h".into(),
            dev: 1,
            ino: 2,
        };
        assert_eq!(a, b);
        let mut other = b.clone();
        if let Target::DiskIdentity { host, .. } = &mut other {
            *host = "other-host".into();
        }
        assert_ne!(a, other);
        let s = encode(&[Entry {
            target: a,
            shared: false,
            generation: 1,
        }]);
        assert_eq!(s, "lockspace/1");
    }

    #[test]
    fn round_trip() {
        let entries = vec![
            Entry {
                target: Target::Disk {
                    path: "/var/lib/a b;c:d%e.img".into(),
                },
                shared: false,
                generation: 7,
            },
            Entry {
                target: Target::Lease {
                    key: "k:1".into(),
                    lockspace: Some("space".into()),
                    path: None,
                    offset: 0,
                },
                shared: true,
                generation: 0,
            },
            Entry {
                target: Target::Lease {
                    key: "k".into(),
                    lockspace: None,
                    path: Some("/leases/f".into()),
                    offset: 1048576,
                },
                shared: false,
                generation: u64::MAX,
            },
        ];
        let s = encode(&entries);
        assert!(
            s.starts_with("lockspace/1;d:x:7:/var/lib/a%20b%3Bc%3Ad%25e.img;"),
            "{s}"
        );
        assert_eq!(decode(&s).unwrap(), entries);
        assert_eq!(decode("lockspace/1").unwrap(), vec![]);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "lockspace/2",
            "lockspace/1;",
            "lockspace/1;d:q:1:/x",
            "lockspace/1;d:x:z:/x",
            "lockspace/1;d:x:1:rel",
            "lockspace/1;d:x:1:/x:extra",
            "lockspace/1;l:x:1:k::",
            "lockspace/1;l:x:1:k:::off",
            "lockspace/1;d:x:1:/%zz",
            "lockspace/1;l:x:1:k::rel/file:0",
        ] {
            let e = decode(s).unwrap_err();
            assert!(e.message.starts_with("invalid lock state"), "{s}: {e}");
        }
    }
}
