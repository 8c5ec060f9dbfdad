//! The lock manager and its plugin interface (libvirt 9.0's `lock_manager.h`, `lock_driver.h`, `domain_lock.h`).
//!
//! * [`abi`]: libvirt's lock-driver plugin ABI (`virLockDriver`, `virLockManager`, …).
//! * [`plugin`]: loading plugins (`dlopen` of `LOCKDRIVERDIR/NAME.so`, or the built-in
//!   `nop`), each failure level its own error; refcounted plugin objects.
//! * `builtin_dir`: the default plugin directory, a record `make install` rewrites.
//! * [`manager`]: one lock context per guest, calling the plugin's callbacks with every
//!   slot checked and every failure turned into an error that names plugin and callback.
//! * `ffi`: the exported `virLockManager*` functions.
//!
//! Lock order: the loader's mutex is the last lock of the library's order (after the
//! domain object); nothing here calls back into domain code while holding it.

pub mod abi;
mod builtin_dir;
mod domain_lock;
mod error;
mod ffi;
pub mod manager;
mod nop;
pub mod plugin;

pub use error::LockError;
