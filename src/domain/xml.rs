//! Domain XML in libvirt's format.
//!
//! Parsing uses roxmltree and fills the C-visible fields of [`virDomainDef`]. The `<domain>`
//! element's text is kept verbatim (one copy) together with the byte ranges of every field
//! virtcore models. Formatting patches that text: a field whose current value (possibly
//! written by C code) differs from the parsed one is rewritten in place, inserted or removed;
//! everything else comes back byte for byte. Disks and leases are matched by pointer: one C
//! code removed from `def->disks` disappears from the document, a new one is appended after
//! the last original one.

use std::ffi::{c_int, c_uint};
use std::fmt::Write as _;
use std::ops::Range;

use roxmltree::{Document, Node, ParsingOptions};

use super::error::{arg_err, internal, xml_err};
use super::types::*;
use crate::error::Error;
use crate::ffi::malloc_cstring;

/// Parse internal status information (libvirt's `virDomainDefParseFlags`).
pub const VIR_DOMAIN_DEF_PARSE_STATUS: c_uint = 1 << 0;
/// Parse as an inactive definition: the `id` attribute is ignored (id stays -1).
pub const VIR_DOMAIN_DEF_PARSE_INACTIVE: c_uint = 1 << 1;
pub const VIR_DOMAIN_DEF_PARSE_ACTUAL_NET: c_uint = 1 << 2;
pub const VIR_DOMAIN_DEF_PARSE_PCI_ORIG_STATES: c_uint = 1 << 3;
pub const VIR_DOMAIN_DEF_PARSE_ALLOW_ROM: c_uint = 1 << 4;
pub const VIR_DOMAIN_DEF_PARSE_ALLOW_BOOT: c_uint = 1 << 5;
pub const VIR_DOMAIN_DEF_PARSE_VALIDATE_SCHEMA: c_uint = 1 << 6;
pub const VIR_DOMAIN_DEF_PARSE_ABI_UPDATE: c_uint = 1 << 7;
pub const VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE: c_uint = 1 << 8;
pub const VIR_DOMAIN_DEF_PARSE_SKIP_SECLABEL: c_uint = 1 << 9;
pub const VIR_DOMAIN_DEF_PARSE_ABI_UPDATE_MIGRATION: c_uint = 1 << 10;
pub const VIR_DOMAIN_DEF_PARSE_ALLOW_POST_PARSE_FAIL: c_uint = 1 << 11;
pub(crate) const PARSE_FLAGS_ALL: c_uint = (1 << 12) - 1;

/// libvirt's `virDomainDefFormatFlags`.
pub const VIR_DOMAIN_DEF_FORMAT_SECURE: c_uint = 1 << 0;
/// Format the inactive definition: no `id` attribute.
pub const VIR_DOMAIN_DEF_FORMAT_INACTIVE: c_uint = 1 << 1;
pub const VIR_DOMAIN_DEF_FORMAT_MIGRATABLE: c_uint = 1 << 2;
pub const VIR_DOMAIN_DEF_FORMAT_STATUS: c_uint = 1 << 3;
pub const VIR_DOMAIN_DEF_FORMAT_ACTUAL_NET: c_uint = 1 << 4;
pub const VIR_DOMAIN_DEF_FORMAT_PCI_ORIG_STATES: c_uint = 1 << 5;
pub const VIR_DOMAIN_DEF_FORMAT_ALLOW_ROM: c_uint = 1 << 6;
pub const VIR_DOMAIN_DEF_FORMAT_ALLOW_BOOT: c_uint = 1 << 7;
pub const VIR_DOMAIN_DEF_FORMAT_CLOCK_ADJUST: c_uint = 1 << 8;
pub(crate) const FORMAT_FLAGS_ALL: c_uint = (1 << 9) - 1;

/// Longest accepted domain name in bytes, so that `NAME.xml` fits in a file name.
pub const VIRTCORE_DOMAIN_NAME_MAX: usize = 251;

/// Byte ranges of one attribute (relative to the kept `<domain>` text).
#[derive(Clone)]
struct Attr {
    whole: Range<usize>,
    value: Range<usize>,
}

/// An element, with the whitespace that precedes it (removed along with it).
#[derive(Clone)]
struct Elem {
    ws_start: usize,
    range: Range<usize>,
}

/// Where children can be added to an element.
#[derive(Clone)]
struct Container {
    /// End of the last child element (or of the start tag).
    last_child_end: usize,
    /// Whitespace before the first child element, reused for new children.
    child_ws: String,
}

struct DiskOrig {
    elem: Elem,
    tag_end: usize,
    cont: Container,
    type_attr: Option<Attr>,
    type_val: c_int,
    device_attr: Option<Attr>,
    device_val: c_int,
    /// `<source>`: end of its tag name, and the path attribute with its name.
    source: Option<(usize, Option<(Attr, &'static str)>)>,
    target_attr_end: usize,
    dev: Attr,
    bus: Option<Attr>,
    bus_val: c_int,
    readonly: Option<Elem>,
    shareable: Option<Elem>,
}

struct LeaseOrig {
    elem: Elem,
    cont: Container,
    lockspace: Option<Elem>,
    key: Option<Elem>,
    target: Option<usize>,
    path: Option<Attr>,
    offset: Option<Attr>,
    offset_val: u64,
}

/// Where the modelled fields are in a `<domain>` text. Recomputed from the kept text
/// when formatting (a parse costs microseconds), so a domain keeps only its text.
struct Layout {
    root_tag_end: usize,
    root: Container,
    type_attr: Option<Attr>,
    virt_type: c_int,
    id_attr: Option<Attr>,
    name: Elem,
    uuid: Option<Elem>,
    devices: Option<(Elem, Container)>,
    disks: Vec<DiskOrig>,
    leases: Vec<LeaseOrig>,
}

/// The private part of a parsed definition: the `<domain>` text, and which C disk and
/// lease came from each `<disk>` and `<lease>` of it (in document order).
pub(crate) struct DefPrivate {
    xml: Box<str>,
    disks: Box<[*mut virDomainDiskDef]>,
    leases: Box<[*mut virDomainLeaseDef]>,
}

/// Frees the private part of a definition (called by `def_free`).
///
/// # Safety
/// `p` is NULL or was produced by [`parse`] and not freed yet.
pub(crate) unsafe fn free_private(p: *mut std::ffi::c_void) {
    if !p.is_null() {
        drop(Box::from_raw(p.cast::<DefPrivate>()));
    }
}

struct Ctx<'a> {
    base: usize,
    text: &'a str,
}

impl Ctx<'_> {
    fn rel(&self, r: Range<usize>) -> Range<usize> {
        r.start - self.base..r.end - self.base
    }
    fn attr<'n>(&self, n: Node<'n, '_>, name: &str) -> Option<(Attr, &'n str)> {
        n.attributes()
            .find(|a| a.name() == name && a.namespace().is_none())
            .map(|a| {
                (
                    Attr {
                        whole: self.rel(a.range()),
                        value: self.rel(a.range_value()),
                    },
                    a.value(),
                )
            })
    }
    fn tag_end(&self, n: Node) -> usize {
        n.range().start - self.base + 1 + n.tag_name().name().len()
    }
    fn attr_end(&self, n: Node) -> usize {
        n.attributes()
            .next_back()
            .map(|a| self.rel(a.range()).end)
            .unwrap_or_else(|| self.tag_end(n))
    }
    fn elem(&self, n: Node) -> Elem {
        let range = self.rel(n.range());
        let ws_start = match n.prev_sibling() {
            Some(p) if p.is_text() && p.text().is_some_and(|t| t.trim().is_empty()) => {
                self.rel(p.range()).start
            }
            _ => range.start,
        };
        Elem { ws_start, range }
    }
    fn container(&self, n: Node, indent: &str) -> Container {
        let first_el = n.children().find(|c| c.is_element());
        let child_ws = match first_el.and_then(|f| f.prev_sibling()) {
            Some(p) if p.is_text() && p.text().is_some_and(|t| t.trim().is_empty()) => {
                self.text[p.range()].to_string()
            }
            _ => format!("\n{indent}  "),
        };
        let last_child_end = match n.children().rev().find(|c| c.is_element()) {
            Some(c) => self.rel(c.range()).end,
            None => match n.first_child() {
                Some(c) => self.rel(c.range()).start,
                None => {
                    // `<x></x>`: just before the end tag.
                    let r = self.rel(n.range());
                    let full = &self.text[n.range()];
                    r.start + full.rfind('<').unwrap_or(full.len())
                }
            },
        };
        Container {
            last_child_end,
            child_ws,
        }
    }
}

/// The indentation (spaces after the last newline) before an element.
fn indent_of<'a>(x: &'a str, e: &Elem) -> &'a str {
    let ws = &x[e.ws_start..e.range.start];
    match ws.rfind('\n') {
        Some(i) => &ws[i + 1..],
        None => "",
    }
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| {
        c.is_element() && c.tag_name().name() == name && c.tag_name().namespace().is_none()
    })
}

fn text_of<'a>(n: Node<'a, '_>) -> String {
    n.children()
        .filter_map(|c| if c.is_text() { c.text() } else { None })
        .collect()
}

fn enum_index(table: &[&str], v: &str) -> Option<c_int> {
    table.iter().position(|t| *t == v).map(|i| i as c_int)
}

/// Checks a domain name: present, no '/', not too long.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(xml_err("missing name information"));
    }
    if name.contains('/') {
        return Err(xml_err(format!("name {name} cannot contain '/'")));
    }
    if name.len() > VIRTCORE_DOMAIN_NAME_MAX {
        return Err(xml_err(format!(
            "domain name '{}...' is too long ({} bytes, at most {VIRTCORE_DOMAIN_NAME_MAX})",
            name.chars().take(32).collect::<String>(),
            name.len()
        )));
    }
    Ok(())
}

/// Parsed values of one `<disk>`.
struct DiskVals {
    ty: c_int,
    device: c_int,
    bus: c_int,
    path: Option<String>,
    dst: String,
    readonly: bool,
    shared: bool,
}

/// Parsed values of one `<lease>`.
struct LeaseVals {
    lockspace: Option<String>,
    key: String,
    path: String,
    offset: u64,
}

/// What a scan of a domain document found: where the `<domain>` element is, where the
/// modelled fields are in it, and their values.
struct Scan {
    root: Range<usize>,
    layout: Layout,
    name: String,
    id: Option<c_int>,
    uuid: Option<[u8; VIR_UUID_BUFLEN]>,
    disks: Vec<DiskVals>,
    leases: Vec<LeaseVals>,
}

/// Parses `text` and locates every modelled field (positions relative to `<domain`).
fn scan(text: &str) -> Result<Scan, Error> {
    let opts = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| {
        let p = e.pos();
        xml_err(format!(
            "malformed domain XML at line {}, column {}: {e}",
            p.row, p.col
        ))
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "domain" || root.tag_name().namespace().is_some() {
        return Err(xml_err(format!(
            "expecting root element of 'domain', not '{}'",
            root.tag_name().name()
        )));
    }
    let cx = Ctx {
        base: root.range().start,
        text,
    };
    let (type_attr, virt_type) = match cx.attr(root, "type") {
        Some((a, v)) => match enum_index(VIRT_TYPES, v) {
            Some(t) => (Some(a), t),
            None => return Err(xml_err(format!("invalid domain type {v}"))),
        },
        None => return Err(xml_err("missing domain type attribute")),
    };
    let id_attr = cx.attr(root, "id");
    let id = match &id_attr {
        Some((_, v)) => Some(v.trim().parse::<c_int>().map_err(|_| {
            xml_err(format!(
                "Invalid value for attribute 'id' in element 'domain': '{v}'. Expected integer value"
            ))
        })?),
        None => None,
    };
    let name_node = child(root, "name").ok_or_else(|| xml_err("missing name information"))?;
    let name = text_of(name_node);
    check_name(&name)?;
    let uuid_node = child(root, "uuid");
    let uuid =
        match uuid_node {
            Some(n) => {
                let t = text_of(n);
                Some(uuid_parse(&t).ok_or_else(|| {
                    xml_err(format!("domain '{name}': malformed uuid element '{t}'"))
                })?)
            }
            None => None,
        };
    let mut disks = Vec::new();
    let mut leases = Vec::new();
    let mut disks_o = Vec::new();
    let mut leases_o = Vec::new();
    let devices = match child(root, "devices") {
        Some(dn) => {
            let de = cx.elem(dn);
            let ind = indent_of(&text[cx.base..], &de).to_string();
            for n in dn
                .children()
                .filter(|c| c.is_element() && c.tag_name().namespace().is_none())
            {
                match n.tag_name().name() {
                    "disk" => {
                        let (v, o) = scan_disk(&cx, n, &name)?;
                        disks.push(v);
                        disks_o.push(o);
                    }
                    "lease" => {
                        let (v, o) = scan_lease(&cx, n, &name)?;
                        leases.push(v);
                        leases_o.push(o);
                    }
                    _ => {}
                }
            }
            Some((de.clone(), cx.container(dn, &ind)))
        }
        None => None,
    };
    let layout = Layout {
        root_tag_end: cx.tag_end(root),
        root: cx.container(root, ""),
        type_attr,
        virt_type,
        id_attr: id_attr.map(|(a, _)| a),
        name: cx.elem(name_node),
        uuid: uuid_node.map(|n| cx.elem(n)),
        devices,
        disks: disks_o,
        leases: leases_o,
    };
    Ok(Scan {
        root: root.range(),
        layout,
        name,
        id,
        uuid,
        disks,
        leases,
    })
}

/// Parses a domain document (libvirt's `virDomainDefParseString`).
pub fn parse(text: &str, flags: c_uint) -> Result<*mut virDomainDef, Error> {
    let sc = scan(text)?;
    let owned = OwnedDef(def_new());
    let def = owned.0;
    let disks: Vec<*mut virDomainDiskDef> = sc
        .disks
        .iter()
        .map(|v| {
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
                (*disk).dst = malloc_cstring(&v.dst);
            }
            disk
        })
        .collect();
    let leases: Vec<*mut virDomainLeaseDef> = sc
        .leases
        .iter()
        .map(|v| {
            let l = c_calloc::<virDomainLeaseDef>();
            unsafe {
                (*l).lockspace = v
                    .lockspace
                    .as_deref()
                    .map_or(std::ptr::null_mut(), malloc_cstring);
                (*l).key = malloc_cstring(&v.key);
                (*l).path = malloc_cstring(&v.path);
                (*l).offset = v.offset;
            }
            l
        })
        .collect();
    unsafe {
        (*def).virtType = sc.layout.virt_type;
        (*def).id = match sc.id {
            Some(id) if flags & VIR_DOMAIN_DEF_PARSE_INACTIVE == 0 => id,
            _ => -1,
        };
        (*def).uuid = sc.uuid.unwrap_or_else(uuid_generate);
        (*def).name = malloc_cstring(&sc.name);
        (*def).ndisks = disks.len();
        (*def).disks = c_array(&disks);
        (*def).nleases = leases.len();
        (*def).leases = c_array(&leases);
        let private = DefPrivate {
            xml: text[sc.root.clone()].into(),
            disks: disks.into_boxed_slice(),
            leases: leases.into_boxed_slice(),
        };
        (*def).virtcorePrivate = Box::into_raw(Box::new(private)).cast();
    }
    Ok(owned.into_raw())
}

fn scan_disk(cx: &Ctx, n: Node, dom: &str) -> Result<(DiskVals, DiskOrig), Error> {
    let type_attr = cx.attr(n, "type");
    let ty = match &type_attr {
        Some((_, v)) => match enum_index(STORAGE_TYPES, v) {
            Some(t) if t > 0 => t,
            _ => return Err(xml_err(format!("domain '{dom}': unknown disk type '{v}'"))),
        },
        None => VIR_STORAGE_TYPE_FILE,
    };
    let device_attr = cx.attr(n, "device");
    let device = match &device_attr {
        Some((_, v)) => enum_index(DISK_DEVICES, v)
            .ok_or_else(|| xml_err(format!("domain '{dom}': unknown disk device '{v}'")))?,
        None => VIR_DOMAIN_DISK_DEVICE_DISK,
    };
    let target = child(n, "target")
        .ok_or_else(|| xml_err(format!("domain '{dom}': disk without <target>")))?;
    let (dev_attr, dst) = cx
        .attr(target, "dev")
        .ok_or_else(|| xml_err(format!("domain '{dom}': disk <target> without 'dev'")))?;
    if dst.is_empty() {
        return Err(xml_err(format!(
            "domain '{dom}': disk <target> with empty 'dev'"
        )));
    }
    let bus_attr = cx.attr(target, "bus");
    let bus = match &bus_attr {
        Some((_, v)) => enum_index(DISK_BUSES, v).ok_or_else(|| {
            xml_err(format!(
                "domain '{dom}': disk '{dst}': unknown disk bus type '{v}'"
            ))
        })?,
        None => VIR_DOMAIN_DISK_BUS_NONE,
    };
    let source = child(n, "source");
    let mut path = None;
    let source_pos = source.map(|s| {
        let a = source_attr(ty).and_then(|an| {
            cx.attr(s, an).map(|(a, v)| {
                path = Some(v.to_string());
                (a, an)
            })
        });
        (cx.tag_end(s), a)
    });
    let readonly = child(n, "readonly");
    let shareable = child(n, "shareable");
    let vals = DiskVals {
        ty,
        device,
        bus,
        path,
        dst: dst.to_string(),
        readonly: readonly.is_some(),
        shared: shareable.is_some(),
    };
    let elem = cx.elem(n);
    let ind = indent_of(&cx.text[cx.base..], &elem).to_string();
    let orig = DiskOrig {
        tag_end: cx.tag_end(n),
        cont: cx.container(n, &ind),
        elem,
        type_attr: type_attr.map(|(a, _)| a),
        type_val: ty,
        device_attr: device_attr.map(|(a, _)| a),
        device_val: device,
        source: source_pos,
        target_attr_end: cx.attr_end(target),
        dev: dev_attr,
        bus: bus_attr.map(|(a, _)| a),
        bus_val: bus,
        readonly: readonly.map(|r| cx.elem(r)),
        shareable: shareable.map(|r| cx.elem(r)),
    };
    Ok((vals, orig))
}

fn scan_lease(cx: &Ctx, n: Node, dom: &str) -> Result<(LeaseVals, LeaseOrig), Error> {
    let lockspace = child(n, "lockspace");
    let key = child(n, "key")
        .ok_or_else(|| xml_err(format!("domain '{dom}': missing 'key' element for lease")))?;
    let target = child(n, "target").ok_or_else(|| {
        xml_err(format!(
            "domain '{dom}': missing 'target' element for lease"
        ))
    })?;
    let (path_attr, path) = cx
        .attr(target, "path")
        .ok_or_else(|| xml_err(format!("domain '{dom}': missing 'path' of lease target")))?;
    let offset_attr = cx.attr(target, "offset");
    let offset = match &offset_attr {
        Some((_, v)) => v.trim().parse::<u64>().map_err(|_| {
            xml_err(format!(
                "domain '{dom}': malformed lease target offset '{v}'"
            ))
        })?,
        None => 0,
    };
    let vals = LeaseVals {
        lockspace: lockspace.map(text_of),
        key: text_of(key),
        path: path.to_string(),
        offset,
    };
    let elem = cx.elem(n);
    let ind = indent_of(&cx.text[cx.base..], &elem).to_string();
    let orig = LeaseOrig {
        cont: cx.container(n, &ind),
        elem,
        lockspace: lockspace.map(|n| cx.elem(n)),
        key: Some(cx.elem(key)),
        target: Some(cx.attr_end(target)),
        path: Some(path_attr),
        offset: offset_attr.map(|(a, _)| a),
        offset_val: offset,
    };
    Ok((vals, orig))
}

// ---------------------------------------------------------------------------------------
// Formatting

/// Escapes text for element content or a quoted attribute value, as libvirt does.
pub(crate) fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\'' => o.push_str("&apos;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// Resolves the predefined and numeric entities of raw XML text.
fn unescape(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('&') {
        return raw.into();
    }
    let mut o = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        o.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let ent = &rest[1..end];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => o.push(c),
            None => o.push_str(&rest[..=end]),
        }
        rest = &rest[end + 1..];
    }
    o.push_str(rest);
    o.into()
}

/// The raw text between an element's start and end tags (None for `<x/>`).
fn inner(x: &str, e: &Elem) -> Option<Range<usize>> {
    let s = &x[e.range.clone()];
    if s.ends_with("/>") && s.rfind('<') == Some(0) {
        return None;
    }
    let open = s.find('>')? + 1;
    let close = s.rfind('<')?;
    (open <= close).then(|| e.range.start + open..e.range.start + close)
}

struct Edits {
    list: Vec<(Range<usize>, String)>,
}

impl Edits {
    fn replace(&mut self, r: Range<usize>, s: String) {
        self.list.push((r, s));
    }
    fn insert(&mut self, at: usize, s: String) {
        self.list.push((at..at, s));
    }
    fn remove(&mut self, r: Range<usize>) {
        self.list.push((r, String::new()));
    }
    /// Removes an attribute with the blanks before it.
    fn remove_attr(&mut self, x: &str, a: &Attr) {
        let start = x[..a.whole.start].trim_end().len();
        self.remove(start..a.whole.end);
    }
    fn remove_elem(&mut self, e: &Elem) {
        self.remove(e.ws_start..e.range.end);
    }
    fn apply(mut self, x: &str) -> Result<String, Error> {
        self.list.sort_by_key(|(r, _)| r.start);
        let mut out = String::with_capacity(x.len() + 64);
        let mut at = 0;
        for (r, s) in &self.list {
            if r.start < at {
                return Err(internal(
                    "conflicting changes while formatting the domain XML",
                ));
            }
            out.push_str(&x[at..r.start]);
            out.push_str(s);
            at = r.end;
        }
        out.push_str(&x[at..]);
        Ok(out)
    }
}

/// Sets an attribute: replaces the value, removes it (None) or inserts it at `insert_at`.
fn set_attr(
    ed: &mut Edits,
    x: &str,
    a: Option<&Attr>,
    insert_at: usize,
    name: &str,
    new: Option<&str>,
) {
    let cur = a.map(|a| unescape(&x[a.value.clone()]));
    if cur.as_deref() == new {
        return;
    }
    match (a, new) {
        (Some(a), Some(v)) => ed.replace(a.value.clone(), escape(v)),
        (Some(a), None) => ed.remove_attr(x, a),
        (None, Some(v)) => ed.insert(insert_at, format!(" {name}='{}'", escape(v))),
        (None, None) => {}
    }
}

/// Sets a text child element: replaces its content, removes it, or adds it to `cont`.
fn set_text(
    ed: &mut Edits,
    x: &str,
    e: Option<&Elem>,
    cont: &Container,
    tag: &str,
    new: Option<&str>,
) {
    let cur = e.map(|e| {
        inner(x, e)
            .map(|r| unescape(&x[r]).into_owned())
            .unwrap_or_default()
    });
    if cur.as_deref() == new {
        return;
    }
    match (e, new) {
        (Some(e), Some(v)) => match inner(x, e) {
            Some(r) => ed.replace(r, escape(v)),
            None => ed.replace(e.range.clone(), format!("<{tag}>{}</{tag}>", escape(v))),
        },
        (Some(e), None) => ed.remove_elem(e),
        (None, Some(v)) => ed.insert(
            cont.last_child_end,
            format!("{}<{tag}>{}</{tag}>", cont.child_ws, escape(v)),
        ),
        (None, None) => {}
    }
}

fn table_name(
    table: &'static [&'static str],
    v: c_int,
    what: &str,
    owner: &str,
) -> Result<&'static str, Error> {
    usize::try_from(v)
        .ok()
        .and_then(|i| table.get(i).copied())
        .ok_or_else(|| arg_err(format!("{owner}: invalid {what} {v}")))
}

/// Formats a definition (libvirt's `virDomainDefFormat`), ending with a newline.
///
/// # Safety
/// `def` is a valid definition.
pub unsafe fn format(def: *const virDomainDef, flags: c_uint) -> Result<String, Error> {
    let name = cstr((*def).name).ok_or_else(|| arg_err("domain definition has no name"))?;
    let owner = format!("domain '{name}'");
    let want_id =
        (flags & VIR_DOMAIN_DEF_FORMAT_INACTIVE == 0 && (*def).id != -1).then_some((*def).id);
    let p = (*def).virtcorePrivate as *const DefPrivate;
    if p.is_null() {
        return format_fresh(def, &name, want_id, &owner);
    }
    let p = &*p;
    let x: &str = &p.xml;
    let sc = scan(x).map_err(|e| {
        internal(format!(
            "{owner}: the kept document no longer parses: {}",
            e.message
        ))
    })?;
    let lay = &sc.layout;
    let mut ed = Edits { list: Vec::new() };

    if (*def).virtType != lay.virt_type {
        let t = table_name(VIRT_TYPES, (*def).virtType, "domain type", &owner)?;
        set_attr(
            &mut ed,
            x,
            lay.type_attr.as_ref(),
            lay.root_tag_end,
            "type",
            Some(t),
        );
    }
    let id_at = lay
        .type_attr
        .as_ref()
        .map_or(lay.root_tag_end, |a| a.whole.end);
    let id_s = want_id.map(|i| i.to_string());
    match (&lay.id_attr, &id_s) {
        (Some(a), Some(v)) if x[a.value.clone()].trim() == v => {}
        _ => set_attr(
            &mut ed,
            x,
            lay.id_attr.as_ref(),
            id_at,
            "id",
            id_s.as_deref(),
        ),
    }
    set_text(&mut ed, x, Some(&lay.name), &lay.root, "name", Some(&name));
    let uuid = uuid_format(&(*def).uuid);
    match &lay.uuid {
        Some(e) => {
            if Some((*def).uuid) != sc.uuid {
                set_text(&mut ed, x, Some(e), &lay.root, "uuid", Some(&uuid));
            }
        }
        None => {
            let ws = &x[lay.name.ws_start..lay.name.range.start];
            let ws = if ws.is_empty() { "\n  " } else { ws };
            ed.insert(lay.name.range.end, format!("{ws}<uuid>{uuid}</uuid>"));
        }
    }

    // Disks and leases: patch the original ones still present, drop the others, append new.
    let cur_disks = disks(def);
    let cur_leases = leases(def);
    let dev_indent = lay
        .devices
        .as_ref()
        .map(|(e, _)| indent_of(x, e).to_string())
        .unwrap_or_else(|| "  ".into());
    let item_ws = lay
        .devices
        .as_ref()
        .map(|(_, c)| c.child_ws.clone())
        .unwrap_or_else(|| format!("\n{dev_indent}  "));
    let item_indent = item_ws.rsplit('\n').next().unwrap_or("").to_string();
    let mut last_disk_end = None;
    for (o, &ptr) in lay.disks.iter().zip(p.disks.iter()) {
        if cur_disks.contains(&ptr) {
            patch_disk(&mut ed, x, o, ptr, &owner)?;
        } else {
            ed.remove_elem(&o.elem);
        }
        last_disk_end = Some(o.elem.range.end);
    }
    let mut new_items = String::new();
    for &d in cur_disks.iter().filter(|d| !p.disks.contains(d)) {
        new_items.push_str(&item_ws);
        new_items.push_str(&disk_xml(d, &item_indent, &owner)?);
    }
    let devices_end = lay.devices.as_ref().map(|(_, c)| c.last_child_end);
    let mut pending_devices = String::new();
    if !new_items.is_empty() {
        match last_disk_end.or(devices_end) {
            Some(at) => ed.insert(at, std::mem::take(&mut new_items)),
            None => pending_devices.push_str(&new_items),
        }
    }
    let mut last_lease_end = None;
    for (o, &ptr) in lay.leases.iter().zip(p.leases.iter()) {
        if cur_leases.contains(&ptr) {
            patch_lease(&mut ed, x, o, ptr)?;
        } else {
            ed.remove_elem(&o.elem);
        }
        last_lease_end = Some(o.elem.range.end);
    }
    let mut new_leases = String::new();
    for &l in cur_leases.iter().filter(|l| !p.leases.contains(l)) {
        new_leases.push_str(&item_ws);
        new_leases.push_str(&lease_xml(l, &item_indent, &owner)?);
    }
    if !new_leases.is_empty() {
        match last_lease_end.or(devices_end) {
            Some(at) => ed.insert(at, new_leases),
            None => pending_devices.push_str(&new_leases),
        }
    }
    if !pending_devices.is_empty() {
        ed.insert(
            lay.root.last_child_end,
            format!(
                "{ws}<devices>{pending_devices}{ws}</devices>",
                ws = lay.root.child_ws
            ),
        );
    }
    let mut out = ed.apply(x)?;
    out.push('\n');
    Ok(out)
}

unsafe fn patch_disk(
    ed: &mut Edits,
    x: &str,
    o: &DiskOrig,
    d: *mut virDomainDiskDef,
    owner: &str,
) -> Result<(), Error> {
    let src = (*d).src;
    let (ty, path, ro, sh) = if src.is_null() {
        (VIR_STORAGE_TYPE_NONE, None, false, false)
    } else {
        (
            (*src).type_,
            cstr((*src).path),
            (*src).readonly,
            (*src).shared,
        )
    };
    let dst = cstr((*d).dst).ok_or_else(|| arg_err(format!("{owner}: a disk has no target")))?;
    let downer = format!("{owner}: disk '{dst}'");
    if ty != o.type_val {
        let t = table_name(STORAGE_TYPES, ty, "storage type", &downer)?;
        set_attr(ed, x, o.type_attr.as_ref(), o.tag_end, "type", Some(t));
    }
    if (*d).device != o.device_val {
        let v = table_name(DISK_DEVICES, (*d).device, "disk device", &downer)?;
        let at = o.type_attr.as_ref().map_or(o.tag_end, |a| a.whole.end);
        set_attr(ed, x, o.device_attr.as_ref(), at, "device", Some(v));
    }
    let want_attr = source_attr(ty);
    let want_path = want_attr.and(path.as_deref());
    match &o.source {
        Some((src_tag_end, cur)) => match (cur, want_path) {
            (Some((a, an)), Some(v)) if Some(*an) == want_attr => {
                set_attr(ed, x, Some(a), *src_tag_end, an, Some(v))
            }
            (Some((a, _)), Some(v)) => ed.replace(
                a.whole.clone(),
                format!("{}='{}'", want_attr.unwrap_or("file"), escape(v)),
            ),
            (Some((a, _)), None) => ed.remove_attr(x, a),
            (None, Some(v)) => ed.insert(
                *src_tag_end,
                format!(" {}='{}'", want_attr.unwrap_or("file"), escape(v)),
            ),
            (None, None) => {}
        },
        None => {
            if let (Some(an), Some(v)) = (want_attr, want_path) {
                ed.insert(
                    o.cont.last_child_end,
                    format!("{}<source {an}='{}'/>", o.cont.child_ws, escape(v)),
                );
            }
        }
    }
    set_attr(ed, x, Some(&o.dev), o.target_attr_end, "dev", Some(&dst));
    if (*d).bus != o.bus_val {
        let b = table_name(DISK_BUSES, (*d).bus, "disk bus", &downer)?;
        let new = ((*d).bus != VIR_DOMAIN_DISK_BUS_NONE).then_some(b);
        set_attr(ed, x, o.bus.as_ref(), o.target_attr_end, "bus", new);
    }
    for (want, have, tag) in [
        (ro, &o.readonly, "readonly"),
        (sh, &o.shareable, "shareable"),
    ] {
        match (want, have) {
            (true, None) => ed.insert(
                o.cont.last_child_end,
                format!("{}<{tag}/>", o.cont.child_ws),
            ),
            (false, Some(e)) => ed.remove_elem(e),
            _ => {}
        }
    }
    Ok(())
}

unsafe fn patch_lease(
    ed: &mut Edits,
    x: &str,
    o: &LeaseOrig,
    l: *mut virDomainLeaseDef,
) -> Result<(), Error> {
    set_text(
        ed,
        x,
        o.lockspace.as_ref(),
        &o.cont,
        "lockspace",
        cstr((*l).lockspace).as_deref(),
    );
    set_text(
        ed,
        x,
        o.key.as_ref(),
        &o.cont,
        "key",
        cstr((*l).key).as_deref(),
    );
    let path = cstr((*l).path);
    match o.target {
        Some(at) => {
            set_attr(ed, x, o.path.as_ref(), at, "path", path.as_deref());
            if (*l).offset != o.offset_val {
                let v = ((*l).offset != 0).then(|| (*l).offset.to_string());
                set_attr(ed, x, o.offset.as_ref(), at, "offset", v.as_deref());
            }
        }
        None => {
            if let Some(p) = path {
                ed.insert(
                    o.cont.last_child_end,
                    format!("{}{}", o.cont.child_ws, lease_target(&p, (*l).offset)),
                );
            }
        }
    }
    Ok(())
}

fn lease_target(path: &str, offset: u64) -> String {
    if offset != 0 {
        format!("<target path='{}' offset='{offset}'/>", escape(path))
    } else {
        format!("<target path='{}'/>", escape(path))
    }
}

/// A new `<disk>` element (no leading whitespace, no trailing newline).
unsafe fn disk_xml(d: *mut virDomainDiskDef, indent: &str, owner: &str) -> Result<String, Error> {
    if d.is_null() {
        return Err(arg_err(format!("{owner}: NULL entry in def->disks")));
    }
    let dst = cstr((*d).dst).ok_or_else(|| arg_err(format!("{owner}: a disk has no target")))?;
    let downer = format!("{owner}: disk '{dst}'");
    let src = (*d).src;
    let (ty, path, ro, sh) = if src.is_null() {
        (VIR_STORAGE_TYPE_FILE, None, false, false)
    } else {
        (
            (*src).type_,
            cstr((*src).path),
            (*src).readonly,
            (*src).shared,
        )
    };
    let t = table_name(STORAGE_TYPES, ty, "storage type", &downer)?;
    let dev = table_name(DISK_DEVICES, (*d).device, "disk device", &downer)?;
    let i2 = format!("{indent}  ");
    let mut s = format!("<disk type='{t}' device='{dev}'>");
    if let (Some(an), Some(p)) = (source_attr(ty), path) {
        let _ = write!(s, "\n{i2}<source {an}='{}'/>", escape(&p));
    }
    let _ = write!(s, "\n{i2}<target dev='{}'", escape(&dst));
    if (*d).bus != VIR_DOMAIN_DISK_BUS_NONE {
        let _ = write!(
            s,
            " bus='{}'",
            table_name(DISK_BUSES, (*d).bus, "disk bus", &downer)?
        );
    }
    s.push_str("/>");
    if ro {
        let _ = write!(s, "\n{i2}<readonly/>");
    }
    if sh {
        let _ = write!(s, "\n{i2}<shareable/>");
    }
    let _ = write!(s, "\n{indent}</disk>");
    Ok(s)
}

unsafe fn lease_xml(l: *mut virDomainLeaseDef, indent: &str, owner: &str) -> Result<String, Error> {
    if l.is_null() {
        return Err(arg_err(format!("{owner}: NULL entry in def->leases")));
    }
    let i2 = format!("{indent}  ");
    let mut s = String::from("<lease>");
    if let Some(ls) = cstr((*l).lockspace) {
        let _ = write!(s, "\n{i2}<lockspace>{}</lockspace>", escape(&ls));
    }
    let key = cstr((*l).key).ok_or_else(|| arg_err(format!("{owner}: a lease has no key")))?;
    let _ = write!(s, "\n{i2}<key>{}</key>", escape(&key));
    let path =
        cstr((*l).path).ok_or_else(|| arg_err(format!("{owner}: lease '{key}' has no path")))?;
    let _ = write!(s, "\n{i2}{}", lease_target(&path, (*l).offset));
    let _ = write!(s, "\n{indent}</lease>");
    Ok(s)
}

/// A document for a definition that did not come from XML (built by C code).
unsafe fn format_fresh(
    def: *const virDomainDef,
    name: &str,
    id: Option<c_int>,
    owner: &str,
) -> Result<String, Error> {
    let t = table_name(VIRT_TYPES, (*def).virtType, "domain type", owner)?;
    let mut s = format!("<domain type='{t}'");
    if let Some(id) = id {
        let _ = write!(s, " id='{id}'");
    }
    let _ = write!(
        s,
        ">\n  <name>{}</name>\n  <uuid>{}</uuid>\n",
        escape(name),
        uuid_format(&(*def).uuid)
    );
    if !disks(def).is_empty() || !leases(def).is_empty() {
        s.push_str("  <devices>\n");
        for &d in disks(def) {
            let _ = writeln!(s, "    {}", disk_xml(d, "    ", owner)?);
        }
        for &l in leases(def) {
            let _ = writeln!(s, "    {}", lease_xml(l, "    ", owner)?);
        }
        s.push_str("  </devices>\n");
    }
    s.push_str("</domain>\n");
    Ok(s)
}
