//! The private part of a parsed definition, kept for the definition's life in one heap
//! block of `u32` words: a header, one record per disk and lease, the parsed values that
//! differ from their raw text ("cooked"), then the `<domain>` element's text.
//!
//! Why so terse: at 100k domains every word here is 400 KB, and one allocation instead of
//! three saves their headers and rounding. A record keeps only where each modelled element
//! *starts* and the values C saw as parsed; everything else format needs (end of the name,
//! attributes, content, end tag, last child, blanks) `scan` finds again in the text around
//! that start. An untouched definition scans only a few start tags (`<domain>`, `<name>`,
//! `<uuid>`, each disk's `<source>` and `<target>`); whole elements are walked only where
//! an edit needs them.
//!
//! Two rules differ from the element tree the parser saw, in documents no tool writes: the
//! blanks before an element (removed with it) are the raw blanks after the preceding `>`,
//! and the blanks before a first child (copied for a new one) likewise; blanks written as
//! character references or CDATA are not blanks here. (No stored document has either:
//! the test below checks every record against the parser's.)

use std::ffi::c_void;

use super::model::*;
use super::scan::{find_attr, scan_elem, start_tag, value_attr, Tag};

/// "No such element" in a position word (no element starts at the last byte of 4 GiB).
const NONE: u32 = u32::MAX;

// Header words.
const H_TEXT_LEN: usize = 0;
const H_BASE_LO: usize = 1;
const H_BASE_HI: usize = 2;
/// `virt_type` (bits 0–7), `on_lockfailure` value (8–15), UUID generated (16).
const H_VALS: usize = 3;
const H_NAME: usize = 4;
const H_UUID: usize = 5;
const H_OLF: usize = 6;
const H_EVENTS_END: usize = 7;
const H_DEVICES: usize = 8;
const H_NDISKS: usize = 9;
const H_NLEASES: usize = 10;
/// Where the text starts (word index); the cooked values end there.
const H_TEXT_AT: usize = 11;
const HDR: usize = 12;

// Disk record: element, <source>, <target>, <readonly>, <shareable>, values. The <source>
// and <target> words are where the path and `dev` values start when those attributes are
// there (what an untouched format compares: no scan), else where the elements start.
const DISK_WORDS: usize = 6;
// Lease record: element, <lockspace>, <key>, <target>, offset (two words).
const LEASE_WORDS: usize = 6;

/// The block (see the module comment). C sees a thin pointer to its first word; the
/// length is recomputed from the header.
#[repr(transparent)]
pub(crate) struct DefPrivate([u32]);

fn pos(p: Option<usize>) -> u32 {
    p.map_or(NONE, |p| p as u32)
}

fn opt(w: u32) -> Option<usize> {
    (w != NONE).then_some(w as usize)
}

fn words_for(bytes: usize) -> usize {
    bytes.div_ceil(4)
}

fn push_bytes(w: &mut Vec<u32>, b: &[u8]) {
    for c in b.chunks(4) {
        let mut a = [0u8; 4];
        a[..c.len()].copy_from_slice(c);
        w.push(u32::from_ne_bytes(a));
    }
}

fn as_bytes(w: &[u32]) -> &[u8] {
    // SAFETY: any u32 is four initialized bytes; u8 has no alignment requirement.
    unsafe { std::slice::from_raw_parts(w.as_ptr().cast::<u8>(), w.len() * 4) }
}

/// Calls `f` with every cooked value of a layout, as (position, value): an attribute's by
/// the start of its value, an element's by its start (the two never coincide). A visit
/// rather than a list: `new_raw` goes over them twice (sizes, then words), allocating
/// nothing.
fn for_each_cooked<'l>(lay: &'l Layout<'_>, mut f: impl FnMut(u32, &'l str)) {
    let mut attr = |a: Option<&'l Attr>| {
        if let Some(Attr {
            value,
            cooked: Some(c),
            ..
        }) = a
        {
            f(value.start, c);
        }
    };
    attr(Some(&lay.type_attr));
    attr(lay.id_attr.as_ref());
    for d in lay.disks.iter() {
        attr(d.type_attr.as_ref());
        attr(d.device_attr.as_ref());
        attr(
            d.source
                .as_ref()
                .and_then(|s| s.path.as_ref())
                .map(|(a, _)| a),
        );
        if let Some(t) = &d.target {
            attr(t.dev.as_ref());
            attr(t.bus.as_ref());
        }
    }
    for l in lay.leases.iter() {
        attr(Some(&l.path));
        attr(l.offset.as_ref());
    }
    let mut text = |t: Option<&'l TextElem>| {
        if let Some(TextElem {
            elem,
            cooked: Some(c),
        }) = t
        {
            f(elem.range.start, c);
        }
    };
    text(Some(&lay.name));
    text(lay.uuid.as_ref());
    text(lay.on_lockfailure.as_ref());
    for l in lay.leases.iter() {
        text(Some(&l.lockspace));
        text(Some(&l.key));
    }
}

impl DefPrivate {
    /// Packs `text` (the `<domain>` element, at most 4 GiB) and its layout; `base` is the
    /// identity token of the first disk (leases follow the disks). Free with [`Self::free`].
    pub(super) fn new_raw(text: &str, lay: &Layout<'_>, base: u64) -> *mut c_void {
        let mut ncooked = 0;
        for_each_cooked(lay, |_, c| ncooked += 2 + words_for(c.len()));
        let total = HDR
            + DISK_WORDS * lay.disks.len()
            + LEASE_WORDS * lay.leases.len()
            + ncooked
            + words_for(text.len());
        let mut w: Vec<u32> = Vec::with_capacity(total);
        let vals = lay.virt_type as u32 & 0xff
            | (lay.on_lockfailure_val as u32 & 0xff) << 8
            | u32::from(lay.uuid_generated) << 16;
        w.extend_from_slice(&[
            text.len() as u32,
            base as u32,
            (base >> 32) as u32,
            vals,
            lay.name.elem.range.start,
            pos(lay.uuid.as_ref().map(|u| u.elem.range.start as usize)),
            pos(lay
                .on_lockfailure
                .as_ref()
                .map(|e| e.elem.range.start as usize)),
            lay.events_end.unwrap_or(NONE),
            pos(lay.devices.as_ref().map(|e| e.range.start as usize)),
            lay.disks.len() as u32,
            lay.leases.len() as u32,
            (total - words_for(text.len())) as u32,
        ]);
        for d in lay.disks.iter() {
            let start = |e: Option<&Elem>| pos(e.map(|e| e.range.start as usize));
            // Every value is a small table index (checked at parse).
            let vals = d.type_val as u32 & 0xf
                | (d.type_written as u32 & 0xf) << 4
                | (d.device_val as u32 & 0xf) << 8
                | (d.bus_val as u32 & 0xf) << 12
                | u32::from(d.readonly_val) << 16
                | u32::from(d.source.as_ref().is_some_and(|s| s.path.is_some())) << 17
                | u32::from(d.target.as_ref().is_some_and(|t| t.dev.is_some())) << 18;
            w.extend_from_slice(&[
                d.elem.range.start,
                pos(d.source.as_ref().map(|s| match &s.path {
                    Some((a, _)) => a.value.start as usize,
                    None => s.elem.range.start as usize,
                })),
                pos(d.target.as_ref().map(|t| match &t.dev {
                    Some(a) => a.value.start as usize,
                    None => t.elem.range.start as usize,
                })),
                start(d.readonly.as_ref()),
                start(d.shareable.as_ref()),
                vals,
            ]);
        }
        for l in lay.leases.iter() {
            w.extend_from_slice(&[
                l.elem.range.start,
                l.lockspace.elem.range.start,
                l.key.elem.range.start,
                l.target.range.start,
                l.offset_val as u32,
                (l.offset_val >> 32) as u32,
            ]);
        }
        for_each_cooked(lay, |p, c| {
            w.extend_from_slice(&[p, c.len() as u32]);
            push_bytes(&mut w, c.as_bytes());
        });
        // The text in one copy (it is most of the block), written straight into the
        // spare capacity: not zeroed first, only the padding of its last word is.
        // (The header says the text starts here: the words before must be as counted.)
        assert_eq!(w.len() + words_for(text.len()), total);
        let spare = &mut w.spare_capacity_mut()[..words_for(text.len())];
        let (dst, len) = (spare.as_mut_ptr().cast::<u8>(), spare.len() * 4);
        // SAFETY: `dst` is `len` bytes of `w`'s allocation just past its length (u8 needs
        // no alignment), `len` is `text.len()` rounded up to whole words; the text and then
        // zeros fill all of them, so the `total` words (those before, and these) are
        // initialized when the length is set (any bytes are a valid u32).
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), dst, text.len());
            std::ptr::write_bytes(dst.add(text.len()), 0, len - text.len());
            w.set_len(total);
        }
        let b: Box<[u32]> = w.into_boxed_slice();
        let p = Box::into_raw(b) as *mut DefPrivate;
        #[cfg(test)]
        super::store_tests::verify(unsafe { &*p }, lay);
        p.cast::<u32>().cast()
    }

    /// The words of the block at `p` (its length is read from its header).
    unsafe fn slice(p: *const c_void) -> *const [u32] {
        let h = std::slice::from_raw_parts(p.cast::<u32>(), HDR);
        let total = h[H_TEXT_AT] as usize + words_for(h[H_TEXT_LEN] as usize);
        std::ptr::slice_from_raw_parts(p.cast::<u32>(), total)
    }

    /// # Safety
    /// `p` came from [`Self::new_raw`] and is not freed during `'a`.
    pub(super) unsafe fn from_raw<'a>(p: *const c_void) -> &'a DefPrivate {
        &*(Self::slice(p) as *const DefPrivate)
    }

    /// # Safety
    /// `p` came from [`Self::new_raw`] and is freed once.
    pub(crate) unsafe fn free(p: *mut c_void) {
        drop(Box::from_raw(Self::slice(p) as *mut DefPrivate));
    }

    fn h(&self, i: usize) -> u32 {
        self.0[i]
    }
    fn disks_at(&self) -> usize {
        HDR
    }
    fn leases_at(&self) -> usize {
        HDR + DISK_WORDS * self.ndisks()
    }
    fn cooked_at(&self) -> usize {
        self.leases_at() + LEASE_WORDS * self.nleases()
    }

    /// The kept `<domain>` element.
    pub(super) fn text(&self) -> &str {
        let b = &as_bytes(&self.0[self.h(H_TEXT_AT) as usize..])[..self.h(H_TEXT_LEN) as usize];
        // SAFETY: these bytes were copied from a `&str` in `new_raw`.
        unsafe { std::str::from_utf8_unchecked(b) }
    }

    /// The parsed value of the attribute value or text element at `at`, when it differs
    /// from the raw text.
    fn cooked(&self, at: usize) -> Option<&str> {
        let mut i = self.cooked_at();
        let end = self.h(H_TEXT_AT) as usize;
        while i < end {
            let (p, len) = (self.0[i] as usize, self.0[i + 1] as usize);
            let n = words_for(len);
            if p == at {
                let b = &as_bytes(&self.0[i + 2..i + 2 + n])[..len];
                // SAFETY: copied from a `&str` in `new_raw`.
                return Some(unsafe { std::str::from_utf8_unchecked(b) });
            }
            i += 2 + n;
        }
        None
    }

    pub(super) fn disk_base(&self) -> u64 {
        self.h(H_BASE_LO) as u64 | (self.h(H_BASE_HI) as u64) << 32
    }
    pub(super) fn lease_base(&self) -> u64 {
        self.disk_base() + self.ndisks() as u64
    }
    pub(super) fn virt_type(&self) -> i32 {
        (self.h(H_VALS) & 0xff) as i32
    }
    pub(super) fn on_lockfailure_val(&self) -> i32 {
        (self.h(H_VALS) >> 8 & 0xff) as i32
    }
    /// No usable `<uuid>` text (absent or empty): the generated one must be written.
    pub(super) fn uuid_generated(&self) -> bool {
        self.h(H_VALS) >> 16 & 1 != 0
    }
    pub(super) fn ndisks(&self) -> usize {
        self.h(H_NDISKS) as usize
    }
    pub(super) fn nleases(&self) -> usize {
        self.h(H_NLEASES) as usize
    }
    /// Where a new `<on_lockfailure>` goes: after the last of the other `<on_*>` events.
    pub(super) fn events_end(&self) -> Option<usize> {
        opt(self.h(H_EVENTS_END))
    }

    /// The `<domain>` element (walks the whole text: for edits only).
    pub(super) fn root(&self) -> Elem {
        scan_elem(self.text(), 0)
    }
    /// An attribute of `<domain>`.
    pub(super) fn root_attr(&self, name: &str) -> Option<Attr> {
        self.attr(0, name)
    }
    pub(super) fn name(&self) -> TextElem {
        self.text_elem(self.h(H_NAME) as usize)
    }
    pub(super) fn uuid(&self) -> Option<TextElem> {
        opt(self.h(H_UUID)).map(|at| self.text_elem(at))
    }
    pub(super) fn on_lockfailure(&self) -> Option<Elem> {
        opt(self.h(H_OLF)).map(|at| scan_elem(self.text(), at))
    }
    /// The last `<devices>` element: new disks and leases without a neighbour go there.
    pub(super) fn devices(&self) -> Option<Elem> {
        opt(self.h(H_DEVICES)).map(|at| scan_elem(self.text(), at))
    }

    pub(super) fn disk(&self, i: usize) -> DiskRec {
        let w = &self.0[self.disks_at() + DISK_WORDS * i..][..DISK_WORDS];
        DiskRec {
            elem: w[0] as usize,
            source: opt(w[1]).map(|at| Mark {
                at,
                value: w[5] >> 17 & 1 != 0,
            }),
            target: opt(w[2]).map(|at| Mark {
                at,
                value: w[5] >> 18 & 1 != 0,
            }),
            readonly: opt(w[3]),
            shareable: opt(w[4]),
            type_val: (w[5] & 0xf) as i32,
            type_written: (w[5] >> 4 & 0xf) as i32,
            device_val: (w[5] >> 8 & 0xf) as i32,
            bus_val: (w[5] >> 12 & 0xf) as i32,
            readonly_val: w[5] >> 16 & 1 != 0,
        }
    }

    pub(super) fn lease(&self, i: usize) -> LeaseRec {
        let w = &self.0[self.leases_at() + LEASE_WORDS * i..][..LEASE_WORDS];
        LeaseRec {
            elem: w[0] as usize,
            lockspace: w[1] as usize,
            key: w[2] as usize,
            target: w[3] as usize,
            offset_val: w[4] as u64 | (w[5] as u64) << 32,
        }
    }

    /// Where the marked element starts (a value's element: the last `<` before it, as
    /// attribute values cannot hold a raw `<`).
    pub(super) fn mark_elem(&self, m: Mark) -> usize {
        if !m.value {
            return m.at;
        }
        let b = &self.text().as_bytes()[..m.at];
        b.iter().rposition(|&c| c == b'<').unwrap_or(0)
    }

    /// The marked attribute (None when the mark is an element's).
    pub(super) fn mark_attr(&self, m: Mark) -> Option<Attr> {
        if !m.value {
            return None;
        }
        let (whole, value) = value_attr(self.text().as_bytes(), m.at);
        Some(Attr {
            cooked: self.cooked(value.start).map(Into::into),
            whole: whole.start as u32..whole.end as u32,
            value: value.start as u32..value.end as u32,
        })
    }

    /// Whether the marked attribute's value as parsed is `pre` followed by `s` (compared in
    /// place: an untouched format needs no scan for it).
    pub(super) fn mark_value_is(&self, m: Mark, pre: &str, s: &str) -> bool {
        if !m.value {
            return false;
        }
        if let Some(c) = self.cooked(m.at) {
            return c.strip_prefix(pre) == Some(s);
        }
        let b = self.text().as_bytes();
        let q = b[m.at - 1];
        // The raw value runs to the first quote like its opening one.
        let mut i = m.at;
        for &c in pre.as_bytes().iter().chain(s.as_bytes()) {
            if b.get(i) != Some(&c) || c == q {
                return false;
            }
            i += 1;
        }
        b.get(i) == Some(&q)
    }

    /// The whole element starting at `at`.
    pub(super) fn elem(&self, at: usize) -> Elem {
        scan_elem(self.text(), at)
    }

    /// An element whose text is a modelled value.
    pub(super) fn text_elem(&self, at: usize) -> TextElem {
        TextElem {
            elem: scan_elem(self.text(), at),
            cooked: self.cooked(at).map(Into::into),
        }
    }

    /// The attribute `name` (no prefix) of the element starting at `at`.
    pub(super) fn attr(&self, at: usize, name: &str) -> Option<Attr> {
        let (whole, value) = find_attr(self.text().as_bytes(), at, name)?;
        Some(Attr {
            cooked: self.cooked(value.start).map(Into::into),
            whole: whole.start as u32..whole.end as u32,
            value: value.start as u32..value.end as u32,
        })
    }

    /// The end of the start tag of the element at `at` (where new attributes go: the end
    /// of its name, or of its last attribute).
    pub(super) fn tag(&self, at: usize) -> Tag {
        start_tag(self.text().as_bytes(), at)
    }
}

/// One `<disk>` as parsed: where its elements start, and the values C saw.
#[derive(Clone, Copy)]
pub(super) struct DiskRec {
    pub elem: usize,
    /// `<source>`, marked by its path value if it has one.
    pub source: Option<Mark>,
    /// `<target>`, marked by its `dev` value if it has one.
    pub target: Option<Mark>,
    pub readonly: Option<usize>,
    pub shareable: Option<usize>,
    /// The type C sees: `file` when there is no `<source>`, whatever `type=` says.
    pub type_val: i32,
    /// The type `type=` says (what a `<source>` added later would be read with).
    pub type_written: i32,
    pub device_val: i32,
    /// The bus after libvirt's post-parse default.
    pub bus_val: i32,
    /// After post-parse (a cdrom is always read-only).
    pub readonly_val: bool,
}

/// Where an element starts, or where the value of its recorded attribute starts.
#[derive(Clone, Copy)]
pub(super) struct Mark {
    pub at: usize,
    pub value: bool,
}

/// One `<lease>` as parsed.
#[derive(Clone, Copy)]
pub(super) struct LeaseRec {
    pub elem: usize,
    pub lockspace: usize,
    pub key: usize,
    pub target: usize,
    pub offset_val: u64,
}
