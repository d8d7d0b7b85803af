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

/// `lab validate --json`, printed whatever the outcome. On an invalid file
/// `valid` is false, `errors` holds every problem (exit status 2) and the
/// fields describing the lab are null or empty. So they are when no lab
/// file is found or it cannot be read: then `errors` holds that one
/// problem, without a line or column, and the exit status is 1.
#[derive(Debug, Serialize)]
pub struct Validation {
    /// The lab file, as given (`-f`, `$LAB_FILE`) or found; null when no
    /// lab file was found.
    pub file: Option<String>,
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
    /// `provision.images` (rootfs boxes built for the playbook); empty
    /// without them.
    pub images: Vec<String>,
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
    /// lone `\r`. Null when the file was not found or could not be read.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field path, e.g. `nodes.node2.ip`; empty for the whole file.
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Validation {
    fn valid(file: String, lab: &Lab) -> Self {
        Validation {
            file: Some(file),
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
            images: match &lab.provision {
                Some(Provision::Ansible(a)) => a.images.clone(),
                _ => Vec::new(),
            },
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

    fn invalid(file: Option<String>, errors: Vec<Problem>) -> Self {
        Validation {
            file,
            valid: false,
            lab: None,
            box_name: None,
            subnet: None,
            nodes: Vec::new(),
            provisioner: None,
            images: Vec::new(),
            checks: Vec::new(),
            forwards: Vec::new(),
            errors,
        }
    }
}

impl Problem {
    fn of(d: &spec::SpecDiagnostic) -> Self {
        let (line, column) = d.line_col();
        Problem {
            line: Some(line),
            column: Some(column),
            field: d.field().to_string(),
            message: d.message().to_string(),
            hint: d.hint().map(str::to_string),
        }
    }

    /// A problem with no place in the file: it was not found or not read.
    fn whole(message: String) -> Self {
        Problem {
            line: None,
            column: None,
            field: String::new(),
            message,
            hint: None,
        }
    }
}

/// Runs `lab validate` on the lab file `found` (or why none was found:
/// `--json` prints that as JSON too).
pub fn run(found: Result<Global>, args: Args) -> Result<()> {
    if args.json {
        return run_json(found);
    }
    let global = found?;
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

fn run_json(found: Result<Global>) -> Result<()> {
    let global = match found {
        Ok(global) => global,
        Err(err) => {
            let json = Validation::invalid(None, vec![Problem::whole(err.to_string())]);
            println!("{}", serde_json::to_string_pretty(&json)?);
            return Err(err);
        }
    };
    let file = global.file.display().to_string();
    let (json, failed) = match spec::load(&global.file) {
        Ok(lab) => (Validation::valid(file, &lab), None),
        Err(err @ SpecError::Invalid { .. }) => {
            let errors = err.diagnostics().iter().map(Problem::of).collect();
            // The summary on stderr ("FILE: N errors"), exit status 2.
            let invalid = InvalidInput {
                summary: err.to_string(),
            };
            (
                Validation::invalid(Some(file), errors),
                Some(invalid.into()),
            )
        }
        Err(err @ SpecError::Read { .. }) => {
            let errors = vec![Problem::whole(err.to_string())];
            (Validation::invalid(Some(file), errors), Some(err.into()))
        }
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    failed.map_or(Ok(()), Err)
}
