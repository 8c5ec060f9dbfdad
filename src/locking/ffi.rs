//! Exported lock-manager functions (libvirt 9's `lock_manager.h` signatures).

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use super::abi::*;
use super::manager::{describe_params, Manager};
use super::plugin::{self, LockPlugin};
use crate::error::{virErrorDomain, Error};
use crate::ffi::{call, call_void, Cx};
use crate::object::{self, Strong};

const DOM: virErrorDomain = virErrorDomain::VIR_FROM_LOCKING;

unsafe fn plugin_arg<'a>(cx: &Cx, p: *mut virLockManagerPlugin) -> Result<&'a LockPlugin, Error> {
    object::checked::<LockPlugin>(cx, p as *const c_void, "plugin")
}

unsafe fn manager_arg<'a>(cx: &Cx, lock: *mut virLockManager) -> Result<&'a mut Manager, Error> {
    cx.non_null(lock, "lock")?;
    Manager::from_c(lock).ok_or_else(|| {
        cx.invalid_arg(format!(
            "lock ({lock:p}) in {} is not a live lock manager",
            cx.func
        ))
    })
}

/// Checks the parameter array a caller passes on to a plugin.
unsafe fn check_params(
    cx: &Cx,
    nparams: usize,
    params: *mut virLockManagerParam,
) -> Result<(), Error> {
    if nparams == 0 {
        return Ok(());
    }
    cx.non_null(params, "params")?;
    for (i, p) in std::slice::from_raw_parts(params, nparams)
        .iter()
        .enumerate()
    {
        if p.key.is_null() {
            return Err(cx.invalid_arg(format!("params[{i}].key in {} must not be NULL", cx.func)));
        }
        if !(VIR_LOCK_MANAGER_PARAM_TYPE_STRING..=VIR_LOCK_MANAGER_PARAM_TYPE_UUID)
            .contains(&p.r#type)
        {
            return Err(cx.invalid_arg(format!(
                "params[{i}] ('{}') in {} has unknown type {}",
                CStr::from_ptr(p.key).to_string_lossy(),
                cx.func,
                p.r#type
            )));
        }
    }
    Ok(())
}

/// Loads lock driver plugin @name (`LOCKDRIVERDIR/NAME.so`, or the built-in `nop`) for
/// the hypervisor driver @driverName and initializes it with the config file
/// `CONFIGDIR/DRIVERNAME-NAME.conf` (which need not exist). @flags must be 0.
/// Returns a new plugin reference (release with `virLockManagerPluginUnref`), or NULL with
/// an error naming the failed step and the plugin's path.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerPluginNew(
    name: *const c_char,
    driverName: *const c_char,
    configDir: *const c_char,
    flags: c_uint,
) -> *mut virLockManagerPlugin {
    call(DOM, "virLockManagerPluginNew", |cx| {
        let name = unsafe { cx.str_arg(name, "name") }?;
        let driver_name = unsafe { cx.str_arg(driverName, "driverName") }?;
        let config_dir = unsafe { cx.str_arg(configDir, "configDir") }?;
        log_debug!(
            "{}: name={name} driverName={driver_name} configDir={config_dir} flags=0x{flags:x}",
            cx.func
        );
        cx.check_flags(flags, 0)?;
        if !plugin::valid_name(driver_name) {
            return Err(cx.invalid_arg(format!(
                "invalid hypervisor driver name '{driver_name}' for lock manager plugin '{name}'"
            )));
        }
        let p = plugin::load(name, driver_name, config_dir, flags)?;
        Ok(p.into_raw() as *mut virLockManagerPlugin)
    })
}

/// Takes one more reference on @plugin.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerPluginRef(plugin: *mut virLockManagerPlugin) {
    call_void(DOM, "virLockManagerPluginRef", |cx| {
        log_debug!("{}: plugin={plugin:p}", cx.func);
        let p = unsafe { plugin_arg(&cx, plugin) }?;
        std::mem::forget(unsafe { Strong::new_ref(p) });
        Ok(())
    })
}

/// Drops a reference; the last one runs the plugin's `drvDeinit` and unloads it (unless
/// `drvDeinit` returns -1: then the plugin stays loaded and a warning is logged). NULL is
/// ignored.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerPluginUnref(plugin: *mut virLockManagerPlugin) {
    call_void(DOM, "virLockManagerPluginUnref", |cx| {
        log_debug!("{}: plugin={plugin:p}", cx.func);
        if plugin.is_null() {
            return Ok(());
        }
        let p = unsafe { plugin_arg(&cx, plugin) }?;
        drop(unsafe { Strong::from_raw(p as *const LockPlugin as *mut LockPlugin) });
        Ok(())
    })
}

/// The plugin's name as given to `virLockManagerPluginNew` (owned by the plugin).
#[no_mangle]
pub unsafe extern "C" fn virLockManagerPluginGetName(
    plugin: *mut virLockManagerPlugin,
) -> *const c_char {
    call(DOM, "virLockManagerPluginGetName", |cx| {
        log_debug!("{}: plugin={plugin:p}", cx.func);
        Ok(unsafe { plugin_arg(&cx, plugin) }?.name().as_ptr())
    })
}

/// Whether the plugin's driver passes lock state strings (`VIR_LOCK_MANAGER_USES_STATE`).
/// false (with an error) for an invalid @plugin.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerPluginUsesState(plugin: *mut virLockManagerPlugin) -> bool {
    call(DOM, "virLockManagerPluginUsesState", |cx| {
        log_debug!("{}: plugin={plugin:p}", cx.func);
        Ok(unsafe { plugin_arg(&cx, plugin) }?.uses_state())
    })
}

/// The plugin's driver table, for `virLockManagerNew`; valid while the plugin is referenced.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerPluginGetDriver(
    plugin: *mut virLockManagerPlugin,
) -> *mut virLockDriver {
    call(DOM, "virLockManagerPluginGetDriver", |cx| {
        log_debug!("{}: plugin={plugin:p}", cx.func);
        Ok(unsafe { plugin_arg(&cx, plugin) }?.driver())
    })
}

/// A lock context for one object of @type (`VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN`, with the
/// domain params `uuid`, `name`, `id`, `pid`, `uri`), created by the driver's `drvNew`.
/// @flags: `VIR_LOCK_MANAGER_NEW_STARTED`. The context keeps its plugin loaded until
/// `virLockManagerFree`.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerNew(
    driver: *mut virLockDriver,
    r#type: c_uint,
    nparams: usize,
    params: *mut virLockManagerParam,
    flags: c_uint,
) -> *mut virLockManager {
    call(DOM, "virLockManagerNew", |cx| {
        log_debug!(
            "{}: driver={driver:p} type={} nparams={nparams} params=[{}] flags=0x{flags:x}",
            cx.func,
            r#type,
            if params.is_null() {
                "NULL".into()
            } else {
                unsafe { describe_params(nparams, params) }
            }
        );
        cx.non_null(driver, "driver")?;
        cx.check_flags(flags, VIR_LOCK_MANAGER_NEW_STARTED)?;
        if r#type != VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN {
            return Err(cx.invalid_arg(format!("unknown lock manager object type {}", r#type)));
        }
        unsafe { check_params(&cx, nparams, params) }?;
        unsafe { Manager::create(driver, r#type, nparams, params, flags) }
    })
}

/// Adds a resource to guard: a disk (@type `VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK`, @name
/// its path) or a lease (`_LEASE`, params `path`, `lockspace`, `offset`). @flags:
/// `VIR_LOCK_MANAGER_RESOURCE_READONLY`, `VIR_LOCK_MANAGER_RESOURCE_SHARED`.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerAddResource(
    lock: *mut virLockManager,
    r#type: c_uint,
    name: *const c_char,
    nparams: usize,
    params: *mut virLockManagerParam,
    flags: c_uint,
) -> c_int {
    call(DOM, "virLockManagerAddResource", |cx| {
        let m = unsafe { manager_arg(&cx, lock) }?;
        let rname = unsafe { cx.str_arg(name, "name") }?;
        log_debug!("{}: lock={lock:p} ({}) type={} name={rname} nparams={nparams} params=[{}] flags=0x{flags:x}", cx.func,
            m.label(),
            r#type,
            unsafe { describe_params(nparams, params) }
        );
        cx.check_flags(
            flags,
            VIR_LOCK_MANAGER_RESOURCE_READONLY | VIR_LOCK_MANAGER_RESOURCE_SHARED,
        )?;
        if r#type != VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK
            && r#type != VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE
        {
            return Err(cx.invalid_arg(format!(
                "unknown lock manager resource type {} for '{rname}'",
                r#type
            )));
        }
        unsafe { check_params(&cx, nparams, params) }?;
        unsafe { m.add_resource(r#type, name, nparams, params, flags) }?;
        Ok(0)
    })
}

/// Acquires the context's resources (from @state when migrating in, else NULL). @flags:
/// `VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY`, `_RESTRICT`. @fd (may be NULL) receives a
/// descriptor the driver keeps open for the owner's life, or -1.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerAcquire(
    lock: *mut virLockManager,
    state: *const c_char,
    flags: c_uint,
    action: virDomainLockFailureAction,
    fd: *mut c_int,
) -> c_int {
    call(DOM, "virLockManagerAcquire", |cx| {
        let m = unsafe { manager_arg(&cx, lock) }?;
        let st = unsafe { cx.opt_str_arg(state, "state") }?;
        log_debug!(
            "{}: lock={lock:p} ({}) state={} flags=0x{flags:x} action={action} fd={fd:p}",
            cx.func,
            m.label(),
            st.unwrap_or("(null)")
        );
        cx.check_flags(
            flags,
            VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY | VIR_LOCK_MANAGER_ACQUIRE_RESTRICT,
        )?;
        if !(VIR_DOMAIN_LOCK_FAILURE_DEFAULT..VIR_DOMAIN_LOCK_FAILURE_LAST).contains(&action) {
            return Err(cx.invalid_arg(format!("unknown lock failure action {action}")));
        }
        unsafe { m.acquire(state, flags, action, fd) }?;
        Ok(0)
    })
}

/// Releases the context's resources; @state (may be NULL) receives the driver's state
/// string (free it with free()) or NULL. @flags must be 0.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerRelease(
    lock: *mut virLockManager,
    state: *mut *mut c_char,
    flags: c_uint,
) -> c_int {
    call(DOM, "virLockManagerRelease", |cx| {
        let m = unsafe { manager_arg(&cx, lock) }?;
        log_debug!(
            "{}: lock={lock:p} ({}) state={state:p} flags=0x{flags:x}",
            cx.func,
            m.label()
        );
        if !state.is_null() {
            unsafe { *state = std::ptr::null_mut() };
        }
        cx.check_flags(flags, 0)?;
        unsafe { m.release(state, flags) }?;
        Ok(0)
    })
}

/// The driver's current lock state in @state (free it with free(); NULL when the driver
/// has none). @flags must be 0.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerInquire(
    lock: *mut virLockManager,
    state: *mut *mut c_char,
    flags: c_uint,
) -> c_int {
    call(DOM, "virLockManagerInquire", |cx| {
        let m = unsafe { manager_arg(&cx, lock) }?;
        log_debug!(
            "{}: lock={lock:p} ({}) state={state:p} flags=0x{flags:x}",
            cx.func,
            m.label()
        );
        cx.non_null(state, "state")?;
        unsafe { *state = std::ptr::null_mut() };
        cx.check_flags(flags, 0)?;
        unsafe { m.inquire(state, flags) }?;
        Ok(0)
    })
}

/// Frees the context (the driver's `drvFree`); NULL is accepted. Returns 0, or -1 when
/// @lock is not a live context.
#[no_mangle]
pub unsafe extern "C" fn virLockManagerFree(lock: *mut virLockManager) -> c_int {
    call(DOM, "virLockManagerFree", |cx| {
        log_debug!("{}: lock={lock:p}", cx.func);
        if lock.is_null() {
            return Ok(0);
        }
        let m = unsafe { manager_arg(&cx, lock) }?;
        unsafe { Manager::free(m as *mut Manager) }?;
        Ok(0)
    })
}

export_symbols!();
