//! The C API of the domain subsystem: libvirt 9.0's names and signatures.
//!
//! Lock order: list before object. Every `virDomainObjListFind*` and
//! `virDomainObjListAdd` returns the object **locked and referenced**; release it with
//! `virDomainObjEndAPI`. Removal protocol (`virDomainObjListRemove`): the caller holds the
//! object locked; the object is marked `removing`, unlocked, the list is write-locked, the
//! object re-locked and dropped from every index, so no thread can find it again; it is
//! still locked (and referenced by the caller) on return.

use std::ffi::{c_char, c_int, c_uchar, c_uint, c_void, CStr};
use std::ptr;

use super::consts::*;
use super::list::*;
use super::obj::*;
use super::persist::{self, virDomainLoadConfigNotify};
use super::types::*;
use super::xml::{self, FORMAT_FLAGS_ALL, PARSE_FLAGS_ALL};
use crate::error::{virConnectPtr, virErrorDomain, virErrorNumber};
use crate::ffi::{call, call_void, malloc_cstring, Cx};
use crate::object::{checked, Lockable, Strong};

const D: virErrorDomain = virErrorDomain::VIR_FROM_DOMAIN;

/// libvirt's `virDomainObjListACLFilter`: return false to hide a domain from `conn`.
pub type virDomainObjListACLFilter =
    Option<unsafe extern "C" fn(conn: virConnectPtr, def: *mut virDomainDef) -> bool>;
/// libvirt's `virDomainObjListIterator` (called with the object unlocked).
pub type virDomainObjListIterator =
    Option<unsafe extern "C" fn(dom: *mut virDomainObj, opaque: *mut c_void) -> c_int>;
/// libvirt's `virDomainObjListRenameCallback` (called with list and object locked); it
/// must set `dom->def->name` to `new_name` and return 0, or return -1.
pub type virDomainObjListRenameCallback = Option<
    unsafe extern "C" fn(
        dom: *mut virDomainObj,
        new_name: *const c_char,
        flags: c_uint,
        opaque: *mut c_void,
    ) -> c_int,
>;

/// Every `VIR_CONNECT_LIST_DOMAINS_*` filter bit.
const LIST_FILTERS_ALL: c_uint = (1 << 16) - 1;

unsafe fn xmlopt_arg(cx: &Cx, xmlopt: *mut virDomainXMLOption) -> Result<(), crate::error::Error> {
    if !xmlopt.is_null() {
        checked::<virDomainXMLOption>(cx, xmlopt.cast(), "xmlopt")?;
    }
    Ok(())
}

unsafe fn obj_arg<'a>(
    cx: &Cx,
    p: *mut virDomainObj,
    name: &str,
) -> Result<&'a virDomainObj, crate::error::Error> {
    checked::<virDomainObj>(cx, p.cast(), name)
}

unsafe fn list_arg<'a>(
    cx: &Cx,
    p: *mut virDomainObjList,
) -> Result<&'a virDomainObjList, crate::error::Error> {
    checked::<virDomainObjList>(cx, p.cast(), "doms")
}

fn no_domain(cx: &Cx, what: String) -> crate::error::Error {
    cx.error(virErrorNumber::VIR_ERR_NO_DOMAIN, what)
}

/// Creates parse/format options (libvirt's `virDomainXMLOptionNew`). All six pointers may
/// be NULL; virtcore keeps them for the caller and does not call into them. Release with
/// `virObjectUnref`.
#[no_mangle]
pub extern "C" fn virDomainXMLOptionNew(
    config: *mut virDomainDefParserConfig,
    privateData: *mut virDomainXMLPrivateDataCallbacks,
    xmlns: *mut virXMLNamespace,
    abi: *mut virDomainABIStability,
    saveCookie: *mut virSaveCookieCallbacks,
    jobConfig: *mut virDomainJobObjConfig,
) -> *mut virDomainXMLOption {
    call(D, "virDomainXMLOptionNew", |_| {
        log_debug!("virDomainXMLOptionNew(config={config:p}, priv={privateData:p})");
        Ok(Strong::new(virDomainXMLOption {
            parent: crate::object::virObject::new(
                <virDomainXMLOption as crate::object::ObjectType>::CLASS,
            ),
            config,
            privateData,
            ns: xmlns,
            abi,
            saveCookie,
            jobObjConfig: jobConfig,
        })
        .into_raw())
    })
}

/// An empty definition (libvirt's `virDomainDefNew`): id -1, no name, no devices.
/// `xmlopt` may be NULL. Free with `virDomainDefFree`.
#[no_mangle]
pub unsafe extern "C" fn virDomainDefNew(xmlopt: *mut virDomainXMLOption) -> *mut virDomainDef {
    call(D, "virDomainDefNew", |cx| {
        log_debug!("virDomainDefNew(xmlopt={xmlopt:?})");
        xmlopt_arg(&cx, xmlopt)?;
        Ok(def_new())
    })
}

/// Frees a definition and all it owns (strings, disks, leases; all with `free()`).
/// NULL is ignored. Never free a definition still attached to a `virDomainObj`.
#[no_mangle]
pub unsafe extern "C" fn virDomainDefFree(def: *mut virDomainDef) {
    call_void(D, "virDomainDefFree", |_| {
        log_debug!("virDomainDefFree(def={def:?})");
        def_free(def);
        Ok(())
    })
}

/// Parses domain XML (libvirt's `virDomainDefParseString`). `xmlopt` and `parseOpaque` may
/// be NULL. Flags: `VIR_DOMAIN_DEF_PARSE_*`; with `_INACTIVE` the `id` attribute is
/// ignored (id -1). A missing `<uuid>` is generated. Errors: `VIR_ERR_XML_ERROR` (malformed
/// XML with line and column, missing or bad name, bad UUID, ...), `VIR_ERR_INVALID_ARG`.
#[no_mangle]
pub unsafe extern "C" fn virDomainDefParseString(
    xmlStr: *const c_char,
    xmlopt: *mut virDomainXMLOption,
    parseOpaque: *mut c_void,
    flags: c_uint,
) -> *mut virDomainDef {
    call(D, "virDomainDefParseString", |cx| {
        log_debug!(
            "virDomainDefParseString(xmlopt={xmlopt:p}, opaque={parseOpaque:p}, flags=0x{flags:x})"
        );
        cx.check_flags(flags, PARSE_FLAGS_ALL)?;
        xmlopt_arg(&cx, xmlopt)?;
        let s = cx.str_arg(xmlStr, "xmlStr")?;
        xml::parse(s, flags)
    })
}

/// Parses a domain XML file (libvirt's `virDomainDefParseFile`); errors name the file.
/// Only regular files (symlinks to them are followed) of at most `VIRTCORE_DOMAIN_XML_MAX`
/// bytes are read: anything else is `VIR_ERR_INVALID_ARG` and is never opened (a FIFO
/// cannot block the call); unreadable files are `VIR_ERR_SYSTEM_ERROR`.
#[no_mangle]
pub unsafe extern "C" fn virDomainDefParseFile(
    filename: *const c_char,
    xmlopt: *mut virDomainXMLOption,
    parseOpaque: *mut c_void,
    flags: c_uint,
) -> *mut virDomainDef {
    call(D, "virDomainDefParseFile", |cx| {
        cx.check_flags(flags, PARSE_FLAGS_ALL)?;
        xmlopt_arg(&cx, xmlopt)?;
        let f = cx.str_arg(filename, "filename")?;
        log_debug!("virDomainDefParseFile({f}, opaque={parseOpaque:p}, flags=0x{flags:x})");
        let path = std::path::Path::new(f);
        let text = persist::read_file(path)?;
        xml::parse(&text, flags).map_err(|e| crate::error::Error {
            message: format!("{f}: {}", e.message),
            ..e
        })
    })
}

/// Formats a definition as XML (libvirt's `virDomainDefFormat`); the caller frees the
/// string. The document parsed is given back unchanged except for the fields virtcore
/// models, which show their current values. `VIR_DOMAIN_DEF_FORMAT_INACTIVE` omits `id`.
#[no_mangle]
pub unsafe extern "C" fn virDomainDefFormat(
    def: *mut virDomainDef,
    xmlopt: *mut virDomainXMLOption,
    flags: c_uint,
) -> *mut c_char {
    call(D, "virDomainDefFormat", |cx| {
        log_debug!("virDomainDefFormat(def={def:?}, xmlopt={xmlopt:?}, flags={flags:?})");
        cx.check_flags(flags, FORMAT_FLAGS_ALL)?;
        cx.non_null(def, "def")?;
        xmlopt_arg(&cx, xmlopt)?;
        Ok(malloc_cstring(&xml::format(def, flags)?))
    })
}

/// A new domain object, **locked**, with one reference (libvirt's `virDomainObjNew`).
/// `xmlopt` may be NULL. Release with `virDomainObjEndAPI`.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjNew(xmlopt: *mut virDomainXMLOption) -> *mut virDomainObj {
    call(D, "virDomainObjNew", |cx| {
        log_debug!("virDomainObjNew(xmlopt={xmlopt:?})");
        xmlopt_arg(&cx, xmlopt)?;
        let vm = Strong::new(virDomainObj::new());
        vm.lock();
        Ok(vm.into_raw())
    })
}

/// Unlocks and unreferences `*vm` and sets it to NULL (libvirt's `virDomainObjEndAPI`).
/// `*vm == NULL` is a no-op. When the calling thread does not hold `*vm` locked (a second
/// `EndAPI` on a copy of the pointer, or another thread's object) the error is
/// `VIR_ERR_OPERATION_INVALID` and nothing changes: no reference is dropped, `*vm` stays.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjEndAPI(vm: *mut *mut virDomainObj) {
    call_void(D, "virDomainObjEndAPI", |cx| {
        log_debug!("virDomainObjEndAPI(vm={vm:?})");
        cx.non_null(vm, "vm")?;
        if (*vm).is_null() {
            return Ok(());
        }
        // No registry look-up on the lookup path (see object::referenced_header).
        let o = crate::object::referenced::<virDomainObj>(&cx, (*vm).cast(), "*vm")?;
        // Unlocks only if this thread holds the lock (one look-up of the thread's token).
        if !o.lockable_header().release() {
            let why = if o.is_locked() {
                "is locked by another thread"
            } else {
                "is not locked"
            };
            return Err(cx.error(
                virErrorNumber::VIR_ERR_OPERATION_INVALID,
                format!("domain object {:p} {why}", *vm),
            ));
        }
        let p = *vm;
        *vm = ptr::null_mut();
        drop(Strong::from_raw(p));
        Ok(())
    })
}

/// Whether the domain runs: `dom->def->id != -1` (libvirt's `virDomainObjIsActive`).
#[no_mangle]
pub unsafe extern "C" fn virDomainObjIsActive(dom: *mut virDomainObj) -> bool {
    call(D, "virDomainObjIsActive", |cx| {
        log_debug!("virDomainObjIsActive(dom={dom:?})");
        obj_arg(&cx, dom, "dom")?;
        Ok(is_active(dom))
    })
}

/// The state, and its reason in `*reason` if not NULL (libvirt's `virDomainObjGetState`).
/// -1 when `obj` is not a domain object.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjGetState(
    obj: *mut virDomainObj,
    reason: *mut c_int,
) -> virDomainState {
    call(D, "virDomainObjGetState", |cx| {
        log_debug!("virDomainObjGetState(obj={obj:?}, reason={reason:?})");
        let o = obj_arg(&cx, obj, "obj")?;
        if !reason.is_null() {
            *reason = o.state.reason;
        }
        Ok(o.state.state)
    })
}

/// Sets state and reason (libvirt's `virDomainObjSetState`). A reason out of range for
/// the state becomes 0 (unknown); an invalid state is reported and changes nothing.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjSetState(
    obj: *mut virDomainObj,
    state: virDomainState,
    reason: c_int,
) {
    call_void(D, "virDomainObjSetState", |cx| {
        log_debug!("virDomainObjSetState(obj={obj:?}, state={state:?}, reason={reason:?})");
        obj_arg(&cx, obj, "obj")?;
        let last = reason_count(state)
            .ok_or_else(|| cx.invalid_arg(format!("invalid domain state: {state}")))?;
        (*obj).state.state = state;
        (*obj).state.reason = if reason > 0 && reason < last {
            reason
        } else {
            0
        };
        Ok(())
    })
}

/// A new, empty domain list (libvirt's `virDomainObjListNew`); release with `virObjectUnref`.
///
/// Locking protocol of the list and its objects:
/// - Lock order: list before object, never the reverse. While holding a domain object
///   locked, call only the list functions that take that locked object (`Remove`,
///   `RemoveLocked`, `Rename`, which follow the protocol below), not the finders.
/// - `virDomainObjListFind*` and `virDomainObjListAdd` return the object locked and
///   referenced; end with `virDomainObjEndAPI(&vm)`. Finders reference the object under
///   the list's read lock, release it, then lock the object and skip it if `removing`.
/// - Removal (`virDomainObjListRemove(doms, vm)`, `vm` locked by the caller): `vm->removing`
///   is set, `vm` unlocked, the list write-locked, `vm` locked again and dropped from the
///   UUID, name and ID indexes, the list unlocked. No thread can find `vm` from then on;
///   `vm` is still locked and referenced by the caller on return.
/// - `virDomainObjListForEach(modify=true)` and rename callbacks run with the list
///   write-locked; the same thread may call the list from them (e.g.
///   `virDomainObjListRemoveLocked`). `ForEach` callbacks get the object unlocked.
/// - Lookups by UUID, name and ID are O(1); `FindByID` verifies `def->id` under the
///   object's lock, so direct writes to `def->id` or `vm->def` never give a wrong domain.
#[no_mangle]
pub extern "C" fn virDomainObjListNew() -> *mut virDomainObjList {
    call(D, "virDomainObjListNew", |_| {
        log_debug!("virDomainObjListNew()");
        Ok(virDomainObjList::new().into_raw())
    })
}

/// The domain with this raw UUID (16 bytes), locked and referenced; NULL (with
/// `VIR_ERR_NO_DOMAIN`) if none or being removed. O(1).
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListFindByUUID(
    doms: *mut virDomainObjList,
    uuid: *const c_uchar,
) -> *mut virDomainObj {
    call(D, "virDomainObjListFindByUUID", |cx| {
        log_debug!("virDomainObjListFindByUUID(doms={doms:?}, uuid={uuid:?})");
        let l = list_arg(&cx, doms)?;
        cx.non_null_const(uuid, "uuid")?;
        let u: &[u8; VIR_UUID_BUFLEN] = &*(uuid as *const [u8; VIR_UUID_BUFLEN]);
        match l.find_by_uuid(u) {
            Some(o) => Ok(o.into_raw()),
            None => Err(no_domain(
                &cx,
                format!("no domain with matching uuid '{}'", uuid_format(u)),
            )),
        }
    })
}

/// The domain with this name, locked and referenced; NULL if none. O(1).
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListFindByName(
    doms: *mut virDomainObjList,
    name: *const c_char,
) -> *mut virDomainObj {
    call(D, "virDomainObjListFindByName", |cx| {
        log_debug!("virDomainObjListFindByName(doms={doms:?}, name={name:?})");
        let l = list_arg(&cx, doms)?;
        cx.non_null_const(name, "name")?;
        let n = CStr::from_ptr(name);
        match l.find_by_name(n.to_bytes()) {
            Some(o) => Ok(o.into_raw()),
            None => Err(no_domain(
                &cx,
                format!("no domain with matching name '{}'", n.to_string_lossy()),
            )),
        }
    })
}

/// The running domain whose current `def->id` is `id`, locked and referenced; NULL if
/// none. O(1) through an index that is verified under the object's lock and repaired by
/// one scan when C code changed `def->id` behind the list's back.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListFindByID(
    doms: *mut virDomainObjList,
    id: c_int,
) -> *mut virDomainObj {
    call(D, "virDomainObjListFindByID", |cx| {
        log_debug!("virDomainObjListFindByID(doms={doms:?}, id={id:?})");
        let l = list_arg(&cx, doms)?;
        match l.find_by_id(id) {
            Some(o) => Ok(o.into_raw()),
            None => Err(no_domain(&cx, format!("no domain with matching id {id}"))),
        }
    })
}

/// Adds `*def` or updates the domain with its UUID (libvirt's `virDomainObjListAdd`).
/// On success `*def` is taken (set to NULL) and the object is returned locked and
/// referenced. Flags: `VIR_DOMAIN_OBJ_LIST_ADD_LIVE` (the def is the live one; the
/// persistent one is kept in `newDef`), `VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE` (refuse an
/// active domain). A replaced definition goes to `*oldDef` if `oldDef` is not NULL.
/// Errors: `VIR_ERR_OPERATION_FAILED` for a UUID or name used by another domain,
/// `VIR_ERR_OPERATION_INVALID` for an active domain with `CHECK_LIVE`, or when called
/// from a `virDomainObjListForEach(modify=false)` callback (the list is read-locked), or
/// when the calling thread holds the lock of the domain with that UUID or name (libvirt
/// deadlocks there; nothing is changed).
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListAdd(
    doms: *mut virDomainObjList,
    def: *mut *mut virDomainDef,
    xmlopt: *mut virDomainXMLOption,
    flags: c_uint,
    oldDef: *mut *mut virDomainDef,
) -> *mut virDomainObj {
    call(D, "virDomainObjListAdd", |cx| {
        log_debug!("virDomainObjListAdd(doms={doms:?}, def={def:?}, xmlopt={xmlopt:?}, flags={flags:?}, oldDef={oldDef:?})");
        cx.check_flags(
            flags,
            VIR_DOMAIN_OBJ_LIST_ADD_LIVE | VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE,
        )?;
        let l = list_arg(&cx, doms)?;
        cx.non_null(def, "def")?;
        cx.non_null(*def, "*def")?;
        xmlopt_arg(&cx, xmlopt)?;
        let old = if oldDef.is_null() {
            None
        } else {
            Some(&mut *oldDef)
        };
        Ok(l.add(&mut *def, flags, old)?.into_raw())
    })
}

/// Removes a domain the caller holds locked (libvirt's `virDomainObjListRemove`); the
/// object stays locked and the caller's reference valid. See `virDomainObjListNew` for the
/// removal protocol. An object in no list is left as it is. Errors (nothing changed):
/// `VIR_ERR_INVALID_ARG` for an object of another list, `VIR_ERR_OPERATION_INVALID` from a
/// `ForEach(modify=false)` callback.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListRemove(
    doms: *mut virDomainObjList,
    dom: *mut virDomainObj,
) {
    call_void(D, "virDomainObjListRemove", |cx| {
        log_debug!("virDomainObjListRemove(doms={doms:?}, dom={dom:?})");
        let l = list_arg(&cx, doms)?;
        obj_arg(&cx, dom, "dom")?;
        l.remove(dom)
    })
}

/// Like `virDomainObjListRemove` for a caller that already holds the list's write lock
/// (inside `virDomainObjListForEach(modify=true)` or a rename callback). Called without it,
/// it takes the lock itself by the removal protocol. Errors as `virDomainObjListRemove`.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListRemoveLocked(
    doms: *mut virDomainObjList,
    dom: *mut virDomainObj,
) {
    call_void(D, "virDomainObjListRemoveLocked", |cx| {
        log_debug!("virDomainObjListRemoveLocked(doms={doms:?}, dom={dom:?})");
        let l = list_arg(&cx, doms)?;
        obj_arg(&cx, dom, "dom")?;
        l.remove_locked(dom)
    })
}

/// Renames a locked domain (libvirt's `virDomainObjListRename`): with the list
/// write-locked, reserves `new_name`, calls `callback(dom, new_name, flags, opaque)`, which
/// must set `dom->def->name`, then drops the old name (or the new one if it failed). The
/// callback may remove `dom` (`virDomainObjListRemoveLocked`); then neither name is left.
/// Errors: `VIR_ERR_INVALID_ARG` for an object of another list or of none; a name refused
/// at parse gets the parser's error (`VIR_ERR_XML_ERROR` for a '/' or a name over
/// `VIRTCORE_DOMAIN_NAME_MAX` bytes, `VIR_ERR_NO_NAME` for an empty one, `VIR_ERR_XML_DETAIL`
/// for a control character XML cannot carry); `VIR_ERR_OPERATION_INVALID` for the current name, a name in use,
/// a rename from inside a rename callback or from a `ForEach(modify=false)` callback;
/// `VIR_ERR_OPERATION_FAILED` when the callback returned -1.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListRename(
    doms: *mut virDomainObjList,
    dom: *mut virDomainObj,
    new_name: *const c_char,
    flags: c_uint,
    callback: virDomainObjListRenameCallback,
    opaque: *mut c_void,
) -> c_int {
    call(D, "virDomainObjListRename", |cx| {
        log_debug!("virDomainObjListRename(doms={doms:?}, dom={dom:?}, new_name={new_name:?}, flags={flags:?}, callback={callback:?}, opaque={opaque:?})");
        let l = list_arg(&cx, doms)?;
        obj_arg(&cx, dom, "dom")?;
        cx.non_null_const(new_name, "new_name")?;
        let cb = callback.ok_or_else(|| cx.null_arg("callback"))?;
        l.rename(dom, CStr::from_ptr(new_name), || {
            cb(dom, new_name, flags, opaque)
        })?;
        Ok(0)
    })
}

/// Calls `callback(dom, opaque)` for every domain (unlocked; lock it in the callback),
/// with the list locked for reading, or for writing when `modify` is true (then the
/// callback may call `virDomainObjListRemoveLocked`). Returns -1 if any callback did.
/// With `modify` false, a callback's `Add`, `Remove`, `RemoveLocked`, `Rename` or
/// `ForEach(modify=true)` on the same list fails with `VIR_ERR_OPERATION_INVALID`.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListForEach(
    doms: *mut virDomainObjList,
    modify: bool,
    callback: virDomainObjListIterator,
    opaque: *mut c_void,
) -> c_int {
    call(D, "virDomainObjListForEach", |cx| {
        log_debug!("virDomainObjListForEach(doms={doms:?}, modify={modify:?}, callback={callback:?}, opaque={opaque:?})");
        let l = list_arg(&cx, doms)?;
        let cb = callback.ok_or_else(|| cx.null_arg("callback"))?;
        l.for_each(modify, |o| cb(o, opaque))
    })
}

/// Whether `filter` lets `conn` see this domain (locked by the caller).
unsafe fn acl_ok(
    filter: virDomainObjListACLFilter,
    conn: virConnectPtr,
    o: *mut virDomainObj,
) -> bool {
    match filter {
        Some(f) => f(conn, (*o).def),
        None => true,
    }
}

/// Calls `f` on every domain, locked in turn, until it returns false (the scan for ACL
/// filters, which C code calls with the object locked). The list is not held meanwhile.
fn each_locked(l: &virDomainObjList, mut f: impl FnMut(*mut virDomainObj) -> bool) {
    for o in l.snapshot() {
        o.lock();
        let go_on = f(o.as_ptr());
        unsafe { o.unlock() };
        if !go_on {
            break;
        }
    }
}

/// Number of active (`active` true) or inactive domains that `filter` (may be NULL)
/// lets `conn` see (libvirt's `virDomainObjListNumOfDomains`). Without a filter, O(1):
/// counts kept as domains are added, removed, started and stopped (a change C makes under
/// a domain's lock, such as writing `def->id`, counts from the moment it unlocks it).
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListNumOfDomains(
    doms: *mut virDomainObjList,
    active: bool,
    filter: virDomainObjListACLFilter,
    conn: virConnectPtr,
) -> c_int {
    call(D, "virDomainObjListNumOfDomains", |cx| {
        log_debug!("virDomainObjListNumOfDomains(doms={doms:?}, active={active:?}, filter={filter:?}, conn={conn:?})");
        let l = list_arg(&cx, doms)?;
        if filter.is_none() {
            return Ok(l.count(active) as c_int);
        }
        let mut n = 0;
        each_locked(l, |o| {
            if !(*o).def.is_null() && acl_ok(filter, conn, o) && is_active(o) == active {
                n += 1;
            }
            true
        });
        Ok(n)
    })
}

/// Fills `ids` with up to `maxids` IDs of active domains (in no particular order, as in
/// libvirt); returns how many.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListGetActiveIDs(
    doms: *mut virDomainObjList,
    ids: *mut c_int,
    maxids: c_int,
    filter: virDomainObjListACLFilter,
    conn: virConnectPtr,
) -> c_int {
    call(D, "virDomainObjListGetActiveIDs", |cx| {
        log_debug!("virDomainObjListGetActiveIDs(doms={doms:?}, ids={ids:?}, maxids={maxids:?}, filter={filter:?}, conn={conn:?})");
        let l = list_arg(&cx, doms)?;
        if maxids < 0 {
            return Err(cx.invalid_arg(format!("maxids in {} must not be negative", cx.func)));
        }
        if maxids > 0 {
            cx.non_null(ids, "ids")?;
        }
        if filter.is_none() {
            return Ok(l.active_ids(ids, maxids as usize) as c_int);
        }
        let mut n = 0;
        each_locked(l, |o| {
            if n >= maxids {
                return false;
            }
            if !(*o).def.is_null() && acl_ok(filter, conn, o) && is_active(o) {
                *ids.add(n as usize) = (*(*o).def).id;
                n += 1;
            }
            true
        });
        Ok(n)
    })
}

/// Fills `names` with up to `maxnames` malloc'ed names of inactive domains (the caller
/// frees them; in no particular order, as in libvirt); returns how many.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListGetInactiveNames(
    doms: *mut virDomainObjList,
    names: *mut *mut c_char,
    maxnames: c_int,
    filter: virDomainObjListACLFilter,
    conn: virConnectPtr,
) -> c_int {
    call(D, "virDomainObjListGetInactiveNames", |cx| {
        log_debug!("virDomainObjListGetInactiveNames(doms={doms:?}, names={names:?}, maxnames={maxnames:?}, filter={filter:?}, conn={conn:?})");
        let l = list_arg(&cx, doms)?;
        if maxnames < 0 {
            return Err(cx.invalid_arg(format!("maxnames in {} must not be negative", cx.func)));
        }
        if maxnames > 0 {
            cx.non_null(names, "names")?;
        }
        if filter.is_none() {
            return Ok(l.inactive_names(names, maxnames as usize) as c_int);
        }
        let mut n = 0;
        each_locked(l, |o| {
            if n >= maxnames {
                return false;
            }
            let d = (*o).def;
            if !d.is_null() && !(*d).name.is_null() && acl_ok(filter, conn, o) && !is_active(o) {
                *names.add(n as usize) = libc::strdup((*d).name);
                n += 1;
            }
            true
        });
        Ok(n)
    })
}

/// Hands the referenced objects in `out` to C as a malloc'ed array.
unsafe fn give_array(
    cx: &Cx,
    out: Vec<*mut virDomainObj>,
    vms: *mut *mut *mut virDomainObj,
    nvms: *mut usize,
) -> Result<(), crate::error::Error> {
    let arr = libc::calloc(out.len().max(1), std::mem::size_of::<*mut virDomainObj>())
        as *mut *mut virDomainObj;
    if arr.is_null() {
        for o in out {
            drop(Strong::from_raw(o));
        }
        return Err(cx.error(virErrorNumber::VIR_ERR_NO_MEMORY, "domain list"));
    }
    ptr::copy_nonoverlapping(out.as_ptr(), arr, out.len());
    *vms = arr;
    *nvms = out.len();
    Ok(())
}

/// Clears the outputs first, so a failed call leaves an empty list.
unsafe fn reset_outputs(vms: *mut *mut *mut virDomainObj, nvms: *mut usize) {
    if !vms.is_null() {
        *vms = ptr::null_mut();
    }
    if !nvms.is_null() {
        *nvms = 0;
    }
}

/// Every domain, as a malloc'ed array of *referenced, unlocked* objects in `*vms` (count
/// in `*nvms`), in no particular order (libvirt's `virDomainObjListCollectAll`). Release with
/// `virObjectListFreeCount(*vms, *nvms)`.
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListCollectAll(
    domlist: *mut virDomainObjList,
    vms: *mut *mut *mut virDomainObj,
    nvms: *mut usize,
) {
    call_void(D, "virDomainObjListCollectAll", |cx| {
        log_debug!("virDomainObjListCollectAll(domlist={domlist:?}, vms={vms:?}, nvms={nvms:?})");
        reset_outputs(vms, nvms);
        let l = list_arg(&cx, domlist)?;
        cx.non_null(vms, "vms")?;
        cx.non_null(nvms, "nvms")?;
        let out = l.snapshot().into_iter().map(Strong::into_raw).collect();
        give_array(&cx, out, vms, nvms)
    })
}

/// The domains matching `flags` (`VIR_CONNECT_LIST_DOMAINS_*`) and `filter`, as a
/// malloc'ed array of *referenced, unlocked* objects in `*vms` (count in `*nvms`), in no
/// particular order (libvirt 9.0's `virDomainObjListCollect`, which returns nothing; also the
/// `Export`-like listing, without `virConnect`). Release with
/// `virObjectListFreeCount(*vms, *nvms)`. On bad arguments or unknown flags the error is
/// reported and the list is empty (`*vms` NULL, `*nvms` 0).
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListCollect(
    doms: *mut virDomainObjList,
    conn: virConnectPtr,
    vms: *mut *mut *mut virDomainObj,
    nvms: *mut usize,
    filter: virDomainObjListACLFilter,
    flags: c_uint,
) {
    call_void(D, "virDomainObjListCollect", |cx| {
        log_debug!("virDomainObjListCollect(doms={doms:?}, conn={conn:?}, vms={vms:?}, nvms={nvms:?}, filter={filter:?}, flags={flags:?})");
        reset_outputs(vms, nvms);
        cx.check_flags(flags, LIST_FILTERS_ALL)?;
        let l = list_arg(&cx, doms)?;
        cx.non_null(vms, "vms")?;
        cx.non_null(nvms, "nvms")?;
        if filter.is_none() {
            // From the dense table: one status word a domain, no object lock.
            let (arr, n) = l.collect(flags);
            if arr.is_null() {
                return Err(cx.error(virErrorNumber::VIR_ERR_NO_MEMORY, "domain list"));
            }
            *vms = arr;
            *nvms = n;
            return Ok(());
        }
        let mut out: Vec<*mut virDomainObj> = Vec::new();
        each_locked(l, |o| {
            // A domain being removed is already gone for listings, as in libvirt 9.0.
            if !(*o).def.is_null()
                && !(*o).removing
                && acl_ok(filter, conn, o)
                && super::dense::matches(super::dense::summarize(o), flags)
            {
                crate::object::ref_header(&(*o).parent.parent);
                out.push(o);
            }
            true
        });
        give_array(&cx, out, vms, nvms)
    })
}

/// Unreferences `count` objects of a malloc'ed array and frees it (libvirt's
/// `virObjectListFreeCount`). NULL entries and a NULL list are ignored.
#[no_mangle]
pub unsafe extern "C" fn virObjectListFreeCount(list: *mut c_void, count: usize) {
    call_void(D, "virObjectListFreeCount", |cx| {
        log_debug!("virObjectListFreeCount(list={list:?}, count={count:?})");
        if list.is_null() {
            return Ok(());
        }
        let arr = list as *mut *mut c_void;
        let mut bad = None;
        for i in 0..count {
            let p = *arr.add(i);
            if i + 8 < count {
                super::dense::prefetch((*arr.add(i + 8)).cast::<u8>());
            }
            // The references of a listing are the caller's by contract, as for
            // virDomainObjEndAPI: the header is checked, the registry is not asked.
            if !p.is_null() && !crate::object::unref_referenced(p) && bad.is_none() {
                bad = Some((i, p));
            }
        }
        libc::free(list);
        match bad {
            Some((i, p)) => Err(cx.invalid_arg(format!(
                "element {i} ({p:p}) of the list passed to virObjectListFreeCount is not a live virtcore object"
            ))),
            None => Ok(()),
        }
    })
}

/// Loads every `NAME.xml` of `configDir` (libvirt's `virDomainObjListLoadAllConfigs`).
/// With `liveStatus` false they are persistent configs (autostart when
/// `autostartDir/NAME.xml` links to the file); with true they are status files of running
/// domains. `notify(dom, newDomain, opaque)` is called for each domain loaded (locked).
/// Every `*.xml` is tried, as in libvirt (`.web.xml` is domain `.web`). Only regular files
/// are read (symlinks to them are followed); FIFOs, devices, sockets and directories are
/// skipped with a warning naming them, never opened. A malformed file, or one over
/// `VIRTCORE_DOMAIN_XML_MAX` bytes, is logged and skipped; the others load, the call
/// returns 0 and the last error names the bad file. A missing directory loads nothing.
/// An empty `configDir` or `autostartDir` is `VIR_ERR_INVALID_ARG` (-1).
#[no_mangle]
pub unsafe extern "C" fn virDomainObjListLoadAllConfigs(
    doms: *mut virDomainObjList,
    configDir: *const c_char,
    autostartDir: *const c_char,
    liveStatus: bool,
    xmlopt: *mut virDomainXMLOption,
    notify: virDomainLoadConfigNotify,
    opaque: *mut c_void,
) -> c_int {
    call(D, "virDomainObjListLoadAllConfigs", |cx| {
        let l = list_arg(&cx, doms)?;
        let dir = cx.str_arg(configDir, "configDir")?;
        let auto = cx.opt_str_arg(autostartDir, "autostartDir")?;
        xmlopt_arg(&cx, xmlopt)?;
        log_debug!("virDomainObjListLoadAllConfigs({dir}, {auto:?}, live={liveStatus})");
        let (_, failure) = persist::load_all(l, dir, auto, liveStatus, notify, opaque)?;
        if let Some(e) = failure {
            e.report();
        }
        Ok(0)
    })
}

/// Writes the inactive definition to `configDir/NAME.xml` atomically (libvirt's
/// `virDomainDefSave`); creates the directory if needed. The temporary file is
/// `configDir/.vc-tmp-XXXXXX` (a reserved name pattern: leftovers of killed saves are
/// removed by a later save). Errors leave the file unchanged: `VIR_ERR_INVALID_ARG` (empty
/// `configDir`, no name), `VIR_ERR_WRITE_FAILED` (naming the file),
/// `VIR_ERR_SYSTEM_ERROR` (the directory cannot be created). Once the new file is in
/// place the call succeeds.
#[no_mangle]
pub unsafe extern "C" fn virDomainDefSave(
    def: *mut virDomainDef,
    xmlopt: *mut virDomainXMLOption,
    configDir: *const c_char,
) -> c_int {
    call(D, "virDomainDefSave", |cx| {
        log_debug!("virDomainDefSave(def={def:?}, xmlopt={xmlopt:?}, configDir={configDir:?})");
        cx.non_null(def, "def")?;
        xmlopt_arg(&cx, xmlopt)?;
        let dir = cx.str_arg(configDir, "configDir")?;
        persist::save_config(def, dir)?;
        Ok(0)
    })
}

/// Writes state, reason, pid and the live definition of a locked domain to
/// `statusDir/NAME.xml` atomically (libvirt's `virDomainObjSave`); files and errors as for
/// `virDomainDefSave` (an empty `statusDir` is `VIR_ERR_INVALID_ARG`).
#[no_mangle]
pub unsafe extern "C" fn virDomainObjSave(
    obj: *mut virDomainObj,
    xmlopt: *mut virDomainXMLOption,
    statusDir: *const c_char,
) -> c_int {
    call(D, "virDomainObjSave", |cx| {
        log_debug!("virDomainObjSave(obj={obj:?}, xmlopt={xmlopt:?}, statusDir={statusDir:?})");
        obj_arg(&cx, obj, "obj")?;
        xmlopt_arg(&cx, xmlopt)?;
        let dir = cx.str_arg(statusDir, "statusDir")?;
        persist::save_status(obj, dir)?;
        Ok(0)
    })
}

/// `virDomainDefSave` under its older libvirt name and argument order; `caps` is ignored.
#[no_mangle]
pub unsafe extern "C" fn virDomainSaveConfig(
    configDir: *const c_char,
    caps: *mut virCaps,
    def: *mut virDomainDef,
) -> c_int {
    call(D, "virDomainSaveConfig", |cx| {
        log_debug!("virDomainSaveConfig(configDir={configDir:?}, caps={caps:?}, def={def:?})");
        cx.non_null(def, "def")?;
        let dir = cx.str_arg(configDir, "configDir")?;
        let _ = caps;
        persist::save_config(def, dir)?;
        Ok(0)
    })
}

/// `virDomainObjSave` under its older libvirt name and argument order; `caps` is ignored.
#[no_mangle]
pub unsafe extern "C" fn virDomainSaveStatus(
    xmlopt: *mut virDomainXMLOption,
    statusDir: *const c_char,
    obj: *mut virDomainObj,
    caps: *mut virCaps,
) -> c_int {
    call(D, "virDomainSaveStatus", |cx| {
        log_debug!("virDomainSaveStatus(xmlopt={xmlopt:?}, statusDir={statusDir:?}, obj={obj:?}, caps={caps:?})");
        obj_arg(&cx, obj, "obj")?;
        xmlopt_arg(&cx, xmlopt)?;
        let dir = cx.str_arg(statusDir, "statusDir")?;
        let _ = caps;
        persist::save_status(obj, dir)?;
        Ok(0)
    })
}

/// Removes `configDir/NAME.xml` and the autostart link `autostartDir/NAME.xml` of a
/// locked domain and clears `autostart` (libvirt's `virDomainDeleteConfig`). A missing
/// config file is not an error; an empty `configDir` or `autostartDir` is
/// `VIR_ERR_INVALID_ARG` and removes nothing.
#[no_mangle]
pub unsafe extern "C" fn virDomainDeleteConfig(
    configDir: *const c_char,
    autostartDir: *const c_char,
    dom: *mut virDomainObj,
) -> c_int {
    call(D, "virDomainDeleteConfig", |cx| {
        log_debug!("virDomainDeleteConfig(configDir={configDir:?}, autostartDir={autostartDir:?}, dom={dom:?})");
        let dir = cx.str_arg(configDir, "configDir")?;
        let auto = cx.str_arg(autostartDir, "autostartDir")?;
        obj_arg(&cx, dom, "dom")?;
        persist::delete_config(dom, dir, auto)?;
        Ok(0)
    })
}

/// `dir/name.xml`, malloc'ed (libvirt's `virDomainConfigFile`).
#[no_mangle]
pub unsafe extern "C" fn virDomainConfigFile(
    dir: *const c_char,
    name: *const c_char,
) -> *mut c_char {
    call(D, "virDomainConfigFile", |cx| {
        log_debug!("virDomainConfigFile(dir={dir:?}, name={name:?})");
        let d = cx.str_arg(dir, "dir")?;
        let n = cx.str_arg(name, "name")?;
        Ok(malloc_cstring(
            &persist::config_file(d, n).to_string_lossy(),
        ))
    })
}

export_symbols!();
