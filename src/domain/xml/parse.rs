//! Reading a domain document as libvirt 9.0's generic parser does, for the fields virtcore
//! models: `virDomainDefParseIDs`, `virDomainLeaseDefParseXML`, every `<disk>` (read and
//! validated in `disk`) and `virDomainDiskInsert`'s order.

use std::borrow::Cow;
use std::ffi::{c_int, c_uint};
use std::ops::Range;

use smallvec::SmallVec;

use super::disk::*;
use super::doc::Doc;
use super::model::*;
use super::*;
use crate::domain::error::xml_err;
use crate::domain::types::*;
use crate::error::{virErrorNumber, Error};
use crate::ffi::malloc_cstring;

use virErrorNumber::*;

/// An element of the document being read (an index into `Doc::nodes`).
pub(super) type Node = u32;

pub(super) struct Ctx<'d, 'a> {
    pub doc: &'d Doc<'a>,
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

    /// The unprefixed attribute `name` of element `n`.
    pub fn attr(&self, n: Node, name: &str) -> Option<(Attr, Cow<'a, str>)> {
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
    pub fn elem(&self, i: Node) -> Elem {
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
        let b = raw.as_bytes();
        // (memchr's vector search costs more than a byte loop on a short name.)
        let special = if b.len() < 16 {
            b.iter().any(|&c| matches!(c, b'&' | b'\r' | b'<'))
        } else {
            memchr::memchr3(b'&', b'\r', b'<', b).is_some()
        };
        if !special {
            return (TextElem { elem, cooked: None }, Cow::Borrowed(raw));
        }
        let value = self.doc.string_value(n);
        let cooked = (raw != value).then(|| value.as_ref().into());
        (TextElem { elem, cooked }, value)
    }

    /// The local name of element `c` when it is in no namespace (what libvirt's XPath
    /// names match), as bytes: compared without `str` slicing's boundary checks.
    fn local_name(&self, c: Node) -> Option<&'a [u8]> {
        let r = self.doc.node(c);
        let text: &'a str = self.doc.text;
        r.ns_none
            .then(|| &text.as_bytes()[r.local_start as usize..r.name_end as usize])
    }

    /// The first child element (in no namespace) of each of `N` kinds, in one pass:
    /// `kind` tells which a local name is (a `match` on the names, which compiles to a
    /// length switch and a compare or two).
    pub fn children_first<const N: usize>(
        &self,
        n: Node,
        kind: impl Fn(&[u8]) -> Option<usize>,
    ) -> [Option<Node>; N] {
        let mut out = [None; N];
        for c in self.doc.children(n) {
            if let Some(k) = self.local_name(c).and_then(&kind) {
                out[k].get_or_insert(c);
            }
        }
        out
    }
}

pub(super) fn enum_index(table: &[&str], v: &str) -> Option<c_int> {
    // (A byte loop: the table's words are short, a memcmp call per entry costs more.)
    let v = v.as_bytes();
    table
        .iter()
        .position(|t| super::check::eq_short(t.as_bytes(), v))
        .map(|i| i as c_int)
}

/// libvirt's `virXMLPropEnum` error.
pub(super) fn bad_attr(dom: &str, attr: &str, el: &str, v: &str) -> Error {
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
    // (Leases are rare: a lookup per child element read.)
    let doc = cx.doc;
    let (key, lockspace, target) = (
        doc.child(n, "key"),
        doc.child(n, "lockspace"),
        doc.child(n, "target"),
    );
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

pub(super) fn err(code: virErrorNumber, msg: impl Into<String>) -> Error {
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
        let in_ns = if root_rec.ns_none {
            ""
        } else {
            " in a namespace"
        };
        return Err(xml_err(format!(
            "expecting root element of 'domain', not '{}'{in_ns}",
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
    // Everything read from <domain>'s children, found in one pass over them.
    let mut name_node = None;
    let mut uuid_node = None;
    let mut events_end = None;
    let mut olf_node = None;
    // Every <devices> (nearly always one).
    let mut devices_all: SmallVec<[Node; 2]> = SmallVec::new();
    for c in doc.children(root) {
        match cx.local_name(c) {
            Some(b"name") => _ = name_node.get_or_insert(c),
            Some(b"uuid") => _ = uuid_node.get_or_insert(c),
            Some(b"on_poweroff" | b"on_reboot" | b"on_crash") => {
                events_end = Some(cx.rel(doc.range(c)).end as u32)
            }
            Some(b"on_lockfailure") => _ = olf_node.get_or_insert(c),
            Some(b"devices") => devices_all.push(c),
            _ => {}
        }
    }
    let (name_el, name) = match name_node.map(|n| cx.text_elem(n)) {
        Some((e, v)) if !v.is_empty() => (e, v),
        _ => return Err(err(VIR_ERR_NO_NAME, "missing name information")),
    };
    let uuid_el = uuid_node.map(|n| cx.text_elem(n));
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
    let olf = olf_node.map(|n| cx.text_elem(n));
    let on_lockfailure_val = match &olf {
        Some((_, v)) if !v.is_empty() => enum_index(LOCK_FAILURE_ACTIONS, v).ok_or_else(|| {
            err(
                VIR_ERR_CONFIG_UNSUPPORTED,
                format!("domain '{name}': unknown on_lockfailure action: {v}"),
            )
        })?,
        _ => 0,
    };
    // Devices: every <disk> of every <devices>, then every <lease> (libvirt's XPath). The
    // usual few disks stay on the stack; leases are rare, and looked for again only when
    // the pass over the disks saw one.
    let mut disks_v: SmallVec<[DiskVals; 4]> = SmallVec::new();
    let mut disks_o: SmallVec<[DiskOrig; 4]> = SmallVec::new();
    let mut has_leases = false;
    for &dn in &devices_all {
        for n in doc.children(dn) {
            match cx.local_name(n) {
                Some(b"disk") => {
                    scan_disk(&cx, n, &name, &mut disks_v, &mut disks_o)?;
                }
                Some(b"lease") => has_leases = true,
                _ => {}
            }
        }
    }
    let mut leases_v = Vec::new();
    let mut leases_o = Vec::new();
    for &dn in devices_all.iter().filter(|_| has_leases) {
        for n in doc.children_named(dn, "lease") {
            let (v, o) = scan_lease(&cx, n, &name)?;
            leases_v.push(v);
            leases_o.push(o);
        }
    }
    let order: DiskOrder = if disks_v.len() <= 1 {
        let mut one = DiskOrder::new();
        if disks_v.len() == 1 {
            one.push(0);
        }
        one
    } else {
        let keys: SmallVec<[_; 8]> = disks_v.iter().map(|d| d.key).collect();
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
        devices: devices_all.last().map(|&d| cx.elem(d)),
        disks: &disks_o,
        leases: &leases_o,
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
