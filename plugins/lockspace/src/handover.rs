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
//! (the guest's process identity, in memory) decide; a pause before a daemon restart is
//! forgotten, so such a resume is checked as lockd checks it: not at all.

use std::sync::Mutex;

/// Guest processes this daemon released (paused) with a state: UUID, pid and the
/// process's start time (so a reused pid is not taken for the paused guest).
static PAUSED: Mutex<Vec<([u8; 16], u32, u64)>> = Mutex::new(Vec::new());

fn paused() -> std::sync::MutexGuard<'static, Vec<([u8; 16], u32, u64)>> {
    PAUSED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Start time of process `pid` (clock ticks since boot, field 22 of `/proc/PID/stat`).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether process `pid` was started to receive a migration or a saved image.
fn is_incoming(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|&b| b == 0).any(|a| a == b"-incoming"))
        .unwrap_or(false)
}

/// `drvRelease` from the daemon released guest `uuid`'s process `pid` with a state.
pub fn remember_pause(uuid: &[u8; 16], pid: u32) {
    let Some(t) = start_time(pid) else { return };
    let mut p = paused();
    // Entries of processes that are gone are dropped here: the list stays as long as
    // the number of paused guests.
    p.retain(|&(u, q, s)| !(u == *uuid && q == pid) && start_time(q) == Some(s));
    p.push((*uuid, pid, t));
}

/// Whether a state's generations apply to `drvAcquire` from the daemon for guest
/// `uuid`'s process `pid` (see the module comment).
pub fn state_applies(uuid: &[u8; 16], pid: u32) -> bool {
    if is_incoming(pid) {
        return true;
    }
    let t = start_time(pid);
    t.is_some()
        && paused()
            .iter()
            .any(|&(u, q, s)| u == *uuid && q == pid && Some(s) == t)
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
    fn start_time_reads_past_the_command_name() {
        assert!(start_time(std::process::id()).is_some());
        assert!(!is_incoming(std::process::id()));
    }
}
