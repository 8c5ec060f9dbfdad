//! Errors: a code plus a preformatted message, reported through the host's
//! `virReportErrorHelper` (virtcore's or libvirt's, found at run time) so that the caller
//! sees them as its thread's last error. Without a host, the message goes to stderr.

use std::ffi::{c_char, c_int, CString};
use std::fmt;

use crate::abi::err::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: i32,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
    pub fn invalid_arg(message: impl Into<String>) -> Self {
        Self::new(VIR_ERR_INVALID_ARG, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(VIR_ERR_INTERNAL_ERROR, message)
    }
    /// A failed system call: the message ends with the `strerror` text, like libvirt's
    /// `virReportSystemError`.
    pub fn system(err: std::io::Error, what: impl fmt::Display) -> Self {
        // The strerror text alone, as libvirt prints it (std adds " (os error N)").
        let text = err.to_string();
        let text = match text.rfind(" (os error ") {
            Some(i) if text.ends_with(')') => text[..i].to_string(),
            _ => text,
        };
        Self::new(VIR_ERR_SYSTEM_ERROR, format!("{what}: {text}"))
    }
    /// The last OS error (`errno`) as a system error.
    pub fn last_os(what: impl fmt::Display) -> Self {
        Self::system(std::io::Error::last_os_error(), what)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

type ReportHelper =
    unsafe extern "C" fn(c_int, c_int, *const c_char, *const c_char, usize, *const c_char, ...);

/// Hands the error to the host library as `VIR_FROM_LOCKING` / `err.code`.
pub fn report(func: &str, err: &Error) {
    let msg = CString::new(err.message.replace('\0', "?")).unwrap_or_default();
    let func_c = CString::new(func).unwrap_or_default();
    // SAFETY: dlsym with a NUL-terminated name; the result is either NULL or the address
    // of a function with libvirt's virReportErrorHelper signature (virtcore's or libvirt's).
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"virReportErrorHelper".as_ptr()) };
    if sym.is_null() {
        eprintln!("lockspace: {func}: {}", err.message);
        return;
    }
    // SAFETY: see above; fmt "%s" consumes exactly the one string argument passed.
    unsafe {
        let helper: ReportHelper = std::mem::transmute::<*mut libc::c_void, ReportHelper>(sym);
        helper(
            VIR_FROM_LOCKING,
            err.code,
            c"lockspace".as_ptr(),
            func_c.as_ptr(),
            0,
            c"%s".as_ptr(),
            msg.as_ptr(),
        );
    }
}

/// libvirt's `virLogSource` (`virlog.h`): name, priority, serial, flags.
#[repr(C)]
struct LogSource {
    name: *const c_char,
    priority: u32,
    serial: u32,
    flags: u32,
}

/// Shared with libvirt's logger, which updates `priority`/`serial` under its own lock
/// (`virLogSourceUpdate`): wrapped so the static may be mutable through a pointer.
struct SourceCell(std::cell::UnsafeCell<LogSource>);
// SAFETY: only libvirt's logger writes it, under its lock.
unsafe impl Sync for SourceCell {}

static LOG_SOURCE: SourceCell = SourceCell(std::cell::UnsafeCell::new(LogSource {
    name: c"locking.lockspace".as_ptr(),
    priority: 0,
    serial: 0,
    flags: 0,
}));

type LogMessage = unsafe extern "C" fn(
    *mut LogSource,
    c_int,
    *const c_char,
    c_int,
    *const c_char,
    *const libc::c_void,
    *const c_char,
    ...
);

/// A warning in the host's log: libvirt's `virLogMessage` at `VIR_LOG_WARN` when the
/// plugin runs in libvirt (the daemon's log, like libvirt's `VIR_WARN`), else stderr.
pub fn warn(message: &str) {
    let msg = CString::new(message.replace('\0', "?")).unwrap_or_default();
    // SAFETY: dlsym with a NUL-terminated name.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"virLogMessage".as_ptr()) };
    if sym.is_null() {
        eprintln!("lockspace: warning: {message}");
        return;
    }
    // SAFETY: libvirt 9.0's virLogMessage(source, priority, filename, linenr, funcname,
    // metadata, fmt, ...); "%s" consumes the one string passed.
    unsafe {
        let f: LogMessage = std::mem::transmute::<*mut libc::c_void, LogMessage>(sym);
        f(
            LOG_SOURCE.0.get(),
            3, // VIR_LOG_WARN
            c"lockspace/conf.rs".as_ptr(),
            0,
            c"lockspaceInit".as_ptr(),
            std::ptr::null(),
            c"%s".as_ptr(),
            msg.as_ptr(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_errors_read_like_libvirt() {
        let e = Error::system(
            std::io::Error::from_raw_os_error(libc::ENOENT),
            "cannot open 'x'",
        );
        assert_eq!(e.message, "cannot open 'x': No such file or directory");
        assert_eq!(e.code, VIR_ERR_SYSTEM_ERROR);
        let e = Error::system(std::io::Error::other("plain"), "op");
        assert_eq!(e.message, "op: plain");
    }
}
