//! The locks libvirt's start of a domain takes, from its XML (roxmltree, as the library's
//! own domain parser uses; the library itself is not linked: the tool must not pull in
//! libvirtcore's C ABI). Mirrors libvirt 9.0's `domain_lock.c`:
//!
//! - each disk's top image (`virDomainLockManagerAddImage`): only local storage
//!   (`type` file, block, dir; `file` when absent) with a source path; `<readonly/>` →
//!   `READONLY`, `<shareable/>` → `SHARED`; a cdrom is always read-only (libvirt's parser
//!   forces it); network, nvme and vhostuser disks take no lock; an empty source none.
//! - each `<lease>`: resource named by its key, params `path`, `offset`, `lockspace`
//!   (`virDomainLockManagerAddLease`).
//!
//! A `volume` disk is resolved through a storage pool at start, which only libvirt can
//! do: refused, with the advice to name its path with `--disk`.

use std::path::Path;

use crate::{exit, Failure};

/// One resource to add, as `drvAddResource` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Disk {
        path: String,
        readonly: bool,
        shared: bool,
    },
    Lease {
        key: String,
        lockspace: Option<String>,
        path: String,
        offset: u64,
    },
}

fn bad(file: &Path, what: impl std::fmt::Display) -> Failure {
    Failure::new(
        exit::DATAERR,
        format!("domain XML '{}': {what}", file.display()),
    )
}

pub fn load(file: &Path) -> Result<Vec<Resource>, Failure> {
    let bytes = lockspace::input::read_regular(file, "domain XML")
        .map_err(|e| Failure::new(exit::DATAERR, e.message))?
        .ok_or_else(|| bad(file, "cannot read: no such file"))?;
    let text = String::from_utf8(bytes).map_err(|_| bad(file, "not valid UTF-8"))?;
    parse(&text, file)
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

fn text_of(n: roxmltree::Node, name: &str) -> Option<String> {
    child(n, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// roxmltree's error. The ones it gives no position (1:1) are found at the end of the
/// input (a truncated or empty document): they are placed there, line and column.
fn xml_error(file: &Path, text: &str, e: roxmltree::Error) -> Failure {
    use roxmltree::Error::*;
    if let UnexpectedEndOfStream | UnclosedRootNode | NoRootNode = e {
        let line = text.matches('\n').count() + 1;
        let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        return bad(
            file,
            format!("{e} at {line}:{col}, the end of the document (is it truncated?)"),
        );
    }
    bad(file, e)
}

pub fn parse(text: &str, file: &Path) -> Result<Vec<Resource>, Failure> {
    let doc = roxmltree::Document::parse(text).map_err(|e| xml_error(file, text, e))?;
    let root = doc.root_element();
    if !root.has_tag_name("domain") {
        return Err(bad(
            file,
            format!("root element is <{}>, not <domain>", root.tag_name().name()),
        ));
    }
    let Some(devices) = child(root, "devices") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for dev in devices.children().filter(|n| n.is_element()) {
        match dev.tag_name().name() {
            "disk" => {
                if let Some(r) = disk(dev, file)? {
                    out.push(r);
                }
            }
            "lease" => out.push(lease_of(dev, file)?),
            _ => {}
        }
    }
    Ok(out)
}

fn disk(dev: roxmltree::Node, file: &Path) -> Result<Option<Resource>, Failure> {
    let kind = dev.attribute("type").unwrap_or("file");
    let device = dev.attribute("device").unwrap_or("disk");
    let target = child(dev, "target")
        .and_then(|t| t.attribute("dev"))
        .unwrap_or("?");
    let attr = match kind {
        "file" => "file",
        "block" => "dev",
        "dir" => "dir",
        "network" | "nvme" | "vhostuser" => return Ok(None),
        "volume" => {
            return Err(bad(
                file,
                format!(
                    "disk '{target}' has type 'volume': its storage pool is resolved by libvirt only; name the volume's path with --disk"
                ),
            ))
        }
        other => {
            return Err(bad(
                file,
                format!("disk '{target}' has unknown type '{other}'"),
            ))
        }
    };
    let Some(path) = child(dev, "source")
        .and_then(|s| s.attribute(attr))
        .filter(|p| !p.is_empty())
    else {
        // No medium (an empty cdrom): nothing to lock, as in libvirt.
        return Ok(None);
    };
    if !path.starts_with('/') {
        return Err(bad(
            file,
            format!("disk '{target}' path '{path}' is not absolute"),
        ));
    }
    Ok(Some(Resource::Disk {
        path: path.to_string(),
        readonly: child(dev, "readonly").is_some() || device == "cdrom",
        shared: child(dev, "shareable").is_some(),
    }))
}

fn lease_of(dev: roxmltree::Node, file: &Path) -> Result<Resource, Failure> {
    let key = text_of(dev, "key").ok_or_else(|| bad(file, "a <lease> has no <key>"))?;
    let target =
        child(dev, "target").ok_or_else(|| bad(file, format!("lease '{key}' has no <target>")))?;
    let path = target
        .attribute("path")
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| {
            bad(
                file,
                format!("lease '{key}' needs an absolute <target path='…'/>"),
            )
        })?;
    let offset = match target.attribute("offset") {
        None => 0,
        Some(o) => o
            .parse::<u64>()
            .map_err(|_| bad(file, format!("lease '{key}' has a bad offset '{o}'")))?,
    };
    Ok(Resource::Lease {
        key,
        lockspace: text_of(dev, "lockspace"),
        path: path.to_string(),
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<domain type='qemu'><name>vm</name>
      <devices>
        <disk type='file' device='disk'><source file='/i/a.img'/><target dev='vda'/></disk>
        <disk type='block'><source dev='/dev/sdz'/><shareable/><target dev='vdb'/></disk>
        <disk type='file'><source file='/i/ro.img'/><readonly/><target dev='vdc'/></disk>
        <disk type='file' device='cdrom'><source file='/i/x.iso'/><target dev='hdc'/></disk>
        <disk type='file' device='cdrom'><target dev='hdd'/></disk>
        <disk type='network'><source protocol='nbd' name='x'/><target dev='vdd'/></disk>
        <lease><lockspace>ls</lockspace><key>k1</key><target path='/l/f' offset='1024'/></lease>
      </devices></domain>"#;

    #[test]
    fn what_libvirt_locks() {
        let r = parse(XML, Path::new("t.xml")).unwrap();
        let disk = |p: &str, readonly, shared| Resource::Disk {
            path: p.into(),
            readonly,
            shared,
        };
        assert_eq!(
            r,
            vec![
                disk("/i/a.img", false, false),
                disk("/dev/sdz", false, true),
                disk("/i/ro.img", true, false),
                disk("/i/x.iso", true, false),
                Resource::Lease {
                    key: "k1".into(),
                    lockspace: Some("ls".into()),
                    path: "/l/f".into(),
                    offset: 1024
                },
            ]
        );
    }

    #[test]
    fn bad_input_is_named() {
        let f = Path::new("t.xml");
        for (xml, want) in [
            ("<domain", "t.xml"),
            (
                "<domain>\n  <devices>\n    <disk",
                "never closed at 3:10, the end of the document (is it truncated?)",
            ),
            (
                "<domain>\n  <devices>\n    <disk type='file'",
                "at 3:22, the end of the document (is it truncated?)",
            ),
            ("<vm/>", "not <domain>"),
            (
                "<domain><devices><disk type='weird'><target dev='vda'/></disk></devices></domain>",
                "unknown type 'weird'",
            ),
            (
                "<domain><devices><disk type='volume'><target dev='vda'/></disk></devices></domain>",
                "--disk",
            ),
            (
                "<domain><devices><disk><source file='rel.img'/><target dev='vda'/></disk></devices></domain>",
                "not absolute",
            ),
            ("<domain><devices><lease><key>k</key></lease></devices></domain>", "<target>"),
        ] {
            let e = parse(xml, f).unwrap_err();
            assert_eq!(e.code, exit::DATAERR);
            assert!(e.message.contains(want), "{xml}: {}", e.message);
        }
    }
}
