//! Tiered state drivers (libvirt 9.0's `virStateDriver` and `virStateInitialize`, plus tiers).
//!
//! Drivers register once; `initialize` runs them tier by tier (ascending), and inside a tier
//! in registration order: first every driver's `initialize`, then the `autostart` of every
//! driver that completed, then the next tier. So a hypervisor driver (tier 1) reconnecting
//! to its guests finds the storage pools, networks and secrets of tier 0 already started —
//! the start-up race of flat loading cannot happen.
//!
//! This module knows nothing about C: drivers are [`StateDriver`] trait objects (the C
//! vtable adapter lives in `ffi.rs`).
//!
//! Concurrency: `LIFECYCLE` (an RwLock) serializes initialize/cleanup (write) against the
//! per-driver hooks reload/stop/shutdown (read, may run concurrently). `REGISTRY` (a mutex)
//! guards the driver list and is only held briefly, never while a hook runs. Order:
//! LIFECYCLE before REGISTRY. Hooks must not call back into this module; that is detected
//! (per-thread flag) and refused instead of deadlocking.
//!
//! A hook may also hand work to a helper thread and join it. If that helper calls
//! `virStateReload` (or Stop/ShutdownPrepare/ShutdownWait) while initialize or cleanup holds
//! `LIFECYCLE`, waiting would deadlock (the holder waits for the helper). So initialize and
//! cleanup announce themselves in `Registry::busy` *before* taking the lock, and the hooks
//! refuse with an error instead of waiting while it is set — as libvirt's daemon ignores a
//! reload before its drivers are initialized. Readers take the lock with `read_recursive`,
//! so a helper of a reload hook is never queued behind a waiting writer either.
//!
//! The shutdown steps (prepare, wait, cleanup) asked for during initialize are neither
//! refused nor waited for: they set a bit in `SHUTDOWN_PENDING` and return. Initialize
//! then starts no further driver and, when its hooks are done, runs the shutdown itself
//! (Launchpad bug 2059272: SIGTERM during the QEMU driver's reconnect).
//!
//! Drivers registered the libvirt 9.0 way declare no tier: [`InitOptions::tier_of`] gives
//! them the daemon's choice (`virtcoreStateDriverSetTier`) or [`default_tier`]; their
//! names may repeat, as in libvirt.

mod init;
mod marker;

pub mod ffi;

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::error::{virErrorDomain, virErrorNumber, Error};

pub use init::InitOptions;

/// What a driver's initialize hook reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitOutcome {
    /// Failed; carries the driver's own error (or a generic one if it reported none).
    Error,
    Skipped,
    Complete,
    /// The driver has no initialize hook: ignored, like libvirt does.
    NoHook,
}

/// Arguments passed through to every driver's initialize hook unchanged.
#[derive(Clone, Debug, Default)]
pub struct InitArgs {
    pub privileged: bool,
    pub root: Option<String>,
    pub monolithic: bool,
    /// The inhibit callback and its opaque pointer, as words: this module never calls them.
    pub inhibit: usize,
    pub opaque: usize,
}

/// One registered driver.
pub trait StateDriver: Send + Sync {
    fn name(&self) -> &str;
    /// The tier the driver declared (0 = libvirt services, 1 = hypervisors, higher =
    /// further tiers), or `None` for a driver registered the libvirt 9.0 way: it then gets
    /// the daemon's override or [`default_tier`].
    fn tier(&self) -> Option<i32>;
    /// Names of drivers this one needs; they must be registered in a lower tier.
    fn needs(&self) -> Vec<String>;
    fn has_initialize(&self) -> bool;
    fn initialize(&self, args: &InitArgs) -> InitOutcome;
    fn has_autostart(&self) -> bool;
    fn autostart(&self);
    /// The lifecycle hooks: `None` when the driver has no such hook, else success.
    fn cleanup(&self) -> Option<bool>;
    fn reload(&self) -> Option<bool>;
    fn stop(&self) -> Option<bool>;
    fn shutdown_prepare(&self) -> Option<bool>;
    fn shutdown_wait(&self) -> Option<bool>;
    /// Mirrors the library's view into the driver (the C struct's `initialized` field).
    fn set_initialized(&self, initialized: bool);
}

/// Errors of this subsystem, with the libvirt code each maps to.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{0}")]
    InvalidArg(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Internal(String),
    /// Start-up stopped by a shutdown request (`VIR_ERR_OPERATION_ABORTED`).
    #[error("{0}")]
    Aborted(String),
    /// A driver failed; the message is complete (it embeds the driver's own error).
    #[error("{message}")]
    DriverFailed {
        code: i32,
        domain: i32,
        message: String,
    },
}

impl From<StateError> for Error {
    fn from(e: StateError) -> Self {
        use virErrorNumber::*;
        let d = virErrorDomain::VIR_FROM_NONE;
        match e {
            StateError::InvalidArg(m) => Error::new(d, VIR_ERR_INVALID_ARG, m),
            StateError::Invalid(m) => Error::new(d, VIR_ERR_OPERATION_INVALID, m),
            StateError::Config(m) => Error::new(d, VIR_ERR_CONFIG_UNSUPPORTED, m),
            StateError::Internal(m) => Error::new(d, VIR_ERR_INTERNAL_ERROR, m),
            StateError::Aborted(m) => Error::new(d, VIR_ERR_OPERATION_ABORTED, m),
            StateError::DriverFailed {
                code,
                domain,
                message,
            } => crate::error::error_from_raw(domain, code, message),
        }
    }
}

/// Longest driver name accepted (it names a marker file).
const MAX_NAME: usize = 128;

#[derive(Default)]
struct Registry {
    drivers: Vec<Arc<dyn StateDriver>>,
    /// Per driver: visited by a `virStateInitialize` that succeeded (initialized, skipped
    /// or without hook), so a second `virStateInitialize` starts only newer drivers, as
    /// libvirt's does. Cleared by `cleanup`.
    started: Vec<bool>,
    /// Indices into `drivers`, in the order they were initialized (cleanup runs backwards).
    initialized: Vec<usize>,
    /// What initialize/cleanup is doing right now ("initialized", "cleaned up"), set before
    /// it takes `LIFECYCLE`: hooks refuse instead of waiting (see the module docs).
    busy: Option<&'static str>,
    options: InitOptions,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    drivers: Vec::new(),
    started: Vec::new(),
    initialized: Vec::new(),
    busy: None,
    options: InitOptions::DEFAULT,
});
static LIFECYCLE: RwLock<()> = RwLock::new(());

thread_local! {
    /// Set while this thread runs a driver hook, to refuse re-entry instead of deadlocking.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Runs a driver hook with the re-entry flag set.
fn in_hook<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_HOOK.with(|h| h.set(self.0));
        }
    }
    let _reset = Reset(IN_HOOK.with(|h| h.replace(true)));
    f()
}

/// Clears `Registry::busy` when initialize/cleanup ends, however it ends.
struct Busy;
impl Drop for Busy {
    fn drop(&mut self) {
        REGISTRY.lock().busy = None;
    }
}

/// Marks the registry busy with `what`, or refuses if another initialize/cleanup is running.
fn enter_busy(reg: &mut Registry, func: &str, what: &'static str) -> Result<Busy, StateError> {
    if let Some(other) = reg.busy {
        return Err(StateError::Invalid(format!(
            "{func} refused: state drivers are being {other}"
        )));
    }
    reg.busy = Some(what);
    Ok(Busy)
}

fn refuse_reentry(what: &str) -> Result<(), StateError> {
    if IN_HOOK.with(|h| h.get()) {
        return Err(StateError::Invalid(format!(
            "{what} called from inside a state driver hook"
        )));
    }
    Ok(())
}

/// Checks a name for registration: non-empty, printable, no '/', bounded.
fn validate_name(name: &str) -> Result<(), StateError> {
    if name.is_empty() {
        return Err(StateError::InvalidArg(
            "state driver name must not be empty".into(),
        ));
    }
    if name.len() > MAX_NAME
        || name.contains('/')
        || name.chars().any(char::is_control)
        || name == "."
        || name == ".."
    {
        return Err(StateError::InvalidArg(format!(
            "state driver name '{}' is not valid (at most {MAX_NAME} printable characters, no '/')",
            shown_name(name)
        )));
    }
    Ok(())
}

/// Longest part of a refused name repeated in a message.
const SHOWN_NAME: usize = 64;

/// `name` for an error message: escaped, and cut after [`SHOWN_NAME`] bytes (with "…") so
/// a 5000-byte name does not make a 5000-byte message.
fn shown_name(name: &str) -> String {
    let mut cut = name.len().min(SHOWN_NAME);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let shown = name[..cut].escape_default().to_string();
    if cut < name.len() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// The tier of a driver that declared none (registered the libvirt 9.0 way) and that the
/// daemon gave no tier with `virtcoreStateDriverSetTier`: libvirt 9.0's hypervisor drivers
/// (by the names they register: QEMU, LXC, LIBXL, bhyve, vz) go to tier 1, every other
/// driver to tier 0, in registration order, as libvirt runs them.
pub fn default_tier(name: &str) -> i32 {
    match name {
        "QEMU" | "LXC" | "LIBXL" | "bhyve" | "vz" => 1,
        _ => 0,
    }
}

/// Adds a driver; returns its index. `unique`: refuse a name already registered (drivers
/// registered with virtcore's extension); libvirt 9.0's `virRegisterStateDriver` accepts
/// duplicates (Debian registers two drivers named "udev"). Drivers registered while others
/// are initialized wait for the next `initialize`, as in libvirt; refused only while an
/// initialize or cleanup runs.
pub fn register(driver: Arc<dyn StateDriver>, unique: bool) -> Result<usize, StateError> {
    refuse_reentry("virRegisterStateDriver")?;
    validate_name(driver.name())?;
    if let Some(t) = driver.tier().filter(|t| *t < 0) {
        return Err(StateError::InvalidArg(format!(
            "state driver '{}' has invalid tier {t} (a tier is 0 or more)",
            driver.name()
        )));
    }
    let mut reg = REGISTRY.lock();
    if let Some(what) = reg.busy {
        return Err(StateError::Invalid(format!(
            "cannot register state driver '{}' while state drivers are being {what}",
            driver.name()
        )));
    }
    if unique && reg.drivers.iter().any(|d| d.name() == driver.name()) {
        return Err(StateError::InvalidArg(format!(
            "state driver '{}' is already registered",
            driver.name()
        )));
    }
    log_debug!(
        "registering state driver '{}' as #{}",
        driver.name(),
        reg.drivers.len()
    );
    reg.drivers.push(driver);
    reg.started.push(false);
    Ok(reg.drivers.len() - 1)
}

/// Sets options for the next `initialize` (parallelism, marker directory, tiers).
pub fn set_options(update: impl FnOnce(&mut InitOptions)) -> Result<(), StateError> {
    refuse_reentry("virtcoreStateSet*")?;
    update(&mut REGISTRY.lock().options);
    Ok(())
}

/// Shutdown steps asked for while `initialize` runs (bits of `SHUTDOWN_*`); see
/// [`request_shutdown`].
static SHUTDOWN_PENDING: AtomicU8 = AtomicU8::new(0);
const SHUTDOWN_PREPARE: u8 = 1;
const SHUTDOWN_WAIT: u8 = 2;
const SHUTDOWN_CLEANUP: u8 = 4;

/// True once a shutdown step was asked for during the running `initialize`: no further
/// driver is initialized or autostarted.
pub(crate) fn shutdown_requested() -> bool {
    SHUTDOWN_PENDING.load(Ordering::SeqCst) != 0
}

/// Initializes every registered driver not yet started, tier by tier; see the module docs
/// and `init.rs`. A second call starts only the drivers registered since (libvirt 9.0).
pub fn initialize(args: &InitArgs, mandatory: bool) -> Result<(), StateError> {
    refuse_reentry("virStateInitialize")?;
    let (drivers, todo, options, _busy) = {
        let mut reg = REGISTRY.lock();
        let busy = enter_busy(&mut reg, "virStateInitialize", "initialized")?;
        // Cleared under the lock that `busy` was set under: a request can only come after.
        SHUTDOWN_PENDING.store(0, Ordering::SeqCst);
        let todo: Vec<usize> = (0..reg.drivers.len())
            .filter(|&i| !reg.started[i])
            .collect();
        (reg.drivers.clone(), todo, reg.options.clone(), busy)
    };
    // Waits for running hooks; new ones see `busy` and refuse instead of queueing.
    let _life = LIFECYCLE.write();
    // A panicking driver hook must not leave the registry marked busy forever.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        init::run(&drivers, &todo, args, mandatory, &options)
    }))
    .unwrap_or_else(|_| {
        Err(StateError::Internal(
            "a state driver hook panicked during initialization".into(),
        ))
    });
    let mut reg = REGISTRY.lock();
    let order = result?;
    for &i in &todo {
        reg.started[i] = true;
    }
    reg.initialized.extend(order);
    let pending = SHUTDOWN_PENDING.swap(0, Ordering::SeqCst);
    if pending == 0 {
        return Ok(());
    }
    // A shutdown was asked for while drivers started: honour it now that no hook runs.
    let order = std::mem::take(&mut reg.initialized);
    reg.started.iter_mut().for_each(|s| *s = false);
    drop(reg);
    shut_down(&drivers, &order, pending);
    Err(StateError::Aborted(format!(
        "state driver start-up was interrupted by a shutdown request; the {} driver(s) initialized were shut down and cleaned up",
        order.len()
    )))
}

/// The deferred shutdown of `initialize`: prepare and wait (in initialization order), then
/// cleanup (reverse), as a daemon would have done had its request come after start-up.
fn shut_down(drivers: &[Arc<dyn StateDriver>], order: &[usize], pending: u8) {
    log_info!("running the shutdown requested during start-up (steps {pending:#x})");
    let each = || order.iter().map(|&i| drivers[i].as_ref());
    let _ = call_each(each(), Hook::ShutdownPrepare);
    let _ = call_each(each(), Hook::ShutdownWait);
    roll_back(drivers, order);
}

/// Records a shutdown step asked for while `initialize` runs, instead of refusing it or
/// waiting for start-up (a hook's helper thread may be the caller: waiting could deadlock).
/// `initialize` stops starting drivers and performs the shutdown before it returns.
/// Returns false when no initialize runs (the caller then does the step itself).
fn request_shutdown(reg: &Registry, step: u8) -> bool {
    if reg.busy != Some("initialized") {
        return false;
    }
    log_info!("shutdown step {step:#x} requested while state drivers start; deferred");
    SHUTDOWN_PENDING.fetch_or(step, Ordering::SeqCst);
    true
}

/// Cleans up initialized drivers in reverse order of initialization. Every driver is
/// cleaned up even if one fails; the first failure is returned. During `initialize`, the
/// cleanup is deferred to its end (see [`request_shutdown`]).
pub fn cleanup() -> Result<(), StateError> {
    refuse_reentry("virStateCleanup")?;
    let _busy = {
        let mut reg = REGISTRY.lock();
        if request_shutdown(&reg, SHUTDOWN_CLEANUP) {
            return Ok(());
        }
        enter_busy(&mut reg, "virStateCleanup", "cleaned up")?
    };
    let _life = LIFECYCLE.write();
    let (drivers, order) = {
        let reg = REGISTRY.lock();
        (reg.drivers.clone(), reg.initialized.clone())
    };
    let result = call_each(
        order.iter().rev().map(|&i| drivers[i].as_ref()),
        Hook::Cleanup,
    );
    let mut reg = REGISTRY.lock();
    reg.initialized.clear();
    reg.started.iter_mut().for_each(|s| *s = false);
    result
}
/// A per-driver lifecycle hook.
#[derive(Clone, Copy, Debug)]
pub enum Hook {
    Cleanup,
    Reload,
    Stop,
    ShutdownPrepare,
    ShutdownWait,
}

impl Hook {
    fn call(self, d: &dyn StateDriver) -> Option<bool> {
        match self {
            Hook::Cleanup => d.cleanup(),
            Hook::Reload => d.reload(),
            Hook::Stop => d.stop(),
            Hook::ShutdownPrepare => d.shutdown_prepare(),
            Hook::ShutdownWait => d.shutdown_wait(),
        }
    }

    /// How messages name the step: "Reload of NAME state driver failed: …".
    fn label(self) -> &'static str {
        match self {
            Hook::Cleanup => "Cleanup",
            Hook::Reload => "Reload",
            Hook::Stop => "Stop",
            Hook::ShutdownPrepare => "Shutdown preparation",
            Hook::ShutdownWait => "Shutdown wait",
        }
    }
}

/// The error for a driver whose hook failed: the driver's own error (code, domain and
/// message, as it reported it) with the step and the driver named in front, like libvirt's
/// "Initialization of NAME state driver failed: MESSAGE".
pub(crate) fn driver_failure(
    name: &str,
    step: &str,
    reported: Option<(i32, i32, String)>,
) -> StateError {
    let (code, domain, msg) = reported.unwrap_or((
        virErrorNumber::VIR_ERR_OPERATION_FAILED as i32,
        virErrorDomain::VIR_FROM_NONE as i32,
        "no error was reported by the driver".into(),
    ));
    StateError::DriverFailed {
        code,
        domain,
        message: format!("{step} of {name} state driver failed: {msg}"),
    }
}

/// Calls `hook` on each driver in turn, all of them even after a failure, and returns the
/// first failure. Cleanup also marks each driver uninitialized.
fn call_each<'a>(
    drivers: impl Iterator<Item = &'a dyn StateDriver>,
    hook: Hook,
) -> Result<(), StateError> {
    let mut first = None;
    for d in drivers {
        log_debug!("{} of state driver '{}'", hook.label(), d.name());
        crate::error::reset_last_error();
        if in_hook(|| hook.call(d)) == Some(false) {
            let err = driver_failure(d.name(), hook.label(), crate::error::last_error());
            log_warn!("{err}");
            first.get_or_insert(err);
        }
        if let Hook::Cleanup = hook {
            d.set_initialized(false);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Calls `hook` on every initialized driver, in initialization order; see [`call_each`].
/// Several threads may do this at once.
/// Refused (not waited for) while initialize or cleanup runs, except the shutdown steps
/// during initialize, which are deferred to its end; see the module docs.
pub fn each_initialized(func: &str, hook: Hook) -> Result<(), StateError> {
    refuse_reentry(func)?;
    {
        let reg = REGISTRY.lock();
        let step = match hook {
            Hook::ShutdownPrepare => SHUTDOWN_PREPARE,
            Hook::ShutdownWait => SHUTDOWN_WAIT,
            _ => 0,
        };
        if step != 0 && request_shutdown(&reg, step) {
            return Ok(());
        }
        if let Some(what) = reg.busy {
            return Err(StateError::Invalid(format!(
                "{func} refused: state drivers are being {what}"
            )));
        }
    }
    // `busy` was clear, so no writer can be waiting for a hook of ours that waits for us.
    let _life = LIFECYCLE.read_recursive();
    let drivers: Vec<Arc<dyn StateDriver>> = {
        let reg = REGISTRY.lock();
        reg.initialized
            .iter()
            .map(|&i| reg.drivers[i].clone())
            .collect()
    };
    log_info!("{func}: {} initialized state driver(s)", drivers.len());
    call_each(drivers.iter().map(|d| d.as_ref()), hook)
}

/// Rolls back: cleans up the drivers of `order` backwards (failures are logged only; the
/// error that caused the rollback is the one that counts).
pub(crate) fn roll_back(drivers: &[Arc<dyn StateDriver>], order: &[usize]) {
    let names: Vec<&str> = order.iter().rev().map(|&i| drivers[i].name()).collect();
    log_info!("rolling back: cleanup of {}", names.join(", "));
    let _ = call_each(
        order.iter().rev().map(|&i| drivers[i].as_ref()),
        Hook::Cleanup,
    );
}

#[cfg(test)]
mod tests;
