//! Config and status files: atomic writes, loading a directory of domains.
//!
//! Layout as libvirt's: `CONFIGDIR/NAME.xml` holds the inactive definition,
//! `AUTOSTARTDIR/NAME.xml` is a symlink to it when the domain autostarts, and
//! `STATUSDIR/NAME.xml` holds `<domstatus state= reason= pid=>` around the live definition.

use std::ffi::{c_int, c_void};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::error::{arg_err, internal, sys_err, xml_err};
use super::files::{check_dir, read_regular, write_atomic, ReadError as Skip};
use super::list::virDomainObjList;
use super::obj::{reason_count, reason_names, virDomainObj, STATE_NAMES};
use super::types::{cstr, virDomainDef, OwnedDef};
use super::xml::{self, *};
use crate::error::Error;
use crate::object::{Lockable, Strong};

/// libvirt's `virDomainLoadConfigNotify`: called for each loaded domain (locked);
/// `newDomain` is 1 when the domain was not in the list before.
pub type virDomainLoadConfigNotify =
    Option<unsafe extern "C" fn(dom: *mut virDomainObj, newDomain: c_int, opaque: *mut c_void)>;

/// `DIR/NAME.xml` (libvirt's `virDomainConfigFile`).
pub fn config_file(dir: &str, name: &str) -> PathBuf {
    Path::new(dir).join(format!("{name}.xml"))
}

/// libvirt's `virDomainDefSave`: the inactive definition to `CONFIGDIR/NAME.xml`.
///
/// # Safety
/// `def` is a valid definition.
pub unsafe fn save_config(def: *const virDomainDef, config_dir: &str) -> Result<(), Error> {
    check_dir(config_dir, "configDir")?;
    let name = cstr((*def).name)
        .ok_or_else(|| arg_err("domain definition has no name"))?
        .into_owned();
    xml::check_name(&name)?;
    let text = xml::format(
        def,
        VIR_DOMAIN_DEF_FORMAT_SECURE | VIR_DOMAIN_DEF_FORMAT_INACTIVE,
    )?;
    let doc = format!(
        "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n\
         OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n  \
         virsh edit {name}\nor other application using the libvirt API.\n-->\n\n{text}"
    );
    write_atomic(&config_file(config_dir, &name), doc.as_bytes())
}

/// libvirt's `virDomainObjSave`: state, reason, pid and the live definition to
/// `STATUSDIR/NAME.xml`.
///
/// # Safety
/// `obj` is a valid object locked by the caller.
pub unsafe fn save_status(obj: *const virDomainObj, status_dir: &str) -> Result<(), Error> {
    check_dir(status_dir, "statusDir")?;
    let def = (*obj).def;
    if def.is_null() {
        return Err(arg_err("domain object has no definition"));
    }
    let name = cstr((*def).name)
        .ok_or_else(|| arg_err("domain definition has no name"))?
        .into_owned();
    xml::check_name(&name)?;
    let st = (*obj).state;
    let state = usize::try_from(st.state)
        .ok()
        .and_then(|i| STATE_NAMES.get(i))
        .ok_or_else(|| internal(format!("domain '{name}' has invalid state {}", st.state)))?;
    let reason = usize::try_from(st.reason)
        .ok()
        .and_then(|i| reason_names(st.state).get(i))
        .copied()
        .unwrap_or("unknown");
    let text = xml::format(
        def,
        VIR_DOMAIN_DEF_FORMAT_SECURE | VIR_DOMAIN_DEF_FORMAT_STATUS,
    )?;
    let doc = format!(
        "<domstatus state='{state}' reason='{reason}' pid='{}'>\n{text}</domstatus>\n",
        (*obj).pid
    );
    write_atomic(&config_file(status_dir, &name), doc.as_bytes())
}

/// libvirt's `virDomainDeleteConfig`: removes the config file and the autostart link.
///
/// # Safety
/// `obj` is a valid object locked by the caller.
pub unsafe fn delete_config(
    obj: *mut virDomainObj,
    config_dir: &str,
    autostart_dir: &str,
) -> Result<(), Error> {
    check_dir(config_dir, "configDir")?;
    check_dir(autostart_dir, "autostartDir")?;
    let def = (*obj).def;
    let name = if def.is_null() {
        None
    } else {
        cstr((*def).name)
    }
    .ok_or_else(|| arg_err("domain object has no name"))?
    .into_owned();
    // Not fatal if this does not work (as in libvirt).
    let _ = fs::remove_file(config_file(autostart_dir, &name));
    (*obj).autostart = false;
    match fs::remove_file(config_file(config_dir, &name)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(sys_err(
            format!(
                "cannot remove config {}",
                config_file(config_dir, &name).display()
            ),
            e,
        )),
    }
}

/// Reads a domain XML file into a string (regular files of at most
/// `VIRTCORE_DOMAIN_XML_MAX` bytes), with an error naming it.
pub fn read_file(path: &Path) -> Result<String, Error> {
    read_regular(path).map_err(Error::from)
}

/// Prefixes an error's message with the file it came from.
fn in_file(e: Error, path: &Path) -> Error {
    Error {
        message: format!("{}: {}", path.display(), e.message),
        ..e
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

struct Status {
    state: c_int,
    reason: c_int,
    pid: libc::pid_t,
    def: OwnedDef,
}

fn parse_status(text: &str, path: &Path) -> Result<Status, Error> {
    let st = xml::read_status(text)?;
    if st.root != "domstatus" {
        return Err(xml_err(format!(
            "unexpected root element <{}>, expecting <domstatus>",
            st.root
        )));
    }
    let state_s = st.state.as_deref().unwrap_or("");
    let state = STATE_NAMES
        .iter()
        .position(|s| *s == state_s)
        .map(|i| i as c_int)
        .or_else(|| state_s.parse().ok().filter(|s| reason_count(*s).is_some()))
        .ok_or_else(|| xml_err(format!("invalid domain state '{state_s}'")))?;
    let reason_s = st.reason.as_deref().unwrap_or("unknown");
    let reason = reason_names(state)
        .iter()
        .position(|s| *s == reason_s)
        .map(|i| i as c_int)
        .or_else(|| reason_s.parse().ok())
        .unwrap_or(0);
    let pid = match st.pid.as_deref() {
        Some(p) => p
            .parse()
            .map_err(|_| xml_err(format!("invalid pid '{p}' in status file")))?,
        None => 0,
    };
    let dom = st
        .domain
        .ok_or_else(|| xml_err("no <domain> in status file"))?;
    let def = xml::parse(&text[dom], VIR_DOMAIN_DEF_PARSE_STATUS).map_err(|e| in_file(e, path))?;
    Ok(Status {
        state,
        reason,
        pid,
        def: OwnedDef(def),
    })
}

/// Files below this many are read and parsed on the calling thread only.
const PARALLEL_MIN: usize = 256;
/// Files a worker takes at a time.
const CHUNK: usize = 64;

/// One file read and parsed, not yet in the list.
enum Parsed {
    Config { def: OwnedDef, autostart: bool },
    Status(Status),
}
// SAFETY: a parsed definition is plain data owned by this value alone (no thread-bound
// state), so it may be built on a worker thread and added to the list on the caller's.
unsafe impl Send for Parsed {}

/// The directory's `*.xml` names (sorted, as libvirt reads them after its readdir) and
/// whether the entry said "regular file" (`d_type`; unknown or symlink: stat first).
fn xml_entries(rd: fs::ReadDir) -> Vec<(String, bool)> {
    // Every `*.xml` as libvirt (`.web.xml` is domain `.web`; `..xml` is `.`); our
    // temporary files never end in `.xml`.
    let mut v: Vec<(String, bool)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let regular = e.file_type().is_ok_and(|t| t.is_file());
            e.file_name().to_str().map(|n| (n.to_string(), regular))
        })
        .filter(|(n, _)| n.ends_with(".xml"))
        .collect();
    v.sort_unstable();
    v
}

/// What reading `dir` (the status or config directory) needs besides each file's name.
struct Source<'a> {
    dir: &'a str,
    autostart_dir: Option<&'a str>,
    /// The names in the autostart directory: only those are checked for a link (one
    /// listing instead of two stats a domain).
    autostart_names: std::collections::HashSet<String>,
    live_status: bool,
}

impl Source<'_> {
    fn parse(&self, file: &str, regular: bool) -> Result<Parsed, Skip> {
        let name = &file[..file.len() - 4];
        let path = config_file(self.dir, name);
        let text = super::files::read_regular_as(&path, regular)?;
        if self.live_status {
            let st = parse_status(&text, &path).map_err(|e| {
                if e.message.starts_with(&*path.to_string_lossy()) {
                    e
                } else {
                    in_file(e, &path)
                }
            })?;
            return Ok(Parsed::Status(st));
        }
        let flags = VIR_DOMAIN_DEF_PARSE_INACTIVE
            | VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE
            | VIR_DOMAIN_DEF_PARSE_ALLOW_POST_PARSE_FAIL;
        let def = OwnedDef(xml::parse(&text, flags).map_err(|e| in_file(e, &path))?);
        // SAFETY: just parsed, owned here.
        let def_name = unsafe { cstr((*def.0).name) }
            .unwrap_or_default()
            .into_owned();
        if def_name != name {
            return Err(xml_err(format!(
                "{}: file defines domain '{def_name}', expected '{name}'",
                path.display()
            ))
            .into());
        }
        let autostart = self.autostart_names.contains(file)
            && self
                .autostart_dir
                .is_some_and(|d| same_file(&config_file(d, name), &path));
        Ok(Parsed::Config { def, autostart })
    }

    /// Every entry parsed, in order; on several threads when there are many.
    fn parse_all(&self, entries: &[(String, bool)]) -> Vec<Result<Parsed, Skip>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        if entries.len() < PARALLEL_MIN || threads < 2 {
            return entries.iter().map(|(f, r)| self.parse(f, *r)).collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(CHUNK, std::sync::atomic::Ordering::Relaxed);
                if i >= entries.len() {
                    return done;
                }
                for (k, (f, r)) in entries[i..(i + CHUNK).min(entries.len())]
                    .iter()
                    .enumerate()
                {
                    done.push((i + k, self.parse(f, *r)));
                }
            }
        };
        let mut parts = std::thread::scope(|s| {
            let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
            let mut parts = vec![work()];
            for h in helpers {
                // A panic in a worker is a bug: re-raised here, inside ffi::call's boundary.
                parts.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            }
            parts
        });
        let mut out: Vec<Option<Result<Parsed, Skip>>> = (0..entries.len()).map(|_| None).collect();
        for (i, r) in parts.iter_mut().flat_map(|p| p.drain(..)) {
            out[i] = Some(r);
        }
        out.into_iter()
            .map(|r| r.expect("every entry parsed"))
            .collect()
    }
}

/// libvirt's `virDomainObjListLoadAllConfigs`. Returns the number of domains loaded and
/// the last failure (each one is logged); a missing directory loads nothing.
///
/// Files are read and parsed first (on several threads for a large directory: that is
/// where the time goes, 4 file system calls and a parse a file), then added to the list
/// and notified one by one on the calling thread, in name order, as before.
///
/// # Safety
/// `notify` is NULL or a valid C function.
pub unsafe fn load_all(
    list: &virDomainObjList,
    config_dir: &str,
    autostart_dir: Option<&str>,
    live_status: bool,
    notify: virDomainLoadConfigNotify,
    opaque: *mut c_void,
) -> Result<(usize, Option<Error>), Error> {
    check_dir(config_dir, "configDir")?;
    if let Some(d) = autostart_dir {
        check_dir(d, "autostartDir")?;
    }
    let rd = match fs::read_dir(config_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, None)),
        Err(e) => return Err(sys_err(format!("Failed to open dir '{config_dir}'"), e)),
    };
    let entries = xml_entries(rd);
    let autostart_names = match (live_status, autostart_dir) {
        (false, Some(d)) => fs::read_dir(d)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Default::default(),
    };
    let src = Source {
        dir: config_dir,
        autostart_dir,
        autostart_names,
        live_status,
    };
    let parsed = src.parse_all(&entries);
    let mut loaded = 0;
    let mut last_err = None;
    for ((file, _), r) in entries.iter().zip(parsed) {
        let name = &file[..file.len() - 4];
        let path = config_file(config_dir, name);
        let r = r.and_then(|p| match p {
            Parsed::Config { def, autostart } => {
                add_config(list, &path, def, autostart, notify, opaque)
            }
            Parsed::Status(st) => add_status(list, &path, name, st, notify, opaque),
        });
        match r {
            Err(Skip::NotRegular(e)) => log_warn!("skipped: {e}"),
            Ok(vm) => {
                if !live_status {
                    (*vm.as_ptr()).persistent = true;
                }
                vm.unlock();
                loaded += 1;
            }
            Err(Skip::Failed(e)) => {
                log_error!("Failed to load config for domain '{name}': {e}");
                last_err = Some(e);
            }
        }
    }
    Ok((loaded, last_err))
}

unsafe fn add_config(
    list: &virDomainObjList,
    path: &Path,
    def: OwnedDef,
    autostart: bool,
    notify: virDomainLoadConfigNotify,
    opaque: *mut c_void,
) -> Result<Strong<virDomainObj>, Skip> {
    let mut d = def.into_raw();
    let mut old: *mut virDomainDef = std::ptr::null_mut();
    let vm = match list.add(&mut d, 0, Some(&mut old)) {
        Ok(vm) => vm,
        Err(e) => {
            super::types::def_free(d);
            return Err(in_file(e, path).into());
        }
    };
    (*vm.as_ptr()).autostart = autostart;
    if let Some(f) = notify {
        f(vm.as_ptr(), old.is_null() as c_int, opaque);
    }
    super::types::def_free(old);
    Ok(vm)
}

unsafe fn add_status(
    list: &virDomainObjList,
    path: &Path,
    name: &str,
    st: Status,
    notify: virDomainLoadConfigNotify,
    opaque: *mut c_void,
) -> Result<Strong<virDomainObj>, Skip> {
    if list.contains_uuid(&(*st.def.0).uuid) {
        return Err(internal(format!(
            "{}: unexpected domain '{name}' already exists",
            path.display()
        ))
        .into());
    }
    let vm = Strong::new(virDomainObj::new());
    vm.lock();
    let p = vm.as_ptr();
    (*p).def = st.def.into_raw();
    (*p).state.state = st.state;
    (*p).state.reason = st.reason;
    (*p).pid = st.pid;
    if let Err(e) = list.add_obj(&vm) {
        vm.unlock();
        return Err(in_file(e, path).into());
    }
    if let Some(f) = notify {
        f(p, 1, opaque);
    }
    Ok(vm)
}
