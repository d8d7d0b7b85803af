//! The lab file as written: raw types that mirror `lab.yaml` key for key,
//! each value with its [`Span`]. [`super::decode`] fills them from the YAML
//! tree (reporting type errors and unknown keys); [`super::validate`] turns
//! them into the checked model. Every field is an `Option` so that a file
//! with errors still yields a partial value whose other fields get checked;
//! `#[schemars(required)]` marks what the file must contain. These types are
//! also the source of the JSON schema printed by `lab schema`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};

use super::model::Accel;
use super::yaml::Span;

/// A value and the span of the YAML node it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
    /// Its position in the list it was read from (0 outside a list): a
    /// list keeps only the items that decoded, so messages about item
    /// `field[i]` take `i` from here, never from counting what was kept.
    pub index: usize,
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A lab: named VMs on one private network, built from one box.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "lab.yaml")]
pub struct RawLab {
    /// Lab name: a DNS label (lowercase letters, digits and '-', 1-63 characters).
    #[schemars(required)]
    pub name: Option<Sp<String>>,
    /// Default box (base image) for the nodes, e.g. `debian-12`.
    #[serde(rename = "box")]
    #[schemars(required)]
    pub box_name: Option<Sp<String>>,
    /// Hardware acceleration: `auto` (KVM when available, default), `kvm` or `tcg`.
    pub accel: Option<Sp<Accel>>,
    /// libvirt connection URI, e.g. `qemu:///system` (LAB_LIBVIRT_URI overrides it).
    /// Not together with `hosts`.
    pub libvirt_uri: Option<Sp<String>>,
    /// The libvirt hosts the nodes run on, by name; without it the lab runs
    /// on this machine (or `libvirt_uri`). Nodes may be on several hosts:
    /// the first node's host is the lab's primary (its network serves
    /// DHCP, DNS and NAT for all, its sshd reaches every guest), and the
    /// hosts' bridges are joined by VXLAN.
    pub hosts: Option<Sp<HostMap>>,
    /// The lab's private network.
    #[schemars(required)]
    pub network: Option<Sp<RawNetwork>>,
    /// HTTP proxy for the guests' package manager: `http://HOST:PORT`;
    /// HOST may be `gateway`, the lab network's gateway address.
    pub proxy: Option<Sp<String>>,
    /// Defaults for every node.
    pub defaults: Option<Sp<RawDefaults>>,
    /// The VMs, by name, in the order they are created.
    #[schemars(required)]
    pub nodes: Option<Sp<NodeMap>>,
    /// What runs once the VMs answer on SSH.
    pub provision: Option<Sp<RawProvision>>,
    /// Checks `lab verify` runs (and `lab up` after provisioning), in order.
    pub checks: Option<Sp<Vec<Sp<RawCheck>>>>,
    /// TCP ports of nodes to make reachable from the host.
    pub forwards: Option<Sp<Vec<Sp<RawForward>>>>,
    /// Where to look once the lab is up, printed by `lab up` and `lab info`.
    pub links: Option<Sp<Vec<Sp<RawLink>>>>,
    /// Names of the secrets to generate for the provisioner (32 random
    /// letters and digits each, kept in `.lab/secrets.json`, given to
    /// Ansible as `lab_secrets.NAME`): lower-case letters, digits and `_`,
    /// starting with a letter, at most 64 characters, each once, at most
    /// 100. Without this key, a lab gets the flagship lab's set
    /// (`db_root_password`, `django_secret_key`, ...); `secrets: []` means
    /// none.
    pub secrets: Option<Sp<Vec<Sp<String>>>>,
}

/// The lab's private network.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Network")]
pub struct RawNetwork {
    /// IPv4 subnet in CIDR form, prefix length 16 to 29, e.g. `10.77.10.0/24`.
    /// Its first host address is the gateway (the host side).
    #[schemars(required)]
    pub subnet: Option<Sp<String>>,
    /// DNS domain for the node names, e.g. `smoke.lab`.
    pub domain: Option<Sp<String>>,
}

/// Sizes used by nodes that do not set their own.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Defaults")]
pub struct RawDefaults {
    /// Virtual CPUs, 1 to 16 (default 1).
    #[schemars(range(min = 1, max = 16))]
    pub cpus: Option<Sp<i64>>,
    /// Memory in MiB, 256 to 65536 (default 1024).
    #[schemars(range(min = 256, max = 65536))]
    pub memory: Option<Sp<i64>>,
    /// Disk size in GiB, 2 to 1024 (default 10).
    #[schemars(range(min = 2, max = 1024))]
    pub disk: Option<Sp<i64>>,
}

/// Nodes by name, in file order.
#[derive(Debug, Clone, Default)]
pub struct NodeMap(pub Vec<(Sp<String>, RawNode)>);

impl JsonSchema for NodeMap {
    fn schema_name() -> Cow<'static, str> {
        "Nodes".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "The VMs by name (DNS labels), in the order they are created.",
            "minProperties": 1,
            "propertyNames": { "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" },
            "additionalProperties": generator.subschema_for::<RawNode>(),
        })
    }
}

/// Hosts by name, in file order.
#[derive(Debug, Clone, Default)]
pub struct HostMap(pub Vec<(Sp<String>, RawHost)>);

impl JsonSchema for HostMap {
    fn schema_name() -> Cow<'static, str> {
        "Hosts".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "The libvirt hosts by name (DNS labels), each named by nodes' `host`.",
            "minProperties": 1,
            "propertyNames": { "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" },
            "additionalProperties": generator.subschema_for::<RawHost>(),
        })
    }
}

/// One libvirt host: where its VMs are defined, and how `lab` reaches
/// their SSH through it.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Host")]
pub struct RawHost {
    /// libvirt connection URI (<https://libvirt.org/uri.html>) of a QEMU
    /// driver: `qemu:///system` (this machine) or
    /// `qemu+ssh://USER@SERVER/system` (LAB_LIBVIRT_URI overrides it).
    #[schemars(required)]
    pub uri: Option<Sp<String>>,
    /// `USER@ADDRESS` whose sshd `lab` goes through to reach the guests
    /// (OpenSSH's ProxyJump, with the user's own ssh config for it).
    /// Default: the user and server of a `qemu+ssh://` URI; required for
    /// other remote URIs; none for this machine.
    pub ssh: Option<Sp<String>>,
    /// The host's IPv4 address on the link to the other hosts: the
    /// local end of its VXLAN tunnels when the lab's nodes are on several
    /// hosts. Default: the `ssh` address as the other hosts resolve it
    /// (`getent ahostsv4`), or for this machine the source address of its
    /// route to them.
    pub address: Option<Sp<String>>,
}

/// One VM.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Node")]
pub struct RawNode {
    /// IPv4 address inside the lab subnet (not the network, gateway or broadcast address).
    #[schemars(required)]
    pub ip: Option<Sp<String>>,
    /// Virtual CPUs, 1 to 16.
    #[schemars(range(min = 1, max = 16))]
    pub cpus: Option<Sp<i64>>,
    /// Memory in MiB, 256 to 65536.
    #[schemars(range(min = 256, max = 65536))]
    pub memory: Option<Sp<i64>>,
    /// Disk size in GiB, 2 to 1024.
    #[schemars(range(min = 2, max = 1024))]
    pub disk: Option<Sp<i64>>,
    /// Box for this node instead of the lab's.
    #[serde(rename = "box")]
    pub box_name: Option<Sp<String>>,
    /// Group names for inventories and `provision.scripts[].on`.
    pub roles: Option<Vec<Sp<String>>>,
    /// The host (a key of `hosts`) the node runs on; default: the only
    /// host.
    pub host: Option<Sp<String>>,
}

/// Provisioning, chosen by `type`.
#[derive(Debug, Clone, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
#[schemars(rename = "Provision")]
pub enum RawProvision {
    /// Run an Ansible playbook from a controller.
    Ansible(RawAnsible),
    /// Run shell scripts on nodes, in order.
    Shell(RawShell),
}

/// `type: ansible`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Ansible")]
pub struct RawAnsible {
    /// Where Ansible runs: a node name or `host` (default `control1`).
    pub controller: Option<Sp<String>>,
    /// Playbook path, relative to the lab directory.
    #[schemars(required)]
    pub playbook: Option<Sp<String>>,
    /// Extra variables passed to the playbook.
    pub extra_vars: Option<Sp<serde_json::Map<String, serde_json::Value>>>,
    /// Boxes of `format: rootfs` (root filesystem tarballs for `docker
    /// import`) that `lab` builds natively on the host and uploads to the
    /// controller; the playbook finds them in the `lab_images` variable.
    pub images: Option<Sp<Vec<Sp<String>>>>,
    /// Run the playbook with Mitogen for Ansible when `lab` finds it
    /// (default `true`; `false` runs Ansible's own linear strategy).
    pub mitogen: Option<Sp<bool>>,
}

/// `type: shell`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Shell")]
pub struct RawShell {
    /// Steps, run in order.
    #[schemars(required)]
    pub scripts: Option<Sp<Vec<Sp<RawStep>>>>,
}

/// One shell step: `script` or `inline` (exactly one), run on `on`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ScriptStep")]
pub struct RawStep {
    /// Node names or role names to run on.
    #[schemars(required)]
    pub on: Option<Sp<Vec<Sp<String>>>>,
    /// Script path, relative to the lab directory.
    pub script: Option<Sp<String>>,
    /// Script text.
    pub inline: Option<Sp<String>>,
}

/// One check: a shell command (`run`), or a script of the lab directory
/// (`script`, with `args`), that must exit 0 on a node; exactly one of
/// `run` and `script`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Check")]
pub struct RawCheck {
    /// What the check proves, shown in `lab verify`'s output; unique.
    #[schemars(required)]
    pub name: Option<Sp<String>>,
    /// The node it runs on (a node name, not a role).
    #[schemars(required)]
    pub on: Option<Sp<String>>,
    /// Shell command, run as root with bash; exit status 0 means pass.
    /// Give `run` or `script`, not both.
    pub run: Option<Sp<String>>,
    /// A script of the lab directory (a path relative to it), run as root
    /// with bash on the node: its text is sent at every try, so it need
    /// not be on the node. Give `run` or `script`, not both.
    pub script: Option<Sp<String>>,
    /// Arguments of `script` (`$1`, `$2`, ...).
    pub args: Option<Sp<Vec<Sp<String>>>>,
    /// How many more times to try after a failure, 0 to 1000 (default 0).
    #[schemars(range(min = 0, max = 1000))]
    pub retries: Option<Sp<i64>>,
    /// Seconds between tries, 1 to 3600 (default 3).
    #[schemars(range(min = 1, max = 3600))]
    pub interval: Option<Sp<i64>>,
}

/// A TCP port of a node, reachable on the host.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Forward")]
pub struct RawForward {
    /// The node whose port is forwarded.
    #[schemars(required)]
    pub node: Option<Sp<String>>,
    /// Port on the node, 1 to 65535.
    #[schemars(required, range(min = 1, max = 65535))]
    pub guest: Option<Sp<i64>>,
    /// Port on the host, 1 to 65535; each host port once.
    #[schemars(required, range(min = 1, max = 65535))]
    pub host: Option<Sp<i64>>,
    /// Host address to listen on, an IPv4 address (default 127.0.0.1).
    pub address: Option<Sp<String>>,
}

/// A place to look once the lab is up (a web page, a dashboard), printed by
/// `lab up` and `lab info`. Never put secrets in it: name the command that
/// prints them instead, e.g. `password: lab secrets NAME`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Link")]
pub struct RawLink {
    /// What the link shows, e.g. `HAProxy stats`; unique.
    #[schemars(required)]
    pub name: Option<Sp<String>>,
    /// The address; `{NODE}` is replaced by that node's IP address, e.g.
    /// `http://{control2}:8404/stats`.
    #[schemars(required)]
    pub url: Option<Sp<String>>,
    /// The node `when` runs on (a node name, not a role).
    pub on: Option<Sp<String>>,
    /// Shell command run as root on `on` (needs `on`); the link is shown
    /// only when it exits 0, else the last line of its output says why not.
    pub when: Option<Sp<String>>,
}

/// The keys each raw struct accepts, as `lab.yaml` spells them; the decoder
/// uses these, and a test checks them against the schema.
pub(crate) mod keys {
    pub const LAB: &[&str] = &[
        "name",
        "box",
        "accel",
        "libvirt_uri",
        "hosts",
        "network",
        "proxy",
        "defaults",
        "nodes",
        "provision",
        "checks",
        "forwards",
        "links",
        "secrets",
    ];
    pub const NETWORK: &[&str] = &["subnet", "domain"];
    pub const DEFAULTS: &[&str] = &["cpus", "memory", "disk"];
    pub const HOST: &[&str] = &["uri", "ssh", "address"];
    pub const NODE: &[&str] = &["ip", "cpus", "memory", "disk", "box", "roles", "host"];
    pub const ANSIBLE: &[&str] = &["controller", "playbook", "extra_vars", "images", "mitogen"];
    pub const SHELL: &[&str] = &["scripts"];
    pub const STEP: &[&str] = &["on", "script", "inline"];
    pub const CHECK: &[&str] = &["name", "on", "run", "script", "args", "retries", "interval"];
    pub const FORWARD: &[&str] = &["node", "guest", "host", "address"];
    pub const LINK: &[&str] = &["name", "url", "on", "when"];
}

/// The JSON schema of the lab file.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawLab)).expect("a schema is plain JSON")
}
