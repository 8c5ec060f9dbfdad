//! The built-in `nop` lock driver (libvirt's `lock_driver_nop.c`): accepts everything,
//! locks nothing. Used when no locking is configured.

use std::ffi::{c_char, c_int, c_uint};

use super::abi::*;

unsafe extern "C" fn nop_init(version: c_uint, config: *const c_char, flags: c_uint) -> c_int {
    let config = if config.is_null() {
        "(null)".into()
    } else {
        std::ffi::CStr::from_ptr(config).to_string_lossy()
    };
    log_debug!("nop drvInit version={version} configFile={config} flags=0x{flags:x}");
    0
}

unsafe extern "C" fn nop_deinit() -> c_int {
    0
}

unsafe extern "C" fn nop_new(
    _man: *mut virLockManager,
    _type: c_uint,
    _nparams: usize,
    _params: *mut virLockManagerParam,
    _flags: c_uint,
) -> c_int {
    0
}

unsafe extern "C" fn nop_add_resource(
    _man: *mut virLockManager,
    _type: c_uint,
    _name: *const c_char,
    _nparams: usize,
    _params: *mut virLockManagerParam,
    _flags: c_uint,
) -> c_int {
    0
}

unsafe extern "C" fn nop_acquire(
    _man: *mut virLockManager,
    _state: *const c_char,
    _flags: c_uint,
    _action: virDomainLockFailureAction,
    _fd: *mut c_int,
) -> c_int {
    0
}

unsafe extern "C" fn nop_release(
    _man: *mut virLockManager,
    state: *mut *mut c_char,
    _flags: c_uint,
) -> c_int {
    if !state.is_null() {
        *state = std::ptr::null_mut();
    }
    0
}

unsafe extern "C" fn nop_inquire(
    _man: *mut virLockManager,
    state: *mut *mut c_char,
    _flags: c_uint,
) -> c_int {
    if !state.is_null() {
        *state = std::ptr::null_mut();
    }
    0
}

unsafe extern "C" fn nop_free(_man: *mut virLockManager) {}

pub static NOP_DRIVER: virLockDriver = virLockDriver {
    version: VIR_LOCK_MANAGER_VERSION,
    flags: 0,
    drvInit: Some(nop_init),
    drvDeinit: Some(nop_deinit),
    drvNew: Some(nop_new),
    drvFree: Some(nop_free),
    drvAddResource: Some(nop_add_resource),
    drvAcquire: Some(nop_acquire),
    drvRelease: Some(nop_release),
    drvInquire: Some(nop_inquire),
};
