//! virtcore: a memory-safe core for C virtualization daemons, with libvirt 9.0's C ABI.
//!
//! Layout: each subsystem is a plain Rust module that knows nothing about C, with a thin
//! `ffi` submodule of `extern "C"` functions on top. Every exported function runs its
//! body inside [`ffi::call`], which checks pointers and flags, catches panics and turns
//! Rust errors into libvirt's thread-local `virError`.
//!
//! Lock order (the one order every subsystem follows, documented again in the header):
//! state-driver registry → domain object list → domain object → lock-manager plugin.
//! A thread holding a lock later in this order never waits for one earlier in it.

#![allow(non_camel_case_types, non_snake_case, clippy::missing_safety_doc)]

/// Binds every `#[no_mangle]` item of the calling file to the library's version node.
/// Call it once at the end of each file that exports symbols (build.rs generates the list).
macro_rules! export_symbols {
    () => {
        include!(concat!(env!("OUT_DIR"), "/symver/", file!(), ".rs"));
    };
}

#[macro_use]
pub mod log;
pub mod domain;
pub mod error;
pub mod ffi;
pub mod locking;
pub mod object;
pub mod state;
pub mod version;

#[cfg(test)]
mod header_test;
