//! One `<disk>` read as libvirt 9.0 does for the fields virtcore models:
//! `virDomainDiskDefParseXML`, the post-parse (cdrom read-only, bus default) and the
//! generic validation of disks (target present, floppy ↔ fdc, no duplicate target).

use std::borrow::Cow;
use std::ffi::c_int;

use smallvec::SmallVec;

use super::model::*;
use super::parse::{bad_attr, enum_index, err, Ctx, Node};
use crate::domain::error::xml_err;
use crate::domain::types::*;
use crate::error::{virErrorNumber, Error};

use virErrorNumber::*;

/// Values of one `<disk>`, as C will see them.
pub(super) struct DiskVals<'a> {
    pub ty: c_int,
    pub device: c_int,
    pub bus: c_int,
    /// Borrowed from the document when written plainly (copied once, into C strings).
    pub path: Option<Cow<'a, str>>,
    pub dst: Option<Cow<'a, str>>,
    pub readonly: bool,
    pub shared: bool,
    /// `virDomainDiskInsert` keys: the bus as written, the target's index.
    pub key: (c_int, Option<i32>),
    /// Has an `<address>`: libvirt then need not derive one from the target name.
    pub has_address: bool,
}

/// Reads the `<disk>` element `n` and appends its values and record (pushed here rather
/// than returned: a record is a few hundred bytes, and a return would copy it once more).
pub(super) fn scan_disk<'a>(
    cx: &Ctx<'_, 'a>,
    n: Node,
    dom: &str,
    vals_out: &mut SmallVec<[DiskVals<'a>; 4]>,
    orig_out: &mut SmallVec<[DiskOrig; 4]>,
) -> Result<(), Error> {
    let type_attr = cx.attr(n, "type");
    let mut ty = match &type_attr {
        Some((_, v)) => match enum_index(STORAGE_TYPES, v) {
            Some(t) if t > 0 => t,
            _ => return Err(bad_attr(dom, "type", "disk", v)),
        },
        None => VIR_STORAGE_TYPE_FILE,
    };
    let type_written = ty;
    let [source, target, readonly, shareable, address] =
        cx.children_first(n, |local| match local {
            b"source" => Some(0),
            b"target" => Some(1),
            b"readonly" => Some(2),
            b"shareable" => Some(3),
            b"address" => Some(4),
            _ => None,
        });
    let mut path = None;
    let source_pos = match source {
        Some(s) => {
            // An empty path is no path (libvirt: "a bogus '' source path" means no media).
            let a = source_attr(ty).and_then(|an| {
                cx.attr(s, an).filter(|(_, v)| !v.is_empty()).map(|(a, v)| {
                    path = Some(v);
                    (a, an)
                })
            });
            Some(SourcePos {
                elem: cx.elem(s),
                path: a,
            })
        }
        // libvirt resets the type when there is no <source>.
        None => {
            ty = VIR_STORAGE_TYPE_FILE;
            None
        }
    };
    let device_attr = cx.attr(n, "device");
    let device = match &device_attr {
        Some((_, v)) => {
            enum_index(DISK_DEVICES, v).ok_or_else(|| bad_attr(dom, "device", "disk", v))?
        }
        None => VIR_DOMAIN_DISK_DEVICE_DISK,
    };
    let mut dst = None;
    let mut bus = VIR_DOMAIN_DISK_BUS_NONE;
    let target_pos = match target {
        Some(t) => {
            let dev = cx.attr(t, "dev").map(|(a, v)| {
                dst = Some(v);
                a
            });
            let bus_attr = cx.attr(t, "bus");
            if let Some((_, v)) = &bus_attr {
                bus = match enum_index(DISK_BUSES, v) {
                    Some(b) if b > 0 => b,
                    _ => return Err(bad_attr(dom, "bus", "target", v)),
                };
            }
            Some(TargetPos {
                elem: cx.elem(t),
                dev,
                bus: bus_attr.map(|(a, _)| a),
            })
        }
        None => None,
    };
    let key = (bus, dst.as_deref().map(disk_name_to_index));
    // Post-parse (virDomainDiskDefPostParse).
    if let Some(d) = &dst {
        if let Some(rest) = d.strip_prefix("ioemu:") {
            dst = Some(Cow::Owned(rest.to_string()));
        }
    }
    let readonly_val = readonly.is_some() || device == VIR_DOMAIN_DISK_DEVICE_CDROM;
    if bus == VIR_DOMAIN_DISK_BUS_NONE {
        bus = default_bus(device, dst.as_deref());
    }
    vals_out.push(DiskVals {
        ty,
        device,
        bus,
        path,
        dst,
        readonly: readonly_val,
        shared: shareable.is_some(),
        key,
        has_address: address.is_some(),
    });
    orig_out.push(DiskOrig {
        elem: cx.elem(n),
        type_attr: type_attr.map(|(a, _)| a),
        type_val: ty,
        type_written,
        device_attr: device_attr.map(|(a, _)| a),
        device_val: device,
        source: source_pos,
        target: target_pos,
        bus_val: bus,
        readonly: readonly.map(|r| cx.elem(r)),
        readonly_val,
        shareable: shareable.map(|r| cx.elem(r)),
    });
    Ok(())
}

/// libvirt's post-parse bus default for a disk without `bus=`.
pub(super) fn default_bus(device: c_int, dst: Option<&str>) -> c_int {
    if device == VIR_DOMAIN_DISK_DEVICE_FLOPPY {
        return VIR_DOMAIN_DISK_BUS_FDC;
    }
    let d = dst.unwrap_or("");
    if d.starts_with("sd") {
        VIR_DOMAIN_DISK_BUS_SCSI
    } else if d.starts_with("vd") {
        VIR_DOMAIN_DISK_BUS_VIRTIO
    } else if d.starts_with("xvd") {
        VIR_DOMAIN_DISK_BUS_XEN
    } else if d.starts_with("ubd") {
        VIR_DOMAIN_DISK_BUS_UML
    } else {
        VIR_DOMAIN_DISK_BUS_IDE
    }
}

/// libvirt's generic disk validation for the modelled fields, over `def->disks` order.
pub(super) fn validate_disks(dom: &str, disks: &[DiskVals], order: &[usize]) -> Result<(), Error> {
    for &i in order {
        let d = &disks[i];
        let Some(dst) = &d.dst else {
            let what = d.path.as_deref().unwrap_or("");
            return Err(err(
                VIR_ERR_NO_TARGET,
                format!("domain '{dom}': missing target information for device {what}"),
            ));
        };
        let bus = DISK_BUSES[d.bus as usize];
        if d.device == VIR_DOMAIN_DISK_DEVICE_FLOPPY && d.bus != VIR_DOMAIN_DISK_BUS_FDC {
            return Err(err(
                VIR_ERR_INTERNAL_ERROR,
                format!("domain '{dom}': disk '{dst}': Invalid bus type '{bus}' for floppy disk"),
            ));
        }
        if d.device != VIR_DOMAIN_DISK_DEVICE_FLOPPY && d.bus == VIR_DOMAIN_DISK_BUS_FDC {
            return Err(err(
                VIR_ERR_INTERNAL_ERROR,
                format!("domain '{dom}': disk '{dst}': Invalid bus type '{bus}' for disk"),
            ));
        }
        let disk_like = matches!(
            d.device,
            VIR_DOMAIN_DISK_DEVICE_DISK | VIR_DOMAIN_DISK_DEVICE_LUN
        );
        if disk_like
            && !["hd", "sd", "vd", "xvd", "ubd"]
                .iter()
                .any(|p| dst.starts_with(p))
        {
            return Err(err(
                VIR_ERR_INTERNAL_ERROR,
                format!("domain '{dom}': Invalid harddisk device name: {dst}"),
            ));
        }
        if d.device == VIR_DOMAIN_DISK_DEVICE_FLOPPY && !dst.starts_with("fd") {
            return Err(err(
                VIR_ERR_INTERNAL_ERROR,
                format!("domain '{dom}': Invalid floppy device name: {dst}"),
            ));
        }
        // Only a cdrom, floppy or lun may be empty (no media).
        let local = source_attr(d.ty).is_some() && d.ty != VIR_STORAGE_TYPE_VHOST_VDPA;
        if local && d.path.is_none() && d.device == VIR_DOMAIN_DISK_DEVICE_DISK {
            return Err(err(
                VIR_ERR_NO_SOURCE,
                format!("domain '{dom}': missing source information for device {dst}"),
            ));
        }
    }
    // Duplicate targets: first pair in def->disks order, as libvirt's double loop finds it
    // (that loop itself for a few disks; a map for many, to stay linear).
    let dst = |pos: usize| disks[order[pos]].dst.as_deref().unwrap_or("");
    let mut first: Option<(usize, usize)> = None;
    if order.len() <= 16 {
        first = (0..order.len())
            .flat_map(|a| (a + 1..order.len()).map(move |b| (a, b)))
            .find(|&(a, b)| dst(a) == dst(b));
    } else {
        // foldhash, randomly seeded as for `check`'s set of attribute names: a few times
        // cheaper per name than std's SipHash.
        let mut seen: hashbrown::HashMap<&str, usize, _> =
            hashbrown::HashMap::with_capacity_and_hasher(
                order.len(),
                foldhash::fast::RandomState::default(),
            );
        for pos in 0..order.len() {
            if let Some(&p) = seen.get(dst(pos)) {
                if first.is_none_or(|(a, b)| (p, pos) < (a, b)) {
                    first = Some((p, pos));
                }
            } else {
                seen.insert(dst(pos), pos);
            }
        }
    }
    if let Some((a, b)) = first {
        let (a, b) = (&disks[order[a]], &disks[order[b]]);
        return Err(xml_err(format!(
            "domain '{dom}': target '{}' duplicated for disk sources '{}' and '{}'",
            a.dst.as_deref().unwrap_or(""),
            a.path.as_deref().unwrap_or("<null>"),
            b.path.as_deref().unwrap_or("<null>"),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The parse error of a document with these disks, as (device, target) pairs.
    fn disks_error(disks: &[(&str, &str)]) -> String {
        let devs: String = disks
            .iter()
            .enumerate()
            .map(|(i, (dev, dst))| {
                format!(
                    "<disk type='file' device='{dev}'><source file='/{i}'/><target dev='{dst}'/></disk>"
                )
            })
            .collect();
        let xml = format!("<domain type='kvm'><name>d</name><devices>{devs}</devices></domain>");
        match super::super::parse(&xml, 0) {
            Ok(def) => {
                unsafe { crate::domain::types::def_free(def) };
                String::new()
            }
            Err(e) => e.message,
        }
    }

    #[test]
    fn the_first_duplicate_target_is_reported_for_few_and_many_disks() {
        for n in [4, 40] {
            let letter = |k: usize| (b'a' + k as u8) as char;
            let names: Vec<String> = (0..n)
                .map(|i| format!("vd{}{}", letter(i / 26), letter(i % 26)))
                .collect();
            let mut disks: Vec<(&str, &str)> = names.iter().map(|d| ("disk", d.as_str())).collect();
            assert_eq!(disks_error(&disks), "");
            // In def->disks order (sorted by target): the pair of the second name comes
            // before the third's.
            disks[n - 1].1 = &names[2];
            disks[n - 2].1 = &names[1];
            let m = disks_error(&disks);
            let last = n - 2;
            assert!(
                m.ends_with(&format!(
                    "target '{}' duplicated for disk sources '/1' and '/{last}'",
                    names[1]
                )),
                "{n}: {m}"
            );
        }
    }
}
