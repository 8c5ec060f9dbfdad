//! Debug logging: quiet by default, switched on by an environment variable, redirectable
//! to a C callback.
//!
//! `VIRTCORE_DEBUG` (or libvirt's `LIBVIRT_DEBUG`) sets the threshold with libvirt's
//! priorities: 1 = debug, 2 = info, 3 = warning, 4 = error (names work too). Messages go to
//! stderr unless C code installed a callback with `virtcoreLogSetCallback`.

use std::ffi::{c_char, c_int, c_void, CString};
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use parking_lot::RwLock;

/// libvirt's `virLogPriority` values.
pub const VIR_LOG_DEBUG: c_int = 1;
pub const VIR_LOG_INFO: c_int = 2;
pub const VIR_LOG_WARN: c_int = 3;
pub const VIR_LOG_ERROR: c_int = 4;
/// Threshold meaning "log nothing" (the default).
pub const VIRTCORE_LOG_OFF: c_int = 5;

/// A C log sink: `priority` is a `VIR_LOG_*` value, `source` the Rust module or C function
/// that logged, `message` one line without a trailing newline. Called on the logging thread.
pub type virtcoreLogFunc = Option<
    unsafe extern "C" fn(
        priority: c_int,
        source: *const c_char,
        message: *const c_char,
        opaque: *mut c_void,
    ),
>;

const UNSET: u8 = 0;
static LEVEL: AtomicU8 = AtomicU8::new(UNSET);

struct Sink {
    func: virtcoreLogFunc,
    opaque: usize,
}
static SINK: OnceLock<RwLock<Sink>> = OnceLock::new();

fn sink() -> &'static RwLock<Sink> {
    SINK.get_or_init(|| {
        RwLock::new(Sink {
            func: None,
            opaque: 0,
        })
    })
}

fn parse_level(v: &str) -> Option<u8> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "debug" => Some(1),
        "2" | "info" => Some(2),
        "3" | "warn" | "warning" => Some(3),
        "4" | "error" => Some(4),
        "0" | "5" | "off" | "" => Some(5),
        _ => None,
    }
}

fn env_level() -> u8 {
    ["VIRTCORE_DEBUG", "LIBVIRT_DEBUG"]
        .iter()
        .filter_map(|k| crate::ffi::secure_getenv(k))
        .find_map(|v| parse_level(&v))
        .unwrap_or(VIRTCORE_LOG_OFF as u8)
}

/// The current threshold (1..=5), read from the environment on first use.
#[inline]
pub fn level() -> u8 {
    match LEVEL.load(Ordering::Relaxed) {
        UNSET => {
            let l = env_level();
            // A concurrent virtcoreLogSetLevel wins over the environment.
            let _ = LEVEL.compare_exchange(UNSET, l, Ordering::Relaxed, Ordering::Relaxed);
            LEVEL.load(Ordering::Relaxed)
        }
        l => l,
    }
}

#[inline]
pub fn enabled(priority: c_int) -> bool {
    priority >= level() as c_int
}

/// Writes one message; callers check [`enabled`] first (the macros do).
pub fn emit(priority: c_int, source: &str, message: std::fmt::Arguments<'_>) {
    let text = message.to_string();
    let guard = sink().read();
    if let Some(func) = guard.func {
        let src = CString::new(source.replace('\0', "?")).unwrap_or_default();
        let msg = CString::new(text.replace('\0', "?")).unwrap_or_default();
        // SAFETY: the callback and its opaque pointer were installed together by C code.
        unsafe {
            func(
                priority,
                src.as_ptr(),
                msg.as_ptr(),
                guard.opaque as *mut c_void,
            )
        };
        return;
    }
    drop(guard);
    let name = match priority {
        VIR_LOG_DEBUG => "debug",
        VIR_LOG_INFO => "info",
        VIR_LOG_WARN => "warning",
        _ => "error",
    };
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    let _ = writeln!(
        std::io::stderr().lock(),
        "virtcore {tid}: {name} : {source}: {text}"
    );
}

#[allow(unused_macros)]
macro_rules! log_at {
    ($prio:expr, $($arg:tt)+) => {
        if $crate::log::enabled($prio) {
            $crate::log::emit($prio, module_path!(), format_args!($($arg)+));
        }
    };
}
#[allow(unused_macros)]
macro_rules! log_debug { ($($arg:tt)+) => { log_at!($crate::log::VIR_LOG_DEBUG, $($arg)+) }; }
#[allow(unused_macros)]
macro_rules! log_info { ($($arg:tt)+) => { log_at!($crate::log::VIR_LOG_INFO, $($arg)+) }; }
#[allow(unused_macros)]
macro_rules! log_warn { ($($arg:tt)+) => { log_at!($crate::log::VIR_LOG_WARN, $($arg)+) }; }
#[allow(unused_macros)]
macro_rules! log_error { ($($arg:tt)+) => { log_at!($crate::log::VIR_LOG_ERROR, $($arg)+) }; }

/// Installs `func` as the log sink (NULL restores stderr). Messages below the threshold
/// (`virtcoreLogSetLevel`, `VIRTCORE_DEBUG`) are not passed on.
#[no_mangle]
pub extern "C" fn virtcoreLogSetCallback(func: virtcoreLogFunc, opaque: *mut c_void) {
    crate::ffi::call_void(
        crate::error::virErrorDomain::VIR_FROM_NONE,
        "virtcoreLogSetCallback",
        |_| {
            let mut s = sink().write();
            s.func = func;
            s.opaque = opaque as usize;
            Ok(())
        },
    )
}

/// Sets the threshold: `VIR_LOG_DEBUG` (1) … `VIR_LOG_ERROR` (4), or 5 / 0 for nothing.
/// Returns 0, or -1 with `VIR_ERR_INVALID_ARG` for any other value.
#[no_mangle]
pub extern "C" fn virtcoreLogSetLevel(level: c_int) -> c_int {
    crate::ffi::call(
        crate::error::virErrorDomain::VIR_FROM_NONE,
        "virtcoreLogSetLevel",
        |cx| {
            let l = match level {
                0 => VIRTCORE_LOG_OFF,
                1..=5 => level,
                _ => {
                    return Err(cx.invalid_arg(format!("log level {level} is not between 0 and 5")))
                }
            };
            LEVEL.store(l as u8, Ordering::Relaxed);
            Ok(0)
        },
    )
}

/// The current threshold (1 = debug … 4 = error, 5 = off).
#[no_mangle]
pub extern "C" fn virtcoreLogGetLevel() -> c_int {
    crate::ffi::call(
        crate::error::virErrorDomain::VIR_FROM_NONE,
        "virtcoreLogGetLevel",
        |_| Ok(level() as c_int),
    )
}

export_symbols!();
