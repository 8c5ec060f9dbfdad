//! The C-visible domain definition structs, with libvirt's field names.
//!
//! Everything C code may touch (the def, its disk and lease arrays and their strings) is
//! allocated with the C allocator, so C code can `free()` and replace strings or append to
//! the arrays with `realloc()` exactly as it would with libvirt. `virDomainDefFree`
//! releases all of it with `free()`.

use std::ffi::{c_char, c_int, c_uchar, c_ulonglong, c_void, CStr};

/// `VIR_UUID_BUFLEN`: a UUID in raw form.
pub const VIR_UUID_BUFLEN: usize = 16;
/// `VIR_UUID_STRING_BUFLEN`: a UUID as text, with its NUL.
pub const VIR_UUID_STRING_BUFLEN: usize = 37;

/// Hypervisor types (libvirt's `virDomainVirtType`, the `<domain type=...>` attribute).
pub const VIR_DOMAIN_VIRT_NONE: c_int = 0;
pub const VIR_DOMAIN_VIRT_QEMU: c_int = 1;
pub const VIR_DOMAIN_VIRT_KQEMU: c_int = 2;
pub const VIR_DOMAIN_VIRT_KVM: c_int = 3;
pub const VIR_DOMAIN_VIRT_XEN: c_int = 4;
pub const VIR_DOMAIN_VIRT_LXC: c_int = 5;
pub const VIR_DOMAIN_VIRT_UML: c_int = 6;
pub const VIR_DOMAIN_VIRT_OPENVZ: c_int = 7;
pub const VIR_DOMAIN_VIRT_TEST: c_int = 8;
pub const VIR_DOMAIN_VIRT_VMWARE: c_int = 9;
pub const VIR_DOMAIN_VIRT_HYPERV: c_int = 10;
pub const VIR_DOMAIN_VIRT_VBOX: c_int = 11;
pub const VIR_DOMAIN_VIRT_PHYP: c_int = 12;
pub const VIR_DOMAIN_VIRT_PARALLELS: c_int = 13;
pub const VIR_DOMAIN_VIRT_BHYVE: c_int = 14;
pub const VIR_DOMAIN_VIRT_VZ: c_int = 15;
pub const VIR_DOMAIN_VIRT_HVF: c_int = 16;
pub(crate) const VIRT_TYPES: &[&str] = &[
    "none",
    "qemu",
    "kqemu",
    "kvm",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "parallels",
    "bhyve",
    "vz",
    "hvf",
];

/// Disk front-ends (libvirt's `virDomainDiskDevice`, `<disk device=...>`).
pub const VIR_DOMAIN_DISK_DEVICE_DISK: c_int = 0;
pub const VIR_DOMAIN_DISK_DEVICE_CDROM: c_int = 1;
pub const VIR_DOMAIN_DISK_DEVICE_FLOPPY: c_int = 2;
pub const VIR_DOMAIN_DISK_DEVICE_LUN: c_int = 3;
pub(crate) const DISK_DEVICES: &[&str] = &["disk", "cdrom", "floppy", "lun"];

/// Disk buses (libvirt's `virDomainDiskBus`, `<target bus=...>`).
pub const VIR_DOMAIN_DISK_BUS_NONE: c_int = 0;
pub const VIR_DOMAIN_DISK_BUS_IDE: c_int = 1;
pub const VIR_DOMAIN_DISK_BUS_FDC: c_int = 2;
pub const VIR_DOMAIN_DISK_BUS_SCSI: c_int = 3;
pub const VIR_DOMAIN_DISK_BUS_VIRTIO: c_int = 4;
pub const VIR_DOMAIN_DISK_BUS_XEN: c_int = 5;
pub const VIR_DOMAIN_DISK_BUS_USB: c_int = 6;
pub const VIR_DOMAIN_DISK_BUS_UML: c_int = 7;
pub const VIR_DOMAIN_DISK_BUS_SATA: c_int = 8;
pub const VIR_DOMAIN_DISK_BUS_SD: c_int = 9;
pub(crate) const DISK_BUSES: &[&str] = &[
    "none", "ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd",
];

/// Storage source types (libvirt 9.0's `virStorageType`, `<disk type=...>`).
pub const VIR_STORAGE_TYPE_NONE: c_int = 0;
pub const VIR_STORAGE_TYPE_FILE: c_int = 1;
pub const VIR_STORAGE_TYPE_BLOCK: c_int = 2;
pub const VIR_STORAGE_TYPE_DIR: c_int = 3;
pub const VIR_STORAGE_TYPE_NETWORK: c_int = 4;
pub const VIR_STORAGE_TYPE_VOLUME: c_int = 5;
pub const VIR_STORAGE_TYPE_NVME: c_int = 6;
pub const VIR_STORAGE_TYPE_VHOST_USER: c_int = 7;
pub const VIR_STORAGE_TYPE_VHOST_VDPA: c_int = 8;
pub(crate) const STORAGE_TYPES: &[&str] = &[
    "none",
    "file",
    "block",
    "dir",
    "network",
    "volume",
    "nvme",
    "vhostuser",
    "vhostvdpa",
];

/// The attribute of `<source>` holding the local path for a storage type, if it has one.
pub(crate) fn source_attr(ty: c_int) -> Option<&'static str> {
    match ty {
        VIR_STORAGE_TYPE_FILE => Some("file"),
        VIR_STORAGE_TYPE_BLOCK | VIR_STORAGE_TYPE_VHOST_VDPA => Some("dev"),
        VIR_STORAGE_TYPE_DIR => Some("dir"),
        _ => None,
    }
}

/// `<on_lockfailure>` values, indexed by `VIR_DOMAIN_LOCK_FAILURE_*`.
pub(crate) const LOCK_FAILURE_ACTIONS: &[&str] =
    &["default", "poweroff", "restart", "pause", "ignore"];

/// Where a disk's data lives (the part of libvirt's `virStorageSource` virtcore models).
///
/// cbindgen:field-names=[type, path, readonly, shared]
#[repr(C)]
pub struct virStorageSource {
    /// A `VIR_STORAGE_TYPE_*` value.
    pub type_: c_int,
    /// Local path: `<source file=|dev=|dir=>`; NULL for network, volume, nvme sources.
    pub path: *mut c_char,
    /// `<readonly/>`
    pub readonly: bool,
    /// `<shareable/>`
    pub shared: bool,
}

/// One `<disk>` (libvirt's `virDomainDiskDef`, the fields virtcore models).
#[repr(C)]
pub struct virDomainDiskDef {
    /// Never NULL for disks made by virtcore.
    pub src: *mut virStorageSource,
    /// A `VIR_DOMAIN_DISK_DEVICE_*` value.
    pub device: c_int,
    /// A `VIR_DOMAIN_DISK_BUS_*` value.
    pub bus: c_int,
    /// Target device name (`<target dev=...>`), e.g. "vda".
    pub dst: *mut c_char,
    /// Internal to virtcore: which `<disk>` of the parsed document this disk came from
    /// (0 for a disk made by C code, e.g. with `calloc`). Leave it alone; a copy of the
    /// struct is formatted as a new disk.
    pub virtcoreIdentity: c_ulonglong,
}

/// One `<lease>` (libvirt's `virDomainLeaseDef`).
#[repr(C)]
pub struct virDomainLeaseDef {
    pub lockspace: *mut c_char,
    pub key: *mut c_char,
    pub path: *mut c_char,
    pub offset: c_ulonglong,
    /// Internal to virtcore, as `virDomainDiskDef.virtcoreIdentity`.
    pub virtcoreIdentity: c_ulonglong,
}

/// A domain definition (libvirt's `virDomainDef`, the fields virtcore models).
///
/// The rest of the document (memory, vCPUs, every other device) is kept verbatim in the
/// private part and written back unchanged by `virDomainDefFormat`.
#[repr(C)]
pub struct virDomainDef {
    /// A `VIR_DOMAIN_VIRT_*` value.
    pub virtType: c_int,
    /// -1 when the domain is not running.
    pub id: c_int,
    pub uuid: [c_uchar; VIR_UUID_BUFLEN],
    pub name: *mut c_char,
    pub ndisks: usize,
    pub disks: *mut *mut virDomainDiskDef,
    pub nleases: usize,
    pub leases: *mut *mut virDomainLeaseDef,
    /// `<on_lockfailure>`: a `VIR_DOMAIN_LOCK_FAILURE_*` value (libvirt's
    /// `virDomainLockFailureAction`), passed as the action of every lock acquire.
    pub onLockFailure: c_int,
    /// Internal to virtcore (the original document); do not touch.
    pub virtcorePrivate: *mut c_void,
}

/// `calloc` of one `T`, or an out-of-memory abort like Rust's own allocator would.
pub(crate) fn c_calloc<T>() -> *mut T {
    // SAFETY: plain C allocation; zeroed memory is a valid value for these POD structs.
    let p = unsafe { libc::calloc(1, std::mem::size_of::<T>()) } as *mut T;
    if p.is_null() {
        std::alloc::handle_alloc_error(std::alloc::Layout::new::<T>());
    }
    p
}

/// A malloc'ed array of `n` pointers (tests build definitions with it).
#[cfg(test)]
pub(crate) fn c_array<T>(items: &[*mut T]) -> *mut *mut T {
    c_array_from(items.iter().copied())
}

/// A calloc'ed C array of the items (NULL when there is none), filled in place.
pub(crate) fn c_array_from<T>(items: impl ExactSizeIterator<Item = *mut T>) -> *mut *mut T {
    let n = items.len();
    if n == 0 {
        return std::ptr::null_mut();
    }
    let p = unsafe { libc::calloc(n, std::mem::size_of::<*mut T>()) } as *mut *mut T;
    if p.is_null() {
        std::alloc::handle_alloc_error(std::alloc::Layout::new::<*mut T>());
    }
    for (k, item) in items.enumerate().take(n) {
        unsafe { p.add(k).write(item) };
    }
    p
}

/// Borrow a C string field (NULL → None). Non-UTF-8 bytes are replaced.
///
/// # Safety
/// `p` is NULL or a valid C string that outlives the borrow.
pub(crate) unsafe fn cstr<'a>(p: *const c_char) -> Option<std::borrow::Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        Some(CStr::from_ptr(p).to_string_lossy())
    }
}

/// The def's disks as a slice (empty when the array is NULL).
///
/// # Safety
/// `def` is a valid definition whose `disks` has `ndisks` entries.
pub(crate) unsafe fn disks<'a>(def: *const virDomainDef) -> &'a [*mut virDomainDiskDef] {
    if (*def).disks.is_null() || (*def).ndisks == 0 {
        &[]
    } else {
        std::slice::from_raw_parts((*def).disks, (*def).ndisks)
    }
}

/// The def's leases as a slice.
///
/// # Safety
/// As for [`disks`].
pub(crate) unsafe fn leases<'a>(def: *const virDomainDef) -> &'a [*mut virDomainLeaseDef] {
    if (*def).leases.is_null() || (*def).nleases == 0 {
        &[]
    } else {
        std::slice::from_raw_parts((*def).leases, (*def).nleases)
    }
}

/// Frees one disk and everything it owns.
///
/// # Safety
/// `disk` is NULL or a disk allocated with the C allocator and owned by the caller.
pub unsafe fn disk_free(disk: *mut virDomainDiskDef) {
    if disk.is_null() {
        return;
    }
    let src = (*disk).src;
    if !src.is_null() {
        libc::free((*src).path.cast());
        libc::free(src.cast());
    }
    libc::free((*disk).dst.cast());
    libc::free(disk.cast());
}

/// Frees one lease and its strings.
///
/// # Safety
/// As for [`disk_free`].
pub unsafe fn lease_free(lease: *mut virDomainLeaseDef) {
    if lease.is_null() {
        return;
    }
    libc::free((*lease).lockspace.cast());
    libc::free((*lease).key.cast());
    libc::free((*lease).path.cast());
    libc::free(lease.cast());
}

/// Frees a definition and everything it owns (libvirt's `virDomainDefFree`). NULL is a no-op.
///
/// # Safety
/// `def` is NULL or a definition owned by the caller (not referenced by any object).
pub unsafe fn def_free(def: *mut virDomainDef) {
    if def.is_null() {
        return;
    }
    for &d in disks(def) {
        disk_free(d);
    }
    libc::free((*def).disks.cast());
    for &l in leases(def) {
        lease_free(l);
    }
    libc::free((*def).leases.cast());
    libc::free((*def).name.cast());
    crate::domain::xml::free_private((*def).virtcorePrivate);
    libc::free(def.cast());
}

/// A fresh, empty definition (libvirt's `virDomainDefNew`): id -1, no name.
pub fn def_new() -> *mut virDomainDef {
    let d = c_calloc::<virDomainDef>();
    unsafe { (*d).id = -1 };
    d
}

/// Owns a definition until handed over; frees it when dropped (error paths).
pub(crate) struct OwnedDef(pub *mut virDomainDef);
impl OwnedDef {
    pub fn into_raw(self) -> *mut virDomainDef {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}
impl Drop for OwnedDef {
    fn drop(&mut self) {
        unsafe { def_free(self.0) }
    }
}

/// Formats a raw UUID as libvirt does: lower-case, 8-4-4-4-12.
pub fn uuid_format(u: &[u8; VIR_UUID_BUFLEN]) -> String {
    uuid::Uuid::from_bytes(*u).hyphenated().to_string()
}

/// Not a hex digit, in [`HEX_VALUE`] (the values are 0–15, so this bit marks the rest).
const NOT_HEX: u8 = 0x10;

/// Each byte's value as an ASCII hex digit (what `char::to_digit(16)` accepts), else
/// [`NOT_HEX`]: a table, so that reading a UUID's 32 digits needs no branch per digit.
static HEX_VALUE: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn hex_digit(c: u8) -> Option<u8> {
    let v = HEX_VALUE[c as usize];
    (v != NOT_HEX).then_some(v)
}

/// Parses a UUID exactly as libvirt's `virUUIDParse`: leading blanks, then 32 hex digits
/// with any number of '-' or ' ' before each byte pair (never inside one), then blanks only.
pub fn uuid_parse(s: &str) -> Option<[u8; VIR_UUID_BUFLEN]> {
    uuid_parse_canonical(s.as_bytes()).or_else(|| uuid_parse_general(s.as_bytes()))
}

/// The form nearly every document has, `8-4-4-4-12` hex digits and nothing else, read
/// without the general loop (it is on every parse). `None` for anything else, which the
/// general rules then decide on (they read this form the same way).
fn uuid_parse_canonical(b: &[u8]) -> Option<[u8; VIR_UUID_BUFLEN]> {
    let b: &[u8; 36] = b.try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    // Where each byte's pair of digits starts.
    const PAIRS: [usize; VIR_UUID_BUFLEN] =
        [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = [0u8; VIR_UUID_BUFLEN];
    let mut seen = 0;
    for (o, &i) in out.iter_mut().zip(&PAIRS) {
        let (hi, lo) = (HEX_VALUE[b[i] as usize], HEX_VALUE[b[i + 1] as usize]);
        seen |= hi | lo;
        *o = hi << 4 | lo;
    }
    (seen & NOT_HEX == 0).then_some(out)
}

fn uuid_parse_general(b: &[u8]) -> Option<[u8; VIR_UUID_BUFLEN]> {
    // g_ascii_isspace: space, \t, \n, \v, \f, \r.
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut i = 0;
    while i < b.len() && space(b[i]) {
        i += 1;
    }
    let mut out = [0u8; VIR_UUID_BUFLEN];
    let mut n = 0;
    while n < VIR_UUID_BUFLEN {
        match b.get(i) {
            None => return None,
            Some(b'-' | b' ') => i += 1,
            Some(&h) => {
                let hi = hex_digit(h)?;
                let lo = hex_digit(*b.get(i + 1)?)?;
                out[n] = hi << 4 | lo;
                n += 1;
                i += 2;
            }
        }
    }
    b[i..].iter().all(|&c| space(c)).then_some(out)
}

/// A random (version 4) UUID, like libvirt's `virUUIDGenerate`.
pub fn uuid_generate() -> [u8; VIR_UUID_BUFLEN] {
    let mut bytes = [0u8; VIR_UUID_BUFLEN];
    if getrandom::fill(&mut bytes).is_err() {
        // No entropy source at all: time and address bits (still unique in practice).
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let addr = &bytes as *const _ as usize as u128;
        bytes = (t ^ (addr << 64)).to_le_bytes();
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trip_and_refusals() {
        let u = uuid_parse("c7a5fdbd-edaf-9455-926a-d65c16db1809").unwrap();
        assert_eq!(uuid_format(&u), "c7a5fdbd-edaf-9455-926a-d65c16db1809");
        assert_eq!(uuid_parse(" c7a5fdbdedaf9455926ad65c16db1809\n"), Some(u));
        assert!(uuid_parse("c7a5fdbd-edaf-9455-926a-d65c16db180").is_none());
        assert!(uuid_parse("c7a5fdbd-edaf-9455-926a-d65c16db18090").is_none());
        assert!(uuid_parse("g7a5fdbd-edaf-9455-926a-d65c16db1809").is_none());
        // libvirt skips blanks and dashes between byte pairs, never inside one.
        assert_eq!(
            uuid_parse("c7 a5 fd bd ed af 94 55 92 6a d6 5c 16 db 18 09"),
            Some(u)
        );
        assert_eq!(
            uuid_parse("--c7a5fdbd edaf-9455 -926ad65c16db1809 \t"),
            Some(u)
        );
        assert!(uuid_parse("c7a5fdbd-edaf-9455-926a-d65c16db180 9").is_none());
        assert!(uuid_parse("c7a5fdbd-edaf-9455-926a-d65c16db1809-").is_none());
        // The canonical form's shortcut reads what the general rules read.
        for s in [
            "C7A5FDBD-EDAF-9455-926A-D65C16DB1809",
            "c7a5fdbd-edaf-9455-926a-d65c16db1809",
            "c7a5fdbd-edaf-9455-926a-d65c16db18g9",
            "c7a5fdbd-edaf-9455-926a-d65c16db18\u{e9}",
            "c7a5fdbd-edaf-9455-926a d65c16db1809",
        ] {
            assert_eq!(uuid_parse(s), uuid_parse_general(s.as_bytes()), "{s}");
        }
        assert_eq!(uuid_parse("C7A5FDBD-EDAF-9455-926A-D65C16DB1809"), Some(u));
        let g = uuid_generate();
        assert_eq!(g[6] >> 4, 4);
        assert_ne!(uuid_generate(), g);
    }
}
