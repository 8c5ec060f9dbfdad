//! The lock-driver plugin ABI as C sees it (bindgen over the generated header, i.e. clang's
//! layout of `include/virtcore.h`) must equal the Rust definitions: every size, alignment,
//! field offset and constant value.

use std::collections::HashMap;
use std::mem::{align_of, offset_of, size_of};

use virtcore::locking::abi::*;

/// (sizes and alignments by type, offsets by "Type::field", constants by name) from clang.
fn clang_layout() -> (
    HashMap<String, usize>,
    HashMap<String, usize>,
    HashMap<String, i64>,
) {
    let header = concat!(env!("CARGO_MANIFEST_DIR"), "/include/virtcore.h");
    let text = bindgen::Builder::default()
        .header(header)
        .allowlist_type("virLock.*")
        .allowlist_type("virDomainLockFailureAction")
        .allowlist_var("VIR_LOCK_.*|VIR_DOMAIN_LOCK_.*")
        .layout_tests(true)
        .generate()
        .expect("bindgen parses include/virtcore.h")
        .to_string();
    let mut sizes = HashMap::new();
    let mut offsets = HashMap::new();
    let mut consts = HashMap::new();
    // Layout assertions look like `["Size of virLockDriver"][... - 72usize];`, possibly
    // wrapped over several lines.
    let mut rest = text.as_str();
    while let Some(i) = rest.find("[\"") {
        rest = &rest[i + 2..];
        let Some(q) = rest.find('"') else { break };
        let label = rest[..q].to_string();
        let Some(end) = rest.find("usize]") else {
            break;
        };
        let expr = &rest[..end];
        let value: usize = match expr
            .rsplit(" - ")
            .next()
            .and_then(|v| v.trim().parse().ok())
        {
            Some(v) => v,
            None => continue,
        };
        if let Some(name) = label.strip_prefix("Size of ") {
            sizes.insert(format!("size {name}"), value);
        } else if let Some(name) = label.strip_prefix("Alignment of ") {
            sizes.insert(format!("align {name}"), value);
        } else if let Some(name) = label.strip_prefix("Offset of field: ") {
            offsets.insert(name.to_string(), value);
        }
    }
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("pub const ") {
            // pub const NAME: u32 = 1000000;
            let (name, value) = rest.split_once(':').unwrap();
            let value = value
                .split('=')
                .nth(1)
                .unwrap()
                .trim()
                .trim_end_matches(';');
            if let Ok(v) = value.parse::<i64>() {
                consts.insert(name.trim().to_string(), v);
            }
        }
    }
    (sizes, offsets, consts)
}

#[test]
fn rust_abi_equals_header_abi() {
    let (sizes, offsets, consts) = clang_layout();
    let expect_size = |name: &str, size: usize, align: usize| {
        assert_eq!(
            sizes.get(&format!("size {name}")),
            Some(&size),
            "size of {name}"
        );
        assert_eq!(
            sizes.get(&format!("align {name}")),
            Some(&align),
            "alignment of {name}"
        );
    };
    expect_size(
        "virLockDriver",
        size_of::<virLockDriver>(),
        align_of::<virLockDriver>(),
    );
    expect_size(
        "virLockManager",
        size_of::<virLockManager>(),
        align_of::<virLockManager>(),
    );
    expect_size(
        "virLockManagerParam",
        size_of::<virLockManagerParam>(),
        align_of::<virLockManagerParam>(),
    );
    expect_size(
        "virLockManagerParamValue",
        size_of::<virLockManagerParamValue>(),
        align_of::<virLockManagerParamValue>(),
    );
    // libvirt 9.0's lock_driver.h values.
    assert_eq!(size_of::<virLockDriver>(), 72);
    assert_eq!(size_of::<virLockManager>(), 16);
    assert_eq!(size_of::<virLockManagerParam>(), 32);

    let rust_offsets: Vec<(&str, usize)> = vec![
        ("virLockDriver::version", offset_of!(virLockDriver, version)),
        ("virLockDriver::flags", offset_of!(virLockDriver, flags)),
        ("virLockDriver::drvInit", offset_of!(virLockDriver, drvInit)),
        (
            "virLockDriver::drvDeinit",
            offset_of!(virLockDriver, drvDeinit),
        ),
        ("virLockDriver::drvNew", offset_of!(virLockDriver, drvNew)),
        ("virLockDriver::drvFree", offset_of!(virLockDriver, drvFree)),
        (
            "virLockDriver::drvAddResource",
            offset_of!(virLockDriver, drvAddResource),
        ),
        (
            "virLockDriver::drvAcquire",
            offset_of!(virLockDriver, drvAcquire),
        ),
        (
            "virLockDriver::drvRelease",
            offset_of!(virLockDriver, drvRelease),
        ),
        (
            "virLockDriver::drvInquire",
            offset_of!(virLockDriver, drvInquire),
        ),
        ("virLockManager::driver", offset_of!(virLockManager, driver)),
        (
            "virLockManager::privateData",
            offset_of!(virLockManager, privateData),
        ),
        (
            "virLockManagerParam::type_",
            offset_of!(virLockManagerParam, r#type),
        ),
        (
            "virLockManagerParam::key",
            offset_of!(virLockManagerParam, key),
        ),
        (
            "virLockManagerParam::value",
            offset_of!(virLockManagerParam, value),
        ),
    ];
    for (field, off) in &rust_offsets {
        assert_eq!(offsets.get(*field), Some(off), "offset of {field}");
    }
    let design: [(&str, usize); 8] = [
        ("drvInit", 8),
        ("drvDeinit", 16),
        ("drvNew", 24),
        ("drvFree", 32),
        ("drvAddResource", 40),
        ("drvAcquire", 48),
        ("drvRelease", 56),
        ("drvInquire", 64),
    ];
    for (f, off) in design {
        assert_eq!(offsets[&format!("virLockDriver::{f}")], off, "{f}");
    }
    // Union members all start at 0 (uuid is 16 bytes).
    for m in ["iv", "l", "ui", "ul", "d", "str_", "cstr", "uuid"] {
        assert_eq!(
            offsets.get(&format!("virLockManagerParamValue::{m}")),
            Some(&0),
            "union member {m}"
        );
    }

    let rust_consts: Vec<(&str, i64)> = vec![
        ("VIR_LOCK_MANAGER_VERSION", VIR_LOCK_MANAGER_VERSION as i64),
        (
            "VIR_LOCK_MANAGER_VERSION_MAJOR",
            VIR_LOCK_MANAGER_VERSION_MAJOR as i64,
        ),
        (
            "VIR_LOCK_MANAGER_USES_STATE",
            VIR_LOCK_MANAGER_USES_STATE as i64,
        ),
        (
            "VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN",
            VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN as i64,
        ),
        (
            "VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK",
            VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK as i64,
        ),
        (
            "VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE",
            VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE as i64,
        ),
        (
            "VIR_LOCK_MANAGER_RESOURCE_READONLY",
            VIR_LOCK_MANAGER_RESOURCE_READONLY as i64,
        ),
        (
            "VIR_LOCK_MANAGER_RESOURCE_SHARED",
            VIR_LOCK_MANAGER_RESOURCE_SHARED as i64,
        ),
        (
            "VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY",
            VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY as i64,
        ),
        (
            "VIR_LOCK_MANAGER_ACQUIRE_RESTRICT",
            VIR_LOCK_MANAGER_ACQUIRE_RESTRICT as i64,
        ),
        (
            "VIR_LOCK_MANAGER_NEW_STARTED",
            VIR_LOCK_MANAGER_NEW_STARTED as i64,
        ),
        (
            "VIR_LOCK_MANAGER_PARAM_TYPE_STRING",
            VIR_LOCK_MANAGER_PARAM_TYPE_STRING as i64,
        ),
        (
            "VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING",
            VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING as i64,
        ),
        (
            "VIR_LOCK_MANAGER_PARAM_TYPE_INT",
            VIR_LOCK_MANAGER_PARAM_TYPE_INT as i64,
        ),
        (
            "VIR_LOCK_MANAGER_PARAM_TYPE_LONG",
            VIR_LOCK_MANAGER_PARAM_TYPE_LONG as i64,
        ),
        (
            "VIR_LOCK_MANAGER_PARAM_TYPE_UINT",
            VIR_LOCK_MANAGER_PARAM_TYPE_UINT as i64,
        ),
        (
            "VIR_LOCK_MANAGER_PARAM_TYPE_ULONG",
            VIR_LOCK_MANAGER_PARAM_TYPE_ULONG as i64,
        ),
        (
            "VIR_LOCK_MANAGER_PARAM_TYPE_DOUBLE",
            VIR_LOCK_MANAGER_PARAM_TYPE_DOUBLE as i64,
        ),
        (
            "VIR_LOCK_MANAGER_PARAM_TYPE_UUID",
            VIR_LOCK_MANAGER_PARAM_TYPE_UUID as i64,
        ),
        (
            "VIR_DOMAIN_LOCK_FAILURE_DEFAULT",
            VIR_DOMAIN_LOCK_FAILURE_DEFAULT as i64,
        ),
        (
            "VIR_DOMAIN_LOCK_FAILURE_POWEROFF",
            VIR_DOMAIN_LOCK_FAILURE_POWEROFF as i64,
        ),
        (
            "VIR_DOMAIN_LOCK_FAILURE_RESTART",
            VIR_DOMAIN_LOCK_FAILURE_RESTART as i64,
        ),
        (
            "VIR_DOMAIN_LOCK_FAILURE_PAUSE",
            VIR_DOMAIN_LOCK_FAILURE_PAUSE as i64,
        ),
        (
            "VIR_DOMAIN_LOCK_FAILURE_IGNORE",
            VIR_DOMAIN_LOCK_FAILURE_IGNORE as i64,
        ),
    ];
    for (name, v) in &rust_consts {
        assert_eq!(consts.get(*name), Some(v), "value of {name} in the header");
    }
    assert_eq!(VIR_LOCK_MANAGER_VERSION, 1_000_000);
}
