//! Holder records: who holds a lease (or is registered for it), written by the holder in
//! its slot of the lease file (layout in `lease.rs`). Two formats: the first
//! (`VCLSREC1`: mode, pid, UUID, name and host) is still read, so holders of an older
//! version are still named; the current one (`VCLSREC2`) also carries the resource
//! (what was locked: canonical disk path, image identity, lease lockspace/key) and the
//! descriptor number through which the guest's process holds the file.

use crate::lease::sha256_hex;

pub const RECORD_SIZE: usize = 512;
/// Records of the first format (name and host, 240 bytes each): still read.
pub(crate) const RECORD_MAGIC_V1: &[u8; 8] = b"VCLSREC1";
const TEXT_FIELD_V1: usize = 240;
/// The current format: name (128), host (64), the holder's descriptor number of this
/// file (i32, -1: none), 4 reserved, resource (u16 length + 278 bytes).
const RECORD_MAGIC: &[u8; 8] = b"VCLSREC2";
const NAME_FIELD: std::ops::Range<usize> = 32..160;
const HOST_FIELD: std::ops::Range<usize> = 160..224;
const FD_FIELD: std::ops::Range<usize> = 224..228;
const RESOURCE_LEN: std::ops::Range<usize> = 232..234;
const RESOURCE_FIELD: std::ops::Range<usize> = 234..RECORD_SIZE;

pub const MODE_EXCLUSIVE: u32 = 1;
pub const MODE_SHARED: u32 = 2;
pub const MODE_REGISTERED: u32 = 3;

/// Who holds a lease, as recorded in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub mode: u32,
    /// The guest's own process (the process whose open file holds the lock).
    pub pid: u32,
    pub uuid: [u8; 16],
    pub name: String,
    pub host: String,
    /// What the holder locked (`disk:CANONICAL-PATH`, `lease:LOCKSPACE/KEY`…); `None` in
    /// records of the first format. Longer than its field: `sha256:HEX` of the text.
    pub resource: Option<String>,
    /// The descriptor number through which the guest's process holds this file (its
    /// registration), -1 when it has none (a file handed in, an old record): where
    /// another process looks first for the guest's open file.
    pub fd: i32,
}

fn put_text(buf: &mut [u8], s: &str) {
    let mut n = s.len().min(buf.len() - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
}

fn get_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Holder {
    pub fn encode(&self) -> [u8; RECORD_SIZE] {
        let mut b = [0u8; RECORD_SIZE];
        b[..8].copy_from_slice(RECORD_MAGIC);
        b[8..12].copy_from_slice(&self.mode.to_le_bytes());
        b[12..16].copy_from_slice(&self.pid.to_le_bytes());
        b[16..32].copy_from_slice(&self.uuid);
        put_text(&mut b[NAME_FIELD], &self.name);
        put_text(&mut b[HOST_FIELD], &self.host);
        b[FD_FIELD].copy_from_slice(&self.fd.to_le_bytes());
        if let Some(r) = &self.resource {
            // Whole or not at all: a cut path would name another file.
            let text = if r.len() <= RESOURCE_FIELD.len() {
                r.clone()
            } else {
                format!("sha256:{}", sha256_hex(r.as_bytes()))
            };
            b[RESOURCE_LEN].copy_from_slice(&(text.len() as u16).to_le_bytes());
            b[RESOURCE_FIELD.start..RESOURCE_FIELD.start + text.len()]
                .copy_from_slice(text.as_bytes());
        }
        b
    }

    pub fn decode(b: &[u8]) -> Option<Holder> {
        if b.len() < RECORD_SIZE {
            return None;
        }
        let mut h = Holder {
            mode: u32::from_le_bytes(b[8..12].try_into().ok()?),
            pid: u32::from_le_bytes(b[12..16].try_into().ok()?),
            uuid: b[16..32].try_into().ok()?,
            name: String::new(),
            host: String::new(),
            resource: None,
            fd: -1,
        };
        if &b[..8] == RECORD_MAGIC_V1 {
            h.name = get_text(&b[32..32 + TEXT_FIELD_V1]);
            h.host = get_text(&b[32 + TEXT_FIELD_V1..32 + 2 * TEXT_FIELD_V1]);
            return Some(h);
        }
        if &b[..8] != RECORD_MAGIC {
            return None;
        }
        h.name = get_text(&b[NAME_FIELD]);
        h.host = get_text(&b[HOST_FIELD]);
        h.fd = i32::from_le_bytes(b[FD_FIELD].try_into().ok()?);
        let len = u16::from_le_bytes(b[RESOURCE_LEN].try_into().ok()?) as usize;
        if len > 0 {
            let field = b.get(RESOURCE_FIELD.start..RESOURCE_FIELD.start + len)?;
            h.resource = Some(String::from_utf8_lossy(field).into_owned());
        }
        Some(h)
    }

    /// For error messages and listings: name and host escaped (see [`escape`]).
    pub fn describe(&self) -> String {
        format!(
            "guest '{}' (uuid {}, pid {}, host {})",
            escape(&self.name),
            format_uuid(&self.uuid),
            self.pid,
            escape(&self.host)
        )
    }
}

/// Text from a holder record or a user (guest and command names, hosts, paths) made safe
/// to print: anyone who may start a guest or a tool chooses these names, and a newline
/// or a terminal escape in one could forge lines of an error message or a listing.
/// Control characters (C0, DEL, C1) and the bidirectional overrides are written as
/// `\n`, `\t`, `\r`, `\xNN` or `\u{NNNN}`, and a backslash as `\\`, so the
/// result is unambiguous; anything else is kept.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(|c| c.is_control() || c == '\\' || bidi(c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() || bidi(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

pub fn format_uuid(u: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*u).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_text_is_escaped() {
        assert_eq!(escape("vm-1 é"), "vm-1 é");
        assert_eq!(
            escape("vm\nvirtcore-lock: forged\t\x1b[2J\u{9b}\u{202e}\\"),
            "vm\\nvirtcore-lock: forged\\t\\x1b[2J\\u{009b}\\u{202e}\\\\"
        );
        let h = Holder {
            mode: MODE_EXCLUSIVE,
            pid: 1,
            uuid: [0; 16],
            name: "a\nb".into(),
            host: "h\r".into(),
            fd: -1,
            resource: None,
        };
        let d = h.describe();
        assert!(
            !d.contains('\n') && !d.contains('\r') && d.contains("a\\nb"),
            "{d}"
        );
    }

    #[test]
    fn records_round_trip() {
        let h = Holder {
            mode: MODE_SHARED,
            pid: 4242,
            uuid: *b"0123456789abcdef",
            name: "é".repeat(200),
            host: "host-a".into(),
            resource: Some("disk:/images/a.img".into()),
            fd: 9,
        };
        let back = Holder::decode(&h.encode()).unwrap();
        assert_eq!(back.pid, 4242);
        assert!(back.name.len() < NAME_FIELD.len() && back.name.chars().all(|c| c == 'é'));
        assert_eq!(back.host, "host-a");
        assert_eq!(back.resource.as_deref(), Some("disk:/images/a.img"));
        assert_eq!(back.fd, 9);
        let long = Holder {
            resource: Some(format!("disk:/{}", "x".repeat(400))),
            ..h.clone()
        };
        let r = Holder::decode(&long.encode()).unwrap().resource.unwrap();
        assert!(r.starts_with("sha256:") && r.len() == 71, "{r}");
        // A record of the first format (no resource) is still read.
        let mut v1 = [0u8; RECORD_SIZE];
        v1[..8].copy_from_slice(RECORD_MAGIC_V1);
        v1[8..12].copy_from_slice(&MODE_SHARED.to_le_bytes());
        v1[12..16].copy_from_slice(&77u32.to_le_bytes());
        v1[16..32].copy_from_slice(&[3; 16]);
        v1[32..34].copy_from_slice(b"vm");
        v1[32 + TEXT_FIELD_V1..32 + TEXT_FIELD_V1 + 2].copy_from_slice(b"hh");
        let old = Holder::decode(&v1).unwrap();
        assert_eq!((old.mode, old.pid, old.uuid), (MODE_SHARED, 77, [3; 16]));
        assert_eq!((old.name.as_str(), old.host.as_str()), ("vm", "hh"));
        assert_eq!((old.resource, old.fd), (None, -1));
        assert!(Holder::decode(&[0u8; RECORD_SIZE]).is_none());
        assert_eq!(
            format_uuid(&[0x12; 16]),
            "12121212-1212-1212-1212-121212121212"
        );
    }
}
