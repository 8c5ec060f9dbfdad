//! Keys of the domain list's hash maps: a fast hasher and names stored inline.

use std::hash::{BuildHasherDefault, Hasher};

/// A fast hasher (multiply-rotate, fmix64 finish): keys are UUIDs, names and IDs chosen by
/// the host, not attackers, so SipHash's DoS resistance is not needed.
#[derive(Default)]
pub struct FastHasher(u64);
impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // murmur3's fmix64: the table index uses the low bits, which the multiply-rotate
        // steps alone leave poorly mixed for keys that differ only in their last bytes.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let mut last = 0u64;
        for (i, b) in chunks.remainder().iter().enumerate() {
            last |= (*b as u64) << (8 * i);
        }
        self.add(last ^ bytes.len() as u64);
    }
    fn write_u32(&mut self, v: u32) {
        self.add(v as u64)
    }
    fn write_i32(&mut self, v: i32) {
        self.add(v as u32 as u64)
    }
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64)
    }
}
impl FastHasher {
    #[inline]
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}
pub type Fast = BuildHasherDefault<FastHasher>;

/// A name as a map key, stored inline when short (most are), so a lookup compares it
/// without following a pointer to another allocation.
#[derive(Clone)]
pub enum NameKey {
    Inline { len: u8, buf: [u8; 30] },
    Heap(Box<[u8]>),
}

impl NameKey {
    pub fn new(b: &[u8]) -> Self {
        if b.len() <= 30 {
            let mut buf = [0u8; 30];
            buf[..b.len()].copy_from_slice(b);
            NameKey::Inline {
                len: b.len() as u8,
                buf,
            }
        } else {
            NameKey::Heap(b.into())
        }
    }
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            NameKey::Inline { len, buf } => &buf[..*len as usize],
            NameKey::Heap(b) => b,
        }
    }
}
impl std::borrow::Borrow<[u8]> for NameKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}
impl std::hash::Hash for NameKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_bytes().hash(h)
    }
}
impl PartialEq for NameKey {
    fn eq(&self, o: &Self) -> bool {
        self.as_bytes() == o.as_bytes()
    }
}
impl Eq for NameKey {}
