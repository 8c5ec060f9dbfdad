//! The list's indexes (index.rs) through the C entry points: the name index across a
//! rename, names that are not UTF-8, the ID index under many C writes, growth.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr::null_mut;

use super::ffi::*;
use super::list::*;
use super::obj::*;
use super::tests_xml::parse_ok;
use super::types::*;
use crate::error::last_error;
use crate::object::virObjectUnref;

fn doc(name: &str, i: u32, id: Option<i32>) -> String {
    let id = id.map(|i| format!(" id='{i}'")).unwrap_or_default();
    format!(
        "<domain type='kvm'{id}><name>{name}</name><uuid>{:08x}-2222-3333-4444-555555555555</uuid><memory>1024</memory></domain>",
        i
    )
}

unsafe fn add(l: *mut virDomainObjList, xml: &str) -> *mut virDomainObj {
    let mut def = parse_ok(xml, 0);
    let vm = virDomainObjListAdd(l, &mut def, null_mut(), 0, null_mut());
    assert!(!vm.is_null(), "add failed: {:?}", last_error());
    vm
}

unsafe fn found(l: *mut virDomainObjList, name: &CStr) -> bool {
    let mut vm = virDomainObjListFindByName(l, name.as_ptr());
    let ok = !vm.is_null();
    virDomainObjEndAPI(&mut vm);
    ok
}

/// Renames succeed when the callback does (looking the domain up from inside the
/// callback would wait for the object's own lock, held by the caller, as in libvirt).
unsafe extern "C" fn ok(
    dom: *mut virDomainObj,
    new: *const c_char,
    _flags: c_uint,
    _opaque: *mut c_void,
) -> c_int {
    assert!(!dom.is_null());
    assert_eq!(CStr::from_ptr(new), c"new-name");
    0
}

unsafe extern "C" fn fail(
    _dom: *mut virDomainObj,
    _new: *const c_char,
    _flags: c_uint,
    _opaque: *mut c_void,
) -> c_int {
    -1
}

#[test]
fn rename_moves_the_name_only_when_the_callback_succeeds() {
    unsafe {
        let l = virDomainObjListNew();
        let mut vm = add(l, &doc("old-name", 1, None));
        let rc = virDomainObjListRename(l, vm, c"new-name".as_ptr(), 0, Some(ok), null_mut());
        assert_eq!(rc, 0, "{:?}", last_error());
        virDomainObjEndAPI(&mut vm);
        assert!(found(l, c"new-name"));
        assert!(!found(l, c"old-name"));
        // A failing callback leaves the old name, and the new one free.
        let mut vm = virDomainObjListFindByName(l, c"new-name".as_ptr());
        let rc = virDomainObjListRename(l, vm, c"third".as_ptr(), 0, Some(fail), null_mut());
        assert_eq!(rc, -1);
        virDomainObjEndAPI(&mut vm);
        assert!(found(l, c"new-name"));
        assert!(!found(l, c"third"));
        virObjectUnref(l.cast());
    }
}

#[test]
fn a_name_that_is_not_utf8_is_refused_and_changes_nothing() {
    unsafe {
        let l = virDomainObjListNew();
        let mut def = parse_ok(&doc("fine", 1, None), 0);
        libc::free((*def).name.cast());
        (*def).name = libc::strdup(c"bad\xff".as_ptr());
        let vm = virDomainObjListAdd(l, &mut def, null_mut(), 0, null_mut());
        assert!(vm.is_null());
        assert!(!def.is_null(), "the caller keeps its definition");
        let (code, _, msg) = last_error().unwrap();
        assert_eq!(
            code,
            crate::error::virErrorNumber::VIR_ERR_INVALID_ARG as i32
        );
        assert!(msg.contains("not valid UTF-8"), "{msg}");
        virDomainDefFree(def);
        assert_eq!(virDomainObjListNumOfDomains(l, false, None, null_mut()), 0);
        virObjectUnref(l.cast());
    }
}

#[test]
fn many_domains_ids_rewritten_by_c_and_removed() {
    unsafe {
        let l = virDomainObjListNew();
        let n = 3000u32;
        for i in 0..n {
            let mut vm = add(l, &doc(&format!("d{i}"), i, Some(i as i32 + 1)));
            virDomainObjEndAPI(&mut vm);
        }
        // C swaps IDs around: every lookup by ID still gives the domain that has it.
        for i in 0..n {
            let mut vm = virDomainObjListFindByUUID(
                l,
                uuid_parse(&format!("{i:08x}-2222-3333-4444-555555555555"))
                    .unwrap()
                    .as_ptr(),
            );
            assert!(!vm.is_null());
            (*(*vm).def).id = (n - i) as i32;
            virDomainObjEndAPI(&mut vm);
        }
        for id in [1, n as i32 / 2, n as i32] {
            let mut vm = virDomainObjListFindByID(l, id);
            assert!(!vm.is_null(), "id {id}");
            assert_eq!((*(*vm).def).id, id);
            virDomainObjEndAPI(&mut vm);
        }
        for i in (0..n).step_by(2) {
            let name = std::ffi::CString::new(format!("d{i}")).unwrap();
            let mut vm = virDomainObjListFindByName(l, name.as_ptr());
            assert!(!vm.is_null());
            virDomainObjListRemove(l, vm);
            virDomainObjEndAPI(&mut vm);
            assert!(!found(l, &name));
        }
        assert_eq!(
            virDomainObjListNumOfDomains(l, true, None, null_mut()),
            (n / 2) as i32
        );
        assert!(found(l, c"d1"));
        virObjectUnref(l.cast());
    }
}
