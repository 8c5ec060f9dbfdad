//! Raising errors from C: the Rust half of `virReportErrorHelper` (the variadic half is
//! `csrc/report.c`, since stable Rust cannot define a variadic function).

use std::ffi::{c_char, c_int, CStr};

use super::{virErrorDomain, virErrorNumber, Error};

/// Maps a raw `int` from C to the enum, or `None` when libvirt has no such value.
fn domain_from_raw(v: c_int) -> Option<virErrorDomain> {
    (0..=virErrorDomain::VIR_FROM_CH as c_int)
        .contains(&v)
        // SAFETY: the enum is contiguous from 0 to VIR_FROM_CH (checked by a test).
        .then(|| unsafe { std::mem::transmute::<c_int, virErrorDomain>(v) })
}

fn code_from_raw(v: c_int) -> Option<virErrorNumber> {
    (0..=virErrorNumber::VIR_ERR_MULTIPLE_DOMAINS as c_int)
        .contains(&v)
        // SAFETY: the enum is contiguous from 0 to VIR_ERR_MULTIPLE_DOMAINS (checked by a test).
        .then(|| unsafe { std::mem::transmute::<c_int, virErrorNumber>(v) })
}

/// Rebuilds an [`Error`] from raw C values with a complete message (e.g. a thread's last
/// error carried to another thread). Unknown values become `VIR_ERR_INTERNAL_ERROR` /
/// `VIR_FROM_NONE`.
pub fn error_from_raw(domcode: c_int, errorcode: c_int, full_message: String) -> Error {
    Error::verbatim(
        domain_from_raw(domcode).unwrap_or(virErrorDomain::VIR_FROM_NONE),
        code_from_raw(errorcode).unwrap_or(virErrorNumber::VIR_ERR_INTERNAL_ERROR),
        full_message,
    )
}

/// Called by `virReportErrorHelper` with the already formatted message (may be NULL).
/// Out-of-range codes and domains are kept out of the enums: they become an internal
/// error that says what was passed, rather than undefined behaviour.
#[no_mangle]
pub unsafe extern "C" fn virtcore_report_formatted(
    domcode: c_int,
    errorcode: c_int,
    filename: *const c_char,
    funcname: *const c_char,
    linenr: usize,
    message: *const c_char,
) {
    crate::ffi::call_void(
        virErrorDomain::VIR_FROM_NONE,
        "virReportErrorHelper",
        |_| {
            let text = |p: *const c_char| {
                (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
            };
            let msg = text(message).unwrap_or_default();
            if let (Some(file), Some(func)) = (text(filename), text(funcname)) {
                log_debug!("error raised at {file}:{linenr} in {func}");
            }
            let err = match (domain_from_raw(domcode), code_from_raw(errorcode)) {
                (Some(d), Some(c)) => Error::new(d, c, msg),
                _ => Error::new(
                    domain_from_raw(domcode).unwrap_or(virErrorDomain::VIR_FROM_NONE),
                    virErrorNumber::VIR_ERR_INTERNAL_ERROR,
                    format!("unknown error code {errorcode} / domain {domcode} reported: {msg}"),
                ),
            };
            err.report();
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_contiguous() {
        for v in 0..=virErrorDomain::VIR_FROM_CH as c_int {
            assert_eq!(domain_from_raw(v).unwrap() as c_int, v);
        }
        for v in 0..=virErrorNumber::VIR_ERR_MULTIPLE_DOMAINS as c_int {
            assert_eq!(code_from_raw(v).unwrap() as c_int, v);
        }
        assert!(domain_from_raw(-1).is_none());
        assert!(code_from_raw(111).is_none());
    }
}
