//! The validated lab: what the rest of `lab` works with. Every value here
//! has passed the checks in [`super::validate`], and defaults are applied.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use schemars::JsonSchema;

/// A checked lab file.
#[derive(Debug, Clone, PartialEq)]
pub struct Lab {
    /// Lab name (a DNS label).
    pub name: String,
    /// Default box of the nodes (each [`Node::box_name`] is already resolved).
    pub box_name: String,
    pub accel: Accel,
    /// libvirt URI from the file's `libvirt_uri`; `LAB_LIBVIRT_URI`
    /// overrides it at run time. Never set together with `hosts`
    /// ([`Lab::uri_in_file`] gives the one to use).
    pub libvirt_uri: Option<String>,
    /// The file's `hosts`, in file order; empty without it. Every node
    /// names one of them ([`Node::host`]); all nodes are on one host
    /// for now.
    pub hosts: Vec<Host>,
    pub network: Network,
    pub proxy: Option<Proxy>,
    /// Nodes in file order.
    pub nodes: Vec<Node>,
    pub provision: Option<Provision>,
    /// `lab verify`'s checks, in file order.
    pub checks: Vec<Check>,
    /// Host ports forwarded to nodes, in file order.
    pub forwards: Vec<Forward>,
    /// Where to look once the lab is up, in file order.
    pub links: Vec<Link>,
    /// The secrets the lab declares (`secrets:`), in file order; `None`
    /// when it declares none (then it gets the default set,
    /// `provision::secrets::DEFAULT`).
    pub secrets: Option<Vec<String>>,
    /// The lab file this was read from.
    pub path: PathBuf,
}

/// Environment variable naming the guests' apt proxy (`http://HOST:PORT`,
/// HOST may be `gateway`); overrides the lab file's `proxy:`.
pub const GUEST_PROXY_ENV: &str = "LAB_GUEST_PROXY";

impl Lab {
    /// The guests' apt proxy URL: `$LAB_GUEST_PROXY`, else the lab file's
    /// `proxy:`; `gateway` as host becomes the lab network's gateway address.
    pub fn guest_proxy(&self) -> Option<String> {
        let gw = self.network.gateway;
        match std::env::var(GUEST_PROXY_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                Some(v.trim().replace("//gateway:", &format!("//{gw}:")))
            }
            _ => self.proxy.as_ref().map(|p| p.url_for(gw)),
        }
    }

    /// The directory holding the lab file; relative paths in it start here.
    pub fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// The libvirt URI the lab file names: `libvirt_uri`, else the URI
    /// of the lab's primary host ([`Self::host`]); `None` when it names
    /// neither.
    pub fn uri_in_file(&self) -> Option<&str> {
        self.libvirt_uri
            .as_deref()
            .or_else(|| self.host().map(|h| h.uri.as_str()))
    }

    /// The lab's primary host: that of the first node in file order;
    /// `None` without `hosts`. Its libvirt network serves DHCP, DNS and
    /// NAT for every node, and its sshd is the way to every guest.
    pub fn host(&self) -> Option<&Host> {
        self.nodes.first().and_then(|n| self.host_of(n))
    }

    /// The hosts the nodes run on, primary first, each once, in the
    /// order of their first node; empty without `hosts`.
    pub fn used_hosts(&self) -> Vec<&Host> {
        let mut out: Vec<&Host> = Vec::new();
        for h in self.nodes.iter().filter_map(|n| self.host_of(n)) {
            if !out.iter().any(|o| o.name == h.name) {
                out.push(h);
            }
        }
        out
    }

    /// Whether the nodes are on more than one host (the lab's network
    /// then spans them over VXLAN).
    pub fn multi_host(&self) -> bool {
        self.used_hosts().len() > 1
    }

    /// The host `node` runs on; `None` without `hosts`.
    pub fn host_of(&self, node: &Node) -> Option<&Host> {
        let name = node.host.as_deref()?;
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// `link`'s URL with each `{NODE}` placeholder replaced by that node's
    /// IP address.
    pub fn link_url(&self, link: &Link) -> String {
        super::links::expand(&link.url, |name| self.node(name).map(|n| n.ip.to_string()))
    }

    /// The nodes that carry role `role`, in file order.
    pub fn nodes_with_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes
            .iter()
            .filter(move |n| n.roles.iter().any(|r| r == role))
    }
}

/// Hardware acceleration for QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// KVM when `/dev/kvm` is usable, else TCG.
    #[default]
    Auto,
    /// KVM only; fail when it is not available.
    Kvm,
    /// Software emulation (slow, works everywhere).
    Tcg,
}

impl Accel {
    pub const NAMES: [&'static str; 3] = ["auto", "kvm", "tcg"];

    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Auto => "auto",
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }

    pub fn from_name(name: &str) -> Option<Accel> {
        match name {
            "auto" => Some(Accel::Auto),
            "kvm" => Some(Accel::Kvm),
            "tcg" => Some(Accel::Tcg),
            _ => None,
        }
    }
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lab's private network.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// The subnet, host bits zero.
    pub subnet: Ipv4Net,
    /// First host address of the subnet: the host's side of the network.
    pub gateway: Ipv4Addr,
    pub domain: Option<String>,
}

/// A libvirt host of the lab file's `hosts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Its key in `hosts` (a DNS label).
    pub name: String,
    /// Its libvirt URI (<https://libvirt.org/uri.html>), as written.
    pub uri: String,
    /// The login `lab` goes through to reach the guests' SSH (OpenSSH's
    /// ProxyJump): `ssh`, else the user and server of a `qemu+ssh://`
    /// URI; `None` for this machine.
    pub ssh: Option<SshLogin>,
    /// `address`: its end of the VXLAN tunnels of a lab over several
    /// hosts; `None`: found when the tunnels are made.
    pub address: Option<Ipv4Addr>,
}

/// `USER@ADDRESS` for OpenSSH: a login name and a DNS name or IPv4
/// address, both plain words (no option, quote or space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshLogin {
    pub user: String,
    pub address: String,
}

impl std::fmt::Display for SshLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.user, self.address)
    }
}

/// Guest HTTP proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    pub host: ProxyHost,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProxyHost {
    /// The word `gateway`: the lab network's gateway address.
    Gateway,
    /// An IPv4 address or a DNS name, as written.
    Name(String),
}

impl Proxy {
    /// The proxy URL with `gateway` replaced by the gateway's address.
    pub fn url_for(&self, gateway: Ipv4Addr) -> String {
        match &self.host {
            ProxyHost::Gateway => format!("http://{gateway}:{}", self.port),
            ProxyHost::Name(name) => format!("http://{name}:{}", self.port),
        }
    }
}

/// One VM, with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub ip: Ipv4Addr,
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
    pub box_name: String,
    pub roles: Vec<String>,
    /// The name of its host in [`Lab::hosts`]; `None` when the lab has
    /// no `hosts`.
    pub host: Option<String>,
}

/// What runs once the VMs are up.
#[derive(Debug, Clone, PartialEq)]
pub enum Provision {
    Ansible(Ansible),
    Shell(Shell),
}

/// Which provisioner a lab uses (`provision.type`); serialised as `shell`
/// or `ansible` (`--json` outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvisionerKind {
    Shell,
    Ansible,
}

impl std::fmt::Display for ProvisionerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProvisionerKind::Shell => "shell",
            ProvisionerKind::Ansible => "ansible",
        })
    }
}

impl Provision {
    /// Its [`ProvisionerKind`].
    pub fn kind(&self) -> ProvisionerKind {
        match self {
            Provision::Ansible(_) => ProvisionerKind::Ansible,
            Provision::Shell(_) => ProvisionerKind::Shell,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ansible {
    pub controller: Controller,
    /// Relative to [`Lab::dir`].
    pub playbook: PathBuf,
    pub extra_vars: serde_json::Map<String, serde_json::Value>,
    /// Rootfs boxes built on the host and uploaded to the controller.
    pub images: Vec<String>,
    /// Run with Mitogen for Ansible when it is found (`mitogen:`, default
    /// true): see `provision::mitogen`.
    pub mitogen: bool,
}

/// Where Ansible runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Controller {
    /// On the host running `lab`.
    Host,
    /// On the node of this name.
    Node(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shell {
    pub scripts: Vec<ScriptStep>,
}

/// One shell step.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptStep {
    /// Node and role names, as written.
    pub on: Vec<String>,
    pub source: ScriptSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScriptSource {
    /// A script file, relative to [`Lab::dir`].
    File(PathBuf),
    /// Script text.
    Inline(String),
}

impl ScriptStep {
    /// The node names this step runs on: `on` with roles expanded, in lab
    /// order, each once.
    pub fn targets<'a>(&'a self, lab: &'a Lab) -> Vec<&'a Node> {
        lab.nodes
            .iter()
            .filter(|n| self.on.iter().any(|o| *o == n.name || n.roles.contains(o)))
            .collect()
    }
}

/// A command that must succeed on a node for the lab to count as working.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    /// A node name.
    pub on: String,
    /// What runs; exit status 0 passes.
    pub run: CheckRun,
    /// Further tries after a failure.
    pub retries: u32,
    /// Pause between tries.
    pub interval: std::time::Duration,
}

/// What a check runs on its node, as root, with bash.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckRun {
    /// `run:`, a shell command.
    Command(String),
    /// `script:` (a file of the lab directory, relative to it) with
    /// `args:`: its text is read on this machine at every try and fed to
    /// `bash -s -- ARGS` on the node, so it need not be on the node.
    Script { path: PathBuf, args: Vec<String> },
}

impl From<&str> for CheckRun {
    fn from(command: &str) -> Self {
        CheckRun::Command(command.to_owned())
    }
}

impl std::fmt::Display for CheckRun {
    /// The command, or `script PATH ARGS…` (arguments shell-quoted).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckRun::Command(c) => f.write_str(c),
            CheckRun::Script { path, args } if args.is_empty() => {
                write!(f, "script {}", path.display())
            }
            CheckRun::Script { path, args } => {
                let args = crate::process::shell_join(args);
                write!(f, "script {} {args}", path.display())
            }
        }
    }
}

/// A node's TCP port made reachable on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// A node name.
    pub node: String,
    pub guest: u16,
    pub host: u16,
    /// Host address to listen on.
    pub address: Ipv4Addr,
}

/// A place to look once the lab is up.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub name: String,
    /// As written: `{NODE}` placeholders (each naming a node) are replaced
    /// by [`Lab::link_url`].
    pub url: String,
    /// A node name; always set when `when` is.
    pub on: Option<String>,
    /// Shell command that must exit 0 on `on` for the link to be shown.
    pub when: Option<String>,
}
