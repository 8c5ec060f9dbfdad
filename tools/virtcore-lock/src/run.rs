//! `run`: COMMAND holds the locks, in its own process.
//!
//! The forked child is COMMAND's process-to-be: it acquires through the plugin's own
//! manager exactly as libvirt's guest process does before exec'ing QEMU (a domain
//! named `run:COMMAND` with a fresh UUID, the child's pid, `drvAcquire(RESTRICT)`: the
//! lease files and mailbox lose close-on-exec), then execs COMMAND. The OFD locks live
//! in those inherited open files: they last as long as COMMAND (whatever happens to
//! `virtcore-lock`) and go when it exits by any route; the holder record names
//! `run:COMMAND` with its pid. The parent only reports and waits, like flock(1).
//!
//! The child reports a failure (lock refused, exec failed) through a close-on-exec
//! pipe: no data means COMMAND is running.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use lockspace::abi::err::VIR_ERR_RESOURCE_BUSY;
use lockspace::abi::*;
use lockspace::manager::{self, Manager};

use lockspace::conf::Config;
use lockspace::record::escape;

use crate::cli::RunArgs;
use crate::domxml::{self, Resource};
use crate::{exit, inspect, load_config, Failure};

/// How often a `--wait` retries: a lock is only a try-lock (a waiting guest start must
/// not queue behind a tool), so waiting is polling.
const POLL: Duration = Duration::from_millis(50);

fn param(
    key: &'static std::ffi::CStr,
    type_: i32,
    value: virLockManagerParamValue,
) -> virLockManagerParam {
    virLockManagerParam {
        r#type: type_,
        key: key.as_ptr(),
        value,
    }
}

fn cstr_param(key: &'static std::ffi::CStr, s: &CString) -> virLockManagerParam {
    param(
        key,
        VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING,
        virLockManagerParamValue { cstr: s.as_ptr() },
    )
}

/// A resource parameter: key, string value, integer value.
type Extra = (String, Option<CString>, u64);

/// What the child adds to its manager: resource type, name, params, flags.
struct Plan {
    name: CString,
    uuid: [u8; 16],
    resources: Vec<(u32, CString, Vec<Extra>, u32)>,
}

impl Plan {
    /// A manager with every resource added (this process is the holder).
    fn manager(&self) -> lockspace::error::Result<Manager> {
        let params = [
            param(
                c"uuid",
                VIR_LOCK_MANAGER_PARAM_TYPE_UUID,
                virLockManagerParamValue { uuid: self.uuid },
            ),
            cstr_param(c"name", &self.name),
        ];
        // SAFETY: params are valid for the call; their strings outlive it.
        let mut m = unsafe {
            Manager::new(
                VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN,
                params.len(),
                params.as_ptr(),
                0,
            )?
        };
        for (kind, name, extra, flags) in &self.resources {
            let p: Vec<virLockManagerParam> = extra
                .iter()
                .map(|(key, s, n)| match (key.as_str(), s) {
                    ("offset", _) => param(
                        c"offset",
                        VIR_LOCK_MANAGER_PARAM_TYPE_ULONG,
                        virLockManagerParamValue { ul: *n },
                    ),
                    ("lockspace", Some(s)) => cstr_param(c"lockspace", s),
                    (_, Some(s)) => cstr_param(c"path", s),
                    _ => unreachable!("plan params are built below"),
                })
                .collect();
            let name = name.to_str().unwrap_or_default();
            // SAFETY: as above.
            unsafe { m.add_resource(*kind, name, p.len(), p.as_ptr(), *flags)? };
        }
        Ok(m)
    }
}

fn random_uuid() -> [u8; 16] {
    let mut u = [0u8; 16];
    // SAFETY: u is writable for 16 bytes.
    let n = unsafe { libc::getrandom(u.as_mut_ptr().cast(), u.len(), 0) };
    if n != 16 {
        // Unique enough as a fallback: time and pid.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        u.copy_from_slice(&(t ^ ((std::process::id() as u128) << 64)).to_le_bytes());
    }
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

fn cstring(s: &str) -> Result<CString, Failure> {
    CString::new(s).map_err(|_| Failure::new(exit::DATAERR, format!("'{s}' contains a NUL byte")))
}

fn plan(args: &RunArgs) -> Result<Plan, Failure> {
    let mut res = match &args.domain_xml {
        Some(f) => domxml::load(f)?,
        None => args
            .disk
            .iter()
            .map(|p| Resource::Disk {
                path: p.clone(),
                readonly: false,
                shared: false,
            })
            .collect(),
    };
    for r in &mut res {
        if let Resource::Disk {
            readonly, shared, ..
        } = r
        {
            *readonly |= args.readonly;
            *shared |= args.shared;
        }
    }
    let prog = Path::new(&args.command[0]);
    let base = prog
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_else(|| prog.to_string_lossy().into_owned());
    let mut p = Plan {
        name: cstring(&format!("run:{base}"))?,
        uuid: random_uuid(),
        resources: Vec::new(),
    };
    for r in res {
        match r {
            Resource::Disk {
                path,
                readonly,
                shared,
            } => {
                // Not an error (a disk may be created under the lock), but never silent:
                // a typo in the path would otherwise lock a name nothing uses.
                if !readonly
                    && std::fs::symlink_metadata(&path)
                        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
                {
                    eprintln!(
                        "virtcore-lock: note: disk '{}' does not exist yet: locking its path",
                        lockspace::record::escape(&path)
                    );
                }
                let mut flags = 0;
                if readonly {
                    flags |= VIR_LOCK_MANAGER_RESOURCE_READONLY;
                }
                if shared {
                    flags |= VIR_LOCK_MANAGER_RESOURCE_SHARED;
                }
                p.resources.push((
                    VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK,
                    cstring(&path)?,
                    Vec::new(),
                    flags,
                ));
            }
            Resource::Lease {
                key,
                lockspace,
                path,
                offset,
            } => {
                check_lease_file(&path)?;
                let mut extra = vec![
                    ("path".to_string(), Some(cstring(&path)?), 0),
                    ("offset".to_string(), None, offset),
                ];
                if let Some(ls) = lockspace {
                    extra.push(("lockspace".to_string(), Some(cstring(&ls)?), 0));
                }
                p.resources.push((
                    VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE,
                    cstring(&key)?,
                    extra,
                    0,
                ));
            }
        }
    }
    Ok(p)
}

/// A `<lease>`'s file is the user's input: a FIFO, device or directory there is bad
/// input (exit 65) named as such, found before anything is forked or locked. (The
/// plugin refuses it too, at acquire, and never opens it.)
fn check_lease_file(path: &str) -> Result<(), Failure> {
    match std::fs::metadata(path) {
        Ok(md) if !md.is_file() => Err(Failure::new(
            exit::DATAERR,
            format!("lease file '{path}' is not a regular file"),
        )),
        _ => Ok(()),
    }
}

fn write_all(fd: i32, msg: &[u8]) {
    let mut off = 0;
    while off < msg.len() {
        // SAFETY: the slice is valid for its length.
        let n = unsafe { libc::write(fd, msg[off..].as_ptr().cast(), msg.len() - off) };
        if n <= 0 {
            return;
        }
        off += n as usize;
    }
}

/// The paused guests using the plan's disks (all but read-only ones), as a refusal.
/// libvirt releases a paused guest's locks (and lets another guest start on its disks,
/// as virtlockd does), but the guest still has the disks open and resumes on them: a
/// tool must not write to them meanwhile. Its registration (a holder record in a slot
/// its process holds) is what shows it.
fn paused_users(cfg: &Config, plan: &Plan) -> Result<Option<String>, Failure> {
    let mut found = Vec::new();
    for (kind, name, _, flags) in &plan.resources {
        if *kind != VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK
            || flags & VIR_LOCK_MANAGER_RESOURCE_READONLY != 0
        {
            continue;
        }
        let w = inspect::who_one(cfg, name.to_str().unwrap_or_default())?;
        for h in w.holders.iter().filter(|h| h.mode == inspect::PAUSED) {
            found.push(format!(
                "disk '{}' is in use by paused guest {}",
                escape(&w.path),
                inspect::describe(h)
            ));
        }
    }
    Ok((!found.is_empty()).then(|| {
        format!(
            "{}: a paused guest still uses its disks (use --readonly to only read them)",
            found.join("; ")
        )
    }))
}

/// The child: acquire (retrying until the deadline of `wait`, a time and the seconds it
/// was given as, while busy), then exec. Never returns.
fn child(
    cfg: &Config,
    plan: &Plan,
    wait: Option<(Instant, f64)>,
    argv: &[CString],
    report: i32,
) -> ! {
    let fail = |code: i32, msg: &str| -> ! {
        write_all(report, format!("{code}\n{msg}").as_bytes());
        // SAFETY: leaves the child at once, without running the parent's atexit work.
        unsafe { libc::_exit(1) }
    };
    // Busy: wait and try again while --wait allows, else refuse with `msg`. The first
    // wait says whom it waits for (on stderr, once: the holders may change meanwhile, and
    // the final refusal names the last ones).
    let announced = std::cell::Cell::new(false);
    let busy = |msg: &str| match wait {
        Some((d, secs)) if Instant::now() < d => {
            if !announced.replace(true) {
                eprintln!("virtcore-lock: waiting up to {secs} s: {msg}");
            }
            std::thread::sleep(POLL.min(d.saturating_duration_since(Instant::now())))
        }
        Some(_) => fail(exit::BUSY, &format!("still held after --wait: {msg}")),
        None => fail(exit::BUSY, msg),
    };
    let paused = || paused_users(cfg, plan).unwrap_or_else(|f| fail(f.code, &f.message));
    let mut m = match plan.manager() {
        Ok(m) => m,
        Err(e) => fail(exit::DATAERR, &e.message),
    };
    loop {
        if let Some(msg) = paused() {
            busy(&msg);
            continue;
        }
        match m.acquire(None, VIR_LOCK_MANAGER_ACQUIRE_RESTRICT) {
            Ok(()) => break,
            Err(e) if e.code == VIR_ERR_RESOURCE_BUSY => busy(&e.message),
            Err(e) => {
                let f = Failure::from_plugin(e);
                fail(f.code, &f.message)
            }
        }
    }
    // A guest paused between the look and the lock: refused (its locks stay ours until
    // this process exits, which it does now; a restricted process cannot release).
    if let Some(msg) = paused() {
        fail(exit::BUSY, &msg);
    }
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: a NULL-terminated array of C strings that outlive the call.
    unsafe { libc::execvp(ptrs[0], ptrs.as_ptr()) };
    let e = std::io::Error::last_os_error();
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        exit::NOTFOUND
    } else {
        exit::NOEXEC
    };
    let what = format!("cannot run '{}'", argv[0].to_string_lossy());
    fail(code, &lockspace::error::Error::system(e, what).message)
}

pub fn run(config: &Path, args: &RunArgs) -> Result<i32, Failure> {
    let wait_until = match args.wait {
        None => None,
        Some(s) if (0.0..1e9).contains(&s) => {
            Some((Instant::now() + Duration::from_secs_f64(s), s))
        }
        Some(s) => {
            return Err(Failure::new(
                exit::USAGE,
                format!("--wait {s}: expected a number of seconds, 0 or more (fractions allowed)"),
            ))
        }
    };
    let cfg = load_config(config, true)?;
    manager::init(VIR_LOCK_MANAGER_VERSION, Some(config), 0)
        .map_err(|e| Failure::new(exit::CONFIG, e.message))?;
    let plan = plan(args)?;
    // Every path and parameter checked here, before anything is forked or locked.
    plan.manager()
        .map_err(|e| Failure::new(exit::DATAERR, e.message))?;
    let argv = args
        .command
        .iter()
        .map(|a: &OsString| {
            CString::new(a.as_bytes()).map_err(|_| {
                Failure::new(exit::DATAERR, "COMMAND or an argument contains a NUL byte")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut fds = [0i32; 2];
    // SAFETY: fds is writable for two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Failure::new(
            exit::OSERR,
            format!("pipe: {}", std::io::Error::last_os_error()),
        ));
    }
    // SAFETY: this program is single-threaded, so the child may allocate and lock.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Failure::new(
            exit::OSERR,
            format!("fork: {}", std::io::Error::last_os_error()),
        ));
    }
    if pid == 0 {
        // SAFETY: the read end is ours to close.
        unsafe { libc::close(fds[0]) };
        child(&cfg, &plan, wait_until, &argv, fds[1]);
    }
    // SAFETY: the write end is ours to close.
    unsafe { libc::close(fds[1]) };
    let mut report = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            report.extend_from_slice(&buf[..n as usize]);
        } else if n == 0
            || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            break;
        }
    }
    // SAFETY: closing our read end.
    unsafe { libc::close(fds[0]) };
    let status = wait(pid)?;
    if !report.is_empty() {
        let text = String::from_utf8_lossy(&report);
        let (code, msg) = text.split_once('\n').unwrap_or(("71", &text));
        return Err(Failure::new(code.parse().unwrap_or(exit::OSERR), msg));
    }
    Ok(status)
}

/// COMMAND's exit status as a shell reports it (128+N for signal N).
fn wait(pid: i32) -> Result<i32, Failure> {
    let mut status = 0;
    loop {
        // SAFETY: status is writable.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(Failure::new(exit::OSERR, format!("waitpid: {e}")));
        }
    }
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Ok(128 + libc::WTERMSIG(status))
    } else {
        Ok(exit::OSERR)
    }
}
