//! The workflows behind the commands: `up`, `destroy`, `halt`, `status`,
//! `provision`, `verify`, `info`, `init` (and its Vagrantfile conversion,
//! [`vagrantfile`]), and the forwarders of `forwards:`.
//! Commands in [`crate::cli`] parse and print; everything that touches the
//! hypervisor, the box store or the state directory happens here.

pub mod box_pool;
pub mod destroy;
mod destroy_hosts;
pub mod doctor;
pub mod forwards;
pub mod halt;
pub mod info;
pub mod init;
pub mod inventory;
pub mod names;
pub mod overlay;
pub mod owner;
pub mod preflight;
pub mod provision;
pub mod snapshot;
pub mod status;
pub mod up;
pub mod vagrantfile;

#[cfg(test)]
mod halt_tests;
#[cfg(test)]
mod hosts_tests;
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
use crate::backend::libvirt::{FROM_LAB_FILE, Libvirt, resolve_uri_from};
use crate::spec::Lab;
use crate::state::{State, StateDir};

/// One host of a lab over several hosts: its libvirt connection and what
/// `lab` runs there outside libvirt.
pub struct HostCtx {
    /// Its name in the lab file's `hosts`.
    pub name: String,
    /// Its libvirt URI.
    pub uri: String,
    /// `USER@ADDRESS` of its sshd; `None`: this machine.
    pub ssh: Option<String>,
    /// `address` of the lab file: its tunnel end; `None`: found
    /// ([`overlay::tunnel_addresses`]).
    pub address: Option<std::net::Ipv4Addr>,
    pub hv: Arc<dyn Hypervisor>,
    pub net: Arc<dyn overlay::HostNet>,
}

impl HostCtx {
    /// Host `h` of the lab file on `hv` and `net`.
    pub fn new(
        h: &crate::spec::Host,
        hv: Arc<dyn Hypervisor>,
        net: Arc<dyn overlay::HostNet>,
    ) -> Self {
        HostCtx {
            name: h.name.clone(),
            uri: h.uri.clone(),
            ssh: h.ssh.as_ref().map(ToString::to_string),
            address: h.address,
            hv,
            net,
        }
    }
}

/// A loaded lab with its state directory and a hypervisor connection
/// (one per host for a lab over several hosts).
pub struct LabCtx {
    pub lab: Lab,
    pub state_dir: StateDir,
    /// The primary host's hypervisor (the only one's, on one host).
    pub hv: Arc<dyn Hypervisor>,
    pub uri: String,
    /// Every host a node of a lab over several hosts runs on, primary
    /// first ([`Lab::used_hosts`]); empty for a lab on one host, where
    /// `hv` is all there is.
    pub hosts: Vec<HostCtx>,
    /// Where boxes are found and built.
    pub store: crate::boxes::Store,
    /// Sets guests' clocks after a snapshot is saved or restored
    /// ([`snapshot::clock::set_all`] over SSH; tests put a stand-in).
    pub clocks: snapshot::Clocks,
    /// A lab whose only host is another machine: `cat` there over SSH,
    /// for preflight's memory and route checks of that host; `None` for
    /// a lab here or over several hosts (there each [`HostCtx::net`]).
    pub remote: Option<Arc<dyn overlay::HostNet>>,
    /// Sets the overlay's MTU in the guests of a lab over several hosts
    /// ([`overlay::guest_mtu::set_all`] over SSH; tests put a stand-in).
    pub guest_mtu: overlay::GuestMtu,
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
        if lab.multi_host() {
            return Ok(Self::connect_hosts(lab));
        }
        let (uri, from) = resolve_uri_from(lab.uri_in_file());
        let hv = Libvirt::connect(&uri)?;
        // Its host's sshd, when the lab file's host is another machine
        // (and LAB_LIBVIRT_URI does not send the lab elsewhere).
        let remote = lab
            .host()
            .filter(|_| from == FROM_LAB_FILE)
            .and_then(|h| Some((h.name.clone(), h.ssh.as_ref()?.to_string())))
            .map(|(name, ssh)| {
                Arc::new(overlay::IpHostNet::new(&name, Some(&ssh))) as Arc<dyn overlay::HostNet>
            });
        let mut ctx = Self::with_hypervisor(
            lab,
            Arc::new(hv),
            uri,
            crate::boxes::Store::default_location(),
        );
        ctx.remote = remote;
        Ok(ctx)
    }

    /// A lab over several hosts: a connection to each (in parallel); a
    /// host that cannot be reached gets a stand-in that fails every call
    /// with why ([`crate::backend::Unreachable`]), so `lab destroy` still
    /// does what it can elsewhere and preflight names every such host.
    fn connect_hosts(lab: Lab) -> Self {
        let hosts: Vec<crate::spec::Host> = lab.used_hosts().into_iter().cloned().collect();
        let conns = crate::fanout::each(&hosts, |h| Libvirt::connect(&h.uri));
        let hosts = hosts
            .iter()
            .zip(conns)
            .map(|(h, conn)| {
                let hv: Arc<dyn Hypervisor> = match conn {
                    Ok(hv) => Arc::new(hv),
                    Err(e) => Arc::new(crate::backend::Unreachable::new(&h.name, &e)),
                };
                let ssh = h.ssh.as_ref().map(ToString::to_string);
                let net = Arc::new(overlay::IpHostNet::new(&h.name, ssh.as_deref()));
                HostCtx::new(h, hv, net)
            })
            .collect();
        Self::with_hosts(lab, hosts, crate::boxes::Store::default_location())
    }

    /// A lab over several hosts on the given hosts (primary first; tests
    /// put fakes).
    pub fn with_hosts(lab: Lab, hosts: Vec<HostCtx>, store: crate::boxes::Store) -> Self {
        let primary = &hosts[0];
        let (hv, uri) = (primary.hv.clone(), primary.uri.clone());
        let mut ctx = Self::with_hypervisor(lab, hv, uri, store);
        ctx.hosts = hosts;
        ctx
    }

    /// The hypervisor of host `host` (a name of the lab file's `hosts`):
    /// that host's for a lab over several hosts, else (and for `None` or
    /// a host lab has no connection to) the primary's.
    pub fn hv_of(&self, host: Option<&str>) -> &Arc<dyn Hypervisor> {
        host.and_then(|name| self.hosts.iter().find(|h| h.name == name))
            .map_or(&self.hv, |h| &h.hv)
    }

    /// The host node `node` runs on: as recorded in `st`, else as the lab
    /// file says; `None` without `hosts`.
    pub fn host_of_node<'a>(&'a self, st: &'a State, node: &str) -> Option<&'a str> {
        st.nodes
            .get(node)
            .and_then(|ns| ns.host.as_deref())
            .or_else(|| self.lab.node(node).and_then(|n| n.host.as_deref()))
    }

    /// The hypervisor holding domain `domain`: its node's host's
    /// ([`Self::host_of_node`]), the primary's for a domain of no node.
    pub fn hv_of_domain(&self, st: &State, domain: &str) -> &Arc<dyn Hypervisor> {
        if self.hosts.is_empty() {
            return &self.hv;
        }
        let node = st
            .nodes
            .iter()
            .find(|(_, ns)| ns.domain == domain)
            .map(|(name, _)| name.as_str())
            .or_else(|| {
                self.lab
                    .nodes
                    .iter()
                    .find(|n| names::domain(&self.lab.name, &n.name) == domain)
                    .map(|n| n.name.as_str())
            });
        self.hv_of(node.and_then(|n| self.host_of_node(st, n)))
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
            hosts: Vec::new(),
            remote: None,
            store,
            clocks: Arc::new(snapshot::clock::set_all),
            guest_mtu: Arc::new(overlay::guest_mtu::set_all),
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
