//! LoadAllConfigs over enough files to be read on several threads: the result is the one
//! the sequential load gives (domains, autostart, notify order, the last failure named).

use std::ffi::{c_int, c_void, CStr, CString};
use std::ptr::null_mut;

use super::ffi::*;
use super::list::*;
use super::obj::*;
use crate::error::last_error;
use crate::object::virObjectUnref;

const N: usize = 700; // above PARALLEL_MIN, several chunks per thread

fn doc(i: usize, live: bool) -> String {
    let id = if live {
        format!(" id='{}'", i + 1)
    } else {
        String::new()
    };
    let d = format!(
        "<domain type='kvm'{id}><name>d{i:04}</name><uuid>{i:08x}-aaaa-4bbb-8ccc-dddddddddddd</uuid><memory>1024</memory></domain>\n"
    );
    if live {
        format!(
            "<domstatus state='running' reason='booted' pid='{}'>\n{d}</domstatus>\n",
            100 + i
        )
    } else {
        d
    }
}

unsafe extern "C" fn record(dom: *mut virDomainObj, _new: c_int, op: *mut c_void) {
    let names = &mut *(op as *mut Vec<String>);
    names.push(
        CStr::from_ptr((*(*dom).def).name)
            .to_string_lossy()
            .into_owned(),
    );
}

/// Writes N files, every 50th broken, every 7th autostarted, one FIFO; loads them.
unsafe fn load(live: bool) -> (*mut virDomainObjList, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let auto = dir.path().join("auto");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::create_dir_all(&auto).unwrap();
    for i in 0..N {
        let path = cfg.join(format!("d{i:04}.xml"));
        let text = if i % 50 == 49 {
            "<domain type='kvm'><name>broken".to_string()
        } else {
            doc(i, live)
        };
        std::fs::write(&path, text).unwrap();
        if i % 7 == 0 {
            std::os::unix::fs::symlink(&path, auto.join(format!("d{i:04}.xml"))).unwrap();
        }
    }
    let fifo = CString::new(cfg.join("zz-fifo.xml").to_str().unwrap()).unwrap();
    assert_eq!(libc::mkfifo(fifo.as_ptr(), 0o600), 0);
    let cfg_c = CString::new(cfg.to_str().unwrap()).unwrap();
    let auto_c = CString::new(auto.to_str().unwrap()).unwrap();
    let l = virDomainObjListNew();
    let mut seen: Vec<String> = Vec::new();
    crate::error::reset_last_error();
    let r = virDomainObjListLoadAllConfigs(
        l,
        cfg_c.as_ptr(),
        if live { null_mut() } else { auto_c.as_ptr() },
        live,
        null_mut(),
        Some(record),
        &mut seen as *mut Vec<String> as *mut c_void,
    );
    assert_eq!(r, 0);
    let msg = last_error().expect("the broken files are reported").2;
    (l, seen, msg)
}

#[test]
fn many_files_load_as_one_by_one() {
    for live in [false, true] {
        unsafe {
            let (l, seen, msg) = load(live);
            let want: Vec<String> = (0..N)
                .filter(|i| i % 50 != 49)
                .map(|i| format!("d{i:04}"))
                .collect();
            // Notified in name order, each good file once; the last broken one is named.
            assert_eq!(seen, want);
            assert!(
                msg.contains(&format!("d{:04}.xml", N - N % 50 - 1)),
                "{msg}"
            );
            assert_eq!(
                virDomainObjListNumOfDomains(l, live, None, null_mut()) as usize,
                want.len()
            );
            for i in (0..N).filter(|i| i % 50 != 49) {
                let name = CString::new(format!("d{i:04}")).unwrap();
                let mut vm = virDomainObjListFindByName(l, name.as_ptr());
                assert!(!vm.is_null());
                assert_eq!((*vm).persistent, !live);
                assert_eq!((*vm).autostart, !live && i % 7 == 0, "d{i:04}");
                if live {
                    assert_eq!((*(*vm).def).id, i as c_int + 1);
                    assert_eq!((*vm).pid, 100 + i as i32);
                }
                virDomainObjEndAPI(&mut vm);
            }
            virObjectUnref(l.cast());
        }
    }
}
