//! Once-per-boot autostart markers.
//!
//! After a driver's autostart ran, a file `<run dir>/autostart/<driver name>` is written
//! holding the kernel's boot id. A later start of the daemon in the same boot finds it and
//! skips the autostart: what is running is reconnected by the driver's initialize, and what
//! the user stopped stays stopped (libvirt BZ 1755303). The run directory is meant to be on
//! tmpfs (cleared at boot); the boot id makes a marker that survived a reboot anyway stale.
//!
//! The default run directories can be shared (`/run/virtcore`, `$XDG_RUNTIME_DIR/virtcore`,
//! `/tmp/virtcore-UID`) and, for `/tmp`, even created first by another local user. So:
//! - markers of different daemons are kept apart by a per-program subdirectory of the
//!   shared directory (the executable's name); an explicit run dir or a `root` already
//!   belongs to one daemon and is used as is;
//! - every directory on the way is created 0700 and then opened without following
//!   symlinks and checked: owned by this process's effective uid and not writable by group
//!   or others. A directory that fails is refused (logged as an error) and no marker in it
//!   is believed or written: autostart then runs at every start, as with no usable
//!   directory at all. Running autostart again is the safe side: a planted marker could
//!   otherwise keep guests from ever being started;
//! - markers are read and written relative to the checked directory's descriptor, never
//!   following a symlink, only as regular files, with `O_NONBLOCK` so a FIFO cannot block
//!   start-up, and written to a temporary file that is renamed over the marker.
//!
//! Marker problems never fail start-up; each is logged (error or warning).

use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::InitArgs;

/// The markers of one `virStateInitialize`.
pub(super) struct Markers {
    /// `<run dir>/autostart`, for messages.
    dir: PathBuf,
    /// The run dir and the subdirectories to create and check below it, in order.
    base: PathBuf,
    subdirs: Vec<String>,
    /// The checked `autostart` directory, opened on first use (a daemon without autostart
    /// hooks touches nothing), or why it is not used.
    opened: OnceLock<Result<OwnedFd, String>>,
}

/// The kernel's id of the current boot ("unknown" if /proc is not mounted).
fn boot_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map_or_else(|_| "unknown".into(), |s| s.trim().to_string())
    })
}

/// This daemon's identity inside a shared run directory: its executable's file name
/// (stable across restarts, distinct between daemons), made safe as a file name.
fn program_name() -> String {
    let exe = fs::read_link("/proc/self/exe")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .map(|n| n.trim_end_matches(" (deleted)").to_string())
        .or_else(|| {
            let arg0 = std::env::args_os().next()?;
            Some(Path::new(&arg0).file_name()?.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let clean: String = exe
        .chars()
        .take(64)
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '+' | '.' => c,
            _ => '_',
        })
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        format!("program{clean}")
    } else {
        clean
    }
}

/// The run directory and, for a shared default one, the daemon's subdirectory: the
/// explicit one, else `<root>/run/virtcore` for an embedded root, else
/// `/run/virtcore/PROGRAM` when privileged, `$XDG_RUNTIME_DIR/virtcore/PROGRAM` or
/// `/tmp/virtcore-EUID/PROGRAM`.
fn run_dir(explicit: Option<&Path>, args: &InitArgs) -> (PathBuf, Vec<String>) {
    if let Some(dir) = explicit {
        return (dir.to_path_buf(), Vec::new());
    }
    if let Some(root) = &args.root {
        return (Path::new(root).join("run/virtcore"), Vec::new());
    }
    let shared = if args.privileged {
        PathBuf::from("/run/virtcore")
    } else {
        match crate::ffi::secure_getenv("XDG_RUNTIME_DIR") {
            Some(d) if !d.is_empty() => Path::new(&d).join("virtcore"),
            // SAFETY: geteuid cannot fail.
            _ => PathBuf::from(format!("/tmp/virtcore-{}", unsafe { libc::geteuid() })),
        }
    };
    (shared, vec![program_name()])
}

fn cstr(name: &OsStr) -> Result<CString, String> {
    CString::new(name.as_bytes()).map_err(|_| "the name contains a NUL byte".to_string())
}

fn errno_msg() -> String {
    std::io::Error::last_os_error().to_string()
}

/// Opens `name` (relative to `at`, or a path when `at` is None) as a directory without
/// following a symlink, creating it 0700 first if missing, and checks who may write it.
fn open_checked_dir(at: Option<&OwnedFd>, name: &OsStr, shown: &Path) -> Result<OwnedFd, String> {
    let c = cstr(name)?;
    let dirfd = at.map_or(libc::AT_FDCWD, |f| f.as_raw_fd());
    // SAFETY: valid C string and descriptor; plain syscalls.
    if unsafe { libc::mkdirat(dirfd, c.as_ptr(), 0o700) } < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(format!(
                "cannot create directory '{}': {e}",
                shown.display()
            ));
        }
    }
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: as above; the descriptor is owned right away.
    let fd = unsafe { libc::openat(dirfd, c.as_ptr(), flags) };
    if fd < 0 {
        return Err(format!(
            "cannot open directory '{}' (a symlink or not a directory?): {}",
            shown.display(),
            errno_msg()
        ));
    }
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = fstat(&fd).map_err(|e| format!("cannot stat '{}': {e}", shown.display()))?;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if st.st_uid != me {
        return Err(format!(
            "directory '{}' is owned by uid {}, not by this process (uid {me})",
            shown.display(),
            st.st_uid
        ));
    }
    if st.st_mode & 0o022 != 0 {
        return Err(format!(
            "directory '{}' is writable by group or others (mode {:04o})",
            shown.display(),
            st.st_mode & 0o7777
        ));
    }
    Ok(fd)
}

fn fstat(fd: &OwnedFd) -> Result<libc::stat, String> {
    // SAFETY: a zeroed stat is a valid out-buffer for fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(errno_msg());
    }
    Ok(st)
}

/// `openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)` as a `File`.
fn open_at(dir: &OwnedFd, name: &str, flags: i32, mode: libc::mode_t) -> std::io::Result<File> {
    let c = CString::new(name).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid descriptor and C string; the descriptor is owned right away.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, mode as libc::c_uint) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn unlink_at(dir: &OwnedFd, name: &str) {
    if let Ok(c) = CString::new(name) {
        // SAFETY: valid descriptor and C string.
        unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) };
    }
}

fn rename_at(dir: &OwnedFd, from: &str, to: &str) -> std::io::Result<()> {
    let (f, t) = (CString::new(from)?, CString::new(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: valid descriptor and C strings.
    if unsafe { libc::renameat(d, f.as_ptr(), d, t.as_ptr()) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl Markers {
    pub(super) fn resolve(explicit: Option<&Path>, args: &InitArgs) -> Markers {
        let (base, mut subdirs) = run_dir(explicit, args);
        subdirs.push("autostart".into());
        let dir = subdirs.iter().fold(base.clone(), |p, s| p.join(s));
        Markers {
            dir,
            base,
            subdirs,
            opened: OnceLock::new(),
        }
    }

    /// The checked `autostart` directory; on the first failure the refusal is logged once,
    /// as an error.
    fn open(&self) -> Result<&OwnedFd, &str> {
        let mut first = false;
        let r = self.opened.get_or_init(|| {
            first = true;
            // Parents of the run dir (e.g. ROOT/run) are created plainly: only the run dir
            // and what is below it hold markers.
            if let Some(parent) = self.base.parent() {
                let _ = fs::create_dir_all(parent);
            }
            let mut fd = open_checked_dir(None, self.base.as_os_str(), &self.base)?;
            let mut shown = self.base.clone();
            for sub in &self.subdirs {
                shown.push(sub);
                fd = open_checked_dir(Some(&fd), OsStr::new(sub), &shown)?;
            }
            Ok(fd)
        });
        if let (true, Err(why)) = (first, r) {
            log_error!(
                "autostart run directory refused: {why}; no marker there is believed or \
                 written, so autostart runs at every start"
            );
        }
        r.as_ref().map_err(String::as_str)
    }

    /// True if `name` already autostarted during this boot.
    pub(super) fn done(&self, name: &str) -> bool {
        let Ok(dir) = self.open() else {
            return false;
        };
        let shown = self.dir.join(name);
        let mut f = match open_at(dir, name, libc::O_RDONLY | libc::O_NONBLOCK, 0) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return false,
            Err(e) => {
                log_warn!(
                    "autostart marker '{}' cannot be opened ({e}); ignored, autostart runs",
                    shown.display()
                );
                return false;
            }
        };
        match f.metadata() {
            Ok(m) if m.is_file() => {}
            _ => {
                log_warn!(
                    "autostart marker '{}' is not a regular file; ignored, autostart runs",
                    shown.display()
                );
                return false;
            }
        }
        let mut text = String::new();
        // A boot id is 36 bytes; anything much longer is not a marker of ours.
        let _ = Read::take(&mut f, 256).read_to_string(&mut text);
        text.trim() == boot_id()
    }

    /// Records that `name` autostarted; written to a temporary file and renamed, so a
    /// killed process leaves either no marker or a whole one. Failures are warnings.
    pub(super) fn record(&self, name: &str) {
        let dir = match self.open() {
            Ok(d) => d,
            Err(why) => {
                log_warn!("cannot record autostart of '{name}': {why}");
                return;
            }
        };
        let tmp = format!(".{name}.{}.tmp", std::process::id());
        unlink_at(dir, &tmp);
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
        let result = open_at(dir, &tmp, flags, 0o600)
            .and_then(|mut f| {
                f.write_all(format!("{}\n", boot_id()).as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| rename_at(dir, &tmp, name));
        if let Err(e) = result {
            unlink_at(dir, &tmp);
            log_warn!(
                "cannot record autostart of '{name}' in '{}': {e}",
                self.dir.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn markers(dir: &Path) -> Markers {
        Markers::resolve(Some(dir), &InitArgs::default())
    }

    #[test]
    fn records_and_finds_in_a_private_dir() {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("run");
        let m = markers(&run);
        assert!(!m.done("storage"));
        m.record("storage");
        assert!(m.done("storage"));
        assert!(markers(&run).done("storage"));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&run), 0o700);
        assert_eq!(mode(&run.join("autostart")), 0o700);
    }

    #[test]
    fn refuses_a_dir_writable_by_others() {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("run");
        fs::create_dir_all(run.join("autostart")).unwrap();
        fs::write(run.join("autostart/storage"), format!("{}\n", boot_id())).unwrap();
        fs::set_permissions(&run, fs::Permissions::from_mode(0o777)).unwrap();
        let m = markers(&run);
        assert!(
            !m.done("storage"),
            "a marker in a refused dir is not believed"
        );
        let why = m.open().unwrap_err();
        assert!(why.contains("writable by group or others"), "{why}");
    }

    #[test]
    fn symlink_and_fifo_markers_are_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("run");
        let m = markers(&run);
        assert!(!m.done("x")); // creates the directories
        let victim = t.path().join("victim");
        fs::write(&victim, boot_id()).unwrap();
        std::os::unix::fs::symlink(&victim, run.join("autostart/link")).unwrap();
        assert!(
            !m.done("link"),
            "a symlink is not followed, even to a valid id"
        );
        let fifo = CString::new(run.join("autostart/fifo").as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(!m.done("fifo"), "a FIFO is neither blocking nor a marker");
        m.record("link");
        m.record("fifo");
        assert!(m.done("link") && m.done("fifo"));
        assert_eq!(fs::read_to_string(&victim).unwrap(), boot_id());
        assert!(!fs::symlink_metadata(run.join("autostart/link"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn shared_default_dirs_get_a_per_program_subdirectory() {
        let args = InitArgs {
            privileged: true,
            ..InitArgs::default()
        };
        let (base, subs) = run_dir(None, &args);
        assert_eq!(base, Path::new("/run/virtcore"));
        assert_eq!(subs, vec![program_name()]);
        let rooted = InitArgs {
            root: Some("/srv/vm".into()),
            ..InitArgs::default()
        };
        assert_eq!(
            run_dir(None, &rooted),
            (PathBuf::from("/srv/vm/run/virtcore"), vec![])
        );
        assert!(!program_name().is_empty() && !program_name().contains('/'));
    }
}
