//! Loading lock-manager plugins.
//!
//! `PluginNew("lockd", "qemu", "/etc/libvirt", 0)` finds `DIR/lockd.so` (DIR: the
//! `VIRTCORE_LOCK_DRIVER_DIR` or `LIBVIRT_LOCK_MANAGER_PLUGIN_DIR` environment variable,
//! else the directory `make install` put the drivers in), checks it step by step — exists, readable,
//! loadable, exports `virLockDriverImpl`, ABI major 1, mandatory callbacks present — and
//! runs its `drvInit` with `/etc/libvirt/qemu-lockd.conf`. Each step that fails is its own
//! [`LockError`]. `nop` is built in.
//!
//! Plugins built against libvirt itself (Debian's `lockd.so`) call into the `libvirt.so.0`
//! they depend on: its runtime must be initialized (`virInitialize`) before their callbacks
//! run, and they report errors into *libvirt's* thread-local error. When such a library is
//! loaded, the plugin keeps hooks to it: the loader initializes it, and the manager fetches
//! its error message when a callback fails without reporting one to virtcore.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::abi::*;
use super::error::LockError;
use super::nop::NOP_DRIVER;
use crate::error::Error;
use crate::object::{virObject, ObjectClass, ObjectType, Strong};

/// Serializes loading + `drvInit` and `drvDeinit` + unloading: a plugin's global state is
/// shared by every instance loaded from the same file.
static LOADER: Mutex<()> = Mutex::new(());

/// Live plugins by driver table address, so a manager created from a bare `virLockDriver *`
/// can name its plugin and keep it loaded.
static REGISTRY: Mutex<Option<HashMap<usize, Vec<usize>>>> = Mutex::new(None);

/// Entry points of a `libvirt.so.0` already present in the process (pulled in by a plugin).
#[derive(Clone, Copy)]
pub struct LibvirtHooks {
    get_last_error: unsafe extern "C" fn() -> *mut LibvirtError,
    reset_last_error: unsafe extern "C" fn(),
}

/// The first fields of libvirt's public `virError`.
#[repr(C)]
pub struct LibvirtError {
    code: c_int,
    domain: c_int,
    message: *mut c_char,
}

impl LibvirtHooks {
    /// Clears libvirt's thread-local error before a plugin callback runs.
    pub fn reset(&self) {
        // SAFETY: resolved from libvirt.so.0, which stays loaded while the plugin is.
        unsafe { (self.reset_last_error)() }
    }

    /// libvirt's thread-local error as (code, domain, message), if one is set.
    pub fn last(&self) -> Option<(c_int, c_int, String)> {
        // SAFETY: as above; the error lives until the thread's next libvirt error.
        let e = unsafe { (self.get_last_error)() };
        if e.is_null() {
            return None;
        }
        let e = unsafe { &*e };
        if e.code == 0 {
            return None;
        }
        let msg = if e.message.is_null() {
            String::new()
        } else {
            unsafe { CStr::from_ptr(e.message) }
                .to_string_lossy()
                .into_owned()
        };
        Some((e.code, e.domain, msg))
    }
}

/// A loaded plugin (the C type `virLockManagerPlugin` is opaque).
#[repr(C)]
pub struct LockPlugin {
    hdr: virObject,
    name: CString,
    /// The module file; `None` for the built-in `nop`.
    path: Option<String>,
    driver: *mut virLockDriver,
    handle: *mut c_void,
    hooks: Option<LibvirtHooks>,
}

// SAFETY: immutable after construction; the plugin's callbacks are called concurrently in
// libvirt too (plugins are loaded once per daemon and shared by all guests' managers).
unsafe impl Send for LockPlugin {}
unsafe impl Sync for LockPlugin {}

static PLUGIN_CLASS: ObjectClass =
    ObjectClass::boxed::<LockPlugin>("virLockManagerPlugin", 0x0010, false);
unsafe impl ObjectType for LockPlugin {
    const CLASS: &'static ObjectClass = &PLUGIN_CLASS;
}

impl LockPlugin {
    pub fn name(&self) -> &CStr {
        &self.name
    }
    pub fn name_str(&self) -> String {
        self.name.to_string_lossy().into_owned()
    }
    pub fn driver(&self) -> *mut virLockDriver {
        self.driver
    }
    pub fn hooks(&self) -> Option<LibvirtHooks> {
        self.hooks
    }
    /// How messages name this plugin: its file, or `'nop'`.
    pub fn label(&self) -> String {
        match &self.path {
            Some(p) => format!("plugin {p}"),
            None => format!("plugin '{}'", self.name_str()),
        }
    }
    pub fn uses_state(&self) -> bool {
        // SAFETY: the driver table lives as long as the plugin.
        unsafe { (*self.driver).flags & VIR_LOCK_MANAGER_USES_STATE != 0 }
    }
}

impl Drop for LockPlugin {
    fn drop(&mut self) {
        unregister(self);
        let _guard = LOADER.lock();
        // SAFETY: the table is valid while the module is loaded, which it still is.
        let deinit = unsafe { (*self.driver).drvDeinit };
        let rc = match deinit {
            Some(f) => unsafe { f() },
            None => 0,
        };
        if rc < 0 {
            log_warn!(
                "lock manager {} refused to deinitialize (drvDeinit returned {rc}); keeping it loaded",
                self.label()
            );
            return;
        }
        log_debug!("unloading lock manager {}", self.label());
        if !self.handle.is_null() {
            unsafe { libc::dlclose(self.handle) };
        }
    }
}

fn register(p: &LockPlugin) {
    let mut reg = REGISTRY.lock();
    reg.get_or_insert_with(HashMap::new)
        .entry(p.driver as usize)
        .or_default()
        .push(p as *const LockPlugin as usize);
}

fn unregister(p: &LockPlugin) {
    let mut reg = REGISTRY.lock();
    if let Some(map) = reg.as_mut() {
        if let Some(v) = map.get_mut(&(p.driver as usize)) {
            v.retain(|&x| x != p as *const LockPlugin as usize);
            if v.is_empty() {
                map.remove(&(p.driver as usize));
            }
        }
    }
}

/// A new reference to a live plugin whose driver table is `driver`, if any.
pub fn plugin_of_driver(driver: *const virLockDriver) -> Option<Strong<LockPlugin>> {
    let reg = REGISTRY.lock();
    let list = reg.as_ref()?.get(&(driver as usize))?;
    for &p in list {
        let p = p as *mut LockPlugin;
        // SAFETY: registered plugins are not freed before they unregister, which needs
        // this lock. Take a reference only if the count has not already reached zero.
        let refs = unsafe { &(*p).hdr.refs };
        if refs
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |r| {
                (r > 0).then_some(r + 1)
            })
            .is_ok()
        {
            return Some(unsafe { Strong::from_raw(p) });
        }
    }
    None
}

/// `[A-Za-z0-9_-]+`, checked before any filesystem access.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Where plugins are looked for: the environment overrides (read with `secure_getenv`), or
/// the built-in directory (the installed `LOCKDRIVERDIR`, see [`super::builtin_dir`]).
pub fn plugin_dir() -> String {
    [
        "VIRTCORE_LOCK_DRIVER_DIR",
        "LIBVIRT_LOCK_MANAGER_PLUGIN_DIR",
    ]
    .iter()
    .filter_map(|k| crate::ffi::secure_getenv(k))
    .find(|v| !v.is_empty())
    .unwrap_or_else(super::builtin_dir::builtin_plugin_dir)
}

/// True in a statically linked program (`cc -static` with `libvirtcore.a`): its program
/// headers have no `PT_INTERP`. glibc's `dlopen` there maps a second C library for the
/// plugin, and the plugin crashes on its first call into it; such a load is refused.
fn statically_linked() -> bool {
    // SAFETY: getauxval is always safe; AT_PHDR/AT_PHNUM describe the program's own
    // program headers, mapped for the life of the process (glibc fixes them up when the
    // program is started through ld.so explicitly).
    let (phdr, phnum) = unsafe {
        (
            libc::getauxval(libc::AT_PHDR) as *const libc::Elf64_Phdr,
            libc::getauxval(libc::AT_PHNUM) as usize,
        )
    };
    if phdr.is_null() || phnum == 0 {
        return false;
    }
    // SAFETY: as above; phnum entries of Elf64_Phdr on x86-64.
    let headers = unsafe { std::slice::from_raw_parts(phdr, phnum) };
    !headers.iter().any(|h| h.p_type == libc::PT_INTERP)
}

fn dlerror_text() -> String {
    // SAFETY: dlerror's string is thread-local and copied at once.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown dlopen error".into()
    } else {
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

/// libvirt.so.0's entry points, once a plugin pulled it in. Its handle is kept for good:
/// libvirt (glib, thread-locals) is not safely unloadable, and it is looked up only once.
static LIBVIRT: Mutex<Option<LibvirtHooks>> = Mutex::new(None);

/// Finds `libvirt.so.0` if (and only if) it is already loaded, and initializes its runtime
/// (`virInitialize`, idempotent) the first time.
fn libvirt_hooks() -> Option<LibvirtHooks> {
    let mut cached = LIBVIRT.lock();
    if cached.is_some() {
        return *cached;
    }
    let handle =
        unsafe { libc::dlopen(c"libvirt.so.0".as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
    if handle.is_null() {
        unsafe { libc::dlerror() };
        return None;
    }
    let sym =
        |name: &CStr, ver: &CStr| unsafe { libc::dlvsym(handle, name.as_ptr(), ver.as_ptr()) };
    let init = sym(c"virInitialize", c"LIBVIRT_0.1.0");
    let get = sym(c"virGetLastError", c"LIBVIRT_0.1.0");
    let reset = sym(c"virResetLastError", c"LIBVIRT_0.1.0");
    if init.is_null() || get.is_null() || reset.is_null() {
        log_warn!(
            "libvirt.so.0 is loaded but lacks virInitialize/virGetLastError/virResetLastError"
        );
        unsafe { libc::dlclose(handle) };
        return None;
    }
    // SAFETY: libvirt's public, documented signatures.
    unsafe {
        let init: unsafe extern "C" fn() -> c_int = std::mem::transmute(init);
        if init() < 0 {
            log_warn!("libvirt's virInitialize failed in a process loading a libvirt lock plugin");
        }
        *cached = Some(LibvirtHooks {
            get_last_error: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn() -> *mut LibvirtError,
            >(get),
            reset_last_error: std::mem::transmute::<*mut c_void, unsafe extern "C" fn()>(reset),
        });
    }
    *cached
}

/// Callbacks without which a plugin is refused at load time (`drvInquire` is optional:
/// its absence is reported when it is called).
fn missing_mandatory(d: &virLockDriver) -> Option<&'static str> {
    [
        ("drvInit", d.drvInit.is_none()),
        ("drvDeinit", d.drvDeinit.is_none()),
        ("drvNew", d.drvNew.is_none()),
        ("drvFree", d.drvFree.is_none()),
        ("drvAddResource", d.drvAddResource.is_none()),
        ("drvAcquire", d.drvAcquire.is_none()),
        ("drvRelease", d.drvRelease.is_none()),
    ]
    .into_iter()
    .find(|(_, missing)| *missing)
    .map(|(n, _)| n)
}

/// Loads and initializes plugin `name` for `driver_name` (libvirt's
/// `virLockManagerPluginNew`). `flags` are passed to `drvInit`.
pub fn load(
    name: &str,
    driver_name: &str,
    config_dir: &str,
    flags: u32,
) -> Result<Strong<LockPlugin>, Error> {
    if !valid_name(name) {
        return Err(LockError::BadName(name.to_string()).into());
    }
    let config = format!("{config_dir}/{driver_name}-{name}.conf");
    let c_config = CString::new(config.clone())
        .map_err(|_| LockError::BadName(format!("{driver_name}-{name}")))?;
    let _guard = LOADER.lock();

    if name == "nop" {
        let driver = &NOP_DRIVER as *const virLockDriver as *mut virLockDriver;
        // SAFETY: the built-in table is always valid.
        if unsafe {
            (NOP_DRIVER.drvInit.unwrap())(VIR_LOCK_MANAGER_VERSION, c_config.as_ptr(), flags)
        } < 0
        {
            return Err(init_refused("plugin 'nop'".into(), config, None));
        }
        let p = Strong::new(LockPlugin {
            hdr: virObject::new(&PLUGIN_CLASS),
            name: CString::new(name).unwrap(),
            path: None,
            driver,
            handle: std::ptr::null_mut(),
            hooks: None,
        });
        register(&p);
        return Ok(p);
    }

    let path = format!("{}/{name}.so", plugin_dir());
    log_debug!("loading lock manager plugin '{name}' from {path}");
    let c_path = CString::new(path.clone()).map_err(|_| LockError::NotAccessible {
        path: path.clone(),
        reason: "path contains a NUL byte".into(),
    })?;
    // SAFETY: plain libc calls on a valid C string.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::stat(c_path.as_ptr(), &mut st) } < 0 {
        let err = std::io::Error::last_os_error();
        return Err(if err.raw_os_error() == Some(libc::ENOENT) {
            LockError::NotFound {
                name: name.into(),
                path,
            }
        } else {
            LockError::NotAccessible {
                path,
                reason: err.to_string(),
            }
        }
        .into());
    }
    if unsafe { libc::access(c_path.as_ptr(), libc::R_OK) } < 0 {
        let reason = std::io::Error::last_os_error().to_string();
        return Err(LockError::NotAccessible { path, reason }.into());
    }
    if statically_linked() {
        return Err(LockError::NotLoadable {
            path,
            reason: "the program is statically linked, and glibc cannot run a plugin in it \
                     (link the C library dynamically, or use the built-in 'nop')"
                .into(),
        }
        .into());
    }
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(LockError::NotLoadable {
            path,
            reason: dlerror_text(),
        }
        .into());
    }
    let close = |e: LockError| -> Error {
        unsafe { libc::dlclose(handle) };
        e.into()
    };
    let sym = unsafe { libc::dlsym(handle, c"virLockDriverImpl".as_ptr()) };
    if sym.is_null() {
        unsafe { libc::dlerror() };
        return Err(close(LockError::NoSymbol { path }));
    }
    let driver = sym.cast::<virLockDriver>();
    // SAFETY: the symbol is a virLockDriver by the plugin ABI (72 readable bytes).
    let table = unsafe { &*driver };
    let major = table.version / 1_000_000;
    if major != VIR_LOCK_MANAGER_VERSION_MAJOR {
        return Err(close(LockError::BadVersion {
            path,
            version: table.version,
            major,
        }));
    }
    if let Some(callback) = missing_mandatory(table) {
        return Err(close(LockError::MissingMandatory { path, callback }));
    }
    let hooks = libvirt_hooks();
    let before = crate::error::last_error();
    crate::error::reset_last_error();
    if let Some(h) = &hooks {
        h.reset();
    }
    log_debug!("{path}: drvInit(version={VIR_LOCK_MANAGER_VERSION}, configFile={config}, flags=0x{flags:x})");
    let rc =
        unsafe { (table.drvInit.unwrap())(VIR_LOCK_MANAGER_VERSION, c_config.as_ptr(), flags) };
    if rc < 0 {
        let reported = crate::error::last_error().or_else(|| hooks.and_then(|h| h.last()));
        let e = init_refused(format!("plugin {path}"), config, reported.map(|r| r.2));
        unsafe { libc::dlclose(handle) };
        return Err(e);
    }
    if crate::error::last_error().is_none() {
        if let Some((code, domain, msg)) = before {
            // drvInit succeeded: give the caller back the error it had before the call.
            super::error::reported_error(code, domain, &msg).report();
        }
    }
    let p = Strong::new(LockPlugin {
        hdr: virObject::new(&PLUGIN_CLASS),
        name: CString::new(name).unwrap(),
        path: Some(path),
        driver,
        handle,
        hooks,
    });
    register(&p);
    Ok(p)
}

fn init_refused(what: String, config: String, reported: Option<String>) -> Error {
    let path = what.strip_prefix("plugin ").unwrap_or(&what).to_string();
    let detail = match reported {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    };
    LockError::InitRefused {
        path,
        config,
        detail,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["nop", "lockd", "a_b-1", "X"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "../x", "/abs", "a.b", "a b", "é", "x/y"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn nop_loads_and_is_registered() {
        let p = load("nop", "qemu", "/nonexistent", 0).unwrap();
        assert_eq!(p.name().to_str().unwrap(), "nop");
        assert!(!p.uses_state());
        let again = plugin_of_driver(p.driver()).unwrap();
        assert!(Strong::ptr_eq(&p, &again));
        drop(again);
        drop(p);
    }

    #[test]
    fn bad_names_are_refused_before_lookup() {
        let e = load("../x", "qemu", "/etc", 0).err().unwrap();
        assert!(e.message.contains("'../x'"), "{}", e.message);
    }
}
