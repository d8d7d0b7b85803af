//! `lab inventory [--format yaml|ini|json]`: the running lab's Ansible
//! inventory on stdout, notes on what is left out on stderr.

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
const AFTER_HELP: &str = "Write it to a file and pass that to Ansible:\n\n  lab inventory > hosts.yml\n  ansible -i hosts.yml all -m ping\n  ansible-playbook -i hosts.yml site.yml\n\nansible -i <(lab inventory) finds no hosts (it warns that the host list is empty and exits 0): Ansible's script inventory plugin reads the pipe empty while it looks for a #! line, before the yaml or ini plugin gets to it. With only the format's plugin enabled it works: ANSIBLE_INVENTORY_ENABLED=yaml ansible -i <(lab inventory) all -m ping. The json format is for an inventory script (#!/bin/sh, exec lab inventory -f PATH --format json) and other programs.\n\nOnly nodes that are up are listed; each node left out is named on stderr.";

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
    print!("{}", printed.text);
    Ok(())
}
