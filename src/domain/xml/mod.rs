//! Domain XML in libvirt's format.
//!
//! * `parse`: `doc` reads the document (quick-xml tokens, the well-formedness checks of
//!   `check`, a flat list of elements); the fields virtcore models are filled in as
//!   libvirt 9.0's generic parser would (post-parse and validation included) and the
//!   `<domain>` element's text is kept with where each field sits in it (`model`).
//! * `store`: the text and the records, packed into one block per definition (only where
//!   each element starts and the values as parsed: `scan` finds the rest in the text).
//! * `format`: the kept text, edited where C code changed a field; everything else comes
//!   back byte for byte.

use std::ffi::c_uint;

use crate::domain::error::xml_err;
use crate::error::{virErrorDomain, virErrorNumber, Error};

mod check;
mod disk;
mod doc;
mod format;
mod model;
mod parse;
mod scan;
mod store;
#[cfg(test)]
mod store_tests;

pub use format::format;

/// A status file's `<domstatus>` element: its root's name, the attributes `state`,
/// `reason`, `pid` as read, and where its first `<domain>` child is.
pub(crate) struct StatusDoc {
    pub root: String,
    pub state: Option<String>,
    pub reason: Option<String>,
    pub pid: Option<String>,
    pub domain: Option<std::ops::Range<usize>>,
}

/// Reads a status file's wrapper (the `<domain>` inside is parsed by [`parse`]).
pub(crate) fn read_status(text: &str) -> Result<StatusDoc, Error> {
    let doc = doc::Doc::parse(text).map_err(|e| {
        let (line, col) = e.line_col(text);
        xml_err(format!(
            "malformed status XML at line {line}, column {col}: {}",
            e.msg
        ))
    })?;
    let root = doc.root;
    let attr = |n: &str| doc.attr(root, n).map(|a| doc.attr_value(a).into_owned());
    let domain = doc
        .children(root)
        .find(|&c| doc.local(doc.node(c)) == "domain");
    Ok(StatusDoc {
        root: doc.local(doc.node(root)).to_string(),
        state: attr("state"),
        reason: attr("reason"),
        pid: attr("pid"),
        domain: domain.map(|d| doc.range(d)),
    })
}
pub use parse::parse;
pub(crate) use store::DefPrivate;

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

/// Frees the private part of a definition (called by `def_free`).
///
/// # Safety
/// `p` is NULL or was produced by [`parse`] and not freed yet.
pub(crate) unsafe fn free_private(p: *mut std::ffi::c_void) {
    if !p.is_null() {
        DefPrivate::free(p);
    }
}

/// Checks a domain name, at parse and at rename alike: present (`VIR_ERR_NO_NAME`), no
/// '/', not too long for a file name, and only characters a document can carry (a C0
/// control other than tab, newline and carriage return cannot be written in XML 1.0, so
/// such a name could never be saved and read back).
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    // Nearly every name passes: one pass over its bytes settles that (no '/', no C0
    // control; U+FFFE and U+FFFF are the only refused characters whose UTF-8 starts with
    // 0xEF). A name that fails it gets the checks below, in their order, for the error.
    let suspect = |b: u8| b < 0x20 || b == b'/' || b == 0xef;
    if !name.is_empty() && name.len() <= VIRTCORE_DOMAIN_NAME_MAX && !name.bytes().any(suspect) {
        return Ok(());
    }
    if name.is_empty() {
        return Err(Error::new(
            virErrorDomain::VIR_FROM_DOMAIN,
            virErrorNumber::VIR_ERR_NO_NAME,
            "missing name information",
        ));
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
    if let Some(c) = name.chars().find(|&c| {
        ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
            || c == '\u{fffe}'
            || c == '\u{ffff}'
    }) {
        return Err(Error::new(
            virErrorDomain::VIR_FROM_DOMAIN,
            virErrorNumber::VIR_ERR_XML_DETAIL,
            format!("invalid char in name {name:?}: U+{:04X}", c as u32),
        ));
    }
    Ok(())
}
#[cfg(test)]
mod tests_wf;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_whether_or_not_they_look_suspect() {
        for ok in [
            "vm1",
            "é",
            "\u{fffd}x",
            "a\tb\r\nc",
            &"x".repeat(VIRTCORE_DOMAIN_NAME_MAX),
        ] {
            assert!(check_name(ok).is_ok(), "{ok:?}");
        }
        let msg = |n: &str| check_name(n).unwrap_err().message;
        assert_eq!(msg(""), "missing name information");
        assert!(msg("a/\u{1}").contains("cannot contain '/'"));
        assert!(msg(&"é".repeat(200)).contains("too long"));
        assert!(msg("a\u{1}").ends_with("U+0001"));
        assert!(msg("a\u{fffe}").ends_with("U+FFFE"));
        assert!(msg("a\u{ffff}b").ends_with("U+FFFF"));
    }
}
