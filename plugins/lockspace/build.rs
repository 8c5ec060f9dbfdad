//! Exports nothing but `virLockDriverImpl` from the plugin: a linker version script
//! with everything else local.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let map = out.join("lockspace.map");
    fs::write(&map, "{\n  global: virLockDriverImpl;\n  local: *;\n};\n").unwrap();
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
    println!("cargo:rerun-if-changed=build.rs");
}
