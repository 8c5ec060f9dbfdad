//! The command line, defined once: parsed by clap, and rendered into the man pages
//! (`virtcore-lock man DIR`, run by `make`), so `--help` and the man page never differ.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

/// The configuration file libvirt's QEMU driver hands the plugin when `qemu.conf` says
/// `lock_manager = "lockspace"` (`SYSCONFDIR/libvirt/qemu-lockspace.conf`).
pub const DEFAULT_CONFIG: &str = "/etc/libvirt/qemu-lockspace.conf";

/// Exit statuses, in `--help` and in the man page.
pub const EXIT_STATUS: &str = "\
Exit status:
  0    success; `who`: every disk is free
  1    `who`: at least one disk is held, or registered by a paused guest
  64   usage error (bad option or argument)
  65   bad input: relative or unresolvable path, unknown disk type, unreadable or
       malformed domain XML, a domain XML or <lease> file that is not a regular
       file (FIFO, device, directory) or larger than 10 MiB
  71   system error (a lease file that cannot be read, e.g. another user's: lease
       files are 0600; fork failed)
  75   `run`: refused, a guest or tool holds a disk, or a paused guest uses it (the
       holders are named); with --wait, still held when the time ran out
  78   configuration: the config file named by --config does not exist, has errors,
       is not a regular file or is
       larger than 10 MiB; the lockspace directory is missing, not a directory,
       writable by other users, not readable (`status`, `who`) or not writable
       (`run`) by this user
  126  `run`: COMMAND could not be executed; 127: COMMAND was not found
  Otherwise `run` exits with COMMAND's own status (128+N when a signal N killed it),
  like flock(1). Nothing is locked when virtcore-lock fails.";

#[derive(Parser, Debug)]
#[command(
    name = "virtcore-lock",
    version,
    about = "See who holds a guest's disks in a lockspace, and hold disks while a tool runs",
    long_about = "virtcore-lock reads and takes the locks of lockspace, virtcore's daemonless \
lock driver for libvirt (lock_manager = \"lockspace\"). It reads the plugin's own \
configuration file and lease files with the plugin's own code: `status` lists every held \
resource, `who` the holders of some disks, and `run` runs a command (qemu-img, guestfish, \
a backup script) holding the locks a guest with these disks would hold, so that no guest \
starts on a disk while the command writes to it, and the command is refused while a guest \
runs on it.",
    after_long_help = EXIT_STATUS
)]
pub struct Cli {
    /// The lockspace plugin's configuration file (libvirt conf syntax, `lockspace_dir =
    /// "…"`). Default /etc/libvirt/qemu-lockspace.conf, where a missing file means the
    /// plugin's defaults; a file named here must exist (a typo is an error, exit 78)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every resource held in the lockspace, one row each, with its holders
    #[command(
        long_about = "Every resource held in the lockspace, one row each: the disk path (or \
the lease's lockspace/key; \"path unknown\" for lease files written by an older version), \
exclusive, shared or \"registered (paused)\", and each holder's guest name, UUID, pid \
and host. A paused guest (libvirt releases its locks, but it keeps its disks open and \
resumes on them; a guest also starts paused) shows as \"registered (paused)\". Records of \
holders that are gone are never shown. Takes no lock: it only probes (F_OFD_GETLK) and \
reads, so guests start and stop undisturbed meanwhile. Needs read access to the \
lockspace directory and its lease files (0600: run as the user holding them, root for \
libvirtd's guests). Names and paths are printed with control characters escaped (\\n, \
\\xNN, \\u{NNNN}, a backslash as \\\\); --json gives them as they are. Holder records \
keep a guest or command name to 127 bytes and a host to 63 (longer ones are cut), and \
a resource (\"disk:\" and the canonical path) to 278 bytes: a longer one shows as \
sha256:HASH of its text.",
        after_long_help = EXIT_STATUS
    )]
    Status {
        /// Print JSON: {"lockspace_dir": DIR, "resources": [{"resource", "type", "path",
        /// "lockspace", "key", "mode", "lease_file", "holders": [{"name", "uuid", "pid",
        /// "host", "mode"}]}]}
        #[arg(long)]
        json: bool,
    },
    /// The holders of these disks (exit status 1 when any is held)
    #[command(
        long_about = "The holders of these disks, found the way the plugin finds them: a \
symlink and the file it names, hard links and bind mounts of one image are one disk; a \
disk that does not exist yet is named by its future canonical path (existing directories \
resolved, `.`, `..` and `//` removed), so it is the same disk once created. Exit status \
0 when every disk is free, 1 when at least one is held or registered by a paused guest \
(mode \"registered (paused)\").",
        after_long_help = EXIT_STATUS
    )]
    Who {
        /// Print JSON: [{"disk": PATH, "path": CANONICAL, "held": bool, "holders": […]}]
        #[arg(long)]
        json: bool,
        /// Disk images or block devices (absolute paths)
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
    },
    /// Run COMMAND holding the locks a guest with these disks would hold
    #[command(
        long_about = "Run COMMAND holding the locks a guest with these disks would hold. \
The locks are taken in COMMAND's own process (its inherited lease files), recorded as \
holder `run:COMMAND` with COMMAND's pid: they last as long as COMMAND runs, even when \
virtcore-lock itself is killed, and are gone when COMMAND exits by any route. Refused, \
naming the holders, when a guest holds a disk, and also when a paused guest uses one \
(libvirt releases a paused guest's locks and would let another guest start there, but \
the paused guest still has the disk open and resumes on it): only --readonly runs beside \
a paused guest. With --domain-xml, exactly the locks \
libvirt's start of that domain takes: file, block and dir disks (<shareable/> shared, \
<readonly/> and cdroms no lock, network disks none) and its leases. COMMAND inherits \
the open lease files: it must not close descriptors it did not open (a program that \
closes every descriptor at start drops the locks); children it forks inherit them too, so \
the locks last until the last of them exits.",
        after_long_help = EXIT_STATUS
    )]
    Run(RunArgs),
    /// Remove the lease files nothing holds (and entries that are no lease file)
    #[command(
        long_about = "Remove the lease files nothing holds, so that the lockspace does not \
grow forever, and clear a damaged one (\"has no valid header\") or an entry that is no \
lease file the plugin would open (a FIFO, symlink, hard link, another user's file, a \
wrong mode: the plugin refuses those, naming them). Safe while guests start and stop: a \
file is removed only while gc holds every lock byte of it, and a guest that opened it \
just before opens the name again. A file in use (held, or registered by a paused guest) \
is kept. Prints one line per removed entry and a summary. Needs write access to the \
lockspace directory (root for libvirtd's).",
        after_long_help = EXIT_STATUS
    )]
    Gc,
    /// Write the man pages into DIR (used by `make`)
    #[command(hide = true)]
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// `--disk` or `--domain-xml`, exactly one: a group, so that clap's error for neither
/// names both, and the man page's synopsis shows them as alternatives.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("disks").required(true).args(["disk", "domain_xml"])))]
pub struct RunArgs {
    /// Shared locks: other shared users may run beside COMMAND (a <shareable/> disk)
    #[arg(long, conflicts_with = "readonly")]
    pub shared: bool,
    /// Read-only use: no disk lock at all, as for a <readonly/> disk (a running or paused
    /// guest is not disturbed, and nothing keeps it from starting)
    #[arg(long)]
    pub readonly: bool,
    /// Wait up to SECONDS (0 or more, fractions allowed) for held disks to be freed, like
    /// flock -w
    // Negative numbers are parsed (and refused by `run`), not taken for an option.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub wait: Option<f64>,
    /// Disks to lock (absolute paths of images or block devices)
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub disk: Vec<String>,
    /// A libvirt domain XML: lock what libvirt's start of it would lock
    #[arg(long, value_name = "FILE")]
    pub domain_xml: Option<PathBuf>,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}
