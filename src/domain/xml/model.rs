//! What the parser records of a definition besides its C-visible fields: where every
//! modelled field sits in the `<domain>` element's text, and the value each field had when
//! parsed. `store` packs the text and the part of this that cannot be found again by a
//! local scan of the text into one compact block, which the definition keeps for life.
//!
//! The formatter compares each C field with its parsed value and edits the text only where
//! they differ, so an untouched definition formats back byte for byte without a second
//! parse. Disks and leases are matched to their elements by an identity token stored in
//! the C struct (`virtcoreIdentity`), never by address: a disk freed by C code takes its
//! token along, and a new disk (calloc'ed, token 0) is never mistaken for an old one that
//! happened to live at the same address.

use std::ffi::c_int;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use super::super::types::{DISK_BUSES, VIR_UUID_BUFLEN};

/// Positions are `u32` offsets into the kept `<domain>` text (documents over 4 GiB are
/// refused): a definition keeps its layout for life, so it is kept small.
fn r(x: &Range<u32>) -> Range<usize> {
    x.start as usize..x.end as usize
}

/// One attribute: its whole `name='value'` range and the value's range.
pub(super) struct Attr {
    pub whole: Range<u32>,
    pub value: Range<u32>,
    /// The parsed value when it differs from the raw text (entities, normalised blanks).
    pub cooked: Option<Box<str>>,
}

impl Attr {
    /// The value as an XML parser reads it.
    pub fn get<'a>(&'a self, x: &'a str) -> &'a str {
        self.cooked.as_deref().unwrap_or(&x[r(&self.value)])
    }
    pub fn whole(&self) -> Range<usize> {
        r(&self.whole)
    }
    pub fn value(&self) -> Range<usize> {
        r(&self.value)
    }
}

/// One element.
#[cfg_attr(test, derive(PartialEq, Debug))]
pub(super) struct Elem {
    /// Start of the blanks before the element (removed along with it).
    pub ws_start: u32,
    pub range: Range<u32>,
    /// End of the tag name in the start tag (where new attributes go).
    pub name_end: u32,
    /// End of the last attribute (or `name_end`).
    // Format finds it in the text again (`store`); test builds check that it agrees.
    #[cfg_attr(not(test), allow(dead_code))]
    pub attr_end: u32,
    /// Start of the content (just after the start tag); `range.end` when self-closing.
    pub content_start: u32,
    /// Start of the end tag; `range.end` when self-closing.
    pub close_start: u32,
    /// End of the last child element, or `content_start` when there is none.
    pub last_child_end: u32,
    /// The blanks before the first child element, when that is all that precedes it:
    /// what a new child is preceded by (else a newline and the indentation plus two).
    pub child_ws: Option<Range<u32>>,
    /// `<x/>` (ends with `/>`).
    pub self_closing: bool,
    /// Whether the element has child elements.
    pub has_children: bool,
}

impl Elem {
    /// An element known by its span only: the parser's record in a release build (see
    /// `parse::Ctx::elem`); the fields it does not know are set as for an element with
    /// no attributes, children or blanks before it.
    pub fn span(
        range: Range<u32>,
        content_start: u32,
        close_start: u32,
        self_closing: bool,
    ) -> Elem {
        Elem {
            ws_start: range.start,
            name_end: range.start,
            attr_end: range.start,
            last_child_end: content_start,
            child_ws: None,
            has_children: false,
            range,
            content_start,
            close_start,
            self_closing,
        }
    }
    pub fn ws_start(&self) -> usize {
        self.ws_start as usize
    }
    pub fn range(&self) -> Range<usize> {
        r(&self.range)
    }
    pub fn name_end(&self) -> usize {
        self.name_end as usize
    }
    pub fn content_start(&self) -> usize {
        self.content_start as usize
    }
    pub fn close_start(&self) -> usize {
        self.close_start as usize
    }
    pub fn last_child_end(&self) -> usize {
        self.last_child_end as usize
    }
    /// For `<x/>`: the range of `/>`.
    pub fn self_close(&self) -> Option<Range<usize>> {
        self.self_closing
            .then(|| self.range.end as usize - 2..self.range.end as usize)
    }

    /// The indentation of the element itself (blanks after the last newline before it).
    pub fn indent<'a>(&self, x: &'a str) -> &'a str {
        let ws = &x[self.ws_start()..self.range().start];
        match ws.rfind('\n') {
            Some(i) => &ws[i + 1..],
            None => "",
        }
    }

    /// What precedes a new child element.
    pub fn child_ws(&self, x: &str) -> String {
        match &self.child_ws {
            Some(c) => x[r(c)].to_string(),
            None => format!("\n{}  ", self.indent(x)),
        }
    }

    /// The tag name as written (with its prefix, if any).
    pub fn qname<'a>(&self, x: &'a str) -> &'a str {
        &x[self.range().start + 1..self.name_end()]
    }
}

/// An element whose text content is a modelled value (`<name>`, `<uuid>`, `<key>`, ...).
pub(super) struct TextElem {
    pub elem: Elem,
    /// The string value (all descendant text) when it differs from the raw content.
    pub cooked: Option<Box<str>>,
}

impl TextElem {
    pub fn get<'a>(&'a self, x: &'a str) -> &'a str {
        self.cooked
            .as_deref()
            .unwrap_or(&x[self.elem.content_start()..self.elem.close_start()])
    }
}

pub(super) struct SourcePos {
    pub elem: Elem,
    /// The local path attribute (`file`, `dev` or `dir`) and its name.
    pub path: Option<(Attr, &'static str)>,
}

pub(super) struct TargetPos {
    pub elem: Elem,
    pub dev: Option<Attr>,
    pub bus: Option<Attr>,
}

/// One `<disk>` element and the values parsed from it. (`def->disks[i]->dst` as parsed
/// is the `dev` attribute without an `ioemu:` prefix: see `dst_val`.)
pub(super) struct DiskOrig {
    pub elem: Elem,
    pub type_attr: Option<Attr>,
    /// The type C sees: `file` when there is no `<source>`, whatever `type=` says.
    pub type_val: c_int,
    /// The type `type=` says (what a `<source>` added later would be read with).
    pub type_written: c_int,
    pub device_attr: Option<Attr>,
    pub device_val: c_int,
    pub source: Option<SourcePos>,
    pub target: Option<TargetPos>,
    /// The bus after libvirt's post-parse default.
    pub bus_val: c_int,
    pub readonly: Option<Elem>,
    /// After post-parse (a cdrom is always read-only).
    pub readonly_val: bool,
    pub shareable: Option<Elem>,
}

/// One `<lease>` element.
pub(super) struct LeaseOrig {
    pub elem: Elem,
    pub lockspace: TextElem,
    pub key: TextElem,
    pub target: Elem,
    pub path: Attr,
    pub offset: Option<Attr>,
    pub offset_val: u64,
}

/// Where the modelled fields are in a `<domain>` text, with their parsed values (built by
/// the parser for `store` to pack, then dropped: the disks and leases are borrowed).
pub(super) struct Layout<'p> {
    // Format walks the text for these; test builds check that it agrees (`store`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub root: Elem,
    pub type_attr: Attr,
    pub virt_type: c_int,
    pub id_attr: Option<Attr>,
    pub name: TextElem,
    pub uuid: Option<TextElem>,
    #[cfg_attr(not(test), allow(dead_code))]
    pub uuid_val: [u8; VIR_UUID_BUFLEN],
    /// No usable `<uuid>` text (absent or empty): the generated one must be written.
    pub uuid_generated: bool,
    pub on_lockfailure: Option<TextElem>,
    pub on_lockfailure_val: c_int,
    /// Where a new `<on_lockfailure>` goes: after the last of the other `<on_*>` events.
    pub events_end: Option<u32>,
    /// The last `<devices>` element: new disks and leases without a neighbour go there.
    pub devices: Option<Elem>,
    /// In document order.
    pub disks: &'p [DiskOrig],
    pub leases: &'p [LeaseOrig],
}

/// Tokens are never reused within a process: 0 means "not from a parsed document".
static NEXT_IDENTITY: AtomicU64 = AtomicU64::new(1);

/// Reserves `n` consecutive identity tokens.
pub(super) fn reserve_identities(n: usize) -> u64 {
    NEXT_IDENTITY.fetch_add(n as u64, Ordering::Relaxed)
}

/// The element index an identity token designates among `n` elements starting at `base`.
pub(super) fn identity_index(token: u64, base: u64, n: usize) -> Option<usize> {
    let i = token.checked_sub(base)?;
    (token != 0 && i < n as u64).then_some(i as usize)
}

/// libvirt's `virDiskNameToIndex`: "vda" → 0, "sdab" → 27; -1 when not a disk name.
pub(crate) fn disk_name_to_index(name: &str) -> i32 {
    const PREFIXES: [&str; 6] = ["fd", "hd", "vd", "sd", "xvd", "ubd"];
    let Some(rest) = PREFIXES.iter().find_map(|p| name.strip_prefix(p)) else {
        return -1;
    };
    let b = rest.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_lowercase()) {
        return -1;
    }
    let mut idx: i32 = 0;
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_lowercase() {
        // As in C (int arithmetic), absurdly long names wrap rather than fail.
        idx = idx
            .wrapping_add(if i < 1 { 0 } else { 1 })
            .wrapping_mul(26)
            .wrapping_add((b[i] - b'a') as i32);
        i += 1;
    }
    if !b[i..].iter().all(u8::is_ascii_digit) {
        return -1;
    }
    idx
}

/// Disk indexes in an order: most documents have a few disks, kept on the stack.
pub(super) type DiskOrder = SmallVec<[usize; 8]>;

/// The order `virDomainDiskInsert` gives disks parsed in document order: disks of one bus
/// stay together (buses in order of first appearance), and within a bus each disk goes
/// before the first one with a greater index. Returns document indexes in that order.
///
/// Inserting before the first greater element into a sorted list keeps it sorted, so for
/// disks that all have a target this is a stable sort (O(n log n)); a disk without a target
/// (only possible with `SKIP_VALIDATE`) breaks that, and the group is simulated instead.
pub(super) fn libvirt_disk_order(keys: &[(c_int, Option<i32>)]) -> DiskOrder {
    let mut out: DiskOrder = (0..keys.len()).collect();
    if keys.iter().all(|(_, k)| k.is_some()) {
        // One stable sort by (where the disk's bus first appears, index): the groups in
        // order of first appearance, each sorted by index. (Buses are `DISK_BUSES` indexes.)
        let mut first_of_bus = [usize::MAX; DISK_BUSES.len()];
        for (i, &(bus, _)) in keys.iter().enumerate().rev() {
            first_of_bus[bus as usize] = i;
        }
        out.sort_by_key(|&i| (first_of_bus[keys[i].0 as usize], keys[i].1));
        return out;
    }
    out.clear();
    let mut buses: Vec<(c_int, Vec<usize>)> = Vec::new();
    for (i, (bus, _)) in keys.iter().enumerate() {
        match buses.iter_mut().find(|(b, _)| b == bus) {
            Some((_, v)) => v.push(i),
            None => buses.push((*bus, vec![i])),
        }
    }
    for (_, mut group) in buses {
        if group.iter().all(|&i| keys[i].1.is_some()) {
            group.sort_by_key(|&i| keys[i].1);
            out.extend(group);
        } else {
            let mut sim: Vec<usize> = Vec::with_capacity(group.len());
            for i in group {
                let at = keys[i]
                    .1
                    .and_then(|k| sim.iter().position(|&j| keys[j].1.is_some_and(|kj| kj > k)));
                match at {
                    Some(p) => sim.insert(p, i),
                    None => sim.push(i),
                }
            }
            out.extend(sim);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_names_map_to_libvirt_indexes() {
        assert_eq!(disk_name_to_index("vda"), 0);
        assert_eq!(disk_name_to_index("hdc"), 2);
        assert_eq!(disk_name_to_index("sdz"), 25);
        assert_eq!(disk_name_to_index("sdaa"), 26);
        assert_eq!(disk_name_to_index("sdab"), 27);
        assert_eq!(disk_name_to_index("xvda1"), 0);
        assert_eq!(disk_name_to_index("vd"), -1);
        assert_eq!(disk_name_to_index("nvme0n1"), -1);
        assert_eq!(disk_name_to_index("vda1x"), -1);
    }

    #[test]
    fn order_is_libvirts_insertion_order() {
        // bus 4 (virtio) vdb, bus 3 sda, bus 4 vda, bus 3 no-target.
        let k = [(4, Some(1)), (3, Some(0)), (4, Some(0)), (3, None)];
        assert_eq!(libvirt_disk_order(&k).as_slice(), [2, 0, 1, 3]);
        // A target-less disk is never "greater": sdb goes after it, sda before sdc.
        let k = [(3, Some(2)), (3, None), (3, Some(1)), (3, Some(3))];
        assert_eq!(libvirt_disk_order(&k).as_slice(), [2, 0, 1, 3]);
        // All with a target: groups by first appearance, stable within (vdb twice).
        let k = [
            (4, Some(1)),
            (3, Some(1)),
            (4, Some(0)),
            (4, Some(1)),
            (3, Some(0)),
        ];
        assert_eq!(libvirt_disk_order(&k).as_slice(), [2, 0, 3, 4, 1]);
    }

    #[test]
    fn order_agrees_with_inserting_one_disk_at_a_time() {
        // Every list of up to 5 disks over 3 buses and 3 indexes (none, or one, without a
        // target): the result is what inserting each disk into its bus's group (groups in
        // order of first appearance) before the first greater index gives.
        let choices: Vec<(c_int, Option<i32>)> = [1, 3, 4]
            .into_iter()
            .flat_map(|b| [Some(0), Some(1), Some(2), None].map(|k| (b, k)))
            .collect();
        for n in 0..=5u32 {
            for code in 0..choices.len().pow(n) {
                let mut c = code;
                let keys: Vec<_> = (0..n)
                    .map(|_| {
                        let k = choices[c % choices.len()];
                        c /= choices.len();
                        k
                    })
                    .collect();
                if keys.iter().filter(|k| k.1.is_none()).count() > 1 {
                    continue;
                }
                let mut groups: Vec<(c_int, Vec<usize>)> = Vec::new();
                for (i, &(bus, k)) in keys.iter().enumerate() {
                    let g = match groups.iter().position(|(b, _)| *b == bus) {
                        Some(g) => g,
                        None => {
                            groups.push((bus, Vec::new()));
                            groups.len() - 1
                        }
                    };
                    let list = &mut groups[g].1;
                    let at = k.and_then(|k| list.iter().position(|&j| keys[j].1 > Some(k)));
                    list.insert(at.unwrap_or(list.len()), i);
                }
                let want: Vec<usize> = groups.into_iter().flat_map(|(_, l)| l).collect();
                assert_eq!(libvirt_disk_order(&keys).as_slice(), want, "{keys:?}");
            }
        }
    }
}
