//! libvirt 9.0's public error enums, value for value (`<libvirt/virterror.h>`).
//!
//! Transcribed from Debian's libvirt-dev 9.0.0; `c-tests/conformance_virterror.c` compiles
//! against that header and checks every value, so a typo here fails the tests.

/// How serious an error is (libvirt `virErrorLevel`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum virErrorLevel {
    /// (libvirt 0.1.0)
    VIR_ERR_NONE = 0,
    /// A simple warning (libvirt 0.1.0)
    VIR_ERR_WARNING = 1,
    /// An error (libvirt 0.1.0)
    VIR_ERR_ERROR = 2,
}

/// Which part of the library raised an error (libvirt `virErrorDomain`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum virErrorDomain {
    /// (libvirt 0.1.0)
    VIR_FROM_NONE = 0,
    /// Error at Xen hypervisor layer (libvirt 0.1.0)
    VIR_FROM_XEN = 1,
    /// Error at connection with xend daemon (libvirt 0.1.0)
    VIR_FROM_XEND = 2,
    /// Error at connection with xen store (libvirt 0.1.0)
    VIR_FROM_XENSTORE = 3,
    /// Error in the S-Expression code (libvirt 0.1.0)
    VIR_FROM_SEXPR = 4,
    /// Error in the XML code (libvirt 0.1.0)
    VIR_FROM_XML = 5,
    /// Error when operating on a domain (libvirt 0.1.0)
    VIR_FROM_DOM = 6,
    /// Error in the XML-RPC code (libvirt 0.1.1)
    VIR_FROM_RPC = 7,
    /// Error in the proxy code; unused since
    VIR_FROM_PROXY = 8,
    /// Error in the configuration file handling (libvirt 0.1.6)
    VIR_FROM_CONF = 9,
    /// Error at the QEMU daemon (libvirt 0.2.0)
    VIR_FROM_QEMU = 10,
    /// Error when operating on a network (libvirt 0.2.0)
    VIR_FROM_NET = 11,
    /// Error from test driver (libvirt 0.2.3)
    VIR_FROM_TEST = 12,
    /// Error from remote driver (libvirt 0.2.3)
    VIR_FROM_REMOTE = 13,
    /// Error from OpenVZ driver (libvirt 0.3.1)
    VIR_FROM_OPENVZ = 14,
    /// Error at Xen XM layer (libvirt 0.4.1)
    VIR_FROM_XENXM = 15,
    /// Error in the Linux Stats code (libvirt 0.4.1)
    VIR_FROM_STATS_LINUX = 16,
    /// Error from Linux Container driver (libvirt 0.4.2)
    VIR_FROM_LXC = 17,
    /// Error from storage driver (libvirt 0.4.1)
    VIR_FROM_STORAGE = 18,
    /// Error from network config (libvirt 0.4.6)
    VIR_FROM_NETWORK = 19,
    /// Error from domain config (libvirt 0.4.6)
    VIR_FROM_DOMAIN = 20,
    /// Error at the UML driver; unused since 5.0.0 (libvirt 0.5.0)
    VIR_FROM_UML = 21,
    /// Error from node device monitor (libvirt 0.5.0)
    VIR_FROM_NODEDEV = 22,
    /// Error from xen inotify layer (libvirt 0.5.0)
    VIR_FROM_XEN_INOTIFY = 23,
    /// Error from security framework (libvirt 0.6.1)
    VIR_FROM_SECURITY = 24,
    /// Error from VirtualBox driver (libvirt 0.6.3)
    VIR_FROM_VBOX = 25,
    /// Error when operating on an interface (libvirt 0.6.4)
    VIR_FROM_INTERFACE = 26,
    /// The OpenNebula driver no longer exists.
    VIR_FROM_ONE = 27,
    /// Error from ESX driver (libvirt 0.7.0)
    VIR_FROM_ESX = 28,
    /// Error from the phyp driver, unused since 6.0.0 (libvirt 0.7.0)
    VIR_FROM_PHYP = 29,
    /// Error from secret storage (libvirt 0.7.1)
    VIR_FROM_SECRET = 30,
    /// Error from CPU driver (libvirt 0.7.5)
    VIR_FROM_CPU = 31,
    /// Error from XenAPI (libvirt 0.8.0)
    VIR_FROM_XENAPI = 32,
    /// Error from network filter driver (libvirt 0.8.0)
    VIR_FROM_NWFILTER = 33,
    /// Error from Synchronous hooks (libvirt 0.8.0)
    VIR_FROM_HOOK = 34,
    /// Error from domain snapshot (libvirt 0.8.0)
    VIR_FROM_DOMAIN_SNAPSHOT = 35,
    /// Error from auditing subsystem (libvirt 0.8.5)
    VIR_FROM_AUDIT = 36,
    /// Error from sysinfo/SMBIOS (libvirt 0.8.6)
    VIR_FROM_SYSINFO = 37,
    /// Error from I/O streams (libvirt 0.8.6)
    VIR_FROM_STREAMS = 38,
    /// Error from VMware driver (libvirt 0.8.7)
    VIR_FROM_VMWARE = 39,
    /// Error from event loop impl (libvirt 0.9.0)
    VIR_FROM_EVENT = 40,
    /// Error from libxenlight driver (libvirt 0.9.0)
    VIR_FROM_LIBXL = 41,
    /// Error from lock manager (libvirt 0.9.2)
    VIR_FROM_LOCKING = 42,
    /// Error from Hyper-V driver (libvirt 0.9.5)
    VIR_FROM_HYPERV = 43,
    /// Error from capabilities (libvirt 0.9.8)
    VIR_FROM_CAPABILITIES = 44,
    /// Error from URI handling (libvirt 0.9.11)
    VIR_FROM_URI = 45,
    /// Error from auth handling (libvirt 0.9.11)
    VIR_FROM_AUTH = 46,
    /// Error from DBus (libvirt 0.9.12)
    VIR_FROM_DBUS = 47,
    /// Error from Parallels (libvirt 0.10.0)
    VIR_FROM_PARALLELS = 48,
    /// Error from Device (libvirt 0.10.0)
    VIR_FROM_DEVICE = 49,
    /// Error from libssh2 connection transport (libvirt 0.10.0)
    VIR_FROM_SSH = 50,
    /// Error from lockspace (libvirt 1.0.0)
    VIR_FROM_LOCKSPACE = 51,
    /// Error from initctl device communication (libvirt 1.0.1)
    VIR_FROM_INITCTL = 52,
    /// Error from identity code (libvirt 1.0.4)
    VIR_FROM_IDENTITY = 53,
    /// Error from cgroups (libvirt 1.0.5)
    VIR_FROM_CGROUP = 54,
    /// Error from access control manager (libvirt 1.1.0)
    VIR_FROM_ACCESS = 55,
    /// Error from systemd code (libvirt 1.1.1)
    VIR_FROM_SYSTEMD = 56,
    /// Error from bhyve driver (libvirt 1.2.2)
    VIR_FROM_BHYVE = 57,
    /// Error from crypto code (libvirt 1.2.3)
    VIR_FROM_CRYPTO = 58,
    /// Error from firewall (libvirt 1.2.4)
    VIR_FROM_FIREWALL = 59,
    /// Error from polkit code (libvirt 1.2.9)
    VIR_FROM_POLKIT = 60,
    /// Error from thread utils (libvirt 1.2.14)
    VIR_FROM_THREAD = 61,
    /// Error from admin backend (libvirt 1.2.17)
    VIR_FROM_ADMIN = 62,
    /// Error from log manager (libvirt 1.3.0)
    VIR_FROM_LOGGING = 63,
    /// Error from Xen xl config code (libvirt 1.3.2)
    VIR_FROM_XENXL = 64,
    /// Error from perf (libvirt 1.3.3)
    VIR_FROM_PERF = 65,
    /// Error from libssh connection transport (libvirt 2.5.0)
    VIR_FROM_LIBSSH = 66,
    /// Error from resource control (libvirt 3.7.0)
    VIR_FROM_RESCTRL = 67,
    /// Error from firewalld (libvirt 5.1.0)
    VIR_FROM_FIREWALLD = 68,
    /// Error from domain checkpoint (libvirt 5.2.0)
    VIR_FROM_DOMAIN_CHECKPOINT = 69,
    /// Error from TPM (libvirt 5.6.0)
    VIR_FROM_TPM = 70,
    /// Error from BPF code (libvirt 5.10.0)
    VIR_FROM_BPF = 71,
    /// Error from Cloud-Hypervisor driver (libvirt 7.5.0)
    VIR_FROM_CH = 72,
}

/// The error codes (libvirt `virErrorNumber`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum virErrorNumber {
    /// (libvirt 0.1.0)
    VIR_ERR_OK = 0,
    /// internal error (libvirt 0.1.0)
    VIR_ERR_INTERNAL_ERROR = 1,
    /// memory allocation failure (libvirt 0.1.0)
    VIR_ERR_NO_MEMORY = 2,
    /// no support for this function (libvirt 0.1.0)
    VIR_ERR_NO_SUPPORT = 3,
    /// could not resolve hostname (libvirt 0.1.0)
    VIR_ERR_UNKNOWN_HOST = 4,
    /// can't connect to hypervisor (libvirt 0.1.0)
    VIR_ERR_NO_CONNECT = 5,
    /// invalid connection object (libvirt 0.1.0)
    VIR_ERR_INVALID_CONN = 6,
    /// invalid domain object (libvirt 0.1.0)
    VIR_ERR_INVALID_DOMAIN = 7,
    /// invalid function argument (libvirt 0.1.0)
    VIR_ERR_INVALID_ARG = 8,
    /// a command to hypervisor failed (libvirt 0.1.0)
    VIR_ERR_OPERATION_FAILED = 9,
    /// a HTTP GET command to failed (libvirt 0.1.0)
    VIR_ERR_GET_FAILED = 10,
    /// a HTTP POST command to failed (libvirt 0.1.0)
    VIR_ERR_POST_FAILED = 11,
    /// unexpected HTTP error code (libvirt 0.1.0)
    VIR_ERR_HTTP_ERROR = 12,
    /// failure to serialize an S-Expr (libvirt 0.1.0)
    VIR_ERR_SEXPR_SERIAL = 13,
    /// could not open Xen hypervisor
    VIR_ERR_NO_XEN = 14,
    /// failure doing an hypervisor call (libvirt 0.1.0)
    VIR_ERR_XEN_CALL = 15,
    /// unknown OS type (libvirt 0.1.0)
    VIR_ERR_OS_TYPE = 16,
    /// missing kernel information (libvirt 0.1.0)
    VIR_ERR_NO_KERNEL = 17,
    /// missing root device information (libvirt 0.1.0)
    VIR_ERR_NO_ROOT = 18,
    /// missing source device information (libvirt 0.1.0)
    VIR_ERR_NO_SOURCE = 19,
    /// missing target device information (libvirt 0.1.0)
    VIR_ERR_NO_TARGET = 20,
    /// missing domain name information (libvirt 0.1.0)
    VIR_ERR_NO_NAME = 21,
    /// missing domain OS information (libvirt 0.1.0)
    VIR_ERR_NO_OS = 22,
    /// missing domain devices information (libvirt 0.1.0)
    VIR_ERR_NO_DEVICE = 23,
    /// could not open Xen Store control (libvirt 0.1.0)
    VIR_ERR_NO_XENSTORE = 24,
    /// too many drivers registered (libvirt 0.1.0)
    VIR_ERR_DRIVER_FULL = 25,
    /// not supported by the drivers
    VIR_ERR_CALL_FAILED = 26,
    /// an XML description is not well
    VIR_ERR_XML_ERROR = 27,
    /// the domain already exist (libvirt 0.1.1)
    VIR_ERR_DOM_EXIST = 28,
    /// operation forbidden on read-only
    VIR_ERR_OPERATION_DENIED = 29,
    /// failed to open a conf file (libvirt 0.1.6)
    VIR_ERR_OPEN_FAILED = 30,
    /// failed to read a conf file (libvirt 0.1.6)
    VIR_ERR_READ_FAILED = 31,
    /// failed to parse a conf file (libvirt 0.1.6)
    VIR_ERR_PARSE_FAILED = 32,
    /// failed to parse the syntax of a
    VIR_ERR_CONF_SYNTAX = 33,
    /// failed to write a conf file (libvirt 0.1.6)
    VIR_ERR_WRITE_FAILED = 34,
    /// detail of an XML error (libvirt 0.1.9)
    VIR_ERR_XML_DETAIL = 35,
    /// invalid network object (libvirt 0.2.0)
    VIR_ERR_INVALID_NETWORK = 36,
    /// the network already exist (libvirt 0.2.0)
    VIR_ERR_NETWORK_EXIST = 37,
    /// general system call failure (libvirt 0.2.1)
    VIR_ERR_SYSTEM_ERROR = 38,
    /// some sort of RPC error (libvirt 0.2.3)
    VIR_ERR_RPC = 39,
    /// error from a GNUTLS call (libvirt 0.2.3)
    VIR_ERR_GNUTLS_ERROR = 40,
    /// failed to start network (libvirt 0.2.3)
    VIR_WAR_NO_NETWORK = 41,
    /// domain not found or unexpectedly
    VIR_ERR_NO_DOMAIN = 42,
    /// network not found (libvirt 0.3.0)
    VIR_ERR_NO_NETWORK = 43,
    /// invalid MAC address (libvirt 0.3.1)
    VIR_ERR_INVALID_MAC = 44,
    /// authentication failed (libvirt 0.4.1)
    VIR_ERR_AUTH_FAILED = 45,
    /// invalid storage pool object (libvirt 0.4.1)
    VIR_ERR_INVALID_STORAGE_POOL = 46,
    /// invalid storage vol object (libvirt 0.4.1)
    VIR_ERR_INVALID_STORAGE_VOL = 47,
    /// failed to start storage (libvirt 0.4.1)
    VIR_WAR_NO_STORAGE = 48,
    /// storage pool not found (libvirt 0.4.1)
    VIR_ERR_NO_STORAGE_POOL = 49,
    /// storage volume not found (libvirt 0.4.1)
    VIR_ERR_NO_STORAGE_VOL = 50,
    /// failed to start node driver (libvirt 0.5.0)
    VIR_WAR_NO_NODE = 51,
    /// invalid node device object (libvirt 0.5.0)
    VIR_ERR_INVALID_NODE_DEVICE = 52,
    /// node device not found (libvirt 0.5.0)
    VIR_ERR_NO_NODE_DEVICE = 53,
    /// security model not found (libvirt 0.6.1)
    VIR_ERR_NO_SECURITY_MODEL = 54,
    /// operation is not applicable at this
    VIR_ERR_OPERATION_INVALID = 55,
    /// failed to start interface driver (libvirt 0.6.4)
    VIR_WAR_NO_INTERFACE = 56,
    /// interface driver not running (libvirt 0.6.4)
    VIR_ERR_NO_INTERFACE = 57,
    /// invalid interface object (libvirt 0.6.4)
    VIR_ERR_INVALID_INTERFACE = 58,
    /// more than one matching interface
    VIR_ERR_MULTIPLE_INTERFACES = 59,
    /// failed to start nwfilter driver (libvirt 0.8.0)
    VIR_WAR_NO_NWFILTER = 60,
    /// invalid nwfilter object (libvirt 0.8.0)
    VIR_ERR_INVALID_NWFILTER = 61,
    /// nw filter pool not found (libvirt 0.8.0)
    VIR_ERR_NO_NWFILTER = 62,
    /// nw filter pool not found (libvirt 0.8.0)
    VIR_ERR_BUILD_FIREWALL = 63,
    /// failed to start secret storage (libvirt 0.7.1)
    VIR_WAR_NO_SECRET = 64,
    /// invalid secret (libvirt 0.7.1)
    VIR_ERR_INVALID_SECRET = 65,
    /// secret not found (libvirt 0.7.1)
    VIR_ERR_NO_SECRET = 66,
    /// unsupported configuration
    VIR_ERR_CONFIG_UNSUPPORTED = 67,
    /// timeout occurred during operation (libvirt 0.7.3)
    VIR_ERR_OPERATION_TIMEOUT = 68,
    /// a migration worked, but making the
    VIR_ERR_MIGRATE_PERSIST_FAILED = 69,
    /// a synchronous hook script failed (libvirt 0.8.0)
    VIR_ERR_HOOK_SCRIPT_FAILED = 70,
    /// invalid domain snapshot (libvirt 0.8.0)
    VIR_ERR_INVALID_DOMAIN_SNAPSHOT = 71,
    /// domain snapshot not found (libvirt 0.8.0)
    VIR_ERR_NO_DOMAIN_SNAPSHOT = 72,
    /// stream pointer not valid (libvirt 0.9.0)
    VIR_ERR_INVALID_STREAM = 73,
    /// valid API use but unsupported by
    VIR_ERR_ARGUMENT_UNSUPPORTED = 74,
    /// storage pool probe failed (libvirt 0.9.5)
    VIR_ERR_STORAGE_PROBE_FAILED = 75,
    /// storage pool already built (libvirt 0.9.5)
    VIR_ERR_STORAGE_POOL_BUILT = 76,
    /// force was not requested for a
    VIR_ERR_SNAPSHOT_REVERT_RISKY = 77,
    /// operation on a domain was
    VIR_ERR_OPERATION_ABORTED = 78,
    /// authentication cancelled (libvirt 0.9.10)
    VIR_ERR_AUTH_CANCELLED = 79,
    /// The metadata is not present (libvirt 0.9.10)
    VIR_ERR_NO_DOMAIN_METADATA = 80,
    /// Migration is not safe (libvirt 0.9.11)
    VIR_ERR_MIGRATE_UNSAFE = 81,
    /// integer overflow (libvirt 0.9.11)
    VIR_ERR_OVERFLOW = 82,
    /// action prevented by block copy job (libvirt 0.9.12)
    VIR_ERR_BLOCK_COPY_ACTIVE = 83,
    /// The requested operation is not
    VIR_ERR_OPERATION_UNSUPPORTED = 84,
    /// error in ssh transport driver (libvirt 0.10.0)
    VIR_ERR_SSH = 85,
    /// guest agent is unresponsive,
    VIR_ERR_AGENT_UNRESPONSIVE = 86,
    /// resource is already in use (libvirt 1.0.0)
    VIR_ERR_RESOURCE_BUSY = 87,
    /// operation on the object/resource
    VIR_ERR_ACCESS_DENIED = 88,
    /// error from a dbus service (libvirt 1.1.1)
    VIR_ERR_DBUS_SERVICE = 89,
    /// the storage vol already exists (libvirt 1.1.4)
    VIR_ERR_STORAGE_VOL_EXIST = 90,
    /// given CPU is incompatible with host CPU (libvirt 1.2.6)
    VIR_ERR_CPU_INCOMPATIBLE = 91,
    /// XML document doesn't validate against schema (libvirt 1.2.12)
    VIR_ERR_XML_INVALID_SCHEMA = 92,
    /// Finish API succeeded but it is expected to return NULL (libvirt 1.2.18)
    VIR_ERR_MIGRATE_FINISH_OK = 93,
    /// authentication unavailable (libvirt 1.3.3)
    VIR_ERR_AUTH_UNAVAILABLE = 94,
    /// Server was not found (libvirt 1.3.3)
    VIR_ERR_NO_SERVER = 95,
    /// Client was not found (libvirt 1.3.5)
    VIR_ERR_NO_CLIENT = 96,
    /// guest agent replies with wrong id
    VIR_ERR_AGENT_UNSYNCED = 97,
    /// error in libssh transport driver (libvirt 2.5.0)
    VIR_ERR_LIBSSH = 98,
    /// fail to find the desired device (libvirt 4.1.0)
    VIR_ERR_DEVICE_MISSING = 99,
    /// invalid nwfilter binding (libvirt 4.5.0)
    VIR_ERR_INVALID_NWFILTER_BINDING = 100,
    /// no nwfilter binding (libvirt 4.5.0)
    VIR_ERR_NO_NWFILTER_BINDING = 101,
    /// invalid domain checkpoint (libvirt 5.2.0)
    VIR_ERR_INVALID_DOMAIN_CHECKPOINT = 102,
    /// domain checkpoint not found (libvirt 5.2.0)
    VIR_ERR_NO_DOMAIN_CHECKPOINT = 103,
    /// domain backup job id not found (libvirt 5.2.0)
    VIR_ERR_NO_DOMAIN_BACKUP = 104,
    /// invalid network port object (libvirt 5.5.0)
    VIR_ERR_INVALID_NETWORK_PORT = 105,
    /// the network port already exist (libvirt 5.5.0)
    VIR_ERR_NETWORK_PORT_EXIST = 106,
    /// network port not found (libvirt 5.5.0)
    VIR_ERR_NO_NETWORK_PORT = 107,
    /// no domain's hostname found (libvirt 6.1.0)
    VIR_ERR_NO_HOSTNAME = 108,
    /// checkpoint can't be used (libvirt 6.10.0)
    VIR_ERR_CHECKPOINT_INCONSISTENT = 109,
    /// more than one matching domain found (libvirt 7.1.0)
    VIR_ERR_MULTIPLE_DOMAINS = 110,
}

/// The name libvirt's default error handler prints for a domain (`virErrorDomainName`),
/// for the domains virtcore raises errors in.
pub fn domain_name(domain: i32) -> &'static str {
    use virErrorDomain::*;
    const NAMES: &[(virErrorDomain, &str)] = &[
        (VIR_FROM_NONE, ""),
        (VIR_FROM_DOMAIN, "Domain Config"),
        (VIR_FROM_CONF, "Config File"),
        (VIR_FROM_XML, "XML Util"),
        (VIR_FROM_LOCKING, "Locking"),
        (VIR_FROM_SECRET, "Secrets Storage"),
        (VIR_FROM_STORAGE, "Storage"),
        (VIR_FROM_NETWORK, "Network"),
        (VIR_FROM_QEMU, "QEMU"),
        (VIR_FROM_THREAD, "Threads"),
    ];
    NAMES
        .iter()
        .find(|(d, _)| *d as i32 == domain)
        .map_or("", |(_, n)| n)
}
