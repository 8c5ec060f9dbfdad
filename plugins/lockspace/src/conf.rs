//! The driver's configuration file in libvirt's conf syntax: `name = value` entries,
//! where a value is a quoted string ("…" or '…'), an integer or a list `[v, …]`;
//! `#` starts a comment; entries are separated by new lines or `;`.
//! Known keys: `lockspace_dir` (a string) and `lockspace_owner` (a user name or uid: the
//! owner of a lockspace on a root-squashed NFS export, trusted like root for it, see
//! `trust.rs`). Unknown keys are not an error, as in libvirt, but are listed in
//! [`Config::unknown`] so that a typo is reported (tool: on stderr; plugin: a warning in
//! libvirt's log) instead of silently giving the default.
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
    /// `lockspace_owner`: a user trusted with the lockspace besides root and this one.
    pub lockspace_owner: Option<u32>,
    /// Keys of the file that mean nothing to this driver, with their line of text.
    pub unknown: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lockspace_dir: PathBuf::from(DEFAULT_LOCKSPACE_DIR),
            lockspace_owner: None,
            unknown: Vec::new(),
        }
    }
}

impl Config {
    /// Who may own the lockspace directory, its ancestors and lease files.
    pub fn owners(&self) -> crate::trust::Owners {
        crate::trust::Owners {
            extra: self.lockspace_owner,
        }
    }

    /// One warning per unknown key (empty when there is none).
    pub fn warnings(&self, file: &str) -> Vec<String> {
        self.unknown
            .iter()
            .map(|k| {
                format!("config file '{file}': unknown setting '{k}' ignored (known: lockspace_dir, lockspace_owner)")
            })
            .collect()
    }
}

/// A user name or uid as `lockspace_owner` gives it.
fn owner_uid(value: &Value, file: &str) -> Result<u32> {
    let bad = |what: String| {
        Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!("config file '{file}': lockspace_owner {what}"),
        )
    };
    match value {
        Value::Int(n) => u32::try_from(*n).map_err(|_| bad(format!("{n} is not a uid"))),
        Value::Str(name) => {
            if let Ok(n) = name.parse::<u32>() {
                return Ok(n);
            }
            let c = std::ffi::CString::new(name.as_bytes())
                .map_err(|_| bad("contains a NUL byte".into()))?;
            // SAFETY: getpwnam_r with buffers we own; the result points into them.
            let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
            let mut buf = vec![0 as libc::c_char; 16384];
            let mut out: *mut libc::passwd = std::ptr::null_mut();
            let rc = unsafe {
                libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut out)
            };
            if rc != 0 || out.is_null() {
                return Err(bad(format!("'{name}' is not a known user")));
            }
            Ok(pw.pw_uid)
        }
        Value::List(_) => Err(Error::new(
            VIR_ERR_CONF_SYNTAX,
            format!("config file '{file}': expected a user name or uid for 'lockspace_owner'"),
        )),
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
        if name == "lockspace_owner" {
            cfg.lockspace_owner = Some(owner_uid(&value, file)?);
        } else if name != "lockspace_dir" {
            cfg.unknown.push(name);
        } else {
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

/// Reads the configuration, as [`load`] does, except that a named file that does not
/// exist is an error (`virtcore-lock --config FILE`: a typo must not give the defaults).
pub fn load_named(file: &Path) -> Result<Config> {
    match std::fs::symlink_metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::new(
            VIR_ERR_CONFIG_UNSUPPORTED,
            format!("config file '{}' does not exist", file.display()),
        )),
        _ => load(Some(file)),
    }
}

/// A usable lockspace directory, created when missing (see [`crate::trust`]: every
/// component owned by root, this user or `lockspace_owner`, none writable by another
/// user), in which this process may create files (checked with the effective ids, as
/// the open will be). Remembered, held open and verified again at every use.
pub fn check_lockspace_dir(cfg: &Config) -> Result<()> {
    check_dir(cfg, true, libc::W_OK | libc::X_OK, "writable")
}

/// A lockspace directory that is safe to read (`virtcore-lock status`, `who`): the same
/// checks as [`check_lockspace_dir`], but it is never created and this user needs only
/// to read it (a root-owned 0755 directory is fine for any user).
pub fn check_lockspace_dir_readable(cfg: &Config) -> Result<()> {
    check_dir(cfg, false, libc::R_OK | libc::X_OK, "readable")
}

fn check_dir(cfg: &Config, create: bool, access: i32, needed: &str) -> Result<()> {
    let dir = &cfg.lockspace_dir;
    crate::trust::check(dir, cfg.owners(), create)?;
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
    fn unknown_keys_and_owner() {
        let cfg = from_text("lockspace_dri = \"/x\"\nlockspace_owner = 65534\n", "f").unwrap();
        assert_eq!(cfg.unknown, vec!["lockspace_dri".to_string()]);
        assert_eq!(cfg.lockspace_owner, Some(65534));
        assert!(cfg.warnings("f")[0].contains("unknown setting 'lockspace_dri'"));
        let cfg = from_text("lockspace_owner = \"root\"", "f").unwrap();
        assert_eq!(cfg.lockspace_owner, Some(0));
        assert!(from_text("lockspace_owner = \"no-such-user-x\"", "f").is_err());
        assert!(from_text("lockspace_owner = -1", "f").is_err());
        let e = load_named(Path::new("/nonexistent/typo.conf")).unwrap_err();
        assert!(e.message.contains("does not exist"), "{e}");
    }

    fn cfg(dir: &Path) -> Config {
        Config {
            lockspace_dir: dir.to_path_buf(),
            ..Config::default()
        }
    }

    #[test]
    fn lockspace_dir_checks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        check_lockspace_dir(&cfg(dir.path())).unwrap();
        // Missing: created 0700, missing parents 0755.
        let missing = dir.path().join("a/b/missing");
        check_lockspace_dir(&cfg(&missing)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&missing), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o755);
        // Writable by others: refused, naming the directory and its mode.
        std::fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_lockspace_dir(&cfg(&missing)).unwrap_err();
        assert!(
            e.message.contains(missing.to_str().unwrap()) && e.message.contains("mode 0777"),
            "{e}"
        );
        std::fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o770)).unwrap();
        assert!(check_lockspace_dir(&cfg(&missing)).is_err());
        // A missing one under a parent others may write to is not created.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_lockspace_dir(&cfg(&open.join("ls"))).unwrap_err();
        assert!(e.message.contains("cannot be created"), "{e}");
        assert!(e.message.contains("mode 0777"), "{e}");
        assert!(!open.join("ls").exists());
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        let e = check_lockspace_dir(&cfg(&file)).unwrap_err();
        assert!(e.message.contains("not a directory"), "{e}");
    }
}
