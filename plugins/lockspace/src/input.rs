//! Reading a small input file (the plugin's configuration, a domain XML given to the
//! tool) that a user named: it may be anything. A FIFO must not block libvirtd's
//! start-up, a device like `/dev/zero` must not be read without end.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::abi::err::*;
use crate::error::{Error, Result};

/// The largest input file read, in bytes (10 MiB, like the library's
/// `VIRTCORE_DOMAIN_XML_MAX`): configurations and domain definitions are far smaller.
pub const INPUT_FILE_MAX: u64 = 10 * 1024 * 1024;

/// The contents of `path`, which must be a regular file (symlinks to one are followed)
/// of at most [`INPUT_FILE_MAX`] bytes; `None` when it does not exist. Opened with
/// `O_NONBLOCK | O_NOCTTY`, so opening a FIFO or a terminal neither blocks nor takes
/// it over, then checked with `fstat` before anything is read. `what` names the file in
/// errors ("config file"); a special file or an oversized one is
/// `VIR_ERR_CONFIG_UNSUPPORTED`.
pub fn read_regular(path: &Path, what: &str) -> Result<Option<Vec<u8>>> {
    let shown = || format!("{what} '{}'", path.display());
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid_arg(format!("{} contains a NUL byte", shown())))?;
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY;
    // SAFETY: valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::NotFound {
            return Ok(None);
        }
        return Err(Error::system(e, format!("cannot read {}", shown())));
    }
    // SAFETY: fd was just opened and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let file = std::fs::File::from(fd);
    let md = file
        .metadata()
        .map_err(|e| Error::system(e, format!("cannot stat {}", shown())))?;
    if !md.file_type().is_file() {
        return Err(Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!("{} is not a regular file", shown()),
        ));
    }
    let too_big = || {
        Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!("{} is larger than {INPUT_FILE_MAX} bytes", shown()),
        )
    };
    if md.len() > INPUT_FILE_MAX {
        return Err(too_big());
    }
    let mut buf = Vec::with_capacity(md.len() as usize);
    // One byte more than allowed: a file growing while read is caught too.
    file.take(INPUT_FILE_MAX + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::system(e, format!("cannot read {}", shown())))?;
    if buf.len() as u64 > INPUT_FILE_MAX {
        return Err(too_big());
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.conf");
        std::fs::write(&f, b"x = 1\n").unwrap();
        assert_eq!(
            read_regular(&f, "config file").unwrap().unwrap(),
            b"x = 1\n"
        );
        assert!(read_regular(&dir.path().join("none"), "config file")
            .unwrap()
            .is_none());
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for p in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
            let e = read_regular(p, "config file").unwrap_err();
            assert_eq!(e.code, VIR_ERR_CONFIG_UNSUPPORTED);
            assert!(
                e.message.contains(&format!("'{}'", p.display())),
                "{}",
                e.message
            );
            assert!(e.message.contains("not a regular file"), "{}", e.message);
        }
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(INPUT_FILE_MAX + 1)
            .unwrap();
        let e = read_regular(&big, "config file").unwrap_err();
        assert!(e.message.contains("larger than"), "{}", e.message);
    }
}
