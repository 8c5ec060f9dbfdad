//! Naming: which lease files lock a resource. Every lease in the lockspace directory is
//! named by the SHA-256 of what identifies its resource, so the same resource gets the
//! same file on every host sharing the directory, and a disk that exists gets a second,
//! host-local lease for the image behind its path (one image, one resource: hard links
//! and bind mounts of it meet there).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::lease::{sha256_hex, RESOURCE_LOCK};
use crate::state::Target;

/// The file(s) of a lease: the file carrying the resource lock, the byte locked, and the
/// file with the header and holder records when it is another one. Everything but a
/// user's lease file (a lease's `path`) is in the lockspace directory `dir`, named by the
/// SHA-256 of what identifies the resource:
///
/// - a disk: its canonical path, the same name on every host sharing `dir`;
/// - the image behind a disk on one host ([`Target::DiskIdentity`]): `image`, the host's
///   identity, and the image's device and inode; host-local numbers never meet another
///   host's, so two different images never share a lease across hosts;
/// - a lease: `lease`, its lockspace and key (and its file and offset with a path).
pub fn files_for(dir: &Path, target: &Target) -> (PathBuf, u64, Option<PathBuf>) {
    let named = |material: &str| dir.join(sha256_hex(material.as_bytes()));
    match target {
        Target::Disk { path } => (named(path), RESOURCE_LOCK, None),
        Target::DiskIdentity { host, dev, ino, .. } => (
            named(&format!("image\0{host}\0{dev}\0{ino}")),
            RESOURCE_LOCK,
            None,
        ),
        Target::Lease {
            key,
            lockspace,
            path: Some(p),
            offset,
        } => (
            PathBuf::from(p),
            *offset,
            Some(named(&format!(
                "lease\0{}\0{key}\0{p}\0{offset}",
                lockspace.as_deref().unwrap_or("")
            ))),
        ),
        Target::Lease {
            key,
            lockspace,
            path: None,
            ..
        } => (
            named(&format!(
                "lease\0{}\0{key}",
                lockspace.as_deref().unwrap_or("")
            )),
            RESOURCE_LOCK,
            None,
        ),
    }
}

/// Symlinks followed while resolving a path before giving up (the kernel's limit).
const MAX_SYMLINKS: usize = 40;

/// The canonical form of a disk path, the same before and after the file exists: the
/// longest existing prefix resolved by `realpath` (a dangling symlink at its end
/// followed), then the remaining components with `.`, `..` and `//` removed lexically.
/// So a disk locked before it is created and the file once created (through whatever
/// symlinked directory) map to one lease.
pub fn canonical_disk_path(path: &str) -> Result<String> {
    if !path.starts_with('/') {
        return Err(Error::invalid_arg(format!(
            "disk path '{path}' is not absolute"
        )));
    }
    resolve(Path::new(path), 0)
        .map_err(|e| Error::system(e, format!("cannot resolve disk path '{path}'")))?
        .into_os_string()
        .into_string()
        .map_err(|_| Error::invalid_arg(format!("disk path '{path}' is not UTF-8")))
}

fn resolve(path: &Path, links: usize) -> io::Result<PathBuf> {
    use std::path::Component;
    match std::fs::canonicalize(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        done => return done,
    }
    let comps: Vec<Component> = path.components().collect();
    // comps[0] is the root, which always resolves: the loop always returns.
    for n in (1..comps.len()).rev() {
        let prefix: PathBuf = comps[..n].iter().collect();
        let mut base = match std::fs::canonicalize(&prefix) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let first = base.join(comps[n]);
        if let Ok(target) = std::fs::read_link(&first) {
            // A dangling symlink: the file will be created where it points.
            if links >= MAX_SYMLINKS {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            let mut next = base.join(target);
            next.extend(&comps[n + 1..]);
            return resolve(&next, links + 1);
        }
        for c in &comps[n..] {
            match c {
                Component::ParentDir => {
                    base.pop();
                }
                Component::Normal(s) => base.push(s),
                _ => {}
            }
        }
        return Ok(base);
    }
    Ok(PathBuf::from("/"))
}

/// This host, as image identities name it: `/etc/machine-id` (unique per installation),
/// else the host name. Hosts sharing a lockspace directory must differ in it. Read once
/// per load of the plugin (it is on every disk's path); kept in a fixed buffer, so an
/// unload leaves no heap memory behind.
pub fn host_identity() -> String {
    static HOST: OnceLock<([u8; 300], usize)> = OnceLock::new();
    let (buf, len) = HOST.get_or_init(|| {
        let text = read_host_identity();
        let mut buf = [0u8; 300];
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
        (buf, n)
    });
    String::from_utf8_lossy(&buf[..*len]).into_owned()
}

fn read_host_identity() -> String {
    if let Ok(id) = std::fs::read_to_string("/etc/machine-id") {
        let id = id.trim();
        if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return format!("machine-id:{id}");
        }
    }
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "host:unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    format!("host:{}", String::from_utf8_lossy(&buf[..end]))
}

/// The host-local identity of the image behind a disk's canonical path, so that every
/// name of one image (hard links, bind mounts) takes one more, common lock: `None` when
/// the path does not exist (yet). Only `stat`: the image is never opened. A block
/// device is identified by its device number (two nodes of one device are one disk).
pub fn disk_identity(target: &Target) -> Result<Option<Target>> {
    let Target::Disk { path } = target else {
        return Ok(None);
    };
    let st = match std::fs::metadata(path) {
        Ok(st) => st,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::system(e, format!("cannot stat disk '{path}'"))),
    };
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let (dev, ino) = if st.file_type().is_block_device() {
        (st.rdev(), 0)
    } else {
        (st.dev(), st.ino())
    };
    Ok(Some(Target::DiskIdentity {
        path: path.clone(),
        host: host_identity(),
        dev,
        ino,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_disk_has_its_future_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap().join("real");
        std::fs::create_dir(&real).unwrap();
        let images = dir.path().join("images");
        std::os::unix::fs::symlink(&real, &images).unwrap();
        let s = |p: &Path| p.to_str().unwrap().to_string();
        let canon = |p: String| canonical_disk_path(&p).unwrap();
        let want = s(&real.join("vm.img"));
        // Missing: through the symlinked directory, with `//`, `/./`, `x/..`.
        assert_eq!(canon(s(&images.join("vm.img"))), want);
        assert_eq!(canon(format!("{}//./vm.img", s(&images))), want);
        assert_eq!(canon(format!("{}/x/../vm.img", s(&real))), want);
        assert_eq!(canon(format!("{}/a/b/../../vm.img", s(&images))), want);
        // A dangling symlink to the disk-to-be resolves where the file will appear.
        let dangling = dir.path().join("dangling.img");
        std::os::unix::fs::symlink(images.join("vm.img"), &dangling).unwrap();
        assert_eq!(canon(s(&dangling)), want);
        // Once created: the same path.
        std::fs::write(real.join("vm.img"), b"").unwrap();
        assert_eq!(canon(s(&images.join("vm.img"))), want);
        assert_eq!(canon(s(&dangling)), want);
        // A symlink loop is an error, not a hang.
        let loop_a = dir.path().join("loop_a");
        std::os::unix::fs::symlink(dir.path().join("loop_b"), &loop_a).unwrap();
        std::os::unix::fs::symlink(&loop_a, dir.path().join("loop_b")).unwrap();
        assert!(canonical_disk_path(&s(&loop_a)).is_err());
        assert_eq!(canon("/no/such//./disk.img".into()), "/no/such/disk.img");
    }

    #[test]
    fn one_image_one_identity() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("a.img");
        std::fs::write(&img, b"x").unwrap();
        let hard = dir.path().join("b.img");
        std::fs::hard_link(&img, &hard).unwrap();
        let other = dir.path().join("c.img");
        std::fs::write(&other, b"x").unwrap();
        let id = |p: &Path| {
            disk_identity(&Target::Disk {
                path: p.to_str().unwrap().into(),
            })
            .unwrap()
            .unwrap()
        };
        assert_eq!(id(&img), id(&hard));
        assert_ne!(id(&img), id(&other));
        let ls = dir.path().join("ls");
        assert_eq!(files_for(&ls, &id(&img)), files_for(&ls, &id(&hard)));
        // The path leases of two names differ: the identity is what joins them.
        let disk = |p: &Path| Target::Disk {
            path: p.to_str().unwrap().into(),
        };
        assert_ne!(
            files_for(&ls, &disk(&img)).0,
            files_for(&ls, &disk(&hard)).0
        );
        assert!(disk_identity(&Target::Disk {
            path: "/no/such/image".into()
        })
        .unwrap()
        .is_none());
        let null = disk_identity(&Target::Disk {
            path: "/dev/null".into(),
        })
        .unwrap();
        assert!(
            null.is_some(),
            "a character device still has an inode identity"
        );
    }
}
