//! The man pages `make` renders (`virtcore-lock man DIR`): synopses name each option's
//! value, and every page referred to is one that is installed.

use std::process::Command;

#[test]
fn man_pages_refer_only_to_installed_pages_and_name_values() {
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_virtcore-lock"))
        .arg("man")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // A page per visible subcommand, none for `help` (or the hidden `man`).
    for want in [
        "virtcore-lock.1",
        "virtcore-lock-run.1",
        "virtcore-lock-who.1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    for not in ["virtcore-lock-help.1", "virtcore-lock-man.1"] {
        assert!(!names.iter().any(|n| n == not), "{not} in {names:?}");
    }
    let page = |n: &str| {
        std::fs::read_to_string(dir.path().join(n))
            .unwrap()
            .replace("\\-", "-")
            .replace("\\fB", "")
            .replace("\\fI", "")
            .replace("\\fR", "")
    };
    for n in &names {
        let text = page(n);
        // Every virtcore-lock-X(1) named is a page written here.
        for (i, _) in text.match_indices("virtcore-lock-") {
            let rest = &text[i..];
            if let Some(end) = rest.find("(1)") {
                let p = format!("{}.1", &rest[..end]);
                if !p.contains(char::is_whitespace) {
                    assert!(names.contains(&p), "{n} refers to {p}");
                }
            }
        }
        assert!(text.contains("/usr/share/doc/virtcore-lockspace/"), "{n}");
    }
    let run = page("virtcore-lock-run.1");
    let syn = &run[run.find("SYNOPSIS").unwrap()..run.find("DESCRIPTION").unwrap()];
    for want in [
        "[--wait SECONDS]",
        "[--config FILE]",
        "{--disk PATH... | --domain-xml FILE}",
        "-- COMMAND...",
    ] {
        assert!(syn.contains(want), "{want} not in {syn}");
    }
}
