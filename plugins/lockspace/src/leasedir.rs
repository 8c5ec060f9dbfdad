//! Lease files of the checked lockspace directory (`trust.rs`): opened relative to its
//! held descriptor, never following a symlink, and refused unless they are what the
//! driver creates (regular, one link, mode 0600, a trusted owner). `lease.rs` comes here
//! for every file whose directory this process checked.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use crate::abi::err::*;
use crate::error::{Error, Result};
use crate::ids::Status;
use crate::lease::{not_regular, stat_fd, RW};
use crate::state::Target;
use crate::trust::{self, Meta, TrustedDir};

/// The mode of every lease file in the lockspace directory.
pub const LEASE_MODE: u32 = 0o600;

/// A file in a checked lockspace directory: the directory (held open, verified again by
/// [`trust::lookup`]) and the file's name in it. `None`: `path` is not in one (a user's
/// own lease file).
pub(crate) fn in_lockspace(path: &Path) -> Result<Option<(Arc<TrustedDir>, CString)>> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(None);
    };
    let Some(td) = trust::lookup(dir)? else {
        return Ok(None);
    };
    let name = CString::new(name.as_encoded_bytes())
        .map_err(|_| Error::invalid_arg(format!("lease path '{}' contains NUL", path.display())))?;
    Ok(Some((td, name)))
}

/// What a lease file of the lockspace directory must be: a regular file with one link,
/// owned by a trusted user (`trust.rs`), mode [`LEASE_MODE`]. Anything else was planted
/// (a hard link to another file, a FIFO, a file of another user) and is refused
/// unopened, naming it; `virtcore-lock gc` says what to do with it.
pub(crate) fn check_lease(m: &Meta, td: &TrustedDir, path: &Path) -> Result<()> {
    let why = if m.kind != libc::S_IFREG {
        return Err(not_regular(path));
    } else if !td.owners.trusts(m.uid) {
        format!(
            "is owned by uid {}, not by root, this user or lockspace_owner",
            m.uid
        )
    } else if m.nlink > 1 {
        format!("has {} links (a lease file has exactly one)", m.nlink)
    } else if m.mode != LEASE_MODE {
        format!("has mode {:04o}, not {:04o}", m.mode, LEASE_MODE)
    } else {
        return Ok(());
    };
    Err(Error::new(
        VIR_ERR_CONFIG_UNSUPPORTED,
        format!(
            "lease file '{}' {why}: refused (remove it if nothing uses the lockspace wrongly; see virtcore-lock gc)",
            path.display()
        ),
    ))
}

pub(crate) fn status_of(m: &Meta) -> Status {
    Status {
        kind: m.kind,
        ids: m.ids,
    }
}

pub(crate) fn open_at(dirfd: RawFd, name: &CStr, flags: i32) -> Option<OwnedFd> {
    // SAFETY: valid C string; the mode argument is read only with O_CREAT.
    let fd = unsafe { libc::openat(dirfd, name.as_ptr(), flags, LEASE_MODE as libc::c_uint) };
    // SAFETY: fd was just returned by openat and is owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens lease file `name` of the checked directory `td` read-write (creating it when
/// `create`): looked at first (`statx` without following), refused unless
/// [`check_lease`] accepts it, then opened relative to the held directory without
/// following symlinks and checked to be that inode. A file removed (`virtcore-lock gc`)
/// or created by someone else between these steps is looked at again: a few rounds at
/// most, each of which means another process made progress.
pub(crate) fn open_in(td: &TrustedDir, name: &CStr, create: bool, path: &Path) -> Result<OwnedFd> {
    let cannot =
        |e: io::Error| Error::system(e, format!("cannot open lease file '{}'", path.display()));
    let enoent = |e: &io::Error| e.raw_os_error() == Some(libc::ENOENT);
    for _ in 0..8 {
        match trust::meta_at(td.fd(), name, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(m) => {
                check_lease(&m, td, path)?;
                let Some(fd) = open_at(td.fd(), name, RW) else {
                    let e = io::Error::last_os_error();
                    if enoent(&e) {
                        continue; // removed since the look
                    }
                    return Err(cannot(e));
                };
                if stat_fd(fd.as_raw_fd(), path)?.ids == m.ids {
                    return Ok(fd);
                }
                continue; // replaced since the look
            }
            Err(e) if enoent(&e) && create => {}
            Err(e) => return Err(cannot(e)),
        }
        if let Some(fd) = open_at(td.fd(), name, RW | libc::O_CREAT | libc::O_EXCL) {
            // Exactly the driver's mode, whatever the umask.
            // SAFETY: a descriptor we own.
            unsafe { libc::fchmod(fd.as_raw_fd(), LEASE_MODE as libc::mode_t) };
            return Ok(fd);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(cannot(e));
        }
    }
    Err(Error::new(
        VIR_ERR_OPERATION_INVALID,
        format!(
            "lease file '{}' kept being replaced while opening it",
            path.display()
        ),
    ))
}

/// Whether open lease file `fd` is still the file named `path` (in a checked lockspace
/// directory): `virtcore-lock gc` unlinks a lease file only while holding every lock of
/// it, so a holder that checks this after taking a lock knows that its file will stay
/// the one every other process opens. Always true outside a lockspace directory.
pub fn still_linked(fd: RawFd, path: &Path) -> Result<bool> {
    let Some((td, name)) = in_lockspace(path)? else {
        return Ok(true);
    };
    let mine = stat_fd(fd, path)?;
    Ok(matches!(
        trust::meta_at(td.fd(), &name, libc::AT_SYMLINK_NOFOLLOW),
        Ok(m) if m.ids == mine.ids
    ))
}

/// `e` with the disk (or lease) it concerns in front: a lease file's name is a hash.
pub(crate) fn for_target(e: Error, t: &Target) -> Error {
    Error::new(e.code, format!("{}: {}", t.describe(), e.message))
}

/// After taking a lock of lease file `fd`: it must still be the file linked at `path`,
/// or `virtcore-lock gc` removed it before we locked (`VIR_ERR_OPERATION_ABORTED`: the
/// caller opens it again). gc unlinks only while holding every lock of a file, so once
/// this holds, it keeps holding while we hold our lock.
pub(crate) fn check_linked(fd: i32, path: &Path, t: &Target) -> Result<()> {
    if still_linked(fd, path).map_err(|e| for_target(e, t))? {
        return Ok(());
    }
    Err(Error::new(
        VIR_ERR_OPERATION_ABORTED,
        format!(
            "{}: lease file '{}' was removed while locking it",
            t.describe(),
            path.display()
        ),
    ))
}
