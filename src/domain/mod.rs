//! Domain objects and the domain object list (DESIGN.md §2).
//!
//! * `types`: the C-visible definition structs (`virDomainDef`, disks, leases).
//! * `xml`: libvirt's domain XML, parsed with roxmltree, formatted by patching the original.

pub mod consts;
pub mod error;
pub mod ffi;
pub mod files;
pub mod index;
pub mod list;
pub mod obj;
pub mod persist;
pub mod rwlock;
pub mod types;
pub mod xml;

#[cfg(test)]
mod tests_index;
#[cfg(test)]
mod tests_list;
#[cfg(test)]
mod tests_xml;
