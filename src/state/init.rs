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
}

impl InitOptions {
    pub const DEFAULT: InitOptions = InitOptions {
        parallel: 0,
        run_dir: None,
    };
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

/// Runs the whole start-up. On success returns the indices of the initialized drivers in
/// initialization order; on failure everything initialized has been cleaned up again.
pub(super) fn run(
    drivers: &Drivers,
    args: &InitArgs,
    mandatory: bool,
    options: &InitOptions,
) -> Result<Vec<usize>, StateError> {
    let tiers = plan(drivers)?;
    let markers = Markers::resolve(options.run_dir.as_deref(), args);
    let mut order = Vec::new();
    for tier in tiers {
        log_debug!("initializing tier of {} driver(s)", tier.len());
        let outcomes = if options.parallel > 1 && tier.len() > 1 {
            init_parallel(drivers, &tier, args, options.parallel)
        } else {
            init_sequential(drivers, &tier, args, mandatory)
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
            if o.outcome == InitOutcome::Complete {
                autostart(drivers[i].as_ref(), &markers);
            }
        }
    }
    Ok(order)
}

/// Checks tiers and declared needs before anything runs; returns the tiers in ascending
/// order, each with its drivers in registration order.
fn plan(drivers: &Drivers) -> Result<Vec<Vec<usize>>, StateError> {
    for d in drivers {
        if d.tier() < 0 {
            return Err(StateError::InvalidArg(format!(
                "state driver '{}' has invalid tier {}",
                d.name(),
                d.tier()
            )));
        }
    }
    for d in drivers {
        for need in d.needs() {
            let Some(dep) = drivers.iter().find(|x| x.name() == need) else {
                return Err(StateError::Config(format!(
                    "state driver '{}' needs state driver '{need}', which is not registered",
                    d.name()
                )));
            };
            if dep.tier() >= d.tier() {
                return Err(StateError::Config(format!(
                    "state driver '{}' (tier {}) needs state driver '{}' (tier {}), which must be in a lower tier",
                    d.name(),
                    d.tier(),
                    dep.name(),
                    dep.tier()
                )));
            }
        }
    }
    let mut idx: Vec<usize> = (0..drivers.len()).collect();
    idx.sort_by_key(|&i| drivers[i].tier()); // stable: registration order inside a tier
    let mut tiers: Vec<Vec<usize>> = Vec::new();
    for i in idx {
        match tiers.last_mut() {
            Some(t) if drivers[t[0]].tier() == drivers[i].tier() => t.push(i),
            _ => tiers.push(vec![i]),
        }
    }
    Ok(tiers)
}

fn init_one(d: &dyn StateDriver, args: &InitArgs) -> Outcome {
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
    log_debug!(
        "initializing state driver '{}' (tier {})",
        d.name(),
        d.tier()
    );
    reset_last_error();
    let outcome = in_hook(|| d.initialize(args));
    let error = (outcome == InitOutcome::Error).then(last_error).flatten();
    log_debug!("state driver '{}' initialize: {outcome:?}", d.name());
    Outcome { outcome, error }
}

/// Sequential: stops at the first failure, like libvirt; later drivers are not run.
fn init_sequential(
    drivers: &Drivers,
    tier: &[usize],
    args: &InitArgs,
    mandatory: bool,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(tier.len());
    for &i in tier {
        let o = init_one(drivers[i].as_ref(), args);
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
    tier: &[usize],
    args: &InitArgs,
    threads: usize,
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Outcome>>> = tier.iter().map(|_| Mutex::new(None)).collect();
    let stack = worker_stack_size();
    let work = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some(&i) = tier.get(k) else { break };
        *slots[k].lock() = Some(init_one(drivers[i].as_ref(), args));
    };
    std::thread::scope(|s| {
        // threads - 1 workers: the calling thread is the last one, so the tier completes
        // even if no worker could be started.
        for _ in 1..threads.min(tier.len()) {
            let worker = std::thread::Builder::new()
                .name("virtcore-state-init".into())
                .stack_size(stack);
            if let Err(e) = worker.spawn_scoped(s, work) {
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
