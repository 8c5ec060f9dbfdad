//! The trusted lockspace directory: checked component by component, held open, and
//! verified again (cheaply) every time a lease file is opened in it.
//!
//! The promise (no two writers on one disk) rests on every process that locks a disk
//! opening the same lease file, so on nobody but root and the driver's user being able
//! to change which directory `lockspace_dir` names, or what is in it. Like OpenSSH's
//! StrictModes, [`walk`] opens the path one component at a time from `/` (`O_PATH |
//! O_NOFOLLOW`, so each check is of the very inode walked through) and requires of each:
//!
//! - owned by a trusted user: root, this process's effective user, or the explicitly
//!   configured `lockspace_owner` (root-squashed NFS, where files belong to the squash
//!   user);
//! - its parent not writable by group or others, unless the parent is sticky (`/tmp`):
//!   there only the entry's owner (trusted, checked) or root can rename or remove it;
//! - a symlink is read once and its target walked the same way (at most 40);
//! - the directory itself is not writable by group or others, even if sticky.
//!
//! Why the cheap re-check ([`lookup`]) is enough. The walk leaves an `O_PATH` descriptor
//! of the directory; lease files are opened relative to it (`openat` of one name
//! component with `O_NOFOLLOW`: nothing to resolve, so `openat2`'s `RESOLVE_BENEATH`
//! would add nothing), so what this process uses is the directory that was checked,
//! whatever happens to the path afterwards. Other processes must use the same one: each
//! use `statx`es the path, which must still resolve to the held device and inode, with
//! an owner and mode still trusted (after a `fork` the path is walked again: the host may
//! have closed the descriptor in the child, see [`TrustedDir::still_mine`]). At the walk
//! no untrusted user could write
//! any directory on the path (or, in a sticky one, the next entry), and only the owner
//! or root can chmod or chown a directory: so only root or the driver's user can make
//! the path resolve elsewhere. If they do (or loosen an ancestor, after which another
//! user swaps something), the path no longer names the held inode, this process walks
//! again, and the new walk refuses an untrusted path. A process walking afresh at the
//! same time either reaches the same inode or refuses: no two processes that passed a
//! check use two directories, except after root or the driver's user moved the lockspace
//! directory while it was in use (README, "Security": a local root can do anything).

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::abi::err::*;
use crate::error::{Error, Result};

/// How many symlinks a walk follows (as the kernel's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// What `statx` says of a file for the checks: type, permission bits, owner, links,
/// (device, inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: u32,
    pub mode: u32,
    pub uid: u32,
    pub nlink: u32,
    pub ids: (u64, u64),
}

/// `statx` of `path` relative to `dirfd` (`c""` with `AT_EMPTY_PATH`: the file itself),
/// asking for no timestamps (see `ids.rs` for why that matters).
pub fn meta_at(dirfd: RawFd, path: &CStr, flags: libc::c_int) -> std::io::Result<Meta> {
    // SAFETY: statx into a zeroed buffer with a valid C string.
    let mut sx: libc::statx = unsafe { std::mem::zeroed() };
    let mask =
        libc::STATX_TYPE | libc::STATX_MODE | libc::STATX_UID | libc::STATX_NLINK | libc::STATX_INO;
    if unsafe { libc::statx(dirfd, path.as_ptr(), flags, mask, &mut sx) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Meta {
        kind: u32::from(sx.stx_mode) & libc::S_IFMT,
        mode: u32::from(sx.stx_mode) & 0o7777,
        uid: sx.stx_uid,
        nlink: sx.stx_nlink,
        ids: (
            libc::makedev(sx.stx_dev_major, sx.stx_dev_minor),
            sx.stx_ino,
        ),
    })
}

/// The users trusted with the lockspace: root, this process's effective user and the
/// configured `lockspace_owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Owners {
    pub extra: Option<u32>,
}

impl Owners {
    pub fn trusts(&self, uid: u32) -> bool {
        // SAFETY: geteuid has no preconditions.
        uid == 0 || uid == unsafe { libc::geteuid() } || self.extra == Some(uid)
    }
    fn describe(&self) -> String {
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        let base = if me == 0 {
            "root".to_string()
        } else {
            format!("root or uid {me} (this user)")
        };
        match self.extra {
            Some(o) => format!("{base} or uid {o} (lockspace_owner)"),
            None => base,
        }
    }
}

/// A checked lockspace directory, held open.
#[derive(Debug)]
pub struct TrustedDir {
    /// The configured path (as lease paths are built from it).
    pub path: PathBuf,
    /// Never closed by `OwnedFd`'s drop: see `Drop` below.
    fd: std::mem::ManuallyDrop<OwnedFd>,
    ids: (u64, u64),
    pub owners: Owners,
    /// [`FORK_GEN`] when `fd` was opened: a fork since means this may be a child whose
    /// descriptors the host closed (see [`TrustedDir::still_mine`]).
    gen: u64,
}

/// Bumped in every child after `fork` (a `pthread_atfork` handler: no `getpid` per use).
static FORK_GEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn forked_child() {
    FORK_GEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

fn fork_gen() -> u64 {
    static ATFORK: std::sync::Once = std::sync::Once::new();
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only touches an atomic.
        unsafe { libc::pthread_atfork(None, None, Some(forked_child)) };
    });
    FORK_GEN.load(std::sync::atomic::Ordering::Relaxed)
}

impl TrustedDir {
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Whether `fd` is still, in this process, the directory that was checked. A forked
    /// child may have had it closed (libvirt closes every descriptor it does not keep
    /// before running the lock hook in the guest's child), and its number may since name
    /// another file.
    fn still_mine(&self, held: &std::io::Result<Meta>) -> bool {
        self.gen == fork_gen() && matches!(held, Ok(m) if m.ids == self.ids)
    }
}

impl Drop for TrustedDir {
    /// Closes the directory only when its number is provably still ours: closing a
    /// number the host reused would close someone else's file.
    fn drop(&mut self) {
        let held = meta_at(self.fd(), c"", libc::AT_EMPTY_PATH);
        if self.still_mine(&held) {
            // SAFETY: dropped once, here.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.fd) };
        }
    }
}

fn unsafe_dir(dir: &Path, why: String) -> Error {
    Error::new(
        VIR_ERR_CONFIG_UNSUPPORTED,
        format!("lockspace directory '{}' is not safe: {why}", dir.display()),
    )
}

fn open_at(dirfd: RawFd, name: &CStr, flags: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: valid C string; no mode argument is read without O_CREAT.
    let fd = unsafe { libc::openat(dirfd, name.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: just returned by openat, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

const PATH_FLAGS: i32 = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;

fn writable_by_others(m: &Meta) -> bool {
    m.mode & 0o022 != 0
}

/// Walks `dir` from `/` (see the module comment), creating missing components when
/// `create` (0755, the last 0700, like `install -d`), and returns the directory's
/// descriptor and status.
pub fn walk(dir: &Path, owners: Owners, create: bool) -> Result<(OwnedFd, Meta)> {
    if !dir.is_absolute() {
        return Err(Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!(
                "lockspace directory '{}' is not an absolute path",
                dir.display()
            ),
        ));
    }
    let sys = |e: std::io::Error, shown: &Path| {
        Error::system(
            e,
            format!(
                "lockspace directory '{}': '{}'",
                dir.display(),
                shown.display()
            ),
        )
    };
    let root = open_at(libc::AT_FDCWD, c"/", PATH_FLAGS | libc::O_DIRECTORY)
        .map_err(|e| sys(e, Path::new("/")))?;
    let root_meta =
        meta_at(root.as_raw_fd(), c"", libc::AT_EMPTY_PATH).map_err(|e| sys(e, Path::new("/")))?;
    // The stack of directories walked through (physical path), for "..".
    let mut stack: Vec<(OwnedFd, Meta, PathBuf)> = Vec::new();
    let mut todo: Vec<OsString> = components(dir);
    todo.reverse();
    let mut links = 0;
    let check_dir = |m: &Meta, shown: &Path| -> Result<()> {
        if !owners.trusts(m.uid) {
            return Err(unsafe_dir(
                dir,
                format!(
                    "'{}' is owned by uid {}, not by {}",
                    shown.display(),
                    m.uid,
                    owners.describe()
                ),
            ));
        }
        Ok(())
    };
    check_dir(&root_meta, Path::new("/"))?;
    stack.push((root, root_meta, PathBuf::from("/")));
    while let Some(name) = todo.pop() {
        if name == "." {
            continue;
        }
        if name == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let (pfd, pmeta, pshown) = stack.last().expect("root stays");
        let shown = pshown.join(&name);
        let c = CString::new(name.as_bytes())
            .map_err(|_| Error::invalid_arg("lockspace directory contains a NUL byte"))?;
        // Writable by others and not sticky: anyone could have replaced the entry.
        let loose = writable_by_others(pmeta) && pmeta.mode & libc::S_ISVTX == 0;
        let loose_why = || {
            format!(
                "'{}' is writable by other users (mode {:04o})",
                pshown.display(),
                pmeta.mode
            )
        };
        let fd = match open_at(pfd.as_raw_fd(), &c, PATH_FLAGS) {
            Ok(_) if loose => return Err(unsafe_dir(dir, loose_why())),
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                if loose {
                    return Err(Error::new(
                        VIR_ERR_CONFIG_UNSUPPORTED,
                        format!(
                            "lockspace directory '{}' is missing and cannot be created: {}",
                            dir.display(),
                            loose_why()
                        ),
                    ));
                }
                let last = todo.is_empty();
                let mode = if last { 0o700 } else { 0o755 };
                // SAFETY: valid C string and descriptor.
                let rc = unsafe { libc::mkdirat(pfd.as_raw_fd(), c.as_ptr(), mode) };
                let err = std::io::Error::last_os_error();
                if rc != 0 && err.raw_os_error() != Some(libc::EEXIST) {
                    return Err(Error::system(
                        err,
                        format!(
                            "lockspace directory '{}' is missing and cannot be created: '{}'",
                            dir.display(),
                            shown.display()
                        ),
                    ));
                }
                // Created here or meanwhile by someone else: checked like any other.
                open_at(pfd.as_raw_fd(), &c, PATH_FLAGS).map_err(|e| sys(e, &shown))?
            }
            Err(e) => return Err(sys(e, &shown)),
        };
        let m = meta_at(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH).map_err(|e| sys(e, &shown))?;
        check_dir(&m, &shown)?;
        match m.kind {
            libc::S_IFDIR => stack.push((fd, m, shown)),
            libc::S_IFLNK => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(unsafe_dir(
                        dir,
                        format!("more than {MAX_LINKS} symbolic links"),
                    ));
                }
                let target = read_link(&fd).map_err(|e| sys(e, &shown))?;
                if target.is_absolute() {
                    stack.truncate(1);
                }
                let mut more = components(&target);
                more.reverse();
                todo.extend(more);
            }
            _ => {
                return Err(Error::new(
                    VIR_ERR_CONFIG_UNSUPPORTED,
                    format!(
                        "lockspace directory '{}': '{}' is not a directory",
                        dir.display(),
                        shown.display()
                    ),
                ))
            }
        }
    }
    let (fd, m, shown) = stack.pop().expect("root stays");
    if writable_by_others(&m) {
        return Err(unsafe_dir(
            dir,
            format!(
                "'{}' is writable by other users (mode {:04o}): make it 0700 or 0755",
                shown.display(),
                m.mode
            ),
        ));
    }
    Ok((fd, m))
}

fn components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// The target of the symlink open (`O_PATH | O_NOFOLLOW`) as `fd`.
fn read_link(fd: &OwnedFd) -> std::io::Result<PathBuf> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf is writable for its length; the empty path names `fd` itself.
    let n = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(OsStr::from_bytes(&buf)))
}

/// The directories this process checked, by configured path.
static DIRS: Mutex<Vec<Arc<TrustedDir>>> = Mutex::new(Vec::new());

fn dirs() -> std::sync::MutexGuard<'static, Vec<Arc<TrustedDir>>> {
    DIRS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Walks `dir` and remembers it for [`lookup`] (replacing an earlier check of it).
pub fn check(dir: &Path, owners: Owners, create: bool) -> Result<Arc<TrustedDir>> {
    let (fd, m) = walk(dir, owners, create)?;
    let td = Arc::new(TrustedDir {
        path: dir.to_path_buf(),
        fd: std::mem::ManuallyDrop::new(fd),
        ids: m.ids,
        owners,
        gen: fork_gen(),
    });
    let mut all = dirs();
    all.retain(|d| d.path != dir);
    all.push(td.clone());
    Ok(td)
}

/// The checked directory `dir`, verified again: `None` if this process never checked
/// it (not a lockspace directory: a user's own lease file is elsewhere). One `statx`
/// when nothing moved; a full walk when the path names another inode than the one held
/// (see the module comment), which then replaces it or is the error.
pub fn lookup(dir: &Path) -> Result<Option<Arc<TrustedDir>>> {
    let Some(td) = dirs().iter().find(|d| d.path == dir).cloned() else {
        return Ok(None);
    };
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| Error::invalid_arg("lockspace directory contains a NUL byte"))?;
    // One `statx` of the path: when it names the held inode, its owner and mode are the
    // held directory's. No fork since: the descriptor is still the one opened (only a
    // forked child's host closes descriptors it does not know).
    if td.gen == fork_gen() {
        if let Ok(now) = meta_at(libc::AT_FDCWD, &c, 0) {
            if now.ids == td.ids && td.owners.trusts(now.uid) && !writable_by_others(&now) {
                return Ok(Some(td));
            }
        }
    }
    // Moved, loosened, or no longer ours (a forked child): walked again.
    check(dir, td.owners, false).map(Some)
}

/// Forgets every checked directory (the plugin's last `drvDeinit`).
pub fn clear() {
    *dirs() = Vec::new();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn walks_and_refuses_loose_components() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().join("base");
        let ls = base.join("ls");
        let (_, m) = walk(&ls, Owners::default(), true).unwrap();
        assert_eq!(m.mode, 0o700);
        chmod(&base, 0o777);
        let e = walk(&ls, Owners::default(), false).unwrap_err();
        assert!(
            e.message.contains("writable by other users (mode 0777)"),
            "{e}"
        );
        assert!(e.message.contains(base.to_str().unwrap()), "{e}");
        // Sticky: fine while the entry is ours.
        chmod(&base, 0o1777);
        walk(&ls, Owners::default(), false).unwrap();
        chmod(&base, 0o755);
        // A symlink is followed once and its target checked.
        let link = t.path().join("link");
        std::os::unix::fs::symlink("base/./../base/ls", &link).unwrap();
        let (_, lm) = walk(&link, Owners::default(), false).unwrap();
        assert_eq!(lm.ids, m.ids);
        chmod(&base, 0o775);
        assert!(walk(&link, Owners::default(), false).is_err());
        chmod(&base, 0o755);
        // A loop ends.
        let a = t.path().join("a");
        std::os::unix::fs::symlink("a", &a).unwrap();
        let e = walk(&a, Owners::default(), false).unwrap_err();
        assert!(e.message.contains("symbolic links"), "{e}");
    }

    #[test]
    fn lookup_follows_a_moved_directory_and_refuses_a_loosened_one() {
        let t = tempfile::tempdir().unwrap();
        let ls = t.path().join("ls");
        let first = check(&ls, Owners::default(), true).unwrap();
        let again = lookup(&ls).unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "nothing moved: no new walk");
        std::fs::rename(&ls, t.path().join("old")).unwrap();
        std::fs::create_dir(&ls).unwrap();
        let moved = lookup(&ls).unwrap().unwrap();
        assert_ne!(moved.ids, first.ids);
        chmod(&ls, 0o777);
        assert!(lookup(&ls).is_err());
        assert!(lookup(&t.path().join("never")).unwrap().is_none());
        // The held descriptor closed and its number reused (libvirt's child before the
        // lock hook): walked again, the other file left open.
        chmod(&ls, 0o700);
        let td = lookup(&ls).unwrap().unwrap();
        let n = td.fd();
        unsafe { libc::close(n) };
        let other = std::fs::File::open(t.path()).unwrap();
        let reused = std::os::fd::AsRawFd::as_raw_fd(&other) == n;
        drop(td);
        forked_child(); // what the atfork handler does in a child
        assert!(fork_gen() > 0);
        let again = lookup(&ls).unwrap().unwrap();
        assert_eq!(again.ids, moved.ids);
        if reused {
            assert!(meta_at(n, c"", libc::AT_EMPTY_PATH).is_ok(), "not closed");
        }
        drop(other);
    }
}
