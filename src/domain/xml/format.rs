//! `virDomainDefFormat`: the kept `<domain>` text, edited where a C field no longer holds
//! the value it was parsed with. Nothing is re-parsed: the layout recorded at parse time
//! says where each field is, so formatting costs one pass over the edits plus a copy.
//!
//! Disks and leases are matched to their elements by identity token. An element whose
//! item left `def->disks` is removed; an item C added is written after the element of the
//! nearest item before it in the array that came from the document (so a disk appended to
//! `def->disks` lands after the last disk), before the first such element when it has no
//! predecessor, and at the end of `<devices>` (created if needed) when the array holds no
//! item from the document. Items from the document keep their place in the text whatever
//! their place in the array: the array is in libvirt's order (by bus and target), the text
//! in the author's.

use std::ffi::{c_char, c_int, c_uint, CStr};
use std::fmt::Write as _;
use std::ops::Range;

use super::model::*;
use super::store::{DiskRec, LeaseRec};
use super::*;
use crate::domain::error::{arg_err, internal};
use crate::domain::types::*;
use crate::error::Error;

/// Appends `s` escaped for element content (`attr` false) or a quoted attribute value.
/// Fails on a character XML 1.0 cannot carry (NUL and most C0 controls), which would make
/// the document malformed.
pub(crate) fn escape_into(out: &mut String, s: &str, attr: bool) -> Result<(), char> {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '\'' => "&apos;",
            '"' => "&quot;",
            '\r' => "&#13;",
            // An XML parser turns a raw tab or newline in an attribute into a space.
            '\t' if attr => "&#9;",
            '\n' if attr => "&#10;",
            '\t' | '\n' => continue,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => return Err(c),
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + c.len_utf8();
    }
    out.push_str(&s[last..]);
    Ok(())
}

/// Escapes a field, or an error naming it.
fn esc(s: &str, attr: bool, what: &dyn Fn() -> String) -> Result<String, Error> {
    let mut o = String::with_capacity(s.len() + 8);
    escape_into(&mut o, s, attr).map_err(|c| {
        arg_err(format!(
            "{}: character U+{:04X} cannot be written in XML",
            what(),
            c as u32
        ))
    })?;
    Ok(o)
}

/// A C string field as UTF-8 (NULL → None); invalid UTF-8 is refused, as it would not
/// parse back.
unsafe fn field<'a>(p: *const c_char, what: &dyn Fn() -> String) -> Result<Option<&'a str>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    CStr::from_ptr(p)
        .to_str()
        .map(Some)
        .map_err(|_| arg_err(format!("{} is not valid UTF-8", what())))
}

fn table_name(
    table: &'static [&'static str],
    min: c_int,
    v: c_int,
    what: &str,
    owner: &dyn Fn() -> String,
) -> Result<&'static str, Error> {
    usize::try_from(v)
        .ok()
        .filter(|_| v >= min)
        .and_then(|i| table.get(i).copied())
        .ok_or_else(|| arg_err(format!("{}: invalid {what} {v}", owner())))
}

#[derive(Default)]
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
        let start = x[..a.whole().start].trim_end().len();
        self.remove(start..a.whole().end);
    }
    fn remove_elem(&mut self, e: &Elem) {
        self.remove(e.ws_start()..e.range().end);
    }
    /// Replaces the content of an element (escaped text `s`).
    fn set_content(&mut self, x: &str, e: &Elem, s: String) {
        match e.self_close() {
            Some(r) => self.replace(r, format!(">{s}</{}>", e.qname(x))),
            None => self.replace(e.content_start()..e.close_start(), s),
        }
    }
    /// Adds children (each already preceded by its blanks) after the last child element.
    fn append_children(&mut self, x: &str, e: &Elem, s: String) {
        let indent = e.indent(x);
        match e.self_close() {
            Some(r) => self.replace(r, format!(">{s}\n{indent}</{}>", e.qname(x))),
            None if !e.has_children && !x[e.content_start()..e.close_start()].contains('\n') => {
                self.insert(e.content_start(), format!("{s}\n{indent}"))
            }
            None => self.insert(e.last_child_end(), s),
        }
    }
    fn apply(mut self, x: &str) -> Result<String, Error> {
        // Stable: several insertions at one place keep their order, and an insertion
        // sorts before a removal that starts where it is.
        self.list.sort_by_key(|(r, _)| (r.start, r.end));
        let extra: usize = self.list.iter().map(|(_, s)| s.len()).sum();
        let mut out = String::with_capacity(x.len() + extra + 1);
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
    new: Option<String>,
) {
    match (a, new) {
        (Some(a), Some(v)) => ed.replace(a.value(), v),
        (Some(a), None) => ed.remove_attr(x, a),
        (None, Some(v)) => ed.insert(insert_at, format!(" {name}='{v}'")),
        (None, None) => {}
    }
}

/// Formats a definition (libvirt's `virDomainDefFormat`), ending with a newline.
///
/// # Safety
/// `def` is a valid definition.
pub unsafe fn format(def: *const virDomainDef, flags: c_uint) -> Result<String, Error> {
    let name = field((*def).name, &|| "the domain name".into())?
        .ok_or_else(|| arg_err("domain definition has no name"))?;
    let owner = format!("domain '{name}'");
    let want_id =
        (flags & VIR_DOMAIN_DEF_FORMAT_INACTIVE == 0 && (*def).id != -1).then_some((*def).id);
    let p = (*def).virtcorePrivate;
    if p.is_null() {
        return format_fresh(def, name, want_id, &owner);
    }
    let p = DefPrivate::from_raw(p);
    let x: &str = p.text();
    let mut ed = Edits::default();

    let type_attr = || p.root_attr("type").ok_or_else(|| lost("type attribute"));
    if (*def).virtType != p.virt_type() {
        let t = table_name(VIRT_TYPES, 0, (*def).virtType, "domain type", &|| {
            owner.clone()
        })?;
        ed.replace(type_attr()?.value(), t.into());
    }
    match (p.root_attr("id"), want_id) {
        (Some(a), Some(v)) if a.get(x).trim() == v.to_string() => {}
        (a, v) => set_attr(
            &mut ed,
            x,
            a.as_ref(),
            type_attr()?.whole().end,
            "id",
            v.map(|i| i.to_string()),
        ),
    }
    let name_el = p.name();
    if name != name_el.get(x) {
        ed.set_content(x, &name_el.elem, esc(name, false, &|| owner.clone())?);
    }
    let uuid_el = p.uuid();
    // Unless generated, the <uuid> text is what the definition's UUID was parsed from.
    if p.uuid_generated()
        || uuid_el.as_ref().and_then(|u| uuid_parse(u.get(x))) != Some((*def).uuid)
    {
        let u = uuid_format(&(*def).uuid);
        match &uuid_el {
            Some(e) => ed.set_content(x, &e.elem, u),
            None => {
                let n = &name_el.elem;
                let ws = &x[n.ws_start()..n.range().start];
                let ws = if ws.is_empty() { "\n  " } else { ws };
                ed.insert(n.range().end, format!("{ws}<uuid>{u}</uuid>"));
            }
        }
    }
    let olf = (*def).onLockFailure;
    if olf != p.on_lockfailure_val() {
        let v = table_name(
            LOCK_FAILURE_ACTIONS,
            0,
            olf,
            "on_lockfailure action",
            &|| owner.clone(),
        )?;
        match (p.on_lockfailure(), olf) {
            (Some(e), 0) => ed.remove_elem(&e),
            (Some(e), _) => ed.set_content(x, &e, v.into()),
            (None, _) => {
                let root = p.root();
                let ws = root.child_ws(x);
                let s = format!("{ws}<on_lockfailure>{v}</on_lockfailure>");
                match p.events_end() {
                    Some(at) => ed.insert(at, s),
                    None => ed.append_children(x, &root, s),
                }
            }
        }
    }

    let cur = disks(def);
    let orig_of = claim(
        cur.iter()
            .map(|&d| (!d.is_null()).then(|| (*d).virtcoreIdentity)),
        p.disk_base(),
        p.ndisks(),
        &owner,
        "disks",
    )?;
    let cur_l = leases(def);
    let lorig_of = claim(
        cur_l
            .iter()
            .map(|&l| (!l.is_null()).then(|| (*l).virtcoreIdentity)),
        p.lease_base(),
        p.nleases(),
        &owner,
        "leases",
    )?;
    // Where new items go, and how they are indented (only looked for when there are).
    let (item_ws, item_indent) = if orig_of.iter().chain(&lorig_of).any(Option::is_none) {
        let ws = match p.devices() {
            Some(d) => d.child_ws(x),
            None => format!("{}  ", p.root().child_ws(x)),
        };
        let indent = ws.rsplit('\n').next().unwrap_or("").to_string();
        (ws, indent)
    } else {
        Default::default()
    };
    let mut tail = String::new();

    for (k, &d) in cur.iter().enumerate() {
        if let Some(i) = orig_of[k] {
            patch_disk(&mut ed, p, &p.disk(i), d, &owner)?;
        }
    }
    place(
        &mut ed,
        &mut tail,
        |i| p.elem(p.disk(i).elem),
        p.ndisks(),
        &orig_of,
        &item_ws,
        |k| disk_xml(cur[k], &item_indent, &owner),
    )?;

    for (k, &l) in cur_l.iter().enumerate() {
        if let Some(i) = lorig_of[k] {
            patch_lease(&mut ed, p, &p.lease(i), l, &owner)?;
        }
    }
    place(
        &mut ed,
        &mut tail,
        |i| p.elem(p.lease(i).elem),
        p.nleases(),
        &lorig_of,
        &item_ws,
        |k| lease_xml(cur_l[k], &item_indent, &owner),
    )?;

    if !tail.is_empty() {
        match p.devices() {
            Some(d) => ed.append_children(x, &d, tail),
            None => {
                let root = p.root();
                let ws = root.child_ws(x);
                ed.append_children(x, &root, format!("{ws}<devices>{tail}{ws}</devices>"));
            }
        }
    }
    let mut out = ed.apply(x)?;
    out.push('\n');
    Ok(out)
}

/// A record that no longer matches its text (cannot happen: both are written once, at
/// parse); an error rather than a panic all the same.
fn lost(what: &str) -> Error {
    internal(format!("the kept domain XML has lost its {what}"))
}

/// For each current item, the document element it came from (by identity token; each
/// element claimed once, so a copied struct is formatted as a new item).
fn claim(
    tokens: impl Iterator<Item = Option<u64>>,
    base: u64,
    n: usize,
    owner: &str,
    what: &str,
) -> Result<Vec<Option<usize>>, Error> {
    let mut claimed = vec![false; n];
    tokens
        .map(|t| {
            let t = t.ok_or_else(|| arg_err(format!("{owner}: NULL entry in def->{what}")))?;
            Ok(identity_index(t, base, n).filter(|&i| !std::mem::replace(&mut claimed[i], true)))
        })
        .collect()
}

/// Removes the elements of items no longer present and writes the new items (see the
/// module comment for where).
/// `elem(i)` is the element of the document's item `i` (of `n`), found when needed.
fn place(
    ed: &mut Edits,
    tail: &mut String,
    elem: impl Fn(usize) -> Elem,
    n: usize,
    orig_of: &[Option<usize>],
    item_ws: &str,
    mut make: impl FnMut(usize) -> Result<String, Error>,
) -> Result<(), Error> {
    let mut present = vec![false; n];
    for i in orig_of.iter().flatten() {
        present[*i] = true;
    }
    for (i, &p) in present.iter().enumerate() {
        if !p {
            ed.remove_elem(&elem(i));
        }
    }
    let mut buf = String::new();
    let mut anchor: Option<usize> = None;
    for (k, o) in orig_of.iter().enumerate() {
        match o {
            Some(i) => {
                if !buf.is_empty() {
                    let at = match anchor {
                        Some(a) => elem(a).range().end,
                        None => elem(*i).ws_start(),
                    };
                    ed.insert(at, std::mem::take(&mut buf));
                }
                anchor = Some(*i);
            }
            None => {
                buf.push_str(item_ws);
                buf.push_str(&make(k)?);
            }
        }
    }
    if !buf.is_empty() {
        match anchor.or(n.checked_sub(1)) {
            Some(a) => ed.insert(elem(a).range().end, buf),
            None => tail.push_str(&buf),
        }
    }
    Ok(())
}

/// The C disk's values, checked.
struct DiskNow<'a> {
    ty: c_int,
    path: Option<&'a str>,
    ro: bool,
    sh: bool,
    dst: &'a str,
}

unsafe fn disk_now<'a>(d: *mut virDomainDiskDef, owner: &str) -> Result<DiskNow<'a>, Error> {
    let dst = field((*d).dst, &|| format!("{owner}: disk target"))?
        .ok_or_else(|| arg_err(format!("{owner}: a disk has no target (dst is NULL)")))?;
    let src = (*d).src;
    if src.is_null() {
        return Err(arg_err(format!(
            "{owner}: disk '{dst}' has no source (src is NULL)"
        )));
    }
    Ok(DiskNow {
        ty: (*src).type_,
        path: field((*src).path, &|| {
            format!("{owner}: disk '{dst}': source path")
        })?,
        ro: (*src).readonly,
        sh: (*src).shared,
        dst,
    })
}

unsafe fn patch_disk(
    ed: &mut Edits,
    p: &DefPrivate,
    o: &DiskRec,
    d: *mut virDomainDiskDef,
    owner: &str,
) -> Result<(), Error> {
    let x = p.text();
    let n = disk_now(d, owner)?;
    let dw = || format!("{owner}: disk '{}'", n.dst);
    // The disk element as a whole, walked only when a child is added.
    let elem = || p.elem(o.elem);
    let type_attr = || p.attr(o.elem, "type");
    // A <source> added to a disk that had none is read with the written type= again.
    let adds_source = o.source.is_none() && source_attr(n.ty).and(n.path).is_some();
    if n.ty != o.type_val || (adds_source && n.ty != o.type_written) {
        let t = table_name(STORAGE_TYPES, 1, n.ty, "storage type", &dw)?;
        set_attr(
            ed,
            x,
            type_attr().as_ref(),
            p.tag(o.elem).name_end,
            "type",
            Some(t.into()),
        );
    }
    if (*d).device != o.device_val {
        let v = table_name(DISK_DEVICES, 0, (*d).device, "disk device", &dw)?;
        let at = type_attr()
            .as_ref()
            .map_or(p.tag(o.elem).name_end, |a| a.whole().end);
        let device_attr = p.attr(o.elem, "device");
        set_attr(ed, x, device_attr.as_ref(), at, "device", Some(v.into()));
    }
    let want_attr = source_attr(n.ty);
    let want_path = want_attr.and(n.path);
    // The path attribute as parsed: the one the written type names.
    // The path attribute as parsed (the one the written type names) is marked by value.
    let path_mark = o.source.filter(|m| m.value);
    let cur_attr = path_mark.and(source_attr(o.type_written));
    let same_path = match (want_path, path_mark) {
        (Some(w), Some(m)) => p.mark_value_is(m, "", w),
        (None, None) => true,
        _ => false,
    };
    if !same_path || (want_path.is_some() && want_attr != cur_attr) {
        let path_attr = path_mark.and_then(|m| Some((p.mark_attr(m)?, cur_attr?)));
        let v = want_path.map(|p| esc(p, true, &dw)).transpose()?;
        match o.source {
            Some(s) => match (&path_attr, v) {
                (Some((a, an)), Some(v)) if Some(*an) == want_attr => ed.replace(a.value(), v),
                (Some((a, _)), Some(v)) => {
                    ed.replace(a.whole(), format!("{}='{v}'", want_attr.unwrap_or("file")))
                }
                (Some((a, _)), None) => ed.remove_attr(x, a),
                (None, Some(v)) => {
                    let (an, se) = (want_attr.unwrap_or("file"), p.mark_elem(s));
                    // An empty one (read as no path) is there already: it gets the value.
                    match p.attr(se, an) {
                        Some(a) => ed.replace(a.value(), v),
                        None => ed.insert(p.tag(se).attr_end, format!(" {an}='{v}'")),
                    }
                }
                (None, None) => {}
            },
            None => {
                if let (Some(an), Some(v)) = (want_attr, v) {
                    let e = elem();
                    let ws = e.child_ws(x);
                    ed.append_children(x, &e, format!("{ws}<source {an}='{v}'/>"));
                }
            }
        }
    }
    let bus_changed = (*d).bus != o.bus_val;
    let bus = if bus_changed {
        let b = table_name(DISK_BUSES, 0, (*d).bus, "disk bus", &dw)?;
        Some(((*d).bus != VIR_DOMAIN_DISK_BUS_NONE).then(|| b.to_string()))
    } else {
        None
    };
    // `def->disks[i]->dst` as parsed is the `dev` value without libvirt's `ioemu:`.
    let dev_mark = o.target.filter(|m| m.value);
    let dst_changed = !dev_mark.is_some_and(|m| {
        p.mark_value_is(m, "ioemu:", n.dst)
            || (p.mark_value_is(m, "", n.dst) && !n.dst.starts_with("ioemu:"))
    });
    if dst_changed || bus_changed {
        let dst_e = esc(n.dst, true, &dw)?;
        match o.target {
            Some(t) => {
                let t = p.mark_elem(t);
                if dst_changed {
                    let at = p.tag(t).name_end;
                    let dev_attr = dev_mark.and_then(|m| p.mark_attr(m));
                    set_attr(ed, x, dev_attr.as_ref(), at, "dev", Some(dst_e));
                }
                if let Some(b) = bus {
                    let bus_attr = p.attr(t, "bus");
                    set_attr(ed, x, bus_attr.as_ref(), p.tag(t).attr_end, "bus", b);
                }
            }
            None => {
                let e = elem();
                let mut s = format!("{}<target dev='{dst_e}'", e.child_ws(x));
                if let Some(Some(b)) = bus {
                    let _ = write!(s, " bus='{b}'");
                }
                s.push_str("/>");
                ed.append_children(x, &e, s);
            }
        }
    }
    let flags = [
        (n.ro, o.readonly_val, o.readonly, "readonly"),
        (n.sh, o.shareable.is_some(), o.shareable, "shareable"),
    ];
    for (want, was, have, tag) in flags {
        if want == was {
            continue;
        }
        match (want, have) {
            (true, None) => {
                let e = elem();
                let ws = e.child_ws(x);
                ed.append_children(x, &e, format!("{ws}<{tag}/>"))
            }
            (false, Some(at)) => ed.remove_elem(&p.elem(at)),
            _ => {}
        }
    }
    Ok(())
}

/// The C lease's strings, checked: every one is required to parse back.
unsafe fn lease_now<'a>(
    l: *mut virDomainLeaseDef,
    owner: &str,
) -> Result<(&'a str, &'a str, &'a str), Error> {
    let key = field((*l).key, &|| format!("{owner}: lease key"))?
        .filter(|k| !k.is_empty())
        .ok_or_else(|| arg_err(format!("{owner}: a lease has no key")))?;
    let lo = || format!("{owner}: lease '{key}'");
    let ls = field((*l).lockspace, &lo)?
        .filter(|k| !k.is_empty())
        .ok_or_else(|| arg_err(format!("{}: no lockspace", lo())))?;
    let path = field((*l).path, &lo)?.ok_or_else(|| arg_err(format!("{}: no path", lo())))?;
    Ok((key, ls, path))
}

unsafe fn patch_lease(
    ed: &mut Edits,
    p: &DefPrivate,
    o: &LeaseRec,
    l: *mut virDomainLeaseDef,
    owner: &str,
) -> Result<(), Error> {
    let x = p.text();
    let (key, ls, path) = lease_now(l, owner)?;
    let lo = || format!("{owner}: lease '{key}'");
    let ls_el = p.text_elem(o.lockspace);
    if ls != ls_el.get(x) {
        ed.set_content(x, &ls_el.elem, esc(ls, false, &lo)?);
    }
    let key_el = p.text_elem(o.key);
    if key != key_el.get(x) {
        ed.set_content(x, &key_el.elem, esc(key, false, &lo)?);
    }
    let path_attr = p.attr(o.target, "path").ok_or_else(|| lost("lease path"))?;
    if path != path_attr.get(x) {
        ed.replace(path_attr.value(), esc(path, true, &lo)?);
    }
    let off = (*l).offset;
    if off != o.offset_val {
        let v = (off != 0).then(|| off.to_string());
        let offset_attr = p.attr(o.target, "offset");
        let at = p.tag(o.target).attr_end;
        set_attr(ed, x, offset_attr.as_ref(), at, "offset", v);
    }
    Ok(())
}

/// A new `<disk>` element (no leading blanks, no trailing newline).
unsafe fn disk_xml(d: *mut virDomainDiskDef, indent: &str, owner: &str) -> Result<String, Error> {
    let n = disk_now(d, owner)?;
    let dw = || format!("{owner}: disk '{}'", n.dst);
    let t = table_name(STORAGE_TYPES, 1, n.ty, "storage type", &dw)?;
    let dev = table_name(DISK_DEVICES, 0, (*d).device, "disk device", &dw)?;
    let mut s = format!("<disk type='{t}' device='{dev}'>");
    if let (Some(an), Some(p)) = (source_attr(n.ty), n.path) {
        let _ = write!(s, "\n{indent}  <source {an}='{}'/>", esc(p, true, &dw)?);
    }
    let _ = write!(s, "\n{indent}  <target dev='{}'", esc(n.dst, true, &dw)?);
    if (*d).bus != VIR_DOMAIN_DISK_BUS_NONE {
        let b = table_name(DISK_BUSES, 0, (*d).bus, "disk bus", &dw)?;
        let _ = write!(s, " bus='{b}'");
    }
    s.push_str("/>");
    if n.ro {
        let _ = write!(s, "\n{indent}  <readonly/>");
    }
    if n.sh {
        let _ = write!(s, "\n{indent}  <shareable/>");
    }
    let _ = write!(s, "\n{indent}</disk>");
    Ok(s)
}

unsafe fn lease_xml(l: *mut virDomainLeaseDef, indent: &str, owner: &str) -> Result<String, Error> {
    let (key, ls, path) = lease_now(l, owner)?;
    let lo = || format!("{owner}: lease '{key}'");
    let mut s = format!(
        "<lease>\n{indent}  <lockspace>{}</lockspace>\n{indent}  <key>{}</key>\n{indent}  <target path='{}'",
        esc(ls, false, &lo)?,
        esc(key, false, &lo)?,
        esc(path, true, &lo)?
    );
    if (*l).offset != 0 {
        let _ = write!(s, " offset='{}'", (*l).offset);
    }
    let _ = write!(s, "/>\n{indent}</lease>");
    Ok(s)
}

/// A document for a definition that did not come from XML (built by C code).
unsafe fn format_fresh(
    def: *const virDomainDef,
    name: &str,
    id: Option<c_int>,
    owner: &str,
) -> Result<String, Error> {
    let t = table_name(VIRT_TYPES, 0, (*def).virtType, "domain type", &|| {
        owner.to_string()
    })?;
    let mut s = format!("<domain type='{t}'");
    if let Some(id) = id {
        let _ = write!(s, " id='{id}'");
    }
    let _ = write!(
        s,
        ">\n  <name>{}</name>\n  <uuid>{}</uuid>\n",
        esc(name, false, &|| owner.to_string())?,
        uuid_format(&(*def).uuid)
    );
    let olf = (*def).onLockFailure;
    if olf != 0 {
        let v = table_name(
            LOCK_FAILURE_ACTIONS,
            0,
            olf,
            "on_lockfailure action",
            &|| owner.to_string(),
        )?;
        let _ = writeln!(s, "  <on_lockfailure>{v}</on_lockfailure>");
    }
    if !disks(def).is_empty() || !leases(def).is_empty() {
        s.push_str("  <devices>\n");
        for &d in disks(def) {
            if d.is_null() {
                return Err(arg_err(format!("{owner}: NULL entry in def->disks")));
            }
            let _ = writeln!(s, "    {}", disk_xml(d, "    ", owner)?);
        }
        for &l in leases(def) {
            if l.is_null() {
                return Err(arg_err(format!("{owner}: NULL entry in def->leases")));
            }
            let _ = writeln!(s, "    {}", lease_xml(l, "    ", owner)?);
        }
        s.push_str("  </devices>\n");
    }
    s.push_str("</domain>\n");
    Ok(s)
}
