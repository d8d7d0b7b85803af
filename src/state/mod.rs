//! The per-lab state directory (`.lab/` beside the lab file, like
//! `.vagrant/`): file names as constants, atomic writes, an exclusive lock.
//!
//! Every resource `lab up` creates is written to `state.json` BEFORE it is
//! created, so after Ctrl-C or `kill -9` the next `lab up` resumes and
//! `lab destroy` finds everything.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

mod check;
mod snapshot;

pub use snapshot::{Restored, SnapshotNode, SnapshotRecord, SnapshotStatus, now_rfc3339};

/// Name of the state directory beside the lab file.
pub const STATE_DIR: &str = ".lab";
/// Exclusive lock held by every command that changes the lab.
pub const LOCK_FILE: &str = "lock";
/// How long taking the lock is retried before the lab counts as busy.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(500);
/// Recorded resources and node facts.
pub const STATE_FILE: &str = "state.json";
/// The lab's SSH private key (public key beside it, `.pub`).
pub const SSH_KEY_FILE: &str = "id_ed25519";
/// Pinned guest host keys.
pub const KNOWN_HOSTS_FILE: &str = "known_hosts";
/// Serial console logs, one per node: `console/NODE.log`.
pub const CONSOLE_DIR: &str = "console";
/// Seeds are written here before being uploaded to the pool.
pub const SEED_DIR: &str = "seeds";
/// Generated passwords and keys of the lab's services (0600).
pub const SECRETS_FILE: &str = "secrets.json";
/// Key pair the nodes use among themselves (Ansible controller → nodes).
pub const INTERNAL_KEY_FILE: &str = "internal_ed25519";
/// Output of the last provisioning run.
pub const PROVISION_LOG: &str = "provision.log";
/// Inventory and variables when Ansible runs on the host.
pub const ANSIBLE_DIR: &str = "ansible";
/// Output of the lab's forwarders (`forwards:`).
pub const FORWARDS_LOG: &str = "forwards.log";

/// The newest format of `state.json` this `lab` reads and writes. 1:
/// before formats were numbered (no `format`, `instance` or `file`); 2:
/// adds them; 3: a lab over several hosts (`hosts`, `vni`), which a lab
/// reading only format 2 would not know to remove from the other hosts.
/// A state is written in the oldest format that holds it
/// ([`State::format_needed`]), so older labs keep reading one-host labs.
pub const STATE_FORMAT: u32 = 3;
/// The format of a state with nothing of format 3 in it.
pub const BASE_FORMAT: u32 = 2;

/// What `lab up` has created (or is about to create) for a lab.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// [`STATE_FORMAT`] when written; 1 when the file has no `format`.
    #[serde(default = "legacy_format")]
    pub format: u32,
    pub lab: String,
    /// Random id of this lab instance (12 hex digits), chosen at its first
    /// `lab up` and written into the metadata of every libvirt object it
    /// makes: a lab of the same name elsewhere cannot pass for it. Empty
    /// until then, and in states of format 1.
    #[serde(default)]
    pub instance: String,
    /// Absolute path of the lab file this state belongs to (tells a moved
    /// lab from a copied one).
    #[serde(default)]
    pub file: String,
    /// libvirt URI the resources live on.
    pub uri: String,
    /// Storage pool holding the volumes.
    pub pool: String,
    /// libvirt network name, once recorded.
    pub network: Option<String>,
    /// Accelerator picked at the first `lab up` and why.
    pub accel: Option<crate::backend::Accel>,
    pub accel_reason: Option<String>,
    pub nodes: BTreeMap<String, NodeState>,
    /// Forwarder processes of `forwards:`, each recorded before it listens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<ForwardState>,
    /// Whole-lab snapshots (`lab snapshot save`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<SnapshotRecord>,
    /// The last `lab snapshot restore`, until the lab is destroyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<Restored>,
    /// The hosts of a lab over several hosts, by their name in the lab
    /// file, with what `lab up` made (or is about to make) on each;
    /// empty for a lab on one host (`uri` and `network` say it all).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, HostState>,
    /// The VXLAN network identifier joining the hosts' bridges (24 bits,
    /// [`crate::network::vxlan::vni_for`] of the lab name, recorded at the
    /// first `lab up`); `None` for a lab on one host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
}

/// What a lab over several hosts made on one of them, recorded before
/// it is made, so `lab destroy` finds it from the state alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostState {
    /// Its libvirt URI.
    pub uri: String,
    /// `USER@ADDRESS` `lab` runs `ip` and `bridge` on it through
    /// (`ssh USER@ADDRESS -- ip ...`); `None`: this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<String>,
    /// The primary host: its network serves DHCP, DNS and NAT.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary: bool,
    /// The lab's libvirt network there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The VXLAN device there (at most 15 characters), enslaved to the
    /// lab's bridge; not a libvirt object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan: Option<String>,
}

fn legacy_format() -> u32 {
    1
}

impl State {
    /// The format this state is written in: [`STATE_FORMAT`] when it
    /// records several hosts, else [`BASE_FORMAT`].
    pub fn format_needed(&self) -> u32 {
        if self.hosts.is_empty() && self.vni.is_none() {
            BASE_FORMAT
        } else {
            STATE_FORMAT
        }
    }
}

impl Default for State {
    /// The state of a lab never brought up: current format, nothing recorded.
    fn default() -> Self {
        State {
            format: BASE_FORMAT,
            lab: String::new(),
            instance: String::new(),
            file: String::new(),
            uri: String::new(),
            pool: String::new(),
            network: None,
            accel: None,
            accel_reason: None,
            nodes: BTreeMap::new(),
            forwards: Vec::new(),
            snapshots: Vec::new(),
            restored: None,
            hosts: BTreeMap::new(),
            vni: None,
        }
    }
}

impl State {
    /// A fresh random instance id (12 hex digits).
    pub fn new_instance_id() -> String {
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes).expect("the OS random source works");
        hex::encode(bytes)
    }

    /// The `USER@ADDRESS` the lab's nodes are reached through (their
    /// [`NodeState::jump`]: the primary host's, the same for every node,
    /// so the first one found); `None` when they are reached directly.
    pub fn jump(&self) -> Option<&str> {
        self.nodes.values().find_map(|n| n.jump.as_deref())
    }
}

/// One running (or recorded) forwarder: `lab __forward --listen LISTEN --to TO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ForwardState {
    /// The node it forwards to.
    pub node: String,
    /// `ADDR:PORT` it listens on.
    pub listen: String,
    /// `IP:PORT` of the node.
    pub to: String,
    pub pid: u32,
}

/// One node's recorded resources and facts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NodeState {
    pub domain: String,
    pub ip: String,
    pub mac: String,
    pub user: String,
    pub box_name: String,
    /// `USER@ADDRESS` of the sshd on the node's host that `lab` reaches
    /// the node through (OpenSSH's ProxyJump), when the host is another
    /// machine; absent otherwise, and in states written before it
    /// existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
    /// The name (in the lab file's `hosts`) of the host the node runs
    /// on; absent for a lab without `hosts` and in older states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `USER@ADDRESS` of the node's own host when that is another
    /// machine: its console log is read there. Absent when it is the
    /// jump's (older states) or this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ssh: Option<String>,
    /// Volumes in the pool that belong to this node (overlay, seed).
    pub volumes: Vec<String>,
    /// Set once the node was seen ready (SSH + cloud-init) and its host key
    /// pinned.
    pub ready: bool,
    /// The guest's SSH host key (`TYPE BASE64`), pinned in known_hosts.
    pub host_key: Option<String>,
    /// Seconds from start to running, and to SSH-ready, at the last boot.
    pub boot_seconds: Option<f64>,
    pub ready_seconds: Option<f64>,
    /// Set when the node's disk is created and when a provisioning run
    /// that includes the node starts; cleared when such a run succeeds.
    /// While set, `lab up` (re)runs the provisioning, so an interrupted or
    /// failed one is resumed, not taken for done. Absent (false) in states
    /// written before it existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provision_pending: bool,
    /// Set before the node is resumed from a pause or a snapshot (its
    /// clock then lags the host's) and cleared once its clock was set:
    /// a command killed in between leaves it for the next one to do.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clock_stale: bool,
}

/// An opened state directory.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
}

/// The lock; released when dropped.
#[derive(Debug)]
pub struct LabLock {
    _file: File,
}

impl StateDir {
    /// The state directory of the lab whose file lives in `lab_dir`.
    /// The path is made absolute: libvirt and ssh get paths from it.
    pub fn for_lab_dir(lab_dir: &Path) -> Self {
        let dir = lab_dir.join(STATE_DIR);
        StateDir {
            dir: std::path::absolute(&dir).unwrap_or(dir),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn exists(&self) -> bool {
        self.dir.join(STATE_FILE).exists()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn ssh_key(&self) -> PathBuf {
        self.file(SSH_KEY_FILE)
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.file(KNOWN_HOSTS_FILE)
    }

    pub fn console_log(&self, node: &str) -> PathBuf {
        self.dir.join(CONSOLE_DIR).join(format!("{node}.log"))
    }

    pub fn seed_path(&self, node: &str) -> PathBuf {
        self.dir.join(SEED_DIR).join(format!("{node}.img"))
    }

    /// Create the directory and its `console/` and `seeds/` (mode 0700
    /// each, whatever the umask: it holds keys and secrets).
    pub fn create(&self) -> Result<()> {
        // virtlogd writes console logs in console/; QEMU never opens it.
        for d in [
            self.dir.clone(),
            self.dir.join(CONSOLE_DIR),
            self.dir.join(SEED_DIR),
        ] {
            crate::files::private_dir(&d)?;
        }
        Ok(())
    }

    /// Take the exclusive lock, or say who holds it. Makes the directory
    /// itself when missing (not its subdirectories: [`Self::create`]).
    pub fn lock(&self, lab: &str) -> Result<LabLock> {
        crate::files::private_dir(&self.dir)?;
        let path = self.file(LOCK_FILE);
        let mut file = crate::files::open(
            &path,
            crate::files::PRIVATE_FILE,
            crate::files::Content::Keep,
        )?;
        // A lock just released can still be held for a moment by a child
        // process forked elsewhere in this process (it inherits the open
        // file until it execs): retry briefly before calling the lab busy.
        let deadline = std::time::Instant::now() + LOCK_GRACE;
        let mut attempt = file.try_lock();
        while matches!(attempt, Err(std::fs::TryLockError::WouldBlock))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
            attempt = file.try_lock();
        }
        match attempt {
            Ok(()) => {
                file.set_len(0)?;
                writeln!(file, "{}", std::process::id())?;
                Ok(LabLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                // From the file opened above, not by path again.
                let holder = crate::limits::read_capped(&file, 64).unwrap_or_default();
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                bail!(
                    "lab {lab} is busy: another lab command{who} is working on it; wait for it to finish"
                )
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    /// Read `state.json`; a fresh default when there is none. A state of
    /// an older format is read as is (the caller upgrades it, see
    /// [`State::format`]); one of a newer format is an error, found before
    /// the rest is parsed (a newer lab may have changed any field). Also
    /// refused: a file others may change (or not this user's, or not a
    /// regular file), and values `lab` never writes (a state edited by
    /// hand is input too: see `check`).
    pub fn load(&self) -> Result<State> {
        let path = self.file(STATE_FILE);
        if !crate::files::check_private(
            &path,
            0o022,
            "the lab's state",
            "compare the nodes, addresses and host keys it records with `virsh list --all` and `virsh domifaddr` before you do",
        )? {
            return Ok(State::default());
        }
        let text = match crate::limits::read_to_string(&path, crate::limits::OWN_JSON_FILE) {
            Ok(text) => text,
            Err(e) if e.is_not_found() => return Ok(State::default()),
            Err(e) => return Err(e.into()),
        };
        let damaged = || {
            format!(
                "{} is damaged; remove it only after `virsh list --all` shows nothing of this lab",
                path.display()
            )
        };
        /// Only the format: any state has it (or none, format 1).
        #[derive(Deserialize)]
        struct Format {
            #[serde(default = "legacy_format")]
            format: u32,
        }
        let format = serde_json::from_str::<Format>(&text)
            .with_context(damaged)?
            .format;
        if format > STATE_FORMAT {
            bail!(
                "{} was written by a newer lab (state format {format}; this lab reads formats up to {STATE_FORMAT}); use that version of lab, or upgrade this one",
                path.display(),
            );
        }
        let st: State = serde_json::from_str(&text).with_context(damaged)?;
        if let Some(bad) = check::first_bad(&st) {
            bail!(
                "{}: {bad}; lab never writes such a value, so the file was changed by hand: put back the value lab wrote",
                path.display()
            );
        }
        Ok(st)
    }

    /// Write `state.json` atomically.
    pub fn save(&self, state: &State) -> Result<()> {
        let mut state = std::borrow::Cow::Borrowed(state);
        if state.format != state.format_needed() {
            state.to_mut().format = state.format_needed();
        }
        let text = serde_json::to_string_pretty(&*state).expect("state serialises") + "\n";
        write_atomic(&self.file(STATE_FILE), text.as_bytes(), 0o600)
    }

    /// Remove the whole directory (after `lab destroy`).
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", self.dir.display())),
        }
    }
}

/// Write a file atomically with an explicit mode: [`crate::files::write_atomic`].
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    Ok(crate::files::write_atomic(path, data, mode)?)
}

#[cfg(test)]
mod tests;
