//! The lock-driver plugin ABI, binary-identical to libvirt 9.0's `lock_driver.h`
//! (x86-64 layouts; checked here, by virtcore's `tests/locking_abi.rs` against clang's
//! layout of the generated header, and by `c-tests/test_lock_abi.c`).
//!
//! The one definition of these types: virtcore's loader (`src/locking`) and the
//! `lockspace` plugin both use this crate, which depends on nothing, so the plugin still
//! links nothing of virtcore. virtcore's `build.rs` hands this file to cbindgen, so the
//! doc comments below are also the header's.
//!
//! Values C may write (flags, types, actions) are plain `c_int`/`c_uint` with `pub const`s,
//! never Rust enums: a plugin or caller passing an out-of-range value must not be undefined
//! behaviour on the Rust side.
#![cfg_attr(not(test), no_std)]
#![allow(non_camel_case_types, non_snake_case)]

use core::ffi::{c_char, c_int, c_longlong, c_uchar, c_uint, c_ulonglong, c_void};

/// Plugin ABI major version this library speaks (a plugin's `version / 1000000`).
pub const VIR_LOCK_MANAGER_VERSION_MAJOR: c_uint = 1;
pub const VIR_LOCK_MANAGER_VERSION_MINOR: c_uint = 0;
pub const VIR_LOCK_MANAGER_VERSION_MICRO: c_uint = 0;
/// major × 1,000,000 + minor × 1,000 + micro, passed to every plugin's `drvInit`.
pub const VIR_LOCK_MANAGER_VERSION: c_uint = 1000000;

/// `virLockManagerFlags` (in `virLockDriver.flags`): the driver passes lock state strings.
pub const VIR_LOCK_MANAGER_USES_STATE: c_uint = 1;

/// `virLockManagerObjectType`: the managed object is a guest domain.
pub const VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN: c_uint = 0;

/// `virLockManagerResourceType`: a disk (name = its path).
pub const VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK: c_uint = 0;
/// `virLockManagerResourceType`: a lease (params `path`, `lockspace`, `offset`).
pub const VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE: c_uint = 1;

/// `virLockManagerResourceFlags`: read-only use.
pub const VIR_LOCK_MANAGER_RESOURCE_READONLY: c_uint = 1;
/// `virLockManagerResourceFlags`: shared, writable use.
pub const VIR_LOCK_MANAGER_RESOURCE_SHARED: c_uint = 2;

/// `virLockManagerAcquireFlags`: only register the owner pid, take no locks.
pub const VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY: c_uint = 1;
/// `virLockManagerAcquireFlags`: forbid further lock calls from this process.
pub const VIR_LOCK_MANAGER_ACQUIRE_RESTRICT: c_uint = 2;

/// `virLockManagerNewFlags`: the domain was just started.
pub const VIR_LOCK_MANAGER_NEW_STARTED: c_uint = 1;

/// `virLockManagerParam.type` values.
pub const VIR_LOCK_MANAGER_PARAM_TYPE_STRING: c_int = 0;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING: c_int = 1;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_INT: c_int = 2;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_LONG: c_int = 3;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_UINT: c_int = 4;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_ULONG: c_int = 5;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_DOUBLE: c_int = 6;
pub const VIR_LOCK_MANAGER_PARAM_TYPE_UUID: c_int = 7;

/// What a lock driver does when a guest loses its lock (libvirt's
/// `virDomainLockFailureAction`, an `int`-sized enum).
pub type virDomainLockFailureAction = c_int;
pub const VIR_DOMAIN_LOCK_FAILURE_DEFAULT: virDomainLockFailureAction = 0;
pub const VIR_DOMAIN_LOCK_FAILURE_POWEROFF: virDomainLockFailureAction = 1;
pub const VIR_DOMAIN_LOCK_FAILURE_RESTART: virDomainLockFailureAction = 2;
pub const VIR_DOMAIN_LOCK_FAILURE_PAUSE: virDomainLockFailureAction = 3;
pub const VIR_DOMAIN_LOCK_FAILURE_IGNORE: virDomainLockFailureAction = 4;
/// One past the last action (libvirt's `VIR_DOMAIN_LOCK_FAILURE_LAST`).
pub const VIR_DOMAIN_LOCK_FAILURE_LAST: virDomainLockFailureAction = 5;

/// The value of a [`virLockManagerParam`], selected by its `type`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union virLockManagerParamValue {
    pub iv: c_int,
    pub l: c_longlong,
    pub ui: c_uint,
    pub ul: c_ulonglong,
    pub d: f64,
    pub str: *mut c_char,
    pub cstr: *const c_char,
    pub uuid: [c_uchar; 16],
}

/// A typed key/value passed to `drvNew` and `drvAddResource` (libvirt's layout: 32 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct virLockManagerParam {
    /// One of `VIR_LOCK_MANAGER_PARAM_TYPE_*`.
    pub r#type: c_int,
    pub key: *const c_char,
    pub value: virLockManagerParamValue,
}

/// One lock context (one guest), shared between the library and the plugin: the plugin
/// keeps its own state in `privateData` (set by its `drvNew`, freed by its `drvFree`).
#[repr(C)]
pub struct virLockManager {
    pub driver: *mut virLockDriver,
    pub privateData: *mut c_void,
}

/// `drvInit(version, configFile, flags)`: -1 refuses the requested version or flags.
pub type virLockDriverInit = Option<
    unsafe extern "C" fn(version: c_uint, configFile: *const c_char, flags: c_uint) -> c_int,
>;
/// `drvDeinit()`: -1 keeps the plugin loaded.
pub type virLockDriverDeinit = Option<unsafe extern "C" fn() -> c_int>;
/// `drvNew(man, type, nparams, params, flags)`.
pub type virLockDriverNew = Option<
    unsafe extern "C" fn(
        man: *mut virLockManager,
        r#type: c_uint,
        nparams: usize,
        params: *mut virLockManagerParam,
        flags: c_uint,
    ) -> c_int,
>;
/// `drvFree(man)`: releases `man->privateData`.
pub type virLockDriverFree = Option<unsafe extern "C" fn(man: *mut virLockManager)>;
/// `drvAddResource(man, type, name, nparams, params, flags)`.
pub type virLockDriverAddResource = Option<
    unsafe extern "C" fn(
        man: *mut virLockManager,
        r#type: c_uint,
        name: *const c_char,
        nparams: usize,
        params: *mut virLockManagerParam,
        flags: c_uint,
    ) -> c_int,
>;
/// `drvAcquire(man, state, flags, action, fd)`.
pub type virLockDriverAcquire = Option<
    unsafe extern "C" fn(
        man: *mut virLockManager,
        state: *const c_char,
        flags: c_uint,
        action: virDomainLockFailureAction,
        fd: *mut c_int,
    ) -> c_int,
>;
/// `drvRelease(man, state, flags)`: `*state` may receive a malloc'd state string.
pub type virLockDriverRelease = Option<
    unsafe extern "C" fn(man: *mut virLockManager, state: *mut *mut c_char, flags: c_uint) -> c_int,
>;
/// `drvInquire(man, state, flags)`: `*state` may receive a malloc'd state string.
pub type virLockDriverInquire = Option<
    unsafe extern "C" fn(man: *mut virLockManager, state: *mut *mut c_char, flags: c_uint) -> c_int,
>;

/// The table a plugin exports as the data symbol `virLockDriverImpl` (72 bytes).
#[repr(C)]
pub struct virLockDriver {
    /// Newest plugin ABI version the plugin implements (`VIR_LOCK_MANAGER_VERSION` style).
    pub version: c_uint,
    /// `VIR_LOCK_MANAGER_USES_STATE` or 0.
    pub flags: c_uint,
    pub drvInit: virLockDriverInit,
    pub drvDeinit: virLockDriverDeinit,
    pub drvNew: virLockDriverNew,
    pub drvFree: virLockDriverFree,
    pub drvAddResource: virLockDriverAddResource,
    pub drvAcquire: virLockDriverAcquire,
    pub drvRelease: virLockDriverRelease,
    pub drvInquire: virLockDriverInquire,
}

// The table is immutable and only holds function pointers: safe to share in a `static`
// (a plugin's `virLockDriverImpl`).
unsafe impl Sync for virLockDriver {}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

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
        assert_eq!(size_of::<virLockManagerParamValue>(), 16);
    }
}
