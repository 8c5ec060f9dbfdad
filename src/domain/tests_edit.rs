//! Edits from C on every corpus document come back from format → parse unchanged, and
//! what was not touched stays byte for byte (issue 9, items 1–3, 12).

use std::collections::BTreeSet;

use super::tests_xml::{corpus, fmt, parse_ok};
use super::types::*;
use crate::ffi::malloc_cstring;

type DiskKey = (String, Option<String>, bool, bool, i32, i32, i32);

unsafe fn disk_set(def: *mut virDomainDef) -> BTreeSet<DiskKey> {
    disks(def)
        .iter()
        .map(|&d| {
            let s = (*d).src;
            (
                cstr((*d).dst).unwrap().into_owned(),
                cstr((*s).path).map(|p| p.into_owned()),
                (*s).readonly,
                (*s).shared,
                (*d).device,
                (*d).bus,
                (*s).type_,
            )
        })
        .collect()
}

unsafe fn set(p: &mut *mut std::ffi::c_char, v: &str) {
    libc::free((*p).cast());
    *p = malloc_cstring(v);
}

#[test]
fn c_edits_survive_format_and_parse_for_every_corpus_document() {
    for (file, text) in corpus() {
        let def = parse_ok(&text, 0);
        unsafe {
            set(&mut (*def).name, "re<n>&'\"\tamed x");
            (*def).onLockFailure = 2;
            (*def).uuid[3] ^= 0x5a;
            // Drop the first disk, change the others, add two new ones (front and back).
            let mut v: Vec<*mut virDomainDiskDef> = disks(def).to_vec();
            if !v.is_empty() {
                disk_free(v.remove(0));
            }
            for (i, &d) in v.iter().enumerate() {
                let s = (*d).src;
                (*s).shared = !(*s).shared;
                if (*d).device != VIR_DOMAIN_DISK_DEVICE_CDROM {
                    (*s).readonly = !(*s).readonly;
                }
                if source_attr((*s).type_).is_some() {
                    set(&mut (*s).path, &format!("/img/{i} 'q' \"d\" <&>\t\n.img"));
                }
            }
            for (at, dst) in [(0, "vdzz"), (v.len() + 1, "vdzy")] {
                let nd = c_calloc::<virDomainDiskDef>();
                let src = c_calloc::<virStorageSource>();
                (*src).type_ = VIR_STORAGE_TYPE_BLOCK;
                (*src).path = malloc_cstring(&format!("/dev/new-{dst}"));
                (*src).shared = true;
                (*nd).src = src;
                (*nd).dst = malloc_cstring(dst);
                (*nd).bus = VIR_DOMAIN_DISK_BUS_VIRTIO;
                v.insert(at.min(v.len()), nd);
            }
            libc::free((*def).disks.cast());
            (*def).disks = c_array(&v);
            (*def).ndisks = v.len();
            for &l in leases(def) {
                set(&mut (*l).key, "k\n<ey>");
                set(&mut (*l).lockspace, "ls&'");
                set(&mut (*l).path, "/leases/\tx");
                (*l).offset = 8192;
            }
        }
        let out = fmt(def, 0);
        let back = parse_ok(&out, 0);
        unsafe {
            assert_eq!(
                cstr((*back).name).unwrap(),
                cstr((*def).name).unwrap(),
                "{file}"
            );
            assert_eq!((*back).uuid, (*def).uuid, "{file}");
            assert_eq!((*back).onLockFailure, 2, "{file}");
            assert_eq!(disk_set(back), disk_set(def), "{file}:\n{out}");
            assert_eq!((*back).nleases, (*def).nleases, "{file}");
            for &l in leases(back) {
                assert_eq!(cstr((*l).key).unwrap(), "k\n<ey>", "{file}");
                assert_eq!(cstr((*l).lockspace).unwrap(), "ls&'", "{file}");
                assert_eq!(cstr((*l).path).unwrap(), "/leases/\tx", "{file}");
                assert_eq!((*l).offset, 8192, "{file}");
            }
            // Stable from here on.
            assert_eq!(fmt(back, 0), out, "{file}");
            def_free(def);
            def_free(back);
        }
    }
}

/// `file=''` is no path, as in libvirt (a cdrom without media; a disk without a source is
/// refused). The empty attribute formats back as written until C sets a path, which
/// then fills it (one `file=` attribute, never two).
#[test]
fn empty_source_path_is_no_path() {
    let doc = |device: &str, dev: &str| {
        format!(
            "<domain type='kvm'><name>a</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><devices>\n  <disk type='file' device='{device}'>\n    <source file=''/>\n    <target dev='{dev}'/>\n  </disk>\n</devices></domain>"
        )
    };
    let cd = doc("cdrom", "hdc");
    let def = parse_ok(&cd, 0);
    unsafe {
        let d = disks(def)[0];
        assert!((*(*d).src).path.is_null());
        assert_eq!(fmt(def, 0), format!("{cd}\n"));
        set(&mut (*(*d).src).path, "/iso/a.iso");
        let out = fmt(def, 0);
        assert!(out.contains("<source file='/iso/a.iso'/>"), "{out}");
        def_free(def);
        let again = parse_ok(&out, 0);
        assert_eq!(
            cstr((*disks(again)[0]).src.as_ref().unwrap().path).unwrap(),
            "/iso/a.iso"
        );
        def_free(again);
    }
    let (code, msg) = super::tests_xml::parse_err(&doc("disk", "vda"));
    assert_eq!(code, 19, "{msg}"); // VIR_ERR_NO_SOURCE
}
