//! libvirt's public error API (`<libvirt/virterror.h>`): the same names, signatures and
//! semantics, over the thread-local last error of `last.rs`.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use parking_lot::RwLock;

use super::last::{copy, reset, LAST};
use super::{virErrorDomain, virErrorLevel, virErrorNumber};
use crate::ffi::{call, call_void};

/// Opaque libvirt connection; virtcore passes it through untouched.
pub struct virConnect {
    _private: [u8; 0],
}
/// Opaque libvirt public domain handle; passed through untouched.
pub struct virDomain {
    _private: [u8; 0],
}
/// Opaque libvirt network handle; passed through untouched.
pub struct virNetwork {
    _private: [u8; 0],
}
pub type virConnectPtr = *mut virConnect;
pub type virDomainPtr = *mut virDomain;
pub type virNetworkPtr = *mut virNetwork;

/// An error, laid out exactly like libvirt's public `virError`.
///
/// Functions: `virGetLastError`, `virGetLastErrorMessage`, `virGetLastErrorCode`,
/// `virGetLastErrorDomain`, `virResetLastError`, `virCopyLastError`, `virSaveLastError`,
/// `virFreeError`, `virResetError`, `virSetErrorFunc`, `virDefaultErrorFunc`, and
/// `virReportErrorHelper` to raise one from C.
#[repr(C)]
pub struct virError {
    /// The error code, a `virErrorNumber`.
    pub code: c_int,
    /// What part of the library raised this error, a `virErrorDomain`.
    pub domain: c_int,
    /// Human-readable message (malloc'ed).
    pub message: *mut c_char,
    /// How serious the error is.
    pub level: virErrorLevel,
    /// Connection if available (always NULL in virtcore).
    pub conn: virConnectPtr,
    /// Domain if available (always NULL in virtcore).
    pub dom: virDomainPtr,
    /// Extra string information.
    pub str1: *mut c_char,
    /// Extra string information.
    pub str2: *mut c_char,
    /// Extra string information.
    pub str3: *mut c_char,
    /// Extra number information.
    pub int1: c_int,
    /// Extra number information.
    pub int2: c_int,
    /// Network if available (always NULL in virtcore).
    pub net: virNetworkPtr,
}
pub type virErrorPtr = *mut virError;

impl virError {
    pub(super) const EMPTY: virError = virError {
        code: 0,
        domain: 0,
        message: ptr::null_mut(),
        level: virErrorLevel::VIR_ERR_NONE,
        conn: ptr::null_mut(),
        dom: ptr::null_mut(),
        str1: ptr::null_mut(),
        str2: ptr::null_mut(),
        str3: ptr::null_mut(),
        int1: 0,
        int2: 0,
        net: ptr::null_mut(),
    };
}

/// A function called with every error raised (libvirt's `virErrorFunc`).
pub type virErrorFunc = Option<unsafe extern "C" fn(userData: *mut c_void, error: virErrorPtr)>;

static ERROR_FUNC: RwLock<(virErrorFunc, usize)> = RwLock::new((None, 0));

/// Calls the handler installed with `virSetErrorFunc`, if any.
pub(super) unsafe fn call_error_func(err: *mut virError) {
    let (func, data) = *ERROR_FUNC.read();
    if let Some(f) = func {
        f(data as *mut c_void, err);
    }
}

fn with_last<R>(f: impl FnOnce(*mut virError) -> R) -> Option<R> {
    LAST.try_with(|slot| f(slot.0.get())).ok()
}

/// Returns the calling thread's last error, or NULL if there is none. The pointer stays
/// valid until the next error on this thread or `virResetLastError`; do not free it.
#[no_mangle]
pub extern "C" fn virGetLastError() -> virErrorPtr {
    call(virErrorDomain::VIR_FROM_NONE, "virGetLastError", |_| {
        Ok(with_last(|e| {
            if unsafe { (*e).code } == 0 {
                ptr::null_mut()
            } else {
                e
            }
        })
        .unwrap_or(ptr::null_mut()))
    })
}

/// The last error's message, or "no error" (never NULL). Valid like `virGetLastError`.
#[no_mangle]
pub extern "C" fn virGetLastErrorMessage() -> *const c_char {
    call(
        virErrorDomain::VIR_FROM_NONE,
        "virGetLastErrorMessage",
        |_| {
            const NO_ERROR: &[u8] = b"no error\0";
            const UNKNOWN: &[u8] = b"unknown error\0";
            Ok(with_last(|e| unsafe {
                if (*e).code == 0 {
                    NO_ERROR.as_ptr().cast()
                } else if (*e).message.is_null() {
                    UNKNOWN.as_ptr().cast()
                } else {
                    (*e).message as *const c_char
                }
            })
            .unwrap_or(NO_ERROR.as_ptr().cast()))
        },
    )
}

/// The last error's `virErrorNumber`, `VIR_ERR_OK` (0) when there is none.
#[no_mangle]
pub extern "C" fn virGetLastErrorCode() -> c_int {
    call(virErrorDomain::VIR_FROM_NONE, "virGetLastErrorCode", |_| {
        Ok(with_last(|e| unsafe { (*e).code }).unwrap_or(0))
    })
}

/// The last error's `virErrorDomain`, `VIR_FROM_NONE` (0) when there is none.
#[no_mangle]
pub extern "C" fn virGetLastErrorDomain() -> c_int {
    call(
        virErrorDomain::VIR_FROM_NONE,
        "virGetLastErrorDomain",
        |_| Ok(with_last(|e| unsafe { (*e).domain }).unwrap_or(0)),
    )
}

/// Forgets the calling thread's last error.
#[no_mangle]
pub extern "C" fn virResetLastError() {
    call_void(virErrorDomain::VIR_FROM_NONE, "virResetLastError", |_| {
        with_last(|e| unsafe { reset(e) });
        Ok(())
    })
}

/// Copies the last error into `to` (overwritten, not freed first: release it later with
/// `virResetError`). Returns the error code, 0 when there is no error (then `to` is
/// zeroed), or -1 when `to` is NULL.
#[no_mangle]
pub unsafe extern "C" fn virCopyLastError(to: virErrorPtr) -> c_int {
    call(virErrorDomain::VIR_FROM_NONE, "virCopyLastError", |cx| {
        let to = cx.non_null(to, "to")?;
        Ok(with_last(|e| unsafe {
            if (*e).code == 0 {
                *to = virError::EMPTY;
            } else {
                copy(e, to);
            }
            (*to).code
        })
        .unwrap_or(0))
    })
}

/// A malloc'ed copy of the last error (zeroed if there is none), to be released with
/// `virFreeError`; NULL only when memory runs out.
#[no_mangle]
pub extern "C" fn virSaveLastError() -> virErrorPtr {
    call(
        virErrorDomain::VIR_FROM_NONE,
        "virSaveLastError",
        |_| unsafe {
            let to = libc::calloc(1, std::mem::size_of::<virError>()) as *mut virError;
            if !to.is_null() {
                with_last(|e| {
                    if (*e).code != 0 {
                        copy(e, to)
                    }
                });
            }
            Ok(to)
        },
    )
}

/// Frees the strings of `err` and zeroes it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn virResetError(err: virErrorPtr) {
    call_void(virErrorDomain::VIR_FROM_NONE, "virResetError", |_| {
        if !err.is_null() {
            unsafe { reset(err) };
        }
        Ok(())
    })
}

/// Frees an error obtained from `virSaveLastError`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn virFreeError(err: virErrorPtr) {
    call_void(virErrorDomain::VIR_FROM_NONE, "virFreeError", |_| {
        if !err.is_null() {
            unsafe {
                reset(err);
                libc::free(err.cast());
            }
        }
        Ok(())
    })
}

/// Installs `handler`, called with `userData` and each error as it is raised, on the
/// raising thread. NULL removes it. Without a handler nothing is printed (virtcore is
/// quiet by default; `virDefaultErrorFunc` prints like libvirt does).
#[no_mangle]
pub extern "C" fn virSetErrorFunc(userData: *mut c_void, handler: virErrorFunc) {
    call_void(virErrorDomain::VIR_FROM_NONE, "virSetErrorFunc", |_| {
        *ERROR_FUNC.write() = (handler, userData as usize);
        Ok(())
    })
}

/// Prints `err` to stderr the way libvirt's default handler does
/// (`libvirt: <domain> error : <message>`). NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn virDefaultErrorFunc(err: virErrorPtr) {
    call_void(virErrorDomain::VIR_FROM_NONE, "virDefaultErrorFunc", |_| {
        if err.is_null() || unsafe { (*err).code } == virErrorNumber::VIR_ERR_OK as c_int {
            return Ok(());
        }
        let e = unsafe { &*err };
        let msg = if e.message.is_null() {
            "unknown error".into()
        } else {
            unsafe { std::ffi::CStr::from_ptr(e.message) }.to_string_lossy()
        };
        let kind = if e.level == virErrorLevel::VIR_ERR_WARNING {
            "warning"
        } else {
            "error"
        };
        eprintln!(
            "libvirt: {} {kind} : {msg}",
            super::codes::domain_name(e.domain)
        );
        Ok(())
    })
}

export_symbols!();
