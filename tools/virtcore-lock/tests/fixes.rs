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
