//! Command-line interface: argument parsing and dispatch, one file per
//! command. Commands parse, call a workflow in [`crate::ops`], and print.

mod box_import;
mod boxes;
mod closed_stdout;
mod completions;
mod destroy;
mod doctor;
mod forward;
mod halt;
mod info;
mod init;
mod inventory;
mod man;
mod probe;
mod provision;
mod schema;
mod secrets;
mod snapshot;
mod ssh;
mod status;
mod up;
mod validate;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{EXIT_FAILURE, EXIT_INVALID, InvalidInput};

/// What `lab --version` prints after `lab `: the package version, then the
/// git commit it was built from and that commit's date, `0.1.0 (e4120e9
/// 2026-11-30)` (`e4120e9+dirty` when its sources differed from the
/// commit); only the version when built outside a git checkout. Set by
/// build.rs.
pub const VERSION: &str = env!("LAB_VERSION");

/// lab: a whole multi-VM lab from one YAML file, on libvirt/QEMU.
///
/// A lab file (lab.yaml here or in a parent directory, or -f PATH) names the machines, their network and the
/// base image ("box"); `lab` builds the box, boots linked-clone VMs, and hands
/// off to a provisioner. Start with `lab init [TEMPLATE] [DIR]` (a lab to
/// edit: smoke, django-ha, ...), then `lab up` there. Log detail: -v, -vv, or LAB_LOG=debug.
#[derive(Debug, Parser)]
#[command(name = "lab", version = VERSION, propagate_version = true, after_long_help = ENVIRONMENT)]
pub struct Cli {
    /// More log output on stderr (-v: info, -vv: debug, -vvv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a lab from a template built into lab (`lab init --list`) or converted from a Vagrantfile (`--from-vagrantfile`), then `lab up` there.
    Init(init::Args),
    /// Check a lab file and report every error with file:line:column.
    Validate(validate::Args),
    /// Print the JSON schema of the lab file (for editors).
    Schema(schema::Args),
    /// Build, list and remove boxes (base images).
    #[command(subcommand, name = "box")]
    Box(boxes::BoxCommand),
    /// Create or resume the lab: network, VMs, wait until each answers on SSH.
    Up(up::Args),
    /// Show each node's state, address, box and accelerator.
    Status(status::Args),
    /// Log in to a node, or run a command there (`lab ssh node1 -- uptime`).
    Ssh(ssh::Args),
    /// Print an OpenSSH config block for every node (use with `ssh -F`).
    SshConfig(ssh::ConfigArgs),
    /// Print a node's serial console log (for boot problems).
    Console(ssh::ConsoleArgs),
    /// Shut nodes down (gracefully, then forced after a timeout).
    Halt(halt::Args),
    /// Remove the lab's VMs, disks, network and state (boxes are kept).
    Destroy(destroy::Args),
    /// Run the provisioner again on the running lab (`--only TAG`, NODE...).
    Provision(provision::Args),
    /// Save the whole lab and come back to it in seconds (save, restore, list, delete).
    #[command(subcommand)]
    Snapshot(snapshot::SnapshotCommand),
    /// Run the lab's `checks:` and print PASS/FAIL per check.
    Verify(verify::Args),
    /// Print the lab's generated passwords and keys (JSON), or one of them.
    Secrets(secrets::Args),
    /// Where to look: the lab's links, forwards, how to log in, its state.
    Info(info::Args),
    /// Print the running lab's Ansible inventory (one group per role).
    Inventory(inventory::Args),
    /// Check this host (libvirt, QEMU, KVM, pool, tools) and the lab found: PASS/WARN/FAIL, with a fix.
    Doctor(doctor::Args),
    /// Wait for guests with lab's readiness probe (for scripts/bench).
    #[command(name = "__probe", hide = true)]
    Probe(probe::Args),
    /// Relay one forwarded port (started by `lab up` for `forwards:`).
    #[command(name = "__forward", hide = true)]
    Forward(forward::Args),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::Args),
    /// Write a manual page per command into a directory (scripts/package).
    #[command(name = "__man", hide = true)]
    Man(man::Args),
}

/// The environment variables lab reads, under `lab --help` (and so in
/// the man page lab(1)). An empty value counts as unset.
const ENVIRONMENT: &str = "\
Environment:
  LAB_HOME         where lab keeps its box store (LAB_HOME/boxes) and your recipes
                   (LAB_HOME/recipes) [default: $XDG_DATA_HOME/lab, else ~/.local/share/lab]
  LAB_BOXES_PATH   more directories of box recipes (NAME/box.yaml), colon-separated,
                   searched first
  LAB_FILE         the lab file, as with -f PATH
  LAB_LIBVIRT_URI  the libvirt connection, overriding the lab file's libvirt_uri
                   (e.g. qemu:///system)
  LAB_GUEST_PROXY  the guests' apt proxy URL, overriding the lab file's
  LAB_LOG          log detail on stderr, as a tracing filter (e.g. debug); -v, -vv too";

/// Options every command sees.
#[derive(Debug, Clone)]
pub struct Global {
    /// The lab file: as given with `-f`/`LAB_FILE`, else the one
    /// [`crate::paths::find_lab_file`] found.
    pub file: PathBuf,
}

/// How the lab file is found, shown under `-f` in `--help`.
const LAB_FILE_HELP: &str = "Lab file to use. Without it (and without LAB_FILE), lab.yaml is searched in the current directory, then in each parent directory up to the root, or up to $HOME when the current directory is inside it; the lab's state (.lab/) is kept beside the file found.";

/// `-f/--file PATH`: the lab file (flattened into each command that reads one).
#[derive(Debug, Clone, clap::Args)]
pub struct LabFile {
    #[arg(short = 'f', long = "file", value_name = "PATH", env = "LAB_FILE", long_help = LAB_FILE_HELP)]
    /// Lab file to use [default: lab.yaml here or in a parent directory].
    pub file: Option<PathBuf>,
}

/// `-f/--file PATH` and `--json`, for the commands whose `--json` prints
/// the same thing as their table, as JSON on stdout.
#[derive(Debug, Clone, clap::Args)]
pub struct LabJson {
    #[command(flatten)]
    pub lab: LabFile,
    /// Machine-readable output (JSON on stdout).
    #[arg(long)]
    pub json: bool,
}

/// Per-node progress on stderr for the nodes `selected` of the lab (all
/// when empty; unknown names are an error listing the lab's nodes).
fn node_reporter(
    ctx: &crate::ops::LabCtx,
    selected: &[String],
) -> anyhow::Result<std::sync::Arc<dyn crate::ui::nodes::NodeReporter>> {
    let names: Vec<String> = ctx
        .select_nodes(selected)?
        .into_iter()
        .map(|n| n.name)
        .collect();
    Ok(std::sync::Arc::from(crate::ui::nodes::stderr_reporter(
        &names,
    )))
}

/// `--file PATH` without the short form, for commands where `-f` means
/// "force" (`lab destroy -f`).
#[derive(Debug, Clone, clap::Args)]
pub struct LabFileLong {
    #[arg(long = "file", value_name = "PATH", env = "LAB_FILE", long_help = LAB_FILE_HELP)]
    /// Lab file to use [default: lab.yaml here or in a parent directory].
    pub file: Option<PathBuf>,
}

/// The lab file named with `-f`/`LAB_FILE` (used exactly as given), else the
/// one found from the current directory ([`crate::paths::find_lab_file`]).
fn g(file: Option<&std::path::Path>) -> anyhow::Result<Global> {
    if let Some(file) = file {
        return Ok(Global {
            file: file.to_path_buf(),
        });
    }
    let cwd = std::env::current_dir().map_err(|e| {
        anyhow::anyhow!("the current directory cannot be read ({e}), so no lab.yaml can be searched for; pass -f PATH")
    })?;
    let file = crate::paths::find_lab_file(&cwd, crate::paths::home_dir().as_deref())?;
    Ok(Global { file })
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    // `LAB_FILE=` (set but empty) means "not set", as for LAB_HOME and the
    // other variables; clap would call the empty value missing.
    if std::env::var_os("LAB_FILE").is_some_and(|v| v.is_empty()) {
        // SAFETY: the process has one thread yet; nothing reads the
        // environment concurrently.
        unsafe { std::env::remove_var("LAB_FILE") };
    }
    // A closed stdout ends every command quietly; see closed_stdout.
    closed_stdout::install();
    let cli = Cli::try_parse().unwrap_or_else(|e| closed_stdout::exit_clap(e));
    crate::ui::init_logging(cli.verbose);
    // `lab ssh` replaces itself with ssh, and a forwarder is stopped by signal:
    // every other command stops on Ctrl-C with a word on how to go on.
    if !matches!(cli.command, Command::Ssh(_) | Command::Forward(_)) {
        crate::interrupt::install();
    }
    let result = match cli.command {
        Command::Init(args) => init::run(args),
        Command::Validate(args) => validate::run(g(args.lab.file.as_deref()), args),
        Command::Schema(args) => schema::run(args),
        Command::Box(cmd) => boxes::run(cmd),
        Command::Up(args) => g(args.lab.file.as_deref()).and_then(|g| up::run(&g, args)),
        Command::Status(args) => {
            g(args.out.lab.file.as_deref()).and_then(|g| status::run(&g, args))
        }
        Command::Ssh(args) => g(args.lab.file.as_deref()).and_then(|g| ssh::run(&g, args)),
        Command::SshConfig(args) => {
            g(args.lab.file.as_deref()).and_then(|g| ssh::run_config(&g, args))
        }
        Command::Console(args) => {
            g(args.lab.file.as_deref()).and_then(|g| ssh::run_console(&g, args))
        }
        Command::Halt(args) => g(args.lab.file.as_deref()).and_then(|g| halt::run(&g, args)),
        Command::Destroy(args) => g(args.lab.file.as_deref()).and_then(|g| destroy::run(&g, args)),
        Command::Provision(args) => {
            g(args.lab.file.as_deref()).and_then(|g| provision::run(&g, args))
        }
        Command::Snapshot(cmd) => g(cmd.file()).and_then(|g| snapshot::run(&g, cmd)),
        Command::Verify(args) => {
            g(args.out.lab.file.as_deref()).and_then(|g| verify::run(&g, args))
        }
        Command::Secrets(args) => g(args.lab.file.as_deref()).and_then(|g| secrets::run(&g, args)),
        Command::Info(args) => g(args.out.lab.file.as_deref()).and_then(|g| info::run(&g, args)),
        Command::Inventory(args) => {
            g(args.lab.file.as_deref()).and_then(|g| inventory::run(&g, args))
        }
        Command::Doctor(args) => doctor::run(g(args.lab.file.as_deref()), args),
        Command::Probe(args) => probe::run(args),
        Command::Forward(args) => forward::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    };
    match result {
        Ok(()) => 0,
        Err(err) => report(err),
    }
}

fn report(err: anyhow::Error) -> i32 {
    if closed_stdout::is_closed(&err) {
        closed_stdout::die();
    }
    if let Some(invalid) = err.downcast_ref::<InvalidInput>() {
        if !invalid.summary.is_empty() {
            eprintln!("error: {}", invalid.summary);
        }
        return EXIT_INVALID;
    }
    for line in chain_lines(&err) {
        eprintln!("{line}");
    }
    if names_missing_input(&err) {
        EXIT_INVALID
    } else {
        EXIT_FAILURE
    }
}

/// Whether `err` is (or was caused by) a lab file that is not there or
/// cannot be read: input the user must fix, like an invalid one (exit
/// status 2), not a failure of lab's work.
fn names_missing_input(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<crate::paths::LabFileNotFound>().is_some()
            || matches!(
                c.downcast_ref::<crate::spec::SpecError>(),
                Some(crate::spec::SpecError::Read { .. })
            )
    })
}

/// `error: MESSAGE` and one `  caused by: CAUSE` line per cause of `err`,
/// leaving out a cause whose text the line before already contains (an
/// error that puts its source into its own message, as many do, would
/// otherwise be printed twice).
fn chain_lines(err: &anyhow::Error) -> Vec<String> {
    let mut lines = vec![format!("error: {err}")];
    let mut last = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if last.contains(&text) {
            continue;
        }
        lines.push(format!("  caused by: {text}"));
        last = text;
    }
    lines
}

#[cfg(test)]
mod tests {
    /// An error that both prints its source and returns it, like
    /// `std::io::Error` wrappers of other crates do.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read x.yaml: {source}")]
    struct Both {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let err = anyhow::Error::new(Both { source: io() });
        assert_eq!(
            super::chain_lines(&err),
            ["error: cannot read x.yaml: entity not found"]
        );
        let err = err.context("loading the lab failed");
        assert_eq!(
            super::chain_lines(&err),
            [
                "error: loading the lab failed",
                "  caused by: cannot read x.yaml: entity not found"
            ]
        );
        let err = anyhow::Error::new(io()).context("starting ssh failed");
        assert_eq!(
            super::chain_lines(&err),
            [
                "error: starting ssh failed",
                "  caused by: entity not found"
            ]
        );
    }

    #[test]
    fn no_error_type_of_lab_repeats_its_cause() {
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(crate::spec::SpecError::Read {
                path: "lab.yaml".into(),
                cause: io(),
            }),
            Box::new(crate::backend::BackendError::Io {
                path: "disk".into(),
                cause: io(),
            }),
            Box::new(crate::boxes::recipe::RecipeError::File(
                crate::limits::ReadError::Io {
                    path: "box.yaml".into(),
                    err: io(),
                },
            )),
            Box::new(crate::boxes::store::StoreError::Io {
                action: "cannot read",
                path: "b".into(),
                cause: io(),
            }),
            Box::new(crate::boxes::store::StoreError::BadMeta {
                path: "box.json".into(),
                name: "b".into(),
                cause: serde_json::from_str::<u8>("permission denied").unwrap_err(),
            }),
            Box::new(crate::process::ProcessError::Spawn {
                cmdline: "ssh".into(),
                hint: String::new(),
                cause: io(),
            }),
        ];
        for err in errors {
            let cause = ["permission denied", "expected value at line 1 column 1"];
            assert!(cause.iter().any(|c| err.to_string().contains(c)), "{err}");
            assert!(
                err.source().is_none(),
                "{err}: the cause is in the message and again in source()"
            );
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
