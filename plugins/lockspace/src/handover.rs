//! When a lock state handed to `drvAcquire` from the daemon still means something.
//!
//! libvirt 9.0 keeps the state it got at a pause (`priv->lockState`) in the domain object
//! until a resume succeeds: stopping the guest does not clear it, so after one migration
//! away (the source pauses, then stops) the next ordinary start on that host hands the
//! old state to `drvAcquire`, and so does every start after a failed one. Its generation
//! check ("someone took the disk since") only protects a guest whose memory saw the disk
//! when the state was taken:
//!
//! - the destination of a migration or a restore: a QEMU started with `-incoming`;
//! - a guest resumed after a pause: the very process this daemon released at the pause.
//!
//! A QEMU that boots afresh has nothing to protect: a state from one of its predecessors
//! is history, and its generations are ignored (the resources are still taken). What the
//! guest's own process proves (its command line) and what this daemon keeps at a pause
//! (a pidfd of the guest's process, in memory) decide; a pause before a daemon restart is
//! forgotten, so such a resume is checked as lockd checks it: not at all.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use crate::error::Error;

/// Guest processes this daemon released (paused) with a state: UUID, pid and a pidfd of
/// that very process. A pidfd names one process for good, and a live process keeps its
/// pid: so "the pid is still this pidfd's live process" tells the paused guest from a
/// later process at the same pid with one system call and no /proc read.
type Paused = ([u8; 16], u32, Arc<OwnedFd>);
static PAUSED: Mutex<Vec<Paused>> = Mutex::new(Vec::new());

/// List length at which a pause sweeps out the entries of processes that are gone.
const SWEEP_AT: usize = 256;

fn paused() -> std::sync::MutexGuard<'static, Vec<Paused>> {
    PAUSED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the process of `pidfd` is still alive (signal 0 through the pidfd).
fn alive(pidfd: &OwnedFd) -> bool {
    // SAFETY: plain syscall on a descriptor we own; signal 0 sends nothing.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        ) == 0
    }
}

/// Whether process `pid` was started to receive a migration or a saved image.
fn is_incoming(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|&b| b == 0).any(|a| a == b"-incoming"))
        .unwrap_or(false)
}

/// `drvRelease` from the daemon released guest `uuid`'s process `pid` with a state.
/// The pidfd comes from the daemon's cache (the release just reached the process
/// through it, so it is that process's).
pub fn remember_pause(uuid: &[u8; 16], pid: u32) {
    let open = || {
        crate::guest::pidfd_open(pid)
            .map_err(|e| Error::internal(format!("cannot reach process {pid}: {e}")))
    };
    let Ok((fd, _)) = crate::cache::pidfd(pid, open) else {
        return;
    };
    let mut p = paused();
    // One entry per guest process. Entries of processes that are gone are harmless
    // (their pidfd says so) and are swept only when the list outgrows its usual size.
    p.retain(|(u, q, _)| !(u == uuid && *q == pid));
    if p.len() >= SWEEP_AT {
        p.retain(|(_, _, f)| alive(f));
    }
    p.push((*uuid, pid, fd));
}

/// Whether a state's generations apply to `drvAcquire` from the daemon for guest
/// `uuid`'s process `pid` (see the module comment).
pub fn state_applies(uuid: &[u8; 16], pid: u32) -> bool {
    if is_incoming(pid) {
        return true;
    }
    paused()
        .iter()
        .any(|(u, q, f)| u == uuid && *q == pid && alive(f))
}

/// Forgets every pause (the last `drvDeinit`: the daemon keeps no descriptors).
pub fn clear() {
    *paused() = Vec::new();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_process_is_remembered_a_fresh_one_is_not() {
        let me = std::process::id();
        let uuid = [7u8; 16];
        assert!(!state_applies(&uuid, me), "a process never paused");
        remember_pause(&uuid, me);
        assert!(state_applies(&uuid, me));
        assert!(!state_applies(&[8u8; 16], me), "another guest");
        // A process that does not exist (pid above the kernel's maximum).
        remember_pause(&uuid, u32::MAX - 1);
        assert!(!state_applies(&uuid, u32::MAX - 1));
    }

    #[test]
    fn this_process_is_not_incoming() {
        assert!(!is_incoming(std::process::id()));
    }
}
