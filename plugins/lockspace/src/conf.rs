//! The driver's configuration file in libvirt's conf syntax: `name = value` entries,
//! where a value is a quoted string ("…" or '…'), an integer or a list `[v, …]`;
//! `#` starts a comment; entries are separated by new lines or `;`.
//! Known key: `lockspace_dir` (a string). Unknown keys are ignored, as libvirt does.
//!
//! A hand parser, because no crate reads this syntax: TOML is close but refuses what
//! libvirt's files contain (repeated keys, `;` separators, dotted names as plain names).
//! Lists may nest only [`MAX_NESTING`] deep, so hostile input (100k `[`) is an error,
//! never a stack overflow.

use std::path::{Path, PathBuf};

use crate::abi::err::*;
use crate::error::{Error, Result};

pub const DEFAULT_LOCKSPACE_DIR: &str = "/var/lib/virtcore/lockspace";

/// How deep lists may nest (libvirt's own files use flat lists).
pub const MAX_NESTING: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    List(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub lockspace_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lockspace_dir: PathBuf::from(DEFAULT_LOCKSPACE_DIR),
        }
    }
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
    file: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> Error {
        Error::new(
            VIR_ERR_CONF_SYNTAX,
            format!("config file '{}' line {}: {what}", self.file, self.line),
        )
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// Skips blanks and comments; with `newlines`, new lines too.
    fn skip(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' if newlines => {
                    self.line += 1;
                    self.pos += 1
                }
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn name(&mut self) -> Result<String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        {
            self.pos += 1;
        }
        if start == self.pos || !self.src[start].is_ascii_alphabetic() {
            return Err(self.err("expected a setting name"));
        }
        Ok(String::from_utf8_lossy(&self.src[start..self.pos]).into_owned())
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|c| c != q && c != b'\n') {
                    self.pos += 1;
                }
                if self.peek() != Some(q) {
                    return Err(self.err("unterminated string"));
                }
                let s = String::from_utf8(self.src[start..self.pos].to_vec())
                    .map_err(|_| self.err("string is not valid UTF-8"))?;
                self.pos += 1;
                Ok(Value::Str(s))
            }
            Some(b'[') if depth >= MAX_NESTING => {
                Err(self.err(&format!("lists nested more than {MAX_NESTING} deep")))
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip(true);
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        return Ok(Value::List(items));
                    }
                    items.push(self.value(depth + 1)?);
                    self.skip(true);
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {}
                        _ => return Err(self.err("expected ',' or ']' in list")),
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
                text.parse::<i64>()
                    .map(Value::Int)
                    .map_err(|_| self.err("invalid integer"))
            }
            _ => Err(self.err("expected a value (string, integer or list)")),
        }
    }
}

/// Parses conf text into its entries, in order. `file` names the file in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<(String, Value)>> {
    let mut p = Parser {
        src: text.as_bytes(),
        pos: 0,
        line: 1,
        file,
    };
    let mut out = Vec::new();
    loop {
        p.skip(true);
        while p.peek() == Some(b';') {
            p.pos += 1;
            p.skip(true);
        }
        if p.peek().is_none() {
            return Ok(out);
        }
        let name = p.name()?;
        p.skip(false);
        if p.peek() != Some(b'=') {
            return Err(p.err(&format!("expected '=' after '{name}'")));
        }
        p.pos += 1;
        p.skip(false);
        let value = p.value(0)?;
        p.skip(false);
        match p.peek() {
            None | Some(b'\n') | Some(b';') => {}
            _ => return Err(p.err(&format!("unexpected text after the value of '{name}'"))),
        }
        out.push((name, value));
    }
}

/// The configuration from conf text.
pub fn from_text(text: &str, file: &str) -> Result<Config> {
    let mut cfg = Config::default();
    for (name, value) in parse(text, file)? {
        if name == "lockspace_dir" {
            match value {
                Value::Str(s) if s.starts_with('/') => cfg.lockspace_dir = PathBuf::from(s),
                Value::Str(s) => {
                    return Err(Error::new(
                        VIR_ERR_CONFIG_UNSUPPORTED,
                        format!(
                            "config file '{file}': lockspace_dir '{s}' is not an absolute path"
                        ),
                    ))
                }
                _ => {
                    return Err(Error::new(
                        VIR_ERR_CONF_SYNTAX,
                        format!("config file '{file}': expected a string for 'lockspace_dir'"),
                    ))
                }
            }
        }
    }
    Ok(cfg)
}

/// Reads the configuration: a NULL or missing file gives the defaults; an unreadable or
/// malformed one, a special file (FIFO, device, directory) or one larger than
/// [`crate::input::INPUT_FILE_MAX`] is an error naming it (never a hang).
pub fn load(file: Option<&Path>) -> Result<Config> {
    let Some(path) = file else {
        return Ok(Config::default());
    };
    let Some(bytes) = crate::input::read_regular(path, "config file")? else {
        return Ok(Config::default());
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::new(
            VIR_ERR_CONF_SYNTAX,
            format!("config file '{}' is not valid UTF-8", path.display()),
        )
    })?;
    from_text(&text, &path.display().to_string())
}

fn meta(dir: &Path) -> std::io::Result<std::fs::Metadata> {
    std::fs::metadata(dir)
}

/// Whether `st` is writable by users other than its owner (group or others).
fn writable_by_others(st: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    st.permissions().mode() & 0o022 != 0
}

fn mode_text(st: &std::fs::Metadata) -> String {
    use std::os::unix::fs::PermissionsExt;
    format!("{:04o}", st.permissions().mode() & 0o7777)
}

/// Creates a missing lockspace directory (mode 0700; missing parents 0755, like
/// `install -d`) below its nearest existing ancestor, which must be a directory not
/// writable by other users unless sticky (`/tmp`): what is created there stays ours,
/// and is checked again afterwards.
fn create_lockspace_dir(dir: &Path) -> Result<()> {
    let missing = |why: String| {
        Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!(
                "lockspace directory '{}' is missing and cannot be created: {why}",
                dir.display()
            ),
        )
    };
    let mut todo = vec![dir];
    let mut base = dir.parent();
    let ancestor = loop {
        let Some(p) = base else {
            return Err(missing("no existing parent".into()));
        };
        match meta(p) {
            Ok(st) => break (p, st),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                todo.push(p);
                base = p.parent();
            }
            Err(e) => return Err(missing(format!("'{}': {e}", p.display()))),
        }
    };
    let (parent, st) = ancestor;
    use std::os::unix::fs::PermissionsExt;
    if !st.is_dir() {
        return Err(missing(format!(
            "'{}' is not a directory",
            parent.display()
        )));
    }
    if writable_by_others(&st) && st.permissions().mode() & 0o1000 == 0 {
        return Err(missing(format!(
            "its parent '{}' is writable by other users (mode {})",
            parent.display(),
            mode_text(&st)
        )));
    }
    use std::os::unix::fs::DirBuilderExt;
    for (i, d) in todo.iter().rev().enumerate() {
        let last = i + 1 == todo.len();
        match std::fs::DirBuilder::new()
            .mode(if last { 0o700 } else { 0o755 })
            .create(d)
        {
            Ok(()) => {}
            // Created meanwhile by someone else: checked below like any existing one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(missing(format!("'{}': {e}", d.display()))),
        }
    }
    Ok(())
}

/// A usable lockspace directory, created when missing: a directory (symlinks to one are
/// followed: shared storage is often mounted elsewhere), owned by this user or root, not
/// writable by any other user (who could otherwise replace or pre-create lease files),
/// in which this process may create files (checked with the effective ids, as the open
/// will be).
pub fn check_lockspace_dir(dir: &Path) -> Result<()> {
    if let Err(e) = meta(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(Error::system(
                e,
                format!("lockspace directory '{}'", dir.display()),
            ));
        }
        create_lockspace_dir(dir)?;
    }
    check_existing_dir(dir, libc::W_OK | libc::X_OK, "writable")
}

/// A lockspace directory that is safe to read (`virtcore-lock status`, `who`): the same
/// checks as [`check_lockspace_dir`], but it is never created and this user needs only
/// to read it (a root-owned 0755 directory is fine for any user).
pub fn check_lockspace_dir_readable(dir: &Path) -> Result<()> {
    check_existing_dir(dir, libc::R_OK | libc::X_OK, "readable")
}

fn check_existing_dir(dir: &Path, access: i32, needed: &str) -> Result<()> {
    let meta = meta(dir)
        .map_err(|e| Error::system(e, format!("lockspace directory '{}'", dir.display())))?;
    if !meta.is_dir() {
        return Err(Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!("lockspace directory '{}' is not a directory", dir.display()),
        ));
    }
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me && meta.uid() != 0 {
        return Err(Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!(
                "lockspace directory '{}' is owned by uid {}, not by this user (uid {me}) or root",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    if writable_by_others(&meta) {
        return Err(Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!(
                "lockspace directory '{}' is writable by other users (mode {}): make it 0700 or 0755",
                dir.display(),
                mode_text(&meta)
            ),
        ));
    }
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::invalid_arg("lockspace directory contains a NUL byte"))?;
    // SAFETY: valid C string; faccessat has no other preconditions.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), access, libc::AT_EACCESS) };
    if rc != 0 {
        return Err(Error::last_os(format!(
            "lockspace directory '{}' is not {needed}",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libvirt_syntax() {
        let text = "# comment\nlockspace_dir = \"/srv/locks\" # trailing\n\
                    other = 12; list = [ \"a\",\n 'b', ]\n\n";
        let entries = parse(text, "t.conf").unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1], ("other".into(), Value::Int(12)));
        assert_eq!(
            entries[2].1,
            Value::List(vec![Value::Str("a".into()), Value::Str("b".into())])
        );
        let cfg = from_text(text, "t.conf").unwrap();
        assert_eq!(cfg.lockspace_dir, PathBuf::from("/srv/locks"));
    }

    #[test]
    fn defaults_and_empty() {
        assert_eq!(from_text("", "x").unwrap(), Config::default());
        assert_eq!(load(None).unwrap(), Config::default());
        assert_eq!(
            load(Some(Path::new("/nonexistent/dir/x.conf"))).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let e = from_text("a = 1\nlockspace_dir = \"/x\n", "bad.conf").unwrap_err();
        assert_eq!(e.code, VIR_ERR_CONF_SYNTAX);
        assert!(
            e.message.contains("bad.conf") && e.message.contains("line 2"),
            "{e}"
        );
        for bad in ["= 3", "x 3", "x = ", "x = [1 2]", "x = 1 2", "x = @"] {
            assert!(from_text(bad, "f").is_err(), "{bad}");
        }
        let e = from_text("lockspace_dir = 3", "f").unwrap_err();
        assert!(e.message.contains("expected a string"), "{e}");
        let e = from_text("lockspace_dir = \"rel\"", "f").unwrap_err();
        assert_eq!(e.code, VIR_ERR_CONFIG_UNSUPPORTED);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("x = {}", "[".repeat(100_000));
        let e = from_text(&text, "deep.conf").unwrap_err();
        assert_eq!(e.code, VIR_ERR_CONF_SYNTAX);
        assert!(e.message.contains("nested more than 16"), "{e}");
        let ok = format!("x = {}{}", "[".repeat(16), "]".repeat(16));
        assert!(from_text(&ok, "f").is_ok());
    }

    #[test]
    fn lockspace_dir_checks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        check_lockspace_dir(dir.path()).unwrap();
        // Missing: created 0700, missing parents 0755.
        let missing = dir.path().join("a/b/missing");
        check_lockspace_dir(&missing).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&missing), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o755);
        // Writable by others: refused, naming the directory and its mode.
        std::fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_lockspace_dir(&missing).unwrap_err();
        assert!(
            e.message.contains(missing.to_str().unwrap()) && e.message.contains("mode 0777"),
            "{e}"
        );
        std::fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o770)).unwrap();
        assert!(check_lockspace_dir(&missing).is_err());
        // A missing one under a parent others may write to is not created.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_lockspace_dir(&open.join("ls")).unwrap_err();
        assert!(
            e.message.contains("is missing and cannot be created"),
            "{e}"
        );
        assert!(e.message.contains("mode 0777"), "{e}");
        assert!(!open.join("ls").exists());
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        let e = check_lockspace_dir(&file).unwrap_err();
        assert!(e.message.contains("not a directory"), "{e}");
    }
}
