//! The start-up algorithm: dependency check, tiers, per-tier initialize then autostart,
//! optional parallelism inside a tier, rollback on failure.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::marker::Markers;
use super::{in_hook, InitArgs, InitOutcome, StateDriver, StateError};
use crate::error::{last_error, reset_last_error, virErrorDomain, virErrorNumber};

/// Caller-chosen options of `virStateInitialize` that libvirt's signature has no room for.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Threads used to initialize the drivers of one tier; 0 or 1 = sequential.
    pub parallel: usize,
    /// Directory of the once-per-boot autostart markers; `None` = derived from the
    /// arguments (see `marker.rs`).
    pub run_dir: Option<PathBuf>,
    /// Tiers the daemon assigned by driver name (`virtcoreStateDriverSetTier`); the last
    /// entry for a name counts. They override what a driver declared.
    pub tiers: Vec<(String, i32)>,
    /// Run on each worker thread of a parallel tier before it initializes any driver: the
    /// daemon's per-thread set-up (libvirtd sets an identity on its start-up thread).
    pub thread_hook: Option<ThreadHook>,
}

/// The daemon's per-worker set-up (see [`InitOptions::thread_hook`]).
#[derive(Clone)]
pub struct ThreadHook(pub Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for ThreadHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadHook")
    }
}

impl InitOptions {
    pub const DEFAULT: InitOptions = InitOptions {
        parallel: 0,
        run_dir: None,
        tiers: Vec::new(),
        thread_hook: None,
    };

    /// The tier `d` runs in: the daemon's choice, else the driver's, else the default.
    pub fn tier_of(&self, d: &dyn StateDriver) -> i32 {
        self.tiers
            .iter()
            .rev()
            .find(|(n, _)| n == d.name())
            .map(|(_, t)| *t)
            .or(d.tier())
            .unwrap_or_else(|| super::default_tier(d.name()))
    }
}

impl Default for InitOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

type Drivers = [Arc<dyn StateDriver>];

/// What one driver's initialize produced, with its error if it failed.
struct Outcome {
    outcome: InitOutcome,
    error: Option<(i32, i32, String)>,
}

/// Runs the start-up of the drivers `todo` (indices into `drivers`). On success returns the
/// indices of the initialized drivers in initialization order; on failure everything this
/// call initialized has been cleaned up again. Once a shutdown is requested
/// ([`super::shutdown_requested`]) no further driver is initialized or autostarted.
pub(super) fn run(
    drivers: &Drivers,
    todo: &[usize],
    args: &InitArgs,
    mandatory: bool,
    options: &InitOptions,
) -> Result<Vec<usize>, StateError> {
    let tiers = plan(drivers, todo, options)?;
    let markers = Markers::resolve(options.run_dir.as_deref(), args);
    let mut order = Vec::new();
    for (tier_no, tier) in tiers {
        if super::shutdown_requested() {
            break;
        }
        log_info!(
            "starting tier {tier_no}: {}",
            tier.iter()
                .map(|&i| drivers[i].name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let outcomes = if options.parallel > 1 && tier.len() > 1 {
            init_parallel(drivers, tier_no, &tier, args, options)
        } else {
            init_sequential(drivers, tier_no, &tier, args, mandatory)
        };
        // Record every completed driver first, so a failure rolls all of them back.
        for (&i, o) in tier.iter().zip(&outcomes) {
            if o.outcome == InitOutcome::Complete {
                drivers[i].set_initialized(true);
                order.push(i);
            }
        }
        if let Some(err) = first_failure(drivers, &tier, &outcomes, mandatory) {
            log_error!("{err}");
            super::roll_back(drivers, &order);
            return Err(err);
        }
        for (&i, o) in tier.iter().zip(&outcomes) {
            if o.outcome == InitOutcome::Complete && !super::shutdown_requested() {
                autostart(drivers[i].as_ref(), &markers);
            }
        }
    }
    Ok(order)
}

/// Checks tiers and declared needs before anything runs; returns the tiers of `todo` in
/// ascending order, each with its number and its drivers in registration order. A need is
/// met by every registered driver of that name (names may repeat) being in a lower tier.
fn plan(
    drivers: &Drivers,
    todo: &[usize],
    options: &InitOptions,
) -> Result<Vec<(i32, Vec<usize>)>, StateError> {
    let tier = |d: &dyn StateDriver| options.tier_of(d);
    for &i in todo {
        let d = drivers[i].as_ref();
        if tier(d) < 0 {
            return Err(StateError::InvalidArg(format!(
                "state driver '{}' has invalid tier {}",
                d.name(),
                tier(d)
            )));
        }
    }
    for &i in todo {
        let d = drivers[i].as_ref();
        for need in d.needs() {
            let mut deps = drivers.iter().filter(|x| x.name() == need).peekable();
            if deps.peek().is_none() {
                return Err(StateError::Config(format!(
                    "state driver '{}' needs state driver '{need}', which is not registered",
                    d.name()
                )));
            }
            if let Some(dep) = deps.find(|dep| tier(dep.as_ref()) >= tier(d)) {
                return Err(StateError::Config(format!(
                    "state driver '{}' (tier {}) needs state driver '{}' (tier {}), which must be in a lower tier",
                    d.name(),
                    tier(d),
                    dep.name(),
                    tier(dep.as_ref())
                )));
            }
        }
    }
    let mut idx: Vec<usize> = todo.to_vec();
    idx.sort_by_key(|&i| tier(drivers[i].as_ref())); // stable: registration order inside a tier
    let mut tiers: Vec<(i32, Vec<usize>)> = Vec::new();
    for i in idx {
        let t = tier(drivers[i].as_ref());
        match tiers.last_mut() {
            Some((n, v)) if *n == t => v.push(i),
            _ => tiers.push((t, vec![i])),
        }
    }
    Ok(tiers)
}

fn init_one(d: &dyn StateDriver, tier: i32, args: &InitArgs) -> Outcome {
    if !d.has_initialize() {
        // libvirt: a driver without the hook is never initialized, autostarted or cleaned up,
        // and does not count against `mandatory`.
        log_debug!(
            "state driver '{}' has no stateInitialize; nothing to do",
            d.name()
        );
        return Outcome {
            outcome: InitOutcome::NoHook,
            error: None,
        };
    }
    if super::shutdown_requested() {
        // Not started: the shutdown asked for during start-up is honoured instead.
        return Outcome {
            outcome: InitOutcome::NoHook,
            error: None,
        };
    }
    log_debug!("initializing state driver '{}' (tier {tier})", d.name());
    reset_last_error();
    let started = std::time::Instant::now();
    let outcome = in_hook(|| d.initialize(args));
    let error = (outcome == InitOutcome::Error).then(last_error).flatten();
    // Info level: the log of a daemon's start-up shows each driver's tier and time.
    log_info!(
        "state driver '{}' (tier {tier}): initialize {outcome:?} in {:.3} s",
        d.name(),
        started.elapsed().as_secs_f64()
    );
    Outcome { outcome, error }
}

/// Sequential: stops at the first failure, like libvirt; later drivers are not run.
fn init_sequential(
    drivers: &Drivers,
    tier_no: i32,
    tier: &[usize],
    args: &InitArgs,
    mandatory: bool,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(tier.len());
    for &i in tier {
        let o = init_one(drivers[i].as_ref(), tier_no, args);
        let stop =
            o.outcome == InitOutcome::Error || (mandatory && o.outcome == InitOutcome::Skipped);
        out.push(o);
        if stop {
            break;
        }
    }
    out
}

/// Parallel: up to `threads` workers take drivers in registration order. Every driver of
/// the tier runs; the caller then judges the outcomes in registration order, so the error
/// returned is the one sequential mode would return (drivers that completed after it are
/// rolled back with the rest).
fn init_parallel(
    drivers: &Drivers,
    tier_no: i32,
    tier: &[usize],
    args: &InitArgs,
    options: &InitOptions,
) -> Vec<Outcome> {
    let threads = options.parallel;
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Outcome>>> = tier.iter().map(|_| Mutex::new(None)).collect();
    let stack = worker_stack_size();
    let work = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some(&i) = tier.get(k) else { break };
        *slots[k].lock() = Some(init_one(drivers[i].as_ref(), tier_no, args));
    };
    std::thread::scope(|s| {
        // threads - 1 workers: the calling thread is the last one, so the tier completes
        // even if no worker could be started.
        for _ in 1..threads.min(tier.len()) {
            let worker = std::thread::Builder::new()
                .name("virtcore-state-init".into())
                .stack_size(stack);
            let hook = options.thread_hook.clone();
            let work = &work;
            let run = move || {
                if let Some(ThreadHook(h)) = hook {
                    in_hook(|| h());
                }
                work()
            };
            if let Err(e) = worker.spawn_scoped(s, run) {
                log_warn!("cannot start a state-driver initialization thread: {e}");
            }
        }
        work();
    });
    slots
        .into_iter()
        .map(|m| m.into_inner().expect("every driver of the tier ran"))
        .collect()
}

/// Stack for initialization workers: what the main thread gets (RLIMIT_STACK, at least
/// 8 MiB), so a driver that works sequentially on the main thread works in a worker too.
fn worker_stack_size() -> usize {
    const MIN: usize = 8 << 20;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit into a local struct.
    let cur = if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut lim) } == 0 {
        lim.rlim_cur
    } else {
        0
    };
    if cur == libc::RLIM_INFINITY {
        return 64 << 20;
    }
    usize::try_from(cur).unwrap_or(MIN).clamp(MIN, 1 << 30)
}

/// The error sequential mode would stop at: the first failure in registration order.
fn first_failure(
    drivers: &Drivers,
    tier: &[usize],
    outcomes: &[Outcome],
    mandatory: bool,
) -> Option<StateError> {
    tier.iter().zip(outcomes).find_map(|(&i, o)| {
        let name = drivers[i].name();
        match o.outcome {
            InitOutcome::Error => Some(super::driver_failure(
                name,
                "Initialization",
                o.error.clone(),
            )),
            InitOutcome::Skipped if mandatory => Some(StateError::DriverFailed {
                code: virErrorNumber::VIR_ERR_OPERATION_FAILED as i32,
                domain: virErrorDomain::VIR_FROM_NONE as i32,
                message: format!("Initialization of mandatory {name} state driver skipped"),
            }),
            _ => None,
        }
    })
}

/// Runs a driver's autostart unless it already ran during this boot.
fn autostart(d: &dyn StateDriver, markers: &Markers) {
    if !d.has_autostart() {
        return;
    }
    if markers.done(d.name()) {
        log_info!(
            "state driver '{}' already autostarted during this boot; not again",
            d.name()
        );
        return;
    }
    log_debug!("autostarting state driver '{}'", d.name());
    in_hook(|| d.autostart());
    markers.record(d.name());
}
