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

/// A driver's tier (`virtcoreStateDriverExt.tier`): lower tiers are initialized and
/// autostarted first.
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

/// A state driver: libvirt 9.0's `struct _virStateDriver` (driver-state.h), byte for byte
/// (64 bytes on x86-64), so driver modules built against libvirt 9.0 register unchanged.
///
/// The struct is owned by the caller (usually `static`) and must stay valid while
/// registered; the library reads nothing past its 64 bytes and writes only `initialized`.
/// What virtcore adds (tier, needs, an autostart hook) travels in a
/// `virtcoreStateDriverExt` given to `virtcoreRegisterStateDriverExt`. Functions:
/// `virRegisterStateDriver`, `virtcoreRegisterStateDriverExt`, `virStateInitialize`,
/// `virStateCleanup`, `virStateReload`, `virStateStop`, `virStateShutdownPrepare`,
/// `virStateShutdownWait`, `virtcoreStateDriverSetTier`, `virtcoreStateSetParallel`,
/// `virtcoreStateSetThreadHook`, `virtcoreStateSetRunDir`.
///
/// Hooks run on the thread calling `virState*` (or, for `stateInitialize` in parallel mode,
/// on a worker thread) and must not call `virState*` functions themselves (refused).
#[repr(C)]
pub struct virStateDriver {
    /// The driver's name ([^/], at most 128 bytes). libvirt 9.0 lets names repeat (Debian
    /// registers two "udev" drivers); so does `virRegisterStateDriver`.
    pub name: *const c_char,
    /// Maintained by the library: true while the driver is initialized.
    pub initialized: bool,
    /// Starts the driver (`virStateInitialize`); NULL: the driver is never initialized.
    pub stateInitialize: virDrvStateInitialize,
    /// Stops it (`virStateCleanup`, rollback); < 0 is a failure. May be NULL.
    pub stateCleanup: virDrvStateCleanup,
    /// Rereads its configuration (`virStateReload`); < 0 is a failure. May be NULL.
    pub stateReload: virDrvStateReload,
    /// Host suspend or shutdown (`virStateStop`); < 0 is a failure. May be NULL.
    pub stateStop: virDrvStateStop,
    /// Daemon shutdown, first step (`virStateShutdownPrepare`). May be NULL.
    pub stateShutdownPrepare: virDrvStateShutdownPrepare,
    /// Daemon shutdown, waits for the driver's work (`virStateShutdownWait`). May be NULL.
    pub stateShutdownWait: virDrvStateShutdownWait,
}

/// virtcore's extension of a `virStateDriver`: what the tiered start-up adds to libvirt
/// 9.0's struct. Given to `virtcoreRegisterStateDriverExt` with the driver; owned by the
/// caller and, like the driver, read while registered (keep it valid and `static`).
///
/// `size` comes first so the struct can grow: set it to `sizeof(virtcoreStateDriverExt)`.
/// A smaller size (an older caller) means the missing fields are absent (NULL); a larger
/// one (a newer caller) is accepted only if the bytes this library does not know are zero.
#[repr(C)]
pub struct virtcoreStateDriverExt {
    /// `sizeof(virtcoreStateDriverExt)` as the caller was compiled; at least up to `tier`.
    pub size: usize,
    /// The tier (`VIR_DRV_STATE_DRV_LIBVIRT` 0, `VIR_DRV_STATE_DRV_HYPERVISOR` 1, 2, …).
    /// `virtcoreStateDriverSetTier` can still override it by name.
    pub tier: virDrvStateType,
    /// NULL-terminated names of drivers this one needs (each must be in a lower tier), or
    /// NULL.
    pub needs: *const *const c_char,
    /// Run after every driver of the tier initialized, once per boot; or NULL.
    pub stateAutoStart: virDrvStateAutoStart,
}

/// Adapter from the C vtable to [`StateDriver`].
struct CDriver {
    ptr: *mut virStateDriver,
    /// The extension and the size its caller declared (fields past it are not read).
    ext: Option<(*const virtcoreStateDriverExt, usize)>,
    name: String,
}

// SAFETY: the C structs are required to outlive their registration; hooks are called from
// whichever thread calls virState* (libvirt's contract for state drivers too).
unsafe impl Send for CDriver {}
unsafe impl Sync for CDriver {}

/// Offset just past a field of `virtcoreStateDriverExt`.
macro_rules! ext_end {
    ($field:ident) => {
        std::mem::offset_of!(virtcoreStateDriverExt, $field)
            + std::mem::size_of_val(&unsafe { std::mem::zeroed::<virtcoreStateDriverExt>() }.$field)
    };
}

impl CDriver {
    fn drv(&self) -> &virStateDriver {
        // SAFETY: registered structs stay valid (documented contract).
        unsafe { &*self.ptr }
    }

    /// The extension, if the caller's `size` covers a field ending at `end`.
    fn ext(&self, end: usize) -> Option<&virtcoreStateDriverExt> {
        // SAFETY: registered extensions stay valid (documented contract); `size` checked.
        self.ext
            .filter(|&(_, size)| size >= end)
            .map(|(p, _)| unsafe { &*p })
    }

    fn autostart_hook(&self) -> virDrvStateAutoStart {
        self.ext(ext_end!(stateAutoStart))
            .and_then(|e| e.stateAutoStart)
    }

    fn int_hook(&self, hook: Option<unsafe extern "C" fn() -> c_int>) -> Option<bool> {
        hook.map(|f| unsafe { f() } >= 0)
    }
}

impl StateDriver for CDriver {
    fn name(&self) -> &str {
        &self.name
    }

    fn tier(&self) -> Option<i32> {
        self.ext(ext_end!(tier)).map(|e| e.tier)
    }

    fn needs(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Some(mut p) = self.ext(ext_end!(needs)).map(|e| e.needs) else {
            return out;
        };
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
        self.autostart_hook().is_some()
    }

    fn autostart(&self) {
        if let Some(f) = self.autostart_hook() {
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

/// Registers a state driver built against libvirt 9.0 (mirrors libvirt's
/// `virRegisterStateDriver`). `driver` is borrowed for as long as it stays registered
/// (there is no unregister: normally a `static`); only its 64 bytes are read. Its tier is
/// the one given by `virtcoreStateDriverSetTier` for its name, else tier 1 for libvirt's
/// hypervisor drivers ("QEMU", "LXC", "LIBXL", "bhyve", "vz") and tier 0 for every other
/// name; it has no autostart hook and no declared needs. Names may repeat, as in libvirt.
/// Drivers registered after `virStateInitialize` start at the next `virStateInitialize`.
/// Returns its index (0, 1, …) or -1: `VIR_ERR_INVALID_ARG` for NULL or a missing/invalid
/// name (the message shows at most its first 64 bytes), `VIR_ERR_OPERATION_INVALID` while
/// `virStateInitialize` or `virStateCleanup` runs. No fixed limit on the number of drivers.
#[no_mangle]
pub unsafe extern "C" fn virRegisterStateDriver(driver: *mut virStateDriver) -> c_int {
    call(STATE, "virRegisterStateDriver", |cx| {
        let d = cx.non_null(driver, "driver")?;
        let name = unsafe { cx.str_arg((*d).name, "driver->name") }?;
        log_debug!("virRegisterStateDriver(driver={d:p}, name={name})");
        let cdrv = CDriver {
            ptr: d,
            ext: None,
            name: name.to_string(),
        };
        let idx = super::register(Arc::new(cdrv), false)?;
        c_int::try_from(idx).map_err(|_| cx.internal("too many state drivers"))
    })
}

/// Largest `virtcoreStateDriverExt.size` accepted (a newer caller's struct; the bytes past
/// what this library knows must be zero).
const EXT_MAX: usize = 4096;

/// Registers a state driver with virtcore's extension (no libvirt counterpart; the tiered
/// form of `virRegisterStateDriver`). `driver` and `ext` are borrowed for as long as the
/// driver stays registered (normally both `static`); `ext->size` must be
/// `sizeof(virtcoreStateDriverExt)`. The name must be unique among registered drivers
/// (it names the autostart marker and is what `needs` refer to). Returns the driver's index
/// or -1: `VIR_ERR_INVALID_ARG` for NULL, a missing/invalid/duplicate name, a negative
/// tier, a `size` too small for `tier` or larger than 4096, or non-zero bytes past the
/// fields this library knows; `VIR_ERR_OPERATION_INVALID` while `virStateInitialize` or
/// `virStateCleanup` runs.
#[no_mangle]
pub unsafe extern "C" fn virtcoreRegisterStateDriverExt(
    driver: *mut virStateDriver,
    ext: *const virtcoreStateDriverExt,
) -> c_int {
    call(STATE, "virtcoreRegisterStateDriverExt", |cx| {
        let d = cx.non_null(driver, "driver")?;
        let e = cx.non_null(ext.cast_mut(), "ext")?.cast_const();
        let name = unsafe { cx.str_arg((*d).name, "driver->name") }?;
        let size = unsafe { (*e).size };
        log_debug!(
            "virtcoreRegisterStateDriverExt(driver={d:p}, name={name}, ext={e:p}, size={size})"
        );
        let known = std::mem::size_of::<virtcoreStateDriverExt>();
        if size < ext_end!(tier) || size > EXT_MAX {
            return Err(cx.invalid_arg(format!(
                "extension of state driver '{name}' has size {size}, expected {known} (sizeof(virtcoreStateDriverExt))"
            )));
        }
        if size > known {
            // SAFETY: the caller declares `size` readable bytes at `ext`.
            let extra =
                unsafe { std::slice::from_raw_parts(e.cast::<u8>().add(known), size - known) };
            if extra.iter().any(|&b| b != 0) {
                return Err(cx.invalid_arg(format!(
                    "extension of state driver '{name}' sets fields this virtcore does not know (size {size}, known {known})"
                )));
            }
        }
        let cdrv = CDriver {
            ptr: d,
            ext: Some((e, size.min(known))),
            name: name.to_string(),
        };
        let idx = super::register(Arc::new(cdrv), true)?;
        c_int::try_from(idx).map_err(|_| cx.internal("too many state drivers"))
    })
}

/// Assigns `tier` to every state driver named `name`, registered or yet to come, for the
/// next `virStateInitialize` (no libvirt counterpart): how a daemon places the drivers it
/// loads but did not compile (libvirt 9.0 modules registered with
/// `virRegisterStateDriver`). It overrides the tier a driver declared in its extension and
/// the default; the last call for a name counts. `name` is copied. Returns 0, or -1 with
/// `VIR_ERR_INVALID_ARG` for a NULL or invalid name or a negative tier,
/// `VIR_ERR_OPERATION_INVALID` from inside a state driver hook.
#[no_mangle]
pub unsafe extern "C" fn virtcoreStateDriverSetTier(name: *const c_char, tier: c_int) -> c_int {
    call(STATE, "virtcoreStateDriverSetTier", |cx| {
        let name = unsafe { cx.str_arg(name, "name") }?;
        log_debug!("virtcoreStateDriverSetTier(name={name}, tier={tier})");
        super::validate_name(name)?;
        if tier < 0 {
            return Err(cx.invalid_arg(format!(
                "tier {tier} for state driver '{name}' is not valid (a tier is 0 or more)"
            )));
        }
        super::set_options(|o| o.tiers.push((name.to_string(), tier)))?;
        Ok(0)
    })
}

/// Initializes the registered drivers not yet started, tier by tier (mirrors libvirt 9.0's
/// `virStateInitialize`, same signature). Per tier: `stateInitialize` of each driver in
/// registration order, then the extension's `stateAutoStart` of each that completed (once
/// per boot), then the next tier. `root` (absolute, or NULL) is borrowed for the call and
/// passed with `privileged`, `monolithic`, `callback` and `opaque` to every
/// `stateInitialize` unchanged. With `mandatory`, a skipped driver is an error. Declared
/// needs are checked before anything runs. A second call starts only the drivers registered
/// since (libvirt 9.0 does the same) and returns 0 when there are none.
///
/// Returns 0 or -1. Unlike libvirt, a failure rolls back what this call initialized
/// (`stateCleanup` in reverse order; libvirt leaves them, and the failed driver, marked
/// initialized) and the error is `Initialization of NAME state driver failed: MESSAGE` with
/// the driver's own code. A `virStateShutdownPrepare`, `virStateShutdownWait` or
/// `virStateCleanup` from another thread while this runs is honoured when the running
/// driver hook returns: no further driver starts or autostarts, every initialized driver
/// gets `stateShutdownPrepare`, `stateShutdownWait`, then `stateCleanup` in reverse order,
/// and this returns -1 with `VIR_ERR_OPERATION_ABORTED`.
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

/// Cleans up every initialized driver in reverse order of initialization (mirrors libvirt
/// 9.0's `virStateCleanup`); afterwards drivers may be registered and initialized again.
/// Unlike libvirt, drivers that were never initialized (skipped, failed, never started)
/// get no `stateCleanup`. Every driver is cleaned up even if one fails (as in libvirt).
/// Returns -1 if any cleanup failed, with the first failing driver's error ("Cleanup of
/// NAME state driver failed: MESSAGE"). Called while `virStateInitialize` runs, it returns
/// 0 at once and the start-up ends with the cleanup (see `virStateInitialize`).
#[no_mangle]
pub extern "C" fn virStateCleanup() -> c_int {
    call(STATE, "virStateCleanup", |_| {
        log_debug!("virStateCleanup()");
        super::cleanup()?;
        Ok(0)
    })
}

/// The hook calls below are refused at once (-1, `VIR_ERR_OPERATION_INVALID`, "state
/// drivers are being initialized/cleaned up") while `virStateInitialize` or
/// `virStateCleanup` runs in any thread, so a hook's helper thread calling them cannot
/// deadlock (the shutdown steps during `virStateInitialize` are deferred instead); from
/// inside a hook on the same thread they are refused too.
fn run_hook(func: &'static str, hook: Hook) -> c_int {
    call(STATE, func, |_| {
        log_debug!("{func}()");
        super::each_initialized(func, hook)?;
        Ok(0)
    })
}

/// Calls `stateReload` of every initialized driver (mirrors libvirt 9.0's
/// `virStateReload`; libvirt also calls drivers never initialized). All run; returns -1 if
/// any failed, with the first failing driver's error, or while the drivers are being
/// initialized or cleaned up (`VIR_ERR_OPERATION_INVALID`, without calling any hook).
#[no_mangle]
pub extern "C" fn virStateReload() -> c_int {
    run_hook("virStateReload", Hook::Reload)
}

/// Calls `stateStop` of every initialized driver (mirrors libvirt 9.0's `virStateStop`,
/// whose return value it keeps): 0 when every hook returned 0 or more, 1 when any returned
/// less (all run; the first failing driver's error is set), -1 only when refused (while
/// the drivers are being initialized or cleaned up, `VIR_ERR_OPERATION_INVALID`).
#[no_mangle]
pub extern "C" fn virStateStop() -> c_int {
    call(STATE, "virStateStop", |_| {
        log_debug!("virStateStop()");
        match super::each_initialized("virStateStop", Hook::Stop) {
            Ok(()) => Ok(0),
            Err(e @ super::StateError::DriverFailed { .. }) => {
                crate::error::Error::from(e).report();
                Ok(1)
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// Calls `stateShutdownPrepare` of every initialized driver (mirrors libvirt 9.0's
/// `virStateShutdownPrepare`). Unlike libvirt, which stops at the first failure, every
/// driver is called (each gets the chance to prepare); returns -1 if any failed, with the
/// first failing driver's error. While `virStateInitialize` runs: 0 at once, and the
/// start-up ends with the shutdown (see there); while `virStateCleanup` runs: refused.
#[no_mangle]
pub extern "C" fn virStateShutdownPrepare() -> c_int {
    run_hook("virStateShutdownPrepare", Hook::ShutdownPrepare)
}

/// Calls `stateShutdownWait` of every initialized driver (mirrors libvirt 9.0's
/// `virStateShutdownWait`). Unlike libvirt, which stops at the first failure, every
/// driver is called (each waits for its own work); returns -1 if any failed, with the
/// first failing driver's error. While `virStateInitialize` runs: 0 at once, and the
/// start-up ends with the shutdown (see there); while `virStateCleanup` runs: refused.
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

/// Called on each worker thread of a parallel tier before it runs any driver's
/// `stateInitialize`, with the `opaque` given to `virtcoreStateSetThreadHook`.
pub type virtcoreStateThreadHook = Option<unsafe extern "C" fn(opaque: *mut c_void)>;

/// Sets the daemon's per-thread set-up for parallel start-up (no libvirt counterpart): with
/// `virtcoreStateSetParallel(N)`, every worker thread virtcore starts for a tier first calls
/// `hook(opaque)`, so that drivers find there what the daemon set up on the thread calling
/// `virStateInitialize` (libvirtd: its identity). That calling thread initializes drivers
/// too and gets no call. The hook runs with virtcore's re-entry guard (calling `virState*`
/// from it is refused). `opaque` is passed through unread and must stay valid while it can
/// be called. NULL removes the hook. Applies from the next `virStateInitialize`. Returns 0,
/// or -1 with `VIR_ERR_OPERATION_INVALID` from inside a state driver hook.
#[no_mangle]
pub unsafe extern "C" fn virtcoreStateSetThreadHook(
    hook: virtcoreStateThreadHook,
    opaque: *mut c_void,
) -> c_int {
    call(STATE, "virtcoreStateSetThreadHook", |_| {
        log_debug!(
            "virtcoreStateSetThreadHook(hook={}, opaque={opaque:p})",
            hook.is_some()
        );
        let opaque = opaque as usize;
        let hook = hook.map(|f| {
            // SAFETY: the caller keeps `opaque` valid while the hook can run (documented).
            super::init::ThreadHook(Arc::new(move || unsafe { f(opaque as *mut c_void) }))
        });
        super::set_options(|o| o.thread_hook = hook)?;
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
