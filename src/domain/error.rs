//! The domain subsystem's errors, converted into libvirt's (`VIR_FROM_DOMAIN`) at the edge.

use crate::error::{virErrorDomain, virErrorNumber, Error};

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Bad domain XML (`VIR_ERR_XML_ERROR`).
    #[error("{0}")]
    Xml(String),
    /// A bad argument or field value (`VIR_ERR_INVALID_ARG`).
    #[error("{0}")]
    InvalidArg(String),
    /// A UUID or name conflict (`VIR_ERR_OPERATION_FAILED`).
    #[error("{0}")]
    OperationFailed(String),
    /// Not possible in the domain's state (`VIR_ERR_OPERATION_INVALID`).
    #[error("{0}")]
    OperationInvalid(String),
    /// A config file could not be written (`VIR_ERR_WRITE_FAILED`).
    #[error("{0}")]
    WriteFailed(String),
    /// A system call failed (`VIR_ERR_SYSTEM_ERROR`).
    #[error("{what}: {source}")]
    System {
        what: String,
        source: std::io::Error,
    },
    /// Anything else (`VIR_ERR_INTERNAL_ERROR`).
    #[error("{0}")]
    Internal(String),
}

impl DomainError {
    fn code(&self) -> virErrorNumber {
        use virErrorNumber::*;
        match self {
            DomainError::Xml(_) => VIR_ERR_XML_ERROR,
            DomainError::InvalidArg(_) => VIR_ERR_INVALID_ARG,
            DomainError::OperationFailed(_) => VIR_ERR_OPERATION_FAILED,
            DomainError::OperationInvalid(_) => VIR_ERR_OPERATION_INVALID,
            DomainError::WriteFailed(_) => VIR_ERR_WRITE_FAILED,
            DomainError::System { .. } => VIR_ERR_SYSTEM_ERROR,
            DomainError::Internal(_) => VIR_ERR_INTERNAL_ERROR,
        }
    }
}

impl From<DomainError> for Error {
    fn from(e: DomainError) -> Error {
        Error::new(virErrorDomain::VIR_FROM_DOMAIN, e.code(), e.to_string())
    }
}

/// Shorthands used throughout the subsystem.
pub(crate) fn xml_err(msg: impl Into<String>) -> Error {
    DomainError::Xml(msg.into()).into()
}
pub(crate) fn arg_err(msg: impl Into<String>) -> Error {
    DomainError::InvalidArg(msg.into()).into()
}
pub(crate) fn failed(msg: impl Into<String>) -> Error {
    DomainError::OperationFailed(msg.into()).into()
}
pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    DomainError::OperationInvalid(msg.into()).into()
}
pub(crate) fn internal(msg: impl Into<String>) -> Error {
    DomainError::Internal(msg.into()).into()
}
pub(crate) fn write_failed(msg: impl Into<String>) -> Error {
    DomainError::WriteFailed(msg.into()).into()
}
pub(crate) fn sys_err(what: impl Into<String>, source: std::io::Error) -> Error {
    DomainError::System {
        what: what.into(),
        source,
    }
    .into()
}
