//! The domain object list: O(1) lookups by UUID, name and ID under one reader-writer lock
//! (sharded per thread for readers, `rwlock.rs`; the indexes are in `index.rs`).
//!
//! Lock order: list before object. Finds take a reference under the list's read lock,
//! release it, and only then lock the object (re-checking `removing`), so a finder never
//! holds the list while waiting for an object. Writers (add, remove, rename) hold the
//! write lock and may lock objects under it. The thread holding the write lock (e.g. inside
//! a `ForEach(modify=true)` or rename callback) may call the list again without deadlock.
//!
//! The ID index is a hint: C code may write `def->id` (or replace `vm->def`) directly.
//! `FindByID` verifies the ID under the object's lock; a stale entry or a miss triggers one
//! scan that repairs every entry, so it never returns a domain whose current ID differs.

use std::cell::UnsafeCell;
use std::ffi::{c_int, CStr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::error::{arg_err, failed, internal, invalid};
use super::index::Index;
use super::obj::{assign_def, is_active, virDomainObj};
use super::rwlock::{Reading, ShardedRwLock, READING};
use super::types::{uuid_format, virDomainDef, VIR_UUID_BUFLEN};
use crate::error::{virErrorDomain, virErrorNumber, Error};
use crate::object::{virObject, Lockable, ObjectClass, ObjectType, Strong};

/// Adding a running domain: the definition is the live one (libvirt's flag values).
pub const VIR_DOMAIN_OBJ_LIST_ADD_LIVE: std::ffi::c_uint = 1 << 0;
/// Refuse to add over a domain that is active or being started.
pub const VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE: std::ffi::c_uint = 1 << 1;

type Maps = Index;

/// The list's state (opaque to C).
pub struct virDomainObjListPrivate {
    lock: ShardedRwLock,
    /// Token of the thread holding the write lock (0: none).
    writer: AtomicUsize,
    /// The object whose rename callback is running (NULL: none); written under the
    /// write lock. A rename from inside it is refused.
    renaming: std::cell::Cell<*mut virDomainObj>,
    maps: UnsafeCell<Maps>,
    /// Domains with a definition (high 32 bits) and active ones (low 32 bits), kept exact
    /// by insertion, removal and the objects' unlock hook (`listing.rs`).
    pub(super) counts: AtomicU64,
}

/// The registry of domains (libvirt's `virDomainObjList`). Opaque: use the functions.
#[repr(C)]
pub struct virDomainObjList {
    pub parent: virObject,
    pub inner: *mut virDomainObjListPrivate,
}

static LIST_CLASS: ObjectClass =
    ObjectClass::boxed::<virDomainObjList>("virDomainObjList", 0x0003, false).pinned();
unsafe impl ObjectType for virDomainObjList {
    const CLASS: &'static ObjectClass = &LIST_CLASS;
}
unsafe impl Send for virDomainObjList {}
unsafe impl Sync for virDomainObjList {}

impl Drop for virDomainObjList {
    fn drop(&mut self) {
        if !self.inner.is_null() {
            // SAFETY: allocated in `new`, freed once here; no one else holds the list.
            let inner = unsafe { Box::from_raw(self.inner) };
            let maps = inner.maps.into_inner();
            for o in maps.objects() {
                // Under the object's lock: its unlock hook reads `owner` and `entry` (and
                // through them this list) holding only that lock.
                let mine = o.is_locked_by_me();
                if !mine {
                    o.lock();
                }
                unsafe {
                    let p = o.as_ptr();
                    (*p).link.owner = std::ptr::null();
                    (*p).link.entry = std::ptr::null();
                    (*p).link.status = 0;
                    if !mine {
                        o.unlock();
                    }
                }
            }
        }
    }
}

impl virDomainObjListPrivate {
    /// The indexes, for code that holds a guard (read through this pointer only).
    pub(super) fn maps_ptr(&self) -> *mut Maps {
        self.maps.get()
    }
}

fn me() -> usize {
    crate::object::thread_token()
}

fn reading(l: &virDomainObjListPrivate) -> bool {
    let key = l as *const _ as usize;
    READING.with(|r| r.contains(key))
}

/// Holds the list's lock; releases it when dropped (nothing when re-entered by the writer).
pub struct Guard<'a> {
    l: &'a virDomainObjListPrivate,
    kind: u8, // 0: re-entrant (no-op), 1: shared, 2: exclusive
    shard: usize,
    /// The thread's `READING` (shared guards only; a guard never leaves its thread).
    rd: *const Reading,
}
impl Drop for Guard<'_> {
    fn drop(&mut self) {
        unsafe {
            match self.kind {
                1 => {
                    (*self.rd).pop(self.l as *const _ as usize);
                    self.l.lock.unlock_shared(self.shard)
                }
                2 => {
                    self.l.writer.store(0, Ordering::Relaxed);
                    self.l.lock.unlock_exclusive()
                }
                _ => {}
            }
        }
    }
}

/// The name bytes of a definition (empty if it has none).
unsafe fn name_bytes<'a>(def: *const virDomainDef) -> &'a [u8] {
    if def.is_null() || (*def).name.is_null() {
        b""
    } else {
        CStr::from_ptr((*def).name).to_bytes()
    }
}

unsafe fn def_id(obj: *const virDomainObj) -> c_int {
    let d = (*obj).def;
    if d.is_null() {
        -1
    } else {
        (*d).id
    }
}

impl virDomainObjList {
    pub fn new() -> Strong<virDomainObjList> {
        let inner = Box::new(virDomainObjListPrivate {
            lock: ShardedRwLock::new(),
            writer: AtomicUsize::new(0),
            renaming: std::cell::Cell::new(std::ptr::null_mut()),
            maps: UnsafeCell::new(Maps::default()),
            counts: AtomicU64::new(0),
        });
        Strong::new(virDomainObjList {
            parent: virObject::new(&LIST_CLASS),
            inner: Box::into_raw(inner),
        })
    }

    pub(super) fn p(&self) -> &virDomainObjListPrivate {
        // SAFETY: set in `new`, valid until the list is disposed.
        unsafe { &*self.inner }
    }

    fn is_writer(&self) -> bool {
        // (No writer is the common case: then the thread's token need not be looked up.)
        let w = self.p().writer.load(Ordering::Relaxed);
        w != 0 && w == me()
    }

    pub fn read(&self) -> Guard<'_> {
        let l = self.p();
        if self.is_writer() {
            return Guard {
                l,
                kind: 0,
                shard: 0,
                rd: std::ptr::null(),
            };
        }
        let shard = l.lock.lock_shared();
        let rd = READING.with(|r| {
            r.push(l as *const _ as usize);
            r as *const Reading
        });
        Guard {
            l,
            kind: 1,
            shard,
            rd,
        }
    }

    /// The write lock if it can be had within `timeout`.
    pub fn try_write(&self, timeout: Duration) -> Option<Guard<'_>> {
        let l = self.p();
        if self.is_writer() {
            return Some(Guard {
                l,
                kind: 0,
                shard: 0,
                rd: std::ptr::null(),
            });
        }
        if reading(l) || !l.lock.try_lock_exclusive_for(timeout) {
            return None;
        }
        l.writer.store(me(), Ordering::Relaxed);
        Some(Guard {
            l,
            kind: 2,
            shard: 0,
            rd: std::ptr::null(),
        })
    }

    /// The write lock (re-entrant for the thread holding it). Refused to a thread that
    /// holds the read lock (a `ForEach(modify=false)` callback): it would wait for itself.
    pub fn write(&self) -> Result<Guard<'_>, Error> {
        let l = self.p();
        if self.is_writer() {
            return Ok(Guard {
                l,
                kind: 0,
                shard: 0,
                rd: std::ptr::null(),
            });
        }
        if reading(l) {
            return Err(invalid(
                "cannot change the domain list from a virDomainObjListForEach callback \
                 with modify=false (the list is locked for reading)",
            ));
        }
        l.lock.lock_exclusive();
        l.writer.store(me(), Ordering::Relaxed);
        Ok(Guard {
            l,
            kind: 2,
            shard: 0,
            rd: std::ptr::null(),
        })
    }

    /// Whether `dom` is indexed in this list (its `owner` is written only with both this
    /// list's write lock and the object's lock held, so either lock makes this exact).
    ///
    /// # Safety
    /// `dom` is a live object; the caller holds its lock or this list's lock.
    unsafe fn owns(&self, dom: *const virDomainObj) -> bool {
        std::ptr::eq((*dom).link.owner, self.inner.cast())
    }

    /// The error for an object of another list; `Ok` for ours or one in no list.
    ///
    /// # Safety
    /// As for [`owns`](Self::owns).
    unsafe fn check_not_foreign(&self, dom: *const virDomainObj, what: &str) -> Result<(), Error> {
        if !(*dom).link.owner.is_null() && !self.owns(dom) {
            return Err(arg_err(format!(
                "cannot {what} domain '{}': it belongs to another domain list",
                String::from_utf8_lossy(name_bytes((*dom).def))
            )));
        }
        Ok(())
    }

    /// # Safety
    /// The caller holds a guard; mutation only with a write guard.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn maps(&self, _g: &Guard) -> &mut Maps {
        &mut *self.p().maps.get()
    }

    /// Takes a reference, then locks outside the list lock; None if being removed.
    fn lock_found(obj: Option<Strong<virDomainObj>>) -> Option<Strong<virDomainObj>> {
        let o = obj?;
        o.lock();
        if o.removing {
            unsafe { o.unlock() };
            return None;
        }
        Some(o)
    }

    pub fn find_by_uuid(&self, uuid: &[u8; VIR_UUID_BUFLEN]) -> Option<Strong<virDomainObj>> {
        let found = {
            let g = self.read();
            unsafe { self.maps(&g) }.find_uuid(uuid).cloned()
        };
        Self::lock_found(found)
    }

    pub fn find_by_name(&self, name: &[u8]) -> Option<Strong<virDomainObj>> {
        let found = {
            let g = self.read();
            unsafe { self.maps(&g) }
                .find_name(name)
                .map(|p| unsafe { Strong::new_ref(p) })
        };
        Self::lock_found(found)
    }

    fn find_id_indexed(&self, id: c_int) -> Result<Option<Strong<virDomainObj>>, ()> {
        let found = {
            let g = self.read();
            unsafe { self.maps(&g) }
                .find_id(id)
                .map(|p| unsafe { Strong::new_ref(p) })
        };
        let Some(o) = found else { return Err(()) };
        o.lock();
        if unsafe { def_id(o.as_ptr()) } == id && !o.removing {
            return Ok(Some(o));
        }
        unsafe { o.unlock() };
        Err(())
    }

    /// Scans every domain for the one whose current `def->id` is `want`, and brings the ID
    /// index up to date with what it saw. Returns the match, referenced but unlocked.
    fn scan_ids(&self, want: c_int) -> Option<Strong<virDomainObj>> {
        let all: Vec<Strong<virDomainObj>> = {
            let g = self.read();
            unsafe { self.maps(&g) }.objects().cloned().collect()
        };
        // An object this thread itself holds locked (a caller looking up another domain by
        // ID while working on one) would deadlock a blocking lock: wait a bounded time and
        // leave that object out.
        let mut seen = Vec::with_capacity(all.len());
        let mut found = None;
        for o in &all {
            let m = o.lockable_header();
            if m.try_acquire(Duration::from_millis(50)) {
                let id = unsafe { def_id(o.as_ptr()) };
                m.release();
                if id == want && found.is_none() {
                    found = Some(o.clone());
                }
                seen.push(Some(id));
            } else {
                log_debug!("ID scan: domain object {:p} busy, skipped", o.as_ptr());
                seen.push(None);
            }
        }
        // Repairing needs the write lock, which this thread cannot get while it holds the
        // read lock (a ForEach callback): then the index stays as it is this time.
        if let Some(g) = self.try_write(Duration::from_millis(10)) {
            let maps = unsafe { self.maps(&g) };
            for (o, id) in all.iter().zip(seen) {
                let p = o.as_ptr();
                unsafe {
                    match id {
                        Some(id) if self.owns(p) && (*p).link.id != id => maps.set_id(p, id),
                        _ => {}
                    }
                }
            }
            log_debug!("domain ID index repaired ({} domains)", all.len());
        }
        found
    }

    pub fn find_by_id(&self, id: c_int) -> Option<Strong<virDomainObj>> {
        if id < 0 {
            return None;
        }
        if let Ok(o) = self.find_id_indexed(id) {
            return o;
        }
        let o = self.scan_ids(id)?;
        o.lock();
        // Re-checked under the object's lock: it may have changed since the scan.
        if unsafe { def_id(o.as_ptr()) } == id && !o.removing {
            return Some(o);
        }
        unsafe { o.unlock() };
        None
    }

    /// libvirt's `virDomainObjListAdd`; returns the object locked and referenced.
    ///
    /// # Safety
    /// `def` points to a valid definition owned by the caller; taken on success.
    pub unsafe fn add(
        &self,
        def: &mut *mut virDomainDef,
        flags: std::ffi::c_uint,
        old_def: Option<&mut *mut virDomainDef>,
    ) -> Result<Strong<virDomainObj>, Error> {
        let d = *def;
        let name = name_bytes(d);
        if name.is_empty() {
            return Err(arg_err("domain definition has no name"));
        }
        let name_s = String::from_utf8_lossy(name).into_owned();
        let mut old_def = old_def;
        if let Some(o) = old_def.as_deref_mut() {
            *o = std::ptr::null_mut();
        }
        let g = self.write()?;
        let maps = self.maps(&g);
        if let Some(vm) = maps.find_uuid(&(*d).uuid) {
            let vm = vm.clone();
            // libvirt would block here forever, holding the list's write lock.
            refuse_own_lock(vm.as_ptr())?;
            vm.lock();
            let p = vm.as_ptr();
            let cur_name = String::from_utf8_lossy(name_bytes((*p).def)).into_owned();
            let fail = |e: Error| -> Result<Strong<virDomainObj>, Error> {
                vm.unlock();
                Err(e)
            };
            if (*p).removing {
                return fail(failed(format!(
                    "domain '{cur_name}' is already being removed"
                )));
            }
            if cur_name.as_bytes() != name {
                return fail(failed(format!(
                    "domain '{cur_name}' is already defined with uuid {}",
                    uuid_format(&(*d).uuid)
                )));
            }
            if flags & VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE != 0 {
                if is_active(p) {
                    return fail(invalid(format!("domain '{cur_name}' is already active")));
                }
                if !(*p).persistent {
                    return fail(invalid(format!(
                        "domain '{cur_name}' is already being started"
                    )));
                }
            }
            assign_def(p, d, flags & VIR_DOMAIN_OBJ_LIST_ADD_LIVE != 0, old_def);
            *def = std::ptr::null_mut();
            maps.set_id(p, def_id(p));
            log_debug!("domain '{name_s}': definition replaced");
            return Ok(vm);
        }
        if let Some(other) = maps.find_name(name) {
            refuse_own_lock(other)?;
            (*other).lock();
            let other_uuid = if (*other).def.is_null() {
                (*other).link.uuid
            } else {
                (*(*other).def).uuid
            };
            (*other).unlock();
            return Err(failed(format!(
                "domain '{name_s}' already exists with uuid {}",
                uuid_format(&other_uuid)
            )));
        }
        let Ok(name_str) = std::str::from_utf8(name) else {
            return Err(arg_err(format!(
                "domain name '{name_s}' is not valid UTF-8"
            )));
        };
        let vm = Strong::new(virDomainObj::new());
        vm.lock();
        let p = vm.as_ptr();
        (*p).def = d;
        *def = std::ptr::null_mut();
        self.insert_locked(maps, &vm, name_str);
        log_debug!("domain '{name_s}' added");
        Ok(vm)
    }

    /// Indexes a new object (write lock held).
    unsafe fn insert_locked(&self, maps: &mut Maps, vm: &Strong<virDomainObj>, name: &str) {
        let p = vm.as_ptr();
        let d = (*p).def;
        maps.insert(vm, &(*d).uuid, name, &self.p().counts);
        (*p).link.owner = self.inner.cast();
        maps.set_id(p, def_id(p));
    }

    /// Removes a locked object from every index (write lock held, object locked).
    unsafe fn remove_from_maps(&self, maps: &mut Maps, dom: *mut virDomainObj) {
        if !self.owns(dom) {
            return;
        }
        if let Some(list_ref) = maps.remove(dom, &self.p().counts) {
            (*dom).link.owner = std::ptr::null();
            drop(list_ref); // the caller still holds its own reference
        }
    }

    /// libvirt's `virDomainObjListRemove`: `dom` is locked by the caller and still locked
    /// on return; it is marked `removing` first so no finder can take it again. An object
    /// of another list is refused and left as it was.
    ///
    /// # Safety
    /// `dom` is a live object locked by the calling thread.
    pub unsafe fn remove(&self, dom: *mut virDomainObj) -> Result<(), Error> {
        self.check_not_foreign(dom, "remove")?;
        let writer = self.is_writer();
        if !writer && reading(self.p()) {
            // Refused before `removing` is set: the error changes nothing.
            self.write()?;
        }
        (*dom).removing = true;
        let keep = Strong::new_ref(dom);
        if !writer {
            keep.unlock();
        }
        let g = self.write();
        if !writer {
            keep.lock();
        }
        let g = g?;
        self.remove_from_maps(self.maps(&g), dom);
        drop(g);
        drop(keep);
        Ok(())
    }

    /// libvirt's `virDomainObjListRemoveLocked`. When the calling thread does not hold the
    /// list's write lock (only list callbacks can), this is `remove`.
    ///
    /// # Safety
    /// As for [`remove`](Self::remove).
    pub unsafe fn remove_locked(&self, dom: *mut virDomainObj) -> Result<(), Error> {
        if self.is_writer() {
            self.check_not_foreign(dom, "remove")?;
            let g = self.write()?;
            self.remove_from_maps(self.maps(&g), dom);
            Ok(())
        } else {
            self.remove(dom)
        }
    }

    /// libvirt's `virDomainObjListRename`. `dom` is locked by the caller (and on return).
    /// The callback may remove `dom` from the list (`RemoveLocked`): then the new name is
    /// dropped from the index too. Renaming from inside a rename callback is refused.
    ///
    /// # Safety
    /// `dom` is a live object locked by the calling thread.
    pub unsafe fn rename(
        &self,
        dom: *mut virDomainObj,
        new_name: &CStr,
        mut callback: impl FnMut() -> c_int,
    ) -> Result<(), Error> {
        let old: Box<[u8]> = name_bytes((*dom).def).into();
        let old_s = String::from_utf8_lossy(&old).into_owned();
        if !self.owns(dom) {
            let why = if !(*dom).link.owner.is_null() {
                "it belongs to another domain list"
            } else {
                "it is not in this domain list"
            };
            return Err(arg_err(format!("cannot rename domain '{old_s}': {why}")));
        }
        if old.as_ref() == new_name.to_bytes() {
            // libvirt 9.0 refuses this too.
            return Err(Error::new(
                virErrorDomain::VIR_FROM_DOMAIN,
                virErrorNumber::VIR_ERR_OPERATION_INVALID,
                "Can't rename domain to itself",
            ));
        }
        let new_s = new_name.to_string_lossy().into_owned();
        // Refused as at parse, with the same code (libvirt's rename callbacks report a '/'
        // as VIR_ERR_XML_ERROR too): a name that cannot be saved never enters the list.
        super::xml::check_name(&new_s)?;
        let writer = self.is_writer();
        if !writer {
            // Refused here (e.g. inside ForEach(modify=false)) before the object is unlocked.
            if reading(self.p()) {
                self.write()?;
            }
        } else if !self.p().renaming.get().is_null() {
            return Err(invalid(format!(
                "cannot rename domain '{old_s}' from inside a rename callback"
            )));
        }
        let keep = Strong::new_ref(dom);
        if !writer {
            keep.unlock();
        }
        let g = self.write();
        if !writer {
            keep.lock();
        }
        let g = g?;
        let maps = self.maps(&g);
        if maps.find_name(new_name.to_bytes()).is_some() {
            return Err(invalid(format!(
                "domain with name '{new_s}' already exists"
            )));
        }
        if !self.owns(dom) {
            // Removed by another thread while it was unlocked.
            return Err(invalid(format!("domain '{old_s}' is not in this list")));
        }
        maps.rename_begin(dom, &new_s);
        self.p().renaming.set(dom);
        let rc = callback();
        self.p().renaming.set(std::ptr::null_mut());
        // The callback may have changed the list (RemoveLocked, Add): look again. A
        // domain it removed keeps no index entry under either name.
        let maps = self.maps(&g);
        maps.rename_end(dom, rc >= 0 && self.owns(dom));
        if rc < 0 {
            return Err(failed(format!(
                "renaming domain '{old_s}' to '{new_s}' failed in the callback"
            )));
        }
        Ok(())
    }

    /// Whether a domain with this UUID is listed (for loaders).
    pub fn contains_uuid(&self, uuid: &[u8; VIR_UUID_BUFLEN]) -> bool {
        let g = self.read();
        unsafe { self.maps(&g) }.find_uuid(uuid).is_some()
    }

    /// Adds an object built by a loader (status files); fails on UUID or name conflicts.
    ///
    /// # Safety
    /// `vm` is locked by the caller and has a definition with a name.
    pub unsafe fn add_obj(&self, vm: &Strong<virDomainObj>) -> Result<(), Error> {
        let g = self.write()?;
        let maps = self.maps(&g);
        let d = (*vm.as_ptr()).def;
        let name = String::from_utf8_lossy(name_bytes(d)).into_owned();
        if maps.find_uuid(&(*d).uuid).is_some() || maps.find_name(name_bytes(d)).is_some() {
            return Err(internal(format!(
                "unexpected domain '{name}' already exists"
            )));
        }
        if name.as_bytes() != name_bytes(d) {
            return Err(arg_err(format!("domain name '{name}' is not valid UTF-8")));
        }
        self.insert_locked(maps, vm, &name);
        Ok(())
    }
}

/// Refuses (`VIR_ERR_OPERATION_INVALID`) to wait for the lock of an object the calling
/// thread already holds: the lock is not recursive, so waiting would deadlock.
///
/// # Safety
/// `p` is a listed object (the list's lock is held, so it stays alive).
unsafe fn refuse_own_lock(p: *mut virDomainObj) -> Result<(), Error> {
    if !(*p).is_locked_by_me() {
        return Ok(());
    }
    // The calling thread holds the object's lock, so reading its definition is safe.
    let name = String::from_utf8_lossy(name_bytes((*p).def));
    Err(invalid(format!(
        "domain '{name}' is locked by the calling thread: unlock it before virDomainObjListAdd (waiting for it would deadlock)"
    )))
}
