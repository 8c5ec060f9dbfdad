//! The well-formedness rules of XML 1.0 and its namespaces that quick-xml leaves to its
//! caller (see `doc`), reading a start tag's attributes, and reading references and
//! blanks the way an XML parser does.

use std::borrow::Cow;

use quick_xml::events::{BytesDecl, BytesPI, BytesRef};

use super::doc::AttrRec;

const XML_URI: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_URI: &str = "http://www.w3.org/2000/xmlns/";

/// Why a document is not well-formed, and the byte offset where that was found.
#[derive(Debug)]
pub(crate) struct WfError {
    pub pos: usize,
    pub msg: String,
}

impl WfError {
    pub fn new(pos: usize, msg: impl Into<String>) -> Self {
        WfError {
            pos,
            msg: msg.into(),
        }
    }

    /// 1-based line and column (in characters) of the error in `text`.
    pub fn line_col(&self, text: &str) -> (usize, usize) {
        let mut p = self.pos.min(text.len());
        while !text.is_char_boundary(p) {
            p -= 1;
        }
        let before = &text[..p];
        let line = 1 + memchr::memchr_iter(b'\n', before.as_bytes()).count();
        let col = 1 + before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count();
        (line, col)
    }
}

pub(super) fn describe(e: &quick_xml::Error) -> String {
    e.to_string()
}

/// Equality of two short byte strings (names): inline, without a `memcmp` call.
#[inline]
pub(super) fn eq_short(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[inline]
pub(super) fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// XML 1.0's `Char`: no C0 control but tab, LF, CR; no U+FFFE, U+FFFF (a `str` has no
/// surrogates). Checked over the whole document once, 64 bytes at a time.
pub(super) fn chars(b: &[u8]) -> Result<(), WfError> {
    // A branch-free test per 64-byte chunk (fixed size: the compiler unrolls and
    // vectorizes it); only a chunk with a suspect byte gets the exact check.
    let suspect = |c: u8| {
        // A C0 control other than tab (0x09), LF (0x0A), CR (0x0D) (`c | 4` is 0x0D for
        // both tab and CR), or the first byte of U+FFFE/U+FFFF.
        ((c < 0x20) & ((c | 4) != 0x0D) & (c != b'\n')) | (c == 0xEF)
    };
    let any_suspect = |chunk: &[u8; 64]| chunk.iter().fold(false, |acc, &c| acc | suspect(c));
    let chunks = b.chunks_exact(64);
    let rest = chunks.remainder();
    for (k, chunk) in chunks.enumerate() {
        if any_suspect(chunk.try_into().expect("64 bytes")) {
            exact(b, k * 64, k * 64 + 64)?;
        }
    }
    // The last bytes, padded with blanks to a chunk.
    let mut last = [b' '; 64];
    last[..rest.len()].copy_from_slice(rest);
    if any_suspect(&last) {
        exact(b, b.len() - rest.len(), b.len())?;
    }
    Ok(())
}

/// The exact check of `b[lo..hi]` (a character may run past `hi`).
fn exact(b: &[u8], lo: usize, hi: usize) -> Result<(), WfError> {
    for i in lo..hi {
        let c = b[i];
        let bad = if c == 0xEF {
            b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF))
        } else {
            c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r')
        };
        if bad {
            return Err(WfError::new(i, "character not allowed in XML"));
        }
    }
    Ok(())
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A name without colon (XML namespaces' `NCName`).
fn ncname(s: &[u8]) -> bool {
    match s.first() {
        None => false,
        // ASCII names (nearly all) without decoding.
        Some(_) if s.is_ascii() => {
            (s[0].is_ascii_alphabetic() || s[0] == b'_')
                && s[1..]
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        }
        Some(_) => match std::str::from_utf8(s) {
            Ok(t) => {
                let mut it = t.chars();
                it.next().is_some_and(is_name_start) && it.all(is_name_char)
            }
            Err(_) => false,
        },
    }
}

/// ASCII classes for names and attribute values, so the common case is one table
/// look-up per byte.
const NAME_START: u8 = 1;
const NAME_CHAR: u8 = 2;
const ATTR_SPECIAL: u8 = 4;
const QUOTE: u8 = 8;
/// Ends an attribute name as written (what follows is checked by the caller).
const NAME_STOP: u8 = 16;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] |= NAME_START | NAME_CHAR;
        }
        if b.is_ascii_digit() || b == b'-' || b == b'.' {
            t[c] |= NAME_CHAR;
        }
        if matches!(b, b'<' | b'&' | b'\t' | b'\n' | b'\r') {
            t[c] |= ATTR_SPECIAL;
        }
        if matches!(b, b'\'' | b'"') {
            t[c] |= QUOTE;
        }
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'=' | b'\'' | b'"') {
            t[c] |= NAME_STOP;
        }
        c += 1;
    }
    t
};

/// Checks a qualified name (`local` or `prefix:local`); returns where its colon is.
#[inline]
pub(super) fn qname(s: &[u8], at: usize) -> Result<Option<usize>, WfError> {
    // Fast path: an ASCII name without prefix.
    if s.first()
        .is_some_and(|&c| CLASS[c as usize] & NAME_START != 0)
        && s[1..].iter().all(|&c| CLASS[c as usize] & NAME_CHAR != 0)
    {
        return Ok(None);
    }
    qname_slow(s, at)
}

#[cold]
fn qname_slow(s: &[u8], at: usize) -> Result<Option<usize>, WfError> {
    let colon = memchr::memchr(b':', s);
    // `:x` is a name in XML 1.0 but no qualified name: conforming parsers accept it as
    // written, without namespace (libxml2 keeps ":x" as the name).
    if colon == Some(0) && ncname(&s[1..]) {
        return Ok(None);
    }
    let ok = match colon {
        None => ncname(s),
        Some(c) => ncname(&s[..c]) && ncname(&s[c + 1..]),
    };
    if ok {
        Ok(colon)
    } else {
        let shown = String::from_utf8_lossy(s);
        Err(WfError::new(at, format!("invalid name '{shown}'")))
    }
}

/// The character a reference (without `&` and `;`) stands for, if it is one XML knows
/// without a DTD.
/// The number a character reference's digits write in `radix`: digits only (no sign), at
/// least one, any number of leading zeros (libxml2 reads `&#x000000041;` as `A`); values
/// past Unicode saturate, to be refused by the caller.
fn char_code(digits: &[u8], radix: u32) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |v, &d| {
        let d = char::from(d).to_digit(radix)?;
        Some((v * radix + d).min(0x11_0000))
    })
}

fn resolve(name: &[u8]) -> Option<char> {
    let code = match name {
        b"lt" => return Some('<'),
        b"gt" => return Some('>'),
        b"amp" => return Some('&'),
        b"apos" => return Some('\''),
        b"quot" => return Some('"'),
        [b'#', b'x', hex @ ..] => char_code(hex, 16)?,
        [b'#', dec @ ..] => char_code(dec, 10)?,
        _ => return None,
    };
    let c = char::from_u32(code)?;
    let ok = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}';
    ok.then_some(c)
}

fn bad_reference(name: &[u8], at: usize) -> WfError {
    let shown = String::from_utf8_lossy(name);
    if ncname(name) {
        WfError::new(at, format!("undefined entity '{shown}'"))
    } else {
        WfError::new(at, format!("invalid reference '&{shown};'"))
    }
}

pub(super) fn reference(r: &BytesRef, at: usize) -> Result<(), WfError> {
    let name: &[u8] = r;
    resolve(name)
        .map(|_| ())
        .ok_or_else(|| bad_reference(name, at))
}

/// How many bytes at the start of `s` have a class in `classes`.
#[inline(always)]
fn span(s: &[u8], classes: u8) -> usize {
    s.iter()
        .position(|&c| CLASS[c as usize] & classes == 0)
        .unwrap_or(s.len())
}

/// How many bytes at the start of `s` have no class in `classes`.
#[inline(always)]
fn until(s: &[u8], classes: u8) -> usize {
    s.iter()
        .position(|&c| CLASS[c as usize] & classes != 0)
        .unwrap_or(s.len())
}

/// Reads the next attribute of a start tag whose attributes are `b[*i..to]` (`to` is where
/// the tag's `>` or `/>` starts), checking it on the way: blanks before it, a qualified
/// name, `=` (blanks around it allowed), a quoted value without `<` and with known
/// references only. Advances `*i` past it; `None` when only blanks are left.
///
/// quick-xml finds where a start tag ends (quotes respected) and its name; its attribute
/// iterator would read the same bytes again before these checks, at about four times the
/// cost of this one pass (over a third of a whole parse went to attributes).
#[inline]
pub(super) fn next_attr(b: &[u8], i: &mut usize, to: usize) -> Result<Option<AttrRec>, WfError> {
    let mut j = *i;
    while j < to && is_blank(b[j]) {
        j += 1;
    }
    if j == to {
        *i = j;
        return Ok(None);
    }
    if j == *i {
        return Err(WfError::new(j, "attributes must be separated by blanks"));
    }
    let start = j;
    // The name: plain ASCII name characters, else up to a blank, `=` or quote, checked
    // as a qualified name.
    j += span(&b[j..to], NAME_CHAR);
    let colon = if j < to && CLASS[b[j] as usize] & NAME_STOP == 0 {
        j += until(&b[j..to], NAME_STOP);
        qname_slow(&b[start..j], start)?
    } else if j == start || CLASS[b[start] as usize] & NAME_START == 0 {
        qname_slow(&b[start..j], start)?
    } else {
        None
    };
    let name_end = j;
    while j < to && is_blank(b[j]) {
        j += 1;
    }
    if j == to || b[j] != b'=' {
        let name = String::from_utf8_lossy(&b[start..name_end]);
        return Err(WfError::new(
            start,
            format!("attribute '{name}' without value"),
        ));
    }
    j += 1;
    while j < to && is_blank(b[j]) {
        j += 1;
    }
    let quote = if j < to { b[j] } else { 0 };
    if CLASS[quote as usize] & QUOTE == 0 {
        return Err(WfError::new(j, "attribute value must be quoted"));
    }
    let value_start = j + 1;
    // The value ends at the same quote; `<`, `&`, tab, CR or LF send it to the exact check.
    let mut special = false;
    j = value_start;
    loop {
        j += until(&b[j..to], QUOTE | ATTR_SPECIAL);
        if j >= to {
            return Err(WfError::new(start, "unterminated attribute value"));
        }
        if b[j] == quote {
            break;
        }
        special |= CLASS[b[j] as usize] & ATTR_SPECIAL != 0;
        j += 1;
    }
    let plain = !special || attr_value_slow(&b[value_start..j], value_start)?;
    *i = j + 1;
    Ok(Some(AttrRec {
        start: start as u32,
        local_start: (start + colon.map_or(0, |c| c + 1)) as u32,
        name_end: name_end as u32,
        value_start: value_start as u32,
        value_end: j as u32,
        prefixed: colon.is_some(),
        plain,
    }))
}

fn attr_value_slow(v: &[u8], at: usize) -> Result<bool, WfError> {
    let mut plain = true;
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'<' => return Err(WfError::new(at + i, "'<' in an attribute value")),
            b'&' => {
                let Some(e) = memchr::memchr(b';', &v[i..]) else {
                    return Err(WfError::new(at + i, "unterminated reference"));
                };
                let name = &v[i + 1..i + e];
                if resolve(name).is_none() {
                    return Err(bad_reference(name, at + i));
                }
                plain = false;
                i += e;
            }
            b'\t' | b'\n' | b'\r' => plain = false,
            _ => {}
        }
        i += 1;
    }
    Ok(plain)
}

/// Appends what a checked reference starting at `s[0] == '&'` stands for; returns its length.
/// (Only checked text reaches here; the fallbacks keep anything else from panicking.)
fn push_ref(out: &mut String, s: &str) -> usize {
    let e = s.find(';').unwrap_or(s.len()).max(1);
    out.push(
        s.as_bytes()
            .get(1..e)
            .and_then(resolve)
            .unwrap_or('\u{FFFD}'),
    );
    e + 1
}

/// An attribute value as read: references resolved, each CR LF, CR, LF or tab a space.
pub(super) fn decode_attr(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\t', '\n', '\r']) {
        out.push_str(&rest[..i]);
        let b = rest.as_bytes()[i];
        let n = match b {
            b'&' => push_ref(&mut out, &rest[i..]),
            b'\r' if rest.as_bytes().get(i + 1) == Some(&b'\n') => {
                out.push(' ');
                2
            }
            _ => {
                out.push(' ');
                1
            }
        };
        rest = rest.get(i + n..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Text as read: references resolved, CDATA sections unwrapped, CR LF and CR as LF.
pub(super) fn decode_text(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['&', '\r', '<']) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\r', '<']) {
        push_lines(&mut out, &rest[..i]);
        let n = match rest.as_bytes()[i] {
            b'&' => push_ref(&mut out, &rest[i..]),
            b'\r' => {
                out.push('\n');
                if rest.as_bytes().get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                }
            }
            _ => {
                // <![CDATA[ ... ]]>
                let body = rest.get(i + 9..).unwrap_or("");
                let e = body.find("]]>").unwrap_or(body.len());
                push_lines(&mut out, &body[..e]);
                9 + e + 3
            }
        };
        rest = rest.get(i + n..).unwrap_or("");
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Appends `s` with CR LF and CR read as LF.
fn push_lines(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        let skip = if rest.as_bytes().get(i + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        rest = &rest[i + skip..];
    }
    out.push_str(rest);
}

pub(super) fn pi(p: &BytesPI, at: usize) -> Result<(), WfError> {
    let target = p.target();
    qname(target, at + 2)?;
    if target == b"xml" {
        return Err(WfError::new(
            at,
            "XML declaration allowed only at the start of the document",
        ));
    }
    Ok(())
}

pub(super) fn decl(d: &BytesDecl, at: usize) -> Result<(), WfError> {
    let bad = |what: &str| WfError::new(at, format!("malformed XML declaration: {what}"));
    // VersionNum is `1.` and digits (libxml2 reads any 1.x as 1.0 and refuses the rest).
    let version = d.version().map_err(|e| bad(&e.to_string()))?;
    let ok = version
        .strip_prefix(b"1.")
        .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit));
    if !ok {
        let shown = String::from_utf8_lossy(&version);
        return Err(bad(&format!("unsupported version '{shown}'")));
    }
    if let Some(Err(e)) = d.encoding() {
        return Err(bad(&e.to_string()));
    }
    match d.standalone() {
        Some(Err(e)) => return Err(bad(&e.to_string())),
        Some(Ok(v)) if !matches!(&*v, b"yes" | b"no") => {
            let shown = String::from_utf8_lossy(&v);
            return Err(bad(&format!(
                "standalone must be 'yes' or 'no', not '{shown}'"
            )));
        }
        _ => {}
    }
    Ok(())
}

struct Decl {
    /// Empty for the default namespace.
    prefix: Box<str>,
    uri: Box<str>,
    depth: usize,
}

/// At most this many namespace declarations in scope: prefixes are looked up by a scan
/// (libvirt's documents declare a handful), which must stay cheap on hostile input.
pub(super) const NS_MAX: usize = 256;

/// The namespace declarations in scope.
#[derive(Default)]
pub(super) struct NsScope {
    decls: Vec<Decl>,
    /// How many of them declare a default namespace.
    defaults: usize,
}

impl NsScope {
    /// `xmlns='uri'` or `xmlns:p='uri'` on an element at `depth`.
    pub fn declare(
        &mut self,
        key: &[u8],
        v: &[u8],
        plain: bool,
        depth: usize,
        at: usize,
    ) -> Result<(), WfError> {
        let raw = String::from_utf8_lossy(v);
        let uri: Cow<str> = if plain {
            raw
        } else {
            Cow::Owned(decode_attr(&raw))
        };
        let prefix = std::str::from_utf8(key.get(6..).unwrap_or(b""))
            .unwrap_or("")
            .to_string();
        let err = |m: &str| Err(WfError::new(at, m.to_string()));
        // (`xmlns:xmlns='...'` is a namespace error that libxml2 and roxmltree let pass.)
        if uri == XMLNS_URI {
            return err("the 'xmlns' namespace cannot be declared");
        }
        if prefix == "xml" {
            if uri != XML_URI {
                return err("the prefix 'xml' cannot be bound to another namespace");
            }
            return Ok(());
        }
        if uri == XML_URI {
            return err("the 'xml' namespace cannot be bound to another prefix");
        }
        if self
            .decls
            .iter()
            .rev()
            .take_while(|d| d.depth == depth)
            .any(|d| *d.prefix == *prefix)
        {
            return Err(WfError::new(
                at,
                format!("namespace '{prefix}' declared twice"),
            ));
        }
        if self.decls.len() >= NS_MAX {
            return Err(WfError::new(
                at,
                format!("more than {NS_MAX} namespace declarations in scope"),
            ));
        }
        self.defaults += prefix.is_empty() as usize;
        self.decls.push(Decl {
            prefix: prefix.into(),
            uri: uri.into_owned().into(),
            depth,
        });
        Ok(())
    }

    /// Drops the declarations of elements at `depth` and below.
    pub fn pop(&mut self, depth: usize) {
        while self.decls.last().is_some_and(|d| d.depth >= depth) {
            if self.decls.pop().is_some_and(|d| d.prefix.is_empty()) {
                self.defaults -= 1;
            }
        }
    }

    /// Whether unprefixed element names are in a namespace: the innermost `xmlns='...'` in
    /// scope names one (`xmlns=''` takes an outer default away again).
    pub fn has_default(&self) -> bool {
        self.defaults > 0
            && self
                .decls
                .iter()
                .rev()
                .find(|d| d.prefix.is_empty())
                .is_some_and(|d| !d.uri.is_empty())
    }

    /// The URI a prefix is bound to.
    pub fn resolve(&self, prefix: &[u8], at: usize) -> Result<&str, WfError> {
        if prefix == b"xml" {
            return Ok(XML_URI);
        }
        self.decls
            .iter()
            .rev()
            .find(|d| d.prefix.as_bytes() == prefix)
            .map(|d| &*d.uri)
            .ok_or_else(|| {
                WfError::new(
                    at,
                    format!(
                        "unknown namespace prefix '{}'",
                        String::from_utf8_lossy(prefix)
                    ),
                )
            })
    }
}

/// An attribute's expanded name: namespace URI (none when unprefixed) and local name.
fn expanded<'t>(
    text: &'t str,
    a: &AttrRec,
    ns: &'t NsScope,
) -> Result<(Option<&'t str>, &'t str), WfError> {
    let local = &text[a.local_start as usize..a.name_end as usize];
    if !a.prefixed {
        return Ok((None, local));
    }
    let prefix = &text.as_bytes()[a.start as usize..a.local_start as usize - 1];
    Ok((Some(ns.resolve(prefix, a.start as usize)?), local))
}

/// Prefixes of the attributes of one start tag are bound, and no two have the same
/// expanded name. `prefixed`: whether any of them has a prefix.
#[inline]
pub(super) fn attributes(
    text: &str,
    attrs: &[AttrRec],
    prefixed: bool,
    ns: &NsScope,
) -> Result<(), WfError> {
    if prefixed || attrs.len() > 16 {
        return attributes_slow(text, attrs, ns);
    }
    if attrs.len() < 2 {
        return Ok(());
    }
    distinct_names(text.as_bytes(), attrs).map_err(|a| dup(text, a))
}

/// No two unprefixed attributes have the same name; else the second of the first pair.
fn distinct_names<'r>(t: &[u8], attrs: &'r [AttrRec]) -> Result<(), &'r AttrRec> {
    // No prefix: expanded names are the names as written. Names of another length (most
    // pairs) are told apart without reading them.
    let name = |a: &AttrRec| &t[a.start as usize..a.name_end as usize];
    for (i, a) in attrs.iter().enumerate().skip(1) {
        let len = a.name_end - a.start;
        if attrs[..i]
            .iter()
            .any(|b| b.name_end - b.start == len && eq_short(name(b), name(a)))
        {
            return Err(a);
        }
    }
    Ok(())
}

fn dup(text: &str, a: &AttrRec) -> WfError {
    WfError::new(
        a.start as usize,
        format!(
            "duplicate attribute '{}'",
            &text[a.start as usize..a.name_end as usize]
        ),
    )
}

#[cold]
fn attributes_slow(text: &str, attrs: &[AttrRec], ns: &NsScope) -> Result<(), WfError> {
    let dup = |a: &AttrRec| dup(text, a);
    if attrs.len() <= 16 {
        for (i, a) in attrs.iter().enumerate() {
            let ea = expanded(text, a, ns)?;
            for b in &attrs[..i] {
                if expanded(text, b, ns)? == ea {
                    return Err(dup(a));
                }
            }
        }
    } else {
        let mut seen = hashbrown::HashSet::with_capacity_and_hasher(
            attrs.len(),
            foldhash::fast::RandomState::default(),
        );
        for a in attrs {
            if !seen.insert(expanded(text, a, ns)?) {
                return Err(dup(a));
            }
        }
    }
    Ok(())
}
