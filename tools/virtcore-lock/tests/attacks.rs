//! Issue 16 through `virtcore-lock`: another local user (uid 65534, through setpriv)
//! swaps a parent of the lockspace directory while a command holds a disk, or plants
//! entries at lease-file names; operator mistakes (a misspelt --config or key, a path
//! that does not exist) never give a false all-clear; `gc` clears what nothing holds.
//! The attacks need root (to be root and nobody): skipped otherwise.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    uid == 0
        && Command::new("setpriv")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// A shell command as uid/gid 65534 with no groups.
fn as_nobody(script: &str) {
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
            script,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{script}: {}", stderr(&o));
}

/// A lockspace at PARENT/locks, PARENT root's for now.
fn nested() -> (Space, std::path::PathBuf, std::path::PathBuf) {
    let s = Space::new();
    let parent = s.path("shared");
    let locks = parent.join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    std::fs::write(
        &s.conf,
        format!("lockspace_dir = \"{}\"\n", locks.display()),
    )
    .unwrap();
    (s, parent, locks)
}

#[test]
fn swapped_parent_lets_no_second_writer_in() {
    if !root() {
        return;
    }
    for symlink in [false, true] {
        let (s, parent, locks) = nested();
        let a = s.disk("a.img");
        let (mut held, pid) = s.hold(&["--disk", &a], "h");
        let elsewhere = s.path("other-root-dir");
        std::fs::create_dir(&elsewhere).unwrap();
        // The parent handed to another user, who swaps the lockspace directory.
        std::os::unix::fs::chown(&parent, Some(65534), Some(65534)).unwrap();
        let (l, p, e) = (locks.display(), parent.display(), elsewhere.display());
        if symlink {
            as_nobody(&format!("mv '{l}' '{p}/old' && ln -s '{e}' '{l}'"));
        } else {
            as_nobody(&format!("mv '{l}' '{p}/old' && mkdir -m 0777 '{l}'"));
        }
        for args in [
            vec!["run", "--disk", &a, "--", "true"],
            vec!["who", &a],
            vec!["status"],
            vec!["gc"],
        ] {
            let o = s.run(&args);
            assert_eq!(o.status.code(), Some(78), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains("owned by uid 65534"), "{}", stderr(&o));
        }
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(&locks).unwrap().count(), 0);
        kill(pid, libc::SIGKILL);
        held.wait().unwrap();
    }
}

/// Plants one entry at the lease file's name.
type Plant<'a> = Box<dyn Fn() + 'a>;

#[test]
fn planted_entries_are_refused_then_collected() {
    if !root() {
        return;
    }
    let s = Space::new();
    let a = s.disk("a.img");
    // The lease file's name, from a first run.
    assert_eq!(
        s.run(&["run", "--disk", &a, "--", "true"]).status.code(),
        Some(0)
    );
    let o = s.run(&["gc"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("2 lease file(s) removed"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read_dir(&s.dir).unwrap().count(),
        0,
        "gc removed them"
    );
    let canon = std::fs::canonicalize(&a).unwrap();
    let name = lockspace::lease::sha256_hex(canon.to_str().unwrap().as_bytes());
    let lease = s.dir.join(name);
    let victim = s.path("victim");
    std::fs::write(&victim, b"precious").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let l = lease.display().to_string();
    let plants: Vec<(&str, Plant, &str)> = vec![
        (
            "hard link",
            Box::new(|| std::fs::hard_link(&victim, &lease).unwrap()),
            "2 links",
        ),
        (
            "fifo",
            Box::new(|| as_nobody(&format!("mkfifo -m 0600 '{l}'"))),
            "not a regular file",
        ),
        (
            "symlink",
            Box::new(|| as_nobody(&format!("ln -s '{}' '{l}'", victim.display()))),
            "not a regular file",
        ),
        (
            "foreign file",
            Box::new(|| as_nobody(&format!("umask 077; touch '{l}'"))),
            "owned by uid 65534",
        ),
    ];
    for (what, plant, needle) in plants {
        // Planted while the directory was open to everyone.
        std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        plant();
        std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        for args in [vec!["run", "--disk", &a, "--", "true"], vec!["who", &a]] {
            let o = s.run(&args);
            assert_ne!(o.status.code(), Some(0), "{what} {args:?}");
            let e = stderr(&o);
            assert!(e.contains(needle) && e.contains(&l), "{what}: {e}");
            assert!(e.contains(a.as_str()), "{what}: names the disk: {e}");
        }
        let o = s.run(&["gc"]);
        assert!(stdout(&o).contains(needle), "{what}: {}", stdout(&o));
        assert!(
            std::fs::symlink_metadata(&lease).is_err(),
            "{what}: removed"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
    assert_eq!(
        s.run(&["run", "--disk", &a, "--", "true"]).status.code(),
        Some(0)
    );
}

#[test]
fn gc_keeps_what_is_held() {
    let s = Space::new();
    let a = s.disk("a.img");
    let b = s.disk("b.img");
    let (mut held, pid) = s.hold(&["--disk", &a], "h");
    assert_eq!(
        s.run(&["run", "--disk", &b, "--", "true"]).status.code(),
        Some(0)
    );
    let o = s.run(&["gc"]);
    assert!(
        stdout(&o).contains("2 lease file(s) removed, 2 in use kept"),
        "{}",
        stdout(&o)
    );
    assert_eq!(s.run(&["who", &a]).status.code(), Some(1));
    assert_eq!(
        s.run(&["run", "--disk", &a, "--", "true"]).status.code(),
        Some(75)
    );
    kill(pid, libc::SIGKILL);
    held.wait().unwrap();
}

#[test]
fn operator_mistakes_are_never_an_all_clear() {
    let s = Space::new();
    let a = s.disk("a.img");
    // A misspelt --config: an error, not the defaults.
    let typo = s.path("qemu-lockspcae.conf");
    for args in [
        vec!["who", &a],
        vec!["status"],
        vec!["run", "--disk", &a, "--", "true"],
    ] {
        let o = Command::new(BIN)
            .arg("--config")
            .arg(&typo)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(78), "{args:?}");
        assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    }
    // A misspelt key: reported (the plugin's own warning for `run`).
    std::fs::write(
        &s.conf,
        format!(
            "lockspace_dir = \"{}\"\nlockspace_dri = \"/x\"\n",
            s.dir.display()
        ),
    )
    .unwrap();
    for args in [vec!["who", &a], vec!["run", "--disk", &a, "--", "true"]] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&o).contains("unknown setting 'lockspace_dri'"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // A path that does not exist: said so, holders still reported.
    let ghost = s.path("not-yet.img");
    let g = ghost.to_str().unwrap();
    let o = s.run(&["who", g]);
    assert!(
        stdout(&o).contains("(no such file): free"),
        "{}",
        stdout(&o)
    );
    let (mut held, pid) = s.hold(&["--disk", g], "g");
    let o = s.run(&["who", g]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("(no such file): held exclusive"),
        "{}",
        stdout(&o)
    );
    assert_eq!(json(&s.run(&["who", "--json", g]))[0]["exists"], false);
    let o = s.run(&["run", "--disk", &s.disk("x.img"), "--disk", g, "--", "true"]);
    assert_eq!(o.status.code(), Some(75));
    assert!(stderr(&o).contains("does not exist yet"), "{}", stderr(&o));
    kill(pid, libc::SIGKILL);
    held.wait().unwrap();
}
