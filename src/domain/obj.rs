//! `virDomainObj` (a lockable, refcounted domain with its live and persistent
//! definitions) and `virDomainXMLOption`.

use std::ffi::{c_int, c_void};

use super::consts::*;
use super::types::{def_free, virDomainDef, VIR_UUID_BUFLEN};
use crate::object::{virObject, virObjectLockable, ObjectClass, ObjectType};

/// Opaque libvirt parser configuration; virtcore stores the pointer and never reads it.
pub struct virDomainDefParserConfig {
    _private: [u8; 0],
}
/// Opaque libvirt private-data callbacks; stored, not called.
pub struct virDomainXMLPrivateDataCallbacks {
    _private: [u8; 0],
}
/// Opaque libvirt XML namespace description; stored, not used.
pub struct virXMLNamespace {
    _private: [u8; 0],
}
/// Opaque libvirt ABI-stability callbacks; stored, not used.
pub struct virDomainABIStability {
    _private: [u8; 0],
}
/// Opaque libvirt save-cookie callbacks; stored, not used.
pub struct virSaveCookieCallbacks {
    _private: [u8; 0],
}
/// Opaque libvirt job configuration; stored, not used.
pub struct virDomainJobObjConfig {
    _private: [u8; 0],
}
/// Opaque libvirt capabilities (legacy argument of `virDomainSaveConfig`); not used.
pub struct virCaps {
    _private: [u8; 0],
}

/// Options for parsing and formatting (libvirt's `virDomainXMLOption`). virtcore keeps the
/// six pointers given to `virDomainXMLOptionNew` for the caller; it does not call them.
#[repr(C)]
pub struct virDomainXMLOption {
    pub parent: virObject,
    pub config: *mut virDomainDefParserConfig,
    pub privateData: *mut virDomainXMLPrivateDataCallbacks,
    pub ns: *mut virXMLNamespace,
    pub abi: *mut virDomainABIStability,
    pub saveCookie: *mut virSaveCookieCallbacks,
    pub jobObjConfig: *mut virDomainJobObjConfig,
}

static XMLOPT_CLASS: ObjectClass =
    ObjectClass::boxed::<virDomainXMLOption>("virDomainXMLOption", 0x0001, false);
unsafe impl ObjectType for virDomainXMLOption {
    const CLASS: &'static ObjectClass = &XMLOPT_CLASS;
}
unsafe impl Send for virDomainXMLOption {}
unsafe impl Sync for virDomainXMLOption {}

/// A state and the reason for it (libvirt's `virDomainStateReason`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct virDomainStateReason {
    /// A `VIR_DOMAIN_*` state (`virDomainState`).
    pub state: c_int,
    /// A reason of that state (`VIR_DOMAIN_RUNNING_BOOTED`, ...).
    pub reason: c_int,
}

/// Free function for `privateData` (libvirt's `virFreeCallback`).
pub type virFreeCallback = Option<unsafe extern "C" fn(data: *mut c_void)>;

/// Where an object sits in a list's indexes. Internal to virtcore: C code must not touch
/// it. `uuid`, `id`, `slot` and `owner` are written with the list's write lock held (and,
/// but for `id`, the object's lock); `entry` and `status` with the object's lock held.
#[repr(C)]
pub struct virDomainObjListLink {
    /// The UUID the object is indexed under.
    pub uuid: [u8; VIR_UUID_BUFLEN],
    /// The ID the object is indexed under (-1: none).
    pub id: c_int,
    /// The object's slot in its list's dense table.
    pub slot: u32,
    /// The list it is in (NULL: none).
    pub owner: *const c_void,
    /// The status word of its slot (an atomic 64-bit word; NULL: in no list).
    pub entry: *const u64,
    /// The status word last published there (see `domain::dense`).
    pub status: u64,
}

/// A domain (libvirt's `virDomainObj`): lockable and reference counted.
///
/// Lock the object (`virObjectLock`) before reading or writing its fields; objects from
/// `virDomainObjListFind*` and `virDomainObjListAdd` come locked and referenced and are
/// released with `virDomainObjEndAPI`.
#[repr(C)]
pub struct virDomainObj {
    pub parent: virObjectLockable,
    /// Internal to virtcore. Next to the lock and reference count, so that a lookup,
    /// which compares the key here and then locks, touches one place in memory.
    pub link: virDomainObjListLink,
    pub pid: libc::pid_t,
    pub state: virDomainStateReason,
    pub autostart: bool,
    pub persistent: bool,
    pub updated: bool,
    pub removing: bool,
    /// A managed-save image exists (for the `VIR_CONNECT_LIST_DOMAINS_*MANAGEDSAVE` filters).
    /// Beside the other flags: the unlock hook reads them all, in one cache line.
    pub hasManagedSave: bool,
    /// The current definition (the live one while the domain runs).
    pub def: *mut virDomainDef,
    /// The persistent definition to restore when a running domain stops (or NULL).
    pub newDef: *mut virDomainDef,
    pub privateData: *mut c_void,
    pub privateDataFreeFunc: virFreeCallback,
}

static OBJ_CLASS: ObjectClass = ObjectClass::boxed::<virDomainObj>("virDomainObj", 0x0002, true)
    .with_before_unlock(super::listing::before_unlock);
unsafe impl ObjectType for virDomainObj {
    const CLASS: &'static ObjectClass = &OBJ_CLASS;
}
// SAFETY: the mutable fields are protected by the object's own lock (and the link by the
// list's lock), like in libvirt.
unsafe impl Send for virDomainObj {}
unsafe impl Sync for virDomainObj {}

impl virDomainObj {
    pub fn new() -> Self {
        virDomainObj {
            parent: virObjectLockable::new(&OBJ_CLASS),
            link: virDomainObjListLink {
                uuid: [0; VIR_UUID_BUFLEN],
                id: -1,
                slot: 0,
                owner: std::ptr::null(),
                entry: std::ptr::null(),
                status: 0,
            },
            pid: 0,
            // libvirt 9.0's virDomainObjNew starts every object shut off, reason unknown.
            state: virDomainStateReason {
                state: VIR_DOMAIN_SHUTOFF,
                reason: VIR_DOMAIN_SHUTOFF_UNKNOWN,
            },
            autostart: false,
            persistent: false,
            updated: false,
            removing: false,
            def: std::ptr::null_mut(),
            newDef: std::ptr::null_mut(),
            privateData: std::ptr::null_mut(),
            privateDataFreeFunc: None,
            hasManagedSave: false,
        }
    }
}

impl Default for virDomainObj {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for virDomainObj {
    fn drop(&mut self) {
        if let Some(f) = self.privateDataFreeFunc {
            if !self.privateData.is_null() {
                // SAFETY: the C owner registered this function for this pointer.
                unsafe { f(self.privateData) };
            }
        }
        unsafe {
            def_free(self.def);
            def_free(self.newDef);
        }
    }
}

/// libvirt's `virDomainObjIsActive`: the current definition has an ID.
///
/// # Safety
/// `obj` is a valid object (locked by the caller).
pub unsafe fn is_active(obj: *const virDomainObj) -> bool {
    let d = (*obj).def;
    !d.is_null() && (*d).id != -1
}

/// Number of reasons of each state (libvirt's `VIR_DOMAIN_*_LAST` of the reason enums).
pub fn reason_count(state: c_int) -> Option<c_int> {
    Some(match state {
        VIR_DOMAIN_NOSTATE => 1,
        VIR_DOMAIN_RUNNING => 12,
        VIR_DOMAIN_BLOCKED => 1,
        VIR_DOMAIN_PAUSED => 14,
        VIR_DOMAIN_SHUTDOWN => 2,
        VIR_DOMAIN_SHUTOFF => 9,
        VIR_DOMAIN_CRASHED => 2,
        VIR_DOMAIN_PMSUSPENDED => 1,
        _ => return None,
    })
}

pub(crate) const STATE_NAMES: &[&str] = &[
    "nostate",
    "running",
    "blocked",
    "paused",
    "shutdown",
    "shutoff",
    "crashed",
    "pmsuspended",
];

/// libvirt's reason names, as written in status files.
pub(crate) fn reason_names(state: c_int) -> &'static [&'static str] {
    match state {
        VIR_DOMAIN_RUNNING => &[
            "unknown",
            "booted",
            "migrated",
            "restored",
            "from snapshot",
            "unpaused",
            "migration canceled",
            "save canceled",
            "wakeup",
            "crashed",
            "post-copy",
            "post-copy failed",
        ],
        VIR_DOMAIN_PAUSED => &[
            "unknown",
            "user",
            "migration",
            "save",
            "dump",
            "ioerror",
            "watchdog",
            "from snapshot",
            "shutdown",
            "snapshot",
            "panicked",
            "starting up",
            "post-copy",
            "post-copy failed",
        ],
        VIR_DOMAIN_SHUTDOWN => &["unknown", "user"],
        VIR_DOMAIN_SHUTOFF => &[
            "unknown",
            "shutdown",
            "destroyed",
            "crashed",
            "migrated",
            "saved",
            "failed",
            "from snapshot",
            "daemon",
        ],
        VIR_DOMAIN_CRASHED => &["unknown", "panicked"],
        _ => &["unknown"],
    }
}

/// libvirt's `virDomainObjAssignDef`: installs `def` as the live (`live`) or persistent
/// definition; the replaced definition goes to `old_def` (or is freed).
///
/// # Safety
/// `obj` is locked by the caller; `def` is owned by the caller and passes to the object.
pub unsafe fn assign_def(
    obj: *mut virDomainObj,
    def: *mut virDomainDef,
    live: bool,
    old_def: Option<&mut *mut virDomainDef>,
) {
    let mut old = std::ptr::null_mut();
    if is_active(obj) {
        old = (*obj).newDef;
        (*obj).newDef = def;
    } else if live {
        if (*obj).newDef.is_null() {
            (*obj).newDef = (*obj).def;
        } else {
            def_free((*obj).def);
        }
        (*obj).def = def;
    } else {
        old = (*obj).def;
        (*obj).def = def;
    }
    match old_def {
        Some(slot) => *slot = old,
        None => def_free(old),
    }
}
