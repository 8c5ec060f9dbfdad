//! List, object and persistence tests through the C entry points.

use parking_lot::lock_api::RawMutex as _;
use std::ffi::{c_int, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::consts::*;
use super::ffi::*;
use super::list::*;
use super::obj::*;
use super::tests_xml::{corpus, fmt, parse_ok};
use super::types::*;
use super::xml::*;
use crate::error::last_error;

fn small(name: &str, uuid_last: u8, id: Option<i32>) -> String {
    let id = id.map(|i| format!(" id='{i}'")).unwrap_or_default();
    format!(
        "<domain type='kvm'{id}>\n  <name>{name}</name>\n  <uuid>11111111-2222-3333-4444-5555555555{uuid_last:02x}</uuid>\n  <memory>1024</memory>\n  <devices>\n    <disk type='file' device='disk'>\n      <source file='/img/{name}.qcow2'/>\n      <target dev='vda'/>\n    </disk>\n  </devices>\n</domain>\n"
    )
}

unsafe fn add(l: *mut virDomainObjList, xml: &str, flags: u32) -> *mut virDomainObj {
    let mut def = parse_ok(xml, 0);
    let vm = virDomainObjListAdd(l, &mut def, null_mut(), flags, null_mut());
    assert!(!vm.is_null(), "add failed: {:?}", last_error());
    assert!(def.is_null());
    vm
}

unsafe fn add_err(l: *mut virDomainObjList, xml: &str, flags: u32) -> (i32, String) {
    let mut def = parse_ok(xml, 0);
    let vm = virDomainObjListAdd(l, &mut def, null_mut(), flags, null_mut());
    assert!(vm.is_null());
    assert!(!def.is_null());
    virDomainDefFree(def);
    let (c, _, m) = last_error().unwrap();
    (c, m)
}

unsafe fn end(mut vm: *mut virDomainObj) {
    virDomainObjEndAPI(&mut vm);
    assert!(vm.is_null());
}

fn uuid(last: u8) -> [u8; 16] {
    uuid_parse(&format!("11111111-2222-3333-4444-5555555555{last:02x}")).unwrap()
}

unsafe fn name_of(vm: *mut virDomainObj) -> String {
    CStr::from_ptr((*(*vm).def).name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn add_find_remove() {
    unsafe {
        let l = virDomainObjListNew();
        let vm = add(l, &small("a", 1, None), 0);
        assert!((*vm).parent.lock.is_locked());
        assert!(!virDomainObjIsActive(vm));
        end(vm);
        let vm = add(l, &small("b", 2, Some(7)), VIR_DOMAIN_OBJ_LIST_ADD_LIVE);
        assert!(virDomainObjIsActive(vm));
        end(vm);

        let f = virDomainObjListFindByUUID(l, uuid(1).as_ptr());
        assert_eq!(name_of(f), "a");
        end(f);
        let n = CString::new("b").unwrap();
        let f = virDomainObjListFindByName(l, n.as_ptr());
        assert_eq!((*(*f).def).id, 7);
        end(f);
        let f = virDomainObjListFindByID(l, 7);
        assert_eq!(name_of(f), "b");
        end(f);
        assert!(virDomainObjListFindByID(l, 8).is_null());
        assert_eq!(last_error().unwrap().0, 42);
        assert!(virDomainObjListFindByID(l, -1).is_null());
        assert!(virDomainObjListFindByUUID(l, uuid(9).as_ptr()).is_null());
        assert!(last_error()
            .unwrap()
            .2
            .contains("no domain with matching uuid"));

        assert_eq!(virDomainObjListNumOfDomains(l, true, None, null_mut()), 1);
        assert_eq!(virDomainObjListNumOfDomains(l, false, None, null_mut()), 1);

        // Remove 'a': it cannot be found again.
        let f = virDomainObjListFindByName(l, c"a".as_ptr());
        virDomainObjListRemove(l, f);
        assert!((*f).removing && (*f).parent.lock.is_locked());
        end(f);
        assert!(virDomainObjListFindByUUID(l, uuid(1).as_ptr()).is_null());
        assert!(virDomainObjListFindByName(l, c"a".as_ptr()).is_null());
        assert_eq!(virDomainObjListNumOfDomains(l, false, None, null_mut()), 0);
        // The name and UUID are free again.
        end(add(l, &small("a", 1, None), 0));
        // Long names (not stored inline in the index) work the same.
        let long = "L".repeat(100);
        end(add(l, &small(&long, 40, None), 0));
        let lc = CString::new(long.clone()).unwrap();
        let f = virDomainObjListFindByName(l, lc.as_ptr());
        assert_eq!(name_of(f), long);
        virDomainObjListRemove(l, f);
        end(f);
        assert!(virDomainObjListFindByName(l, lc.as_ptr()).is_null());
        crate::object::virObjectUnref(l.cast());
    }
}

#[test]
fn add_conflicts_follow_libvirt() {
    unsafe {
        let l = virDomainObjListNew();
        end(add(l, &small("a", 1, None), 0));
        // Same UUID, other name.
        let (c, m) = add_err(l, &small("other", 1, None), 0);
        assert_eq!(c, 9);
        assert_eq!(
            m,
            "operation failed: domain 'a' is already defined with uuid 11111111-2222-3333-4444-555555555501"
        );
        // Same name, other UUID.
        let (c, m) = add_err(l, &small("a", 2, None), 0);
        assert_eq!(c, 9);
        assert!(
            m.contains("domain 'a' already exists with uuid 11111111-2222-3333-4444-555555555501"),
            "{m}"
        );
        // Start it (live def), then CHECK_LIVE refuses.
        let vm = add(l, &small("a", 1, Some(3)), VIR_DOMAIN_OBJ_LIST_ADD_LIVE);
        assert_eq!((*(*vm).def).id, 3);
        assert!(!(*vm).newDef.is_null(), "persistent def kept in newDef");
        (*vm).persistent = true;
        end(vm);
        let (c, m) = add_err(l, &small("a", 1, None), VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE);
        assert_eq!(c, 55);
        assert!(m.contains("domain 'a' is already active"), "{m}");
        // Redefining an active domain replaces newDef; the old one comes back in oldDef.
        let mut def = parse_ok(&small("a", 1, None), 0);
        let mut old: *mut virDomainDef = null_mut();
        let vm = virDomainObjListAdd(l, &mut def, null_mut(), 0, &mut old);
        assert!(!vm.is_null() && !old.is_null());
        assert_eq!((*(*vm).def).id, 3);
        virDomainDefFree(old);
        end(vm);
        // A transient inactive domain being started.
        end(add(l, &small("t", 5, None), 0));
        let (c, m) = add_err(l, &small("t", 5, None), VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE);
        assert_eq!(c, 55);
        assert!(m.contains("domain 't' is already being started"), "{m}");
        // Bad arguments.
        let mut def = parse_ok(&small("z", 9, None), 0);
        assert!(virDomainObjListAdd(l, &mut def, null_mut(), 4, null_mut()).is_null());
        assert!(last_error().unwrap().2.contains("unsupported flags (0x4)"));
        assert!(virDomainObjListAdd(null_mut(), &mut def, null_mut(), 0, null_mut()).is_null());
        assert!(virDomainObjListAdd(l, null_mut(), null_mut(), 0, null_mut()).is_null());
        virDomainDefFree(def);
        crate::object::virObjectUnref(l.cast());
    }
}

#[test]
fn find_by_id_follows_c_writes_to_def_id() {
    unsafe {
        let l = virDomainObjListNew();
        for i in 0..50u8 {
            end(add(l, &small(&format!("d{i}"), i, None), 0));
        }
        // C starts d7 by writing the ID directly.
        let vm = virDomainObjListFindByName(l, c"d7".as_ptr());
        (*(*vm).def).id = 77;
        end(vm);
        // Looked up while this thread holds another domain locked: no self-deadlock.
        let held = virDomainObjListFindByName(l, c"d1".as_ptr());
        let f = virDomainObjListFindByID(l, 77);
        end(held);
        assert_eq!(name_of(f), "d7");
        // ...and stops it again, and gives the ID to another domain.
        (*(*f).def).id = -1;
        end(f);
        let vm = virDomainObjListFindByName(l, c"d8".as_ptr());
        (*(*vm).def).id = 77;
        end(vm);
        let f = virDomainObjListFindByID(l, 77);
        assert_eq!(name_of(f), "d8");
        // Replacing vm->def wholesale.
        let newdef = parse_ok(&small("d8", 8, Some(5)), 0);
        let olddef = (*f).def;
        (*f).def = newdef;
        virDomainDefFree(olddef);
        end(f);
        assert!(virDomainObjListFindByID(l, 77).is_null());
        let f = virDomainObjListFindByID(l, 5);
        assert_eq!(name_of(f), "d8");
        end(f);
        crate::object::virObjectUnref(l.cast());
    }
}

unsafe extern "C" fn rename_cb(
    dom: *mut virDomainObj,
    new_name: *const std::ffi::c_char,
    _f: u32,
    op: *mut c_void,
) -> c_int {
    if !op.is_null() {
        return -1;
    }
    let d = (*dom).def;
    libc::free((*d).name.cast());
    (*d).name = libc::strdup(new_name);
    0
}

unsafe extern "C" fn remove_odd(dom: *mut virDomainObj, op: *mut c_void) -> c_int {
    let l = op as *mut virDomainObjList;
    crate::object::virObjectLock(dom.cast());
    let odd = (*(*dom).def).uuid[15] % 2 == 1;
    if odd {
        virDomainObjListRemoveLocked(l, dom);
    }
    crate::object::virObjectUnlock(dom.cast());
    0
}

static SEEN: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn count_cb(dom: *mut virDomainObj, _op: *mut c_void) -> c_int {
    assert!(!(*dom).parent.lock.is_locked());
    SEEN.fetch_add(1, Ordering::SeqCst);
    -1
}

#[test]
fn rename_foreach_and_listing() {
    unsafe {
        let l = virDomainObjListNew();
        for i in 0..10u8 {
            let vm = add(
                l,
                &small(&format!("n{i}"), i, (i < 4).then_some(100 + i as i32)),
                VIR_DOMAIN_OBJ_LIST_ADD_LIVE,
            );
            if i < 4 {
                virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
            } else {
                virDomainObjSetState(vm, VIR_DOMAIN_SHUTOFF, 99);
                (*vm).persistent = true;
                (*vm).autostart = i == 9;
            }
            end(vm);
        }
        let vm = virDomainObjListFindByName(l, c"n5".as_ptr());
        let mut r = 7;
        assert_eq!(virDomainObjGetState(vm, &mut r), VIR_DOMAIN_SHUTOFF);
        assert_eq!(r, 0, "out-of-range reason becomes 0");
        assert_eq!(
            virDomainObjListRename(l, vm, c"renamed".as_ptr(), 0, Some(rename_cb), null_mut()),
            0
        );
        assert_eq!(
            virDomainObjListRename(l, vm, c"n6".as_ptr(), 0, Some(rename_cb), null_mut()),
            -1
        );
        assert!(last_error()
            .unwrap()
            .2
            .contains("domain with name 'n6' already exists"));
        assert_eq!(
            virDomainObjListRename(
                l,
                vm,
                c"x".as_ptr(),
                0,
                Some(rename_cb),
                std::ptr::dangling_mut::<c_void>()
            ),
            -1
        );
        assert_eq!(
            virDomainObjListRename(l, vm, c"a/b".as_ptr(), 0, Some(rename_cb), null_mut()),
            -1
        );
        assert_eq!(name_of(vm), "renamed");
        let long = CString::new("R".repeat(64)).unwrap();
        assert_eq!(
            virDomainObjListRename(l, vm, long.as_ptr(), 0, Some(rename_cb), null_mut()),
            0
        );
        end(vm);
        let vm = virDomainObjListFindByName(l, long.as_ptr());
        assert!(!vm.is_null());
        assert_eq!(
            virDomainObjListRename(l, vm, c"renamed".as_ptr(), 0, Some(rename_cb), null_mut()),
            0
        );
        assert!(virDomainObjListFindByName(l, long.as_ptr()).is_null());
        end(vm);
        assert!(virDomainObjListFindByName(l, c"n5".as_ptr()).is_null());
        assert!(virDomainObjListFindByName(l, c"x".as_ptr()).is_null());
        let vm = virDomainObjListFindByName(l, c"renamed".as_ptr());
        assert!(!vm.is_null());
        end(vm);

        let mut ids = [0; 16];
        let n = virDomainObjListGetActiveIDs(l, ids.as_mut_ptr(), 16, None, null_mut());
        assert_eq!(n, 4);
        let mut got = ids[..4].to_vec();
        got.sort();
        assert_eq!(got, vec![100, 101, 102, 103]);
        assert_eq!(
            virDomainObjListGetActiveIDs(l, ids.as_mut_ptr(), 2, None, null_mut()),
            2
        );
        let mut names = [null_mut(); 16];
        let n = virDomainObjListGetInactiveNames(l, names.as_mut_ptr(), 16, None, null_mut());
        assert_eq!(n, 6);
        for p in &names[..6] {
            libc::free(p.cast());
        }

        let collect = |flags: u32| -> Vec<String> {
            let mut vms: *mut *mut virDomainObj = null_mut();
            let mut n = 0usize;
            virDomainObjListCollect(l, null_mut(), &mut vms, &mut n, None, flags);
            assert!(!vms.is_null());
            let v = (0..n).map(|i| name_of(*vms.add(i))).collect();
            virObjectListFreeCount(vms.cast(), n);
            v
        };
        assert_eq!(collect(0).len(), 10);
        assert_eq!(
            collect(VIR_CONNECT_LIST_DOMAINS_ACTIVE),
            ["n0", "n1", "n2", "n3"]
        );
        assert_eq!(collect(VIR_CONNECT_LIST_DOMAINS_AUTOSTART), ["n9"]);
        assert_eq!(collect(VIR_CONNECT_LIST_DOMAINS_TRANSIENT).len(), 4);
        assert_eq!(
            collect(VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART).len(),
            5
        );
        assert_eq!(collect(VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT).len(), 0);
        assert_eq!(collect(VIR_CONNECT_LIST_DOMAINS_OTHER).len(), 0);
        let mut vms: *mut *mut virDomainObj = null_mut();
        let mut n = 7usize;
        virDomainObjListCollect(l, null_mut(), &mut vms, &mut n, None, 1 << 16);
        assert!(vms.is_null() && n == 0);
        assert!(last_error().unwrap().2.contains("unsupported flags"));
        virDomainObjListCollectAll(l, &mut vms, &mut n);
        assert_eq!(n, 10);
        assert_eq!(name_of(*vms), "n0");
        virObjectListFreeCount(vms.cast(), n);

        SEEN.store(0, Ordering::SeqCst);
        assert_eq!(
            virDomainObjListForEach(l, false, Some(count_cb), null_mut()),
            -1
        );
        assert_eq!(SEEN.load(Ordering::SeqCst), 10);
        assert_eq!(
            virDomainObjListForEach(l, true, Some(remove_odd), l.cast()),
            0
        );
        assert_eq!(collect(0).len(), 5);
        assert!(virDomainObjListFindByUUID(l, uuid(3).as_ptr()).is_null());
        crate::object::virObjectUnref(l.cast());
    }
}

#[test]
fn objects_state_and_private_data() {
    static FREED: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn free_priv(p: *mut c_void) {
        libc::free(p);
        FREED.fetch_add(1, Ordering::SeqCst);
    }
    unsafe {
        let xo = virDomainXMLOptionNew(
            null_mut(),
            null_mut(),
            null_mut(),
            null_mut(),
            null_mut(),
            null_mut(),
        );
        let vm = virDomainObjNew(xo);
        assert!((*vm).parent.lock.is_locked());
        assert_eq!(virDomainObjGetState(vm, null_mut()), VIR_DOMAIN_NOSTATE);
        virDomainObjSetState(vm, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER);
        let mut r = 0;
        assert_eq!(virDomainObjGetState(vm, &mut r), VIR_DOMAIN_PAUSED);
        assert_eq!(r, VIR_DOMAIN_PAUSED_USER);
        virDomainObjSetState(vm, 42, 0);
        assert!(last_error().unwrap().2.contains("invalid domain state: 42"));
        assert_eq!(virDomainObjGetState(vm, null_mut()), VIR_DOMAIN_PAUSED);
        (*vm).privateData = libc::malloc(8);
        (*vm).privateDataFreeFunc = Some(free_priv);
        (*vm).def = virDomainDefNew(xo);
        end(vm);
        assert_eq!(FREED.load(Ordering::SeqCst), 1);
        assert_eq!(virDomainObjGetState(null_mut(), null_mut()), -1);
        let mut nullvm: *mut virDomainObj = null_mut();
        virDomainObjEndAPI(&mut nullvm);
        crate::object::virObjectUnref(xo.cast());
    }
}

#[test]
fn concurrent_finds_while_adding_and_removing() {
    unsafe {
        let l = virDomainObjListNew();
        for i in 0..64u8 {
            end(add(
                l,
                &small(&format!("s{i}"), i, Some(i as i32)),
                VIR_DOMAIN_OBJ_LIST_ADD_LIVE,
            ));
        }
        let la = l as usize;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let finders: Vec<_> = (0..3)
            .map(|t| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let l = la as *mut virDomainObjList;
                    let mut found = 0usize;
                    let mut i = 0u32;
                    while !stop.load(Ordering::Relaxed) || i < 2000 {
                        i += 1;
                        let k = ((i * 7 + t) % 64) as u8;
                        let vm = match i % 3 {
                            0 => virDomainObjListFindByUUID(l, uuid(k).as_ptr()),
                            1 => virDomainObjListFindByID(l, k as i32),
                            _ => {
                                let n = CString::new(format!("s{k}")).unwrap();
                                virDomainObjListFindByName(l, n.as_ptr())
                            }
                        };
                        if !vm.is_null() {
                            assert!(!(*vm).removing);
                            assert_eq!((*(*vm).def).uuid, uuid(k));
                            found += 1;
                            end(vm);
                        }
                    }
                    found
                })
            })
            .collect();
        // Churn: remove and re-add the upper half repeatedly.
        for round in 0..30 {
            for i in 32..64u8 {
                let vm = virDomainObjListFindByUUID(l, uuid(i).as_ptr());
                if !vm.is_null() {
                    virDomainObjListRemove(l, vm);
                    end(vm);
                }
            }
            for i in 32..64u8 {
                let id = if round % 2 == 0 { Some(i as i32) } else { None };
                end(add(
                    l,
                    &small(&format!("s{i}"), i, id),
                    VIR_DOMAIN_OBJ_LIST_ADD_LIVE,
                ));
            }
        }
        stop.store(true, Ordering::Relaxed);
        let total: usize = finders.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(total > 0);
        assert_eq!(
            virDomainObjListNumOfDomains(l, true, None, null_mut())
                + virDomainObjListNumOfDomains(l, false, None, null_mut()),
            64
        );
        crate::object::virObjectUnref(l.cast());
    }
}

unsafe extern "C" fn notify_cb(dom: *mut virDomainObj, new: c_int, op: *mut c_void) {
    assert!((*dom).parent.lock.is_locked());
    if new != 0 {
        (*(op as *const AtomicUsize)).fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn save_load_and_delete_configs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("qemu");
    let auto = cfg.join("autostart");
    let run = dir.path().join("run");
    let cfg_c = CString::new(cfg.to_str().unwrap()).unwrap();
    let auto_c = CString::new(auto.to_str().unwrap()).unwrap();
    let run_c = CString::new(run.to_str().unwrap()).unwrap();
    unsafe {
        // Write every corpus document as a config.
        let docs = corpus();
        for (_, text) in &docs {
            let def = parse_ok(text, VIR_DOMAIN_DEF_PARSE_INACTIVE);
            assert_eq!(
                virDomainDefSave(def, null_mut(), cfg_c.as_ptr()),
                0,
                "{:?}",
                last_error()
            );
            virDomainDefFree(def);
        }
        // No temporary files left behind.
        let leftovers: Vec<_> = std::fs::read_dir(&cfg)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::create_dir_all(&auto).unwrap();
        std::os::unix::fs::symlink(cfg.join("QEMUGuest1.xml"), auto.join("QEMUGuest1.xml"))
            .unwrap();
        std::fs::write(
            cfg.join("broken.xml"),
            "<domain type='kvm'><name>broken</name>",
        )
        .unwrap();
        let n_files = std::fs::read_dir(&cfg)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "xml")
            })
            .count();

        let l = virDomainObjListNew();
        let loaded = AtomicUsize::new(0);
        crate::error::reset_last_error();
        let r = virDomainObjListLoadAllConfigs(
            l,
            cfg_c.as_ptr(),
            auto_c.as_ptr(),
            false,
            null_mut(),
            Some(notify_cb),
            &loaded as *const _ as *mut c_void,
        );
        assert_eq!(r, 0);
        let (code, _, msg) = last_error().expect("the bad file is reported");
        assert_eq!(code, 27);
        assert!(msg.contains("broken.xml"), "{msg}");
        let total = virDomainObjListNumOfDomains(l, false, None, null_mut()) as usize;
        assert_eq!(total, n_files - 1);
        assert_eq!(loaded.load(Ordering::SeqCst), total);
        let vm = virDomainObjListFindByName(l, c"QEMUGuest1".as_ptr());
        assert!((*vm).autostart && (*vm).persistent);
        // Loaded configs format back as saved.
        let saved = std::fs::read_to_string(cfg.join("QEMUGuest1.xml")).unwrap();
        assert!(saved.ends_with(&fmt((*vm).def, VIR_DOMAIN_DEF_FORMAT_INACTIVE)));

        // Status of a running domain, then load it in a fresh list.
        (*(*vm).def).id = 12;
        (*vm).pid = 4242;
        virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATED);
        assert_eq!(virDomainObjSave(vm, null_mut(), run_c.as_ptr()), 0);
        assert_eq!(
            virDomainSaveStatus(null_mut(), run_c.as_ptr(), vm, null_mut()),
            0
        );
        let l2 = virDomainObjListNew();
        assert_eq!(
            virDomainObjListLoadAllConfigs(
                l2,
                run_c.as_ptr(),
                null(),
                true,
                null_mut(),
                None,
                null_mut()
            ),
            0
        );
        let st = virDomainObjListFindByID(l2, 12);
        assert!(!st.is_null(), "{:?}", last_error());
        let mut reason = 0;
        assert_eq!(virDomainObjGetState(st, &mut reason), VIR_DOMAIN_RUNNING);
        assert_eq!(reason, VIR_DOMAIN_RUNNING_MIGRATED);
        assert_eq!((*st).pid, 4242);
        assert!(!(*st).persistent);
        end(st);
        // Then the configs: the running one gets its persistent def as newDef.
        assert_eq!(
            virDomainObjListLoadAllConfigs(
                l2,
                cfg_c.as_ptr(),
                auto_c.as_ptr(),
                false,
                null_mut(),
                None,
                null_mut()
            ),
            0
        );
        let st = virDomainObjListFindByID(l2, 12);
        assert!((*st).persistent && !(*st).newDef.is_null());
        end(st);

        // Delete.
        assert_eq!(
            virDomainDeleteConfig(cfg_c.as_ptr(), auto_c.as_ptr(), vm),
            0
        );
        assert!(!cfg.join("QEMUGuest1.xml").exists());
        assert!(std::fs::symlink_metadata(auto.join("QEMUGuest1.xml")).is_err());
        assert!(!(*vm).autostart);
        assert_eq!(
            virDomainDeleteConfig(cfg_c.as_ptr(), auto_c.as_ptr(), vm),
            0
        );
        // Legacy name of DefSave.
        assert_eq!(
            virDomainSaveConfig(cfg_c.as_ptr(), null_mut(), (*vm).def),
            0
        );
        assert!(cfg.join("QEMUGuest1.xml").exists());
        end(vm);
        // A missing directory loads nothing.
        assert_eq!(
            virDomainObjListLoadAllConfigs(
                l,
                c"/nonexistent/virtcore".as_ptr(),
                null(),
                false,
                null_mut(),
                None,
                null_mut()
            ),
            0
        );
        crate::object::virObjectUnref(l.cast());
        crate::object::virObjectUnref(l2.cast());
    }
}

unsafe extern "C" fn lookup_in_callback(dom: *mut virDomainObj, op: *mut c_void) -> c_int {
    let l = op as *mut virDomainObjList;
    // A miss scans; under ForEach's read lock that must not deadlock.
    if !virDomainObjListFindByID(l, 999).is_null() {
        return -1;
    }
    crate::object::virObjectLock(dom.cast());
    let is_w = name_of(dom) == "w";
    crate::object::virObjectUnlock(dom.cast());
    if is_w {
        let f = virDomainObjListFindByID(l, 31);
        if f.is_null() {
            return -1;
        }
        end(f);
    }
    0
}

#[test]
fn find_by_id_inside_foreach_callbacks() {
    unsafe {
        let l = virDomainObjListNew();
        end(add(l, &small("v", 1, None), 0));
        let vm = add(l, &small("w", 2, None), 0);
        (*(*vm).def).id = 31; // written directly: not in the index yet
        end(vm);
        assert_eq!(
            virDomainObjListForEach(l, false, Some(lookup_in_callback), l.cast()),
            0
        );
        assert_eq!(
            virDomainObjListForEach(l, true, Some(lookup_in_callback), l.cast()),
            0
        );
        crate::object::virObjectUnref(l.cast());
    }
}
