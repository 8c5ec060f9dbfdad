//! libvirt's lock-driver plugin ABI (`lock_driver.h`), declared here so that the plugin
//! does not depend on the virtcore crate. Layouts and values are DESIGN.md §3's table;
//! the unit tests below pin the offsets.
#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_char, c_double, c_int, c_longlong, c_uint, c_ulonglong, c_void};

/// major × 1,000,000 + minor × 1,000 + micro (1.0.0).
pub const VIR_LOCK_MANAGER_VERSION: c_uint = 1_000_000;

pub const VIR_LOCK_MANAGER_USES_STATE: c_uint = 1;

pub const VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN: c_uint = 0;

pub const VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK: c_uint = 0;
pub const VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE: c_uint = 1;

pub const VIR_LOCK_MANAGER_RESOURCE_READONLY: c_uint = 1;
pub const VIR_LOCK_MANAGER_RESOURCE_SHARED: c_uint = 2;

pub const VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY: c_uint = 1;
pub const VIR_LOCK_MANAGER_ACQUIRE_RESTRICT: c_uint = 2;

pub const VIR_LOCK_MANAGER_NEW_STARTED: c_uint = 1;

pub const VIR_LOCK_MANAGER_PARAM_TYPE_STRING: c_int = 0;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING: c_int = 1;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_INT: c_int = 2;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_LONG: c_int = 3;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_UINT: c_int = 4;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_ULONG: c_int = 5;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_DOUBLE: c_int = 6;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_UUID: c_int = 7;

/// `virDomainLockFailureAction` (an `int` enum in C; any value is accepted and ignored:
/// an fcntl lock cannot be lost while its process lives).
pub type virDomainLockFailureAction = c_int;

#[repr(C)]
#[derive(Clone, Copy)]
pub union virLockManagerParamValue {
    pub iv: c_int,
    pub l: c_longlong,
    pub ui: c_uint,
    pub ul: c_ulonglong,
    pub d: c_double,
    pub str_: *mut c_char,
    pub cstr: *const c_char,
    pub uuid: [u8; 16],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct virLockManagerParam {
    pub type_: c_int,
    pub key: *const c_char,
    pub value: virLockManagerParamValue,
}

#[repr(C)]
pub struct virLockManager {
    pub driver: *mut virLockDriver,
    pub privateData: *mut c_void,
}

pub type virLockDriverInit = unsafe extern "C" fn(c_uint, *const c_char, c_uint) -> c_int;
pub type virLockDriverDeinit = unsafe extern "C" fn() -> c_int;
pub type virLockDriverNew = unsafe extern "C" fn(
    *mut virLockManager,
    c_uint,
    usize,
    *mut virLockManagerParam,
    c_uint,
) -> c_int;
pub type virLockDriverFree = unsafe extern "C" fn(*mut virLockManager);
pub type virLockDriverAddResource = unsafe extern "C" fn(
    *mut virLockManager,
    c_uint,
    *const c_char,
    usize,
    *mut virLockManagerParam,
    c_uint,
) -> c_int;
pub type virLockDriverAcquire = unsafe extern "C" fn(
    *mut virLockManager,
    *const c_char,
    c_uint,
    virDomainLockFailureAction,
    *mut c_int,
) -> c_int;
pub type virLockDriverRelease =
    unsafe extern "C" fn(*mut virLockManager, *mut *mut c_char, c_uint) -> c_int;
pub type virLockDriverInquire =
    unsafe extern "C" fn(*mut virLockManager, *mut *mut c_char, c_uint) -> c_int;

#[repr(C)]
pub struct virLockDriver {
    pub version: c_uint,
    pub flags: c_uint,
    pub drvInit: Option<virLockDriverInit>,
    pub drvDeinit: Option<virLockDriverDeinit>,
    pub drvNew: Option<virLockDriverNew>,
    pub drvFree: Option<virLockDriverFree>,
    pub drvAddResource: Option<virLockDriverAddResource>,
    pub drvAcquire: Option<virLockDriverAcquire>,
    pub drvRelease: Option<virLockDriverRelease>,
    pub drvInquire: Option<virLockDriverInquire>,
}

// The table is immutable and only holds function pointers: safe to share.
unsafe impl Sync for virLockDriver {}

/// libvirt's error numbers and domain used by this driver (values of `virterror.h`).
pub mod err {
    pub const VIR_FROM_LOCKING: i32 = 42;
    pub const VIR_ERR_INTERNAL_ERROR: i32 = 1;
    pub const VIR_ERR_NO_MEMORY: i32 = 2;
    pub const VIR_ERR_INVALID_ARG: i32 = 8;
    pub const VIR_ERR_CONF_SYNTAX: i32 = 33;
    pub const VIR_ERR_SYSTEM_ERROR: i32 = 38;
    pub const VIR_ERR_OPERATION_INVALID: i32 = 55;
    pub const VIR_ERR_CONFIG_UNSUPPORTED: i32 = 67;
    pub const VIR_ERR_RESOURCE_BUSY: i32 = 87;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_libvirt() {
        assert_eq!(size_of::<virLockDriver>(), 72);
        assert_eq!(offset_of!(virLockDriver, flags), 4);
        assert_eq!(offset_of!(virLockDriver, drvInit), 8);
        assert_eq!(offset_of!(virLockDriver, drvDeinit), 16);
        assert_eq!(offset_of!(virLockDriver, drvNew), 24);
        assert_eq!(offset_of!(virLockDriver, drvFree), 32);
        assert_eq!(offset_of!(virLockDriver, drvAddResource), 40);
        assert_eq!(offset_of!(virLockDriver, drvAcquire), 48);
        assert_eq!(offset_of!(virLockDriver, drvRelease), 56);
        assert_eq!(offset_of!(virLockDriver, drvInquire), 64);
        assert_eq!(size_of::<virLockManager>(), 16);
        assert_eq!(offset_of!(virLockManager, privateData), 8);
        assert_eq!(size_of::<virLockManagerParam>(), 32);
        assert_eq!(offset_of!(virLockManagerParam, key), 8);
        assert_eq!(offset_of!(virLockManagerParam, value), 16);
    }
}
