//! The built-in lock-driver directory, as a record `make install` can rewrite.
//!
//! The directory is compiled in from the build's `LOCKDRIVERDIR`, but a library is often
//! installed somewhere else than the prefix it was built for (`make` then
//! `make install PREFIX=/opt/x`, or `LOCKDRIVERDIR=...` given to install only). Install
//! builds nothing, so it cannot recompile; instead the value lives in a fixed-size record
//! — a magic prefix, the path, NUL padding — that `scripts/set-lockdriverdir.pl` rewrites in
//! place in the installed `libvirtcore.so` and `libvirtcore.a` (same length, so nothing
//! else in the file moves). This works for the static library too, and for any
//! `LOCKDRIVERDIR`, unlike a directory derived from the `.so`'s own location with `dladdr`.
//!
//! The record is read with a volatile read: the compiler must not fold the build-time
//! value into the code that uses it, or the rewrite would not be seen.

/// Marks the record; the rewriting script looks for exactly this.
const MAGIC: &[u8] = b"@VIRTCORE_LOCKDRIVERDIR@=";
/// Whole record size: the magic, a path of up to `RECORD_LEN - MAGIC.len() - 1` bytes,
/// and at least one NUL.
const RECORD_LEN: usize = 4096;

const BUILD_DIR: &str = match option_env!("VIRTCORE_LOCKDRIVERDIR") {
    Some(d) => d,
    None => "/usr/local/lib/virtcore/lock-driver",
};

const fn record(dir: &str) -> [u8; RECORD_LEN] {
    let dir = dir.as_bytes();
    assert!(
        MAGIC.len() + dir.len() < RECORD_LEN,
        "LOCKDRIVERDIR too long"
    );
    let mut out = [0u8; RECORD_LEN];
    let mut i = 0;
    while i < MAGIC.len() {
        out[i] = MAGIC[i];
        i += 1;
    }
    let mut j = 0;
    while j < dir.len() {
        out[i + j] = dir[j];
        j += 1;
    }
    out
}

#[used]
static RECORD: [u8; RECORD_LEN] = record(BUILD_DIR);

/// The directory in the record: the installed one after `make install`, else the build's.
pub fn builtin_plugin_dir() -> String {
    // SAFETY: RECORD is a valid, aligned static; a volatile read of it is always sound.
    let rec = unsafe { std::ptr::read_volatile(&RECORD) };
    parse(&rec).unwrap_or_else(|| BUILD_DIR.to_string())
}

/// The path of a record, or None when it is not well formed (then the build-time value is
/// used: a damaged file must not make the library look in a random place).
fn parse(rec: &[u8]) -> Option<String> {
    let path = rec.strip_prefix(MAGIC)?;
    let end = path.iter().position(|&b| b == 0)?;
    let dir = std::str::from_utf8(&path[..end]).ok()?;
    dir.starts_with('/').then(|| dir.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        assert_eq!(
            parse(&record("/opt/x/lib/lock")).unwrap(),
            "/opt/x/lib/lock"
        );
        assert_eq!(builtin_plugin_dir(), BUILD_DIR);
    }

    #[test]
    fn damaged_record_is_ignored() {
        let mut r = record("/opt/x");
        r[0] = b'X';
        assert!(parse(&r).is_none());
        assert!(parse(&record("relative/dir")).is_none());
        let full = [b'a'; RECORD_LEN];
        assert!(parse(&full).is_none());
    }
}
