//! Removing lease files nothing holds (`virtcore-lock gc`), safely against concurrent
//! acquires, so that the lockspace does not grow forever and a damaged or planted entry
//! can be cleared.
//!
//! The protocol: gc opens the file relative to the checked lockspace directory, takes
//! every lock byte of it (the resource byte and every holder slot, `F_OFD_SETLK`, never
//! waiting), checks that the name still links that very file, unlinks it while holding
//! all of them, and only then closes it. Every holder holds at least one of those bytes
//! for as long as it holds or has registered the resource, so gc never removes a file in
//! use. An acquirer that opened the file before gc removed it takes its lock only after
//! gc let go, and then checks that its file is still the one linked at the name
//! (`manager::check_linked`); if not, it opens the name again. So once an acquirer holds
//! a lock on a linked file, every later acquirer opens that same file.

use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::{Error, Result};
use crate::lease::{self, MAX_SLOTS, RESOURCE_LOCK, SLOT_LOCK_BASE};
use crate::trust;

/// What [`collect`] did with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Removed: nothing held it (`why` is empty for an ordinary lease file, else what
    /// was wrong with it: a damaged header, a planted entry).
    Removed(String),
    /// Kept: a holder or a registered guest has it.
    InUse,
    /// Kept: not a lease file this could remove (a directory), with the reason.
    Skipped(String),
}

fn lock_all(fd: i32) -> std::io::Result<bool> {
    if !lease::try_lock(fd, libc::F_WRLCK, RESOURCE_LOCK)? {
        return Ok(false);
    }
    // SAFETY: flock is plain data; zero is valid (l_pid must be 0 for OFD locks).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = SLOT_LOCK_BASE as libc::off_t;
    fl.l_len = MAX_SLOTS as libc::off_t;
    // SAFETY: F_OFD_SETLK with a valid flock.
    if unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &fl) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
        _ => Err(e),
    }
}

/// Removes lease file `path` (in a lockspace directory this process checked) when
/// nothing holds it. An entry that is no lease file the driver would open (a FIFO, a
/// symlink, a hard link, another user's file, a wrong mode) is removed by name only
/// (the file another link points to stays): nothing can hold it, the driver refuses it.
pub fn collect(path: &Path) -> Result<Outcome> {
    let Some((td, name)) = crate::leasedir::in_lockspace(path)? else {
        return Err(Error::invalid_arg(format!(
            "'{}' is not in a checked lockspace directory",
            path.display()
        )));
    };
    let sys = |e: std::io::Error| Error::system(e, format!("lease file '{}'", path.display()));
    let m = match trust::meta_at(td.fd(), &name, libc::AT_SYMLINK_NOFOLLOW) {
        Ok(m) => m,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            return Ok(Outcome::Skipped("gone".into()))
        }
        Err(e) => return Err(sys(e)),
    };
    if m.kind == libc::S_IFDIR {
        return Ok(Outcome::Skipped("a directory".into()));
    }
    if let Err(e) = crate::leasedir::check_lease(&m, &td, path) {
        unlink(td.fd(), &name).map_err(sys)?;
        return Ok(Outcome::Removed(e.message));
    }
    let Some(fd) = crate::leasedir::open_at(td.fd(), &name, lease::RW) else {
        return Err(sys(std::io::Error::last_os_error()));
    };
    if crate::ids::of_fd(fd.as_raw_fd()).map_err(sys)?.ids != m.ids {
        return Ok(Outcome::Skipped("replaced while looking".into()));
    }
    if !lock_all(fd.as_raw_fd()).map_err(sys)? {
        return Ok(Outcome::InUse);
    }
    // Holding every lock: nobody can start holding it until we close.
    if !lease::still_linked(fd.as_raw_fd(), path)? {
        return Ok(Outcome::Skipped("replaced while looking".into()));
    }
    let why = match lease::read_generation(fd.as_raw_fd(), path) {
        Ok(_) => String::new(),
        Err(e) => e.message,
    };
    unlink(td.fd(), &name).map_err(sys)?;
    drop(fd);
    Ok(Outcome::Removed(why))
}

fn unlink(dirfd: i32, name: &std::ffi::CStr) -> std::io::Result<()> {
    // SAFETY: valid descriptor and C string.
    if unsafe { libc::unlinkat(dirfd, name.as_ptr(), 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn removes_only_what_nothing_holds() {
        let dir = tempfile::tempdir().unwrap();
        trust::check(dir.path(), Default::default(), false).unwrap();
        let held = dir.path().join("held");
        let idle = dir.path().join("idle");
        let registered = dir.path().join("reg");
        let h = lease::open(&held, true).unwrap();
        assert!(lease::try_lock(h.as_raw_fd(), libc::F_WRLCK, RESOURCE_LOCK).unwrap());
        drop(lease::open(&idle, true).unwrap());
        let r = lease::open(&registered, true).unwrap();
        lease::claim_slot(r.as_raw_fd(), &registered).unwrap();
        assert_eq!(collect(&held).unwrap(), Outcome::InUse);
        assert_eq!(collect(&registered).unwrap(), Outcome::InUse);
        assert_eq!(collect(&idle).unwrap(), Outcome::Removed(String::new()));
        assert!(!idle.exists() && held.exists() && registered.exists());
        // An opener from before the removal sees its file is no longer linked.
        let early = lease::open(&held, true).unwrap();
        drop(h);
        assert_eq!(collect(&held).unwrap(), Outcome::Removed(String::new()));
        assert!(!lease::still_linked(early.as_raw_fd(), &held).unwrap());
        // Planted entries go by name; a hard link's other name keeps its file.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"data").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let planted = dir.path().join("planted");
        std::fs::hard_link(&victim, &planted).unwrap();
        match collect(&planted).unwrap() {
            Outcome::Removed(why) => assert!(why.contains("2 links"), "{why}"),
            o => panic!("{o:?}"),
        }
        assert_eq!(std::fs::read(&victim).unwrap(), b"data");
        // A damaged header: removed, saying so.
        let bad = dir.path().join("bad");
        drop(lease::open(&bad, true).unwrap());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&bad)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"garbage garbage!"))
            .unwrap();
        match collect(&bad).unwrap() {
            Outcome::Removed(why) => assert!(why.contains("no valid header"), "{why}"),
            o => panic!("{o:?}"),
        }
    }

    /// Acquirers following the plugin's protocol (open, lock, re-check the name, else
    /// again) while gc removes the file in a loop: never two holders at once.
    #[test]
    fn gc_racing_acquirers_never_lets_two_in() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        trust::check(dir.path(), Default::default(), false).unwrap();
        let path = Arc::new(dir.path().join("lease"));
        let inside = Arc::new(AtomicUsize::new(0));
        let worst = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let removed = Arc::new(AtomicUsize::new(0));
        let gc = {
            let (path, stop, removed) = (path.clone(), stop.clone(), removed.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(Outcome::Removed(_)) = collect(&path) {
                        removed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (path, inside, worst) = (path.clone(), inside.clone(), worst.clone());
                std::thread::spawn(move || {
                    let mut held = 0;
                    while held < 200 {
                        let fd = lease::open(&path, true).unwrap();
                        if !lease::try_lock(fd.as_raw_fd(), libc::F_WRLCK, RESOURCE_LOCK).unwrap()
                            || !lease::still_linked(fd.as_raw_fd(), &path).unwrap()
                        {
                            continue;
                        }
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        worst.fetch_max(n, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        held += 1;
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        gc.join().unwrap();
        assert_eq!(worst.load(Ordering::SeqCst), 1, "two holders at once");
        assert!(
            removed.load(Ordering::Relaxed) > 0,
            "gc never ran between them"
        );
    }
}
