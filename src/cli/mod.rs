//! Command-line interface: argument parsing and dispatch, one file per
//! command. Commands parse, call a workflow in [`crate::ops`], and print.

mod boxes;
mod schema;
mod validate;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{EXIT_FAILURE, EXIT_INVALID, InvalidInput};

/// lab: a whole multi-VM lab from one YAML file, on libvirt/QEMU.
///
/// A lab file (default ./lab.yaml) names the machines, their network and the
/// base image ("box"); `lab` builds the box, boots linked-clone VMs, and hands
/// off to a provisioner. Log detail: -v, -vv, or LAB_LOG=debug.
#[derive(Debug, Parser)]
#[command(name = "lab", version, propagate_version = true)]
pub struct Cli {
    /// Lab file to use.
    #[arg(short = 'f', long = "file", global = true, value_name = "PATH", default_value = "lab.yaml")]
    pub file: PathBuf,

    /// More log output on stderr (-v: info, -vv: debug, -vvv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a lab file and report every error with file:line:column.
    Validate(validate::Args),
    /// Print the JSON schema of the lab file (for editors).
    Schema(schema::Args),
    /// Build, list and remove boxes (base images).
    #[command(subcommand, name = "box")]
    Box(boxes::BoxCommand),
}

/// Options every command sees.
#[derive(Debug, Clone)]
pub struct Global {
    pub file: PathBuf,
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    crate::ui::init_logging(cli.verbose);
    let global = Global { file: cli.file.clone() };
    let result = match cli.command {
        Command::Validate(args) => validate::run(&global, args),
        Command::Schema(args) => schema::run(&global, args),
        Command::Box(cmd) => boxes::run(&global, cmd),
    };
    match result {
        Ok(()) => 0,
        Err(err) => report(err),
    }
}

fn report(err: anyhow::Error) -> i32 {
    if let Some(invalid) = err.downcast_ref::<InvalidInput>() {
        if !invalid.summary.is_empty() {
            eprintln!("error: {}", invalid.summary);
        }
        return EXIT_INVALID;
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    EXIT_FAILURE
}
