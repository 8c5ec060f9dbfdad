//! Reaching a guest's own process from another one (the daemon).
//!
//! Locks must live exactly as long as the guest, so they are held by open files of the
//! guest's process, whoever asks for them. When the guest registers (`REGISTER_ONLY`, or
//! `RESTRICT`, in the forked child right before it execs QEMU) it keeps across exec its
//! lease files and a "mailbox": a `SOCK_SEQPACKET` socket pair whose receiving end is
//! bound to the abstract name [`tag`] (UUID and the guest's pid), never read. From the
//! daemon, [`Guest::open`] takes `pidfd_open(pid)` and finds the mailbox among the
//! guest's descriptors (`/proc/PID/fd`, each candidate duplicated with `pidfd_getfd` and
//! checked by its bound name), which proves the process is the guest that registered.
//! The daemon then locks through duplicates of the guest's lease files (the lock belongs
//! to the guest's open file description), or, for a resource the guest never opened
//! (hot-plug), opens the lease file itself, locks, and sends the descriptor into the
//! mailbox with `SCM_RIGHTS`: a message in flight keeps its files open until it is read
//! or the socket goes, i.e. until the guest exits. Release drains the mailbox through a
//! duplicate of the receiving end and sends back what stays.

use std::cell::OnceCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use crate::abi::err::*;
use crate::error::{Error, Result};
use crate::lease;

/// libvirt's virterror.h values (kept here: `abi.rs` lists only what the rest uses).
const VIR_ERR_OPERATION_DENIED: i32 = 29;
const VIR_ERR_OPERATION_UNSUPPORTED: i32 = 84;

/// The abstract socket name marking the mailbox of guest `uuid` running as `pid`.
pub fn tag(uuid: &[u8; 16], pid: u32) -> String {
    format!("virtcore-lockspace:{}:{pid}", lease::format_uuid(uuid))
}

fn sockaddr(name: &str) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: sockaddr_un is plain data.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // Abstract: a NUL first, then the name (not NUL-terminated).
    for (i, b) in name.bytes().take(sa.sun_path.len() - 1).enumerate() {
        sa.sun_path[i + 1] = b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len().min(106);
    (sa, len as libc::socklen_t)
}

/// The abstract name a socket is bound to (`peer`: of the socket it is connected to).
fn bound_name(fd: RawFd, peer: bool) -> Option<String> {
    // SAFETY: sockaddr_un is plain data; the kernel fills at most `len` bytes.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    let p = (&mut sa as *mut libc::sockaddr_un).cast();
    let rc = unsafe {
        if peer {
            libc::getpeername(fd, p, &mut len)
        } else {
            libc::getsockname(fd, p, &mut len)
        }
    };
    let n = (len as usize).checked_sub(std::mem::size_of::<libc::sa_family_t>())?;
    if rc != 0 || sa.sun_family != libc::AF_UNIX as libc::sa_family_t || n < 2 {
        return None;
    }
    if sa.sun_path[0] != 0 {
        return None;
    }
    let bytes: Vec<u8> = sa.sun_path[1..n].iter().map(|&c| c as u8).collect();
    String::from_utf8(bytes).ok()
}

/// Creates the mailbox of guest `uuid` in this process (the guest's): `(receiving end,
/// sending end)`, close-on-exec until the guest restricts itself.
pub fn create_mailbox(uuid: &[u8; 16], pid: u32, domain: &str) -> Result<(OwnedFd, OwnedFd)> {
    let mut sv = [-1; 2];
    // SAFETY: sv has room for two descriptors.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            sv.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(Error::last_os(format!(
            "cannot create the lock mailbox of {domain}"
        )));
    }
    // SAFETY: both were just returned by socketpair and are owned by nobody else.
    let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) };
    // Messages in flight are charged to the sending end: the default buffer holds about
    // 270 of them (resources attached from the daemon); ask for more where allowed.
    let big: libc::c_int = 4 << 20;
    for opt in [libc::SO_SNDBUFFORCE, libc::SO_SNDBUF] {
        // SAFETY: setting an int socket option on our socket.
        let rc = unsafe {
            libc::setsockopt(
                tx.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&big as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            break;
        }
    }
    let (sa, len) = sockaddr(&tag(uuid, pid));
    // SAFETY: binding a valid abstract address to our socket.
    if unsafe {
        libc::bind(
            rx.as_raw_fd(),
            (&sa as *const libc::sockaddr_un).cast(),
            len,
        )
    } != 0
    {
        return Err(Error::last_os(format!(
            "cannot bind the lock mailbox of {domain} (abstract socket '@{}')",
            tag(uuid, pid)
        )));
    }
    Ok((rx, tx))
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
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

/// A message drained from a mailbox: what it names and the open files it carried.
pub struct Parcel {
    pub label: String,
    pub fds: Vec<OwnedFd>,
}

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

    /// The guest's mailbox, found among its descriptors by its bound name: proof that
    /// the process is the guest that registered (same UUID, same pid).
    fn mailbox(&self) -> Result<&(OwnedFd, OwnedFd)> {
        if let Some(m) = self.mailbox.get() {
            return Ok(m);
        }
        let want = tag(&self.uuid, self.pid);
        let (mut rx, mut tx) = (None, None);
        for (n, link) in self.listing()? {
            if !link.starts_with("socket:") {
                continue;
            }
            let Some(fd) = self.getfd(*n)? else { continue };
            if rx.is_none() && bound_name(fd.as_raw_fd(), false).as_deref() == Some(&want) {
                rx = Some(fd);
            } else if tx.is_none() && bound_name(fd.as_raw_fd(), true).as_deref() == Some(&want) {
                tx = Some(fd);
            }
        }
        let (Some(rx), Some(tx)) = (rx, tx) else {
            return Err(self.not_registered());
        };
        Ok(self.mailbox.get_or_init(|| (rx, tx)))
    }

    /// The error for a process that is not the registered guest.
    pub fn not_registered(&self) -> Error {
        Error::new(
            VIR_ERR_OPERATION_INVALID,
            format!(
                "process {} is not {} as registered with lockspace (no lock mailbox '@{}' in it: the guest did not acquire with REGISTER_ONLY or RESTRICT before exec, or the pid is another process's)",
                self.pid,
                self.domain,
                tag(&self.uuid, self.pid)
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
        send(tx, label, fds).map_err(|e| {
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
            match recv(rx) {
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

/// Most descriptors one message carries (a lease and its record file).
const MAX_FDS: usize = 4;
const LABEL_MAX: usize = 8192;

fn send(sock: RawFd, label: &str, fds: &[RawFd]) -> io::Result<()> {
    if fds.is_empty() || fds.len() > MAX_FDS {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let space = unsafe { libc::CMSG_SPACE((fds.len() * 4) as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: label.as_ptr() as *mut libc::c_void,
        iov_len: label.len(),
    };
    // SAFETY: msghdr is plain data; every pointer in it stays valid for the call.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN((fds.len() * 4) as u32) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c).cast(), fds.len());
        if libc::sendmsg(sock, &msg, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn recv(sock: RawFd) -> io::Result<Option<Parcel>> {
    let mut buf = vec![0u8; LABEL_MAX];
    let space = unsafe { libc::CMSG_SPACE((MAX_FDS * 4) as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as in `send`; received descriptors are taken into OwnedFd once each.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let n = libc::recvmsg(sock, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC);
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EAGAIN) {
                return Ok(None);
            }
            return Err(e);
        }
        let mut fds = Vec::new();
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let count = ((*c).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize) / 4;
                let data: *const RawFd = libc::CMSG_DATA(c).cast();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        buf.truncate(n as usize);
        Ok(Some(Parcel {
            label: String::from_utf8_lossy(&buf).into_owned(),
            fds,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_found_by_name_and_carries_files() {
        let uuid = [0x5a; 16];
        let me = std::process::id();
        let (rx, tx) = create_mailbox(&uuid, me, "domain 't'").unwrap();
        assert_eq!(bound_name(rx.as_raw_fd(), false), Some(tag(&uuid, me)));
        assert_eq!(bound_name(tx.as_raw_fd(), true), Some(tag(&uuid, me)));
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(dir.path().join("x")).unwrap();
        // This process plays the guest (ptrace over oneself is always allowed). Its
        // descriptor listing is read once per call (a guest's lease files do not move).
        let g = Guest::open(me, &uuid, "domain 't'").unwrap();
        assert!(g.alive());
        assert!(g.has_mailbox().unwrap());
        let other = Guest::open(me, &[1; 16], "domain 'u'").unwrap();
        assert!(!other.has_mailbox().unwrap());
        assert!(other.not_registered().message.contains("is not domain 'u'"));
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
