//! Tests of the start-up algorithm on Rust drivers (the process-global registry and the C
//! vtables are tested from C, one process per scenario, in c-tests/test_state_*.c).

use std::sync::Arc;

use parking_lot::Mutex;

use super::init::{run, InitOptions};
use super::*;
use crate::error::Error;

type Trace = Arc<Mutex<Vec<String>>>;

struct TestDriver {
    name: String,
    tier: i32,
    needs: Vec<String>,
    outcome: InitOutcome,
    trace: Trace,
}

impl StateDriver for TestDriver {
    fn name(&self) -> &str {
        &self.name
    }
    fn tier(&self) -> Option<i32> {
        Some(self.tier)
    }
    fn needs(&self) -> Vec<String> {
        self.needs.clone()
    }
    fn has_initialize(&self) -> bool {
        self.outcome != InitOutcome::NoHook
    }
    fn initialize(&self, _: &InitArgs) -> InitOutcome {
        // Give parallel workers a chance to interleave.
        std::thread::sleep(std::time::Duration::from_millis(2));
        if self.outcome == InitOutcome::Error {
            Error::new(
                virErrorDomain::VIR_FROM_STORAGE,
                virErrorNumber::VIR_ERR_INTERNAL_ERROR,
                format!("{} broke", self.name),
            )
            .report();
        }
        self.trace.lock().push(format!("init {}", self.name));
        self.outcome
    }
    fn has_autostart(&self) -> bool {
        true
    }
    fn autostart(&self) {
        self.trace.lock().push(format!("auto {}", self.name));
    }
    fn cleanup(&self) -> Option<bool> {
        self.trace.lock().push(format!("cleanup {}", self.name));
        Some(true)
    }
    fn reload(&self) -> Option<bool> {
        None
    }
    fn stop(&self) -> Option<bool> {
        None
    }
    fn shutdown_prepare(&self) -> Option<bool> {
        None
    }
    fn shutdown_wait(&self) -> Option<bool> {
        None
    }
    fn set_initialized(&self, _: bool) {}
}

/// `run` over every driver of `d`.
fn run_all(
    d: &[Arc<dyn StateDriver>],
    args: &InitArgs,
    mandatory: bool,
    o: &InitOptions,
) -> Result<Vec<usize>, StateError> {
    let all: Vec<usize> = (0..d.len()).collect();
    run(d, &all, args, mandatory, o)
}

fn drivers(trace: &Trace, spec: &[(&str, i32, InitOutcome, &[&str])]) -> Vec<Arc<dyn StateDriver>> {
    spec.iter()
        .map(|(n, t, o, needs)| {
            Arc::new(TestDriver {
                name: n.to_string(),
                tier: *t,
                needs: needs.iter().map(|s| s.to_string()).collect(),
                outcome: *o,
                trace: trace.clone(),
            }) as Arc<dyn StateDriver>
        })
        .collect()
}

fn options(parallel: usize) -> (tempfile::TempDir, InitOptions) {
    let dir = tempfile::tempdir().unwrap();
    let o = InitOptions {
        parallel,
        run_dir: Some(dir.path().to_path_buf()),
        ..InitOptions::DEFAULT
    };
    (dir, o)
}

use InitOutcome::*;

#[test]
fn tiers_initialize_all_then_autostart_all() {
    let trace = Trace::default();
    let d = drivers(
        &trace,
        &[
            ("qemu", 1, Complete, &["storage"]),
            ("storage", 0, Complete, &[]),
            ("secret", 0, Complete, &[]),
            ("net", 0, Skipped, &[]),
        ],
    );
    let (_dir, o) = options(0);
    let order = run_all(&d, &InitArgs::default(), false, &o).unwrap();
    assert_eq!(order, vec![1, 2, 0]);
    assert_eq!(
        *trace.lock(),
        [
            "init storage",
            "init secret",
            "init net",
            "auto storage",
            "auto secret",
            "init qemu",
            "auto qemu"
        ]
    );
    trace.lock().clear();
    assert!(call_each(order.iter().rev().map(|&i| d[i].as_ref()), Hook::Cleanup).is_ok());
    assert_eq!(
        *trace.lock(),
        ["cleanup qemu", "cleanup secret", "cleanup storage"]
    );
}

#[test]
fn failure_rolls_back_in_reverse_and_names_the_driver() {
    for parallel in [0, 4] {
        let trace = Trace::default();
        let d = drivers(
            &trace,
            &[
                ("a", 0, Complete, &[]),
                ("b", 1, Complete, &[]),
                ("c", 1, Error, &[]),
                ("d", 1, Complete, &[]),
            ],
        );
        let (_dir, o) = options(parallel);
        let err = run_all(&d, &InitArgs::default(), false, &o).unwrap_err();
        let e: Error = err.into();
        assert_eq!(
            e.full_message(),
            "Initialization of c state driver failed: internal error: c broke"
        );
        assert_eq!(e.code, virErrorNumber::VIR_ERR_INTERNAL_ERROR);
        assert_eq!(e.domain, virErrorDomain::VIR_FROM_STORAGE);
        let t = trace.lock().clone();
        assert!(!t.iter().any(|s| s.starts_with("auto b")), "{t:?}");
        let cleanups: Vec<_> = t
            .iter()
            .filter(|s| s.starts_with("cleanup"))
            .cloned()
            .collect();
        if parallel == 0 {
            assert!(!t.contains(&"init d".to_string()));
            assert_eq!(cleanups, ["cleanup b", "cleanup a"]);
        } else {
            assert_eq!(cleanups, ["cleanup d", "cleanup b", "cleanup a"]);
        }
    }
}

#[test]
fn parallel_keeps_the_autostart_order() {
    let names: Vec<String> = (0..20).map(|i| format!("d{i:02}")).collect();
    let spec: Vec<(&str, i32, InitOutcome, &[&str])> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), (i / 5) as i32, Complete, &[][..]))
        .collect();
    let autos = |parallel| {
        let trace = Trace::default();
        let (_dir, o) = options(parallel);
        run_all(&drivers(&trace, &spec), &InitArgs::default(), false, &o).unwrap();
        let t = trace.lock().clone();
        t.into_iter()
            .filter(|s| s.starts_with("auto"))
            .collect::<Vec<_>>()
    };
    assert_eq!(autos(0), autos(4));
    assert_eq!(autos(0).len(), 20);
}

#[test]
fn needs_are_checked_before_anything_runs() {
    let trace = Trace::default();
    let (_dir, o) = options(0);
    let d = drivers(
        &trace,
        &[
            ("storage", 0, Complete, &[]),
            ("qemu", 1, Complete, &["network"]),
        ],
    );
    let e: Error = run_all(&d, &InitArgs::default(), false, &o)
        .unwrap_err()
        .into();
    assert!(
        e.message.contains("'qemu'")
            && e.message.contains("'network'")
            && e.message.contains("not registered"),
        "{e}"
    );
    let d = drivers(
        &trace,
        &[
            ("storage", 1, Complete, &[]),
            ("qemu", 1, Complete, &["storage"]),
        ],
    );
    let e: Error = run_all(&d, &InitArgs::default(), false, &o)
        .unwrap_err()
        .into();
    assert!(
        e.message.contains("'qemu' (tier 1)") && e.message.contains("'storage' (tier 1)"),
        "{e}"
    );
    assert_eq!(e.code, virErrorNumber::VIR_ERR_CONFIG_UNSUPPORTED);
    assert!(trace.lock().is_empty());
}

#[test]
fn mandatory_refuses_a_skipped_driver() {
    let trace = Trace::default();
    let (_dir, o) = options(0);
    let d = drivers(&trace, &[("a", 0, Complete, &[]), ("net", 0, Skipped, &[])]);
    let e: Error = run_all(&d, &InitArgs::default(), true, &o)
        .unwrap_err()
        .into();
    assert_eq!(
        e.full_message(),
        "Initialization of mandatory net state driver skipped"
    );
    assert_eq!(trace.lock().last().unwrap(), "cleanup a");
}

#[test]
fn autostart_runs_once_per_boot() {
    let trace = Trace::default();
    let (_dir, o) = options(0);
    let d = drivers(&trace, &[("storage", 0, Complete, &[])]);
    run_all(&d, &InitArgs::default(), false, &o).unwrap();
    run_all(&d, &InitArgs::default(), false, &o).unwrap();
    assert_eq!(
        *trace.lock(),
        ["init storage", "auto storage", "init storage"]
    );
    // A marker from another boot is stale.
    std::fs::write(
        o.run_dir.as_ref().unwrap().join("autostart/storage"),
        "another-boot\n",
    )
    .unwrap();
    run_all(&d, &InitArgs::default(), false, &o).unwrap();
    assert_eq!(trace.lock().last().unwrap(), "auto storage");
}

#[test]
fn a_driver_without_initialize_is_ignored_even_when_mandatory() {
    let trace = Trace::default();
    let (dir, o) = options(0);
    let d = drivers(
        &trace,
        &[("hookless", 0, NoHook, &[]), ("a", 0, Complete, &[])],
    );
    let order = run_all(&d, &InitArgs::default(), true, &o).unwrap();
    assert_eq!(order, vec![1]);
    assert_eq!(*trace.lock(), ["init a", "auto a"]);
    drop(dir);
}

#[test]
fn markers_need_no_directory_until_an_autostart_ran() {
    let trace = Trace::default();
    let dir = tempfile::tempdir().unwrap();
    let o = InitOptions {
        parallel: 0,
        run_dir: Some(dir.path().join("run")),
        ..InitOptions::DEFAULT
    };
    run_all(
        &drivers(&trace, &[("a", 0, Skipped, &[])]),
        &InitArgs::default(),
        false,
        &o,
    )
    .unwrap();
    assert!(!dir.path().join("run").exists());
    run_all(
        &drivers(&trace, &[("a", 0, Complete, &[])]),
        &InitArgs::default(),
        false,
        &o,
    )
    .unwrap();
    assert!(dir.path().join("run/autostart/a").exists());
}

#[test]
fn names_are_validated() {
    for bad in ["", "a/b", "..", "x\ny"] {
        assert!(validate_name(bad).is_err(), "{bad:?}");
    }
    assert!(validate_name(&"n".repeat(MAX_NAME + 1)).is_err());
    assert!(validate_name("QEMU").is_ok());
}

#[test]
fn tiers_come_from_the_daemon_then_the_driver_then_the_default() {
    struct Plain(&'static str);
    impl StateDriver for Plain {
        fn name(&self) -> &str {
            self.0
        }
        fn tier(&self) -> Option<i32> {
            None
        }
        fn needs(&self) -> Vec<String> {
            Vec::new()
        }
        fn has_initialize(&self) -> bool {
            false
        }
        fn initialize(&self, _: &InitArgs) -> InitOutcome {
            InitOutcome::NoHook
        }
        fn has_autostart(&self) -> bool {
            false
        }
        fn autostart(&self) {}
        fn cleanup(&self) -> Option<bool> {
            None
        }
        fn reload(&self) -> Option<bool> {
            None
        }
        fn stop(&self) -> Option<bool> {
            None
        }
        fn shutdown_prepare(&self) -> Option<bool> {
            None
        }
        fn shutdown_wait(&self) -> Option<bool> {
            None
        }
        fn set_initialized(&self, _: bool) {}
    }
    let mut o = InitOptions::DEFAULT;
    assert_eq!(o.tier_of(&Plain("QEMU")), 1);
    assert_eq!(o.tier_of(&Plain("udev")), 0);
    o.tiers.push(("udev".into(), 3));
    o.tiers.push(("udev".into(), 2));
    assert_eq!(o.tier_of(&Plain("udev")), 2);
    let trace = Trace::default();
    let declared = drivers(&trace, &[("udev", 5, Complete, &[])]);
    assert_eq!(o.tier_of(declared[0].as_ref()), 2);
    let declared = drivers(&trace, &[("net", 5, Complete, &[])]);
    assert_eq!(o.tier_of(declared[0].as_ref()), 5);
}
