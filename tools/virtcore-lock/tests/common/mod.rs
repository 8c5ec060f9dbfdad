//! Shared set-up for the program's tests: a private lockspace directory and config, the
//! binary, and waiting for a COMMAND to run (it runs only once it holds its locks).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_virtcore-lock");

pub struct Space {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub conf: PathBuf,
}

impl Space {
    pub fn new() -> Space {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("lockspace");
        std::fs::create_dir(&dir).unwrap();
        let conf = tmp.path().join("qemu-lockspace.conf");
        std::fs::write(&conf, format!("lockspace_dir = \"{}\"\n", dir.display())).unwrap();
        Space { tmp, dir, conf }
    }

    /// A disk image (an empty file) in the test's directory.
    pub fn disk(&self, name: &str) -> String {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, b"").unwrap();
        p.to_str().unwrap().to_string()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config").arg(&self.conf);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// `virtcore-lock run ARGS -- sh -c 'echo $$ > PIDFILE; exec sleep 600'` in the
    /// background; returns it and COMMAND's pid once COMMAND runs (it holds the locks).
    pub fn hold(&self, args: &[&str], tag: &str) -> (Child, i32) {
        let pidfile = self.path(&format!("{tag}.pid"));
        let script = format!(
            "echo $$ > {}.tmp; mv {0}.tmp {0}; exec sleep 600",
            pidfile.display()
        );
        let child = self
            .cmd()
            .arg("run")
            .args(args)
            .args(["--", "sh", "-c", &script])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = wait_file(&pidfile);
        (child, pid)
    }
}

/// Waits for a pid file (no time limit asserted: the test harness has its own).
pub fn wait_file(p: &Path) -> i32 {
    loop {
        if let Ok(s) = std::fs::read_to_string(p) {
            if let Ok(pid) = s.trim().parse() {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(pid, sig) };
}

impl Space {
    /// Waits until `who DISK` says free (a killed process's files close as it exits,
    /// before anyone reaps it).
    pub fn wait_free(&self, disk: &str) {
        while self.run(&["who", disk]).status.code() != Some(0) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}
