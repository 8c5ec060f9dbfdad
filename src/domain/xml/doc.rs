//! A flat, read-only view of a well-formed XML document: what the domain parser reads
//! (elements with their ranges, attributes, text), built from quick-xml's tokens into a few
//! vectors that are reused from one parse to the next (a full DOM cost most of the parse).
//!
//! quick-xml tokenizes (markup, text, references; within a start tag, its name and where
//! it ends: `check::next_attr` reads the attributes, checking them in the same pass). It
//! is lenient where XML 1.0 is not, so `check` refuses the rest
//! of what a conforming parser (libxml2, roxmltree before this) refuses: bad characters,
//! bad names, undefined entities, text or a second element outside the root, a DTD,
//! attributes not separated by blanks, `<` in attribute values, duplicate attributes,
//! unbound namespace prefixes and the reserved prefixes' misuse, `--` in comments.
//!
//! Only elements are nodes. The text between two sibling nodes (in roxmltree's model,
//! which the layout code was written against: text, CDATA sections and references next to
//! each other make one text node; comments and processing instructions are nodes) is read
//! from the positions when asked for: each element keeps where the node before it ends.
//! `xmlns` declarations are not attributes.

use std::borrow::Cow;
use std::cell::Cell;
use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::check::{self, NsScope, WfError};

const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub(super) struct NodeRec {
    /// In no namespace (no prefix, no default namespace in scope).
    pub ns_none: bool,
    pub self_closing: bool,
    pub start: u32,
    pub end: u32,
    /// Element: just after the start tag, and the start of the end tag (`end` if `<x/>`).
    pub content_start: u32,
    pub close_start: u32,
    /// Element: where the local name starts (after `prefix:`) and the name ends.
    pub local_start: u32,
    pub name_end: u32,
    /// Element: its attributes in `Doc::attrs`.
    pub attr_lo: u32,
    pub attr_hi: u32,
    /// Index just after the node's last descendant (nodes are in document order).
    pub subtree_end: u32,
    /// End of the sibling before (element, comment or processing instruction), or the
    /// parent's `content_start`: what lies between that and `start` is a text node.
    pub prev_end: u32,
}

#[derive(Clone, Debug)]
pub(super) struct AttrRec {
    pub start: u32,
    pub local_start: u32,
    pub name_end: u32,
    pub value_start: u32,
    pub value_end: u32,
    pub prefixed: bool,
    /// The raw value is the value (no reference, no blank to normalise).
    pub plain: bool,
}

impl AttrRec {
    /// The whole `name='value'`.
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.value_end as usize + 1
    }
    pub fn range_value(&self) -> Range<usize> {
        self.value_start as usize..self.value_end as usize
    }
}

#[derive(Default)]
struct Bufs {
    nodes: Vec<NodeRec>,
    attrs: Vec<AttrRec>,
    open: Vec<(u32, u32)>,
}

thread_local! {
    /// The vectors of the last document parsed on this thread, kept for the next one.
    static SPARE: Cell<Option<Bufs>> = const { Cell::new(None) };
}

/// Vectors larger than this are not kept: a big document should not pin memory, and
/// keeping a buffer glibc served with mmap would also stop glibc from raising its mmap
/// threshold when it is freed (then every later large allocation, such as the text of
/// a 1000-disk definition being formatted, is a fresh mmap with its page faults).
/// libvirt's own test documents have at most a few hundred elements.
const KEEP_MAX: usize = 1024;

pub(super) struct Doc<'a> {
    pub text: &'a str,
    pub nodes: Vec<NodeRec>,
    pub attrs: Vec<AttrRec>,
    open: Vec<(u32, u32)>,
    pub root: u32,
}

impl Drop for Doc<'_> {
    fn drop(&mut self) {
        if self.nodes.capacity() <= KEEP_MAX && self.attrs.capacity() <= KEEP_MAX {
            let mut b = Bufs {
                nodes: std::mem::take(&mut self.nodes),
                attrs: std::mem::take(&mut self.attrs),
                open: std::mem::take(&mut self.open),
            };
            b.nodes.clear();
            b.attrs.clear();
            b.open.clear();
            // (Not at all while the thread's locals are being destroyed.)
            let _ = SPARE.try_with(|s| s.set(Some(b)));
        }
    }
}

impl<'a> Doc<'a> {
    /// Parses `text` (at most 4 GiB: positions are `u32`).
    pub fn parse(text: &'a str) -> Result<Doc<'a>, WfError> {
        check::chars(text.as_bytes())?;
        let b = SPARE
            .try_with(|s| s.take())
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut d = Doc {
            text,
            nodes: b.nodes,
            attrs: b.attrs,
            open: b.open,
            root: NONE,
        };
        d.build()?;
        Ok(d)
    }

    fn build(&mut self) -> Result<(), WfError> {
        let text = self.text;
        let skip = if text.starts_with('\u{feff}') { 3 } else { 0 };
        // quick-xml drops a byte order mark at the start of what it reads without counting
        // it in its positions: a second one must not reach it (it is text before the root).
        if text[skip..].starts_with('\u{feff}') {
            return Err(WfError::new(skip, "text outside the root element"));
        }
        let mut reader = Reader::from_str(&text[skip..]);
        let cfg = reader.config_mut();
        cfg.check_comments = true;
        cfg.check_end_names = false;
        // Blank-only text is not reported (fewer events: the dispatch on each is much of
        // the cost); `gap` below puts it back from the positions.
        cfg.trim_text(true);
        let base = text.as_ptr() as usize;
        let mut ns = NsScope::default();
        let mut done = false;
        loop {
            let gap = skip + reader.buffer_position() as usize;
            let ev = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = skip + reader.error_position() as usize;
                    return Err(WfError::new(at, check::describe(&e)));
                }
            };
            let end = skip + reader.buffer_position() as usize;
            // Where the event starts: its content's address less the markup before it.
            let at = |content: &[u8], lead: usize| content.as_ptr() as usize - base - lead;
            let pos = match &ev {
                Event::Start(e) | Event::Empty(e) => at(e, 1),
                Event::End(e) => at(e, 2),
                Event::GeneralRef(e) => at(e, 1),
                Event::CData(e) => at(e, 9),
                Event::Comment(e) => at(e, 4),
                Event::PI(e) => at(e, 2),
                Event::Decl(e) => at(e, 2),
                Event::Text(_) | Event::DocType(_) | Event::Eof => gap,
            };
            match ev {
                Event::Start(e) => done = self.start_tag(&e, pos, end, false, done, &mut ns)?,
                Event::Empty(e) => done = self.start_tag(&e, pos, end, true, done, &mut ns)?,
                Event::End(e) => {
                    let Some((idx, _)) = self.open.pop() else {
                        return Err(WfError::new(pos, "unexpected end tag"));
                    };
                    let n = self.nodes.len() as u32;
                    let r = &mut self.nodes[idx as usize];
                    // quick-xml's own check copies every name; the names are in `text`.
                    let open_name = &text.as_bytes()[r.start as usize + 1..r.name_end as usize];
                    if !check::eq_short(e.name().into_inner(), open_name) {
                        return Err(WfError::new(
                            pos,
                            format!(
                                "end tag '{}' does not match start tag '{}'",
                                String::from_utf8_lossy(e.name().into_inner()),
                                String::from_utf8_lossy(open_name)
                            ),
                        ));
                    }
                    r.close_start = pos as u32;
                    r.end = end as u32;
                    r.subtree_end = n;
                    ns.pop(self.open.len());
                    self.after_child(end);
                    done = self.open.is_empty();
                }
                Event::Text(_) => {
                    // The raw text, blanks around it included.
                    let raw = &text.as_bytes()[pos..end];
                    if self.open.is_empty() {
                        if let Some(i) = raw.iter().position(|b| !check::is_blank(*b)) {
                            return Err(WfError::new(pos + i, "text outside the root element"));
                        }
                        continue;
                    }
                    if raw.contains(&b'>') {
                        if let Some(i) = memchr::memmem::find(raw, b"]]>") {
                            return Err(WfError::new(pos + i, "']]>' in character data"));
                        }
                    }
                }
                Event::GeneralRef(r) => {
                    check::reference(&r, pos)?;
                    if self.open.is_empty() {
                        return Err(WfError::new(pos, "reference outside the root element"));
                    }
                }
                Event::CData(_) => {
                    if self.open.is_empty() {
                        return Err(WfError::new(pos, "CDATA section outside the root element"));
                    }
                }
                Event::Comment(c) => {
                    if c.ends_with(b"-") {
                        return Err(WfError::new(pos, "comment ends with '-'"));
                    }
                    self.after_child(end);
                }
                Event::PI(p) => {
                    check::pi(&p, pos)?;
                    self.after_child(end);
                }
                Event::Decl(decl) => {
                    if pos != skip {
                        return Err(WfError::new(
                            pos,
                            "XML declaration allowed only at the start of the document",
                        ));
                    }
                    check::decl(&decl, pos)?;
                }
                Event::DocType(_) => {
                    return Err(WfError::new(pos, "XML with DTD detected"));
                }
                Event::Eof => break,
            }
        }
        if !self.open.is_empty() {
            return Err(WfError::new(text.len(), "unclosed root element"));
        }
        if self.root == NONE {
            return Err(WfError::new(text.len(), "no root element"));
        }
        Ok(())
    }

    /// `<x ...>` or `<x .../>`; returns whether the root element is now complete.
    fn start_tag(
        &mut self,
        e: &BytesStart,
        pos: usize,
        end: usize,
        empty: bool,
        done: bool,
        ns: &mut NsScope,
    ) -> Result<bool, WfError> {
        if done {
            return Err(WfError::new(pos, "extra content after the root element"));
        }
        let idx = self.element(e, pos, end, empty, ns)?;
        match self.open.last() {
            Some(&(_, last_end)) => self.nodes[idx as usize].prev_end = last_end,
            None => self.root = idx,
        }
        if empty {
            ns.pop(self.open.len());
            self.after_child(end);
            Ok(self.open.is_empty())
        } else {
            self.open.push((idx, end as u32));
            Ok(false)
        }
    }

    /// A child node of the open element ended at `end` (text after it is a new node).
    fn after_child(&mut self, end: usize) {
        if let Some((_, last_end)) = self.open.last_mut() {
            *last_end = end as u32;
        }
    }

    /// A start tag: its name, attributes and namespace declarations, checked.
    fn element(
        &mut self,
        e: &BytesStart,
        pos: usize,
        end: usize,
        empty: bool,
        ns: &mut NsScope,
    ) -> Result<u32, WfError> {
        let text = self.text;
        let qname = e.name().into_inner();
        let name_start = pos + 1;
        let name_end = name_start + qname.len();
        let colon = check::qname(qname, name_start)?;
        let depth = self.open.len();
        let attr_lo = self.attrs.len() as u32;
        let bytes = text.as_bytes();
        // The tag's content is `name attributes`; `>` or `/>` follows it.
        let tag_end = name_start + e.len();
        let mut i = name_end;
        let mut prefixed = false;
        while let Some(a) = check::next_attr(bytes, &mut i, tag_end)? {
            let key = &bytes[a.start as usize..a.name_end as usize];
            if key == b"xmlns" || key.starts_with(b"xmlns:") {
                let v = &bytes[a.range_value()];
                ns.declare(key, v, a.plain, depth, a.start as usize)?;
                continue;
            }
            prefixed |= a.prefixed;
            self.attrs.push(a);
        }
        let attr_hi = self.attrs.len() as u32;
        // Prefixes resolve against the declarations of this very tag too.
        let ns_none = match colon {
            Some(c) => {
                if &qname[..c] == b"xmlns" {
                    return Err(WfError::new(
                        name_start,
                        "element name with the prefix 'xmlns'",
                    ));
                }
                ns.resolve(&qname[..c], name_start)?;
                false
            }
            None => !ns.has_default(),
        };
        let attrs = &self.attrs[attr_lo as usize..];
        check::attributes(text, attrs, prefixed, ns)?;
        let idx = self.nodes.len() as u32;
        // A start tag's content begins after it; its end tag sets close_start.
        let (content_start, close_start) = (end, end);
        self.nodes.push(NodeRec {
            ns_none,
            self_closing: empty,
            start: pos as u32,
            end: end as u32,
            content_start: content_start as u32,
            close_start: close_start as u32,
            local_start: (name_start + colon.map_or(0, |c| c + 1)) as u32,
            name_end: name_end as u32,
            attr_lo,
            attr_hi,
            subtree_end: idx + 1,
            prev_end: pos as u32,
        });
        Ok(idx)
    }

    // ---- reading ----

    pub fn node(&self, i: u32) -> &NodeRec {
        &self.nodes[i as usize]
    }

    /// Local name of an element.
    pub fn local(&self, n: &NodeRec) -> &'a str {
        &self.text[n.local_start as usize..n.name_end as usize]
    }

    pub fn range(&self, i: u32) -> Range<usize> {
        let n = self.node(i);
        n.start as usize..n.end as usize
    }

    /// Child nodes of element `i`.
    pub fn children(&self, i: u32) -> impl Iterator<Item = u32> + '_ {
        let end = self.node(i).subtree_end;
        let mut j = i + 1;
        std::iter::from_fn(move || {
            (j < end).then(|| {
                let c = j;
                j = self.nodes[c as usize].subtree_end;
                c
            })
        })
    }

    /// Child elements of `i` in no namespace with local name `name`.
    pub fn children_named<'s>(&'s self, i: u32, name: &'s str) -> impl Iterator<Item = u32> + 's {
        self.children(i).filter(move |&c| {
            let n = self.node(c);
            n.ns_none && check::eq_short(self.local(n).as_bytes(), name.as_bytes())
        })
    }

    pub fn child(&self, i: u32, name: &str) -> Option<u32> {
        self.children_named(i, name).next()
    }

    /// The unprefixed attribute `name` of element `i` (inline: the parser calls it for
    /// every attribute it reads).
    #[inline]
    pub fn attr(&self, i: u32, name: &str) -> Option<&AttrRec> {
        let text = self.text.as_bytes();
        self.attrs_of(i).iter().find(|a| {
            !a.prefixed
                && check::eq_short(
                    &text[a.start as usize..a.name_end as usize],
                    name.as_bytes(),
                )
        })
    }

    pub fn attrs_of(&self, i: u32) -> &[AttrRec] {
        let n = self.node(i);
        &self.attrs[n.attr_lo as usize..n.attr_hi as usize]
    }

    /// An attribute's value as an XML parser reads it.
    pub fn attr_value(&self, a: &AttrRec) -> Cow<'a, str> {
        let raw = &self.text[a.range_value()];
        if a.plain {
            Cow::Borrowed(raw)
        } else {
            Cow::Owned(check::decode_attr(raw))
        }
    }

    /// The text node just before element `i`, if it is blanks only.
    pub fn blank_before(&self, i: u32) -> Option<Range<usize>> {
        let n = self.node(i);
        let r = n.prev_end as usize..n.start as usize;
        let raw = &self.text[r.clone()];
        let blank = |t: &str| !t.is_empty() && t.bytes().all(check::is_blank);
        // References and CDATA sections can stand for blanks too.
        (blank(raw) || (raw.contains(['&', '<']) && blank(&check::decode_text(raw)))).then_some(r)
    }

    /// XPath string value of element `i`: all its descendant text.
    pub fn string_value(&self, i: u32) -> Cow<'a, str> {
        let n = self.node(i);
        let raw = &self.text[n.content_start as usize..n.close_start as usize];
        if !raw.contains('<') {
            return check::decode_text(raw);
        }
        // Child elements, comments, CDATA sections or processing instructions: rare in
        // the elements read for their text; the (checked) content is read again.
        let mut out = String::new();
        let mut reader = Reader::from_str(raw);
        let base = raw.as_ptr() as usize;
        let mut from = 0;
        loop {
            let pos = reader.buffer_position() as usize;
            match reader.read_event() {
                Ok(Event::Text(_)) | Ok(Event::GeneralRef(_)) | Ok(Event::CData(_)) => {}
                Ok(Event::Eof) | Err(_) => break,
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                    let at = e.as_ptr() as usize - base - 1;
                    out.push_str(&check::decode_text(&raw[from..at]));
                    from = reader.buffer_position() as usize;
                }
                Ok(Event::End(e)) => {
                    let at = e.as_ptr() as usize - base - 2;
                    out.push_str(&check::decode_text(&raw[from..at]));
                    from = reader.buffer_position() as usize;
                }
                Ok(_) => {
                    out.push_str(&check::decode_text(&raw[from..pos]));
                    from = reader.buffer_position() as usize;
                }
            }
        }
        out.push_str(&check::decode_text(&raw[from..]));
        Cow::Owned(out)
    }
}
