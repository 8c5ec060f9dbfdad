//! Errors of the lock manager, one variant per failure level, each naming what failed.

use std::ffi::c_int;

use crate::error::{virErrorDomain, virErrorNumber, Error};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "invalid lock manager plugin name '{0}': only letters, digits, '_' and '-' are allowed"
    )]
    BadName(String),
    #[error("lock manager plugin '{name}' not found: {path} does not exist")]
    NotFound { name: String, path: String },
    #[error("lock manager plugin {path} not accessible: {reason}")]
    NotAccessible { path: String, reason: String },
    #[error("failed to load lock manager plugin {path}: {reason}")]
    NotLoadable { path: String, reason: String },
    #[error("lock manager plugin {path} has no initialization symbol 'virLockDriverImpl'")]
    NoSymbol { path: String },
    #[error(
        "lock manager plugin {path} implements plugin ABI version {version} \
         (major {major}); this library supports major version 1"
    )]
    BadVersion {
        path: String,
        version: u32,
        major: u32,
    },
    #[error("lock manager plugin {path} has no '{callback}' callback, which is mandatory")]
    MissingMandatory {
        path: String,
        callback: &'static str,
    },
    #[error("lock manager plugin {path} refused to initialize (drvInit with config file {config}){detail}")]
    InitRefused {
        path: String,
        config: String,
        detail: String,
    },
    #[error("lock manager {what} has no '{callback}' callback")]
    MissingCallback {
        what: String,
        callback: &'static str,
    },
    #[error("lock manager {what}: {callback} failed without reporting an error")]
    CallbackFailed {
        what: String,
        callback: &'static str,
    },
}

impl LockError {
    fn code(&self) -> virErrorNumber {
        use virErrorNumber::*;
        match self {
            LockError::BadName(_) => VIR_ERR_INVALID_ARG,
            LockError::NotFound { .. }
            | LockError::NotAccessible { .. }
            | LockError::NotLoadable { .. } => VIR_ERR_SYSTEM_ERROR,
            LockError::BadVersion { .. } => VIR_ERR_CONFIG_UNSUPPORTED,
            LockError::InitRefused { .. } => VIR_ERR_OPERATION_FAILED,
            _ => VIR_ERR_INTERNAL_ERROR,
        }
    }
}

impl From<LockError> for Error {
    fn from(e: LockError) -> Error {
        Error::new(virErrorDomain::VIR_FROM_LOCKING, e.code(), e.to_string())
    }
}

/// An error some plugin reported (into virtcore's or libvirt's last error), rebuilt so that
/// reporting it again shows exactly the same message: the code's standard prefix (which
/// the stored message already carries) is taken off.
pub(crate) fn reported_error(code: c_int, domain: c_int, message: &str) -> Error {
    let code = code_from_raw(code).unwrap_or(virErrorNumber::VIR_ERR_INTERNAL_ERROR);
    let domain = domain_from_raw(domain).unwrap_or(virErrorDomain::VIR_FROM_LOCKING);
    let probe = Error::new(domain, code, "\u{1}").full_message();
    let detail = match probe.split_once('\u{1}') {
        Some((pre, post)) if !pre.is_empty() || !post.is_empty() => message
            .strip_prefix(pre)
            .and_then(|m| m.strip_suffix(post))
            .unwrap_or(message),
        _ => message,
    };
    Error::new(domain, code, detail)
}

fn code_from_raw(v: c_int) -> Option<virErrorNumber> {
    (0..=virErrorNumber::VIR_ERR_MULTIPLE_DOMAINS as c_int)
        .contains(&v)
        // SAFETY: the enum is contiguous from 0 (checked by crate::error's tests).
        .then(|| unsafe { std::mem::transmute::<c_int, virErrorNumber>(v) })
}

fn domain_from_raw(v: c_int) -> Option<virErrorDomain> {
    (0..=virErrorDomain::VIR_FROM_CH as c_int)
        .contains(&v)
        // SAFETY: as above.
        .then(|| unsafe { std::mem::transmute::<c_int, virErrorDomain>(v) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_errors_keep_their_text() {
        let e = reported_error(87, 42, "resource busy: disk '/x' is held by guest 'a'");
        assert_eq!(e.code, virErrorNumber::VIR_ERR_RESOURCE_BUSY);
        assert_eq!(
            e.full_message(),
            "resource busy: disk '/x' is held by guest 'a'"
        );
        let e = reported_error(1, 42, "plain text without the prefix");
        assert_eq!(
            e.full_message(),
            "internal error: plain text without the prefix"
        );
        let e = reported_error(9999, 9999, "odd");
        assert_eq!(e.code, virErrorNumber::VIR_ERR_INTERNAL_ERROR);
    }
}
