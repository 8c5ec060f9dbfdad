//! Domain objects and the domain object list (libvirt 9.0's `domain_conf.h`, `virdomainobjlist.h`).
//!
//! * `types`: the C-visible definition structs (`virDomainDef`, disks, leases).
//! * `xml`: libvirt's domain XML, tokenized by quick-xml, formatted by patching the original.

pub mod consts;
pub mod dense;
pub mod error;
pub mod ffi;
pub mod files;
pub mod index;
pub mod list;
pub mod listing;
pub mod obj;
pub mod persist;
pub mod rwlock;
pub mod types;
pub mod xml;

#[cfg(test)]
mod tests_edit;
#[cfg(test)]
mod tests_index;
#[cfg(test)]
mod tests_list;
#[cfg(test)]
mod tests_load;
#[cfg(test)]
mod tests_xml;
