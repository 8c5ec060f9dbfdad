//! One lock context (libvirt's `virLockManager`): the C-visible `{driver, privateData}`
//! pair the plugin works on, followed by what the library needs to call it safely — the
//! plugin it came from (kept loaded while the context lives) and how to name it.
//!
//! Every callback slot is checked before the call; a callback that fails leaves an error
//! naming plugin and callback: the plugin's own (reported into virtcore, or into
//! libvirt's error for plugins built against libvirt), else a generic one.

use std::collections::HashSet;
use std::ffi::{c_char, c_int, c_uint, CStr};

use super::abi::*;
use super::error::{reported_error, LockError};
use super::plugin::{plugin_of_driver, LibvirtHooks, LockPlugin};
use crate::error::Error;
use crate::object::Strong;

const MAGIC_LIVE: u64 = 0x5643_4c4f_434b_4d47; // "VCLOCKMG"
const MAGIC_DEAD: u64 = 0xdead_4c4f_434b_4d47;

/// Addresses of the contexts this library created and has not freed. A `virLockManager *`
/// from C is looked up here before anything behind it is read: a caller may pass a bare
/// 16-byte `virLockManager` of its own, and reading our trailing fields would read past it.
static LIVE: parking_lot::Mutex<Option<HashSet<usize>>> = parking_lot::Mutex::new(None);

fn register(p: *const Manager) {
    LIVE.lock()
        .get_or_insert_with(HashSet::new)
        .insert(p as usize);
}

/// Takes `p` out of the registry; false if it was not in it.
fn unregister(p: *const Manager) -> bool {
    LIVE.lock()
        .as_mut()
        .is_some_and(|s| s.remove(&(p as usize)))
}

fn is_registered(p: *const Manager) -> bool {
    LIVE.lock()
        .as_ref()
        .is_some_and(|s| s.contains(&(p as usize)))
}

/// Allocated by [`Manager::create`]; C holds a pointer to its first field.
#[repr(C)]
pub struct Manager {
    pub man: virLockManager,
    magic: u64,
    plugin: Option<Strong<LockPlugin>>,
    label: String,
    hooks: Option<LibvirtHooks>,
}

/// Which callback is being called (for messages).
type Slot = &'static str;

impl Manager {
    fn driver(&self) -> &virLockDriver {
        // SAFETY: the table outlives the context (its plugin is referenced by it, or the
        // caller keeps a table of its own alive as libvirt requires).
        unsafe { &*self.man.driver }
    }

    /// `lock` as a live manager of this library, if it is one.
    ///
    /// # Safety
    /// `lock` is any pointer: nothing behind it is read unless this library created it
    /// and has not freed it (registry membership is checked first).
    pub unsafe fn from_c<'a>(lock: *mut virLockManager) -> Option<&'a mut Manager> {
        if lock.is_null() || !is_registered(lock.cast::<Manager>()) {
            return None;
        }
        let m = &mut *lock.cast::<Manager>();
        (m.magic == MAGIC_LIVE).then_some(m)
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    fn missing(&self, callback: Slot) -> Error {
        LockError::MissingCallback {
            what: self.label.clone(),
            callback,
        }
        .into()
    }

    fn before_call(&self) {
        crate::error::reset_last_error();
        if let Some(h) = &self.hooks {
            h.reset();
        }
    }

    /// The error for a callback that returned failure.
    fn failed(&self, callback: Slot) -> Error {
        failure(&self.label, self.hooks, callback)
    }

    /// `virLockManagerNew`: a context for one object, created by the driver's `drvNew`.
    ///
    /// # Safety
    /// `driver` points to a valid driver table; `params` to `nparams` valid entries.
    pub unsafe fn create(
        driver: *mut virLockDriver,
        r#type: c_uint,
        nparams: usize,
        params: *mut virLockManagerParam,
        flags: c_uint,
    ) -> Result<*mut virLockManager, Error> {
        let plugin = plugin_of_driver(driver);
        let (label, hooks) = match &plugin {
            Some(p) => (p.label(), p.hooks()),
            None => (format!("driver {driver:p}"), None),
        };
        let mut m = Box::new(Manager {
            man: virLockManager {
                driver,
                privateData: std::ptr::null_mut(),
            },
            magic: MAGIC_LIVE,
            plugin,
            label,
            hooks,
        });
        let Some(new) = m.driver().drvNew else {
            return Err(m.missing("drvNew"));
        };
        if m.driver().drvFree.is_none() {
            return Err(m.missing("drvFree"));
        }
        m.before_call();
        if new(&mut m.man, r#type, nparams, params, flags) < 0 {
            // Like libvirt: the context is dropped without drvFree (a plugin may not expect
            // drvFree after its drvNew failed).
            m.magic = MAGIC_DEAD;
            return Err(m.failed("drvNew"));
        }
        let m = Box::leak(m);
        register(m);
        Ok(&mut m.man)
    }

    pub unsafe fn add_resource(
        &mut self,
        r#type: c_uint,
        name: *const c_char,
        nparams: usize,
        params: *mut virLockManagerParam,
        flags: c_uint,
    ) -> Result<(), Error> {
        let f = self
            .driver()
            .drvAddResource
            .ok_or_else(|| self.missing("drvAddResource"))?;
        self.before_call();
        if f(&mut self.man, r#type, name, nparams, params, flags) < 0 {
            return Err(self.failed("drvAddResource"));
        }
        Ok(())
    }

    pub unsafe fn acquire(
        &mut self,
        state: *const c_char,
        flags: c_uint,
        action: virDomainLockFailureAction,
        fd: *mut c_int,
    ) -> Result<(), Error> {
        let f = self
            .driver()
            .drvAcquire
            .ok_or_else(|| self.missing("drvAcquire"))?;
        if !fd.is_null() {
            *fd = -1;
        }
        self.before_call();
        if f(&mut self.man, state, flags, action, fd) < 0 {
            return Err(self.failed("drvAcquire"));
        }
        Ok(())
    }

    pub unsafe fn release(&mut self, state: *mut *mut c_char, flags: c_uint) -> Result<(), Error> {
        let f = self
            .driver()
            .drvRelease
            .ok_or_else(|| self.missing("drvRelease"))?;
        if !state.is_null() {
            *state = std::ptr::null_mut();
        }
        self.before_call();
        if f(&mut self.man, state, flags) < 0 {
            return Err(self.failed("drvRelease"));
        }
        Ok(())
    }

    pub unsafe fn inquire(&mut self, state: *mut *mut c_char, flags: c_uint) -> Result<(), Error> {
        let f = self
            .driver()
            .drvInquire
            .ok_or_else(|| self.missing("drvInquire"))?;
        if !state.is_null() {
            *state = std::ptr::null_mut();
        }
        self.before_call();
        if f(&mut self.man, state, flags) < 0 {
            return Err(self.failed("drvInquire"));
        }
        Ok(())
    }

    /// `virLockManagerFree`: the driver's `drvFree`, then the context itself.
    ///
    /// # Safety
    /// `this` came from [`Manager::create`] and is not used afterwards.
    pub unsafe fn free(this: *mut Manager) -> Result<(), Error> {
        // Claimed first, so two threads freeing the same context cannot both free it.
        if !unregister(this) {
            return Err(Error::new(
                crate::error::virErrorDomain::VIR_FROM_LOCKING,
                crate::error::virErrorNumber::VIR_ERR_INVALID_ARG,
                format!("lock ({this:p}) is not a live lock manager"),
            ));
        }
        let m = &mut *this;
        let Some(f) = m.driver().drvFree else {
            register(this);
            return Err(m.missing("drvFree"));
        };
        f(&mut m.man);
        m.magic = MAGIC_DEAD;
        drop(Box::from_raw(this));
        Ok(())
    }
}

/// The error after `callback` of `label` returned failure: what the plugin reported to
/// virtcore, else what it reported to libvirt, else a generic error naming both.
fn failure(label: &str, hooks: Option<LibvirtHooks>, callback: Slot) -> Error {
    if let Some((code, domain, msg)) = crate::error::last_error() {
        return reported_error(code, domain, &msg);
    }
    if let Some((code, domain, msg)) = hooks.and_then(|h| h.last()) {
        return reported_error(code, domain, &msg);
    }
    LockError::CallbackFailed {
        what: label.to_string(),
        callback,
    }
    .into()
}

/// One line per parameter, for debug logs (libvirt's `virLockManagerLogParams`).
///
/// # Safety
/// `params` points to `nparams` entries whose string values are NULL or valid.
pub unsafe fn describe_params(nparams: usize, params: *const virLockManagerParam) -> String {
    if params.is_null() || nparams == 0 {
        return "none".into();
    }
    let text = |p: *const c_char| {
        if p.is_null() {
            "(null)".to_string()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    let mut out = Vec::new();
    for p in std::slice::from_raw_parts(params, nparams) {
        let v = &p.value;
        let value = match p.r#type {
            VIR_LOCK_MANAGER_PARAM_TYPE_STRING => text(v.str),
            VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING => text(v.cstr),
            VIR_LOCK_MANAGER_PARAM_TYPE_INT => v.iv.to_string(),
            VIR_LOCK_MANAGER_PARAM_TYPE_LONG => v.l.to_string(),
            VIR_LOCK_MANAGER_PARAM_TYPE_UINT => v.ui.to_string(),
            VIR_LOCK_MANAGER_PARAM_TYPE_ULONG => v.ul.to_string(),
            VIR_LOCK_MANAGER_PARAM_TYPE_DOUBLE => v.d.to_string(),
            VIR_LOCK_MANAGER_PARAM_TYPE_UUID => crate::domain::types::uuid_format(&v.uuid),
            t => format!("<unknown type {t}>"),
        };
        out.push(format!("{}={value}", text(p.key)));
    }
    out.join(" ")
}
