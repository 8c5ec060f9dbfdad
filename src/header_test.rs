//! The committed `include/virtcore.h` must be exactly what cbindgen generates now.

#[test]
fn committed_header_is_current() {
    let generated = std::fs::read_to_string(env!("VIRTCORE_GENERATED_HEADER")).unwrap();
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/virtcore.h");
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert!(
        generated == committed,
        "include/virtcore.h is out of date with the Rust sources: run `make header` and commit it"
    );
}
