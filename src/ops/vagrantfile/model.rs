//! What the recorder (`recorder.rb`) prints: the settings of a Vagrantfile
//! as JSON, read with serde. Shapes follow Vagrant's configuration API
//! (version 2): `config.vm.*` settings, `network`, `provider`, `provision`
//! and `synced_folder` calls, each with the Vagrantfile's line; whatever
//! else the Vagrantfile set is in `other`. Values a Vagrantfile may give
//! in several types (`memory = "1024"` or `1024`) stay JSON values here.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The recorder's whole answer: the settings, or the Ruby error that
/// stopped the Vagrantfile.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Recorded {
    Failed { error: RubyError },
    Settings(Vagrantfile),
}

/// An error raised while the Vagrantfile ran.
#[derive(Debug, Clone, Deserialize)]
pub struct RubyError {
    /// `syntax` (it did not parse), `exit` (it called `exit`/`abort`) or
    /// `exception` (anything raised while it ran).
    pub kind: String,
    /// The Vagrantfile's line, when the error happened in it.
    pub line: Option<u64>,
    /// Ruby's message (for `exit`, the `abort` text or `exit`).
    pub message: String,
    /// The exception's class, e.g. `NameError`.
    #[serde(default)]
    pub class: Option<String>,
}

/// A Vagrantfile's settings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Vagrantfile {
    /// Whether `Vagrant.configure` was called at all.
    pub configured: bool,
    /// What the `Vagrant.configure` block set outside `define`: it applies
    /// to every machine.
    pub global: Config,
    /// `config.vm.define` machines, in definition order.
    pub machines: Vec<Machine>,
}

/// One `config.vm.define NAME [, OPTIONS] do |m| ... end`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Machine {
    pub name: String,
    pub line: Option<u64>,
    /// `primary:`, `autostart:`.
    #[serde(default)]
    pub options: Map<String, Value>,
    pub config: Config,
}

/// The settings of one configuration block (the global one or a machine's).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    /// `config.vm.box`, `config.vm.hostname`.
    #[serde(default)]
    pub settings: VmSettings,
    #[serde(default)]
    pub networks: Vec<Network>,
    #[serde(default)]
    pub providers: Vec<Provider>,
    #[serde(default)]
    pub provisioners: Vec<Provisioner>,
    #[serde(default)]
    pub synced_folders: Vec<SyncedFolder>,
    /// Everything else set or called, e.g. `config.vm.box_version`,
    /// `config.ssh.insert_key`, a plugin's `config.hostmanager.enabled`.
    #[serde(default)]
    pub other: Vec<Other>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VmSettings {
    #[serde(rename = "box")]
    pub box_name: Option<Value>,
    pub hostname: Option<Value>,
}

/// `config.vm.network TYPE, OPTIONS`: `private_network` (`ip:`, `type:
/// "dhcp"`), `forwarded_port` (`guest:`, `host:`, `host_ip:`,
/// `protocol:`), `public_network`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Network {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub options: Map<String, Value>,
    pub line: Option<u64>,
}

/// `config.vm.provider NAME do |p| ... end`: its settings (`p.memory =`)
/// and calls (`p.customize [...]`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Provider {
    pub name: String,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub calls: Vec<Call>,
    pub line: Option<u64>,
}

/// A method called with arguments inside a block, e.g. `vb.customize`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Call {
    pub name: String,
    #[serde(default)]
    pub args: Vec<Value>,
    pub line: Option<u64>,
}

/// `config.vm.provision NAME [, type: TYPE] [, OPTIONS] [do |p| ... end]`:
/// the options given and the ones set in the block, together.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Provisioner {
    /// `shell`, `ansible`, `ansible_local`, `file`, ...
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub options: Map<String, Value>,
    pub line: Option<u64>,
}

/// `config.vm.synced_folder HOST, GUEST, OPTIONS`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SyncedFolder {
    #[serde(default)]
    pub args: Vec<Value>,
    #[serde(default)]
    pub options: Map<String, Value>,
    pub line: Option<u64>,
}

/// A setting or call the recorder knows nothing about.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Other {
    /// As written, e.g. `config.vm.box_check_update`.
    pub what: String,
    pub line: Option<u64>,
}

/// A JSON value as text: strings without quotes, integers as written.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A JSON value as an integer: a number, or a string of digits (Vagrant
/// takes `memory = "1024"` as well as `1024`).
pub fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
