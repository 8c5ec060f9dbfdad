//! What the daemon's side keeps between managers, for as long as the plugin is loaded
//! (cleared at the last `drvDeinit`): the pidfds of the guest processes it reached and
//! read-only looks at lease files. libvirt makes a new manager for every resume, pause
//! and attach, so a cache per manager saved nothing between them; opening a pidfd and a
//! lease file were 6 of a daemon cycle's system calls.
//!
//! Neither keeps anything of a guest alive: a pidfd does not keep its process (nor its
//! files and locks), and a look at a lease file is a read-only open file that holds no
//! lock and no slot.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Result;
use crate::lease;

/// (device, inode) of a file.
pub type Ids = (u64, u64);

/// Pidfds by pid. A pidfd always names the process it was opened for: once that
/// process is gone, `pidfd_getfd` through it fails (`ESRCH`), even if the pid names
/// another process by then; the caller then forgets it ([`forget_pidfd`]) and opens a
/// new one. Entries of processes that exited are dropped whenever one is added.
static PIDFDS: Mutex<Vec<(u32, Arc<OwnedFd>)>> = Mutex::new(Vec::new());

/// Looks at lease files by path, each checked by name (as `lstat` would, see `ids.rs`)
/// before every use: a file replaced under the same name is opened again. At most
/// [`MAX_PROBES`], oldest out.
static PROBES: Mutex<Vec<(PathBuf, Arc<OwnedFd>, Ids)>> = Mutex::new(Vec::new());

/// A descriptor each, in a daemon whose descriptors serve every guest: enough for the two
/// leases of 32 disks touched in a row; past it, the oldest look is closed (a later use
/// opens it again, as every call did before this cache).
const MAX_PROBES: usize = 64;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pidfd of process `pid`: the cached one (`true`) or one opened now by `open`.
pub fn pidfd(pid: u32, open: impl FnOnce() -> Result<OwnedFd>) -> Result<(Arc<OwnedFd>, bool)> {
    if let Some((_, fd)) = lock(&PIDFDS).iter().find(|(p, _)| *p == pid) {
        return Ok((fd.clone(), true));
    }
    let fd = Arc::new(open()?);
    let mut cache = lock(&PIDFDS);
    drop_exited(&mut cache);
    cache.retain(|(p, _)| *p != pid);
    cache.push((pid, fd.clone()));
    Ok((fd, false))
}

/// Drops `fd` from the cache (its process is gone).
pub fn forget_pidfd(fd: &Arc<OwnedFd>) {
    lock(&PIDFDS).retain(|(_, f)| !Arc::ptr_eq(f, fd));
}

/// Drops the pidfds of processes that exited: one `poll` for all of them (a pidfd is
/// readable once its process exited).
fn drop_exited(cache: &mut Vec<(u32, Arc<OwnedFd>)>) {
    if cache.is_empty() {
        return;
    }
    let mut polls: Vec<libc::pollfd> = cache
        .iter()
        .map(|(_, fd)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: polls is valid for its length; timeout 0 never waits.
    let n = unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, 0) };
    if n <= 0 {
        return;
    }
    let mut i = 0;
    cache.retain(|_| {
        let keep = polls[i].revents == 0;
        i += 1;
        keep
    });
}

/// A read-only look at lease file `path` and its (device, inode); `None` while it does
/// not exist. One `statx` of the name when cached (the name must still be that regular file), else
/// opened as [`lease::open_probe`] does.
pub fn probe(path: &Path) -> Result<Option<(Arc<OwnedFd>, Ids)>> {
    let Some(st) = lease::probe_lstat(path)? else {
        lock(&PROBES).retain(|(p, _, _)| p != path);
        return Ok(None);
    };
    let ids = st.ids;
    {
        let cache = lock(&PROBES);
        if let Some((_, fd, _)) = cache.iter().find(|(p, _, i)| p == path && *i == ids) {
            return Ok(Some((fd.clone(), ids)));
        }
    }
    let fd = Arc::new(lease::open_probe_at(path, &st)?);
    let mut cache = lock(&PROBES);
    cache.retain(|(p, _, _)| p != path);
    if cache.len() >= MAX_PROBES {
        cache.remove(0);
    }
    cache.push((path.to_path_buf(), fd.clone(), ids));
    Ok(Some((fd, ids)))
}

/// Frees both caches (the last `drvDeinit`: the plugin may be unloaded next, and its
/// statics' memory and descriptors with it). Managers still holding an entry keep it
/// until they are freed.
pub fn clear() {
    *lock(&PIDFDS) = Vec::new();
    *lock(&PROBES) = Vec::new();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_follow_the_file_behind_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lease");
        assert!(probe(&p).unwrap().is_none());
        std::fs::write(&p, b"").unwrap();
        let (a, ids) = probe(&p).unwrap().unwrap();
        let (b, _) = probe(&p).unwrap().unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the same file is looked at once");
        // Replaced under the same name: a new look at the new file.
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, b"").unwrap();
        let (c, ids2) = probe(&p).unwrap().unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_ne!(ids, ids2);
        std::fs::remove_file(&p).unwrap();
        assert!(probe(&p).unwrap().is_none());
        std::os::unix::fs::symlink(dir.path(), &p).unwrap();
        assert!(probe(&p).is_err(), "a symlink is refused unopened");
    }

    #[test]
    fn pidfds_of_exited_processes_go() {
        let me = std::process::id();
        let open = |pid: u32| {
            move || -> Result<OwnedFd> {
                let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
                assert!(fd >= 0);
                Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) })
            }
        };
        let (a, _) = pidfd(me, open(me)).unwrap();
        let (b, again) = pidfd(me, open(me)).unwrap();
        assert!(again && Arc::ptr_eq(&a, &b));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let cpid = child.id();
        let (c, _) = pidfd(cpid, open(cpid)).unwrap();
        child.wait().unwrap();
        // Adding another entry drops the exited child's.
        let mut other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let opid = other.id();
        pidfd(opid, open(opid)).unwrap();
        assert!(!lock(&PIDFDS).iter().any(|(_, f)| Arc::ptr_eq(f, &c)));
        forget_pidfd(&a);
        assert!(!lock(&PIDFDS).iter().any(|(p, _)| *p == me));
        let _ = other.kill();
        let _ = other.wait();
    }
}
