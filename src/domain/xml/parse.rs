//! Reading a domain document as libvirt 9.0's generic parser does, for the fields virtcore
//! models: `virDomainDefParseIDs`, `virDomainDiskDefParseXML`, `virDomainLeaseDefParseXML`,
//! the disk post-parse (cdrom read-only, bus default), `virDomainDiskInsert`'s order and
//! the generic validation of disks (target present, floppy ↔ fdc, no duplicate target).

use std::borrow::Cow;
use std::ffi::{c_int, c_uint};
use std::ops::Range;

use super::doc::Doc;
use super::model::*;
use super::*;
use crate::domain::error::xml_err;
use crate::domain::types::*;
use crate::error::{virErrorNumber, Error};
use crate::ffi::malloc_cstring;

use virErrorNumber::*;

/// An element of the document being read (an index into `Doc::nodes`).
type Node = u32;

struct Ctx<'d, 'a> {
    doc: &'d Doc<'a>,
    base: usize,
}

impl<'d, 'a> Ctx<'d, 'a> {
    fn rel(&self, r: Range<usize>) -> Range<usize> {
        r.start - self.base..r.end - self.base
    }
    /// As [`Self::rel`], as kept in a layout (the caller refused texts over 4 GiB).
    fn rel32(&self, r: Range<usize>) -> Range<u32> {
        (r.start - self.base) as u32..(r.end - self.base) as u32
    }

    fn attr(&self, n: Node, name: &str) -> Option<(Attr, Cow<'a, str>)> {
        let a = self.doc.attr(n, name)?;
        let v = self.doc.attr_value(a);
        // Only a value that differs from the raw text is kept (entities, blanks).
        let cooked = (!a.plain).then(|| v.as_ref().into());
        Some((
            Attr {
                whole: self.rel32(a.range()),
                value: self.rel32(a.range_value()),
                cooked,
            },
            v,
        ))
    }

    /// What is recorded of an element. Only its span survives the parse in a release build
    /// (`store` keeps where it starts; format scans the text for the rest), so only test
    /// builds work out the other fields, for `store_tests::verify` to check the scan with.
    fn elem(&self, i: Node) -> Elem {
        let n = self.doc.node(i);
        let b = self.base as u32;
        if !cfg!(test) {
            return Elem::span(
                n.start - b..n.end - b,
                n.content_start - b,
                n.close_start - b,
                n.self_closing,
            );
        }
        self.elem_full(i)
    }

    fn elem_full(&self, i: Node) -> Elem {
        let d = self.doc;
        let n = d.node(i);
        let b = self.base as u32;
        // The root has no text node before it (text outside it is not a node).
        let ws_start = match d.blank_before(i) {
            Some(r) if i != d.root => r.start as u32,
            _ => n.start,
        };
        let attr_end = d
            .attrs_of(i)
            .last()
            .map_or(n.name_end, |a| a.range().end as u32);
        let mut first_el = None;
        let mut last_el = None;
        for c in d.children(i) {
            first_el.get_or_insert(c);
            last_el = Some(c);
        }
        let child_ws = first_el.and_then(|f| d.blank_before(f).map(|r| self.rel32(r)));
        Elem {
            ws_start: ws_start - b,
            range: n.start - b..n.end - b,
            name_end: n.name_end - b,
            attr_end: attr_end - b,
            content_start: n.content_start - b,
            close_start: n.close_start - b,
            last_child_end: last_el.map_or(n.content_start, |c| d.node(c).end) - b,
            child_ws,
            self_closing: n.self_closing,
            has_children: first_el.is_some(),
        }
    }

    /// An element and its XPath string value (all descendant text).
    fn text_elem(&self, n: Node) -> (TextElem, Cow<'a, str>) {
        let elem = self.elem(n);
        let text: &'a str = self.doc.text;
        let raw = &text[self.base + elem.content_start()..self.base + elem.close_start()];
        // Content without a reference, CR or markup is its own string value (what
        // `Doc::string_value` finds too, by a slower scan of `char`s).
        if memchr::memchr3(b'&', b'\r', b'<', raw.as_bytes()).is_none() {
            return (TextElem { elem, cooked: None }, Cow::Borrowed(raw));
        }
        let value = self.doc.string_value(n);
        let cooked = (raw != value).then(|| value.as_ref().into());
        (TextElem { elem, cooked }, value)
    }

    /// The first child element (in no namespace) of each name, in one pass.
    fn children_first<const N: usize>(&self, n: Node, names: [&str; N]) -> [Option<Node>; N] {
        let d = self.doc;
        let mut out = [None; N];
        for c in d.children(n) {
            let r = d.node(c);
            if !r.ns_none {
                continue;
            }
            let local = d.local(r);
            let local = local.as_bytes();
            if let Some(k) = names
                .iter()
                .position(|x| super::check::eq_short(x.as_bytes(), local))
            {
                out[k].get_or_insert(c);
            }
        }
        out
    }
}

fn enum_index(table: &[&str], v: &str) -> Option<c_int> {
    table.iter().position(|t| *t == v).map(|i| i as c_int)
}

/// libvirt's `virXMLPropEnum` error.
fn bad_attr(dom: &str, attr: &str, el: &str, v: &str) -> Error {
    xml_err(format!(
        "domain '{dom}': Invalid value for attribute '{attr}' in element '{el}': '{v}'."
    ))
}

/// `virStrToLong_*`-style: leading blanks and a sign allowed, nothing after the digits.
fn parse_c_int<T: std::str::FromStr>(v: &str) -> Option<T> {
    let t = v.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let t = t
        .strip_prefix('+')
        .filter(|r| !r.starts_with(['+', '-']))
        .unwrap_or(t);
    t.parse().ok()
}

/// Values of one `<disk>`, as C will see them.
struct DiskVals<'a> {
    ty: c_int,
    device: c_int,
    bus: c_int,
    /// Borrowed from the document when written plainly (copied once, into C strings).
    path: Option<Cow<'a, str>>,
    dst: Option<Cow<'a, str>>,
    readonly: bool,
    shared: bool,
    /// `virDomainDiskInsert` keys: the bus as written, the target's index.
    key: (c_int, Option<i32>),
    /// Has an `<address>`: libvirt then need not derive one from the target name.
    has_address: bool,
}

fn scan_disk<'a>(cx: &Ctx<'_, 'a>, n: Node, dom: &str) -> Result<(DiskVals<'a>, DiskOrig), Error> {
    let type_attr = cx.attr(n, "type");
    let mut ty = match &type_attr {
        Some((_, v)) => match enum_index(STORAGE_TYPES, v) {
            Some(t) if t > 0 => t,
            _ => return Err(bad_attr(dom, "type", "disk", v)),
        },
        None => VIR_STORAGE_TYPE_FILE,
    };
    let type_written = ty;
    let [source, target, readonly, shareable, address] =
        cx.children_first(n, ["source", "target", "readonly", "shareable", "address"]);
    let mut path = None;
    let source_pos = match source {
        Some(s) => {
            let a = source_attr(ty).and_then(|an| {
                cx.attr(s, an).map(|(a, v)| {
                    path = Some(v);
                    (a, an)
                })
            });
            Some(SourcePos {
                elem: cx.elem(s),
                path: a,
            })
        }
        // libvirt resets the type when there is no <source>.
        None => {
            ty = VIR_STORAGE_TYPE_FILE;
            None
        }
    };
    let device_attr = cx.attr(n, "device");
    let device = match &device_attr {
        Some((_, v)) => {
            enum_index(DISK_DEVICES, v).ok_or_else(|| bad_attr(dom, "device", "disk", v))?
        }
        None => VIR_DOMAIN_DISK_DEVICE_DISK,
    };
    let mut dst = None;
    let mut bus = VIR_DOMAIN_DISK_BUS_NONE;
    let target_pos = match target {
        Some(t) => {
            let dev = cx.attr(t, "dev").map(|(a, v)| {
                dst = Some(v);
                a
            });
            let bus_attr = cx.attr(t, "bus").map(|(a, v)| (a, v.to_string()));
            if let Some((_, v)) = &bus_attr {
                bus = match enum_index(DISK_BUSES, v) {
                    Some(b) if b > 0 => b,
                    _ => return Err(bad_attr(dom, "bus", "target", v)),
                };
            }
            Some(TargetPos {
                elem: cx.elem(t),
                dev,
                bus: bus_attr.map(|(a, _)| a),
            })
        }
        None => None,
    };
    let key = (bus, dst.as_deref().map(disk_name_to_index));
    // Post-parse (virDomainDiskDefPostParse).
    if let Some(d) = &dst {
        if let Some(rest) = d.strip_prefix("ioemu:") {
            dst = Some(Cow::Owned(rest.to_string()));
        }
    }
    let readonly_val = readonly.is_some() || device == VIR_DOMAIN_DISK_DEVICE_CDROM;
    if bus == VIR_DOMAIN_DISK_BUS_NONE {
        bus = default_bus(device, dst.as_deref());
    }
    let vals = DiskVals {
        ty,
        device,
        bus,
        path,
        dst,
        readonly: readonly_val,
        shared: shareable.is_some(),
        key,
        has_address: address.is_some(),
    };
    let orig = DiskOrig {
        elem: cx.elem(n),
        type_attr: type_attr.map(|(a, _)| a),
        type_val: ty,
        type_written,
        device_attr: device_attr.map(|(a, _)| a),
        device_val: device,
        source: source_pos,
        target: target_pos,
        bus_val: bus,
        readonly: readonly.map(|r| cx.elem(r)),
        readonly_val,
        shareable: shareable.map(|r| cx.elem(r)),
    };
    Ok((vals, orig))
}

/// libvirt's post-parse bus default for a disk without `bus=`.
pub(super) fn default_bus(device: c_int, dst: Option<&str>) -> c_int {
    if device == VIR_DOMAIN_DISK_DEVICE_FLOPPY {
        return VIR_DOMAIN_DISK_BUS_FDC;
    }
    let d = dst.unwrap_or("");
    if d.starts_with("sd") {
        VIR_DOMAIN_DISK_BUS_SCSI
    } else if d.starts_with("vd") {
        VIR_DOMAIN_DISK_BUS_VIRTIO
    } else if d.starts_with("xvd") {
        VIR_DOMAIN_DISK_BUS_XEN
    } else if d.starts_with("ubd") {
        VIR_DOMAIN_DISK_BUS_UML
    } else {
        VIR_DOMAIN_DISK_BUS_IDE
    }
}

struct LeaseVals<'a> {
    lockspace: Cow<'a, str>,
    key: Cow<'a, str>,
    path: Cow<'a, str>,
    offset: u64,
}

fn scan_lease<'a>(
    cx: &Ctx<'_, 'a>,
    n: Node,
    dom: &str,
) -> Result<(LeaseVals<'a>, LeaseOrig), Error> {
    let [key, lockspace, target] = cx.children_first(n, ["key", "lockspace", "target"]);
    let key = key.map(|k| cx.text_elem(k));
    let (key, key_v) = match key {
        Some((e, v)) if !v.is_empty() => (e, v),
        _ => {
            return Err(xml_err(format!(
                "domain '{dom}': Missing 'key' element for lease"
            )))
        }
    };
    let (lockspace, ls_v) = match lockspace.map(|l| cx.text_elem(l)) {
        Some((e, v)) if !v.is_empty() => (e, v),
        _ => {
            return Err(xml_err(format!(
                "domain '{dom}': Missing 'lockspace' element for lease '{key_v}'"
            )))
        }
    };
    let target = target.ok_or_else(|| {
        xml_err(format!(
            "domain '{dom}': Missing 'target' element for lease '{key_v}'"
        ))
    })?;
    let (path_attr, path) = cx.attr(target, "path").ok_or_else(|| {
        xml_err(format!(
            "domain '{dom}': Missing 'path' attribute to 'target' element for lease '{key_v}'"
        ))
    })?;
    let offset_attr = cx.attr(target, "offset");
    let offset = match &offset_attr {
        Some((_, v)) => parse_c_int::<u64>(v).ok_or_else(|| {
            xml_err(format!(
                "domain '{dom}': Invalid value for attribute 'offset' in element 'target': '{v}'. Expected non-negative integer value"
            ))
        })?,
        None => 0,
    };
    let vals = LeaseVals {
        lockspace: ls_v,
        key: key_v,
        path,
        offset,
    };
    let orig = LeaseOrig {
        elem: cx.elem(n),
        lockspace,
        key,
        target: cx.elem(target),
        path: path_attr,
        offset: offset_attr.map(|(a, _)| a),
        offset_val: offset,
    };
    Ok((vals, orig))
}

fn err(code: virErrorNumber, msg: impl Into<String>) -> Error {
    Error::new(crate::error::virErrorDomain::VIR_FROM_DOMAIN, code, msg)
}

/// Parses a domain document (libvirt's `virDomainDefParseString`).
pub fn parse(text: &str, flags: c_uint) -> Result<*mut virDomainDef, Error> {
    if text.len() > u32::MAX as usize {
        return Err(xml_err(format!(
            "domain XML of {} bytes is too large (at most 4 GiB)",
            text.len()
        )));
    }
    let doc = Doc::parse(text).map_err(|e| {
        let (line, col) = e.line_col(text);
        xml_err(format!(
            "malformed domain XML at line {line}, column {col}: {}",
            e.msg
        ))
    })?;
    let root = doc.root;
    let root_rec = doc.node(root);
    if doc.local(root_rec) != "domain" || !root_rec.ns_none {
        return Err(xml_err(format!(
            "expecting root element of 'domain', not '{}'",
            doc.local(root_rec)
        )));
    }
    let cx = Ctx {
        doc: &doc,
        base: root_rec.start as usize,
    };
    // virDomainDefParseIDs: id, name, uuid, in that order.
    let id_attr = cx.attr(root, "id");
    let mut id = -1;
    if flags & VIR_DOMAIN_DEF_PARSE_INACTIVE == 0 {
        if let Some((_, v)) = &id_attr {
            id = parse_c_int::<c_int>(v).ok_or_else(|| {
                xml_err(format!(
                    "Invalid value for attribute 'id' in element 'domain': '{v}'. Expected integer value"
                ))
            })?;
            if id < 0 {
                return Err(xml_err(format!(
                    "Invalid value for attribute 'id' in element 'domain': '{v}'. Expected non-negative value"
                )));
            }
        }
    }
    let (name_el, name) = match doc.child(root, "name").map(|n| cx.text_elem(n)) {
        Some((e, v)) if !v.is_empty() => (e, v),
        _ => return Err(err(VIR_ERR_NO_NAME, "missing name information")),
    };
    let uuid_el = doc.child(root, "uuid").map(|n| cx.text_elem(n));
    let (uuid_val, uuid_generated) = match &uuid_el {
        Some((_, t)) if !t.is_empty() => match uuid_parse(t) {
            Some(u) => (u, false),
            None => {
                return Err(err(
                    VIR_ERR_INTERNAL_ERROR,
                    format!("domain '{name}': malformed uuid element '{t}'"),
                ))
            }
        },
        _ => (uuid_generate(), true),
    };
    // virDomainDefParseCaps: the hypervisor type.
    let (type_attr, virt_type) = match cx.attr(root, "type") {
        Some((a, v)) if !v.is_empty() => match enum_index(VIRT_TYPES, &v) {
            Some(t) => (a, t),
            None => {
                return Err(err(
                    VIR_ERR_CONFIG_UNSUPPORTED,
                    format!("invalid domain type {v}"),
                ))
            }
        },
        _ => return Err(err(VIR_ERR_INTERNAL_ERROR, "missing domain type attribute")),
    };
    let mut events_end = None;
    let mut olf = None;
    let mut devices = None;
    for c in doc.children(root) {
        let r = doc.node(c);
        if !r.ns_none {
            continue;
        }
        match doc.local(r) {
            "on_poweroff" | "on_reboot" | "on_crash" => {
                events_end = Some(cx.rel(doc.range(c)).end as u32)
            }
            "on_lockfailure" if olf.is_none() => olf = Some(cx.text_elem(c)),
            "devices" => devices = Some(c),
            _ => {}
        }
    }
    let on_lockfailure_val = match &olf {
        Some((_, v)) if !v.is_empty() => enum_index(LOCK_FAILURE_ACTIONS, v).ok_or_else(|| {
            err(
                VIR_ERR_CONFIG_UNSUPPORTED,
                format!("domain '{name}': unknown on_lockfailure action: {v}"),
            )
        })?,
        _ => 0,
    };
    // Devices: every <disk> of every <devices>, then every <lease> (libvirt's XPath).
    let mut disks_v = Vec::new();
    let mut disks_o = Vec::new();
    let devices_all = || doc.children_named(root, "devices");
    for dn in devices_all() {
        for n in doc.children_named(dn, "disk") {
            let (v, o) = scan_disk(&cx, n, &name)?;
            disks_v.push(v);
            disks_o.push(o);
        }
    }
    let mut leases_v = Vec::new();
    let mut leases_o = Vec::new();
    for dn in devices_all() {
        for n in doc.children_named(dn, "lease") {
            let (v, o) = scan_lease(&cx, n, &name)?;
            leases_v.push(v);
            leases_o.push(o);
        }
    }
    let order = if disks_v.len() <= 1 {
        (0..disks_v.len()).collect()
    } else {
        let keys: Vec<_> = disks_v.iter().map(|d| d.key).collect();
        libvirt_disk_order(&keys)
    };
    check_name(&name)?;
    // virDomainDiskDefPostParse → virDomainDiskDefAssignAddress: a disk without <address>
    // needs a target name libvirt can turn into an index.
    for &i in &order {
        let d = &disks_v[i];
        if let (Some(dst), false) = (&d.dst, d.has_address) {
            if disk_name_to_index(dst) < 0 {
                return Err(xml_err(format!(
                    "domain '{name}': Unknown disk name '{dst}' and no address specified"
                )));
            }
        }
    }
    if flags & VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE == 0 {
        validate_disks(&name, &disks_v, &order)?;
    }

    let base = reserve_identities(disks_v.len() + leases_v.len());
    let lease_base = base + disks_v.len() as u64;
    let owned = OwnedDef(def_new());
    let def = owned.0;
    let disks = c_array_from(order.iter().map(|&i| {
        let v = &disks_v[i];
        let src = c_calloc::<virStorageSource>();
        let disk = c_calloc::<virDomainDiskDef>();
        unsafe {
            (*src).type_ = v.ty;
            (*src).path = v
                .path
                .as_deref()
                .map_or(std::ptr::null_mut(), malloc_cstring);
            (*src).readonly = v.readonly;
            (*src).shared = v.shared;
            (*disk).src = src;
            (*disk).device = v.device;
            (*disk).bus = v.bus;
            (*disk).dst = v
                .dst
                .as_deref()
                .map_or(std::ptr::null_mut(), malloc_cstring);
            (*disk).virtcoreIdentity = base + i as u64;
        }
        disk
    }));
    let leases = c_array_from(leases_v.iter().enumerate().map(|(i, v)| {
        let l = c_calloc::<virDomainLeaseDef>();
        unsafe {
            (*l).lockspace = malloc_cstring(&v.lockspace);
            (*l).key = malloc_cstring(&v.key);
            (*l).path = malloc_cstring(&v.path);
            (*l).offset = v.offset;
            (*l).virtcoreIdentity = lease_base + i as u64;
        }
        l
    }));
    let layout = Layout {
        root: cx.elem(root),
        type_attr,
        virt_type,
        id_attr: id_attr.map(|(a, _)| a),
        name: name_el,
        uuid: uuid_el.map(|(e, _)| e),
        uuid_val,
        uuid_generated,
        on_lockfailure: olf.map(|(e, _)| e),
        on_lockfailure_val,
        events_end,
        devices: devices.map(|d| cx.elem(d)),
        disks: disks_o.into_boxed_slice(),
        leases: leases_o.into_boxed_slice(),
    };
    unsafe {
        (*def).virtType = virt_type;
        (*def).id = id;
        (*def).uuid = uuid_val;
        (*def).name = malloc_cstring(&name);
        (*def).onLockFailure = on_lockfailure_val;
        (*def).ndisks = order.len();
        (*def).disks = disks;
        (*def).nleases = leases_v.len();
        (*def).leases = leases;
        (*def).virtcorePrivate = DefPrivate::new_raw(&text[doc.range(root)], &layout, base);
    }
    Ok(owned.into_raw())
}

/// libvirt's generic disk validation for the modelled fields, over `def->disks` order.
fn validate_disks(dom: &str, disks: &[DiskVals], order: &[usize]) -> Result<(), Error> {
    for &i in order {
        let d = &disks[i];
        let Some(dst) = &d.dst else {
            let what = d.path.as_deref().unwrap_or("");
            return Err(err(
                VIR_ERR_NO_TARGET,
                format!("domain '{dom}': missing target information for device {what}"),
            ));
        };
        let bus = DISK_BUSES[d.bus as usize];
        if d.device == VIR_DOMAIN_DISK_DEVICE_FLOPPY && d.bus != VIR_DOMAIN_DISK_BUS_FDC {
            return Err(err(
                VIR_ERR_INTERNAL_ERROR,
                format!("domain '{dom}': disk '{dst}': Invalid bus type '{bus}' for floppy disk"),
            ));
        }
        if d.device != VIR_DOMAIN_DISK_DEVICE_FLOPPY && d.bus == VIR_DOMAIN_DISK_BUS_FDC {
            return Err(err(
                VIR_ERR_INTERNAL_ERROR,
                format!("domain '{dom}': disk '{dst}': Invalid bus type '{bus}' for disk"),
            ));
        }
        let disk_like = matches!(
            d.device,
            VIR_DOMAIN_DISK_DEVICE_DISK | VIR_DOMAIN_DISK_DEVICE_LUN
        );
        if disk_like
            && !["hd", "sd", "vd", "xvd", "ubd"]
                .iter()
                .any(|p| dst.starts_with(p))
        {
            return Err(err(
                VIR_ERR_INTERNAL_ERROR,
                format!("domain '{dom}': Invalid harddisk device name: {dst}"),
            ));
        }
        if d.device == VIR_DOMAIN_DISK_DEVICE_FLOPPY && !dst.starts_with("fd") {
            return Err(err(
                VIR_ERR_INTERNAL_ERROR,
                format!("domain '{dom}': Invalid floppy device name: {dst}"),
            ));
        }
        // Only a cdrom, floppy or lun may be empty (no media).
        let local = source_attr(d.ty).is_some() && d.ty != VIR_STORAGE_TYPE_VHOST_VDPA;
        if local && d.path.is_none() && d.device == VIR_DOMAIN_DISK_DEVICE_DISK {
            return Err(err(
                VIR_ERR_NO_SOURCE,
                format!("domain '{dom}': missing source information for device {dst}"),
            ));
        }
    }
    // Duplicate targets: first pair in def->disks order, as libvirt's double loop finds it
    // (that loop itself for a few disks; a map for many, to stay linear).
    let dst = |pos: usize| disks[order[pos]].dst.as_deref().unwrap_or("");
    let mut first: Option<(usize, usize)> = None;
    if order.len() <= 16 {
        first = (0..order.len())
            .flat_map(|a| (a + 1..order.len()).map(move |b| (a, b)))
            .find(|&(a, b)| dst(a) == dst(b));
    } else {
        let mut seen: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(order.len());
        for pos in 0..order.len() {
            if let Some(&p) = seen.get(dst(pos)) {
                if first.is_none_or(|(a, b)| (p, pos) < (a, b)) {
                    first = Some((p, pos));
                }
            } else {
                seen.insert(dst(pos), pos);
            }
        }
    }
    if let Some((a, b)) = first {
        let (a, b) = (&disks[order[a]], &disks[order[b]]);
        return Err(xml_err(format!(
            "domain '{dom}': target '{}' duplicated for disk sources '{}' and '{}'",
            a.dst.as_deref().unwrap_or(""),
            a.path.as_deref().unwrap_or("<null>"),
            b.path.as_deref().unwrap_or("<null>"),
        )));
    }
    Ok(())
}
