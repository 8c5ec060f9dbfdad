//! `status` and `who`: reading the lockspace without taking any lock.
//!
//! Lease files are opened read-only (`O_NOFOLLOW | O_NONBLOCK`, regular files only,
//! checked with `lstat` before the open): a hostile entry (symlink, FIFO, device) is
//! skipped, never opened. Holders are the plugin's live records (`lease::holders`:
//! slot locks probed with `F_OFD_GETLK`, which takes nothing), so a reader never makes a
//! guest start fail and never reports a holder that is gone.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use lockspace::lease::{self, Holder};
use lockspace::manager;
use lockspace::record::escape;
use lockspace::state::Target;
use serde::Serialize;

use crate::{exit, load_config, Failure};

/// A lockspace directory this tool may trust, by the plugin's own rules
/// (`conf::check_lockspace_dir`: a directory, owned by root or us, not writable by other
/// users, who could plant or remove lease files). Unlike the plugin, the tool never
/// creates it: a missing directory is a configuration error.
/// `write`: `run` needs to create lease files; `status` and `who` only read.
pub fn check_dir(cfg: &lockspace::conf::Config, write: bool) -> Result<(), Failure> {
    let dir = &cfg.lockspace_dir;
    if let Err(e) = std::fs::metadata(dir) {
        let what = format!("lockspace directory '{}'", dir.display());
        return Err(Failure::new(
            exit::CONFIG,
            lockspace::error::Error::system(e, what).message,
        ));
    }
    let checked = if write {
        lockspace::conf::check_lockspace_dir(cfg)
    } else {
        lockspace::conf::check_lockspace_dir_readable(cfg)
    };
    checked.map_err(|e| Failure::new(exit::CONFIG, e.message))
}

/// Opens a lease file for reading: `None` when it does not exist. Through the
/// plugin's own code (`lease::open_probe`): relative to the checked lockspace directory,
/// never following a symlink, and a planted entry (symlink, FIFO, device, hard link,
/// another user's file) is an error naming it, never opened.
fn open_lease(path: &Path) -> Result<Option<OwnedFd>, Failure> {
    match lease::open_probe(path) {
        Ok(found) => Ok(found.map(|(fd, _)| fd)),
        Err(e) if e.message.ends_with("Permission denied") => {
            // Lease files are created 0600 (holder records name guests and disks):
            // reading a lockspace others hold needs their user (root for libvirtd's).
            Err(Failure::new(
                exit::OSERR,
                format!(
                    "{} (lease files are readable only by the user holding them: run as that user, root for libvirtd's guests)",
                    e.message
                ),
            ))
        }
        Err(e) => Err(Failure::from_plugin(e)),
    }
}

/// The kind of lock another open file holds on the resource byte (`F_UNLCK`: none).
fn resource_lock(fd: &OwnedFd) -> i32 {
    // SAFETY: flock is plain data; zero is valid (l_pid must be 0 for OFD locks).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = lease::RESOURCE_LOCK as libc::off_t;
    fl.l_len = 1;
    // SAFETY: F_OFD_GETLK with a valid flock: a probe, it takes no lock.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) } != 0 {
        return libc::F_UNLCK;
    }
    fl.l_type as i32
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct HolderOut {
    pub name: String,
    pub uuid: String,
    pub pid: u32,
    pub host: String,
    pub mode: &'static str,
}

/// A guest that registered a disk but holds no lock on it: libvirt starts every guest
/// paused and releases a paused guest's locks, yet the guest still has the disk open.
pub const PAUSED: &str = "registered (paused)";

fn mode_name(mode: u32) -> &'static str {
    match mode {
        lease::MODE_EXCLUSIVE => "exclusive",
        lease::MODE_SHARED => "shared",
        _ => PAUSED,
    }
}

impl From<&Holder> for HolderOut {
    fn from(h: &Holder) -> Self {
        HolderOut {
            name: h.name.clone(),
            uuid: lease::format_uuid(&h.uuid),
            pid: h.pid,
            host: h.host.clone(),
            mode: mode_name(h.mode),
        }
    }
}

/// What one lease file says: its live holders, and whether someone holds its lock.
struct LeaseView {
    holders: Vec<Holder>,
    locked: i32,
}

fn view(path: &Path) -> Result<Option<LeaseView>, Failure> {
    let Some(fd) = open_lease(path)? else {
        return Ok(None);
    };
    // Every live record: lock holders and guests that registered the disk while paused.
    let holders: Vec<Holder> = lease::live_records(fd.as_raw_fd())
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    let locked = resource_lock(&fd);
    if holders.is_empty() && locked == libc::F_UNLCK {
        return Ok(None);
    }
    Ok(Some(LeaseView { holders, locked }))
}

fn mode_of(v: &LeaseView) -> &'static str {
    let any = |m| v.holders.iter().any(|h| h.mode == m);
    if any(lease::MODE_EXCLUSIVE) || v.locked == libc::F_WRLCK {
        "exclusive"
    } else if any(lease::MODE_SHARED) || v.locked == libc::F_RDLCK {
        "shared"
    } else {
        PAUSED
    }
}

/// Most restrictive first: what a disk with several lease files is held as.
fn rank(mode: &str) -> u8 {
    match mode {
        "exclusive" => 0,
        "shared" => 1,
        _ => 2,
    }
}

#[derive(Serialize, Debug)]
pub struct Row {
    /// As recorded by the holder: `disk:PATH`, `lease:LOCKSPACE/KEY`, or "path unknown".
    pub resource: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub path: Option<String>,
    pub lockspace: Option<String>,
    pub key: Option<String>,
    pub mode: &'static str,
    pub lease_file: String,
    pub holders: Vec<HolderOut>,
}

fn row(file: &Path, v: &LeaseView) -> Row {
    let text = v.holders.iter().find_map(|h| h.resource.clone());
    let mut r = Row {
        resource: text.clone().unwrap_or_else(|| "path unknown".into()),
        kind: "unknown",
        path: None,
        lockspace: None,
        key: None,
        mode: mode_of(v),
        lease_file: file.display().to_string(),
        holders: v.holders.iter().map(HolderOut::from).collect(),
    };
    match text.as_deref() {
        Some(t) if t.starts_with("disk:") => {
            r.kind = "disk";
            r.path = Some(t["disk:".len()..].to_string());
        }
        Some(t) if t.starts_with("lease:") => {
            r.kind = "lease";
            let (ls, key) = t["lease:".len()..].split_once('/').unwrap_or(("", t));
            r.lockspace = Some(ls.to_string()).filter(|s| !s.is_empty());
            r.key = Some(key.to_string());
        }
        _ => {}
    }
    r
}

/// Every held resource in the lockspace directory, sorted by resource.
pub fn scan(dir: &Path) -> Result<Vec<Row>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::new(
            exit::CONFIG,
            format!("cannot read lockspace directory '{}': {e}", dir.display()),
        )
    })?;
    let mut rows = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Lease files are named by a SHA-256: anything else is not the plugin's.
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let path = dir.join(&*name);
        let v = match view(&path) {
            Ok(v) => v,
            // A planted entry is reported, and the rest still listed.
            Err(f) if f.code == exit::CONFIG => {
                eprintln!("virtcore-lock: warning: {}", f.message);
                continue;
            }
            Err(f) => return Err(f),
        };
        if let Some(v) = v {
            let r = row(&path, &v);
            // A disk's second, host-local lease (the image behind its path, so hard links
            // and bind mounts meet) has the same holders as the disk's row: `who` reads
            // it, `status` shows the disk.
            if !r.resource.starts_with("image:") {
                rows.push(r);
            }
        }
    }
    rows.sort_by(|a, b| {
        a.resource
            .cmp(&b.resource)
            .then(a.lease_file.cmp(&b.lease_file))
    });
    Ok(rows)
}

/// A holder for human-readable output: names escaped, a paused guest said so.
pub fn describe(h: &HolderOut) -> String {
    let paused = if h.mode == PAUSED { ", paused" } else { "" };
    format!(
        "{} (uuid {}, pid {}, host {}{paused})",
        escape(&h.name),
        h.uuid,
        h.pid,
        escape(&h.host)
    )
}

pub fn status(config: &Path, json: bool) -> Result<i32, Failure> {
    let cfg = load_config(config, false)?;
    let rows = scan(&cfg.lockspace_dir)?;
    if json {
        let out = serde_json::json!({
            "lockspace_dir": cfg.lockspace_dir.display().to_string(),
            "resources": rows,
        });
        println!("{out:#}");
        return Ok(0);
    }
    if rows.is_empty() {
        println!("no resource held in {}", cfg.lockspace_dir.display());
        return Ok(0);
    }
    let shown: Vec<String> = rows
        .iter()
        .map(|r| escape(&r.resource).into_owned())
        .collect();
    let width = shown.iter().map(|r| r.chars().count()).max().unwrap_or(0);
    let mw = rows.iter().map(|r| r.mode.len()).max().unwrap_or(0).max(9);
    println!("{:width$}  {:mw$}  HOLDERS", "RESOURCE", "MODE");
    for (r, resource) in rows.iter().zip(&shown) {
        let holders = if r.holders.is_empty() {
            "unknown (no holder record)".to_string()
        } else {
            r.holders
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join("; ")
        };
        println!("{resource:width$}  {:mw$}  {holders}", r.mode);
    }
    Ok(0)
}

#[derive(Serialize, Debug)]
pub struct WhoOut {
    pub disk: String,
    pub path: String,
    pub held: bool,
    pub mode: Option<&'static str>,
    pub holders: Vec<HolderOut>,
    /// Whether the disk's path exists (a disk may be locked before it is created).
    pub exists: bool,
}

/// The holders of one disk: every lease file the plugin locks for it.
pub fn who_one(cfg: &lockspace::conf::Config, disk: &str) -> Result<WhoOut, Failure> {
    let canonical = lease::canonical_disk_path(disk).map_err(Failure::from_plugin)?;
    let target = Target::Disk {
        path: canonical.clone(),
    };
    let files: Vec<PathBuf> = manager::record_files(cfg, target).map_err(Failure::from_plugin)?;
    let mut out = WhoOut {
        disk: disk.to_string(),
        path: canonical,
        held: false,
        mode: None,
        holders: Vec::new(),
        exists: std::fs::symlink_metadata(disk).is_ok(),
    };
    for f in files {
        let v = view(&f)
            .map_err(|e| Failure::new(e.code, format!("disk '{}': {}", escape(disk), e.message)))?;
        let Some(v) = v else { continue };
        out.held = true;
        let m = mode_of(&v);
        if out.mode.is_none_or(|o| rank(m) < rank(o)) {
            out.mode = Some(m);
        }
        for h in v.holders.iter().map(HolderOut::from) {
            if !out
                .holders
                .iter()
                .any(|o| o.uuid == h.uuid && o.pid == h.pid)
            {
                out.holders.push(h);
            }
        }
    }
    Ok(out)
}

pub fn who(config: &Path, disks: &[String], json: bool) -> Result<i32, Failure> {
    let cfg = load_config(config, false)?;
    let results = disks
        .iter()
        .map(|d| who_one(&cfg, d))
        .collect::<Result<Vec<_>, _>>()?;
    if json {
        println!("{:#}", serde_json::json!(results));
    } else {
        for r in &results {
            let disk = escape(&r.disk);
            // Never a bare "free" for a path that is not there: a typo must show.
            let disk = if r.exists {
                disk.to_string()
            } else {
                format!("{disk} (no such file)")
            };
            if !r.held {
                println!("{disk}: free");
            } else if r.holders.is_empty() {
                println!(
                    "{disk}: held {} by an unknown holder (no holder record)",
                    r.mode.unwrap_or("exclusive")
                );
            } else {
                let who: Vec<String> = r.holders.iter().map(describe).collect();
                println!(
                    "{disk}: held {} by {}",
                    r.mode.unwrap_or("exclusive"),
                    who.join("; ")
                );
            }
        }
    }
    Ok(if results.iter().any(|r| r.held) {
        exit::HELD
    } else {
        0
    })
}

/// `gc`: removes every lease file of the lockspace directory that nothing holds (see
/// `lockspace::gc`); entries not named like lease files are not the plugin's and stay.
pub fn gc(config: &Path) -> Result<i32, Failure> {
    use lockspace::gc::{collect, Outcome};
    let cfg = load_config(config, true)?;
    let dir = &cfg.lockspace_dir;
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::new(
            exit::CONFIG,
            format!("cannot read lockspace directory '{}': {e}", dir.display()),
        )
    })?;
    let (mut removed, mut kept) = (0, 0);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        match collect(&dir.join(&*name)).map_err(Failure::from_plugin)? {
            Outcome::Removed(why) if why.is_empty() => removed += 1,
            Outcome::Removed(why) => {
                removed += 1;
                println!("removed: {why}");
            }
            Outcome::InUse => kept += 1,
            Outcome::Skipped(why) => println!("kept {name}: {why}"),
        }
    }
    println!(
        "{removed} lease file(s) removed, {kept} in use kept in {}",
        dir.display()
    );
    Ok(0)
}
