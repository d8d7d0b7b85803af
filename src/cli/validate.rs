//! `lab validate [--json]`: check a lab file, print every diagnostic (or
//! one JSON object for scripts).

use anyhow::Result;
use serde::Serialize;

use crate::cli::Global;
use crate::error::InvalidInput;
use crate::spec::{self, Lab, Provision, SpecError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Machine-readable output: the lab's name, nodes, provisioner, checks
    /// and forwards, or every error with its line, column and field; exit
    /// status 2 when the file is invalid, as without --json.
    #[arg(long)]
    pub json: bool,
}

/// `lab validate --json`. On an invalid file `valid` is false, `errors`
/// holds every problem and the fields describing the lab are null or empty.
/// A file that cannot be read at all is an error on stderr (exit 1), not
/// JSON.
#[derive(Debug, Serialize)]
pub struct Validation {
    /// The lab file, as given (`-f`, `$LAB_FILE` or `lab.yaml`).
    pub file: String,
    pub valid: bool,
    /// `name:` of the lab.
    pub lab: Option<String>,
    /// The default box (`box:`).
    #[serde(rename = "box")]
    pub box_name: Option<String>,
    /// `network.subnet`, e.g. `10.77.10.0/24`.
    pub subnet: Option<String>,
    pub nodes: Vec<NodeJson>,
    /// `shell` or `ansible`; null without a `provision:` section.
    pub provisioner: Option<crate::spec::ProvisionerKind>,
    /// The names of `checks:`, in order.
    pub checks: Vec<String>,
    pub forwards: Vec<ForwardJson>,
    pub errors: Vec<Problem>,
}

/// One node: its name, address, box (its own or the lab's) and roles.
#[derive(Debug, Serialize)]
pub struct NodeJson {
    pub name: String,
    pub ip: String,
    #[serde(rename = "box")]
    pub box_name: String,
    pub roles: Vec<String>,
}

/// One `forwards:` entry: `address:host` on this machine to the node's
/// `guest` port.
#[derive(Debug, Serialize)]
pub struct ForwardJson {
    pub node: String,
    pub guest: u16,
    pub host: u16,
    pub address: String,
}

/// One problem of an invalid file (what `lab validate` draws as a snippet).
#[derive(Debug, Serialize)]
pub struct Problem {
    /// 1-based line and column (in characters), the same as the human
    /// output's `[FILE:LINE:COLUMN]`: lines end at `\n`, `\r\n` or a
    /// lone `\r`.
    pub line: usize,
    pub column: usize,
    /// The field path, e.g. `nodes.node2.ip`; empty for the whole file.
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Validation {
    fn valid(file: String, lab: &Lab) -> Self {
        Validation {
            file,
            valid: true,
            lab: Some(lab.name.clone()),
            box_name: Some(lab.box_name.clone()),
            subnet: Some(lab.network.subnet.to_string()),
            nodes: lab
                .nodes
                .iter()
                .map(|n| NodeJson {
                    name: n.name.clone(),
                    ip: n.ip.to_string(),
                    box_name: n.box_name.clone(),
                    roles: n.roles.clone(),
                })
                .collect(),
            provisioner: lab.provision.as_ref().map(Provision::kind),
            checks: lab.checks.iter().map(|c| c.name.clone()).collect(),
            forwards: lab
                .forwards
                .iter()
                .map(|f| ForwardJson {
                    node: f.node.clone(),
                    guest: f.guest,
                    host: f.host,
                    address: f.address.to_string(),
                })
                .collect(),
            errors: Vec::new(),
        }
    }

    fn invalid(file: String, err: &SpecError) -> Self {
        Validation {
            file,
            valid: false,
            lab: None,
            box_name: None,
            subnet: None,
            nodes: Vec::new(),
            provisioner: None,
            checks: Vec::new(),
            forwards: Vec::new(),
            errors: err
                .diagnostics()
                .iter()
                .map(|d| {
                    let (line, column) = d.line_col();
                    Problem {
                        line,
                        column,
                        field: d.field().to_string(),
                        message: d.message().to_string(),
                        hint: d.hint().map(str::to_string),
                    }
                })
                .collect(),
        }
    }
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    if args.json {
        return run_json(global);
    }
    let lab = spec::load_reported(&global.file)?;
    let nodes = match lab.nodes.len() {
        1 => "1 node".to_owned(),
        n => format!("{n} nodes"),
    };
    println!(
        "{}: lab {:?} is valid ({nodes}, subnet {}, box {})",
        global.file.display(),
        lab.name,
        lab.network.subnet,
        lab.box_name
    );
    Ok(())
}

fn run_json(global: &Global) -> Result<()> {
    let file = global.file.display().to_string();
    let (json, invalid) = match spec::load(&global.file) {
        Ok(lab) => (Validation::valid(file, &lab), None),
        Err(err @ SpecError::Invalid { .. }) => (Validation::invalid(file, &err), Some(err)),
        Err(err) => return Err(err.into()),
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    match invalid {
        // The summary on stderr ("FILE: N errors"), exit status 2.
        Some(err) => Err(InvalidInput {
            summary: err.to_string(),
        }
        .into()),
        None => Ok(()),
    }
}
