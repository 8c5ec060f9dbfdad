//! Files of the domain subsystem: atomic replacement of config and status files, removal
//! of the temporary files a killed save left behind, and reading only regular files of a
//! bounded size.
//!
//! Temporary files are named `.vc-tmp-XXXXXX` (6 random letters or digits) in the target's
//! directory: a fixed 14 bytes whatever the domain's name, so every name that is accepted
//! (up to 251 bytes, `NAME.xml` ≤ 255) can be saved, and a name no `NAME.xml` can take.
//! That pattern is reserved: a regular file matching it is a leftover of a killed save.
//!
//! A save holds a shared `flock` on its directory while its temporary file exists; a save
//! that gets the lock exclusively knows no save is in flight in any process, removes the
//! leftovers, then downgrades. A save that cannot get it exclusively skips the clean-up
//! (a later one does it).

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use super::error::{arg_err, sys_err, write_failed};
use crate::error::Error;

/// Largest domain XML file (config or status) read, in bytes (10 MiB). Larger files are
/// refused with an error naming them, before they are read into memory.
pub const VIRTCORE_DOMAIN_XML_MAX: u64 = 10 * 1024 * 1024;

const TMP_PREFIX: &str = ".vc-tmp-";
const TMP_RANDOM: usize = 6;

/// Whether `name` is one of our temporary files: `.vc-tmp-` and exactly 6 ASCII letters
/// or digits, or the older `.NAME.xml.tmpPID.N` of virtcore 0.1's saves.
pub fn is_temp_name(name: &OsStr) -> bool {
    let Some(n) = name.to_str() else { return false };
    if let Some(rest) = n.strip_prefix(TMP_PREFIX) {
        return rest.len() == TMP_RANDOM && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !n.starts_with('.') {
        return false;
    }
    match n.rfind(".xml.tmp") {
        Some(i) if i > 0 => match n[i + 8..].split_once('.') {
            Some((pid, count)) => digits(pid) && digits(count),
            None => false,
        },
        _ => false,
    }
}

/// The caller's directory argument, refused when empty (it would mean the current
/// directory of the process, which no caller means).
pub fn check_dir<'a>(dir: &'a str, what: &str) -> Result<&'a str, Error> {
    if dir.is_empty() {
        return Err(arg_err(format!("{what} must not be an empty path")));
    }
    Ok(dir)
}

fn flock(f: &fs::File, op: libc::c_int) -> std::io::Result<()> {
    // SAFETY: a valid descriptor owned by `f`.
    if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Removes the leftovers of killed saves from `dir` (the caller holds the exclusive
/// directory lock). Only regular files whose name is ours; others are never touched.
fn remove_leftovers(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        if !is_temp_name(&name) || !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let p = e.path();
        match fs::remove_file(&p) {
            Ok(()) => log_info!("removed '{}', left by an interrupted save", p.display()),
            Err(err) => log_warn!("cannot remove leftover '{}': {err}", p.display()),
        }
    }
}

/// Takes the directory lock for one save: exclusive first (then cleans up and keeps it
/// shared), else shared. Gives up after a bounded wait rather than hang on a directory
/// another process keeps locked exclusively.
fn lock_dir(d: &fs::File, dir: &Path) -> Result<(), Error> {
    if flock(d, libc::LOCK_EX | libc::LOCK_NB).is_ok() {
        remove_leftovers(dir);
        // A conversion may briefly drop the lock; another cleaner then runs, which is fine
        // as no temporary file of ours exists yet.
        if flock(d, libc::LOCK_SH | libc::LOCK_NB).is_ok() {
            return Ok(());
        }
    }
    let start = Instant::now();
    loop {
        match flock(d, libc::LOCK_SH | libc::LOCK_NB) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {
                if start.elapsed() > Duration::from_secs(30) {
                    return Err(write_failed(format!(
                        "config directory '{}' stays locked by another process",
                        dir.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            // No flock here (some network filesystems): save without clean-up.
            Err(_) => return Ok(()),
        }
    }
}

/// Writes `data` to `path` so that a crash leaves either the old file or the new one: a
/// temporary file in the same directory, fsync, rename over the target, fsync of the
/// directory. An error means `path` was not changed (and no temporary file is left); once
/// the rename is done the save has happened, and a failing directory fsync is a warning.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| {
        sys_err(
            format!("cannot create config directory '{}'", dir.display()),
            e,
        )
    })?;
    // A directory that cannot be read (mode 0333 for a non-root daemon) can still be
    // written: then there is no lock, clean-up or directory fsync, as in libvirt.
    let dirf = match fs::File::open(dir) {
        Ok(d) => {
            lock_dir(&d, dir)?;
            Some(d)
        }
        Err(e) => {
            log_warn!(
                "cannot open directory '{}' ({e}): saving without fsync of it",
                dir.display()
            );
            None
        }
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .rand_bytes(TMP_RANDOM)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| {
            write_failed(format!(
                "cannot create a temporary file in '{}' to write '{}': {e}",
                dir.display(),
                path.display()
            ))
        })?;
    let tmp_name = tmp.path().display().to_string();
    let written = tmp
        .as_file_mut()
        .write_all(data)
        .and_then(|()| tmp.as_file().sync_all());
    if let Err(e) = written {
        return Err(write_failed(format!(
            "cannot write '{}' (temporary file '{tmp_name}'): {e}",
            path.display()
        )));
    }
    // On failure the temporary file is removed when `persist`'s error is dropped.
    tmp.persist(path).map_err(|e| {
        write_failed(format!(
            "cannot write '{}' (renaming '{tmp_name}' over it): {}",
            path.display(),
            e.error
        ))
    })?;
    if let Some(d) = &dirf {
        if let Err(e) = d.sync_all() {
            log_warn!(
                "'{}' is written but the fsync of directory '{}' failed: {e}",
                path.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// What a file that is not read is.
fn kind_of(t: fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Why a file is not read.
pub enum ReadError {
    /// Not a regular file (after following symlinks): skipped with a warning.
    NotRegular(Error),
    /// Could not be read, or too large.
    Failed(Error),
}

impl From<Error> for ReadError {
    fn from(e: Error) -> ReadError {
        ReadError::Failed(e)
    }
}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Error {
        match e {
            ReadError::NotRegular(e) | ReadError::Failed(e) => e,
        }
    }
}

/// Reads a domain XML file: regular files only (symlinks are followed, as libvirt does,
/// but only to regular files), at most [`VIRTCORE_DOMAIN_XML_MAX`] bytes. Opening never
/// blocks (`O_NONBLOCK`), and nothing that is not a regular file is opened at all.
pub fn read_regular(path: &Path) -> Result<String, ReadError> {
    read_regular_as(path, false)
}

/// [`read_regular`] for a directory entry whose type (`d_type`) said "regular file": the
/// stat before opening is left out (the check after opening still judges what was
/// opened). One file system call fewer a file when a directory of them is loaded.
pub fn read_regular_as(path: &Path, listed_regular: bool) -> Result<String, ReadError> {
    let shown = path.display();
    let fail = |e: std::io::Error| {
        ReadError::Failed(sys_err(format!("cannot read domain XML file '{shown}'"), e))
    };
    let not_regular = |t: fs::FileType| {
        ReadError::NotRegular(arg_err(format!(
            "domain XML file '{shown}' is {}, not a regular file",
            kind_of(t)
        )))
    };
    if !listed_regular {
        let meta = fs::metadata(path).map_err(fail)?;
        if !meta.is_file() {
            return Err(not_regular(meta.file_type()));
        }
    }
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(fail)?;
    // The name may have been replaced since the stat: judge what was opened.
    let meta = f.metadata().map_err(fail)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let too_big = |size: u64| {
        ReadError::Failed(arg_err(format!(
            "domain XML file '{shown}' is too large ({size} bytes, at most {VIRTCORE_DOMAIN_XML_MAX})"
        )))
    };
    if meta.size() > VIRTCORE_DOMAIN_XML_MAX {
        return Err(too_big(meta.size()));
    }
    // One read of size + 1 bytes: getting exactly the size fstat gave is the end of the
    // file (files are replaced by rename, never grown in place), so the read that would
    // return 0 is left out. Anything else reads on to the end, as before.
    let size = meta.size() as usize;
    let mut buf = vec![0u8; size + 1];
    let first = loop {
        match f.read(&mut buf) {
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(e)),
        }
    };
    buf.truncate(first);
    if first != size {
        (&mut f)
            .take(VIRTCORE_DOMAIN_XML_MAX + 1 - first as u64)
            .read_to_end(&mut buf)
            .map_err(fail)?;
    }
    if buf.len() as u64 > VIRTCORE_DOMAIN_XML_MAX {
        return Err(too_big(buf.len() as u64));
    }
    String::from_utf8(buf).map_err(|_| {
        ReadError::Failed(sys_err(
            format!("cannot read domain XML file '{shown}'"),
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dot_files(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    #[test]
    fn temp_names_are_recognised_exactly() {
        for n in [
            ".vc-tmp-abc123",
            ".vc-tmp-ZZZZZZ",
            ".x.xml.tmp123.0",
            "..xml.tmp1.22",
        ] {
            assert!(is_temp_name(OsStr::new(n)), "{n}");
        }
        for n in [
            ".vc-tmp-abc12",
            ".vc-tmp-abc1234",
            ".vc-tmp-abc12-",
            ".vc-tmp-abc123.xml",
            "vc-tmp-abc123",
            ".web.xml",
            ".x.xml.tmp.0",
            ".x.xml.tmp12",
            ".x.xml.tmp1a.2",
            "x.xml.tmp1.2",
        ] {
            assert!(!is_temp_name(OsStr::new(n)), "{n}");
        }
    }

    #[test]
    fn atomic_write_replaces_whole_files_and_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("sub/x.xml");
        write_atomic(&f, b"old").unwrap();
        write_atomic(&f, b"new content").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"new content");
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(dot_files(f.parent().unwrap()).is_empty());
        // The rename fails (the target is a non-empty directory): the error names the file,
        // the target is untouched and no temporary file is left behind.
        let blocked = d.path().join("sub/blocked.xml");
        fs::create_dir_all(blocked.join("inner")).unwrap();
        let e = write_atomic(&blocked, b"data").unwrap_err();
        assert_eq!(e.code, crate::error::virErrorNumber::VIR_ERR_WRITE_FAILED);
        assert!(e.message.contains("blocked.xml"), "{}", e.message);
        assert!(blocked.join("inner").is_dir());
        assert!(dot_files(f.parent().unwrap()).is_empty());
    }

    #[test]
    fn leftovers_go_and_other_files_stay() {
        let d = tempfile::tempdir().unwrap();
        let keep = [".web.xml", ".vc-tmp-abc", ".vc-tmp-abc123.xml", "notes"];
        for n in keep.iter().chain(&[".vc-tmp-q1w2e3", ".a.xml.tmp77.3"]) {
            fs::write(d.path().join(n), b"x").unwrap();
        }
        // A directory with our name is not ours to remove.
        fs::create_dir(d.path().join(".vc-tmp-dir123")).unwrap();
        write_atomic(&d.path().join("a.xml"), b"a").unwrap();
        let mut left = dot_files(d.path());
        left.sort();
        assert_eq!(
            left,
            [
                ".vc-tmp-abc",
                ".vc-tmp-abc123.xml",
                ".vc-tmp-dir123",
                ".web.xml"
            ]
        );
        assert!(d.path().join("notes").exists());
    }

    #[test]
    fn only_regular_files_are_read() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("f.xml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(read_regular(&fifo), Err(ReadError::NotRegular(_))));
        let zero = d.path().join("z.xml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(matches!(read_regular(&zero), Err(ReadError::NotRegular(_))));
        let big = d.path().join("big.xml");
        fs::File::create(&big)
            .unwrap()
            .set_len(VIRTCORE_DOMAIN_XML_MAX + 1)
            .unwrap();
        match read_regular(&big) {
            Err(ReadError::Failed(e)) => assert!(e.message.contains("too large"), "{}", e.message),
            _ => panic!("a file over the cap was read"),
        }
        let ok = d.path().join("ok.xml");
        fs::write(&ok, "<domain/>").unwrap();
        let link = d.path().join("link.xml");
        std::os::unix::fs::symlink(&ok, &link).unwrap();
        assert_eq!(read_regular(&link).ok().unwrap(), "<domain/>");
    }
}
