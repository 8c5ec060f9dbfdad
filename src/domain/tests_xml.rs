//! XML tests: the shared corpus round-trips, modified fields come back current, bad input
//! is refused with a message.

use std::ffi::{CStr, CString};
use std::path::PathBuf;

use super::ffi::*;
use super::types::*;
use super::xml::*;
use crate::error::last_error;

fn corpus_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/domain-xml");
    assert!(
        d.is_dir(),
        "domain XML corpus not found at {} (it is part of the repository)",
        d.display()
    );
    d
}

pub(crate) fn corpus() -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert_eq!(v.len(), 40, "the corpus has forty documents");
    v
}

pub(crate) fn parse_ok(xml: &str, flags: u32) -> *mut virDomainDef {
    let c = CString::new(xml).unwrap();
    let d = unsafe {
        virDomainDefParseString(
            c.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            flags,
        )
    };
    assert!(!d.is_null(), "parse failed: {:?}", last_error());
    d
}

pub(crate) fn parse_err(xml: &str) -> (i32, String) {
    let c = CString::new(xml).unwrap();
    let d = unsafe {
        virDomainDefParseString(c.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), 0)
    };
    assert!(d.is_null(), "parse should fail: {xml}");
    let (code, dom, msg) = last_error().unwrap();
    assert_eq!(dom, 20);
    (code, msg)
}

pub(crate) fn fmt(def: *mut virDomainDef, flags: u32) -> String {
    let p = unsafe { virDomainDefFormat(def, std::ptr::null_mut(), flags) };
    assert!(!p.is_null(), "format failed: {:?}", last_error());
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    unsafe { libc::free(p.cast()) };
    s
}

fn s(p: *const std::ffi::c_char) -> String {
    unsafe { cstr(p) }.unwrap().into_owned()
}

#[test]
fn corpus_parses_and_formats_back_unchanged() {
    for (file, text) in corpus() {
        let def = parse_ok(&text, 0);
        let out = fmt(def, 0);
        let expected = if text.contains("<uuid>") {
            text.clone()
        } else {
            let uuid = uuid_format(unsafe { &(*def).uuid });
            let at = text.find("</name>").unwrap() + "</name>".len();
            format!("{}\n  <uuid>{uuid}</uuid>{}", &text[..at], &text[at..])
        };
        assert_eq!(out, expected, "{file} did not come back unchanged");
        // parse -> format -> parse is stable.
        let def2 = parse_ok(&out, 0);
        assert_eq!(fmt(def2, 0), out, "{file}: second round differs");
        unsafe {
            assert_eq!((*def2).uuid, (*def).uuid);
            assert_eq!((*def2).ndisks, (*def).ndisks);
            assert_eq!((*def2).nleases, (*def).nleases);
            assert_eq!((*def2).id, (*def).id);
        }
        // Inactive: no id attribute on <domain>.
        let inactive = fmt(def, VIR_DOMAIN_DEF_FORMAT_INACTIVE);
        assert!(!inactive.lines().next().unwrap().contains(" id="), "{file}");
        unsafe {
            virDomainDefFree(def);
            virDomainDefFree(def2);
        }
    }
}

#[test]
fn fields_are_parsed() {
    let text = std::fs::read_to_string(corpus_dir().join("01-lease.xml")).unwrap();
    let def = parse_ok(&text, 0);
    unsafe {
        assert_eq!((*def).virtType, VIR_DOMAIN_VIRT_QEMU);
        assert_eq!((*def).id, -1);
        assert_eq!(s((*def).name), "QEMUGuest1");
        assert_eq!(
            uuid_format(&(*def).uuid),
            "c7a5fdbd-edaf-9455-926a-d65c16db1809"
        );
        assert_eq!((*def).ndisks, 2);
        let d0 = *(*def).disks;
        assert_eq!((*(*d0).src).type_, VIR_STORAGE_TYPE_BLOCK);
        assert_eq!(s((*(*d0).src).path), "/dev/HostVG/QEMUGuest1");
        assert_eq!(s((*d0).dst), "hda");
        assert_eq!((*d0).bus, VIR_DOMAIN_DISK_BUS_IDE);
        assert_eq!((*d0).device, VIR_DOMAIN_DISK_DEVICE_DISK);
        assert!(!(*(*d0).src).readonly);
        let d1 = *(*def).disks.add(1);
        assert_eq!((*d1).device, VIR_DOMAIN_DISK_DEVICE_CDROM);
        assert!((*(*d1).src).readonly);
        assert_eq!((*def).nleases, 1);
        let l = *(*def).leases;
        assert_eq!(s((*l).lockspace), "somearea");
        assert_eq!(s((*l).key), "thequickbrownfoxjumpedoverthelazydog");
        assert_eq!(s((*l).path), "/some/lease/path");
        assert_eq!((*l).offset, 1024);
        virDomainDefFree(def);
    }
    // A shareable block disk, ids per flags.
    let text = std::fs::read_to_string(corpus_dir().join("32-sexpr2xml-disk-block-shareable.xml"))
        .unwrap();
    let def = parse_ok(&text, 0);
    let inactive = parse_ok(&text, VIR_DOMAIN_DEF_PARSE_INACTIVE);
    unsafe {
        assert!((0..(*def).ndisks).any(|i| (*(*(*(*def).disks.add(i))).src).shared));
        assert!((*def).id >= 0);
        assert_eq!((*inactive).id, -1);
        virDomainDefFree(def);
        virDomainDefFree(inactive);
    }
}

#[test]
fn changed_fields_are_formatted_and_the_rest_preserved() {
    let text = std::fs::read_to_string(corpus_dir().join("01-lease.xml")).unwrap();
    let def = parse_ok(&text, 0);
    unsafe {
        libc::free((*def).name.cast());
        (*def).name = crate::ffi::malloc_cstring("renamed<&>");
        (*def).id = 42;
        (*def).virtType = VIR_DOMAIN_VIRT_KVM;
        (*def).uuid[0] ^= 0xff;
        let d0 = *(*def).disks;
        libc::free((*(*d0).src).path.cast());
        (*(*d0).src).path = crate::ffi::malloc_cstring("/dev/other's");
        (*(*d0).src).readonly = true;
        (*(*d0).src).shared = true;
        (*d0).bus = VIR_DOMAIN_DISK_BUS_VIRTIO;
        libc::free((*d0).dst.cast());
        (*d0).dst = crate::ffi::malloc_cstring("vda");
        // Remove the cdrom, add a new file disk.
        let d1 = *(*def).disks.add(1);
        disk_free(d1);
        let nd = c_calloc::<virDomainDiskDef>();
        let src = c_calloc::<virStorageSource>();
        (*src).type_ = VIR_STORAGE_TYPE_FILE;
        (*src).path = crate::ffi::malloc_cstring("/var/lib/new.img");
        (*nd).src = src;
        (*nd).dst = crate::ffi::malloc_cstring("vdb");
        (*nd).bus = VIR_DOMAIN_DISK_BUS_VIRTIO;
        *(*def).disks.add(1) = nd;
        let l = *(*def).leases;
        (*l).offset = 0;
        libc::free((*l).lockspace.cast());
        (*l).lockspace = crate::ffi::malloc_cstring("other\tspace");
    }
    let out = fmt(def, 0);
    assert!(out.starts_with("<domain type='kvm' id='42'>"), "{out}");
    assert!(out.contains("<name>renamed&lt;&amp;&gt;</name>"), "{out}");
    assert!(out.contains("<source dev='/dev/other&apos;s'/>"), "{out}");
    assert!(out.contains("<target dev='vda' bus='virtio'/>"), "{out}");
    assert!(!out.contains("/root/boot.iso"), "{out}");
    assert!(out.contains("<source file='/var/lib/new.img'/>"), "{out}");
    assert!(out.contains("<lockspace>other\tspace</lockspace>"), "{out}");
    assert!(!out.contains("offset='1024'"), "{out}");
    // Untouched parts are preserved byte for byte.
    assert!(out.contains("<address type='drive' controller='0' bus='0' target='0' unit='0'/>"));
    assert!(out.contains("    <memballoon model='virtio'/>\n  </devices>\n</domain>\n"));
    let def2 = parse_ok(&out, 0);
    unsafe {
        assert_eq!(s((*def2).name), "renamed<&>");
        assert_eq!((*def2).uuid, (*def).uuid);
        assert_eq!((*def2).ndisks, 2);
        let d0 = *(*def2).disks;
        assert_eq!(s((*(*d0).src).path), "/dev/other's");
        assert!((*(*d0).src).readonly && (*(*d0).src).shared);
        let d1 = *(*def2).disks.add(1);
        assert_eq!(s((*(*d1).src).path), "/var/lib/new.img");
        assert_eq!((*(*d1).src).type_, VIR_STORAGE_TYPE_FILE);
        assert_eq!(s((*(*def2).leases.read()).lockspace), "other\tspace");
        assert_eq!((*(*def2).leases.read()).offset, 0);
    }
    assert_eq!(fmt(def2, 0), out);
    unsafe {
        virDomainDefFree(def);
        virDomainDefFree(def2);
    }
}

#[test]
fn a_def_built_by_c_formats_and_parses_back() {
    unsafe {
        let def = virDomainDefNew(std::ptr::null_mut());
        assert_eq!((*def).id, -1);
        (*def).name = crate::ffi::malloc_cstring("fresh");
        (*def).virtType = VIR_DOMAIN_VIRT_KVM;
        (*def).uuid = uuid_generate();
        let nd = c_calloc::<virDomainDiskDef>();
        let src = c_calloc::<virStorageSource>();
        (*src).type_ = VIR_STORAGE_TYPE_BLOCK;
        (*src).path = crate::ffi::malloc_cstring("/dev/sdb");
        (*src).shared = true;
        (*nd).src = src;
        (*nd).dst = crate::ffi::malloc_cstring("sdb");
        (*def).disks = c_array(&[nd]);
        (*def).ndisks = 1;
        let out = fmt(def, 0);
        let def2 = parse_ok(&out, 0);
        assert_eq!(s((*def2).name), "fresh");
        assert_eq!((*def2).uuid, (*def).uuid);
        assert_eq!(s((*(*(*(*def2).disks)).src).path), "/dev/sdb");
        assert!((*(*(*(*def2).disks)).src).shared);
        virDomainDefFree(def);
        virDomainDefFree(def2);
    }
}

#[test]
fn missing_uuid_is_generated_and_kept() {
    let def = parse_ok("<domain type='kvm'><name>a</name></domain>", 0);
    let out = fmt(def, 0);
    let u = uuid_format(unsafe { &(*def).uuid });
    assert_eq!(
        out,
        format!("<domain type='kvm'><name>a</name>\n  <uuid>{u}</uuid></domain>\n")
    );
    unsafe { virDomainDefFree(def) };
}

#[test]
fn bad_documents_are_refused_with_a_message() {
    const XML: i32 = 27;
    let (c, m) = parse_err("<domain type='kvm'><name>x</name>");
    assert_eq!(c, XML);
    assert!(m.contains("line 1") && m.contains("malformed"), "{m}");
    let (c, m) = parse_err("<domain type='kvm'></domain>");
    assert_eq!(
        (c, m.contains("missing name information")),
        (21, true),
        "{m}"
    );
    let (c, m) = parse_err("<domain type='kvm'><name></name></domain>");
    assert_eq!(
        (c, m.contains("missing name information")),
        (21, true),
        "{m}"
    );
    let (_, m) = parse_err("<domain type='kvm'><name>a/b</name></domain>");
    assert!(m.contains("cannot contain '/'"), "{m}");
    let long = "x".repeat(VIRTCORE_DOMAIN_NAME_MAX + 1);
    let (_, m) = parse_err(&format!("<domain type='kvm'><name>{long}</name></domain>"));
    assert!(m.contains("too long"), "{m}");
    let ok = "x".repeat(VIRTCORE_DOMAIN_NAME_MAX);
    unsafe {
        virDomainDefFree(parse_ok(
            &format!("<domain type='kvm'><name>{ok}</name></domain>"),
            0,
        ))
    };
    let (_, m) = parse_err("<domain type='kvm'><name>a</name><uuid>1234</uuid></domain>");
    assert!(m.contains("malformed uuid element '1234'"), "{m}");
    let (_, m) = parse_err("<domstatus/>");
    assert!(
        m.contains("expecting root element of 'domain', not 'domstatus'"),
        "{m}"
    );
    let (_, m) = parse_err("<domain type='nope'><name>a</name></domain>");
    assert!(m.contains("invalid domain type nope"), "{m}");
    let (_, m) = parse_err("<domain><name>a</name></domain>");
    assert!(m.contains("missing domain type"), "{m}");
    let (_, m) = parse_err("<domain type='kvm' id='x'><name>a</name></domain>");
    assert!(
        m.contains("Invalid value for attribute 'id' in element 'domain': 'x'"),
        "{m}"
    );
    let (_, m) = parse_err(
        "<domain type='kvm'><name>a</name><devices><disk type='file'><source file='/x'/></disk></devices></domain>",
    );
    assert!(
        m.contains("domain 'a'") && m.contains("missing target information for device /x"),
        "{m}"
    );
    let (_, m) = parse_err(
        "<domain type='kvm'><name>a</name><devices><disk type='odd'><target dev='x'/></disk></devices></domain>",
    );
    assert!(
        m.contains("Invalid value for attribute 'type' in element 'disk': 'odd'"),
        "{m}"
    );
    let (_, m) = parse_err(
        "<domain type='kvm'><name>a</name><devices><lease><lockspace>s</lockspace><key>k</key></lease></devices></domain>",
    );
    assert!(m.contains("'target'"), "{m}");
    let (_, m) =
        parse_err("<!DOCTYPE d [<!ENTITY e 'x'>]><domain type='kvm'><name>&e;</name></domain>");
    assert!(m.contains("malformed"), "{m}");
    // Arguments.
    unsafe {
        assert!(virDomainDefParseString(
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0
        )
        .is_null());
        assert_eq!(last_error().unwrap().0, 8);
        let c = CString::new("<domain type='kvm'><name>a</name></domain>").unwrap();
        assert!(virDomainDefParseString(
            c.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            1 << 20
        )
        .is_null());
        assert!(last_error().unwrap().2.contains("unsupported flags"));
    }
}

#[test]
fn malformed_variants_of_the_corpus_all_fail_cleanly() {
    let mut checked = 0;
    for (file, text) in corpus() {
        // Truncations: every one leaves the root unclosed.
        for cut in [1, text.len() / 3, text.len() / 2, text.len() - 3] {
            let (c, m) = parse_err(&text[..text.floor_char_boundary(cut)]);
            assert_eq!(c, 27, "{file} cut at {cut}: {m}");
            assert!(m.contains("line"), "{file}: {m}");
            checked += 1;
        }
        // Byte damage: never a crash, and any failure carries a message.
        for (i, pos) in (7..text.len()).step_by(97).enumerate() {
            let mut b = text.clone().into_bytes();
            b[pos] = [b'<', b'&', b'\'', b'>'][i % 4];
            let Ok(t) = String::from_utf8(b) else {
                continue;
            };
            let c = CString::new(t).unwrap();
            let d = unsafe {
                virDomainDefParseString(c.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), 0)
            };
            if d.is_null() {
                assert!(!last_error().unwrap().2.is_empty());
            } else {
                let _ = fmt(d, 0);
                unsafe { virDomainDefFree(d) };
            }
            checked += 1;
        }
    }
    assert!(checked > 160);
}

#[test]
fn devices_element_is_created_for_the_first_disk_and_lease() {
    let def = parse_ok(
        "<domain type='kvm'>\n  <name>a</name>\n  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n</domain>",
        0,
    );
    unsafe {
        let nd = c_calloc::<virDomainDiskDef>();
        let src = c_calloc::<virStorageSource>();
        (*src).type_ = VIR_STORAGE_TYPE_DIR;
        (*src).path = crate::ffi::malloc_cstring("/srv/share");
        (*nd).src = src;
        (*nd).dst = crate::ffi::malloc_cstring("fda");
        (*nd).device = VIR_DOMAIN_DISK_DEVICE_FLOPPY;
        (*def).disks = c_array(&[nd]);
        (*def).ndisks = 1;
        let l = c_calloc::<virDomainLeaseDef>();
        (*l).lockspace = crate::ffi::malloc_cstring("s");
        (*l).key = crate::ffi::malloc_cstring("k");
        (*l).path = crate::ffi::malloc_cstring("/leases/k");
        (*l).offset = 4096;
        (*def).leases = c_array(&[l]);
        (*def).nleases = 1;
        let out = fmt(def, 0);
        assert_eq!(
            out,
            "<domain type='kvm'>\n  <name>a</name>\n  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n  <devices>\n    <disk type='dir' device='floppy'>\n      <source dir='/srv/share'/>\n      <target dev='fda'/>\n    </disk>\n    <lease>\n      <lockspace>s</lockspace>\n      <key>k</key>\n      <target path='/leases/k' offset='4096'/>\n    </lease>\n  </devices>\n</domain>\n"
        );
        let def2 = parse_ok(&out, 0);
        assert_eq!(fmt(def2, 0), out);
        virDomainDefFree(def);
        virDomainDefFree(def2);
    }
}
