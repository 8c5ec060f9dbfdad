//! The list's dense table: what whole-list operations (counts, ID and name lists,
//! `Collect`, `ForEach`) need of every domain, in slots of fixed segments, so a listing
//! streams through a few arrays instead of locking and chasing every object.
//!
//! Per slot: the object pointer with the name it is indexed under (one 32-byte entry:
//! the name index holds only slot numbers and compares names here, so a name is stored
//! once), and its *status word* (ID, state and the flags the `VIR_CONNECT_LIST_DOMAINS_*`
//! filters test, one `AtomicU64`) in an array of its own: `GetActiveIDs` reads 8 bytes a
//! domain.
//!
//! Who writes what:
//! - Slots are taken and given back (object, name) under the list's write lock with the
//!   object locked; readers of those fields hold the list's read lock.
//! - The status word of a slot is written only by the thread holding its object's lock:
//!   at insertion, at removal and in [`before_unlock`], the object class's hook that runs
//!   just before every unlock. C code changes `def->id`, `vm->def`, `vm->persistent`, ...
//!   directly, but only under the object's lock, and no other thread can see such a change
//!   before the unlock: publishing it there keeps the table (and the counts) exactly what
//!   a locked scan would see, at every moment. A listing reads each status word once, so a
//!   domain started or stopped meanwhile appears in one state or the other, never both.
//! - Segments never move or shrink while the list lives (the `Vec` of them may grow), so
//!   an object keeps a plain pointer to its status word (`link.entry`) for the hook, which
//!   holds no list lock.

use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, Ordering};

use compact_str::CompactString;

use super::consts::*;
use super::obj::virDomainObj;

/// Slots per segment.
pub(crate) const SEG: usize = 1024;

/// Status word: the low 32 bits are `def->id`, bits 32..40 the state (0xff: out of range).
pub(crate) const ST_STATE_SHIFT: u32 = 32;
/// `def->id != -1` (libvirt's `virDomainObjIsActive`).
pub(crate) const ST_ACTIVE: u64 = 1 << 40;
pub(crate) const ST_PERSISTENT: u64 = 1 << 41;
pub(crate) const ST_AUTOSTART: u64 = 1 << 42;
pub(crate) const ST_MANAGEDSAVE: u64 = 1 << 43;
pub(crate) const ST_REMOVING: u64 = 1 << 44;
/// The object has a definition (it is counted and listed; 0 for a free slot).
pub(crate) const ST_DEF: u64 = 1 << 45;

/// The status word of an object, from the fields C may write.
///
/// # Safety
/// `o` is alive and locked by the calling thread.
pub unsafe fn summarize(o: *const virDomainObj) -> u64 {
    let d = (*o).def;
    if d.is_null() {
        return 0;
    }
    let id = (*d).id;
    let st = (*o).state.state;
    let st = if (0..0xff).contains(&st) {
        st as u64
    } else {
        0xff
    };
    let flag = |b: bool, f: u64| if b { f } else { 0 };
    ST_DEF
        | (id as u32 as u64)
        | (st << ST_STATE_SHIFT)
        | flag(id != -1, ST_ACTIVE)
        | flag((*o).persistent, ST_PERSISTENT)
        | flag((*o).autostart, ST_AUTOSTART)
        | flag((*o).hasManagedSave, ST_MANAGEDSAVE)
        | flag((*o).removing, ST_REMOVING)
}

pub fn id_of(status: u64) -> c_int {
    status as u32 as c_int
}

pub fn state_of(status: u64) -> c_int {
    ((status >> ST_STATE_SHIFT) & 0xff) as c_int
}

/// What a status word adds to the list's count word: the high half counts domains with a
/// definition, the low half the active ones (one word, so both are read together).
pub fn weight(status: u64) -> u64 {
    (if status & ST_DEF != 0 { 1 << 32 } else { 0 }) + (if status & ST_ACTIVE != 0 { 1 } else { 0 })
}

/// Moves `counts` from `old` to `new`. The halves never go negative (a count only drops
/// by what it gained), so adding in one 64-bit word never borrows across them.
pub fn recount(counts: &AtomicU64, old: u64, new: u64) {
    let (a, b) = (weight(old), weight(new));
    if a != b {
        counts.fetch_add(b.wrapping_sub(a), Ordering::Release);
    }
}

/// libvirt's `virDomainObjListFilter` / `virDomainObjMatchFilter` for the
/// `VIR_CONNECT_LIST_DOMAINS_*` bits, on a status word.
pub fn matches(status: u64, flags: std::ffi::c_uint) -> bool {
    let m = |f: std::ffi::c_uint| flags & f != 0;
    let has = |f: u64| status & f != 0;
    let either = |a, b, v: bool| !m(a | b) || (m(a) && v) || (m(b) && !v);
    let st = state_of(status);
    let state_ok = !m(VIR_CONNECT_LIST_DOMAINS_RUNNING
        | VIR_CONNECT_LIST_DOMAINS_PAUSED
        | VIR_CONNECT_LIST_DOMAINS_SHUTOFF
        | VIR_CONNECT_LIST_DOMAINS_OTHER)
        || (m(VIR_CONNECT_LIST_DOMAINS_RUNNING) && st == VIR_DOMAIN_RUNNING)
        || (m(VIR_CONNECT_LIST_DOMAINS_PAUSED) && st == VIR_DOMAIN_PAUSED)
        || (m(VIR_CONNECT_LIST_DOMAINS_SHUTOFF) && st == VIR_DOMAIN_SHUTOFF)
        || (m(VIR_CONNECT_LIST_DOMAINS_OTHER)
            && st != VIR_DOMAIN_RUNNING
            && st != VIR_DOMAIN_PAUSED
            && st != VIR_DOMAIN_SHUTOFF);
    use VIR_CONNECT_LIST_DOMAINS_ACTIVE as ACT;
    either(ACT, VIR_CONNECT_LIST_DOMAINS_INACTIVE, has(ST_ACTIVE))
        && either(
            VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
            VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
            has(ST_PERSISTENT),
        )
        && state_ok
        && either(
            VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE,
            VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE,
            has(ST_MANAGEDSAVE),
        )
        && either(
            VIR_CONNECT_LIST_DOMAINS_AUTOSTART,
            VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART,
            has(ST_AUTOSTART),
        )
        // virtcore keeps no snapshots or checkpoints: every domain has none.
        && either(
            VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT,
            VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT,
            false,
        )
        && either(
            VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT,
            VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT,
            false,
        )
}

/// A slot's object (null: free) and the name it is indexed under.
#[derive(Clone)]
pub struct Slot {
    pub obj: *mut virDomainObj,
    pub name: CompactString,
}

const FREE: Slot = Slot {
    obj: std::ptr::null_mut(),
    name: CompactString::const_new(""),
};

/// One segment: `SEG` slots and their status words.
pub struct Segment {
    slots: Box<[Slot]>,
    status: Box<[AtomicU64]>,
}

impl Segment {
    fn new() -> Self {
        Segment {
            slots: vec![FREE; SEG].into_boxed_slice(),
            status: (0..SEG).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// A segment's taken slots and their status words.
pub type SegmentView<'a> = (&'a [Slot], &'a [AtomicU64]);

#[derive(Default)]
pub struct Dense {
    segs: Vec<Segment>,
    /// Slots ever taken (the walk's end); free ones among them have a null object.
    used: usize,
    /// Slots given back, taken again first (so the walk stays short and dense).
    free: Vec<u32>,
}

impl Dense {
    /// Takes a slot for `obj`; returns it and the address of its status word (stable
    /// while the list lives). Write lock held, `obj` locked.
    pub fn insert(
        &mut self,
        obj: *mut virDomainObj,
        name: &str,
        status: u64,
    ) -> (u32, *const AtomicU64) {
        let slot = match self.free.pop() {
            Some(s) => s as usize,
            None => {
                if self.used == self.segs.len() * SEG {
                    self.segs.push(Segment::new());
                }
                self.used += 1;
                self.used - 1
            }
        };
        let seg = &mut self.segs[slot / SEG];
        let i = slot % SEG;
        seg.slots[i] = Slot {
            obj,
            name: CompactString::new(name),
        };
        seg.status[i].store(status, Ordering::Release);
        (slot as u32, &seg.status[i])
    }

    /// Gives a slot back. Write lock held, its object locked.
    pub fn remove(&mut self, slot: u32) {
        let (s, i) = (slot as usize / SEG, slot as usize % SEG);
        let seg = &mut self.segs[s];
        seg.slots[i] = FREE;
        seg.status[i].store(0, Ordering::Release);
        self.free.push(slot);
    }

    fn slot(&self, slot: u32) -> &Slot {
        &self.segs[slot as usize / SEG].slots[slot as usize % SEG]
    }

    pub fn name(&self, slot: u32) -> &str {
        &self.slot(slot).name
    }

    pub fn set_name(&mut self, slot: u32, name: CompactString) {
        self.segs[slot as usize / SEG].slots[slot as usize % SEG].name = name;
    }

    pub fn obj(&self, slot: u32) -> *mut virDomainObj {
        self.slot(slot).obj
    }

    /// Slots ever taken: indexes `0..slots()` may be walked (free ones hold null).
    pub fn slots(&self) -> usize {
        self.used
    }

    pub fn segment_count(&self) -> usize {
        self.segs.len()
    }

    /// The taken part of segment `k`: slots and status words.
    pub fn segment(&self, k: usize) -> SegmentView<'_> {
        let s = &self.segs[k];
        let n = self.used.saturating_sub(k * SEG).min(SEG);
        (&s.slots[..n], &s.status[..n])
    }

    /// The taken part of each segment, in slot order.
    pub fn segments(&self) -> impl Iterator<Item = SegmentView<'_>> {
        (0..self.segs.len()).map(move |k| self.segment(k))
    }
}

/// Hint that `p` will be read soon (a no-op where there is no such instruction).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
