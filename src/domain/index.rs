//! The domain list's three indexes (UUID, name, ID), laid out for lookups at the memory's
//! limit.
//!
//! A lookup has to touch the domain object anyway (reference count, lock, `removing`), so
//! the UUID and ID indexes hold only the object pointer (8 bytes a slot) and compare the
//! key where the object keeps it (`link.uuid`, `link.id`, next to its lock): at 100k
//! domains the UUID table is 1 MiB of slots plus 128 KiB of control bytes, small enough
//! to stay in a core's cache while the objects do not, so a lookup costs about one
//! memory access (the object) instead of three (control bytes, a 56-byte slot, object).
//! Names stay in the name index (inline up to 24 bytes, `compact_str`), since the
//! definition's name lives in another allocation. Tables: `hashbrown`'s `HashTable`
//! (std's map without the key/value split); hashing: `foldhash` (keys are UUIDs, names
//! and IDs chosen by the host, so SipHash's flooding resistance buys nothing here).

use std::ffi::c_int;
use std::hash::BuildHasher;

use compact_str::CompactString;
use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::dense::{recount, Dense};
use super::obj::virDomainObj;
use super::types::VIR_UUID_BUFLEN;
use crate::object::Strong;

struct NameEntry {
    key: CompactString,
    obj: *mut virDomainObj,
}

#[derive(Default)]
pub struct Index {
    hasher: RandomState,
    /// Holds the list's reference to each object.
    by_uuid: HashTable<Strong<virDomainObj>>,
    /// Slots of the dense table; the name is compared there (stored once).
    by_name: HashTable<u32>,
    by_id: HashTable<*mut virDomainObj>,
    /// The new name of the object whose rename callback runs: taken (as in libvirt, where
    /// both names are in the table until the callback returns) but not yet the index's.
    pending: Option<NameEntry>,
    /// What whole-list operations read (`dense.rs`); also holds each object's indexed name.
    pub dense: Dense,
}

fn eq_ptr<'a>(p: *mut virDomainObj) -> impl Fn(&*mut virDomainObj) -> bool + 'a {
    move |q| *q == p
}

impl Index {
    fn uuid_hash(&self, u: &[u8; VIR_UUID_BUFLEN]) -> u64 {
        self.hasher.hash_one(u128::from_ne_bytes(*u))
    }
    fn name_hash(&self, n: &[u8]) -> u64 {
        self.hasher.hash_one(n)
    }
    fn id_hash(&self, id: c_int) -> u64 {
        self.hasher.hash_one(id as u32)
    }

    pub fn len(&self) -> usize {
        self.by_uuid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_uuid.is_empty()
    }

    pub fn find_uuid(&self, u: &[u8; VIR_UUID_BUFLEN]) -> Option<&Strong<virDomainObj>> {
        // SAFETY (here and below): indexed objects are alive (the UUID index holds a
        // reference) and their link is written only under the list's write lock.
        self.by_uuid.find(self.uuid_hash(u), |o| unsafe {
            (*o.as_ptr()).link.uuid == *u
        })
    }

    pub fn find_name(&self, n: &[u8]) -> Option<*mut virDomainObj> {
        let d = &self.dense;
        match self
            .by_name
            .find(self.name_hash(n), |&s| d.name(s).as_bytes() == n)
        {
            Some(&s) => Some(d.obj(s)),
            None => self
                .pending
                .as_ref()
                .filter(|e| e.key.as_bytes() == n)
                .map(|e| e.obj),
        }
    }

    pub fn find_id(&self, id: c_int) -> Option<*mut virDomainObj> {
        self.by_id
            .find(self.id_hash(id), |&p| unsafe { (*p).link.id == id })
            .copied()
    }

    /// Every object, in no particular order.
    pub fn objects(&self) -> impl Iterator<Item = &Strong<virDomainObj>> {
        self.by_uuid.iter()
    }

    /// Indexes `vm` under `uuid`, `name` and its link's ID (taken as -1: use `set_id`), and
    /// gives it a slot of the dense table with its current status, counted in `counts`.
    ///
    /// # Safety
    /// `vm` is in no index; the caller holds the list's write lock and the object's lock,
    /// and has checked that neither key is taken.
    pub unsafe fn insert(
        &mut self,
        vm: &Strong<virDomainObj>,
        uuid: &[u8; 16],
        name: &str,
        counts: &std::sync::atomic::AtomicU64,
    ) {
        let p = vm.as_ptr();
        (*p).link.uuid = *uuid;
        (*p).link.id = -1;
        let status = super::dense::summarize(p);
        let (slot, entry) = self.dense.insert(p, name, status);
        (*p).link.slot = slot;
        (*p).link.entry = entry.cast();
        (*p).link.status = status;
        recount(counts, 0, status);
        let nh = self.name_hash(name.as_bytes());
        let hasher = self.hasher.clone();
        let d = &self.dense;
        self.by_name
            .insert_unique(nh, slot, |&s| hasher.hash_one(d.name(s).as_bytes()));
        let uh = self.uuid_hash(uuid);
        self.by_uuid.insert_unique(uh, vm.clone(), |o| {
            hasher.hash_one(u128::from_ne_bytes((*o.as_ptr()).link.uuid))
        });
    }

    /// Takes `p` out of every index and its slot (uncounting it); returns the index's
    /// reference (None if not indexed).
    ///
    /// # Safety
    /// The caller holds the list's write lock and `p`'s lock; `p` is alive.
    pub unsafe fn remove(
        &mut self,
        p: *mut virDomainObj,
        counts: &std::sync::atomic::AtomicU64,
    ) -> Option<Strong<virDomainObj>> {
        self.set_id(p, -1);
        let uh = self.uuid_hash(&(*p).link.uuid);
        let e = self.by_uuid.find_entry(uh, |o| o.as_ptr() == p).ok()?;
        let (strong, _) = e.remove();
        let slot = (*p).link.slot;
        let nh = self.name_hash(self.dense.name(slot).as_bytes());
        if let Ok(e) = self.by_name.find_entry(nh, |&s| s == slot) {
            e.remove();
        }
        recount(counts, (*p).link.status, 0);
        self.dense.remove(slot);
        (*p).link.entry = std::ptr::null();
        (*p).link.status = 0;
        Some(strong)
    }

    /// Moves `p` in the ID index to `id` (-1: out of it).
    ///
    /// # Safety
    /// The caller holds the list's write lock; `p` is alive and in the UUID index (or
    /// `id` is -1).
    pub unsafe fn set_id(&mut self, p: *mut virDomainObj, id: c_int) {
        let old = (*p).link.id;
        if old == id {
            return;
        }
        if old >= 0 {
            if let Ok(e) = self.by_id.find_entry(self.id_hash(old), eq_ptr(p)) {
                e.remove();
            }
        }
        (*p).link.id = -1;
        if id >= 0 {
            // A stale entry of another object under this ID (C wrote `def->id`) goes.
            if let Ok(e) = self
                .by_id
                .find_entry(self.id_hash(id), |&q| (*q).link.id == id)
            {
                let (q, _) = e.remove();
                (*q).link.id = -1;
            }
            let hasher = self.hasher.clone();
            self.by_id.insert_unique(self.id_hash(id), p, |&q| {
                hasher.hash_one((*q).link.id as u32)
            });
            (*p).link.id = id;
        }
    }

    /// Starts a rename: `new` is taken (for `p`) until `rename_end`.
    ///
    /// # Safety
    /// Write lock held, `p` indexed, `new` not taken, no rename pending.
    pub unsafe fn rename_begin(&mut self, p: *mut virDomainObj, new: &str) {
        self.pending = Some(NameEntry {
            key: CompactString::new(new),
            obj: p,
        });
    }

    /// Ends a rename: with `commit`, `p` is indexed under the new name instead of the old.
    ///
    /// # Safety
    /// Write lock held; with `commit`, `p` is still indexed.
    pub unsafe fn rename_end(&mut self, p: *mut virDomainObj, commit: bool) {
        let Some(new) = self.pending.take() else {
            return;
        };
        if !commit || new.obj != p {
            return;
        }
        let slot = (*p).link.slot;
        let oh = self.name_hash(self.dense.name(slot).as_bytes());
        if let Ok(e) = self.by_name.find_entry(oh, |&s| s == slot) {
            e.remove();
        }
        self.dense.set_name(slot, new.key);
        let nh = self.name_hash(self.dense.name(slot).as_bytes());
        let hasher = self.hasher.clone();
        let d = &self.dense;
        self.by_name
            .insert_unique(nh, slot, |&s| hasher.hash_one(d.name(s).as_bytes()));
    }
}
