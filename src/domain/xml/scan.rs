//! Finding an element's parts again in the kept `<domain>` text, from where it starts.
//!
//! The text was parsed, so it is well-formed: a tag ends at the first `>` outside quotes
//! (an attribute value may hold `>`, never its own quote), and in content every `<` starts
//! markup (text and attribute values cannot hold a raw `<`). That is all these scans rely
//! on; `store`'s test checks them against the parser's records over every stored document.

use std::ops::Range;

use super::model::Elem;

/// A start tag: end of its name, end of its last attribute (or of the name), just past
/// its `>`, and whether it is `<x/>`.
#[derive(Clone, Copy)]
pub(super) struct Tag {
    pub name_end: usize,
    pub attr_end: usize,
    pub end: usize,
    pub self_closing: bool,
}

fn blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Index of `pat` in `b` at or after `from` (the end of `b` if absent: the text is
/// well-formed, so that does not happen).
fn find(b: &[u8], from: usize, pat: &[u8]) -> usize {
    let hay = b.get(from..).unwrap_or_default();
    let at = match pat {
        // Quotes and '>' are near: a plain loop beats memchr's set-up there.
        [c] if *c != b'<' => hay.iter().position(|b| b == c),
        [c] => memchr::memchr(*c, hay),
        _ => memchr::memmem::find(hay, pat),
    };
    at.map_or(b.len(), |i| from + i)
}

/// End of the tag name of the start tag at `s`.
fn start_tag_name_end(b: &[u8], s: usize) -> usize {
    let mut i = s + 1;
    while i < b.len() && !(blank(b[i]) || b[i] == b'/' || b[i] == b'>') {
        i += 1;
    }
    i
}

pub(super) fn start_tag(b: &[u8], s: usize) -> Tag {
    let name_end = start_tag_name_end(b, s);
    let mut i = name_end;
    let mut attr_end = name_end;
    while i < b.len() {
        match b[i] {
            b'>' => {
                return Tag {
                    name_end,
                    attr_end,
                    end: i + 1,
                    self_closing: b[i - 1] == b'/',
                }
            }
            c if blank(c) || c == b'/' => i += 1,
            _ => {
                // name = 'value' (a value may hold '>' but never its own quote)
                let ns = i;
                while i < b.len() && !(blank(b[i]) || b[i] == b'=') {
                    i += 1;
                }
                let name = &b[ns..i];
                while i < b.len() && b[i] != b'"' && b[i] != b'\'' {
                    i += 1;
                }
                let q = b.get(i).copied().unwrap_or(b'"');
                i = find(b, i + 1, &[q]) + 1;
                // Namespace declarations are not attributes (as for the parser).
                if name != b"xmlns" && !name.starts_with(b"xmlns:") {
                    attr_end = i;
                }
            }
        }
    }
    Tag {
        name_end,
        attr_end,
        end: b.len(),
        self_closing: true,
    }
}

/// The attribute `name` of the start tag at `s`: its whole `name='value'` and its value.
pub(super) fn find_attr(b: &[u8], s: usize, name: &str) -> Option<(Range<usize>, Range<usize>)> {
    let mut i = start_tag_name_end(b, s);
    loop {
        while b.get(i).copied().is_some_and(blank) {
            i += 1;
        }
        if matches!(b.get(i), None | Some(b'/' | b'>')) {
            return None;
        }
        let ns = i;
        while i < b.len() && !(blank(b[i]) || b[i] == b'=') {
            i += 1;
        }
        let ne = i;
        while i < b.len() && b[i] != b'"' && b[i] != b'\'' {
            i += 1;
        }
        let q = *b.get(i)?;
        let vs = i + 1;
        let ve = find(b, vs, &[q]);
        i = ve + 1;
        if &b[ns..ne] == name.as_bytes() {
            return Some((ns..i, vs..ve));
        }
    }
}

/// The attribute whose value starts at `vs`: its whole `name='value'` and its value.
pub(super) fn value_attr(b: &[u8], vs: usize) -> (Range<usize>, Range<usize>) {
    let q = b[vs - 1];
    let ve = find(b, vs, &[q]);
    // Back over the quote, blanks, '=', blanks, to the start of the name.
    let mut i = vs - 1;
    while i > 0 && (blank(b[i - 1]) || b[i - 1] == b'=') {
        i -= 1;
    }
    while i > 0 && !blank(b[i - 1]) {
        i -= 1;
    }
    (i..ve + 1, vs..ve)
}

/// Start of the raw blanks before `s` when a `>` (the end of markup, so they are a text
/// node of their own) precedes them; else `s`.
fn ws_start(b: &[u8], s: usize) -> usize {
    let mut k = s;
    while k > 0 && blank(b[k - 1]) {
        k -= 1;
    }
    if k < s && k > 0 && b[k - 1] == b'>' {
        k
    } else {
        s
    }
}

/// The element starting at `s` of the well-formed text `x`, walked to its end tag.
pub(super) fn scan_elem(x: &str, s: usize) -> Elem {
    let b = x.as_bytes();
    let tag = start_tag(b, s);
    let mut e = Elem {
        ws_start: ws_start(b, s) as u32,
        range: s as u32..tag.end as u32,
        name_end: tag.name_end as u32,
        attr_end: tag.attr_end as u32,
        content_start: tag.end as u32,
        close_start: tag.end as u32,
        last_child_end: tag.end as u32,
        child_ws: None,
        self_closing: tag.self_closing,
        has_children: false,
    };
    if tag.self_closing {
        return e;
    }
    // Markup at depth 0 is a child of this element; `text_from` is where the text node
    // before the next child starts (just after the last markup).
    let mut depth = 0usize;
    let mut i = tag.end;
    let mut text_from = i;
    while i < b.len() {
        let j = find(b, i, b"<");
        if j >= b.len() {
            break;
        }
        let rest = &b[j..];
        if rest.starts_with(b"</") {
            let end = find(b, j, b">") + 1;
            if depth == 0 {
                e.close_start = j as u32;
                e.range.end = end as u32;
                return e;
            }
            depth -= 1;
            i = end;
            if depth == 0 {
                e.last_child_end = end as u32;
                text_from = end;
            }
            continue;
        }
        i = if rest.starts_with(b"<!--") {
            find(b, j, b"-->") + 3
        } else if rest.starts_with(b"<![CDATA[") {
            find(b, j, b"]]>") + 3
        } else if rest.starts_with(b"<?") {
            find(b, j, b"?>") + 2
        } else {
            if depth == 0 && !e.has_children {
                e.has_children = true;
                if text_from < j && b[text_from..j].iter().all(|&c| blank(c)) {
                    e.child_ws = Some(text_from as u32..j as u32);
                }
            }
            let t = start_tag(b, j);
            if t.self_closing {
                if depth == 0 {
                    e.last_child_end = t.end as u32;
                }
            } else {
                depth += 1;
            }
            t.end
        };
        if depth == 0 {
            text_from = i;
        }
    }
    e.range.end = b.len() as u32;
    e.close_start = b.len() as u32;
    e
}
