//! A guest's lock mailbox, and how the daemon proves a process is the guest that made it.
//!
//! The mailbox is a `SOCK_SEQPACKET` socket pair with no name at all (so no other user
//! can see it, connect to it, or take its name first): the *door*, which the daemon
//! sends into, and the *inbox*, where the messages sent into the door wait, never read
//! by the guest (a message in flight keeps the files it carries open). Right after
//! making the pair, the guest sends one *identity message* through the inbox into the
//! door's own queue: the text [`label`] (the guest's UUID) carrying the inbox itself.
//! Nothing ever reads it; it stays first in the door's queue for the guest's life.
//!
//! The daemon reaches the guest's descriptors through a pidfd (`pidfd_getfd`), never by
//! a name, and takes a socket of the guest for its door only when the kernel vouches
//! for it ([`open_door`]): the pair was made by that very process (`SO_PEERPIDFD`, the
//! same process as the daemon's pidfd: a process that got the pid later is another
//! one) while it ran as the daemon's own user (`SO_PEERCRED`: libvirt registers in the
//! forked child before it drops to QEMU's user, see `qemuProcessHook` and `virExec`),
//! and the door's queue starts with the identity message of that UUID (peeked, not
//! taken; peeking gives the daemon a duplicate of the inbox). Another user can make a
//! socket pair in a process that has the guest's old pid, and can put any text in it,
//! but not with the daemon's user as its maker: such a process is refused and nothing
//! is sent to it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::lease;

/// `SO_PEERPIDFD` (Linux 6.5; asm-generic value, the same on x86-64 and arm64).
const SO_PEERPIDFD: libc::c_int = 77;
/// `PID_FS_MAGIC` (linux/magic.h): pidfds are pidfs files (Linux 6.9), one inode per
/// process, never reused.
const PID_FS_MAGIC: i64 = 0x5049_4446;

/// The identity message's text for guest `uuid`.
pub fn label(uuid: &[u8; 16]) -> String {
    format!("virtcore-lockspace:{}", lease::format_uuid(uuid))
}

/// A message taken out of (or peeked at in) a socket: its text and the files it carried.
pub struct Parcel {
    pub label: String,
    pub fds: Vec<OwnedFd>,
}

/// Makes the mailbox of guest `uuid` in this process (the guest's): `(door, inbox)`,
/// close-on-exec until the guest restricts itself.
pub fn create(uuid: &[u8; 16]) -> io::Result<(OwnedFd, OwnedFd)> {
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
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both were just returned by socketpair and are owned by nobody else.
    let (door, inbox) = unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) };
    // Messages in flight are charged to the sending end (the door): the default buffer
    // holds about 270 of them (resources attached from the daemon); ask for more.
    let big: libc::c_int = 4 << 20;
    for opt in [libc::SO_SNDBUFFORCE, libc::SO_SNDBUF] {
        // SAFETY: setting an int socket option on our socket.
        let rc = unsafe {
            libc::setsockopt(
                door.as_raw_fd(),
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
    send(inbox.as_raw_fd(), &label(uuid), &[inbox.as_raw_fd()])?;
    Ok((door, inbox))
}

fn sockopt<T>(fd: RawFd, opt: libc::c_int) -> io::Result<T> {
    // SAFETY: T is plain data (an int, a ucred); the kernel writes at most `len` bytes.
    let mut v: T = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut T).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v)
}

/// The pidfs inode of pidfd `fd` (`None`: pidfds are not pidfs files on this kernel).
fn pidfs_ino(fd: RawFd) -> Option<u64> {
    // SAFETY: fstatfs and fstat into zeroed buffers.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(fd, &mut sfs) } != 0 || sfs.f_type as i64 != PID_FS_MAGIC {
        return None;
    }
    crate::ids::of_fd(fd).ok().map(|st| st.ids.1)
}

/// Whether socket `fd` is a Unix sequenced-packet socket of a pair made by process
/// `pidfd` (pid `pid`) while it ran as this process's effective user.
fn made_by(fd: RawFd, pid: u32, pidfd: RawFd) -> bool {
    let ok_type = sockopt::<libc::c_int>(fd, libc::SO_DOMAIN).ok() == Some(libc::AF_UNIX)
        && sockopt::<libc::c_int>(fd, libc::SO_TYPE).ok() == Some(libc::SOCK_SEQPACKET);
    if !ok_type {
        return false;
    }
    let Ok(cred) = sockopt::<libc::ucred>(fd, libc::SO_PEERCRED) else {
        return false;
    };
    // SAFETY: geteuid has no preconditions.
    if cred.pid != pid as libc::pid_t || cred.uid != unsafe { libc::geteuid() } {
        return false;
    }
    // The pid alone could be a later process's: the kernel's pidfd of the maker must be
    // the daemon's pidfd's process.
    match sockopt::<libc::c_int>(fd, SO_PEERPIDFD) {
        Ok(raw) => {
            // SAFETY: the kernel just gave us this descriptor.
            let maker = unsafe { OwnedFd::from_raw_fd(raw) };
            match (pidfs_ino(maker.as_raw_fd()), pidfs_ino(pidfd)) {
                (Some(a), Some(b)) => a == b,
                // Linux 6.5 to 6.8: pidfds cannot be compared; the credentials stand.
                _ => true,
            }
        }
        // Before Linux 6.5: the credentials stand (a process of another user cannot
        // have made the pair as the daemon's user).
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOPROTOOPT) | Some(libc::EINVAL)
            ) =>
        {
            true
        }
        // The maker is gone (ESRCH): whoever holds the socket now is not it.
        Err(_) => false,
    }
}

/// Whether `fd` (a duplicate of a descriptor of process `pidfd`, pid `pid`) is the door
/// of the mailbox that process made for guest `uuid` as this process's user; then a
/// duplicate of its inbox (see the module's comment).
pub fn open_door(fd: &OwnedFd, pid: u32, pidfd: RawFd, uuid: &[u8; 16]) -> Option<OwnedFd> {
    let fd = fd.as_raw_fd();
    if !made_by(fd, pid, pidfd) {
        return None;
    }
    let Ok(Some(mut first)) = recv(fd, libc::MSG_PEEK) else {
        return None;
    };
    if first.label != label(uuid) || first.fds.len() != 1 {
        return None;
    }
    let inbox = first.fds.pop()?;
    made_by(inbox.as_raw_fd(), pid, pidfd).then_some(inbox)
}

/// Most descriptors one message carries (a lease and its record file).
const MAX_FDS: usize = 4;
const LABEL_MAX: usize = 8192;

/// Sends one message (`label`, carrying `fds`) through socket `sock`, never waiting.
pub fn send(sock: RawFd, label: &str, fds: &[RawFd]) -> io::Result<()> {
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

/// Takes (with `MSG_PEEK`: looks at) the first message waiting in socket `sock`
/// (`None`: there is none), never waiting.
pub fn recv(sock: RawFd, flags: libc::c_int) -> io::Result<Option<Parcel>> {
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
        let n = libc::recvmsg(
            sock,
            &mut msg,
            flags | libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC,
        );
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

    fn my_pidfd() -> OwnedFd {
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
        assert!(fd >= 0);
        unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
    }

    #[test]
    fn door_is_proven_by_maker_and_identity() {
        let uuid = [0x5a; 16];
        let me = std::process::id();
        let pidfd = my_pidfd();
        let (door, inbox) = create(&uuid).unwrap();
        let found = open_door(&door, me, pidfd.as_raw_fd(), &uuid).expect("the door");
        assert_eq!(
            crate::ids::of_fd(found.as_raw_fd()).unwrap().ids,
            crate::ids::of_fd(inbox.as_raw_fd()).unwrap().ids
        );
        // Peeking leaves the identity message in place: found again.
        assert!(open_door(&door, me, pidfd.as_raw_fd(), &uuid).is_some());
        // Another guest's UUID, the inbox, another pid: not this door.
        assert!(open_door(&door, me, pidfd.as_raw_fd(), &[1; 16]).is_none());
        assert!(open_door(&inbox, me, pidfd.as_raw_fd(), &uuid).is_none());
        assert!(open_door(&door, me + 1, pidfd.as_raw_fd(), &uuid).is_none());
        // A pidfd of another process: the maker is not that process.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let other = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as i32, 0) };
        assert!(other >= 0);
        let other = unsafe { OwnedFd::from_raw_fd(other as RawFd) };
        if pidfs_ino(other.as_raw_fd()).is_some() {
            assert!(open_door(&door, me, other.as_raw_fd(), &uuid).is_none());
        }
        let _ = child.kill();
        let _ = child.wait();
        // A pair with no identity message, or a stream socket, is no door.
        let mut sv = [-1; 2];
        for ty in [libc::SOCK_SEQPACKET, libc::SOCK_STREAM] {
            assert_eq!(
                unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, sv.as_mut_ptr()) },
                0
            );
            let (a, b) = unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) };
            if ty == libc::SOCK_STREAM {
                send(b.as_raw_fd(), &label(&uuid), &[b.as_raw_fd()]).unwrap();
            }
            assert!(open_door(&a, me, pidfd.as_raw_fd(), &uuid).is_none());
        }
    }
}
