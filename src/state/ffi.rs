//! C API of the state drivers: libvirt 9's `driver-state.h` plus the tiered additions.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::path::PathBuf;
use std::sync::Arc;

use super::{Hook, InitArgs, InitOutcome, StateDriver};
use crate::error::virErrorDomain;
use crate::ffi::call;

/// Result of a driver's `stateInitialize` (libvirt's `virDrvStateInitResult`): one of
/// `VIR_DRV_STATE_INIT_ERROR`, `VIR_DRV_STATE_INIT_SKIPPED`, `VIR_DRV_STATE_INIT_COMPLETE`.
pub type virDrvStateInitResult = c_int;
/// Failed; the driver should have reported an error.
pub const VIR_DRV_STATE_INIT_ERROR: virDrvStateInitResult = -1;
/// Not applicable here (e.g. unprivileged); neither autostarted nor cleaned up.
pub const VIR_DRV_STATE_INIT_SKIPPED: virDrvStateInitResult = 0;
/// Initialized.
pub const VIR_DRV_STATE_INIT_COMPLETE: virDrvStateInitResult = 1;

/// A driver's tier (`stateType`): lower tiers are initialized and autostarted first.
pub type virDrvStateType = c_int;
/// Tier 0: secret, storage, network, nwfilter, … drivers.
pub const VIR_DRV_STATE_DRV_LIBVIRT: virDrvStateType = 0;
/// Tier 1: hypervisor drivers (QEMU, LXC, …). Any higher number is a further tier.
pub const VIR_DRV_STATE_DRV_HYPERVISOR: virDrvStateType = 1;

/// Called by a driver to ask the daemon not to exit while it has work (`inhibit` true) or to
/// allow it again; passed through to every `stateInitialize` unchanged.
pub type virStateInhibitCallback = Option<unsafe extern "C" fn(inhibit: bool, opaque: *mut c_void)>;
pub type virDrvStateInitialize = Option<
    unsafe extern "C" fn(
        privileged: bool,
        root: *const c_char,
        monolithic: bool,
        callback: virStateInhibitCallback,
        opaque: *mut c_void,
    ) -> virDrvStateInitResult,
>;
pub type virDrvStateCleanup = Option<unsafe extern "C" fn() -> c_int>;
pub type virDrvStateReload = Option<unsafe extern "C" fn() -> c_int>;
pub type virDrvStateStop = Option<unsafe extern "C" fn() -> c_int>;
pub type virDrvStateShutdownPrepare = Option<unsafe extern "C" fn() -> c_int>;
pub type virDrvStateShutdownWait = Option<unsafe extern "C" fn() -> c_int>;
/// Starts what the driver's configuration marks for autostart. Runs once per boot.
pub type virDrvStateAutoStart = Option<unsafe extern "C" fn()>;

/// A state driver: libvirt 9's fields in libvirt's order, then the tiered additions.
///
/// The struct is owned by the caller (usually `static`) and must stay valid while
/// registered; the library writes only `initialized`. Functions: `virRegisterStateDriver`,
/// `virStateInitialize`, `virStateCleanup`, `virStateReload`, `virStateStop`,
/// `virStateShutdownPrepare`, `virStateShutdownWait`, `virtcoreStateSetParallel`,
/// `virtcoreStateSetRunDir`.
///
/// Hooks run on the thread calling `virState*` (or, for `stateInitialize` in parallel mode,
/// on a worker thread) and must not call `virState*` functions themselves (refused).
#[repr(C)]
pub struct virStateDriver {
    /// Unique name ([^/], at most 128 bytes); names the autostart marker.
    pub name: *const c_char,
    /// Maintained by the library: true while the driver is initialized.
    pub initialized: bool,
    pub stateInitialize: virDrvStateInitialize,
    pub stateCleanup: virDrvStateCleanup,
    pub stateReload: virDrvStateReload,
    pub stateStop: virDrvStateStop,
    pub stateShutdownPrepare: virDrvStateShutdownPrepare,
    pub stateShutdownWait: virDrvStateShutdownWait,
    /// Tiered addition: run after every driver of the tier initialized, once per boot.
    pub stateAutoStart: virDrvStateAutoStart,
    /// Tiered addition: the tier (`VIR_DRV_STATE_DRV_LIBVIRT`, `_HYPERVISOR`, 2, …).
    pub stateType: virDrvStateType,
    /// Tiered addition: NULL-terminated names of drivers this one needs (each must be in a
    /// lower tier), or NULL.
    pub stateNeeds: *const *const c_char,
}

/// Adapter from the C vtable to [`StateDriver`].
struct CDriver {
    ptr: *mut virStateDriver,
    name: String,
}

// SAFETY: the C struct is required to outlive its registration; its hooks are called from
// whichever thread calls virState* (libvirt's contract for state drivers too).
unsafe impl Send for CDriver {}
unsafe impl Sync for CDriver {}

impl CDriver {
    fn drv(&self) -> &virStateDriver {
        // SAFETY: registered structs stay valid (documented contract).
        unsafe { &*self.ptr }
    }

    fn int_hook(&self, hook: Option<unsafe extern "C" fn() -> c_int>) -> Option<bool> {
        hook.map(|f| unsafe { f() } >= 0)
    }
}

impl StateDriver for CDriver {
    fn name(&self) -> &str {
        &self.name
    }

    fn tier(&self) -> i32 {
        self.drv().stateType
    }

    fn needs(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut p = self.drv().stateNeeds;
        if p.is_null() {
            return out;
        }
        // SAFETY: a NULL-terminated array of C strings (documented contract).
        unsafe {
            while !(*p).is_null() {
                out.push(CStr::from_ptr(*p).to_string_lossy().into_owned());
                p = p.add(1);
            }
        }
        out
    }

    fn has_initialize(&self) -> bool {
        self.drv().stateInitialize.is_some()
    }

    fn initialize(&self, args: &InitArgs) -> InitOutcome {
        let Some(init) = self.drv().stateInitialize else {
            return InitOutcome::NoHook;
        };
        let root = args
            .root
            .as_ref()
            .map(|r| std::ffi::CString::new(r.as_str()).unwrap_or_default());
        // SAFETY: `inhibit` holds exactly the value the caller gave virStateInitialize.
        let cb: virStateInhibitCallback =
            unsafe { std::mem::transmute::<usize, virStateInhibitCallback>(args.inhibit) };
        let r = unsafe {
            init(
                args.privileged,
                root.as_ref().map_or(std::ptr::null(), |r| r.as_ptr()),
                args.monolithic,
                cb,
                args.opaque as *mut c_void,
            )
        };
        match r {
            VIR_DRV_STATE_INIT_COMPLETE => InitOutcome::Complete,
            VIR_DRV_STATE_INIT_SKIPPED => InitOutcome::Skipped,
            VIR_DRV_STATE_INIT_ERROR => InitOutcome::Error,
            other => {
                crate::error::Error::new(
                    virErrorDomain::VIR_FROM_NONE,
                    crate::error::virErrorNumber::VIR_ERR_INTERNAL_ERROR,
                    format!("stateInitialize of '{}' returned {other}, which is not a virDrvStateInitResult", self.name),
                )
                .report();
                InitOutcome::Error
            }
        }
    }

    fn has_autostart(&self) -> bool {
        self.drv().stateAutoStart.is_some()
    }

    fn autostart(&self) {
        if let Some(f) = self.drv().stateAutoStart {
            unsafe { f() }
        }
    }

    fn cleanup(&self) -> Option<bool> {
        self.int_hook(self.drv().stateCleanup)
    }
    fn reload(&self) -> Option<bool> {
        self.int_hook(self.drv().stateReload)
    }
    fn stop(&self) -> Option<bool> {
        self.int_hook(self.drv().stateStop)
    }
    fn shutdown_prepare(&self) -> Option<bool> {
        self.int_hook(self.drv().stateShutdownPrepare)
    }
    fn shutdown_wait(&self) -> Option<bool> {
        self.int_hook(self.drv().stateShutdownWait)
    }

    fn set_initialized(&self, initialized: bool) {
        // SAFETY: written only under the lifecycle write lock; the field is the library's.
        unsafe { (*self.ptr).initialized = initialized };
    }
}

const STATE: virErrorDomain = virErrorDomain::VIR_FROM_NONE;

/// Registers a state driver. Returns its index (0, 1, …) or -1: `VIR_ERR_INVALID_ARG` for
/// NULL, a missing/invalid name (the message shows at most its first 64 bytes), a negative
/// `stateType` or a duplicate name, `VIR_ERR_OPERATION_INVALID` while drivers are
/// initialized. There is no fixed limit on the number of drivers.
#[no_mangle]
pub unsafe extern "C" fn virRegisterStateDriver(driver: *mut virStateDriver) -> c_int {
    call(STATE, "virRegisterStateDriver", |cx| {
        let d = cx.non_null(driver, "driver")?;
        let name = unsafe { cx.str_arg((*d).name, "driver->name") }?;
        log_debug!("virRegisterStateDriver(driver={d:p}, name={name})");
        let idx = super::register(Arc::new(CDriver {
            ptr: d,
            name: name.to_string(),
        }))?;
        c_int::try_from(idx).map_err(|_| cx.internal("too many state drivers"))
    })
}

/// Initializes all registered drivers, tier by tier (libvirt 9's signature). Per tier:
/// `stateInitialize` of each driver in registration order, then `stateAutoStart` of each
/// that completed (once per boot), then the next tier. With `mandatory`, a skipped driver
/// is an error. On failure the drivers already initialized are cleaned up in reverse order
/// and the error is `Initialization of NAME state driver failed: MESSAGE`. Declared needs
/// are checked before anything runs. Returns 0 or -1.
#[no_mangle]
pub unsafe extern "C" fn virStateInitialize(
    privileged: bool,
    mandatory: bool,
    root: *const c_char,
    monolithic: bool,
    callback: virStateInhibitCallback,
    opaque: *mut c_void,
) -> c_int {
    call(STATE, "virStateInitialize", |cx| {
        let root = unsafe { cx.opt_str_arg(root, "root") }?;
        log_debug!(
            "virStateInitialize(privileged={privileged}, mandatory={mandatory}, root={}, monolithic={monolithic}, callback={}, opaque={opaque:p})",
            crate::ffi::show(root),
            callback.is_some()
        );
        if root.is_some_and(|r| !r.starts_with('/')) {
            return Err(cx.invalid_arg(format!(
                "root directory '{}' must be an absolute path",
                root.unwrap_or_default()
            )));
        }
        let args = InitArgs {
            privileged,
            root: root.map(str::to_string),
            monolithic,
            inhibit: callback.map_or(0, |f| f as usize),
            opaque: opaque as usize,
        };
        super::initialize(&args, mandatory)?;
        Ok(0)
    })
}

/// Cleans up every initialized driver in reverse order of initialization; afterwards
/// drivers may be registered and initialized again. Returns -1 if any cleanup failed, with
/// the first failing driver's error ("Cleanup of NAME state driver failed: MESSAGE").
#[no_mangle]
pub extern "C" fn virStateCleanup() -> c_int {
    call(STATE, "virStateCleanup", |_| {
        log_debug!("virStateCleanup()");
        super::cleanup()?;
        Ok(0)
    })
}

/// The four hook calls below are refused at once (-1, `VIR_ERR_OPERATION_INVALID`, "state
/// drivers are being initialized/cleaned up") while `virStateInitialize` or
/// `virStateCleanup` runs in any thread, so a hook's helper thread calling them cannot
/// deadlock; from inside a hook on the same thread they are refused too.
fn run_hook(func: &'static str, hook: Hook) -> c_int {
    call(STATE, func, |_| {
        log_debug!("{func}()");
        super::each_initialized(func, hook)?;
        Ok(0)
    })
}

/// Calls `stateReload` of every initialized driver. Returns -1 if any
/// failed, with the first failing driver's error, or while the drivers are being
/// initialized or cleaned up (`VIR_ERR_OPERATION_INVALID`, without calling any hook).
#[no_mangle]
pub extern "C" fn virStateReload() -> c_int {
    run_hook("virStateReload", Hook::Reload)
}

/// Calls `stateStop` of every initialized driver. Returns -1 if any
/// failed, with the first failing driver's error, or while the drivers are being
/// initialized or cleaned up (`VIR_ERR_OPERATION_INVALID`, without calling any hook).
#[no_mangle]
pub extern "C" fn virStateStop() -> c_int {
    run_hook("virStateStop", Hook::Stop)
}

/// Calls `stateShutdownPrepare` of every initialized driver. Returns -1 if any
/// failed, with the first failing driver's error, or while the drivers are being
/// initialized or cleaned up (`VIR_ERR_OPERATION_INVALID`, without calling any hook).
#[no_mangle]
pub extern "C" fn virStateShutdownPrepare() -> c_int {
    run_hook("virStateShutdownPrepare", Hook::ShutdownPrepare)
}

/// Calls `stateShutdownWait` of every initialized driver. Returns -1 if any
/// failed, with the first failing driver's error, or while the drivers are being
/// initialized or cleaned up (`VIR_ERR_OPERATION_INVALID`, without calling any hook).
#[no_mangle]
pub extern "C" fn virStateShutdownWait() -> c_int {
    run_hook("virStateShutdownWait", Hook::ShutdownWait)
}

/// Sets how many threads initialize the drivers of one tier at the next
/// `virStateInitialize` (0 or 1: sequential, the default; at most 64). Results, autostart
/// order and errors are the same as sequential; drivers' `stateInitialize` must then be
/// safe to run concurrently with the other drivers' of the same tier. Returns 0 or -1.
#[no_mangle]
pub extern "C" fn virtcoreStateSetParallel(nthreads: c_uint) -> c_int {
    call(STATE, "virtcoreStateSetParallel", |cx| {
        log_debug!("virtcoreStateSetParallel(nthreads={nthreads})");
        if nthreads > 64 {
            return Err(cx.invalid_arg(format!("{nthreads} threads is more than the 64 allowed")));
        }
        super::set_options(|o| o.parallel = nthreads as usize)?;
        Ok(0)
    })
}

/// Sets the run directory of the once-per-boot autostart markers (`DIR/autostart/NAME`)
/// used by the next `virStateInitialize`; it is this daemon's own (not shared with other
/// programs). NULL restores the default: `ROOT/run/virtcore` with a root, else
/// `/run/virtcore/PROGRAM` when privileged, `$XDG_RUNTIME_DIR/virtcore/PROGRAM` or
/// `/tmp/virtcore-EUID/PROGRAM` (PROGRAM: the executable's file name). It should be on
/// tmpfs. Missing directories are created 0700; a directory owned by another uid or
/// writable by group/others is refused at start-up (logged; autostart then runs every
/// time). `dir` is copied. Returns 0, or -1 with `VIR_ERR_INVALID_ARG` for a relative path
/// and `VIR_ERR_OPERATION_INVALID` from inside a state driver hook.
#[no_mangle]
pub unsafe extern "C" fn virtcoreStateSetRunDir(dir: *const c_char) -> c_int {
    call(STATE, "virtcoreStateSetRunDir", |cx| {
        let dir = unsafe { cx.opt_str_arg(dir, "dir") }?;
        log_debug!("virtcoreStateSetRunDir(dir={})", crate::ffi::show(dir));
        if dir.is_some_and(|d| !d.starts_with('/')) {
            return Err(cx.invalid_arg(format!(
                "run directory '{}' must be an absolute path",
                dir.unwrap_or_default()
            )));
        }
        super::set_options(|o| o.run_dir = dir.map(PathBuf::from))?;
        Ok(0)
    })
}

export_symbols!();
