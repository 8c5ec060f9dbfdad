//! `status` and `who`: output (text and JSON), stale records, symlinks, a lease file of
//! the previous format, hostile lockspace directories and configs, help and man pages.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;

use common::*;

#[test]
fn status_lists_holders_and_forgets_the_gone() {
    let s = Space::new();
    let (a, b) = (s.disk("a.img"), s.disk("b.img"));
    let o = s.run(&["status"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("no resource held"), "{}", stdout(&o));
    let (mut r1, p1) = s.hold(&["--disk", &a], "a");
    let (mut r2, p2) = s.hold(&["--shared", "--disk", &b], "b");
    let o = s.run(&["status"]);
    let text = stdout(&o);
    assert!(
        text.contains(&format!("disk:{a}")) && text.contains(&format!("pid {p1}")),
        "{text}"
    );
    assert!(
        text.contains("exclusive") && text.contains("shared"),
        "{text}"
    );
    let j = json(&s.run(&["status", "--json"]));
    assert_eq!(j["lockspace_dir"], s.dir.to_str().unwrap());
    let rows = j["resources"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{j:#}");
    let row = |p: &str| rows.iter().find(|r| r["path"] == p).unwrap().clone();
    assert_eq!(row(&a)["mode"], "exclusive");
    assert_eq!(row(&a)["type"], "disk");
    assert_eq!(row(&a)["holders"][0]["pid"], p1);
    assert_eq!(row(&a)["holders"][0]["name"], "run:sh");
    assert!(row(&a)["holders"][0]["uuid"].as_str().unwrap().len() == 36);
    assert!(!row(&a)["holders"][0]["host"].as_str().unwrap().is_empty());
    assert_eq!(row(&b)["mode"], "shared");
    assert_eq!(row(&b)["holders"][0]["pid"], p2);
    // A holder that is gone is never shown (its record stays in the file).
    kill(p1, libc::SIGKILL);
    r1.wait().unwrap();
    let j = json(&s.run(&["status", "--json"]));
    let rows = j["resources"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{j:#}");
    assert_eq!(rows[0]["path"], b.as_str());
    kill(p2, libc::SIGKILL);
    r2.wait().unwrap();
    assert!(json(&s.run(&["status", "--json"]))["resources"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn who_finds_a_disk_by_any_name() {
    let s = Space::new();
    let a = s.disk("a.img");
    let link = s.path("link.img");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let (mut r, pid) = s.hold(&["--disk", link.to_str().unwrap()], "a");
    let o = s.run(&["who", &a, &s.disk("free.img")]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains(&format!("{a}: held exclusive by run:sh")),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {pid}")) && text.contains("free.img: free"),
        "{text}"
    );
    // Through the symlink too; canonical path in JSON.
    let j = json(&s.run(&["who", "--json", link.to_str().unwrap()]));
    assert_eq!(j[0]["path"], a.as_str());
    assert_eq!(j[0]["held"], true);
    // A hard link is the same image: held too (the plugin's image identity lease),
    // and refused to `run`; `status` still shows one row, the disk as it was locked.
    let hard = s.path("hard.img");
    std::fs::hard_link(&a, &hard).unwrap();
    let hard = hard.to_str().unwrap();
    let j = json(&s.run(&["who", "--json", hard]));
    assert_eq!(j[0]["held"], true, "{j:#}");
    assert_eq!(j[0]["holders"][0]["pid"], pid);
    let o = s.run(&["run", "--disk", hard, "--", "true"]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    let st = json(&s.run(&["status", "--json"]));
    assert_eq!(st["resources"].as_array().unwrap().len(), 1, "{st:#}");
    assert_eq!(st["resources"][0]["path"], a.as_str());
    kill(pid, libc::SIGKILL);
    r.wait().unwrap();
    assert_eq!(s.run(&["who", &a]).status.code(), Some(0));
    assert_eq!(s.run(&["who", hard]).status.code(), Some(0));
    let o = s.run(&["who", "rel.img"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(stderr(&o).contains("rel.img"), "{}", stderr(&o));
}

/// A lease file as the first version wrote it: header, then at slot 1 a `VCLSREC1`
/// record (mode, pid, UUID, name and host in 240-byte fields; no resource), held by
/// this test process (resource lock and slot lock), as a guest of the old plugin would.
#[test]
fn lease_file_of_the_previous_format() {
    let s = Space::new();
    let a = s.disk("a.img");
    let canon = std::fs::canonicalize(&a).unwrap();
    // The plugin's naming: the SHA-256 of the canonical path (checked by `who` below).
    let files = ["status", "--json"];
    let (mut r, pid) = s.hold(&["--disk", &a], "probe");
    let j = json(&s.run(&files));
    let lease_file = j["resources"][0]["lease_file"]
        .as_str()
        .unwrap()
        .to_string();
    kill(pid, libc::SIGKILL);
    r.wait().unwrap();
    let mut buf = vec![0u8; 16 + 2 * 512];
    buf[..8].copy_from_slice(b"VCLSLEA1");
    buf[8..16].copy_from_slice(&7u64.to_le_bytes());
    let rec = &mut buf[16 + 512..16 + 1024];
    rec[..8].copy_from_slice(b"VCLSREC1");
    rec[8..12].copy_from_slice(&1u32.to_le_bytes()); // exclusive
    rec[12..16].copy_from_slice(&std::process::id().to_le_bytes());
    rec[16..32].copy_from_slice(&[0x11; 16]);
    rec[32..38].copy_from_slice(b"oldvm1");
    rec[32 + 240..32 + 240 + 5].copy_from_slice(b"node1");
    std::fs::write(&lease_file, &buf).unwrap();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lease_file)
        .unwrap();
    for at in [0i64, 1024 + 1] {
        // SAFETY: zeroed flock is valid; F_OFD_SETLK on our own file.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as _;
        fl.l_start = at;
        fl.l_len = 1;
        assert_eq!(
            unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &fl) },
            0
        );
    }
    let j = json(&s.run(&["status", "--json"]));
    let row = &j["resources"][0];
    assert_eq!(row["resource"], "path unknown");
    assert_eq!(row["type"], "unknown");
    assert_eq!(row["mode"], "exclusive");
    assert_eq!(row["holders"][0]["name"], "oldvm1");
    assert_eq!(row["holders"][0]["host"], "node1");
    assert!(stdout(&s.run(&["status"])).contains("path unknown"));
    // Still honoured: who names it, run is refused naming it.
    let o = s.run(&["who", "--json", canon.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)[0]["holders"][0]["name"], "oldvm1");
    let o = s.run(&["run", "--disk", &a, "--", "true"]);
    assert_eq!(o.status.code(), Some(75));
    assert!(stderr(&o).contains("'oldvm1'"), "{}", stderr(&o));
    drop(f);
    // Tests run in threads of one process: a child another test forks shares this
    // process's open files (the lease file and its locks) until it execs, for an instant.
    let mut code = None;
    for _ in 0..50 {
        code = s.run(&["who", &a]).status.code();
        if code == Some(0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(code, Some(0));
}

#[test]
fn hostile_lockspace_directory() {
    let s = Space::new();
    let a = s.disk("a.img");
    // Entries planted with lease-file names: a FIFO (would hang a blocking open), a
    // symlink to a held lease, a directory. Skipped, never followed or waited on.
    let (mut r, pid) = s.hold(&["--disk", &a], "h");
    let held = json(&s.run(&["status", "--json"]))["resources"][0]["lease_file"]
        .as_str()
        .unwrap()
        .to_string();
    let name = |c: char| s.dir.join(std::iter::repeat_n(c, 64).collect::<String>());
    let fifo = std::ffi::CString::new(name('a').to_str().unwrap()).unwrap();
    // SAFETY: valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink(&held, name('b')).unwrap();
    std::fs::create_dir(name('c')).unwrap();
    std::fs::write(s.dir.join("not-a-lease"), b"junk").unwrap();
    std::fs::write(name('d'), b"garbage that is no lease file at all").unwrap();
    let j = json(&s.run(&["status", "--json"]));
    assert_eq!(j["resources"].as_array().unwrap().len(), 1, "{j:#}");
    assert_eq!(j["resources"][0]["holders"][0]["pid"], pid);
    kill(pid, libc::SIGKILL);
    r.wait().unwrap();
    // A directory others may write: refused by every subcommand, status 78.
    std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    for args in [
        vec!["status"],
        vec!["who", &a],
        vec!["run", "--disk", &a, "--", "true"],
    ] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(78), "{args:?}");
        assert!(
            stderr(&o).contains("writable by other users") && stderr(&o).contains("0777"),
            "{}",
            stderr(&o)
        );
    }
    // Owned by another user (when we can arrange it: root).
    std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&s.dir, Some(65534), None).unwrap();
        let o = s.run(&["status"]);
        assert_eq!(o.status.code(), Some(78));
        assert!(stderr(&o).contains("owned by uid 65534"), "{}", stderr(&o));
        std::os::unix::fs::chown(&s.dir, Some(0), None).unwrap();
    }
    // Missing, or a file.
    std::fs::remove_dir_all(&s.dir).unwrap();
    let o = s.run(&["status"]);
    assert_eq!(o.status.code(), Some(78));
    assert!(
        stderr(&o).contains(s.dir.to_str().unwrap()),
        "{}",
        stderr(&o)
    );
    std::fs::write(&s.dir, b"").unwrap();
    let o = s.run(&["run", "--disk", &a, "--", "true"]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr(&o).contains("not a directory"), "{}", stderr(&o));
}

#[test]
fn config_errors() {
    let s = Space::new();
    let a = s.disk("a.img");
    for (text, want) in [
        ("lockspace_dir = \"/x\n", "line 1"),
        ("lockspace_dir = 3\n", "expected a string"),
        ("lockspace_dir = \"relative\"\n", "not an absolute path"),
    ] {
        std::fs::write(&s.conf, text).unwrap();
        for args in [vec!["status"], vec!["run", "--disk", &a, "--", "true"]] {
            let o = s.run(&args);
            assert_eq!(o.status.code(), Some(78), "{text}");
            assert!(stderr(&o).contains(want), "{text}: {}", stderr(&o));
        }
    }
}

#[test]
fn help_and_man_pages() {
    let s = Space::new();
    for sub in [vec![], vec!["status"], vec!["who"], vec!["run"]] {
        let o = std::process::Command::new(BIN)
            .args(&sub)
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{sub:?}");
        let t = stdout(&o);
        assert!(
            t.contains("Usage: virtcore-lock") && t.contains("Exit status"),
            "{t}"
        );
    }
    let man = s.path("man");
    let o = std::process::Command::new(BIN)
        .args(["man", man.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for page in [
        "virtcore-lock",
        "virtcore-lock-status",
        "virtcore-lock-who",
        "virtcore-lock-run",
    ] {
        let t = std::fs::read_to_string(man.join(format!("{page}.1"))).unwrap();
        assert!(t.contains(".TH") && t.contains("75"), "{page}");
    }
}

/// Readers take no lock: while `status` and `who` run in a loop, every `run` of a free
/// disk succeeds (a reader never makes a start fail), and every reading parses.
#[test]
fn readers_never_refuse_a_start() {
    let s = Space::new();
    let a = s.disk("a.img");
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|sc| {
        sc.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let o = s.run(&["status", "--json"]);
                assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
                json(&o);
                let o = s.run(&["who", &a]);
                assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
            }
        });
        for i in 0..100 {
            let o = s.run(&["run", "--disk", &a, "--", "true"]);
            assert_eq!(o.status.code(), Some(0), "start {i}: {}", stderr(&o));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

/// A bind mount of a held image is the same disk to `who` and `run` (root and a private
/// mount namespace needed: skipped otherwise).
#[test]
fn bind_mount_is_the_same_disk() {
    let s = Space::new();
    let a = s.disk("a.img");
    let b = s.disk("b.img");
    let (mut r, pid) = s.hold(&["--disk", &a], "h");
    let script = format!(
        "mount --bind {a} {b} || exit 99; {bin} --config {c} who --json {b}; \
         {bin} --config {c} run --disk {b} -- true; echo \"run=$?\"",
        bin = BIN,
        c = s.conf.display()
    );
    let o = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output();
    kill(pid, libc::SIGKILL);
    r.wait().unwrap();
    let Ok(o) = o else {
        eprintln!("skipped: no unshare");
        return;
    };
    if o.status.code() == Some(99) || !o.status.success() && o.stdout.is_empty() {
        eprintln!("skipped: no private mount namespace here: {}", stderr(&o));
        return;
    }
    let text = stdout(&o);
    let (json_text, tail) = text.rsplit_once("run=").unwrap();
    assert_eq!(tail.trim(), "75", "{text}{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(json_text).unwrap();
    assert_eq!(j[0]["held"], true, "{j:#}");
    assert_eq!(j[0]["holders"][0]["pid"], pid);
}
