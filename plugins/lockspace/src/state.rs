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

use crate::error::{Error, Result};

const TAG: &str = "lockspace/1";

/// What a resource locks, independent of how it was named by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A disk, by canonical path (or the absolute path as given when it does not exist).
    Disk { path: String },
    /// A lease: `key` in `lockspace`; with `path`, a byte-range lock at `offset` in it.
    Lease {
        key: String,
        lockspace: Option<String>,
        path: Option<String>,
        offset: u64,
    },
}

impl Target {
    /// How error messages name it.
    pub fn describe(&self) -> String {
        match self {
            Target::Disk { path } => format!("disk '{path}'"),
            Target::Lease {
                key,
                path: Some(p),
                offset,
                ..
            } => format!("lease '{key}' ({p} offset {offset})"),
            Target::Lease { key, .. } => format!("lease '{key}'"),
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
        s.push(';');
        let mode = if e.shared { 's' } else { 'x' };
        match &e.target {
            Target::Disk { path } => {
                s.push_str(&format!("d:{mode}:{}:", e.generation));
                escape(path, &mut s);
            }
            Target::Lease {
                key,
                lockspace,
                path,
                offset,
            } => {
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
        out.push(Entry {
            target,
            shared,
            generation,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            let e = decode(s).unwrap_err();
            assert!(e.message.starts_with("invalid lock state"), "{s}: {e}");
        }
    }
}
