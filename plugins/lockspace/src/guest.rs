//! Reaching a guest's own process from another one (the daemon).
//!
//! Locks must live exactly as long as the guest, so they are held by open files of the
//! guest's process, whoever asks for them. When the guest registers (`REGISTER_ONLY`, or
//! `RESTRICT`, in the forked child right before it execs QEMU, still as the daemon's
//! user) it keeps across exec its lease files and a nameless "mailbox" socket pair
//! ([`crate::mailbox`]). From the daemon, [`Guest::open`] takes `pidfd_open(pid)`; every
//! descriptor of the guest is then reached through that pidfd (`pidfd_getfd`), so a pid
//! reused later is never mistaken for the guest.
//!
//! What proves that the process is the guest that registered: for a resource it
//! registered, its own open lease file holding the slot of its record (a read-write
//! open file of a root-only lease file, which no other user can open); for anything
//! handed to it, the mailbox, which the kernel says that very process made as the
//! daemon's user ([`crate::mailbox::open_door`]). The daemon locks through duplicates of
//! the guest's lease files (the lock belongs to the guest's open file description), or,
//! for a resource the guest never opened (hot-plug), opens the lease file itself, locks,
//! and sends the descriptor into the proven mailbox with `SCM_RIGHTS`: a message in
//! flight keeps its files open until it is read or the socket goes, i.e. until the
//! guest exits. Release drains the mailbox's inbox and sends back what stays.

use std::cell::OnceCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use crate::abi::err::*;
use crate::error::{Error, Result};

/// libvirt's virterror.h values (kept here: `abi.rs` lists only what the rest uses).
const VIR_ERR_OPERATION_DENIED: i32 = 29;
const VIR_ERR_OPERATION_UNSUPPORTED: i32 = 84;

/// A pidfd of process `pid` (`pidfd_open`).
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; a returned descriptor is ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn pidfd_getfd(pidfd: RawFd, target: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; a returned descriptor is ours (close-on-exec by default).
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, target, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// (device, inode) of the file `path` names, following symlinks (`ids.rs`).
fn stat_ids(path: &std::path::Path) -> io::Result<(u64, u64)> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    Ok(crate::ids::of_path(&c, true)?.ids)
}

/// A guest process reached from another process (through a pidfd: a pid reused later
/// is never mistaken for it). Its descriptor listing and mailbox are looked up on demand.
pub struct Guest {
    pub pid: u32,
    uuid: [u8; 16],
    /// Shared with the per-load cache ([`crate::cache`]).
    pidfd: Arc<OwnedFd>,
    /// Whether the pidfd was opened by this call (not reused from an earlier one).
    opened_now: bool,
    domain: String,
    listing: OnceCell<Vec<(RawFd, String)>>,
    /// Duplicates of the mailbox ends (receiving, sending).
    mailbox: OnceCell<(OwnedFd, OwnedFd)>,
}

pub use crate::mailbox::Parcel;

impl Guest {
    /// Reaches process `pid` of guest `uuid`, through the pidfd an earlier call opened
    /// for that pid if there is one (see [`Guest::stale`]). Every failure says which: no
    /// such process, a kernel without pidfd (Linux 5.6 or later is needed).
    pub fn open(pid: u32, uuid: &[u8; 16], domain: &str) -> Result<Guest> {
        if pid == 0 || pid > i32::MAX as u32 {
            return Err(Error::invalid_arg(format!(
                "invalid pid {pid} for {domain}"
            )));
        }
        let (pidfd, cached) = crate::cache::pidfd(pid, || open_pidfd(pid, domain))?;
        Ok(Guest {
            pid,
            uuid: *uuid,
            pidfd,
            opened_now: !cached,
            domain: domain.to_string(),
            listing: OnceCell::new(),
            mailbox: OnceCell::new(),
        })
    }

    /// Whether the pidfd was opened by an earlier call and its process is gone: then
    /// the pid may name another process by now (the guest started again, say), which
    /// only a new pidfd reaches. The cached one is forgotten; the caller opens again.
    pub fn stale(&self) -> bool {
        let stale = !self.opened_now && !self.alive();
        if stale {
            crate::cache::forget_pidfd(&self.pidfd);
        }
        stale
    }
}

fn open_pidfd(pid: u32, domain: &str) -> Result<OwnedFd> {
    pidfd_open(pid).map_err(|e| match e.raw_os_error() {
            Some(libc::ESRCH) => gone(pid, domain),
            Some(libc::ENOSYS) => Error::new(
                VIR_ERR_OPERATION_UNSUPPORTED,
                format!(
                    "cannot lock in process {pid} of {domain}: the kernel lacks pidfd_open (Linux 5.6 or later is needed)"
                ),
            ),
            _ => Error::system(e, format!("cannot reach process {pid} of {domain} (pidfd_open)")),
    })
}

impl Guest {
    /// Drops what was looked up in the process (its descriptor listing, duplicates of
    /// its mailbox): they may be stale by the next call, and a duplicate kept here
    /// would keep the guest's mailbox (and the locks in it) alive in this process.
    pub fn forget(&mut self) {
        self.listing.take();
        self.mailbox.take();
        self.opened_now = false;
    }

    /// Whether the process is still alive (and is the one the pidfd refers to).
    pub fn alive(&self) -> bool {
        // SAFETY: signal 0 through our pidfd only checks that the process exists.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            ) == 0
        }
    }

    fn fds(&self) -> GuestFds<'_> {
        GuestFds {
            pid: self.pid,
            pidfd: &self.pidfd,
            domain: &self.domain,
        }
    }

    fn listing(&self) -> Result<&[(RawFd, String)]> {
        if let Some(l) = self.listing.get() {
            return Ok(l);
        }
        let l = self.fds().fds()?;
        Ok(self.listing.get_or_init(|| l))
    }

    /// A duplicate of the guest's descriptor `n` (`None`: not open).
    pub fn getfd(&self, n: RawFd) -> Result<Option<OwnedFd>> {
        if n < 0 {
            return Ok(None);
        }
        self.fds().getfd(n)
    }

    /// The guest's mailbox `(inbox, door)`, found among its descriptors as the one its
    /// own process made for this guest's UUID while running as this process's user
    /// ([`crate::mailbox::open_door`]): proof that the process is the guest that
    /// registered. Nothing is ever sent to a process without it.
    fn mailbox(&self) -> Result<&(OwnedFd, OwnedFd)> {
        if let Some(m) = self.mailbox.get() {
            return Ok(m);
        }
        for (n, link) in self.listing()? {
            if !link.starts_with("socket:") {
                continue;
            }
            let Some(fd) = self.getfd(*n)? else { continue };
            let pidfd = self.pidfd.as_raw_fd();
            if let Some(inbox) = crate::mailbox::open_door(&fd, self.pid, pidfd, &self.uuid) {
                return Ok(self.mailbox.get_or_init(|| (inbox, fd)));
            }
        }
        Err(self.not_registered())
    }

    /// The error for a process that is not the registered guest.
    pub fn not_registered(&self) -> Error {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        Error::new(
            VIR_ERR_OPERATION_INVALID,
            format!(
                "process {} is not {} as registered with lockspace (it has no lock mailbox made by itself, as user {uid}, for that domain: the guest did not acquire with REGISTER_ONLY or RESTRICT before exec, or the pid is another process's now); nothing was handed to it",
                self.pid, self.domain,
            ),
        )
    }

    /// Whether the guest has its mailbox (`Ok(false)`: it is not that registered guest).
    pub fn has_mailbox(&self) -> Result<bool> {
        match self.mailbox() {
            Ok(_) => Ok(true),
            Err(e) if e.code == VIR_ERR_OPERATION_INVALID && self.alive() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Duplicates of the guest's descriptors open on the file at `path` (same device
    /// and inode).
    pub fn files_at(&self, path: &std::path::Path) -> Result<Vec<(RawFd, OwnedFd)>> {
        let Ok(want) = stat_ids(path) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (n, link) in self.listing()? {
            if !link.starts_with('/') {
                continue; // sockets, pipes, anonymous inodes
            }
            let proc_path = format!("/proc/{}/fd/{n}", self.pid);
            if stat_ids(std::path::Path::new(&proc_path)).ok() != Some(want) {
                continue;
            }
            if let Some(fd) = self.getfd(*n)? {
                // The descriptor may have been replaced between the stat and the copy.
                if fd_ids(fd.as_raw_fd()) == Some(want) {
                    out.push((*n, fd));
                }
            }
        }
        Ok(out)
    }

    /// Hands open files to the guest: one message in its mailbox, never read, keeps
    /// them open until the guest exits (or a release drains them).
    pub fn hand_in(&self, label: &str, fds: &[RawFd]) -> Result<()> {
        let tx = self.mailbox()?.1.as_raw_fd();
        crate::mailbox::send(tx, label, fds).map_err(|e| {
            let what = format!(
                "cannot hand the locks of {label} to process {} of {}",
                self.pid, self.domain
            );
            if e.raw_os_error() == Some(libc::EAGAIN) {
                return Error::new(
                    VIR_ERR_RESOURCE_BUSY,
                    format!("{what}: its lock mailbox is full (too many resources attached since it started)"),
                );
            }
            Error::system(e, what)
        })
    }

    /// Takes every message out of the guest's mailbox (to be sent back with
    /// [`Guest::hand_in`] unless released).
    pub fn drain(&self) -> Result<Vec<Parcel>> {
        let rx = self.mailbox()?.0.as_raw_fd();
        let mut out = Vec::new();
        loop {
            match crate::mailbox::recv(rx, 0) {
                Ok(Some(p)) => out.push(p),
                Ok(None) => return Ok(out),
                Err(e) => {
                    // Put back what was taken so far: nothing may be lost.
                    for p in &out {
                        let raw: Vec<RawFd> = p.fds.iter().map(|f| f.as_raw_fd()).collect();
                        let _ = self.hand_in(&p.label, &raw);
                    }
                    return Err(Error::system(
                        e,
                        format!(
                            "cannot read the lock mailbox of process {} of {}",
                            self.pid, self.domain
                        ),
                    ));
                }
            }
        }
    }
}

/// Device and inode of an open file.
pub fn fd_ids(fd: RawFd) -> Option<(u64, u64)> {
    crate::ids::of_fd(fd).ok().map(|st| st.ids)
}

fn gone(pid: u32, domain: &str) -> Error {
    Error::new(
        VIR_ERR_OPERATION_INVALID,
        format!("cannot lock for {domain}: its process {pid} does not exist"),
    )
}

/// Access to one process's descriptor table.
struct GuestFds<'a> {
    pid: u32,
    pidfd: &'a OwnedFd,
    domain: &'a str,
}

impl GuestFds<'_> {
    /// The process's descriptor numbers and link texts.
    fn fds(&self) -> Result<Vec<(RawFd, String)>> {
        let dir = format!("/proc/{}/fd", self.pid);
        let rd = std::fs::read_dir(&dir).map_err(|e| self.failed(e, "list the descriptors of"))?;
        let mut out = Vec::new();
        for ent in rd.flatten() {
            let Some(n) = ent
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<RawFd>().ok())
            else {
                continue;
            };
            if let Ok(link) = std::fs::read_link(ent.path()) {
                out.push((n, link.to_string_lossy().into_owned()));
            }
        }
        Ok(out)
    }

    /// A duplicate of descriptor `n` of the process (`None`: closed meanwhile).
    fn getfd(&self, n: RawFd) -> Result<Option<OwnedFd>> {
        match pidfd_getfd(self.pidfd.as_raw_fd(), n) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => Ok(None),
            Err(e) => Err(self.failed(e, "take a descriptor of")),
        }
    }

    fn failed(&self, e: io::Error, what: &str) -> Error {
        let (pid, domain) = (self.pid, self.domain);
        match e.raw_os_error() {
            Some(libc::ESRCH) | Some(libc::ENOENT) => gone(pid, domain),
            Some(libc::EPERM) | Some(libc::EACCES) => Error::new(
                VIR_ERR_OPERATION_DENIED,
                format!(
                    "cannot {what} process {pid} of {domain}: permission denied (pidfd_getfd needs ptrace access to the guest: CAP_SYS_PTRACE with kernel.yama.ptrace_scope <= 2, or the same user with ptrace_scope 0)"
                ),
            ),
            Some(libc::ENOSYS) => Error::new(
                VIR_ERR_OPERATION_UNSUPPORTED,
                format!(
                    "cannot {what} process {pid} of {domain}: the kernel lacks pidfd_getfd (Linux 5.6 or later is needed)"
                ),
            ),
            _ => Error::system(e, format!("cannot {what} process {pid} of {domain}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_found_by_its_maker_and_carries_files() {
        // Not the UUID of `mailbox.rs`'s test, which may run beside this one.
        let uuid = [0x5b; 16];
        let me = std::process::id();
        let (_door, _inbox) = crate::mailbox::create(&uuid).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(dir.path().join("x")).unwrap();
        // This process plays the guest (ptrace over oneself is always allowed). Its
        // descriptor listing is read once per call (a guest's lease files do not move).
        let g = Guest::open(me, &uuid, "domain 't'").unwrap();
        assert!(g.alive());
        assert!(g.has_mailbox().unwrap());
        let other = Guest::open(me, &[1; 16], "domain 'u'").unwrap();
        assert!(!other.has_mailbox().unwrap());
        assert!(other
            .not_registered()
            .message
            .contains(&format!("process {me} is not domain 'u' as registered")));
        let ids = fd_ids(f.as_raw_fd());
        g.hand_in("one", &[f.as_raw_fd()]).unwrap();
        g.hand_in("two", &[f.as_raw_fd(), f.as_raw_fd()]).unwrap();
        let found = g.files_at(&dir.path().join("x")).unwrap();
        assert!(found.iter().any(|(n, _)| *n == f.as_raw_fd()));
        drop(f);
        let parcels = g.drain().unwrap();
        assert_eq!(parcels.len(), 2);
        assert_eq!(
            (parcels[0].label.as_str(), parcels[0].fds.len()),
            ("one", 1)
        );
        assert_eq!(
            (parcels[1].label.as_str(), parcels[1].fds.len()),
            ("two", 2)
        );
        assert_eq!(fd_ids(parcels[1].fds[1].as_raw_fd()), ids);
        assert!(g.drain().unwrap().is_empty());
        assert!(g.hand_in("none", &[]).is_err());
        let e = Guest::open(0, &uuid, "domain 't'").err().unwrap();
        assert!(e.message.contains("invalid pid 0"));
    }
}
