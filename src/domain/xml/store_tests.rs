//! Test builds check every `store` block against the parser's records (`verify`, run
//! inside each parse), over every document stored in the repository.

use super::model::*;
use super::store::DefPrivate;

/// Test builds: what is found again from the block equals what the parser recorded.
pub(super) fn verify(p: &DefPrivate, lay: &Layout<'_>) {
    let x = p.text();
    let same_elem = |got: &Elem, want: &Elem| {
        assert_eq!(got, want, "element at {} of {x}", want.range.start);
    };
    let same_attr = |got: Option<Attr>, want: Option<&Attr>| {
        let g = got.map(|a| (a.whole, a.value, a.cooked));
        let w = want.map(|a| (a.whole.clone(), a.value.clone(), a.cooked.clone()));
        assert_eq!(g, w, "attribute in {x}");
    };
    let same_text = |got: TextElem, want: &TextElem| {
        same_elem(&got.elem, &want.elem);
        assert_eq!(got.cooked, want.cooked);
    };
    same_elem(&p.root(), &lay.root);
    same_attr(p.root_attr("type"), Some(&lay.type_attr));
    same_attr(p.root_attr("id"), lay.id_attr.as_ref());
    same_text(p.name(), &lay.name);
    assert_eq!(p.uuid().is_some(), lay.uuid.is_some());
    if let (Some(g), Some(w)) = (p.uuid(), &lay.uuid) {
        same_text(g, w);
    }
    if !lay.uuid_generated {
        let u = p.uuid().expect("a parsed <uuid>");
        assert_eq!(
            super::super::types::uuid_parse(u.get(x)),
            Some(lay.uuid_val)
        );
    }
    if let (Some(g), Some(w)) = (p.on_lockfailure(), &lay.on_lockfailure) {
        same_elem(&g, &w.elem);
    }
    if let (Some(g), Some(w)) = (p.devices(), &lay.devices) {
        same_elem(&g, w);
    }
    assert_eq!(p.virt_type(), lay.virt_type);
    assert_eq!(p.on_lockfailure_val(), lay.on_lockfailure_val);
    assert_eq!(p.uuid_generated(), lay.uuid_generated);
    assert_eq!(p.events_end(), lay.events_end.map(|e| e as usize));
    for (i, d) in lay.disks.iter().enumerate() {
        let g = p.disk(i);
        same_elem(&p.elem(g.elem), &d.elem);
        same_attr(p.attr(g.elem, "type"), d.type_attr.as_ref());
        same_attr(p.attr(g.elem, "device"), d.device_attr.as_ref());
        assert_eq!(
            (
                g.type_val,
                g.type_written,
                g.device_val,
                g.bus_val,
                g.readonly_val
            ),
            (
                d.type_val,
                d.type_written,
                d.device_val,
                d.bus_val,
                d.readonly_val
            )
        );
        if let Some(s) = &d.source {
            let at = p.mark_elem(g.source.unwrap());
            same_elem(&p.elem(at), &s.elem);
            let an = super::super::types::source_attr(g.type_written);
            // (An empty path attribute is no path.)
            let a = an
                .and_then(|an| p.attr(at, an))
                .filter(|a| !a.get(x).is_empty());
            same_attr(a, s.path.as_ref().map(|(a, _)| a));
            same_attr(
                p.mark_attr(g.source.unwrap()),
                s.path.as_ref().map(|(a, _)| a),
            );
            if let Some((a, _)) = &s.path {
                let v = a.get(x);
                assert!(p.mark_value_is(g.source.unwrap(), "", v));
                let shorter = v.char_indices().last().map_or("", |(i, _)| &v[..i]);
                assert!(v.is_empty() || !p.mark_value_is(g.source.unwrap(), "", shorter));
            }
        }
        if let Some(t) = &d.target {
            let at = p.mark_elem(g.target.unwrap());
            same_elem(&p.elem(at), &t.elem);
            same_attr(p.attr(at, "dev"), t.dev.as_ref());
            same_attr(p.mark_attr(g.target.unwrap()), t.dev.as_ref());
            same_attr(p.attr(at, "bus"), t.bus.as_ref());
        }
        if let Some(r) = &d.readonly {
            same_elem(&p.elem(g.readonly.unwrap()), r);
        }
        if let Some(r) = &d.shareable {
            same_elem(&p.elem(g.shareable.unwrap()), r);
        }
    }
    for (i, l) in lay.leases.iter().enumerate() {
        let g = p.lease(i);
        same_elem(&p.elem(g.elem), &l.elem);
        same_text(p.text_elem(g.lockspace), &l.lockspace);
        same_text(p.text_elem(g.key), &l.key);
        same_elem(&p.elem(g.target), &l.target);
        same_attr(p.attr(g.target, "path"), Some(&l.path));
        same_attr(p.attr(g.target, "offset"), l.offset.as_ref());
        assert_eq!(g.offset_val, l.offset_val);
    }
}

mod tests {
    use std::path::Path;

    /// Every document in the repository's test data (libvirt 9.0's ~1850 test documents,
    /// the corpus, the differential extras): what the block finds again by scanning equals
    /// what the parser recorded (`verify` runs inside every parse of a test build).
    #[test]
    fn records_found_again_in_every_stored_document() {
        fn walk(d: &Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|e| e == "xml") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
            &mut files,
        );
        let mut parsed = 0;
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            if let Ok(def) = super::super::parse(&text, 0) {
                parsed += 1;
                unsafe { super::super::super::types::def_free(def) };
            }
        }
        assert!(
            parsed > 1500,
            "{parsed} of {} documents parsed",
            files.len()
        );
    }
}
