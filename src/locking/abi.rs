//! The lock-driver plugin ABI: defined once, in the `lockdriver-abi` crate
//! (`crates/lockdriver-abi`, shared with the `lockspace` plugin); re-exported here under
//! its old path. Only the library's own opaque plugin object is declared here.

pub use lockdriver_abi::*;

/// A loaded lock-manager plugin: an opaque, reference-counted library object
/// (`virLockManagerPluginRef` / `Unref`, or `virObjectRef` / `virObjectUnref`).
pub struct virLockManagerPlugin {
    _opaque: [u8; 0],
}
