//! The driver proper: configuration, lock managers, and the process-wide table of the
//! locks this process holds.
//!
//! Locks belong to the process (its open lease files), not to a manager object: libvirt
//! acquires through one manager, frees it, and later releases through another one for
//! the same guest (`domain_lock.c`). So held locks live in [`HELD`], keyed by the guest's
//! UUID and the resource, and a manager only describes a guest and its resources.
//!
//! When the manager's guest (`drvNew`'s `pid`) is another process (the daemon resuming a
//! guest or hot-plugging a disk), the locks are taken in that process instead: see
//! [`crate::guest`] and `remote.rs`.

mod remote;
mod setup;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::abi::err::*;
use crate::abi::*;
use crate::conf::{self, Config};
use crate::error::{Error, Result};
use crate::lease::{self, Holder};
use crate::leasedir::{check_linked, for_target};
use crate::naming;
use crate::state::{self, Entry, Target};

struct DriverState {
    config: Option<Arc<Config>>,
    inits: usize,
}

static DRIVER: Mutex<DriverState> = Mutex::new(DriverState {
    config: None,
    inits: 0,
});
/// The pid that acquired with `RESTRICT` (0: none). A pid, not a flag, so that a child
/// forked afterwards is not restricted.
static RESTRICTED: AtomicI32 = AtomicI32::new(0);
static HELD: Mutex<Vec<Held>> = Mutex::new(Vec::new());
/// Mailboxes of the guests registered in this process (see [`crate::guest`]).
static MAILBOXES: Mutex<Vec<Mailbox>> = Mutex::new(Vec::new());

/// A mailbox's two ends (see [`crate::mailbox`]), kept open for the guest's life.
struct Mailbox {
    pid: i32,
    uuid: [u8; 16],
    door: OwnedFd,
    inbox: OwnedFd,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// This process's pid, cached (glibc no longer caches getpid, and every lock call needs
/// it several times); a fork handler clears the cache in the child.
static PID: AtomicI32 = AtomicI32::new(0);

/// Forks done by this process since the driver first ran (parent side of fork).
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn forget_pid() {
    PID.store(0, Ordering::Relaxed);
}

extern "C" fn count_fork() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

fn pid() -> i32 {
    let cached = PID.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    static ATFORK: std::sync::Once = std::sync::Once::new();
    ATFORK.call_once(|| {
        // SAFETY: registers handlers that only touch atomics.
        unsafe { libc::pthread_atfork(None, Some(count_fork), Some(forget_pid)) };
    });
    // SAFETY: getpid has no preconditions.
    let p = unsafe { libc::getpid() };
    PID.store(p, Ordering::Relaxed);
    p
}

/// This host's name, for holder records: read once per load of the plugin (every
/// acquire and release writes it; a `uname` each time was a tenth of the daemon's
/// system calls). Kept in a fixed buffer, not the heap, so that an unload of the plugin
/// leaves nothing behind; a host renamed while the plugin is loaded is named by its
/// old name until the next load.
fn hostname() -> String {
    static HOST: std::sync::OnceLock<([u8; 256], usize)> = std::sync::OnceLock::new();
    let (buf, len) = HOST.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for its length.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
            buf[..7].copy_from_slice(b"unknown");
            return (buf, 7);
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        (buf, end)
    });
    String::from_utf8_lossy(&buf[..*len]).into_owned()
}

pub fn init(version: u32, config_file: Option<&Path>, flags: u32) -> Result<()> {
    if flags != 0 {
        return Err(Error::invalid_arg(format!(
            "lockspace drvInit: unsupported flags (0x{flags:x})"
        )));
    }
    if version / 1_000_000 != VIR_LOCK_MANAGER_VERSION / 1_000_000 {
        return Err(Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!(
                "lockspace driver implements plugin ABI 1.x, caller asked for version {version}"
            ),
        ));
    }
    let cfg = conf::load(config_file)?;
    if let Some(f) = config_file {
        for w in cfg.warnings(&f.display().to_string()) {
            crate::error::warn(&w);
        }
    }
    conf::check_lockspace_dir(&cfg)?;
    let mut d = lock(&DRIVER);
    d.config = Some(Arc::new(cfg));
    d.inits += 1;
    Ok(())
}

/// `drvDeinit`. Returns false (refuse: the loader keeps the plugin loaded) when this is
/// the last deinit while this process still holds locks: unloading the code would lose
/// track of them, and a later load must be able to release them.
pub fn deinit() -> bool {
    let me = pid();
    // A registered guest's mailbox counts too: closing it would lose what is handed in.
    let holding =
        lock(&HELD).iter().any(|h| h.pid == me) || lock(&MAILBOXES).iter().any(|m| m.pid == me);
    let mut d = lock(&DRIVER);
    if d.inits <= 1 && holding {
        return false;
    }
    d.inits = d.inits.saturating_sub(1);
    if d.inits == 0 {
        d.config = None;
        // The loader may now unload the plugin: free what its statics own, or the memory
        // is lost with them. Entries left are a parent's, inherited over fork(); dropping
        // them closes only this process's copies of its lease files.
        *lock(&HELD) = Vec::new();
        *lock(&MAILBOXES) = Vec::new();
        crate::cache::clear();
        crate::trust::clear();
        crate::handover::clear();
    }
    true
}

fn check_restrict(what: &str) -> Result<()> {
    if RESTRICTED.load(Ordering::Relaxed) == pid() {
        return Err(Error::new(
            VIR_ERR_OPERATION_INVALID,
            format!("{what} refused: this process acquired its locks with RESTRICT"),
        ));
    }
    Ok(())
}

/// The guest a manager acts for.
pub struct Owner {
    pub uuid: [u8; 16],
    pub name: String,
    /// The guest's process (`pid` parameter; 0 when not given: this process).
    pub pid: u32,
}

/// A resource as the manager knows it: what it is, how it is locked, and where.
#[derive(Clone)]
struct Resource {
    target: Target,
    shared: bool,
    /// File carrying the resource lock, and the byte locked.
    lock_path: PathBuf,
    lock_offset: u64,
    /// File carrying the header and holder records when it is not `lock_path` (leases
    /// in a user's file keep their records in the lockspace directory).
    record_path: Option<PathBuf>,
}

pub struct Manager {
    config: Arc<Config>,
    owner: Owner,
    resources: Vec<Resource>,
    /// The guest's process once reached from this one (its pidfd only; `remote.rs`).
    guest: Option<crate::guest::Guest>,
    /// Lease files looked at from this process for a guest in another one, read-only
    /// (`remote.rs`, [`crate::cache`]): path, file, (device, inode).
    probes: std::cell::RefCell<Vec<Probe>>,
    /// What this manager's last acquire took through the guest's own files (`remote.rs`),
    /// for a release through the same manager and the same pidfd.
    proven: std::cell::RefCell<Vec<remote::Proven>>,
}

/// A lease file open read-only for looking: its path, the file, its (device, inode).
type Probe = (PathBuf, Arc<OwnedFd>, crate::cache::Ids);

/// One lock this process holds (or has registered, see `REGISTER_ONLY`).
struct Held {
    pid: i32,
    uuid: [u8; 16],
    res: Resource,
    locked: bool,
    /// Declared before `lock_fd` so that it is closed first: the holder slot goes
    /// before the resource lock (see `unlock`).
    record_fd: Option<OwnedFd>,
    lock_fd: OwnedFd,
    /// [`FORKS`] when the files were opened: if it moved, a child may share them.
    forks: u64,
    /// Its holder slot: none yet for an exclusive holder before it has the lock.
    slot: Option<u64>,
    /// The number of the record file's descriptor in the guest's process (-1: none
    /// there, e.g. a file handed to it), written in the holder record.
    guest_fd: i32,
    generation: u64,
}

impl Held {
    fn record_fd(&self) -> i32 {
        self.record_fd.as_ref().unwrap_or(&self.lock_fd).as_raw_fd()
    }
    fn record_path(&self) -> &Path {
        self.res
            .record_path
            .as_deref()
            .unwrap_or(&self.res.lock_path)
    }
    fn entry(&self) -> Entry {
        Entry {
            target: self.res.target.clone(),
            shared: self.res.shared,
            generation: self.generation,
        }
    }
    /// Before the files are closed (dropped): when a child forked since they were opened
    /// may share them, closing alone would not drop the locks, so unlock explicitly, the
    /// slot first so that whoever gets the resource lock next finds the exclusive slot
    /// free. Otherwise the close drops all of a file's locks at once.
    fn unlock(&self) {
        if FORKS.load(Ordering::Relaxed) == self.forks {
            return;
        }
        if let Some(slot) = self.slot {
            lease::release_slot(self.record_fd(), slot);
        }
        if self.locked {
            let _ = lease::try_lock(
                self.lock_fd.as_raw_fd(),
                libc::F_UNLCK,
                self.res.lock_offset,
            );
        }
    }
}

/// What a holder record says it locked (see [`Holder::resource`]).
fn resource_text(t: &Target) -> String {
    match t {
        Target::Disk { path } => format!("disk:{path}"),
        Target::DiskIdentity { host, dev, ino, .. } => format!("image:{host}:{dev}:{ino}"),
        Target::Lease { key, lockspace, .. } => {
            format!("lease:{}/{key}", lockspace.as_deref().unwrap_or(""))
        }
    }
}

/// The resources that lock `target`: its own, and for a disk that exists the image's
/// host-local identity too (`naming::disk_identity`), so that every name of one image
/// conflicts. Both are taken, held and released by the same code path.
fn resources_for(config: &Config, target: Target, shared: bool) -> Result<Vec<Resource>> {
    let identity = naming::disk_identity(&target)?;
    Ok(std::iter::once(target)
        .chain(identity)
        .map(|target| {
            let (lock_path, lock_offset, record_path) =
                naming::files_for(&config.lockspace_dir, &target);
            Resource {
                target,
                shared,
                lock_path,
                lock_offset,
                record_path,
            }
        })
        .collect())
}

/// The files holding the holder records of `target` as this driver names them (its own
/// lease and, for an existing disk, the image's identity lease): what a tool reads to say
/// who holds a disk (`virtcore-lock who`), one place that defines the naming for the
/// plugin and its tools.
pub fn record_files(config: &Config, target: Target) -> Result<Vec<PathBuf>> {
    Ok(resources_for(config, target, false)?
        .into_iter()
        .map(|r| r.record_path.unwrap_or(r.lock_path))
        .collect())
}

impl Manager {
    fn domain(&self) -> String {
        format!("domain '{}'", crate::record::escape(&self.owner.name))
    }

    /// The guest's process: this one unless `drvNew` named another.
    fn guest_pid(&self) -> u32 {
        match self.owner.pid {
            0 => pid() as u32,
            p => p,
        }
    }

    /// Whether the guest is this process (locks are taken directly, as the guest).
    fn is_local(&self) -> bool {
        self.guest_pid() == pid() as u32
    }

    fn holder(&self, mode: u32, res: &Resource, fd: i32) -> Holder {
        Holder {
            mode,
            pid: self.guest_pid(),
            uuid: self.owner.uuid,
            name: self.owner.name.clone(),
            host: hostname(),
            resource: Some(resource_text(&res.target)),
            fd,
        }
    }

    fn find_held(held: &[Held], uuid: &[u8; 16], target: &Target) -> Option<usize> {
        let me = pid();
        held.iter()
            .position(|h| h.pid == me && &h.uuid == uuid && &h.res.target == target)
    }

    /// Opens a resource's files. With `claim` (shared or registered holders), also
    /// claims a holder slot recorded as merely registered until the resource lock is
    /// taken, so nobody is named as holder too early. An exclusive holder takes the
    /// exclusive slot once it has the lock (see [`Manager::lock_resource`]).
    fn open_resource(&self, res: &Resource, claim: bool) -> Result<Held> {
        // A lease file removed by `virtcore-lock gc` between our open and our slot:
        // opened again (gc removes only files nobody holds, so this ends).
        for _ in 0..3 {
            match self.open_resource_once(res, claim) {
                Err(e) if e.code == VIR_ERR_OPERATION_ABORTED => continue,
                other => return other,
            }
        }
        self.open_resource_once(res, claim)
    }

    fn open_resource_once(&self, res: &Resource, claim: bool) -> Result<Held> {
        let user_file = res.record_path.is_some();
        let lock_fd =
            lease::open(&res.lock_path, !user_file).map_err(|e| for_target(e, &res.target))?;
        let record_fd = match &res.record_path {
            Some(p) => Some(lease::open(p, true).map_err(|e| for_target(e, &res.target))?),
            None => None,
        };
        let mut held = Held {
            pid: pid(),
            uuid: self.owner.uuid,
            res: res.clone(),
            locked: false,
            record_fd,
            lock_fd,
            forks: FORKS.load(Ordering::Relaxed),
            slot: None,
            generation: 0,
            guest_fd: -1,
        };
        held.guest_fd = held.record_fd();
        if claim {
            let slot = lease::claim_slot(held.record_fd(), held.record_path())?;
            held.slot = Some(slot);
            check_linked(held.record_fd(), held.record_path(), &res.target)?;
            lease::write_record(
                held.record_fd(),
                slot,
                &self.holder(lease::MODE_REGISTERED, res, held.guest_fd),
                held.record_path(),
            )?;
        }
        Ok(held)
    }

    /// Takes the resource lock of `held` (already open, slot claimed).
    fn lock_resource(&self, held: &mut Held, expected: Option<u64>) -> Result<()> {
        let kind = if held.res.shared {
            libc::F_RDLCK
        } else {
            libc::F_WRLCK
        };
        let fd = held.lock_fd.as_raw_fd();
        match lease::try_lock(fd, kind, held.res.lock_offset) {
            Ok(true) => {}
            Ok(false) => {
                let holders = lease::holders(held.record_fd());
                let who = if holders.is_empty() {
                    "another holder (no holder record)".to_string()
                } else {
                    holders
                        .iter()
                        .map(Holder::describe)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(Error::new(
                    VIR_ERR_RESOURCE_BUSY,
                    format!(
                        "{} for {} is locked by {who}",
                        held.res.target.describe(),
                        self.domain()
                    ),
                ));
            }
            Err(e) => {
                return Err(Error::system(
                    e,
                    format!("cannot lock '{}'", held.res.lock_path.display()),
                ))
            }
        }
        held.locked = true;
        // A file with a slot of ours was checked when the slot was taken, and gc cannot
        // remove it while we hold one: only a fresh exclusive open needs the check.
        let fresh = held.slot.is_none();
        if fresh {
            if let Err(e) = check_linked(fd, &held.res.lock_path, &held.res.target) {
                let _ = lease::try_lock(fd, libc::F_UNLCK, held.res.lock_offset);
                held.locked = false;
                return Err(e);
            }
        }
        // An image identity lease is never in a lock state (`state.rs`): it has no
        // generation to read or move, only its holder record.
        let identity = matches!(held.res.target, Target::DiskIdentity { .. });
        let result = (|| {
            let rec_fd = held.record_fd();
            let path = held.record_path().to_path_buf();
            let gen = if identity {
                0
            } else {
                match lease::read_generation(rec_fd, &path) {
                    Ok(gen) => gen,
                    // A damaged header (garbage written by a process that had the file
                    // open): with the write lock nobody else holds the resource, so
                    // the header is rewritten below from generation 0. A shared holder
                    // cannot know that and says how to recover.
                    Err(e)
                        if e.code == VIR_ERR_INTERNAL_ERROR
                            && !held.res.shared
                            && expected.is_none() =>
                    {
                        crate::error::warn(&format!(
                            "{}: {}; rewritten (nobody held it)",
                            held.res.target.describe(),
                            e.message
                        ));
                        0
                    }
                    Err(e) => return Err(for_target(Error::new(e.code, format!(
                        "{}: nothing else may hold it to recover: run virtcore-lock gc (removes it when unused), or take it once exclusively, which rewrites the header",
                        e.message
                    )), &held.res.target)),
                }
            };
            if let Some(want) = expected {
                if want != gen {
                    return Err(Error::new(
                        VIR_ERR_OPERATION_INVALID,
                        format!(
                            "stale lock state for {}: generation {want} in the state, {gen} in lease file '{}' (someone took it since)",
                            held.res.target.describe(),
                            path.display()
                        ),
                    ));
                }
            }
            if held.res.shared {
                held.generation = gen;
                let slot = held
                    .slot
                    .ok_or_else(|| Error::internal("shared holder without a slot"))?;
                return lease::write_record(
                    rec_fd,
                    slot,
                    &self.holder(lease::MODE_SHARED, &held.res, held.guest_fd),
                    &path,
                );
            }
            // Only exclusive holders move the generation (under their write lock).
            let h = self.holder(lease::MODE_EXCLUSIVE, &held.res, held.guest_fd);
            let write = |slot| {
                if identity {
                    lease::write_record(rec_fd, slot, &h, &path)
                } else {
                    lease::write_generation_and_record(rec_fd, gen + 1, slot, &h, &path)
                }
            };
            match held.slot {
                // Registered earlier: its own slot.
                Some(slot) => write(slot)?,
                // Record first (one write with the header), then mark it live by taking
                // the exclusive slot: a prober never sees that slot live with an old record.
                None => {
                    write(lease::EXCLUSIVE_SLOT)?;
                    match lease::lock_slot(rec_fd, lease::EXCLUSIVE_SLOT) {
                        Ok(true) => held.slot = Some(lease::EXCLUSIVE_SLOT),
                        // Only in a transient (a previous holder between giving up the
                        // slot and the lock): take another slot.
                        Ok(false) => {
                            let slot = lease::claim_slot(rec_fd, &path)?;
                            held.slot = Some(slot);
                            lease::write_record(rec_fd, slot, &h, &path)?;
                        }
                        Err(e) => {
                            return Err(Error::system(
                                e,
                                format!("cannot lock a holder slot in '{}'", path.display()),
                            ))
                        }
                    }
                }
            }
            held.generation = if identity { 0 } else { gen + 1 };
            Ok(())
        })();
        if result.is_err() {
            let _ = lease::try_lock(fd, libc::F_UNLCK, held.res.lock_offset);
            held.locked = false;
        }
        result
    }

    /// `drvAcquire`: locks every resource (all or nothing), or with `REGISTER_ONLY`
    /// opens them and records the owner without locking. With a state, the state's
    /// resources are taken too and their generations must still match.
    pub fn acquire(&mut self, state: Option<&str>, flags: u32) -> Result<()> {
        let known = VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY | VIR_LOCK_MANAGER_ACQUIRE_RESTRICT;
        if flags & !known != 0 {
            return Err(Error::invalid_arg(format!(
                "lockspace drvAcquire: unsupported flags (0x{:x})",
                flags & !known
            )));
        }
        check_restrict(&format!("acquiring locks for {}", self.domain()))?;
        let mut wanted: Vec<(Resource, Option<u64>)> =
            self.resources.iter().map(|r| (r.clone(), None)).collect();
        if let Some(s) = state.filter(|s| !s.is_empty()) {
            state::merge(
                &mut wanted,
                |r| &r.target,
                state::decode(s)?,
                |e| {
                    // A state may add resources that only live in the lockspace directory;
                    // never a user's lease file this guest did not declare.
                    if let Target::Lease { path: Some(_), .. } = e.target {
                        return Err(Error::invalid_arg(format!(
                            "lock state names {}, which is not a resource of {}",
                            e.target.describe(),
                            self.domain()
                        )));
                    }
                    resources_for(&self.config, e.target, e.shared)
                },
            )?;
        }
        if !self.is_local() {
            // A state left from an earlier run of the guest must not lock it out. Only
            // asked when a state carries generations: it reads the guest's /proc files,
            // which the usual resume (no state) must not pay for.
            if wanted.iter().any(|w| w.1.is_some())
                && !crate::handover::state_applies(&self.owner.uuid, self.guest_pid())
            {
                wanted.iter_mut().for_each(|w| w.1 = None);
            }
            return self.acquire_remote(&wanted, flags);
        }
        let register_only = flags & VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY != 0;
        if flags != 0 {
            // The guest itself, before exec: a mailbox for locks taken later from
            // another process (resume, hot-plug).
            self.ensure_mailbox()?;
        }
        let mut table = lock(&HELD);
        let mut fresh: Vec<Held> = Vec::new();
        let mut upgraded: Vec<usize> = Vec::new();
        let mut result = Ok(());
        for (res, expected) in &wanted {
            let existing = Self::find_held(&table, &self.owner.uuid, &res.target);
            let step = match existing {
                Some(_) if register_only => Ok(()),
                Some(i) if table[i].locked => Ok(()),
                Some(i) => {
                    let r = self.lock_resource(&mut table[i], *expected);
                    if r.is_ok() {
                        upgraded.push(i);
                    }
                    r
                }
                None => {
                    // Again when gc removed the file under us (see `check_linked`).
                    let mut tries = 0;
                    loop {
                        let r = self
                            .open_resource(res, register_only || res.shared)
                            .and_then(|mut h| {
                                if !register_only {
                                    self.lock_resource(&mut h, *expected)?;
                                }
                                Ok(h)
                            });
                        tries += 1;
                        match r {
                            Err(e) if e.code == VIR_ERR_OPERATION_ABORTED && tries < 3 => {}
                            r => break r.map(|h| fresh.push(h)),
                        }
                    }
                }
            };
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }
        if let Err(e) = result {
            // All or nothing: undo what this call took.
            for h in &fresh {
                h.unlock();
            }
            for i in upgraded {
                let h = &mut table[i];
                let _ = lease::try_lock(h.lock_fd.as_raw_fd(), libc::F_UNLCK, h.res.lock_offset);
                h.locked = false;
                if let Some(slot) = h.slot {
                    let _ = lease::write_record(
                        h.record_fd(),
                        slot,
                        &self.holder(lease::MODE_REGISTERED, &h.res, h.guest_fd),
                        h.record_path(),
                    );
                }
            }
            return Err(e);
        }
        table.extend(fresh);
        if flags & VIR_LOCK_MANAGER_ACQUIRE_RESTRICT != 0 {
            // libvirt restricts right before exec'ing the guest: the lease files must
            // survive that exec so the guest program itself holds the locks.
            let me = pid();
            for h in table
                .iter()
                .filter(|h| h.pid == me && h.uuid == self.owner.uuid)
            {
                for fd in [Some(&h.lock_fd), h.record_fd.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    lease::set_cloexec(fd.as_raw_fd(), false).map_err(|e| {
                        Error::system(
                            e,
                            format!(
                                "cannot keep lease '{}' across exec",
                                h.res.lock_path.display()
                            ),
                        )
                    })?;
                }
            }
            for mb in lock(&MAILBOXES)
                .iter()
                .filter(|m| m.pid == me && m.uuid == self.owner.uuid)
            {
                for fd in [&mb.door, &mb.inbox] {
                    lease::set_cloexec(fd.as_raw_fd(), false).map_err(|e| {
                        Error::system(
                            e,
                            format!(
                                "cannot keep the lock mailbox of {} across exec",
                                self.domain()
                            ),
                        )
                    })?;
                }
            }
            RESTRICTED.store(me, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Indices of the held entries this manager speaks for: its resources, or every
    /// lock of its guest in this process when it has none.
    fn mine(&self, table: &[Held]) -> Vec<usize> {
        let me = pid();
        (0..table.len())
            .filter(|&i| {
                let h = &table[i];
                h.pid == me
                    && h.uuid == self.owner.uuid
                    && (self.resources.is_empty()
                        || self.resources.iter().any(|r| r.target == h.res.target))
            })
            .collect()
    }

    fn state_of(entries: &[Entry]) -> Option<String> {
        (!entries.is_empty()).then(|| state::encode(entries))
    }

    /// `drvRelease`: drops this guest's locks on the manager's resources (all of the
    /// guest's locks when it has none) held by this process; returns their state.
    pub fn release(&mut self, flags: u32) -> Result<Option<String>> {
        if flags != 0 {
            return Err(Error::invalid_arg(format!(
                "lockspace drvRelease: unsupported flags (0x{flags:x})"
            )));
        }
        check_restrict(&format!("releasing locks of {}", self.domain()))?;
        if !self.is_local() {
            let state = self.release_remote()?;
            if state.is_some() {
                crate::handover::remember_pause(&self.owner.uuid, self.guest_pid());
            }
            return Ok(state);
        }
        let mut table = lock(&HELD);
        let mine = self.mine(&table);
        let mut entries = Vec::new();
        for &i in mine.iter().rev() {
            let h = table.remove(i);
            h.unlock();
            if h.locked {
                entries.push(h.entry());
            }
        }
        entries.reverse();
        Ok(Self::state_of(&entries))
    }

    /// `drvInquire`: the state of the locks this guest holds, in this process or (for
    /// the manager's resources) in another live process.
    pub fn inquire(&self, flags: u32) -> Result<Option<String>> {
        if flags != 0 {
            return Err(Error::invalid_arg(format!(
                "lockspace drvInquire: unsupported flags (0x{flags:x})"
            )));
        }
        let table = lock(&HELD);
        let mine = self.mine(&table);
        let mut entries: Vec<Entry> = mine
            .iter()
            .filter(|&&i| table[i].locked)
            .map(|&i| table[i].entry())
            .collect();
        // Resources this guest holds from another process (libvirt inquires from the
        // daemon while the guest's own process holds the locks): read from the lease
        // files, as their live holder records say.
        for res in &self.resources {
            if mine.iter().any(|&i| table[i].res.target == res.target) {
                continue;
            }
            if let Some(e) = self.inquire_elsewhere(res)? {
                entries.push(e);
            }
        }
        Ok(Self::state_of(&entries))
    }

    /// The state entry of `res` when a live process holds it for this guest.
    fn inquire_elsewhere(&self, res: &Resource) -> Result<Option<Entry>> {
        let path = res.record_path.as_deref().unwrap_or(&res.lock_path);
        // Through the checked directory (never `path.exists()`: a swapped path would
        // say "nothing held" without any check).
        let Some((fd, _)) = lease::open_probe(path).map_err(|e| for_target(e, &res.target))? else {
            return Ok(None);
        };
        let held = lease::holders(fd.as_raw_fd())
            .into_iter()
            // With a pid, that process of the guest only (two during a migration).
            .find(|h| {
                h.uuid == self.owner.uuid && (self.owner.pid == 0 || h.pid == self.owner.pid)
            });
        let Some(h) = held else {
            return Ok(None);
        };
        Ok(Some(Entry {
            target: res.target.clone(),
            shared: h.mode == lease::MODE_SHARED,
            generation: lease::read_generation(fd.as_raw_fd(), path)?,
        }))
    }
}
