//! The per-thread last error, stored as a C `virError` whose strings are malloc'ed, so
//! that C code may copy, reset and free it with libvirt's rules.

use std::cell::UnsafeCell;
use std::ffi::{c_char, CString};
use std::ptr;

use super::ffi::{call_error_func, virError};
use super::{virErrorDomain, virErrorLevel, virErrorNumber, Error};

/// Owns the thread's last error. The `virError` lives in the thread-local and is handed to
/// C by pointer (`virGetLastError`), valid until the thread's next error or reset, exactly
/// as libvirt documents.
pub(super) struct LastError(pub(super) UnsafeCell<virError>);

impl Drop for LastError {
    fn drop(&mut self) {
        // SAFETY: the thread is exiting; nobody else can see this thread's slot.
        unsafe { reset(self.0.get()) }
    }
}

thread_local! {
    pub(super) static LAST: LastError = const { LastError(UnsafeCell::new(virError::EMPTY)) };
}

/// malloc'ed copy of `s` (NUL bytes replaced), or NULL when allocation fails.
pub(super) fn c_strdup(s: &str) -> *mut c_char {
    let c = CString::new(s.replace('\0', "\u{fffd}")).unwrap_or_default();
    // SAFETY: `c` is a valid NUL-terminated string.
    unsafe { libc::strdup(c.as_ptr()) }
}

/// Frees the strings of `err` and zeroes it (libvirt's `virResetError`).
pub(super) unsafe fn reset(err: *mut virError) {
    let e = &mut *err;
    for s in [e.message, e.str1, e.str2, e.str3] {
        libc::free(s.cast());
    }
    *e = virError::EMPTY;
}

/// Deep copy of `from` into `to`, which is overwritten without being freed.
pub(super) unsafe fn copy(from: *const virError, to: *mut virError) {
    let f = &*from;
    let dup = |s: *mut c_char| {
        if s.is_null() {
            ptr::null_mut()
        } else {
            libc::strdup(s)
        }
    };
    *to = virError {
        code: f.code,
        domain: f.domain,
        message: dup(f.message),
        level: f.level,
        conn: f.conn,
        dom: f.dom,
        str1: dup(f.str1),
        str2: dup(f.str2),
        str3: dup(f.str3),
        int1: f.int1,
        int2: f.int2,
        net: f.net,
    };
}

pub(super) fn set_last_error(err: Error) {
    let message = err.full_message();
    log_at!(
        if err.level == virErrorLevel::VIR_ERR_WARNING {
            crate::log::VIR_LOG_WARN
        } else {
            crate::log::VIR_LOG_ERROR
        },
        "{message}"
    );
    let _ = LAST.try_with(|slot| {
        let p = slot.0.get();
        // SAFETY: only this thread touches its slot; C got the pointer with the documented
        // lifetime "until the next error on this thread".
        unsafe {
            reset(p);
            (*p).code = err.code as i32;
            (*p).domain = err.domain as i32;
            (*p).level = err.level;
            (*p).message = c_strdup(&message);
            call_error_func(p);
        }
    });
}

/// The calling thread's last error, for Rust callers and tests.
pub fn last_error() -> Option<(i32, i32, String)> {
    LAST.try_with(|slot| {
        // SAFETY: read of this thread's own slot.
        let e = unsafe { &*slot.0.get() };
        if e.code == virErrorNumber::VIR_ERR_OK as i32 {
            return None;
        }
        let msg = if e.message.is_null() {
            String::new()
        } else {
            unsafe { std::ffi::CStr::from_ptr(e.message) }
                .to_string_lossy()
                .into_owned()
        };
        Some((e.code, e.domain, msg))
    })
    .ok()
    .flatten()
}

pub fn reset_last_error() {
    let _ = LAST.try_with(|slot| unsafe { reset(slot.0.get()) });
}

/// Keeps the compiler honest that the domain enum stays `int`-sized like libvirt's.
const _: () = assert!(std::mem::size_of::<virErrorDomain>() == 4);
