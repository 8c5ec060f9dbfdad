//! Once-per-boot autostart markers.
//!
//! After a driver's autostart ran, a file `<run dir>/autostart/<driver name>` is written
//! holding the kernel's boot id. A later start of the daemon in the same boot finds it and
//! skips the autostart: what is running is reconnected by the driver's initialize, and what
//! the user stopped stays stopped (libvirt BZ 1755303). The run directory is meant to be on
//! tmpfs (cleared at boot); the boot id makes a marker that survived a reboot anyway stale.
//!
//! Marker problems never fail start-up: without a usable directory autostart simply runs,
//! and a warning is logged.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::InitArgs;

pub(super) struct Markers {
    /// `<run dir>/autostart`, created when the first marker is written.
    dir: PathBuf,
}

/// The kernel's id of the current boot ("unknown" if /proc is not mounted).
fn boot_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map_or_else(|_| "unknown".into(), |s| s.trim().to_string())
    })
}

/// The run directory: the explicit one, else `<root>/run/virtcore` for an embedded root,
/// `/run/virtcore` when privileged, `$XDG_RUNTIME_DIR/virtcore` or `/tmp/virtcore-UID`.
pub(super) fn default_run_dir(args: &InitArgs) -> PathBuf {
    if let Some(root) = &args.root {
        return Path::new(root).join("run/virtcore");
    }
    if args.privileged {
        return PathBuf::from("/run/virtcore");
    }
    match crate::ffi::secure_getenv("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => Path::new(&d).join("virtcore"),
        _ => PathBuf::from(format!("/tmp/virtcore-{}", unsafe { libc::getuid() })),
    }
}

impl Markers {
    pub(super) fn resolve(explicit: Option<&Path>, args: &InitArgs) -> Markers {
        let base = explicit.map_or_else(|| default_run_dir(args), Path::to_path_buf);
        Markers {
            dir: base.join("autostart"),
        }
    }

    /// True if `name` already autostarted during this boot.
    pub(super) fn done(&self, name: &str) -> bool {
        fs::read_to_string(self.dir.join(name)).is_ok_and(|id| id.trim() == boot_id())
    }

    /// Records that `name` autostarted; written to a temporary file and renamed, so a
    /// killed process leaves either no marker or a whole one.
    pub(super) fn record(&self, name: &str) {
        let dir = &self.dir;
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let result = fs::create_dir_all(dir)
            .and_then(|()| fs::File::create(&tmp))
            .and_then(|mut f| f.write_all(format!("{}\n", boot_id()).as_bytes()))
            .and_then(|()| fs::rename(&tmp, dir.join(name)));
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            log_warn!(
                "cannot record autostart of '{name}' in '{}': {e}",
                dir.display()
            );
        }
    }
}
