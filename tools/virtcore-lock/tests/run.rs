//! `virtcore-lock run`: COMMAND holds the locks in its own process; refusals, waiting,
//! exit statuses, SIGKILL of either process, domain XML.

mod common;

use common::*;

#[test]
fn command_holds_the_lock_and_is_named() {
    let s = Space::new();
    let a = s.disk("a.img");
    let (mut run, pid) = s.hold(&["--disk", &a], "h");
    // who: held, by run:sh with COMMAND's pid (sh execs sleep: same pid).
    let o = s.run(&["who", "--json", &a]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j[0]["held"], true);
    assert_eq!(j[0]["mode"], "exclusive");
    assert_eq!(j[0]["holders"][0]["name"], "run:sh");
    assert_eq!(j[0]["holders"][0]["pid"], pid);
    // A second run is refused at once, naming the holder, with status 75.
    let o = s.run(&["run", "--disk", &a, "--", "true"]);
    assert_eq!(o.status.code(), Some(75));
    let e = stderr(&o);
    assert!(
        e.contains("locked by guest 'run:sh'") && e.contains(&format!("pid {pid}")),
        "{e}"
    );
    // --wait gives up with the same status when the holder stays.
    let o = s.run(&["run", "--wait", "0.2", "--disk", &a, "--", "true"]);
    assert_eq!(o.status.code(), Some(75));
    let e = stderr(&o);
    assert!(e.contains("still held after --wait"), "{e}");
    // While waiting it said once whom it waits for.
    assert_eq!(e.matches("waiting up to 0.2 s: ").count(), 1, "{e}");
    assert!(
        e.contains("waiting up to 0.2 s: ") && e.contains("'run:sh'"),
        "{e}"
    );
    // SIGKILL of COMMAND: the lock is gone, virtcore-lock returns 128+9.
    kill(pid, libc::SIGKILL);
    assert_eq!(run.wait().unwrap().code(), Some(137));
    assert_eq!(s.run(&["who", &a]).status.code(), Some(0));
    assert_eq!(
        s.run(&["run", "--disk", &a, "--", "true"]).status.code(),
        Some(0)
    );
}

#[test]
fn lock_survives_sigkill_of_virtcore_lock() {
    let s = Space::new();
    let a = s.disk("a.img");
    let (mut run, pid) = s.hold(&["--disk", &a], "h");
    run.kill().unwrap(); // SIGKILL
    run.wait().unwrap();
    // COMMAND still runs and still holds the disk.
    let o = s.run(&["who", "--json", &a]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)[0]["holders"][0]["pid"], pid);
    assert_eq!(
        s.run(&["run", "--disk", &a, "--", "true"]).status.code(),
        Some(75)
    );
    kill(pid, libc::SIGKILL);
    s.wait_free(&a);
    assert_eq!(
        s.run(&["run", "--disk", &a, "--", "true"]).status.code(),
        Some(0)
    );
}

#[test]
fn wait_succeeds_when_the_holder_goes() {
    let s = Space::new();
    let a = s.disk("a.img");
    let (mut first, pid) = s.hold(&["--disk", &a], "h");
    let mut waiter = s
        .cmd()
        .args([
            "run", "--wait", "600", "--disk", &a, "--", "sh", "-c", "exit 3",
        ])
        .spawn()
        .unwrap();
    kill(pid, libc::SIGTERM);
    first.wait().unwrap();
    // The waiter gets the disk and returns COMMAND's own status.
    assert_eq!(waiter.wait().unwrap().code(), Some(3));
}

#[test]
fn exit_statuses() {
    let s = Space::new();
    let a = s.disk("a.img");
    let code = |args: &[&str]| s.run(args).status.code();
    assert_eq!(
        code(&["run", "--disk", &a, "--", "sh", "-c", "exit 42"]),
        Some(42)
    );
    assert_eq!(
        code(&["run", "--disk", &a, "--", "sh", "-c", "kill -TERM $$"]),
        Some(128 + libc::SIGTERM)
    );
    assert_eq!(
        code(&["run", "--disk", &a, "--", "/no/such/program"]),
        Some(127)
    );
    let noexec = s.disk("noexec.sh");
    assert_eq!(code(&["run", "--disk", &a, "--", &noexec]), Some(126));
    // Bad input: nothing locked, status 65.
    let o = s.run(&["run", "--disk", "rel.img", "--", "true"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(
        stderr(&o).contains("'rel.img' is not absolute"),
        "{}",
        stderr(&o)
    );
    // Usage errors: 64.
    assert_eq!(code(&["run", "--disk", &a]), Some(64));
    assert_eq!(code(&["run", "--", "true"]), Some(64));
    assert_eq!(
        code(&["run", "--shared", "--readonly", "--disk", &a, "--", "true"]),
        Some(64)
    );
    assert_eq!(
        code(&["run", "--wait", "-1", "--disk", &a, "--", "true"]),
        Some(64)
    );
    assert_eq!(code(&["bogus"]), Some(64));
    // After all that, the disk is free.
    assert_eq!(code(&["who", &a]), Some(0));
}

#[test]
fn shared_and_readonly() {
    let s = Space::new();
    let a = s.disk("a.img");
    let (mut one, p1) = s.hold(&["--shared", "--disk", &a], "s1");
    let (mut two, p2) = s.hold(&["--shared", "--disk", &a], "s2");
    let o = s.run(&["who", "--json", &a]);
    let j = json(&o);
    assert_eq!(j[0]["mode"], "shared");
    let mut pids: Vec<i64> = j[0]["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["pid"].as_i64().unwrap())
        .collect();
    pids.sort();
    let mut want = vec![p1 as i64, p2 as i64];
    want.sort();
    assert_eq!(pids, want);
    // Exclusive is refused beside shared users; read-only use takes no lock.
    assert_eq!(
        s.run(&["run", "--disk", &a, "--", "true"]).status.code(),
        Some(75)
    );
    assert_eq!(
        s.run(&["run", "--readonly", "--disk", &a, "--", "true"])
            .status
            .code(),
        Some(0)
    );
    for (c, p) in [(&mut one, p1), (&mut two, p2)] {
        kill(p, libc::SIGKILL);
        c.wait().unwrap();
    }
    assert_eq!(s.run(&["who", &a]).status.code(), Some(0));
}

#[test]
fn domain_xml_takes_what_libvirt_takes() {
    let s = Space::new();
    let (sys, shared, ro, iso) = (
        s.disk("sys.img"),
        s.disk("q.img"),
        s.disk("ro.img"),
        s.disk("x.iso"),
    );
    let leasefile = s.disk("leases");
    let xml = s.path("vm.xml");
    std::fs::write(
        &xml,
        format!(
            "<domain type='qemu'><name>vm1</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <devices>
    <disk type='file' device='disk'><source file='{sys}'/><target dev='vda'/></disk>
    <disk type='file' device='disk'><source file='{shared}'/><shareable/><target dev='vdb'/></disk>
    <disk type='file' device='disk'><source file='{ro}'/><readonly/><target dev='vdc'/></disk>
    <disk type='file' device='cdrom'><source file='{iso}'/><target dev='hdc'/></disk>
    <disk type='network' device='disk'><source protocol='nbd' name='n'><host name='h'/></source><target dev='vdd'/></disk>
    <lease><lockspace>space</lockspace><key>k1</key><target path='{leasefile}' offset='0'/></lease>
  </devices></domain>"
        ),
    )
    .unwrap();
    let (mut run, pid) = s.hold(&["--domain-xml", xml.to_str().unwrap()], "x");
    let o = s.run(&["who", "--json", &sys, &shared, &ro, &iso]);
    let j = json(&o);
    assert_eq!(j[0]["mode"], "exclusive");
    assert_eq!(j[0]["holders"][0]["pid"], pid);
    assert_eq!(j[1]["mode"], "shared");
    assert_eq!(j[2]["held"], false, "<readonly/> takes no lock");
    assert_eq!(j[3]["held"], false, "a cdrom takes no lock");
    // status lists the disks and the lease (lockspace/key) with the holder.
    let st = json(&s.run(&["status", "--json"]));
    let res: Vec<String> = st["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap().to_string())
        .collect();
    assert!(res.contains(&format!("disk:{sys}")), "{res:?}");
    assert!(res.contains(&format!("disk:{shared}")), "{res:?}");
    assert!(res.contains(&"lease:space/k1".to_string()), "{res:?}");
    let lease = st["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "lease")
        .unwrap();
    assert_eq!(
        (lease["lockspace"].as_str(), lease["key"].as_str()),
        (Some("space"), Some("k1"))
    );
    // A second tool with the same XML is refused; a read-only one is allowed.
    let x = xml.to_str().unwrap();
    assert_eq!(
        s.run(&["run", "--domain-xml", x, "--", "true"])
            .status
            .code(),
        Some(75)
    );
    kill(pid, libc::SIGKILL);
    run.wait().unwrap();
    assert_eq!(
        s.run(&["run", "--domain-xml", x, "--", "true"])
            .status
            .code(),
        Some(0)
    );
    // Bad XML: named, status 65, nothing locked.
    std::fs::write(&xml, "<domain><devices><disk type='weird'/>").unwrap();
    let o = s.run(&["run", "--domain-xml", x, "--", "true"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(stderr(&o).contains("vm.xml"), "{}", stderr(&o));
    std::fs::write(
        &xml,
        "<domain><devices><disk type='weird'><target dev='vda'/></disk></devices></domain>",
    )
    .unwrap();
    let o = s.run(&["run", "--domain-xml", x, "--", "true"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(
        stderr(&o).contains("unknown type 'weird'"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&["run", "--domain-xml", "/no/such.xml", "--", "true"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(stderr(&o).contains("/no/such.xml"), "{}", stderr(&o));
}

#[test]
fn usage_errors_name_the_way_out() {
    let s = Space::new();
    let a = s.disk("a.img");
    // Neither --disk nor --domain-xml: both are named.
    let o = s.run(&["run", "--", "true"]);
    assert_eq!(o.status.code(), Some(64));
    let e = stderr(&o);
    assert!(e.contains("--disk") && e.contains("--domain-xml"), "{e}");
    // A negative --wait is refused as such (not taken for an option with a tip about --).
    let o = s.run(&["run", "--wait", "-1", "--disk", &a, "--", "true"]);
    assert_eq!(o.status.code(), Some(64));
    let e = stderr(&o);
    assert!(
        e.contains("--wait -1: expected a number of seconds, 0 or more"),
        "{e}"
    );
    assert!(!e.contains("tip"), "{e}");
    // A truncated domain XML: where it stopped.
    let xml = s.path("cut.xml");
    std::fs::write(&xml, "<domain>\n  <devices>\n    <disk type='file'").unwrap();
    let o = s.run(&["run", "--domain-xml", xml.to_str().unwrap(), "--", "true"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(
        stderr(&o).contains("at 3:22, the end of the document"),
        "{}",
        stderr(&o)
    );
}
