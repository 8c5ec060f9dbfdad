//! Man pages for the program and each subcommand, from the clap definition (`virtcore-lock
//! man DIR`, run by `make`), with a synopsis that names every option's value, the exit
//! statuses, and SEE ALSO pointing only at pages and files that are installed.

use std::path::Path;

use clap::{Arg, Command, CommandFactory};
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};

use crate::{cli, exit, Failure};

/// Where README.md is installed (`make install`'s DOCDIR default, and the Debian package's
/// documentation directory).
const SEE_ALSO_README: &str = "README.md, section \"Operating lockspace\", installed in \
/usr/share/doc/virtcore-lockspace/ by the Debian package and in PREFIX/share/doc/virtcore/ by \
make install; flock(1), virsh(1)";

pub fn write_man(dir: &Path) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::new(exit::OSERR, format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    // No `help` subcommand in the pages: it would name a virtcore-lock-help(1) that is not
    // installed (`--help` is there, and `virtcore-lock help` still works).
    let mut cmd = cli::Cli::command().disable_help_subcommand(true);
    // Propagates the global --config and names subcommands `virtcore-lock run` etc.
    cmd.build();
    let mut pages = vec![cmd.clone()];
    pages.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    let status = cli::EXIT_STATUS
        .split_once('\n')
        .map_or("", |(_, rest)| rest);
    for page in pages {
        let top = page.has_subcommands();
        let page = page.version(env!("CARGO_PKG_VERSION"));
        let man = clap_mangen::Man::new(page.clone());
        let mut out = Vec::new();
        man.render_title(&mut out).map_err(io)?;
        man.render_name_section(&mut out).map_err(io)?;
        synopsis(&page).to_writer(&mut out).map_err(io)?;
        man.render_description_section(&mut out).map_err(io)?;
        man.render_options_section(&mut out).map_err(io)?;
        if page.has_subcommands() {
            man.render_subcommands_section(&mut out).map_err(io)?;
        }
        let mut roff = Roff::new();
        roff.control("SH", ["EXIT STATUS"]).control("nf", []);
        for line in status.lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
        let also = if top {
            SEE_ALSO_README.to_string()
        } else {
            format!("virtcore-lock(1); {SEE_ALSO_README}")
        };
        roff.control("SH", ["SEE ALSO"]).text([roman(also)]);
        roff.to_writer(&mut out).map_err(io)?;
        man.render_version_section(&mut out).map_err(io)?;
        let name = page.get_display_name().unwrap_or(page.get_name());
        std::fs::write(dir.join(format!("{name}.1")), out).map_err(io)?;
    }
    Ok(())
}

/// SYNOPSIS: the command, then each option with its value's placeholder (`[--wait
/// SECONDS]`), a required group as alternatives (`{--disk PATH... | --domain-xml FILE}`),
/// the positional arguments, and the subcommands.
fn synopsis(cmd: &Command) -> Roff {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string();
    let mut line = vec![bold(name)];
    let groups: Vec<_> = cmd.get_groups().filter(|g| g.is_required_set()).collect();
    let grouped = |a: &Arg| {
        groups
            .iter()
            .any(|g| g.get_args().any(|id| id == a.get_id()))
    };
    for arg in cmd.get_arguments() {
        if !arg.is_hide_set() && !arg.is_positional() && !grouped(arg) {
            line.push(roman(" "));
            option(&mut line, arg, !arg.is_required_set());
        }
    }
    for g in &groups {
        line.push(roman(" {"));
        for (i, id) in g.get_args().enumerate() {
            if let Some(arg) = cmd.get_arguments().find(|a| a.get_id() == id) {
                line.push(roman(if i == 0 { "" } else { " | " }));
                option(&mut line, arg, false);
            }
        }
        line.push(roman("}"));
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        line.push(roman(if arg.is_last_set() { " -- " } else { " " }));
        let optional = !arg.is_required_set();
        if optional {
            line.push(roman("["));
        }
        line.push(italic(value_name(arg)));
        if many(arg) {
            line.push(roman("..."));
        }
        if optional {
            line.push(roman("]"));
        }
    }
    let subs: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .collect();
    if !subs.is_empty() {
        line.push(roman(format!(" {{{}}} ", subs.join(" | "))));
        line.push(italic("ARGS"));
        line.push(roman("..."));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]).text(line);
    roff
}

fn option(line: &mut Vec<Inline>, arg: &Arg, optional: bool) {
    let name = match (arg.get_short(), arg.get_long()) {
        (Some(s), Some(l)) => format!("-{s}|--{l}"),
        (None, Some(l)) => format!("--{l}"),
        (Some(s), None) => format!("-{s}"),
        (None, None) => return,
    };
    if optional {
        line.push(roman("["));
    }
    line.push(bold(name));
    if arg.get_action().takes_values() {
        line.push(roman(" "));
        line.push(italic(value_name(arg)));
        if many(arg) {
            line.push(roman("..."));
        }
    }
    if optional {
        line.push(roman("]"));
    }
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase())
}

fn many(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|r| r.max_values() > 1)
}
