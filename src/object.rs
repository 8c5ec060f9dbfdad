//! Reference-counted, lockable objects with libvirt's `virObject` header.
//!
//! Every object the library hands to C (`virDomainObj`, `virDomainObjList`, lock-manager
//! plugins, …) is a `#[repr(C)]` struct whose first field is a [`virObject`] or
//! [`virObjectLockable`], so `virObjectRef`, `virObjectUnref`, `virObjectLock` and
//! `virObjectUnlock` work on all of them. A pointer from C is looked up in a registry of
//! live objects (for domain lists: a small lock-free table of them, `PINNED`) before
//! anything behind it is read, then its header's per-class magic
//! number is checked: NULL, a pointer to something else, or an object already freed (a
//! double `virObjectUnref`) is reported as `VIR_ERR_INVALID_ARG` without reading the
//! memory (which may have been freed and handed out again).
//!
//! Refcounts are atomic. The last `virObjectUnref` takes the object out of the registry,
//! marks it dead and frees it through its class.

use std::collections::HashSet;
use std::ffi::c_void;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::lock_api::{RawMutex as _, RawMutexTimed as _};
use parking_lot::RawMutex;

use crate::error::{virErrorDomain, Error};
use crate::ffi::{call, call_void, Cx};

/// Magic numbers of live objects all have these high bits; the low bits name the class.
const MAGIC_FAMILY: u32 = 0x5643_0000; // "VC"
/// Written into the header when an object is freed, so stale pointers are recognized.
const MAGIC_DEAD: u32 = 0xDEAD_0B1E;

/// Addresses of the objects this library allocated and has not freed, in shards (by
/// address) so threads working on different objects rarely meet on one mutex.
const SHARDS: usize = 16;
struct Shard(parking_lot::Mutex<HashSet<usize, BuildHasherDefault<AddrHasher>>>);

/// Hashes an address with one multiplication: keys are heap addresses chosen by the
/// allocator, not by callers, so a keyed (DoS-resistant) hash would only cost time.
#[derive(Default)]
struct AddrHasher(u64);
impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = ((n as u64) >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SHARD: Shard = Shard(parking_lot::Mutex::new(HashSet::with_hasher(
    BuildHasherDefault::new(),
)));
static LIVE: [Shard; SHARDS] = [EMPTY_SHARD; SHARDS];

fn shard(
    addr: usize,
) -> &'static parking_lot::Mutex<HashSet<usize, BuildHasherDefault<AddrHasher>>> {
    // Heap blocks are at least 16-byte aligned: the low bits carry no information.
    &LIVE[(addr >> 4) % SHARDS].0
}

fn register(addr: usize) {
    shard(addr).lock().insert(addr);
}

fn unregister(addr: usize) {
    shard(addr).lock().remove(&addr);
}

fn is_registered(addr: usize) -> bool {
    shard(addr).lock().contains(&addr)
}

/// Live objects of the classes marked `pinned` (domain lists: few per process, kept for
/// its life and passed to every lookup), also listed here: one cache line that is written
/// only when such an object is created or freed, read without a lock. A lookup finds its
/// list here instead of taking a registry mutex, which every reader thread would take in
/// turn (it was ~15 % of a `Find*` + `EndAPI` at 10k domains, and a point where readers
/// serialize). A full table only means the registry is asked, as for every other class.
#[repr(align(64))]
struct Pinned([AtomicUsize; 8]);
static PINNED: Pinned = Pinned([const { AtomicUsize::new(0) }; 8]);

fn pin(addr: usize) {
    // Release: a reader that sees the address also sees the initialized object.
    for slot in &PINNED.0 {
        if slot
            .compare_exchange(0, addr, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

fn unpin(addr: usize) {
    for slot in &PINNED.0 {
        if slot
            .compare_exchange(addr, 0, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

/// Whether `addr` is a live object of a pinned class. As with the registry, the answer
/// holds as long as the caller keeps the reference the API requires of it.
fn is_pinned(addr: usize) -> bool {
    addr != 0 && PINNED.0.iter().any(|s| s.load(Ordering::Acquire) == addr)
}

/// What every object of one kind shares: its name (for messages), its magic number,
/// whether it carries a lock, and how it is freed.
pub struct ObjectClass {
    pub name: &'static str,
    pub magic: u32,
    pub lockable: bool,
    /// Also listed in the lock-free table of long-lived objects (see `PINNED`).
    pub pinned: bool,
    /// Frees the whole object. Called exactly once, when the last reference goes.
    pub dispose: unsafe fn(*mut virObject),
    /// Called by the thread holding the lock of a lockable object just before it unlocks
    /// it, whatever the path (`virObjectUnlock`, `virDomainObjEndAPI`, Rust): the one moment
    /// that sees every change C made to the object under its lock (e.g. `def->id`) before
    /// another thread can observe it. Must be cheap and must not lock anything.
    pub before_unlock: Option<unsafe fn(*const virObjectLockable)>,
}

impl ObjectClass {
    /// A class whose objects are `Box<T>`s. `id` must be unique among the library's classes.
    pub const fn boxed<T>(name: &'static str, id: u16, lockable: bool) -> ObjectClass {
        ObjectClass {
            name,
            magic: MAGIC_FAMILY | id as u32,
            lockable,
            pinned: false,
            dispose: dispose_box::<T>,
            before_unlock: None,
        }
    }

    /// The same class with a hook run before each unlock (see `before_unlock`).
    pub const fn with_before_unlock(self, f: unsafe fn(*const virObjectLockable)) -> ObjectClass {
        ObjectClass {
            before_unlock: Some(f),
            ..self
        }
    }

    /// The same class, its live objects also kept in the table `checked` reads without a
    /// lock: for the few long-lived objects every lookup is given.
    pub const fn pinned(self) -> ObjectClass {
        ObjectClass {
            pinned: true,
            ..self
        }
    }
}

unsafe fn dispose_box<T>(p: *mut virObject) {
    drop(Box::from_raw(p.cast::<T>()));
}

/// libvirt's object header: magic and refcount, then the class. Do not touch from C.
#[repr(C)]
pub struct virObject {
    pub magic: AtomicU32,
    pub refs: AtomicI32,
    pub klass: *const ObjectClass,
}

/// An object header with a mutex (libvirt's `virObjectLockable`).
#[repr(C)]
pub struct virObjectLockable {
    pub parent: virObject,
    pub lock: RawMutex,
    /// Internal: which thread holds `lock` (0: none), so an unlock from another thread is
    /// refused instead of releasing a lock that thread relies on.
    pub owner: AtomicUsize,
}

/// A number that identifies the calling thread among the live and past threads of the
/// process (never 0, never reused).
pub fn thread_token() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    thread_local!(static TOKEN: usize = NEXT.fetch_add(1, Ordering::Relaxed));
    TOKEN.with(|t| *t)
}

impl virObject {
    pub const fn new(class: &'static ObjectClass) -> Self {
        virObject {
            magic: AtomicU32::new(class.magic),
            refs: AtomicI32::new(1),
            klass: class,
        }
    }

    pub fn class(&self) -> &'static ObjectClass {
        // SAFETY: set from a `&'static ObjectClass` at construction and never changed.
        unsafe { &*self.klass }
    }
}

impl virObjectLockable {
    pub const fn new(class: &'static ObjectClass) -> Self {
        virObjectLockable {
            parent: virObject::new(class),
            lock: RawMutex::INIT,
            owner: AtomicUsize::new(0),
        }
    }

    /// Locks (blocking) and records the calling thread as the holder.
    pub fn acquire(&self) {
        self.lock.lock();
        self.owner.store(thread_token(), Ordering::Relaxed);
    }

    /// Locks if free, or once free within `timeout` (zero: no waiting).
    pub fn try_acquire(&self, timeout: Duration) -> bool {
        let ok = if timeout.is_zero() {
            self.lock.try_lock()
        } else {
            self.lock.try_lock() || self.lock.try_lock_for(timeout)
        };
        if ok {
            self.owner.store(thread_token(), Ordering::Relaxed);
        }
        ok
    }

    /// Whether the calling thread holds the lock. Exact for the calling thread: only it
    /// can store its own token, and it clears it before it unlocks.
    pub fn held_by_me(&self) -> bool {
        self.lock.is_locked() && self.owner.load(Ordering::Relaxed) == thread_token()
    }

    /// Unlocks if the calling thread holds the lock; false (and nothing changed) if not.
    pub fn release(&self) -> bool {
        if !self.held_by_me() {
            return false;
        }
        if let Some(f) = self.parent.class().before_unlock {
            // SAFETY: this thread holds the lock, as the hook requires.
            unsafe { f(self) };
        }
        self.owner.store(0, Ordering::Relaxed);
        // SAFETY: this thread holds the lock (checked above).
        unsafe { self.lock.unlock() };
        true
    }
}

/// A Rust type that is a library object: `#[repr(C)]`, with its header first.
///
/// # Safety
/// The implementing type must be `#[repr(C)]` with a `virObject` (or `virObjectLockable`
/// when `CLASS.lockable`) as its first field, initialized from `CLASS`, and be allocated
/// the way `CLASS.dispose` frees it.
pub unsafe trait ObjectType: Sized {
    const CLASS: &'static ObjectClass;
}

/// Reads the header of `p` if it looks like a live library object.
///
/// # Safety
/// `p` is any pointer: nothing behind it is read unless this library allocated it and has
/// not freed it (registry membership is checked first). Whoever passes it must hold a
/// reference for the object to stay alive afterwards, as in libvirt.
unsafe fn live_header<'a>(p: *const c_void) -> Option<&'a virObject> {
    if p.is_null() || !is_registered(p as usize) {
        return None;
    }
    referenced_header(p)
}

/// Reads the header of `p` without the registry: only the magic and class are checked.
/// For `virDomainObjEndAPI`, which ends every lookup and whose pointer the caller holds a
/// reference on by contract, as in libvirt: the registry's mutex there would serialize
/// concurrent readers (measured: 4 reader threads no faster than 1). Every other call
/// keeps the registry look-up.
///
/// # Safety
/// `p` is null or points to readable memory the size of a `virObject` (the caller holds a
/// reference on the object it names).
unsafe fn referenced_header<'a>(p: *const c_void) -> Option<&'a virObject> {
    if p.is_null() || !(p as usize).is_multiple_of(std::mem::align_of::<virObject>()) {
        return None;
    }
    let h = &*p.cast::<virObject>();
    let magic = h.magic.load(Ordering::Acquire);
    if magic & 0xFFFF_0000 != MAGIC_FAMILY || h.klass.is_null() || (*h.klass).magic != magic {
        return None;
    }
    Some(h)
}

fn not_an_object(cx: &Cx, p: *const c_void, what: &str) -> Error {
    if p.is_null() {
        cx.null_arg("obj")
    } else {
        cx.invalid_arg(format!("{p:p} passed to {} is not {what}", cx.func))
    }
}

/// `p` as a `T`, if it is a live object of `T`'s class; otherwise an error naming `arg`.
///
/// # Safety
/// As for [`live_header`].
pub unsafe fn checked<'a, T: ObjectType>(
    cx: &Cx,
    p: *const c_void,
    arg: &str,
) -> Result<&'a T, Error> {
    let header = if T::CLASS.pinned && is_pinned(p as usize) {
        referenced_header(p)
    } else {
        live_header(p)
    };
    of_class(cx, p, header, arg)
}

/// `p` as a `T` by [`referenced_header`] (no registry look-up); otherwise an error naming
/// `arg`, as [`checked`].
///
/// # Safety
/// As for [`referenced_header`].
pub unsafe fn referenced<'a, T: ObjectType>(
    cx: &Cx,
    p: *const c_void,
    arg: &str,
) -> Result<&'a T, Error> {
    of_class(cx, p, referenced_header(p), arg)
}

/// `p` as a `T` when `header` (its header, if it looked live) is of `T`'s class.
///
/// # Safety
/// `header`, when `Some`, is the header of the object at `p`.
unsafe fn of_class<'a, T: ObjectType>(
    cx: &Cx,
    p: *const c_void,
    header: Option<&virObject>,
    arg: &str,
) -> Result<&'a T, Error> {
    match header {
        Some(h) if std::ptr::eq(h.klass, T::CLASS) => Ok(&*p.cast::<T>()),
        _ if p.is_null() => Err(cx.null_arg(arg)),
        _ => Err(cx.invalid_arg(format!(
            "{arg} ({p:p}) in {} is not a live {}",
            cx.func,
            T::CLASS.name
        ))),
    }
}

/// Takes one more reference on a live object.
///
/// # Safety
/// `h` is the header of a live object.
pub unsafe fn ref_header(h: &virObject) {
    h.refs.fetch_add(1, Ordering::Relaxed);
}

/// Drops one reference; frees the object when it was the last. Returns true if the
/// object is still alive.
///
/// # Safety
/// The caller owns the reference it drops and does not use the object afterwards unless
/// it holds another one.
pub unsafe fn unref_header(h: *const virObject) -> bool {
    let prev = (*h).refs.fetch_sub(1, Ordering::Release);
    if prev > 1 {
        return true;
    }
    fence(Ordering::Acquire);
    let class = (*h).class();
    log_debug!("disposing {} {:p}", class.name, h);
    if class.pinned {
        unpin(h as usize);
    }
    unregister(h as usize);
    (*h).magic.store(MAGIC_DEAD, Ordering::Release);
    (class.dispose)(h as *mut virObject);
    false
}

/// Drops a reference the caller holds by contract, checking only the header (as
/// `virDomainObjEndAPI` does, see [`referenced_header`]): for `virObjectListFreeCount`,
/// which releases every object of a listing, where a registry look-up per object would
/// cost more than the listing itself. False (nothing done) if `p` is not an object.
///
/// # Safety
/// As for [`referenced_header`]; the caller owns the reference it drops.
pub unsafe fn unref_referenced(p: *mut c_void) -> bool {
    match referenced_header(p) {
        Some(h) => {
            unref_header(h);
            true
        }
        None => false,
    }
}

fn lockable_of<'a>(cx: &Cx, p: *mut c_void) -> Result<&'a virObjectLockable, Error> {
    // SAFETY: see live_header; C passes pointers it got from the library.
    let h = unsafe { live_header(p) }.ok_or_else(|| not_an_object(cx, p, "a virtcore object"))?;
    if !h.class().lockable {
        return Err(cx.invalid_arg(format!(
            "{} {p:p} passed to {} is not lockable",
            h.class().name,
            cx.func
        )));
    }
    Ok(unsafe { &*p.cast::<virObjectLockable>() })
}

/// Owned reference to a library object: `Clone` takes a reference, `Drop` releases it.
pub struct Strong<T: ObjectType> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: objects are reference counted atomically and their mutable state is behind their
// own lock, so references may move and be shared between threads like an `Arc`.
unsafe impl<T: ObjectType + Sync> Send for Strong<T> {}
unsafe impl<T: ObjectType + Sync> Sync for Strong<T> {}

impl<T: ObjectType> Strong<T> {
    /// Moves `value` to the heap; its header starts with one reference, owned by the result.
    pub fn new(value: T) -> Self {
        let ptr = NonNull::from(Box::leak(Box::new(value)));
        register(ptr.as_ptr() as usize);
        if T::CLASS.pinned {
            pin(ptr.as_ptr() as usize);
        }
        Strong {
            ptr,
            _owns: PhantomData,
        }
    }

    /// Adopts a reference the caller owns (e.g. one handed back by C).
    ///
    /// # Safety
    /// `p` is a live `T` and the caller owns one reference to it.
    pub unsafe fn from_raw(p: *mut T) -> Self {
        Strong {
            ptr: NonNull::new_unchecked(p),
            _owns: PhantomData,
        }
    }

    /// Takes a new reference to a live object.
    ///
    /// # Safety
    /// `p` is a live `T` kept alive by some reference for the duration of the call.
    pub unsafe fn new_ref(p: *const T) -> Self {
        ref_header(&*p.cast::<virObject>());
        Strong::from_raw(p as *mut T)
    }

    /// Gives the reference to C (or to a raw field); it must come back through `from_raw`
    /// or `virObjectUnref`.
    pub fn into_raw(self) -> *mut T {
        let p = self.ptr.as_ptr();
        std::mem::forget(self);
        p
    }

    pub fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    fn header(&self) -> &virObject {
        // SAFETY: ObjectType guarantees the header is the first field.
        unsafe { &*self.ptr.as_ptr().cast::<virObject>() }
    }

    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr == b.ptr
    }

    /// Current reference count (for tests and debug output only: racy by nature).
    pub fn ref_count(&self) -> i32 {
        self.header().refs.load(Ordering::Relaxed)
    }
}

impl<T: ObjectType> std::ops::Deref for Strong<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we own a reference, so the object is alive.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ObjectType> Clone for Strong<T> {
    fn clone(&self) -> Self {
        unsafe { Strong::new_ref(self.ptr.as_ptr()) }
    }
}

impl<T: ObjectType> Drop for Strong<T> {
    fn drop(&mut self) {
        unsafe { unref_header(self.ptr.as_ptr().cast::<virObject>()) };
    }
}

/// Locking for lockable objects from Rust. The lock is a plain mutex (not recursive).
pub trait Lockable: ObjectType {
    fn lockable_header(&self) -> &virObjectLockable {
        // SAFETY: ObjectType with a lockable class has virObjectLockable first.
        debug_assert!(Self::CLASS.lockable);
        unsafe { &*(self as *const Self).cast::<virObjectLockable>() }
    }
    fn lock(&self) {
        self.lockable_header().acquire();
    }
    fn try_lock(&self) -> bool {
        self.lockable_header().try_acquire(Duration::ZERO)
    }
    /// # Safety
    /// The calling thread holds the lock (otherwise nothing happens).
    unsafe fn unlock(&self) {
        let released = self.lockable_header().release();
        debug_assert!(released, "unlock of an object this thread does not hold");
    }
    fn is_locked(&self) -> bool {
        self.lockable_header().lock.is_locked()
    }
    /// Whether the calling thread holds the lock.
    fn is_locked_by_me(&self) -> bool {
        self.lockable_header().held_by_me()
    }
}
impl<T: ObjectType> Lockable for T {}

const OBJ: virErrorDomain = virErrorDomain::VIR_FROM_NONE;

/// Takes a reference on any library object and returns it; NULL (with an error) when
/// `obj` is NULL or not a live virtcore object.
#[no_mangle]
pub unsafe extern "C" fn virObjectRef(obj: *mut c_void) -> *mut c_void {
    call(OBJ, "virObjectRef", |cx| {
        let h = unsafe { live_header(obj) }
            .ok_or_else(|| not_an_object(&cx, obj, "a live virtcore object"))?;
        unsafe { ref_header(h) };
        Ok(obj)
    })
}

/// Releases a reference; the last one frees the object. NULL is ignored, like libvirt;
/// a pointer that is not a live object is reported and left alone.
#[no_mangle]
pub unsafe extern "C" fn virObjectUnref(obj: *mut c_void) {
    call_void(OBJ, "virObjectUnref", |cx| {
        if obj.is_null() {
            return Ok(());
        }
        let h = unsafe { live_header(obj) }
            .ok_or_else(|| not_an_object(&cx, obj, "a live virtcore object"))?;
        unsafe { unref_header(h) };
        Ok(())
    })
}

/// Locks a lockable object (blocking). Lock order: see the header's introduction.
#[no_mangle]
pub unsafe extern "C" fn virObjectLock(obj: *mut c_void) {
    call_void(OBJ, "virObjectLock", |cx| {
        lockable_of(&cx, obj)?.acquire();
        Ok(())
    })
}

/// Unlocks an object locked by the calling thread. Unlocking an object that is not
/// locked, or that another thread holds, is reported as `VIR_ERR_OPERATION_INVALID` and
/// changes nothing (the other thread keeps its lock).
#[no_mangle]
pub unsafe extern "C" fn virObjectUnlock(obj: *mut c_void) {
    call_void(OBJ, "virObjectUnlock", |cx| {
        let l = lockable_of(&cx, obj)?;
        if l.release() {
            return Ok(());
        }
        let why = if l.lock.is_locked() {
            "is locked by another thread"
        } else {
            "is not locked"
        };
        Err(cx.error(
            crate::error::virErrorNumber::VIR_ERR_OPERATION_INVALID,
            format!("{} {obj:p} {why}", l.parent.class().name),
        ))
    })
}

export_symbols!();

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static FREED: AtomicUsize = AtomicUsize::new(0);

    #[repr(C)]
    struct Thing {
        hdr: virObjectLockable,
        value: u32,
    }
    impl Drop for Thing {
        fn drop(&mut self) {
            FREED.fetch_add(1, Ordering::SeqCst);
        }
    }
    static THING: ObjectClass = ObjectClass::boxed::<Thing>("Thing", 0xfff0, true);
    unsafe impl ObjectType for Thing {
        const CLASS: &'static ObjectClass = &THING;
    }

    #[repr(C)]
    struct Kept {
        hdr: virObject,
    }
    static KEPT: ObjectClass = ObjectClass::boxed::<Kept>("Kept", 0xfff1, false).pinned();
    unsafe impl ObjectType for Kept {
        const CLASS: &'static ObjectClass = &KEPT;
    }

    #[test]
    fn pinned_objects_are_found_without_the_registry_and_refused_once_freed() {
        let cx = Cx {
            func: "test",
            domain: virErrorDomain::VIR_FROM_NONE,
        };
        let k = Strong::new(Kept {
            hdr: virObject::new(&KEPT),
        });
        let p = k.as_ptr() as *const c_void;
        assert!(is_pinned(p as usize));
        assert!(unsafe { checked::<Kept>(&cx, p, "k") }.is_ok());
        // Another class's object is not mistaken for it, pinned or not.
        assert!(unsafe { checked::<Thing>(&cx, p, "k") }.is_err());
        drop(k);
        assert!(!is_pinned(p as usize));
        // Freed: refused by the registry, unread.
        assert!(unsafe { checked::<Kept>(&cx, p, "k") }.is_err());
    }

    #[test]
    fn refcount_and_lock_through_c_entry_points() {
        let before = FREED.load(Ordering::SeqCst);
        let t = Strong::new(Thing {
            hdr: virObjectLockable::new(&THING),
            value: 7,
        });
        let p = t.into_raw() as *mut c_void;
        unsafe {
            assert_eq!(virObjectRef(p), p);
            virObjectLock(p);
            virObjectUnlock(p);
            virObjectUnlock(p); // not locked: reported, harmless
            assert_eq!(crate::error::last_error().unwrap().0, 55);
            virObjectUnref(p);
            assert_eq!(FREED.load(Ordering::SeqCst), before);
            assert_eq!((*(p as *mut Thing)).value, 7);
            virObjectUnref(p);
        }
        assert_eq!(FREED.load(Ordering::SeqCst), before + 1);
    }

    #[test]
    fn only_the_holder_unlocks() {
        let t = Strong::new(Thing {
            hdr: virObjectLockable::new(&THING),
            value: 1,
        });
        let p = t.as_ptr() as usize;
        unsafe { virObjectLock(p as *mut c_void) };
        let code = std::thread::spawn(move || {
            unsafe { virObjectUnlock(p as *mut c_void) };
            crate::error::last_error().unwrap().0
        })
        .join()
        .unwrap();
        assert_eq!(code, 55);
        assert!(t.is_locked_by_me());
        unsafe { virObjectUnlock(p as *mut c_void) };
        assert!(!t.is_locked());
    }

    #[test]
    fn foreign_pointers_are_refused() {
        let mut junk = [0u64; 4];
        let p = junk.as_mut_ptr() as *mut c_void;
        unsafe {
            assert!(virObjectRef(p).is_null());
            assert_eq!(crate::error::last_error().unwrap().0, 8);
            assert!(virObjectRef(std::ptr::null_mut()).is_null());
            virObjectLock(p);
            virObjectUnref(std::ptr::null_mut());
        }
    }
}
