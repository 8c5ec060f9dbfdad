//! Locks of a guest taken or dropped from another process (the daemon): libvirt resumes
//! a guest started paused, pauses it, and attaches or detaches disks from the daemon,
//! with a manager whose `pid` is the guest's. The locks must still belong to the guest's
//! process, so they are taken through its own open files (see [`crate::guest`]); this
//! process keeps nothing, and a daemon restarted any number of times finds everything
//! again in the guest.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;

use super::*;
use crate::guest::{self, Guest};

/// What one remote acquire took, to be undone if a later resource fails.
enum Taken {
    /// Through the guest's own registered open files (duplicates).
    Registered(Held),
    /// Through files this process opened, to be handed to the guest.
    Fresh(Held),
}

/// Where a guest stands on a resource.
enum Standing {
    /// Registered or holding through its own open file: a duplicate of it, its number
    /// in the guest, the slot, the record's mode.
    Own(OwnedFd, RawFd, u64, u32),
    /// Holding through a file handed to it (in its mailbox).
    HandedIn,
    Nothing,
}

fn is_holder(mode: u32) -> bool {
    mode == lease::MODE_EXCLUSIVE || mode == lease::MODE_SHARED
}

/// A resource an acquire took through the guest's own open file, as it left it: what a
/// release through the same manager (the same pidfd, so the same process) needs without
/// reading the lease file again. The release still checks that descriptor `guest_fd` of
/// the guest is that file and that no other open file holds `slot`.
pub(super) struct Proven {
    target: Target,
    guest_fd: RawFd,
    slot: u64,
    ids: (u64, u64),
    shared: bool,
    generation: u64,
}

/// How a resource is named in the guest's mailbox.
fn label(res: &Resource) -> String {
    format!("{}@{}", res.lock_path.display(), res.lock_offset)
}

impl Manager {
    /// The guest's side, before exec: the mailbox that later receives the files of
    /// locks taken for it from another process.
    pub(super) fn ensure_mailbox(&self) -> Result<()> {
        let me = pid();
        let mut boxes = lock(&MAILBOXES);
        if boxes
            .iter()
            .any(|m| m.pid == me && m.uuid == self.owner.uuid)
        {
            return Ok(());
        }
        let (door, inbox) = crate::mailbox::create(&self.owner.uuid).map_err(|e| {
            Error::system(
                e,
                format!("cannot create the lock mailbox of {}", self.domain()),
            )
        })?;
        boxes.push(Mailbox {
            pid: me,
            uuid: self.owner.uuid,
            door,
            inbox,
        });
        Ok(())
    }

    /// The guest's process: the one this manager reached before (its pidfd is kept, so
    /// a resume followed by a release through one manager reaches the process once, and
    /// a pid reused meanwhile is still never mistaken for the guest), else reached now.
    /// Nothing else is kept between calls: no descriptor of the guest's files (that
    /// would keep its locks alive in this process).
    fn open_guest(&mut self) -> Result<Guest> {
        match self.guest.take() {
            Some(g) => Ok(g),
            None => {
                self.proven.borrow_mut().clear();
                Guest::open(self.owner.pid, &self.owner.uuid, &self.domain())
            }
        }
    }

    fn keep_guest(&mut self, mut g: Guest) {
        g.forget();
        self.guest = Some(g);
    }

    /// A read-only look at lease file `path` (records, slot probes) and its (device,
    /// inode): from the per-load cache (one `statx` of the name), then kept by the manager until
    /// `drvFree`, so a resume and a release through one manager check the name once. It
    /// holds no lock and no slot, so keeping it changes nothing for anyone; `None` while
    /// the file does not exist.
    fn probe(&self, path: &Path) -> Result<Option<(RawFd, (u64, u64))>> {
        let mut mine = self.probes.borrow_mut();
        if let Some((_, fd, ids)) = mine.iter().find(|(p, _, _)| p == path) {
            return Ok(Some((fd.as_raw_fd(), *ids)));
        }
        let Some((fd, ids)) = crate::cache::probe(path)? else {
            return Ok(None);
        };
        let raw = fd.as_raw_fd();
        mine.push((path.to_path_buf(), fd, ids));
        Ok(Some((raw, ids)))
    }

    /// Where the guest stands on `res`, from the records of its lease file (`records`,
    /// read through the look `p`).
    fn standing(
        &self,
        g: &Guest,
        res: &Resource,
        p: RawFd,
        ids: (u64, u64),
        records: Vec<(u64, Holder)>,
    ) -> Result<Standing> {
        let path = res.record_path.as_deref().unwrap_or(&res.lock_path);
        // This guest's records, live or stale: `holds_slot` below proves liveness.
        let mine: Vec<(u64, Holder)> = records
            .into_iter()
            .filter(|(_, h)| h.uuid == self.owner.uuid && h.pid == g.pid)
            .collect();
        if mine.is_empty() {
            return Ok(Standing::Nothing);
        }
        // The guest's own open file: first where its record says, then any of its files.
        let ids = Some(ids);
        for (slot, h) in &mine {
            if let Some(fd) = g.getfd(h.fd)? {
                if guest::fd_ids(fd.as_raw_fd()) == ids
                    && lease::holds_slot(fd.as_raw_fd(), p, *slot)
                {
                    return Ok(Standing::Own(fd, h.fd, *slot, h.mode));
                }
            }
        }
        for (n, fd) in g.files_at(path)? {
            if let Some((slot, h)) = mine
                .iter()
                .find(|(slot, _)| lease::holds_slot(fd.as_raw_fd(), p, *slot))
            {
                return Ok(Standing::Own(fd, n, *slot, h.mode));
            }
        }
        if mine
            .iter()
            .any(|(slot, h)| is_holder(h.mode) && lease::slot_live(p, *slot))
        {
            return Ok(Standing::HandedIn);
        }
        Ok(Standing::Nothing)
    }

    /// A lock of `res` through the guest's own open `record` file (number `n` there).
    fn guest_lock_fd(&self, g: &Guest, res: &Resource, record: OwnedFd, n: RawFd) -> Result<Held> {
        let user_file = res.record_path.is_some();
        let (lock_fd, record_fd) = if user_file {
            let (_, fd) = g
                .files_at(&res.lock_path)?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    Error::new(
                        VIR_ERR_OPERATION_INVALID,
                        format!(
                            "process {} of {} has no open lease file '{}'",
                            g.pid,
                            self.domain(),
                            res.lock_path.display()
                        ),
                    )
                })?;
            (fd, Some(record))
        } else {
            (record, None)
        };
        Ok(Held {
            pid: g.pid as i32,
            uuid: self.owner.uuid,
            res: res.clone(),
            locked: false,
            record_fd,
            lock_fd,
            forks: FORKS.load(Ordering::Relaxed),
            slot: None,
            generation: 0,
            guest_fd: n,
        })
    }

    /// Takes `res` for the guest: `None` when the guest holds it already.
    fn take_remote(
        &self,
        g: &Guest,
        res: &Resource,
        expected: Option<u64>,
    ) -> Result<Option<Taken>> {
        let path = res.record_path.as_deref().unwrap_or(&res.lock_path);
        let standing = match self.probe(path)? {
            Some((probe, ids)) => self.standing(g, res, probe, ids, lease::records(probe))?,
            None => Standing::Nothing,
        };
        match standing {
            Standing::Own(_, _, _, mode) if is_holder(mode) => Ok(None),
            Standing::HandedIn => Ok(None),
            Standing::Own(fd, n, slot, _) => {
                let mut held = self.guest_lock_fd(g, res, fd, n)?;
                held.slot = Some(slot);
                self.lock_resource(&mut held, expected)?;
                Ok(Some(Taken::Registered(held)))
            }
            Standing::Nothing => {
                // Never opened by the guest (hot-plug): our files, handed to it once
                // all are locked; only to the registered guest.
                if !g.has_mailbox()? {
                    return Err(g.not_registered());
                }
                let mut held = self.open_resource(res, res.shared)?;
                held.pid = g.pid as i32;
                held.guest_fd = -1;
                if let Err(e) = self.lock_resource(&mut held, expected) {
                    if let Some(slot) = held.slot {
                        lease::release_slot(held.record_fd(), slot);
                    }
                    return Err(e);
                }
                Ok(Some(Taken::Fresh(held)))
            }
        }
    }

    /// Puts a lock taken through the guest's registered file back to "registered".
    fn unlock_registered(&self, g: &Guest, held: &Held, slot: u64) -> Result<()> {
        let rec = held.record_fd();
        let path = held.record_path();
        let registered = self.holder(lease::MODE_REGISTERED, &held.res, held.guest_fd);
        if slot == lease::EXCLUSIVE_SLOT {
            // Slot 0 is only held with the write lock: move to an ordinary slot first.
            let other = lease::claim_slot(rec, path)?;
            lease::write_record(rec, other, &registered, path)?;
            lease::release_slot(rec, slot);
        } else {
            lease::write_record(rec, slot, &registered, path)?;
        }
        lease::try_lock(
            held.lock_fd.as_raw_fd(),
            libc::F_UNLCK,
            held.res.lock_offset,
        )
        .map_err(|e| {
            Error::system(
                e,
                format!(
                    "cannot unlock '{}' in process {}",
                    held.res.lock_path.display(),
                    g.pid
                ),
            )
        })?;
        Ok(())
    }

    /// `drvAcquire` for a guest that is another process: every resource is locked
    /// through an open file of the guest's (all or nothing).
    pub(super) fn acquire_remote(
        &mut self,
        wanted: &[(Resource, Option<u64>)],
        flags: u32,
    ) -> Result<()> {
        if flags != 0 {
            return Err(Error::new(
                VIR_ERR_OPERATION_INVALID,
                format!(
                    "drvAcquire with flags 0x{flags:x} (REGISTER_ONLY/RESTRICT) for {} must run in its own process {}, not in process {}",
                    self.domain(),
                    self.owner.pid,
                    pid()
                ),
            ));
        }
        let mut g = self.open_guest()?;
        let mut result = self.acquire_in(&g, wanted);
        if result.is_err() && g.stale() {
            // Reached through a pidfd kept from an earlier call whose process is gone:
            // the pid may name the guest's new process; only a new pidfd reaches it.
            g = Guest::open(self.owner.pid, &self.owner.uuid, &self.domain())?;
            result = self.acquire_in(&g, wanted);
        }
        self.keep_guest(g);
        result
    }

    fn acquire_in(&self, g: &Guest, wanted: &[(Resource, Option<u64>)]) -> Result<()> {
        self.proven.borrow_mut().clear();
        let mut taken = Vec::new();
        let mut result = Ok(());
        for (res, expected) in wanted {
            match self.take_remote(g, res, *expected) {
                Ok(Some(t)) => taken.push(t),
                Ok(None) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let mut sent = Vec::new();
        if result.is_ok() {
            for t in &taken {
                if let Taken::Fresh(h) = t {
                    let mut fds = vec![h.lock_fd.as_raw_fd()];
                    fds.extend(h.record_fd.as_ref().map(|f| f.as_raw_fd()));
                    if let Err(e) = g.hand_in(&label(&h.res), &fds) {
                        result = Err(e);
                        break;
                    }
                    sent.push(label(&h.res));
                }
            }
        }
        let Err(e) = result else {
            self.remember(&taken);
            return Ok(());
        };
        // All or nothing: undo what this call took (what was handed in already comes
        // back out of the mailbox first).
        if !sent.is_empty() {
            let _ = self.drain_mailbox(g, |l| sent.iter().any(|s| s == l));
        }
        for t in &taken {
            match t {
                Taken::Registered(h) => {
                    let _ = self.unlock_registered(g, h, h.slot.unwrap_or(0));
                }
                Taken::Fresh(h) => {
                    lease::release_all_slots(h.record_fd());
                    let _ =
                        lease::try_lock(h.lock_fd.as_raw_fd(), libc::F_UNLCK, h.res.lock_offset);
                }
            }
        }
        Err(e)
    }

    /// Keeps what `taken` took through the guest's own files in the lockspace directory
    /// (see [`Proven`]).
    fn remember(&self, taken: &[Taken]) {
        let mut proven = self.proven.borrow_mut();
        for t in taken {
            let Taken::Registered(h) = t else { continue };
            if h.res.record_path.is_some() {
                continue; // a user's lease file: its lock is on another file
            }
            let (Some(slot), Ok(Some((_, ids)))) = (h.slot, self.probe(&h.res.lock_path)) else {
                continue;
            };
            proven.push(Proven {
                target: h.res.target.clone(),
                guest_fd: h.guest_fd,
                slot,
                ids,
                shared: h.res.shared,
                generation: h.generation,
            });
        }
    }

    /// Releases `res` as this manager's acquire left it (`Ok(None)`: the guest's file is
    /// not as it was; the caller reads the lease file). Its process is the one the
    /// acquire proved holds slot `p.slot` through descriptor `p.guest_fd`; if that file
    /// no longer holds it, nobody else does either (checked), and rewriting that slot's
    /// record (stale then, never reported) and unlocking through a file holding nothing
    /// change nothing.
    fn release_proven(&self, g: &Guest, res: &Resource, p: &Proven) -> Result<Option<Entry>> {
        let Some(fd) = g.getfd(p.guest_fd)? else {
            return Ok(None);
        };
        if guest::fd_ids(fd.as_raw_fd()) != Some(p.ids)
            || !lease::slot_not_held_by_other(fd.as_raw_fd(), p.slot)
        {
            return Ok(None);
        }
        let held = self.guest_lock_fd(g, res, fd, p.guest_fd)?;
        self.unlock_registered(g, &held, p.slot)?;
        Ok(Some(Entry {
            target: res.target.clone(),
            shared: p.shared,
            generation: p.generation,
        }))
    }

    /// Takes the messages whose label `release` accepts out of the guest's mailbox,
    /// unlocks them and returns their state entries; the others go back in.
    fn drain_mailbox(&self, g: &Guest, release: impl Fn(&str) -> bool) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        let mut err = None;
        for p in g.drain()? {
            if !release(&p.label) {
                let raw: Vec<RawFd> = p.fds.iter().map(|f| f.as_raw_fd()).collect();
                if let Err(e) = g.hand_in(&p.label, &raw) {
                    err.get_or_insert(e);
                }
                continue;
            }
            let Some(res) = self.resources.iter().find(|r| label(r) == p.label) else {
                continue;
            };
            let (Some(lock_fd), rec) = (p.fds.first(), p.fds.get(1)) else {
                continue;
            };
            let rec_fd = rec.unwrap_or(lock_fd).as_raw_fd();
            let path = res.record_path.as_deref().unwrap_or(&res.lock_path);
            if let Ok(gen) = lease::read_generation(rec_fd, path) {
                out.push(Entry {
                    target: res.target.clone(),
                    shared: res.shared,
                    generation: gen,
                });
            }
            // The slot first, then the lock (see `Held::unlock`); closing drops the rest.
            lease::release_all_slots(rec_fd);
            let _ = lease::try_lock(lock_fd.as_raw_fd(), libc::F_UNLCK, res.lock_offset);
        }
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// `drvRelease` for a guest that is another process (pause, detach): unlocks the
    /// manager's resources in the guest's process; the guest keeps its registration,
    /// so a later acquire takes them again.
    pub(super) fn release_remote(&mut self) -> Result<Option<String>> {
        if self.resources.is_empty() {
            return Err(Error::new(
                VIR_ERR_OPERATION_INVALID,
                format!(
                    "releasing the locks of {} in its process {} needs its resources (drvAddResource)",
                    self.domain(),
                    self.owner.pid
                ),
            ));
        }
        let mut g = match self.open_guest() {
            Ok(g) => g,
            // Gone: the guest's locks went with it.
            Err(e) if e.code == VIR_ERR_OPERATION_INVALID => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut result = self.release_in(&g);
        if result.is_err() && g.stale() {
            // As in `acquire_remote`: a kept pidfd of a process that is gone.
            g = match Guest::open(self.owner.pid, &self.owner.uuid, &self.domain()) {
                Ok(g) => g,
                Err(e) if e.code == VIR_ERR_OPERATION_INVALID => return Ok(None),
                Err(e) => return Err(e),
            };
            result = self.release_in(&g);
        }
        let result = match result {
            Ok(entries) => Ok(Self::state_of(&entries)),
            Err(_) if !g.alive() => Ok(None),
            Err(e) => Err(e),
        };
        self.keep_guest(g);
        result
    }

    fn release_in(&self, g: &Guest) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let mut handed_in = false;
        let proven = std::mem::take(&mut *self.proven.borrow_mut());
        for res in &self.resources {
            if let Some(p) = proven.iter().find(|p| p.target == res.target) {
                if let Some(entry) = self.release_proven(g, res, p)? {
                    entries.push(entry);
                    continue;
                }
            }
            let path = res.record_path.as_deref().unwrap_or(&res.lock_path);
            // No lease file: nobody ever locked it.
            let Some((probe, ids)) = self.probe(path)? else {
                continue;
            };
            // Header and records in one read: while the guest holds the resource, its
            // generation cannot move.
            let mut snap = lease::snapshot(probe);
            let records = std::mem::take(&mut snap.records);
            match self.standing(g, res, probe, ids, records)? {
                Standing::Own(fd, n, slot, mode) if is_holder(mode) => {
                    let held = self.guest_lock_fd(g, res, fd, n)?;
                    // An image identity is never in a state (no generation).
                    let generation = match res.target {
                        Target::DiskIdentity { .. } => 0,
                        _ => snap.generation(path)?,
                    };
                    self.unlock_registered(g, &held, slot)?;
                    entries.push(Entry {
                        target: res.target.clone(),
                        shared: mode == lease::MODE_SHARED,
                        generation,
                    });
                }
                Standing::HandedIn => handed_in = true,
                _ => {}
            }
        }
        if handed_in && g.has_mailbox()? {
            let labels: Vec<String> = self.resources.iter().map(label).collect();
            entries.extend(self.drain_mailbox(g, |l| labels.iter().any(|x| x == l))?);
        }
        Ok(entries)
    }
}
