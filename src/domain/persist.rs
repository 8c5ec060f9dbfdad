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

/// libvirt's `virDomainObjListLoadAllConfigs`. Returns the number of domains loaded and
/// the last failure (each one is logged); a missing directory loads nothing.
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
    // Every `*.xml` as libvirt (`.web.xml` is domain `.web`; `..xml` is `.`); our
    // temporary files never end in `.xml`.
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    let mut loaded = 0;
    let mut last_err = None;
    for file in names {
        let name = &file[..file.len() - 4];
        let r = if live_status {
            load_status(list, config_dir, name, notify, opaque)
        } else {
            load_config(list, config_dir, autostart_dir, name, notify, opaque)
        };
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

unsafe fn load_config(
    list: &virDomainObjList,
    config_dir: &str,
    autostart_dir: Option<&str>,
    name: &str,
    notify: virDomainLoadConfigNotify,
    opaque: *mut c_void,
) -> Result<Strong<virDomainObj>, Skip> {
    let path = config_file(config_dir, name);
    let text = read_regular(&path)?;
    let flags = VIR_DOMAIN_DEF_PARSE_INACTIVE
        | VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE
        | VIR_DOMAIN_DEF_PARSE_ALLOW_POST_PARSE_FAIL;
    let def = OwnedDef(xml::parse(&text, flags).map_err(|e| in_file(e, &path))?);
    let def_name = cstr((*def.0).name).unwrap_or_default().into_owned();
    if def_name != name {
        return Err(xml_err(format!(
            "{}: file defines domain '{def_name}', expected '{name}'",
            path.display()
        ))
        .into());
    }
    let autostart = autostart_dir.is_some_and(|d| same_file(&config_file(d, name), &path));
    let mut d = def.into_raw();
    let mut old: *mut virDomainDef = std::ptr::null_mut();
    let vm = match list.add(&mut d, 0, Some(&mut old)) {
        Ok(vm) => vm,
        Err(e) => {
            super::types::def_free(d);
            return Err(in_file(e, &path).into());
        }
    };
    (*vm.as_ptr()).autostart = autostart;
    if let Some(f) = notify {
        f(vm.as_ptr(), old.is_null() as c_int, opaque);
    }
    super::types::def_free(old);
    Ok(vm)
}

unsafe fn load_status(
    list: &virDomainObjList,
    status_dir: &str,
    name: &str,
    notify: virDomainLoadConfigNotify,
    opaque: *mut c_void,
) -> Result<Strong<virDomainObj>, Skip> {
    let path = config_file(status_dir, name);
    let text = read_regular(&path)?;
    let st = parse_status(&text, &path).map_err(|e| {
        if e.message.starts_with(&*path.to_string_lossy()) {
            e
        } else {
            in_file(e, &path)
        }
    })?;
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
        return Err(in_file(e, &path).into());
    }
    if let Some(f) = notify {
        f(p, 1, opaque);
    }
    Ok(vm)
}
