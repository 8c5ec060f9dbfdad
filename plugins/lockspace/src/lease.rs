//! Lease files and their locks: everything that touches the file system.
//!
//! A lease file (in the lockspace directory, or a record file next to a user's lease) is
//! laid out as
//!
//! | bytes | use |
//! |---|---|
//! | 0..16 | header: magic `VCLSLEA1`, generation (u64 LE) |
//! | lock byte 0 | the resource lock: `F_WRLCK` exclusive, `F_RDLCK` shared |
//! | lock bytes 1024..1088 | one per holder slot: held (`F_WRLCK`) by the slot's owner; slot 0 is the exclusive holder's |
//! | 16 + 512·i | holder record of slot i: mode, pid, UUID, guest name, host, resource |
//!
//! Locks are open-file-description locks (`F_OFD_SETLK`): they belong to the open file,
//! so they last until it is closed, i.e. until the holder releases or dies. A record
//! whose slot lock is not held is stale and never reported; no clean-up is needed after
//! a crash. (Lock bytes are only coordinates: they need not hold data.) The header and
//! the record of slot 0 are adjacent, so an exclusive holder in slot 0 writes its new
//! generation and its record with one `pwrite`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::abi::err::*;
use crate::error::{Error, Result};
use crate::ids::{self, Status};
use crate::leasedir::{check_lease, in_lockspace, open_at, open_in, status_of};
pub use crate::leasedir::{still_linked, LEASE_MODE};
use crate::trust;

pub const RESOURCE_LOCK: u64 = 0;
const HEADER_MAGIC: &[u8; 8] = b"VCLSLEA1";
pub(crate) const SLOT_LOCK_BASE: u64 = 1024;
pub const MAX_SLOTS: u64 = 64;
const HEADER_SIZE: usize = 16;
const RECORD_BASE: u64 = HEADER_SIZE as u64;
use crate::record::RECORD_SIZE;
pub use crate::record::{format_uuid, Holder, MODE_EXCLUSIVE, MODE_REGISTERED, MODE_SHARED};

/// Lower-case hex SHA-256 of `data`: lease file names.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub use crate::naming::canonical_disk_path;

/// Type and (device, inode) of open lease file `fd` (see `ids.rs`: never `stat`).
pub(crate) fn stat_fd(fd: RawFd, path: &Path) -> Result<Status> {
    ids::of_fd(fd)
        .map_err(|e| Error::system(e, format!("cannot stat lease file '{}'", path.display())))
}

fn raw_open(c: &CString, flags: i32) -> Option<OwnedFd> {
    // SAFETY: valid C string; the mode argument is read only with O_CREAT.
    let fd = unsafe { libc::open(c.as_ptr(), flags, 0o600 as libc::c_uint) };
    // SAFETY: fd was just returned by open and is owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(crate) fn not_regular(path: &Path) -> Error {
    Error::new(
        VIR_ERR_CONFIG_UNSUPPORTED,
        format!("lease file '{}' is not a regular file", path.display()),
    )
}

/// `fd` must still be the inode `st` described (checked before it was opened).
pub(crate) fn same_inode(fd: OwnedFd, st: &Status, path: &Path) -> Result<OwnedFd> {
    let now = stat_fd(fd.as_raw_fd(), path)?;
    if now.ids != st.ids {
        return Err(Error::new(
            VIR_ERR_OPERATION_INVALID,
            format!(
                "lease file '{}' was replaced while opening it",
                path.display()
            ),
        ));
    }
    Ok(fd)
}

pub(crate) const RW: i32 = libc::O_RDWR | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK;

/// Opens a lease file read-write, creating it mode 0600 when `create`. A symlink, a
/// device node, a FIFO or anything but a regular file is refused before it is opened
/// read-write:
///
/// - files of the lockspace directory (`create`): through the checked directory's
///   descriptor ([`open_in`]: owner, mode and links checked too). Anywhere else it is an
///   error: only a checked directory may receive lease files.
/// - a user's lease file (not `create`; its directory is the user's, even when it is
///   the lockspace directory itself, and its mode too): opened `O_PATH`,
///   which opens nothing (no device side effect, no FIFO wait), checked with `fstat`, and
///   only then that very inode is reopened read-write through `/proc/self/fd` (without
///   `/proc`: by name, checked to be the same inode).
pub fn open(path: &Path, create: bool) -> Result<OwnedFd> {
    if create {
        let Some((td, name)) = in_lockspace(path)? else {
            return Err(Error::new(
                VIR_ERR_OPERATION_INVALID,
                format!(
                    "lease file '{}' is not in a lockspace directory checked by this process",
                    path.display()
                ),
            ));
        };
        return open_in(&td, &name, true, path);
    }
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::invalid_arg(format!("lease path '{}' contains NUL", path.display())))?;
    let cannot_open = || Error::last_os(format!("cannot open lease file '{}'", path.display()));
    let probe =
        raw_open(&c, libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW).ok_or_else(cannot_open)?;
    let st = stat_fd(probe.as_raw_fd(), path)?;
    if !st.is_regular() {
        return Err(not_regular(path));
    }
    let proc = CString::new(format!("/proc/self/fd/{}", probe.as_raw_fd())).unwrap();
    if let Some(fd) = raw_open(&proc, RW & !libc::O_NOFOLLOW) {
        return Ok(fd);
    }
    let fd = raw_open(&c, RW).ok_or_else(cannot_open)?;
    same_inode(fd, &st, path)
}

/// Opens an existing lease file only to look at it (records, generation, slot probes)
/// from another process than its holders': looked at first (a symlink, device node or
/// FIFO is refused without being opened, as in [`open`]), then opened read-only without
/// following symlinks and checked to be that inode. `Ok(None)`: no such file. Returns
/// the file and its (device, inode).
pub fn open_probe(path: &Path) -> Result<Option<(OwnedFd, (u64, u64))>> {
    // Removed or replaced between the look and the open (`virtcore-lock gc`): again.
    for _ in 0..8 {
        let Some(st) = probe_lstat(path)? else {
            return Ok(None);
        };
        match open_probe_at(path, &st) {
            Ok(fd) => return Ok(Some((fd, st.ids))),
            Err(_) if probe_lstat(path).ok().flatten().map(|s| s.ids) != Some(st.ids) => {}
            Err(e) => return Err(e),
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

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::invalid_arg(format!("lease path '{}' contains NUL", path.display())))
}

/// The status of an existing lease file, which must be a regular file, not following a
/// symlink (`Ok(None)`: no such file): the check before [`open_probe_at`] and before
/// every reuse of a look. In the lockspace directory, through its checked descriptor and
/// with the checks of [`open`].
pub fn probe_lstat(path: &Path) -> Result<Option<Status>> {
    let cannot =
        |e: io::Error| Error::system(e, format!("cannot open lease file '{}'", path.display()));
    if let Some((td, name)) = in_lockspace(path)? {
        return match trust::meta_at(td.fd(), &name, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(m) => {
                check_lease(&m, &td, path)?;
                Ok(Some(status_of(&m)))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(cannot(e)),
        };
    }
    let c = c_path(path)?;
    let st = match ids::of_path(&c, false) {
        Ok(st) => st,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    if !st.is_regular() {
        return Err(not_regular(path));
    }
    Ok(Some(st))
}

/// Opens lease file `path` read-only, as [`probe_lstat`] found it (`st`): without
/// following symlinks (relative to the checked lockspace directory when in one), and
/// checked to be that inode.
pub fn open_probe_at(path: &Path, st: &Status) -> Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let fd = match in_lockspace(path)? {
        Some((td, name)) => open_at(td.fd(), &name, flags),
        None => raw_open(&c_path(path)?, flags),
    }
    .ok_or_else(|| Error::last_os(format!("cannot open lease file '{}'", path.display())))?;
    same_inode(fd, st, path)
}

fn flock(kind: i32, start: u64) -> libc::flock {
    // SAFETY: flock is plain data; zero is a valid value (and l_pid must be 0 for OFD).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = start as libc::off_t;
    fl.l_len = 1;
    fl
}

/// Tries to take (or, with `F_UNLCK`, drop) a one-byte OFD lock without waiting.
/// `Ok(false)` means someone else holds a conflicting lock.
pub fn try_lock(fd: RawFd, kind: i32, start: u64) -> io::Result<bool> {
    let fl = flock(kind, start);
    // SAFETY: F_OFD_SETLK with a valid flock.
    if unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &fl) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
        _ => Err(e),
    }
}

/// Whether another open file holds a lock on byte `at` that conflicts with a write lock.
/// One byte per call: over a range, `F_OFD_GETLK` reports the first conflicting lock in
/// the kernel's list, not the lowest locked byte, so a range probe can skip holders.
fn locked_by_other(fd: RawFd, at: u64) -> io::Result<bool> {
    let mut fl = flock(libc::F_WRLCK, at);
    // SAFETY: F_OFD_GETLK with a valid flock.
    if unsafe { libc::fcntl(fd, libc::F_OFD_GETLK, &mut fl) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// Whether the open file `mine` holds holder slot `slot`: a probe through another open
/// file of the same lease (`other`) sees the slot locked, one through `mine` does not
/// (an open file never conflicts with its own locks).
pub fn holds_slot(mine: RawFd, other: RawFd, slot: u64) -> bool {
    matches!(locked_by_other(other, SLOT_LOCK_BASE + slot), Ok(true))
        && matches!(locked_by_other(mine, SLOT_LOCK_BASE + slot), Ok(false))
}

/// Whether no open file but `mine` holds slot `slot` (the half of [`holds_slot`] that
/// needs no other file: enough once `mine`'s process was proven to hold the slot).
pub fn slot_not_held_by_other(mine: RawFd, slot: u64) -> bool {
    matches!(locked_by_other(mine, SLOT_LOCK_BASE + slot), Ok(false))
}

/// Slot 0 belongs to the exclusive holder: it takes it only while holding the resource
/// write lock, after writing its record there, and gives it up before that lock.
pub const EXCLUSIVE_SLOT: u64 = 0;

/// Takes one given slot's lock byte; `Ok(false)` if another open file holds it.
pub fn lock_slot(fd: RawFd, slot: u64) -> io::Result<bool> {
    try_lock(fd, libc::F_WRLCK, SLOT_LOCK_BASE + slot)
}

/// Claims a free holder slot other than the exclusive one (shared and registered
/// holders) for this open file.
pub fn claim_slot(fd: RawFd, path: &Path) -> Result<u64> {
    for slot in EXCLUSIVE_SLOT + 1..MAX_SLOTS {
        match try_lock(fd, libc::F_WRLCK, SLOT_LOCK_BASE + slot) {
            Ok(true) => return Ok(slot),
            Ok(false) => continue,
            Err(e) => {
                return Err(Error::system(
                    e,
                    format!("cannot lock a holder slot in '{}'", path.display()),
                ))
            }
        }
    }
    Err(Error::new(
        VIR_ERR_RESOURCE_BUSY,
        format!(
            "lease file '{}' has no free holder slot (at most {} shared or registered holders per resource)",
            path.display(),
            MAX_SLOTS - 1
        ),
    ))
}

pub fn release_slot(fd: RawFd, slot: u64) {
    let _ = try_lock(fd, libc::F_UNLCK, SLOT_LOCK_BASE + slot);
}

/// Gives up whatever slots this open file holds.
pub fn release_all_slots(fd: RawFd) {
    let mut fl = flock(libc::F_UNLCK, SLOT_LOCK_BASE);
    fl.l_len = MAX_SLOTS as libc::off_t;
    // SAFETY: F_OFD_SETLK with a valid flock.
    unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &fl) };
}

fn pwrite_all(fd: RawFd, buf: &[u8], off: u64) -> io::Result<()> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off as libc::off_t) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else if n as usize != buf.len() {
        Err(io::Error::new(io::ErrorKind::WriteZero, "short write"))
    } else {
        Ok(())
    }
}

fn pread_full(fd: RawFd, buf: &mut [u8], off: u64) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off as libc::off_t) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

pub fn write_record(fd: RawFd, slot: u64, h: &Holder, path: &Path) -> Result<()> {
    pwrite_all(fd, &h.encode(), RECORD_BASE + slot * RECORD_SIZE as u64).map_err(|e| {
        Error::system(
            e,
            format!("cannot write holder record to '{}'", path.display()),
        )
    })
}

/// The live records of a lease, with their slots: every slot whose lock another open
/// file holds (probed slot by slot), with a record of either format.
pub fn live_records(fd: RawFd) -> Vec<(u64, Holder)> {
    records(fd)
        .into_iter()
        .filter(|(slot, _)| slot_live(fd, *slot))
        .collect()
}

/// Every valid record of a lease, live or stale (one read): a slot without one has
/// nothing to report, so only these need probing.
pub fn records(fd: RawFd) -> Vec<(u64, Holder)> {
    let mut buf = vec![0u8; RECORD_SIZE * MAX_SLOTS as usize];
    let n = pread_full(fd, &mut buf, RECORD_BASE).unwrap_or(0);
    decode_records(&buf[..n])
}

fn decode_records(buf: &[u8]) -> Vec<(u64, Holder)> {
    buf.chunks_exact(RECORD_SIZE)
        .enumerate()
        .filter_map(|(slot, b)| Holder::decode(b).map(|h| (slot as u64, h)))
        .collect()
}

/// A whole lease file as one read saw it: the header and every valid record.
pub struct Snapshot {
    head: [u8; HEADER_SIZE],
    head_len: usize,
    pub records: Vec<(u64, Holder)>,
}

impl Snapshot {
    /// The generation in the header (see [`read_generation`]). Only current while the
    /// generation cannot move: when the reader's guest holds the resource lock.
    pub fn generation(&self, path: &Path) -> Result<u64> {
        parse_generation(&self.head, self.head_len, path)
    }
}

/// Header and records in one read (a release needs both: the records to find the
/// guest's open file, the generation for the state).
pub fn snapshot(fd: RawFd) -> Snapshot {
    let mut buf = vec![0u8; HEADER_SIZE + RECORD_SIZE * MAX_SLOTS as usize];
    let n = pread_full(fd, &mut buf, 0).unwrap_or(0);
    let head_len = n.min(HEADER_SIZE);
    let mut head = [0u8; HEADER_SIZE];
    head[..head_len].copy_from_slice(&buf[..head_len]);
    Snapshot {
        head,
        head_len,
        records: decode_records(&buf[head_len..n]),
    }
}

/// Whether another open file than `fd` holds `slot`.
pub fn slot_live(fd: RawFd, slot: u64) -> bool {
    matches!(locked_by_other(fd, SLOT_LOCK_BASE + slot), Ok(true))
}

/// The live holders of a lease (records whose slot lock is held by another open file)
/// that actually hold the lock (exclusive or shared, not merely registered), in slot
/// order: every one of them, whatever order they came in.
pub fn holders(fd: RawFd) -> Vec<Holder> {
    live_records(fd)
        .into_iter()
        .map(|(_, h)| h)
        .filter(|h| h.mode == MODE_EXCLUSIVE || h.mode == MODE_SHARED)
        .collect()
}

/// The lease's generation (0 for a new, empty file).
pub fn read_generation(fd: RawFd, path: &Path) -> Result<u64> {
    let mut buf = [0u8; 16];
    let n = pread_full(fd, &mut buf, 0)
        .map_err(|e| Error::system(e, format!("cannot read lease file '{}'", path.display())))?;
    parse_generation(&buf, n, path)
}

fn parse_generation(buf: &[u8; 16], n: usize, path: &Path) -> Result<u64> {
    // Empty, or only holder records written so far (the header is still zeros).
    if n == 0 || (n == 16 && buf == &[0u8; 16]) {
        return Ok(0);
    }
    if n < 16 || &buf[..8] != HEADER_MAGIC {
        return Err(Error::new(
            VIR_ERR_INTERNAL_ERROR,
            format!("lease file '{}' has no valid header", path.display()),
        ));
    }
    Ok(u64::from_le_bytes(buf[8..16].try_into().unwrap()))
}

fn header(gen: u64) -> [u8; HEADER_SIZE] {
    let mut buf = [0u8; HEADER_SIZE];
    buf[..8].copy_from_slice(HEADER_MAGIC);
    buf[8..].copy_from_slice(&gen.to_le_bytes());
    buf
}

pub fn write_generation(fd: RawFd, gen: u64, path: &Path) -> Result<()> {
    pwrite_all(fd, &header(gen), 0)
        .map_err(|e| Error::system(e, format!("cannot write lease file '{}'", path.display())))
}

/// Writes a new generation and the record of `slot`, under the resource write lock
/// only: one write for slot 0 (adjacent to the header) and for slot 1, the first
/// registered guest's, whose write covers slot 0 with an empty record. That is safe
/// because slot 0 is held only with the resource write lock, which the caller holds:
/// whatever record slot 0 has is stale and never reported.
pub fn write_generation_and_record(
    fd: RawFd,
    gen: u64,
    slot: u64,
    h: &Holder,
    path: &Path,
) -> Result<()> {
    if slot > 1 {
        write_generation(fd, gen, path)?;
        return write_record(fd, slot, h, path);
    }
    let mut buf = [0u8; HEADER_SIZE + 2 * RECORD_SIZE];
    let end = HEADER_SIZE + (slot as usize + 1) * RECORD_SIZE;
    buf[..HEADER_SIZE].copy_from_slice(&header(gen));
    buf[end - RECORD_SIZE..end].copy_from_slice(&h.encode());
    pwrite_all(fd, &buf[..end], 0)
        .map_err(|e| Error::system(e, format!("cannot write lease file '{}'", path.display())))
}

/// Keeps (`false`) or drops (`true`) the descriptor across `exec`.
pub fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFD/F_SETFD on a descriptor we own.
    unsafe {
        let cur = libc::fcntl(fd, libc::F_GETFD);
        if cur < 0 {
            return Err(io::Error::last_os_error());
        }
        let new = if on {
            cur | libc::FD_CLOEXEC
        } else {
            cur & !libc::FD_CLOEXEC
        };
        if libc::fcntl(fd, libc::F_SETFD, new) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_hex(b"").len(), 64);
    }

    #[test]
    fn canonical_paths() {
        let dir = tempfile::tempdir().unwrap();
        trust::check(dir.path(), Default::default(), false).unwrap();
        let real = dir.path().join("disk.img");
        std::fs::write(&real, b"").unwrap();
        let link = dir.path().join("link.img");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let canon = std::fs::canonicalize(&real).unwrap();
        assert_eq!(
            canonical_disk_path(link.to_str().unwrap()).unwrap(),
            canon.to_str().unwrap()
        );
        assert_eq!(
            canonical_disk_path("/no/such/disk.img").unwrap(),
            "/no/such/disk.img"
        );
        assert!(canonical_disk_path("rel/disk.img").is_err());
    }

    #[test]
    fn every_live_holder_is_found() {
        let dir = tempfile::tempdir().unwrap();
        trust::check(dir.path(), Default::default(), false).unwrap();
        let p = dir.path().join("lease");
        let files: Vec<OwnedFd> = (0..5).map(|_| open(&p, true).unwrap()).collect();
        let record = |i: u32| Holder {
            mode: MODE_SHARED,
            pid: 100 + i,
            uuid: [i as u8; 16],
            name: format!("vm{i}"),
            host: "h".into(),
            resource: Some("disk:/x".into()),
            fd: 3,
        };
        // Slots taken, given up and taken again: the kernel's lock list is no longer in
        // byte order, and a range probe would miss holders.
        for (i, f) in files[..3].iter().enumerate() {
            let slot = claim_slot(f.as_raw_fd(), &p).unwrap();
            write_record(f.as_raw_fd(), slot, &record(i as u32), &p).unwrap();
        }
        release_slot(files[0].as_raw_fd(), 1);
        let slot = claim_slot(files[3].as_raw_fd(), &p).unwrap();
        assert_eq!(slot, 1, "a dead or gone holder's slot is reused");
        write_record(files[3].as_raw_fd(), slot, &record(3), &p).unwrap();
        // A holder of the previous version writes records of the first format.
        let old = open(&p, false).unwrap();
        let slot = claim_slot(old.as_raw_fd(), &p).unwrap();
        let mut v1 = [0u8; RECORD_SIZE];
        v1[..8].copy_from_slice(crate::record::RECORD_MAGIC_V1);
        v1[8..12].copy_from_slice(&MODE_EXCLUSIVE.to_le_bytes());
        v1[12..16].copy_from_slice(&104u32.to_le_bytes());
        pwrite_all(
            old.as_raw_fd(),
            &v1,
            RECORD_BASE + slot * RECORD_SIZE as u64,
        )
        .unwrap();
        let mut pids: Vec<u32> = holders(files[4].as_raw_fd())
            .iter()
            .map(|h| h.pid)
            .collect();
        pids.sort();
        assert_eq!(pids, vec![101, 102, 103, 104]);
        drop(old);
        assert!(holds_slot(files[3].as_raw_fd(), files[4].as_raw_fd(), 1));
        assert!(!holds_slot(files[2].as_raw_fd(), files[4].as_raw_fd(), 1));
    }

    #[test]
    fn locks_records_and_generation() {
        let dir = tempfile::tempdir().unwrap();
        trust::check(dir.path(), Default::default(), false).unwrap();
        let p = dir.path().join("lease");
        let a = open(&p, true).unwrap();
        let b = open(&p, false).unwrap();
        assert_eq!(read_generation(a.as_raw_fd(), &p).unwrap(), 0);
        assert!(try_lock(a.as_raw_fd(), libc::F_WRLCK, RESOURCE_LOCK).unwrap());
        assert!(!try_lock(b.as_raw_fd(), libc::F_RDLCK, RESOURCE_LOCK).unwrap());
        let slot = claim_slot(a.as_raw_fd(), &p).unwrap();
        assert_eq!(slot, 1, "slot 0 is kept for the exclusive holder");
        assert_eq!(claim_slot(b.as_raw_fd(), &p).unwrap(), 2);
        release_slot(b.as_raw_fd(), 2);
        let h = Holder {
            mode: MODE_EXCLUSIVE,
            pid: 1,
            uuid: [7; 16],
            name: "vm".into(),
            host: "h".into(),
            resource: None,
            fd: -1,
        };
        write_record(a.as_raw_fd(), slot, &h, &p).unwrap();
        write_generation(a.as_raw_fd(), 5, &p).unwrap();
        assert_eq!(holders(b.as_raw_fd()), vec![h]);
        assert_eq!(read_generation(b.as_raw_fd(), &p).unwrap(), 5);
        drop(a);
        assert!(
            holders(b.as_raw_fd()).is_empty(),
            "a closed holder's record is stale"
        );
        assert!(try_lock(b.as_raw_fd(), libc::F_WRLCK, RESOURCE_LOCK).unwrap());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let e = open(&link, true).unwrap_err();
        assert!(e.message.contains("link"), "{e}");
    }

    #[test]
    fn special_files_are_refused_unopened() {
        let dir = tempfile::tempdir().unwrap();
        trust::check(dir.path(), Default::default(), false).unwrap();
        let fifo = dir.path().join("fifo");
        let c = CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A FIFO opened read-write would not block, but one opened for reading would:
        // either way it must be refused, never opened.
        let e = open(&fifo, false).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
        let e = open(&fifo, true).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
        let e = open(Path::new("/dev/null"), false).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
        let e = open(dir.path(), false).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
        // The read-only look from another process refuses the same, unopened.
        for p in [fifo.as_path(), Path::new("/dev/null"), dir.path()] {
            let e = open_probe(p).unwrap_err();
            assert!(e.message.contains("not a regular file"), "{e}");
        }
        assert!(open_probe(&dir.path().join("missing")).unwrap().is_none());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert!(open_probe(&link).is_err());
        let file = dir.path().join("lease");
        drop(open(&file, true).unwrap());
        let (fd, ids) = open_probe(&file).unwrap().unwrap();
        assert_eq!(crate::guest::fd_ids(fd.as_raw_fd()), Some(ids));
    }
}
