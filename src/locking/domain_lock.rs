//! Domain glue, like libvirt's `domain_lock.c`: takes a `virDomainObj` and turns its
//! definition into a lock context — the five domain parameters (`uuid`, `name`, `id`,
//! `pid`, `uri`), each lease as a `LEASE` resource (`path`, `offset`, `lockspace`) and each
//! local disk (file, block, dir) as a `DISK` resource, `READONLY` / `SHARED` from the
//! disk's flags — so callers never build resources by hand.
//!
//! As in libvirt, every call builds a fresh context and frees it before returning: the
//! lock driver (e.g. `lockspace`) ties the locks to the process, not to the context.

use std::ffi::{c_char, c_int, c_uint, c_void};

use super::abi::*;
use super::manager::Manager;
use super::plugin::LockPlugin;
use crate::domain::obj::virDomainObj;
use crate::domain::types::{
    disks, leases, virDomainDef, virDomainDiskDef, virDomainLeaseDef, virStorageSource,
    VIR_DOMAIN_DISK_DEVICE_CDROM, VIR_STORAGE_TYPE_BLOCK, VIR_STORAGE_TYPE_DIR,
    VIR_STORAGE_TYPE_FILE,
};
use crate::error::{virErrorDomain, Error};
use crate::ffi::{call, Cx};
use crate::object;

const DOM: virErrorDomain = virErrorDomain::VIR_FROM_LOCKING;

/// Frees its context on every path out.
struct Ctx(*mut Manager);
impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: created by Manager::create, freed once here.
        if let Err(e) = unsafe { Manager::free(self.0) } {
            log_warn!("freeing a domain lock context: {}", e.full_message());
        }
    }
}
impl Ctx {
    fn m(&mut self) -> &mut Manager {
        // SAFETY: live until drop; used by one thread.
        unsafe { &mut *self.0 }
    }

    /// Acquires what was added, with no flags, the domain's `onLockFailure` action and
    /// no descriptor: the resume and hot-plug case (libvirt passes the action to every
    /// acquire).
    unsafe fn acquire_added(&mut self, a: &Args, state: *const c_char) -> Result<(), Error> {
        self.m().acquire(state, 0, a.action, std::ptr::null_mut())
    }
}

struct Args<'a> {
    plugin: &'a LockPlugin,
    dom: &'a virDomainObj,
    def: &'a virDomainDef,
    /// `def->onLockFailure`, checked.
    action: c_int,
}

fn is_cdrom(d: *const virDomainDiskDef) -> bool {
    // SAFETY: callers pass a non-NULL disk of the definition.
    !d.is_null() && unsafe { (*d).device } == VIR_DOMAIN_DISK_DEVICE_CDROM
}

unsafe fn args<'a>(
    cx: &Cx,
    plugin: *mut virLockManagerPlugin,
    dom: *mut virDomainObj,
) -> Result<Args<'a>, Error> {
    let plugin = object::checked::<LockPlugin>(cx, plugin as *const c_void, "plugin")?;
    let dom = object::checked::<virDomainObj>(cx, dom as *const c_void, "dom")?;
    if dom.def.is_null() {
        return Err(cx.invalid_arg(format!("domain {:p} in {} has no definition", dom, cx.func)));
    }
    let def = &*dom.def;
    if def.name.is_null() {
        return Err(cx.invalid_arg(format!("domain {:p} in {} has no name", dom, cx.func)));
    }
    let action = def.onLockFailure;
    if !(VIR_DOMAIN_LOCK_FAILURE_DEFAULT..VIR_DOMAIN_LOCK_FAILURE_LAST).contains(&action) {
        return Err(cx.invalid_arg(format!(
            "domain '{}' has an invalid onLockFailure action {action}",
            dom_name(def)
        )));
    }
    Ok(Args {
        plugin,
        dom,
        def,
        action,
    })
}

fn dom_name(def: &virDomainDef) -> String {
    // SAFETY: checked non-NULL in args().
    unsafe { std::ffi::CStr::from_ptr(def.name) }
        .to_string_lossy()
        .into_owned()
}

/// libvirt's `virDomainLockManagerAddImage`: local images only; none without a path.
/// `cdrom`: the disk is a CD-ROM, read-only whatever its source says (libvirt's post-parse
/// forces it at parse; this also covers a disk C code built or changed), so installation
/// media never takes an exclusive lock.
unsafe fn add_image(
    m: &mut Manager,
    src: *const virStorageSource,
    cdrom: bool,
) -> Result<(), Error> {
    if src.is_null() || (*src).path.is_null() {
        return Ok(());
    }
    let s = &*src;
    if ![
        VIR_STORAGE_TYPE_FILE,
        VIR_STORAGE_TYPE_BLOCK,
        VIR_STORAGE_TYPE_DIR,
    ]
    .contains(&s.type_)
    {
        return Ok(());
    }
    let mut flags: c_uint = 0;
    if s.readonly || cdrom {
        flags |= VIR_LOCK_MANAGER_RESOURCE_READONLY;
    }
    if s.shared {
        flags |= VIR_LOCK_MANAGER_RESOURCE_SHARED;
    }
    log_debug!(
        "add disk {} flags=0x{flags:x}",
        std::ffi::CStr::from_ptr(s.path).to_string_lossy()
    );
    m.add_resource(
        VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK,
        s.path,
        0,
        std::ptr::null_mut(),
        flags,
    )
}

/// libvirt's `virDomainLockManagerAddLease`: `path`, `offset`, and `lockspace` when set.
unsafe fn add_lease(
    cx: &Cx,
    m: &mut Manager,
    lease: *const virDomainLeaseDef,
) -> Result<(), Error> {
    if lease.is_null() {
        return Ok(());
    }
    let l = &*lease;
    if l.key.is_null() || l.path.is_null() {
        return Err(cx.invalid_arg(format!("lease in {} has no key or no path", cx.func)));
    }
    let mut p: [virLockManagerParam; 3] = std::mem::zeroed();
    p[0].r#type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING;
    p[0].key = c"path".as_ptr();
    p[0].value.str = l.path;
    p[1].r#type = VIR_LOCK_MANAGER_PARAM_TYPE_ULONG;
    p[1].key = c"offset".as_ptr();
    p[1].value.ul = l.offset;
    p[2].r#type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING;
    p[2].key = c"lockspace".as_ptr();
    p[2].value.str = l.lockspace;
    let n = if l.lockspace.is_null() { 2 } else { 3 };
    log_debug!(
        "add lease {}",
        std::ffi::CStr::from_ptr(l.key).to_string_lossy()
    );
    m.add_resource(
        VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE,
        l.key,
        n,
        p.as_mut_ptr(),
        0,
    )
}

/// libvirt's `virDomainLockManagerNew`: the context for `dom`, with all its leases and
/// disks when `with_resources`.
unsafe fn context(
    cx: &Cx,
    a: &Args,
    uri: *const c_char,
    with_resources: bool,
    flags: c_uint,
) -> Result<Ctx, Error> {
    let mut p: [virLockManagerParam; 5] = std::mem::zeroed();
    p[0].r#type = VIR_LOCK_MANAGER_PARAM_TYPE_UUID;
    p[0].key = c"uuid".as_ptr();
    p[0].value.uuid = a.def.uuid;
    p[1].r#type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING;
    p[1].key = c"name".as_ptr();
    p[1].value.str = a.def.name;
    p[2].r#type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT;
    p[2].key = c"id".as_ptr();
    p[2].value.iv = a.def.id;
    p[3].r#type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT;
    p[3].key = c"pid".as_ptr();
    p[3].value.iv = a.dom.pid;
    p[4].r#type = VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING;
    p[4].key = c"uri".as_ptr();
    p[4].value.cstr = uri;
    log_debug!(
        "domain '{}' pid={} plugin '{}' resources={with_resources} flags=0x{flags:x}",
        dom_name(a.def),
        a.dom.pid,
        a.plugin.name_str()
    );
    let lock = Manager::create(
        a.plugin.driver(),
        VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN,
        5,
        p.as_mut_ptr(),
        flags,
    )?;
    let mut ctx = Ctx(lock.cast::<Manager>());
    if with_resources {
        for &l in leases(a.def) {
            add_lease(cx, ctx.m(), l)?;
        }
        for &d in disks(a.def) {
            if !d.is_null() {
                add_image(ctx.m(), (*d).src, is_cdrom(d))?;
            }
        }
    }
    Ok(ctx)
}

/// Takes a guest's locks as its process starts (called in the guest's process, whose pid
/// is `dom->pid`): all disks and leases, `RESTRICT`ed; when @paused only registers the
/// process (`REGISTER_ONLY`), the locks come with `virDomainLockProcessResume`. @fd (may be
/// NULL) receives the driver's descriptor, if any, or -1.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockProcessStart(
    plugin: *mut virLockManagerPlugin,
    uri: *const c_char,
    dom: *mut virDomainObj,
    paused: bool,
    fd: *mut c_int,
) -> c_int {
    call(DOM, "virDomainLockProcessStart", |cx| {
        log_debug!(
            "{}: plugin={plugin:p} dom={dom:p} paused={paused} fd={fd:p}",
            cx.func
        );
        let a = unsafe { args(&cx, plugin, dom) }?;
        unsafe { cx.opt_str_arg(uri, "uri") }?;
        let mut ctx = unsafe { context(&cx, &a, uri, true, VIR_LOCK_MANAGER_NEW_STARTED) }?;
        let mut flags = VIR_LOCK_MANAGER_ACQUIRE_RESTRICT;
        if paused {
            flags |= VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY;
        }
        unsafe { ctx.m().acquire(std::ptr::null(), flags, a.action, fd) }?;
        Ok(0)
    })
}

/// Releases a guest's locks as it pauses; @state (may be NULL) receives the driver's lock
/// state (free() it), to be handed to `virDomainLockProcessResume`.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockProcessPause(
    plugin: *mut virLockManagerPlugin,
    dom: *mut virDomainObj,
    state: *mut *mut c_char,
) -> c_int {
    call(DOM, "virDomainLockProcessPause", |cx| {
        log_debug!("{}: plugin={plugin:p} dom={dom:p} state={state:p}", cx.func);
        if !state.is_null() {
            unsafe { *state = std::ptr::null_mut() };
        }
        let a = unsafe { args(&cx, plugin, dom) }?;
        let mut ctx = unsafe { context(&cx, &a, std::ptr::null(), true, 0) }?;
        unsafe { ctx.m().release(state, 0) }?;
        Ok(0)
    })
}

/// Re-takes a paused guest's locks, from @state (may be NULL) as returned by
/// `virDomainLockProcessPause` or `virDomainLockProcessInquire`.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockProcessResume(
    plugin: *mut virLockManagerPlugin,
    uri: *const c_char,
    dom: *mut virDomainObj,
    state: *const c_char,
) -> c_int {
    call(DOM, "virDomainLockProcessResume", |cx| {
        log_debug!("{}: plugin={plugin:p} dom={dom:p} state={state:p}", cx.func);
        let a = unsafe { args(&cx, plugin, dom) }?;
        unsafe { cx.opt_str_arg(uri, "uri") }?;
        unsafe { cx.opt_str_arg(state, "state") }?;
        let mut ctx = unsafe { context(&cx, &a, uri, true, 0) }?;
        unsafe { ctx.acquire_added(&a, state) }?;
        Ok(0)
    })
}

/// The guest's current lock state in @state (free() it; NULL when the driver has none),
/// e.g. for migration.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockProcessInquire(
    plugin: *mut virLockManagerPlugin,
    dom: *mut virDomainObj,
    state: *mut *mut c_char,
) -> c_int {
    call(DOM, "virDomainLockProcessInquire", |cx| {
        log_debug!("{}: plugin={plugin:p} dom={dom:p} state={state:p}", cx.func);
        cx.non_null(state, "state")?;
        unsafe { *state = std::ptr::null_mut() };
        let a = unsafe { args(&cx, plugin, dom) }?;
        let mut ctx = unsafe { context(&cx, &a, std::ptr::null(), true, 0) }?;
        unsafe { ctx.m().inquire(state, 0) }?;
        Ok(0)
    })
}

/// Locks one more image (hot-plugged disk source @src) for a running guest.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockImageAttach(
    plugin: *mut virLockManagerPlugin,
    uri: *const c_char,
    dom: *mut virDomainObj,
    src: *mut virStorageSource,
) -> c_int {
    image_attach("virDomainLockImageAttach", plugin, uri, dom, src, false)
}

unsafe fn image_attach(
    func: &'static str,
    plugin: *mut virLockManagerPlugin,
    uri: *const c_char,
    dom: *mut virDomainObj,
    src: *mut virStorageSource,
    cdrom: bool,
) -> c_int {
    call(DOM, func, |cx| {
        log_debug!("{}: plugin={plugin:p} dom={dom:p} src={src:p}", cx.func);
        let a = unsafe { args(&cx, plugin, dom) }?;
        cx.non_null(src, "src")?;
        unsafe { cx.opt_str_arg(uri, "uri") }?;
        let mut ctx = unsafe { context(&cx, &a, uri, false, 0) }?;
        unsafe { add_image(ctx.m(), src, cdrom) }?;
        unsafe { ctx.acquire_added(&a, std::ptr::null()) }?;
        Ok(0)
    })
}

/// Unlocks one image (@src of an unplugged disk) of a running guest.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockImageDetach(
    plugin: *mut virLockManagerPlugin,
    dom: *mut virDomainObj,
    src: *mut virStorageSource,
) -> c_int {
    image_detach("virDomainLockImageDetach", plugin, dom, src, false)
}

unsafe fn image_detach(
    func: &'static str,
    plugin: *mut virLockManagerPlugin,
    dom: *mut virDomainObj,
    src: *mut virStorageSource,
    cdrom: bool,
) -> c_int {
    call(DOM, func, |cx| {
        log_debug!("{}: plugin={plugin:p} dom={dom:p} src={src:p}", cx.func);
        let a = unsafe { args(&cx, plugin, dom) }?;
        cx.non_null(src, "src")?;
        let mut ctx = unsafe { context(&cx, &a, std::ptr::null(), false, 0) }?;
        unsafe { add_image(ctx.m(), src, cdrom) }?;
        unsafe { ctx.m().release(std::ptr::null_mut(), 0) }?;
        Ok(0)
    })
}

/// `virDomainLockImageAttach` for @disk's source.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockDiskAttach(
    plugin: *mut virLockManagerPlugin,
    uri: *const c_char,
    dom: *mut virDomainObj,
    disk: *mut virDomainDiskDef,
) -> c_int {
    if disk.is_null() {
        return call(
            DOM,
            "virDomainLockDiskAttach",
            |cx| Err(cx.null_arg("disk")),
        );
    }
    image_attach(
        "virDomainLockDiskAttach",
        plugin,
        uri,
        dom,
        (*disk).src,
        is_cdrom(disk),
    )
}

/// `virDomainLockImageDetach` for @disk's source.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockDiskDetach(
    plugin: *mut virLockManagerPlugin,
    dom: *mut virDomainObj,
    disk: *mut virDomainDiskDef,
) -> c_int {
    if disk.is_null() {
        return call(
            DOM,
            "virDomainLockDiskDetach",
            |cx| Err(cx.null_arg("disk")),
        );
    }
    image_detach(
        "virDomainLockDiskDetach",
        plugin,
        dom,
        (*disk).src,
        is_cdrom(disk),
    )
}

/// Takes one more lease (@lease, hot-plugged) for a running guest.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockLeaseAttach(
    plugin: *mut virLockManagerPlugin,
    uri: *const c_char,
    dom: *mut virDomainObj,
    lease: *mut virDomainLeaseDef,
) -> c_int {
    call(DOM, "virDomainLockLeaseAttach", |cx| {
        log_debug!("{}: plugin={plugin:p} dom={dom:p} lease={lease:p}", cx.func);
        let a = unsafe { args(&cx, plugin, dom) }?;
        cx.non_null(lease, "lease")?;
        unsafe { cx.opt_str_arg(uri, "uri") }?;
        let mut ctx = unsafe { context(&cx, &a, uri, false, 0) }?;
        unsafe { add_lease(&cx, ctx.m(), lease) }?;
        unsafe { ctx.acquire_added(&a, std::ptr::null()) }?;
        Ok(0)
    })
}

/// Releases one lease (@lease, unplugged) of a running guest.
#[no_mangle]
pub unsafe extern "C" fn virDomainLockLeaseDetach(
    plugin: *mut virLockManagerPlugin,
    dom: *mut virDomainObj,
    lease: *mut virDomainLeaseDef,
) -> c_int {
    call(DOM, "virDomainLockLeaseDetach", |cx| {
        log_debug!("{}: plugin={plugin:p} dom={dom:p} lease={lease:p}", cx.func);
        let a = unsafe { args(&cx, plugin, dom) }?;
        cx.non_null(lease, "lease")?;
        let mut ctx = unsafe { context(&cx, &a, std::ptr::null(), false, 0) }?;
        unsafe { add_lease(&cx, ctx.m(), lease) }?;
        unsafe { ctx.m().release(std::ptr::null_mut(), 0) }?;
        Ok(0)
    })
}

export_symbols!();
