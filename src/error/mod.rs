//! Errors: libvirt's public error model.
//!
//! Inside the library, subsystems return `thiserror` enums that convert into [`Error`]
//! (a libvirt domain, code and message). At the C edge, [`crate::ffi::call`] stores it as
//! the calling thread's last error, a `virError` laid out exactly like libvirt's, which
//! C code reads with `virGetLastError()` and friends (see `ffi.rs`).

mod codes;
mod ffi;
mod last;
pub(crate) mod report;

pub use codes::{virErrorDomain, virErrorLevel, virErrorNumber};
pub use ffi::{
    virConnect, virConnectPtr, virDomain, virDomainPtr, virError, virErrorFunc, virErrorPtr,
    virNetwork, virNetworkPtr,
};
pub use last::{last_error, reset_last_error};
pub use report::error_from_raw;

use virErrorNumber::*;

/// One error: where it comes from, libvirt's code for it, and a message that names the
/// object that failed. The message is stored with libvirt's prefix for the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub domain: virErrorDomain,
    pub code: virErrorNumber,
    pub level: virErrorLevel,
    pub message: String,
    /// False when `message` is already complete and must not get the code's text around it
    /// (e.g. an error wrapped around another error's full message).
    pub decorate: bool,
}

impl Error {
    pub fn new(domain: virErrorDomain, code: virErrorNumber, message: impl Into<String>) -> Self {
        Error {
            domain,
            code,
            level: virErrorLevel::VIR_ERR_ERROR,
            message: message.into(),
            decorate: true,
        }
    }

    /// An error whose message is used exactly as given (no code text added).
    pub fn verbatim(
        domain: virErrorDomain,
        code: virErrorNumber,
        message: impl Into<String>,
    ) -> Self {
        Error {
            decorate: false,
            ..Error::new(domain, code, message)
        }
    }

    /// The message as libvirt shows it: the code's standard text around the detail.
    pub fn full_message(&self) -> String {
        let Some((bare, with_info)) = code_text(self.code).filter(|_| self.decorate) else {
            return self.message.clone();
        };
        if self.message.is_empty() {
            bare.to_string()
        } else {
            with_info.replacen("%s", &self.message, 1)
        }
    }

    /// Makes this the calling thread's last error (and logs it at error priority).
    pub fn report(self) {
        last::set_last_error(self);
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.full_message())
    }
}

impl std::error::Error for Error {}

/// libvirt's standard text for the codes this library raises (`virErrorMsgStrings` in
/// libvirt's `virerror.c`): the text without detail, and the one around a detail.
fn code_text(code: virErrorNumber) -> Option<(&'static str, &'static str)> {
    Some(match code {
        VIR_ERR_INTERNAL_ERROR => ("internal error", "internal error: %s"),
        VIR_ERR_NO_MEMORY => ("out of memory", "out of memory: %s"),
        VIR_ERR_NO_SUPPORT => (
            "this function is not supported by the connection driver",
            "this function is not supported by the connection driver: %s",
        ),
        VIR_ERR_INVALID_ARG => ("invalid argument", "invalid argument: %s"),
        VIR_ERR_OPERATION_FAILED => ("operation failed", "operation failed: %s"),
        VIR_ERR_XML_ERROR => (
            "XML description is invalid or not well formed",
            "XML error: %s",
        ),
        VIR_ERR_DOM_EXIST => ("this domain exists already", "domain %s exists already"),
        VIR_ERR_OPERATION_DENIED => (
            "operation forbidden for read only access",
            "operation forbidden: %s",
        ),
        VIR_ERR_NO_DOMAIN => ("Domain not found", "Domain not found: %s"),
        VIR_ERR_OPERATION_INVALID => (
            "Requested operation is not valid",
            "Requested operation is not valid: %s",
        ),
        VIR_ERR_CONFIG_UNSUPPORTED => {
            ("unsupported configuration", "unsupported configuration: %s")
        }
        VIR_ERR_OPERATION_TIMEOUT => (
            "Timed out during operation",
            "Timed out during operation: %s",
        ),
        VIR_ERR_ARGUMENT_UNSUPPORTED => ("argument unsupported", "argument unsupported: %s"),
        VIR_ERR_OPERATION_UNSUPPORTED => ("Operation not supported", "Operation not supported: %s"),
        VIR_ERR_RESOURCE_BUSY => ("resource busy", "resource busy: %s"),
        VIR_ERR_WRITE_FAILED => (
            "failed to write configuration file",
            "failed to write configuration file: %s",
        ),
        VIR_ERR_CONF_SYNTAX => (
            "configuration file syntax error",
            "configuration file syntax error: %s",
        ),
        VIR_ERR_INVALID_DOMAIN => ("invalid domain pointer in", "invalid domain pointer in %s"),
        VIR_ERR_DEVICE_MISSING => ("device not found", "device not found: %s"),
        VIR_ERR_MULTIPLE_DOMAINS => (
            "more than one matching domain found",
            "more than one matching domain found: %s",
        ),
        _ => return None,
    })
}
