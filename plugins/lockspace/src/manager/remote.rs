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
        let (rx, tx) = guest::create_mailbox(&self.owner.uuid, me as u32, &self.domain())?;
        boxes.push(Mailbox {
            pid: me,
            uuid: self.owner.uuid,
            rx,
            tx,
        });
        Ok(())
    }

    fn open_guest(&self) -> Result<Guest> {
        Guest::open(self.owner.pid, &self.owner.uuid, &self.domain())
    }

    /// Where the guest stands on `res`, from the live records of its lease file.
    fn standing(&self, g: &Guest, res: &Resource, probe: &OwnedFd) -> Result<Standing> {
        let path = res.record_path.as_deref().unwrap_or(&res.lock_path);
        let p = probe.as_raw_fd();
        // This guest's records, live or stale: `holds_slot` below proves liveness.
        let mine: Vec<(u64, Holder)> = lease::records(p)
            .into_iter()
            .filter(|(_, h)| h.uuid == self.owner.uuid && h.pid == g.pid)
            .collect();
        if mine.is_empty() {
            return Ok(Standing::Nothing);
        }
        // The guest's own open file: first where its record says, then any of its files.
        let ids = guest::fd_ids(p);
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
        let probe = lease::open(path, true)?;
        match self.standing(g, res, &probe)? {
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
        &self,
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
        let g = self.open_guest()?;
        let mut taken = Vec::new();
        let mut result = Ok(());
        for (res, expected) in wanted {
            match self.take_remote(&g, res, *expected) {
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
            return Ok(());
        };
        // All or nothing: undo what this call took (what was handed in already comes
        // back out of the mailbox first).
        if !sent.is_empty() {
            let _ = self.drain_mailbox(&g, |l| sent.iter().any(|s| s == l));
        }
        for t in &taken {
            match t {
                Taken::Registered(h) => {
                    let _ = self.unlock_registered(&g, h, h.slot.unwrap_or(0));
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
    pub(super) fn release_remote(&self) -> Result<Option<String>> {
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
        let g = match self.open_guest() {
            Ok(g) => g,
            // Gone: the guest's locks went with it.
            Err(e) if e.code == VIR_ERR_OPERATION_INVALID => return Ok(None),
            Err(e) => return Err(e),
        };
        match self.release_in(&g) {
            Ok(entries) => Ok(Self::state_of(&entries)),
            Err(_) if !g.alive() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn release_in(&self, g: &Guest) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let mut handed_in = false;
        for res in &self.resources {
            let path = res.record_path.as_deref().unwrap_or(&res.lock_path);
            let probe = match lease::open(path, false) {
                Ok(f) => f,
                // No lease file: nobody ever locked it.
                Err(_) if !path.exists() => continue,
                Err(e) => return Err(e),
            };
            match self.standing(g, res, &probe)? {
                Standing::Own(fd, n, slot, mode) if is_holder(mode) => {
                    let held = self.guest_lock_fd(g, res, fd, n)?;
                    let generation = lease::read_generation(held.record_fd(), path)?;
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
