//! Findings of a fresh-user tester: a disk that does not exist yet, special files as
//! input, paused guests, spoofed output.

mod common;

use common::*;

/// A disk locked before it exists and the file once created are one disk, whatever
/// name (symlinked directory, `//`, `/./`, `x/..`) each locker used.
#[test]
fn a_disk_created_under_the_lock_stays_locked() {
    let s = Space::new();
    let real = s.path("real");
    std::fs::create_dir(&real).unwrap();
    let images = s.path("images");
    std::os::unix::fs::symlink(&real, &images).unwrap();
    let typed = format!("{}/vm.img", images.display());
    // COMMAND creates the image while holding the lock on its future path.
    let pidfile = s.path("first.pid");
    let script = format!(
        "truncate -s 1M {typed}; echo $$ > {0}.tmp; mv {0}.tmp {0}; exec sleep 600",
        pidfile.display()
    );
    let mut first = s
        .cmd()
        .args(["run", "--disk", &typed, "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    let pid = wait_file(&pidfile);
    assert!(real.join("vm.img").exists());
    for name in [
        typed.clone(),
        format!("{}/vm.img", real.display()),
        format!("{}//./vm.img", images.display()),
        format!("{}/x/../vm.img", real.display()),
    ] {
        let o = s.run(&["run", "--disk", &name, "--", "true"]);
        assert_eq!(o.status.code(), Some(75), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains("run:sh"), "{}", stderr(&o));
        assert_eq!(s.run(&["who", &name]).status.code(), Some(1), "{name}");
    }
    kill(pid, libc::SIGKILL);
    first.wait().unwrap();

    // Two spellings of one missing file, both before it exists.
    let missing = format!("{}/new.img", real.display());
    let (mut holder, pid) = s.hold(
        &["--disk", &format!("{}/x/../new.img", real.display())],
        "h",
    );
    let o = s.run(&["run", "--disk", &missing, "--", "true"]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    kill(pid, libc::SIGKILL);
    holder.wait().unwrap();
}

fn mkfifo(p: &std::path::Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// A FIFO, a device, a directory or an oversized file as the config or the domain XML:
/// refused at once, naming the file (never a hang, never read without end).
#[test]
fn special_files_are_refused_as_input() {
    let s = Space::new();
    let a = s.disk("a.img");
    let fifo = s.path("fifo");
    mkfifo(&fifo);
    let big = s.path("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(10 * 1024 * 1024 + 1)
        .unwrap();
    let dir = s.path("dir");
    std::fs::create_dir(&dir).unwrap();
    let cases = [
        (fifo.to_str().unwrap(), "is not a regular file"),
        ("/dev/zero", "is not a regular file"),
        (dir.to_str().unwrap(), "is not a regular file"),
        (big.to_str().unwrap(), "is larger than 10485760 bytes"),
    ];
    for (file, want) in cases {
        for sub in [
            vec!["status"],
            vec!["who", &a],
            vec!["run", "--disk", &a, "--", "true"],
        ] {
            let o = std::process::Command::new(BIN)
                .args(["--config", file])
                .args(&sub)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(78), "{file} {sub:?}: {}", stderr(&o));
            let e = stderr(&o);
            assert!(
                e.contains(&format!("config file '{file}' {want}")),
                "{file}: {e}"
            );
        }
        let o = s.run(&["run", "--domain-xml", file, "--", "true"]);
        assert_eq!(o.status.code(), Some(65), "{file}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(&format!("domain XML '{file}' {want}")), "{e}");
    }
    // A <lease> whose file is a FIFO, a device or a directory: bad input (65), never
    // opened.
    for target in [fifo.to_str().unwrap(), "/dev/null", dir.to_str().unwrap()] {
        let xml = s.path("lease.xml");
        std::fs::write(
            &xml,
            format!(
                "<domain type='qemu'><name>l</name><devices><lease><lockspace>s</lockspace>\
                 <key>k</key><target path='{target}'/></lease></devices></domain>"
            ),
        )
        .unwrap();
        let o = s.run(&["run", "--domain-xml", xml.to_str().unwrap(), "--", "true"]);
        assert_eq!(o.status.code(), Some(65), "{target}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("lease file '{target}' is not a regular file")),
            "{}",
            stderr(&o)
        );
    }
}

/// Names and paths come from whoever starts a guest or a tool: a newline or an escape
/// sequence in one is printed escaped, so it cannot forge a line of output.
#[test]
fn printed_names_are_escaped() {
    let s = Space::new();
    let a = s.disk("a\nb.img");
    let evil = s.path("evil\nvirtcore-lock: all disks free\x1b[2J");
    std::os::unix::fs::symlink("/bin/sh", &evil).unwrap();
    let pidfile = s.path("evil.pid");
    let script = format!(
        "echo $$ > {0}.tmp; mv {0}.tmp {0}; exec sleep 600",
        pidfile.display()
    );
    let mut child = s
        .cmd()
        .args(["run", "--disk", &a, "--"])
        .arg(&evil)
        .args(["-c", &script])
        .spawn()
        .unwrap();
    let pid = wait_file(&pidfile);
    let name = "run:evil\nvirtcore-lock: all disks free\x1b[2J";
    let shown = "run:evil\\nvirtcore-lock: all disks free\\x1b[2J";
    let o = s.run(&["who", &a]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(shown) && out.contains("a\\nb.img"), "{out}");
    assert!(!out.contains('\x1b'), "{out}");
    let out = stdout(&s.run(&["status"]));
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains(shown) && out.contains("a\\nb.img"), "{out}");
    // A refused run and a refused guest start (the plugin's message) alike.
    let o = s.run(&["run", "--disk", &a, "--", "true"]);
    assert_eq!(o.status.code(), Some(75));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains(shown) && e.contains("a\\nb.img"), "{e}");
    // JSON carries the names as they are (serde escapes control characters).
    let j = json(&s.run(&["who", "--json", &a]));
    assert_eq!(j[0]["holders"][0]["name"], name);
    assert_eq!(j[0]["disk"], a);
    assert!(!stdout(&s.run(&["status", "--json"])).contains('\x1b'));
    kill(pid, libc::SIGKILL);
    child.wait().unwrap();
}

/// `status` and `who` only read: a user who may read a root-owned 0755 lockspace may
/// use them; one others may write to is still refused; `run` still needs to write.
#[test]
fn reading_needs_only_read_access() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // needs root to run a command as another user
    }
    let s = Space::new();
    let a = s.disk("a.img");
    let mode = |p: &std::path::Path, m| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    mode(s.tmp.path(), 0o755);
    mode(&s.dir, 0o755);
    mode(std::path::Path::new(&a), 0o644);
    // The build tree may sit in a directory others cannot enter (CI clones into a 0700
    // mktemp directory): run a copy of the binary from the test's own 0755 directory.
    let bin = s.path("virtcore-lock");
    std::fs::copy(common::BIN, &bin).unwrap();
    mode(&bin, 0o755);
    // Tests run in threads of one process: a child another test forks between our copy
    // and its exec holds the copy's write descriptor for an instant (ETXTBSY): retry.
    let nobody = |args: &[&str]| {
        let mut tries = 0;
        loop {
            let r = std::process::Command::new(&bin)
                .arg("--config")
                .arg(&s.conf)
                .args(args)
                .uid(65534)
                .gid(65534)
                .output();
            match r {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                r => break r.unwrap(),
            }
        }
    };
    let o = nobody(&["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("no resource held"), "{}", stdout(&o));
    let o = nobody(&["who", &a]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = nobody(&["run", "--disk", &a, "--", "true"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not writable"), "{}", stderr(&o));
    // Lease files (0600) of a disk root holds: said so, never reported as free.
    let (mut r, pid) = s.hold(&["--disk", &a], "h");
    for args in [vec!["status"], vec!["who", &a]] {
        let o = nobody(&args);
        assert_eq!(o.status.code(), Some(71), "{args:?}");
        assert!(
            stderr(&o).contains("readable only by the user holding them"),
            "{}",
            stderr(&o)
        );
    }
    kill(pid, libc::SIGKILL);
    r.wait().unwrap();
    mode(&s.dir, 0o777);
    let o = nobody(&["status"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("writable by other users"),
        "{}",
        stderr(&o)
    );
    mode(&s.dir, 0o700);
}
