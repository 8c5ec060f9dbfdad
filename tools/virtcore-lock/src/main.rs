//! `virtcore-lock`: lockspace for operators and tools. See `cli.rs` for the command
//! line and exit statuses, README "Operating lockspace" for a session.
//!
//! Everything about the lockspace (configuration, lease naming, holder records, taking
//! locks) is the plugin's own code, linked as the `lockspace` crate's rlib: the tool
//! never defines a format of its own.

mod cli;
mod domxml;
mod inspect;
mod man;
mod run;

use std::io::Write;
use std::path::Path;

use clap::Parser;

use lockspace::abi::err::*;
use lockspace::conf::{self, Config};

/// Exit statuses (documented in `cli::EXIT_STATUS`).
pub mod exit {
    pub const HELD: i32 = 1;
    pub const USAGE: i32 = 64;
    pub const DATAERR: i32 = 65;
    pub const OSERR: i32 = 71;
    pub const BUSY: i32 = 75;
    pub const CONFIG: i32 = 78;
    pub const NOEXEC: i32 = 126;
    pub const NOTFOUND: i32 = 127;
}

/// A failure of the tool itself: what to print and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A plugin error: its exit status from its libvirt error code.
    pub fn from_plugin(e: lockspace::error::Error) -> Self {
        let code = match e.code {
            VIR_ERR_RESOURCE_BUSY => exit::BUSY,
            VIR_ERR_INVALID_ARG => exit::DATAERR,
            VIR_ERR_CONF_SYNTAX | VIR_ERR_CONFIG_UNSUPPORTED => exit::CONFIG,
            _ => exit::OSERR,
        };
        Failure::new(code, e.message)
    }
}

/// The plugin's configuration from `file` and a lockspace directory that is safe to
/// use (`write`: this user may also create lease files in it): every error here is a
/// configuration error.
pub fn load_config(file: &Path, write: bool) -> Result<Config, Failure> {
    let loaded = if CONFIG_NAMED.load(std::sync::atomic::Ordering::Relaxed) {
        conf::load_named(file)
    } else {
        conf::load(Some(file))
    };
    let cfg = loaded.map_err(|e| Failure::new(exit::CONFIG, e.message))?;
    // `run` loads the plugin, whose drvInit reports them itself.
    if !write {
        for w in cfg.warnings(&file.display().to_string()) {
            eprintln!("virtcore-lock: warning: {w}");
        }
    }
    inspect::check_dir(&cfg, write)?;
    Ok(cfg)
}

/// Whether `--config` was given: then its file must exist (a typo must not silently
/// give the defaults and a false "free").
static CONFIG_NAMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    CONFIG_NAMED.store(cli.config.is_some(), std::sync::atomic::Ordering::Relaxed);
    let config = cli
        .config
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(cli::DEFAULT_CONFIG));
    let result = match &cli.command {
        cli::Command::Status { json } => inspect::status(&config, *json),
        cli::Command::Who { json, paths } => inspect::who(&config, paths, *json),
        cli::Command::Run(args) => run::run(&config, args),
        cli::Command::Gc => inspect::gc(&config),
        cli::Command::Man { dir } => man::write_man(dir).map(|_| 0),
    };
    let _ = std::io::stdout().flush();
    match result {
        Ok(code) => std::process::exit(code),
        Err(f) => {
            eprintln!("virtcore-lock: {}", f.message);
            std::process::exit(f.code);
        }
    }
}
