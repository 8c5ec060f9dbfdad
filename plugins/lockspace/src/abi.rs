//! libvirt's lock-driver plugin ABI (`lock_driver.h`): the shared `lockdriver-abi` crate,
//! which depends on nothing, so this plugin still does not link virtcore. Only the
//! `virterror.h` values the driver reports stay here (cbindgen must not see them: the
//! library's header has them as enums).

pub use lockdriver_abi::*;

/// libvirt's error numbers and domain used by this driver (values of `virterror.h`).
pub mod err {
    pub const VIR_FROM_LOCKING: i32 = 42;
    pub const VIR_ERR_INTERNAL_ERROR: i32 = 1;
    pub const VIR_ERR_NO_MEMORY: i32 = 2;
    pub const VIR_ERR_INVALID_ARG: i32 = 8;
    pub const VIR_ERR_CONF_SYNTAX: i32 = 33;
    pub const VIR_ERR_SYSTEM_ERROR: i32 = 38;
    pub const VIR_ERR_OPERATION_INVALID: i32 = 55;
    pub const VIR_ERR_CONFIG_UNSUPPORTED: i32 = 67;
    pub const VIR_ERR_RESOURCE_BUSY: i32 = 87;
    pub const VIR_ERR_OPERATION_ABORTED: i32 = 78;
}
