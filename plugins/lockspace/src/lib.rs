//! `lockspace`: virtcore's daemonless lock driver, a plugin with libvirt's lock-driver
//! ABI (`virLockDriverImpl`). Each resource is an `fcntl` open-file-description lock on a
//! lease file in a lockspace directory (named by the SHA-256 of the canonical disk path),
//! held by an open file of the guest's own process (`drvNew`'s `pid`), whichever process
//! asked (see `guest.rs`): it lasts until released or until the guest exits, so a crashed
//! guest frees its disks and a daemon restart keeps them.
//!
//! This file is the C edge: each callback validates its arguments, runs the driver
//! code behind a panic boundary and turns errors into libvirt errors.

pub mod abi;
pub mod cache;
pub mod conf;
pub mod error;
pub mod gc;
pub mod guest;
pub mod handover;
pub mod ids;
pub mod input;
pub mod lease;
pub mod leasedir;
pub mod mailbox;
pub mod manager;
pub mod naming;
pub mod record;
pub mod state;
pub mod trust;

use std::ffi::{c_char, c_int, c_uint, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use abi::*;
use error::{Error, Result};
use manager::Manager;

/// Runs a callback body: panics and errors become a reported error and -1.
fn guard(func: &str, body: impl FnOnce() -> Result<()>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            error::report(func, &e);
            -1
        }
        Err(_) => {
            error::report(
                func,
                &Error::internal(format!("lockspace: {func} panicked")),
            );
            -1
        }
    }
}

/// # Safety
/// `s` is NULL or a C string.
unsafe fn opt_str<'a>(s: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if s.is_null() {
        return Ok(None);
    }
    CStr::from_ptr(s)
        .to_str()
        .map(Some)
        .map_err(|_| Error::invalid_arg(format!("{what} is not valid UTF-8")))
}

/// The manager behind `man`, which must be non-NULL and set up by `drvNew`.
///
/// # Safety
/// `man` is NULL or a `virLockManager` whose privateData is NULL or ours.
unsafe fn manager<'a>(man: *mut virLockManager, func: &str) -> Result<&'a mut Manager> {
    if man.is_null() {
        return Err(Error::invalid_arg(format!(
            "{func}: lock manager 'man' is NULL"
        )));
    }
    let p = (*man).privateData as *mut Manager;
    if p.is_null() {
        return Err(Error::invalid_arg(format!(
            "{func}: lock manager has no lockspace data (drvNew not called or failed)"
        )));
    }
    Ok(&mut *p)
}

/// Hands a state string to C (malloc'ed, freed by the caller with free()).
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn put_state(out: *mut *mut c_char, state: Option<String>) -> Result<()> {
    if out.is_null() {
        return Ok(());
    }
    *out = std::ptr::null_mut();
    if let Some(s) = state {
        let c = std::ffi::CString::new(s).map_err(|_| Error::internal("state contains NUL"))?;
        let p = libc::strdup(c.as_ptr());
        if p.is_null() {
            return Err(Error::new(
                abi::err::VIR_ERR_NO_MEMORY,
                "out of memory for the lock state",
            ));
        }
        *out = p;
    }
    Ok(())
}

unsafe extern "C" fn drv_init(version: c_uint, config_file: *const c_char, flags: c_uint) -> c_int {
    guard("virLockManagerLockspaceInit", || {
        let file = opt_str(config_file, "configFile")?;
        manager::init(version, file.map(Path::new), flags)
    })
}

unsafe extern "C" fn drv_deinit() -> c_int {
    let mut refused = false;
    let rc = guard("virLockManagerLockspaceDeinit", || {
        refused = !manager::deinit();
        Ok(())
    });
    // A refusal is not an error: it asks the loader to keep the plugin in memory.
    if refused {
        -1
    } else {
        rc
    }
}

unsafe extern "C" fn drv_new(
    man: *mut virLockManager,
    obj_type: c_uint,
    nparams: usize,
    params: *mut virLockManagerParam,
    flags: c_uint,
) -> c_int {
    guard("virLockManagerLockspaceNew", || {
        if man.is_null() {
            return Err(Error::invalid_arg("drvNew: lock manager 'man' is NULL"));
        }
        let m = Manager::new(obj_type, nparams, params, flags)?;
        (*man).privateData = Box::into_raw(Box::new(m)).cast();
        Ok(())
    })
}

unsafe extern "C" fn drv_free(man: *mut virLockManager) {
    guard("virLockManagerLockspaceFree", || {
        if man.is_null() {
            return Ok(());
        }
        let p = (*man).privateData as *mut Manager;
        (*man).privateData = std::ptr::null_mut();
        if !p.is_null() {
            // Held locks stay with the process (see manager.rs); only the description goes.
            drop(Box::from_raw(p));
        }
        Ok(())
    });
}

unsafe extern "C" fn drv_add_resource(
    man: *mut virLockManager,
    res_type: c_uint,
    name: *const c_char,
    nparams: usize,
    params: *mut virLockManagerParam,
    flags: c_uint,
) -> c_int {
    guard("virLockManagerLockspaceAddResource", || {
        let m = manager(man, "drvAddResource")?;
        let name = opt_str(name, "resource name")?
            .ok_or_else(|| Error::invalid_arg("drvAddResource: resource name is NULL"))?;
        m.add_resource(res_type, name, nparams, params, flags)
    })
}

unsafe extern "C" fn drv_acquire(
    man: *mut virLockManager,
    state: *const c_char,
    flags: c_uint,
    _action: virDomainLockFailureAction,
    fd: *mut c_int,
) -> c_int {
    guard("virLockManagerLockspaceAcquire", || {
        if !fd.is_null() {
            // No descriptor to leak: the locks live in this process's lease files.
            *fd = -1;
        }
        let m = manager(man, "drvAcquire")?;
        let state = opt_str(state, "lock state")?;
        m.acquire(state, flags)
    })
}

unsafe extern "C" fn drv_release(
    man: *mut virLockManager,
    state: *mut *mut c_char,
    flags: c_uint,
) -> c_int {
    guard("virLockManagerLockspaceRelease", || {
        if !state.is_null() {
            *state = std::ptr::null_mut();
        }
        let m = manager(man, "drvRelease")?;
        let s = m.release(flags)?;
        put_state(state, s)
    })
}

unsafe extern "C" fn drv_inquire(
    man: *mut virLockManager,
    state: *mut *mut c_char,
    flags: c_uint,
) -> c_int {
    guard("virLockManagerLockspaceInquire", || {
        if !state.is_null() {
            *state = std::ptr::null_mut();
        }
        let m = manager(man, "drvInquire")?;
        let s = m.inquire(flags)?;
        put_state(state, s)
    })
}

/// The plugin's entry point, looked up by name by the loader (libvirt's or virtcore's).
#[no_mangle]
pub static virLockDriverImpl: virLockDriver = virLockDriver {
    version: VIR_LOCK_MANAGER_VERSION,
    flags: VIR_LOCK_MANAGER_USES_STATE,
    drvInit: Some(drv_init),
    drvDeinit: Some(drv_deinit),
    drvNew: Some(drv_new),
    drvFree: Some(drv_free),
    drvAddResource: Some(drv_add_resource),
    drvAcquire: Some(drv_acquire),
    drvRelease: Some(drv_release),
    drvInquire: Some(drv_inquire),
};
