//! `lab inventory [--format yaml|ini|json]`: the running lab's Ansible
//! inventory on stdout, notes on what is left out on stderr.

use std::io::Write;

use anyhow::Result;

use crate::cli::Global;
use crate::ops::inventory::{self, Format};
use crate::state::StateDir;

#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// yaml: Ansible's yaml inventory plugin (every value marked as data);
    /// ini: its ini plugin; json: what an inventory script prints for
    /// --list (_meta.hostvars included).
    #[arg(long, value_enum, default_value_t = FormatArg::Yaml)]
    pub format: FormatArg,
}

/// How to use it: Ansible cannot read an inventory from a pipe.
const AFTER_HELP: &str = "Ansible reads it from a file or straight from a pipe:\n\n  ansible -i <(lab inventory) all -m ping\n  lab inventory > hosts.yml && ansible-playbook -i hosts.yml site.yml\n\nThe yaml format printed into a pipe starts with lines of '#' (about 24 KiB): Ansible's script inventory plugin reads and discards the first few KiB of a pipe while it looks for a #! line, before the yaml plugin reads it; the comment lines are what it discards. The ini format through a pipe needs ANSIBLE_INVENTORY_ENABLED=ini (the yaml plugin would take the pipe first). The json format is for an inventory script (#!/bin/sh, exec lab inventory -f PATH --format json) and other programs.\n\nOnly nodes that are up are listed; each node left out is named on stderr.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Yaml,
    Ini,
    Json,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let lab = crate::spec::load_reported_lenient(&global.file)?;
    let sd = StateDir::for_lab_dir(lab.dir());
    let format = match args.format {
        FormatArg::Yaml => Format::Yaml,
        FormatArg::Ini => Format::Ini,
        FormatArg::Json => Format::Json,
    };
    let printed = inventory::inventory(&lab, &sd, format)?;
    for note in &printed.notes {
        eprintln!("note: {note}");
    }
    let mut out = std::io::stdout().lock();
    if format == Format::Yaml && stdout_is_pipe() {
        out.write_all(pipe_padding().as_bytes())?;
    }
    out.write_all(printed.text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Comment lines (24,000 bytes of `#`, then a line saying why) printed
/// before a YAML inventory written into a pipe. Ansible (2.14, Debian 12;
/// its issues 13884 and 39131) tries its script inventory plugin before the
/// yaml one, and that plugin opens the path and reads from it (Python's
/// buffered read: up to 8 KiB per read, at most two reads) to look for `#!`;
/// from a pipe those bytes are gone when the yaml plugin opens it again.
/// Whatever prefix of the padding is taken, the rest starts with `#` or a
/// line break, so the yaml plugin reads a comment and then the inventory.
fn pipe_padding() -> String {
    let mut pad = format!("{}\n", "#".repeat(79)).repeat(300);
    pad.push_str("# (the lines of '#' above let Ansible read this inventory from a pipe: see lab inventory --help)\n");
    pad
}

/// Whether stdout is a pipe (a FIFO), as for `ansible -i <(lab inventory)`.
fn stdout_is_pipe() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.file_type().is_fifo())
}
