//! libvirt 9.0's public domain state, reason and listing-flag values (generated from
//! Debian's `<libvirt/libvirt-domain.h>`; `c-tests/test_domain_core_conformance.c` checks them).

use std::ffi::{c_int, c_uint};

/// A domain's state (libvirt's `virDomainState`; an `int` so C may store any value).
pub type virDomainState = c_int;
pub const VIR_DOMAIN_NOSTATE: c_int = 0;
pub const VIR_DOMAIN_RUNNING: c_int = 1;
pub const VIR_DOMAIN_BLOCKED: c_int = 2;
pub const VIR_DOMAIN_PAUSED: c_int = 3;
pub const VIR_DOMAIN_SHUTDOWN: c_int = 4;
pub const VIR_DOMAIN_SHUTOFF: c_int = 5;
pub const VIR_DOMAIN_CRASHED: c_int = 6;
pub const VIR_DOMAIN_PMSUSPENDED: c_int = 7;

pub const VIR_DOMAIN_NOSTATE_UNKNOWN: c_int = 0;
pub const VIR_DOMAIN_RUNNING_UNKNOWN: c_int = 0;
pub const VIR_DOMAIN_RUNNING_BOOTED: c_int = 1;
pub const VIR_DOMAIN_RUNNING_MIGRATED: c_int = 2;
pub const VIR_DOMAIN_RUNNING_RESTORED: c_int = 3;
pub const VIR_DOMAIN_RUNNING_FROM_SNAPSHOT: c_int = 4;
pub const VIR_DOMAIN_RUNNING_UNPAUSED: c_int = 5;
pub const VIR_DOMAIN_RUNNING_MIGRATION_CANCELED: c_int = 6;
pub const VIR_DOMAIN_RUNNING_SAVE_CANCELED: c_int = 7;
pub const VIR_DOMAIN_RUNNING_WAKEUP: c_int = 8;
pub const VIR_DOMAIN_RUNNING_CRASHED: c_int = 9;
pub const VIR_DOMAIN_RUNNING_POSTCOPY: c_int = 10;
pub const VIR_DOMAIN_RUNNING_POSTCOPY_FAILED: c_int = 11;
pub const VIR_DOMAIN_BLOCKED_UNKNOWN: c_int = 0;
pub const VIR_DOMAIN_PAUSED_UNKNOWN: c_int = 0;
pub const VIR_DOMAIN_PAUSED_USER: c_int = 1;
pub const VIR_DOMAIN_PAUSED_MIGRATION: c_int = 2;
pub const VIR_DOMAIN_PAUSED_SAVE: c_int = 3;
pub const VIR_DOMAIN_PAUSED_DUMP: c_int = 4;
pub const VIR_DOMAIN_PAUSED_IOERROR: c_int = 5;
pub const VIR_DOMAIN_PAUSED_WATCHDOG: c_int = 6;
pub const VIR_DOMAIN_PAUSED_FROM_SNAPSHOT: c_int = 7;
pub const VIR_DOMAIN_PAUSED_SHUTTING_DOWN: c_int = 8;
pub const VIR_DOMAIN_PAUSED_SNAPSHOT: c_int = 9;
pub const VIR_DOMAIN_PAUSED_CRASHED: c_int = 10;
pub const VIR_DOMAIN_PAUSED_STARTING_UP: c_int = 11;
pub const VIR_DOMAIN_PAUSED_POSTCOPY: c_int = 12;
pub const VIR_DOMAIN_PAUSED_POSTCOPY_FAILED: c_int = 13;
pub const VIR_DOMAIN_SHUTDOWN_UNKNOWN: c_int = 0;
pub const VIR_DOMAIN_SHUTDOWN_USER: c_int = 1;
pub const VIR_DOMAIN_SHUTOFF_UNKNOWN: c_int = 0;
pub const VIR_DOMAIN_SHUTOFF_SHUTDOWN: c_int = 1;
pub const VIR_DOMAIN_SHUTOFF_DESTROYED: c_int = 2;
pub const VIR_DOMAIN_SHUTOFF_CRASHED: c_int = 3;
pub const VIR_DOMAIN_SHUTOFF_MIGRATED: c_int = 4;
pub const VIR_DOMAIN_SHUTOFF_SAVED: c_int = 5;
pub const VIR_DOMAIN_SHUTOFF_FAILED: c_int = 6;
pub const VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT: c_int = 7;
pub const VIR_DOMAIN_SHUTOFF_DAEMON: c_int = 8;
pub const VIR_DOMAIN_CRASHED_UNKNOWN: c_int = 0;
pub const VIR_DOMAIN_CRASHED_PANICKED: c_int = 1;
pub const VIR_DOMAIN_PMSUSPENDED_UNKNOWN: c_int = 0;

pub const VIR_CONNECT_LIST_DOMAINS_ACTIVE: c_uint = 1 << 0;
pub const VIR_CONNECT_LIST_DOMAINS_INACTIVE: c_uint = 1 << 1;
pub const VIR_CONNECT_LIST_DOMAINS_PERSISTENT: c_uint = 1 << 2;
pub const VIR_CONNECT_LIST_DOMAINS_TRANSIENT: c_uint = 1 << 3;
pub const VIR_CONNECT_LIST_DOMAINS_RUNNING: c_uint = 1 << 4;
pub const VIR_CONNECT_LIST_DOMAINS_PAUSED: c_uint = 1 << 5;
pub const VIR_CONNECT_LIST_DOMAINS_SHUTOFF: c_uint = 1 << 6;
pub const VIR_CONNECT_LIST_DOMAINS_OTHER: c_uint = 1 << 7;
pub const VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE: c_uint = 1 << 8;
pub const VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE: c_uint = 1 << 9;
pub const VIR_CONNECT_LIST_DOMAINS_AUTOSTART: c_uint = 1 << 10;
pub const VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART: c_uint = 1 << 11;
pub const VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT: c_uint = 1 << 12;
pub const VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT: c_uint = 1 << 13;
pub const VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT: c_uint = 1 << 14;
pub const VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT: c_uint = 1 << 15;
