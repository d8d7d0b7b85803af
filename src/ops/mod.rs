//! The workflows behind the commands: `up`, `destroy`, `halt`, `status`,
//! `provision`, `verify`, `info`, `init` (and its Vagrantfile conversion,
//! [`vagrantfile`]), and the forwarders of `forwards:`.
//! Commands in [`crate::cli`] parse and print; everything that touches the
//! hypervisor, the box store or the state directory happens here.

pub mod destroy;
pub mod doctor;
pub mod forwards;
pub mod halt;
pub mod info;
pub mod init;
pub mod inventory;
pub mod names;
pub mod owner;
pub mod preflight;
pub mod provision;
pub mod snapshot;
pub mod status;
pub mod up;
pub mod vagrantfile;

#[cfg(test)]
mod modes_tests;
#[cfg(test)]
mod owner_tests;
#[cfg(test)]
mod remote_tests;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::backend::Hypervisor;
use crate::backend::libvirt::{Libvirt, resolve_uri};
use crate::spec::Lab;
use crate::state::StateDir;

/// A loaded lab with its state directory and a hypervisor connection.
pub struct LabCtx {
    pub lab: Lab,
    pub state_dir: StateDir,
    pub hv: Arc<dyn Hypervisor>,
    pub uri: String,
    /// Where boxes are found and built.
    pub store: crate::boxes::Store,
    /// Sets guests' clocks after a snapshot is saved or restored
    /// ([`snapshot::clock::set_all`] over SSH; tests put a stand-in).
    pub clocks: snapshot::Clocks,
}

impl LabCtx {
    /// Load and validate the lab file (diagnostics are printed on error) and
    /// connect to its libvirt. For commands that create or provision VMs:
    /// boxes and referenced files must exist ([`crate::spec::load_reported`]).
    pub fn open(file: &Path) -> Result<Self> {
        Self::connect(crate::spec::load_reported(file)?)
    }

    /// [`LabCtx::open`] for commands that manage existing VMs (`status`,
    /// `halt`, `destroy`, `verify`): boxes and referenced files are not
    /// checked ([`crate::spec::load_reported_lenient`]), so a lab whose
    /// box or scripts are gone can still be inspected and removed.
    pub fn open_lenient(file: &Path) -> Result<Self> {
        Self::connect(crate::spec::load_reported_lenient(file)?)
    }

    fn connect(lab: Lab) -> Result<Self> {
        let uri = resolve_uri(lab.uri_in_file());
        let hv = Libvirt::connect(&uri)?;
        Ok(Self::with_hypervisor(
            lab,
            Arc::new(hv),
            uri,
            crate::boxes::Store::default_location(),
        ))
    }

    /// For tests: a lab on any hypervisor (e.g. the fake).
    pub fn with_hypervisor(
        lab: Lab,
        hv: Arc<dyn Hypervisor>,
        uri: String,
        store: crate::boxes::Store,
    ) -> Self {
        let state_dir = StateDir::for_lab_dir(lab.dir());
        LabCtx {
            lab,
            state_dir,
            hv,
            uri,
            store,
            clocks: Arc::new(snapshot::clock::set_all),
        }
    }

    /// Absolute path of the lab file (the state dir is beside it).
    pub fn file(&self) -> std::path::PathBuf {
        std::path::absolute(&self.lab.path).unwrap_or_else(|_| self.lab.path.clone())
    }

    /// Nodes selected by name; all nodes when `names` is empty. Unknown
    /// names are an error listing the lab's nodes.
    pub fn select_nodes(&self, names: &[String]) -> Result<Vec<crate::spec::Node>> {
        if names.is_empty() {
            return Ok(self.lab.nodes.clone());
        }
        names
            .iter()
            .map(|n| {
                self.lab.node(n).cloned().with_context(|| {
                    let all: Vec<&str> = self.lab.nodes.iter().map(|n| n.name.as_str()).collect();
                    format!(
                        "lab {} has no node `{n}` (nodes: {})",
                        self.lab.name,
                        all.join(", ")
                    )
                })
            })
            .collect()
    }
}
