//! The hypervisor seam: a small [`Hypervisor`] trait covering what a lab's
//! lifecycle needs from libvirt (one network, a few domains, volumes in a
//! storage pool), the plain-data specs handed to it, and [`BackendError`].
//!
//! [`libvirt::Libvirt`] implements it with the `virt` crate;
//! [`fake::FakeHypervisor`] implements it in memory for workflow tests.
//! XML is built by the pure functions in [`xml`]; `accel: auto` is decided
//! by [`accel::detect`].

pub mod accel;
mod error;
pub mod fake;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod libvirt;
mod parse;
mod unreachable;
pub mod xml;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

pub use accel::Accel;
pub use error::{BackendError, DENIED_FIX, Kind, NO_ANSWER_FIX, UNREACHABLE_FIX};
pub use unreachable::Unreachable;

/// XML namespace of the metadata element `lab` puts on what it defines.
pub const METADATA_NS: &str = "https://lab.dev/ns/lab";
/// Prefix used for [`METADATA_NS`] in the XML.
pub const METADATA_PREFIX: &str = "lab";

pub type Result<T, E = BackendError> = std::result::Result<T, E>;

/// Whether a network (or storage pool) is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Active,
    Inactive,
}

/// The state of a domain, reduced to what the workflows act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainState {
    Running,
    Paused,
    ShutOff,
    /// The guest acknowledged a power-off (ACPI) and QEMU has not exited
    /// yet: still active, on its way to [`DomainState::ShutOff`].
    ShuttingDown,
    /// Anything else libvirt reports (crashed, suspended...).
    Other(String),
}

impl fmt::Display for DomainState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainState::Running => f.write_str("running"),
            DomainState::Paused => f.write_str("paused"),
            DomainState::ShutOff => f.write_str("shut off"),
            DomainState::ShuttingDown => f.write_str("shutting down"),
            DomainState::Other(s) => f.write_str(s),
        }
    }
}

/// Image format of a disk or volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    Qcow2,
    Raw,
}

impl DiskFormat {
    /// The name libvirt and qemu-img use.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Raw => "raw",
        }
    }
}

impl fmt::Display for DiskFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `lab`'s mark on a libvirt object it defined: the `<lab:lab>` element
/// (namespace [`METADATA_NS`]) in the object's `<metadata>` (libvirt's
/// "application metadata", see <https://libvirt.org/formatdomain.html#general-metadata>).
/// It says which lab instance made the object, so a second lab of the same
/// name in another directory can tell the object is not its own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabTag {
    /// The lab's `name:`.
    pub lab: String,
    /// The random id of the lab instance (kept in its state dir); empty on
    /// objects defined before lab recorded instances.
    pub instance: String,
    /// Absolute path of the lab file that made it (for messages only).
    pub file: String,
    /// The node, on domains.
    pub node: Option<String>,
}

/// Who made a libvirt object, as far as its `<metadata>` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maker {
    /// `lab`, with this mark.
    Lab(LabTag),
    /// Something else: no `lab:lab` element (defined by hand or by another tool).
    Unknown,
}

/// A lab's private network: NAT to the outside, DHCP with a reservation and
/// a DNS name for every node; or, on the other hosts of a lab over several
/// hosts, only the bridge (`bridge_only`), joined to the primary's over
/// VXLAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// libvirt network name, e.g. `lab-smoke`.
    pub name: String,
    /// Bridge device, at most 15 characters (see [`crate::network::bridge_name`]).
    pub bridge: String,
    /// Written into the network's metadata.
    pub tag: LabTag,
    pub subnet: Ipv4Net,
    /// Address of the bridge; conventionally the subnet's first host.
    pub gateway: Ipv4Addr,
    /// DNS domain answered locally by the network's dnsmasq, e.g. `smoke.lab`.
    pub domain: Option<String>,
    /// Dynamic DHCP range; `None` for reservations only.
    pub dhcp_range: Option<(Ipv4Addr, Ipv4Addr)>,
    pub hosts: Vec<HostEntry>,
    /// The bridge's MTU in bytes (libvirt's `<mtu size>`; libvirt 9.0's
    /// dnsmasq then hands it to the guests as DHCP option 26); `None`:
    /// the default, 1500.
    pub mtu: Option<u32>,
    /// Only the bridge: no `<forward>`, `<ip>`, `<dns>` or `<domain>`, so
    /// libvirt runs no dnsmasq for it. The other hosts' networks of a lab
    /// over several hosts are such; `subnet`, `gateway`, `domain`,
    /// `dhcp_range` and `hosts` are then left out of the XML.
    pub bridge_only: bool,
}

/// One node on the network: DHCP reservation by MAC plus DNS names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// Short host name, e.g. `node1`.
    pub name: String,
    pub mac: String,
    pub ip: Ipv4Addr,
}

/// What [`Hypervisor::list_networks`] reports about each network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    pub name: String,
    pub bridge: Option<String>,
    /// IPv4 subnets of the network's `<ip>` elements.
    pub subnets: Vec<Ipv4Net>,
    /// Who made it, from its metadata.
    pub maker: Maker,
    pub state: RunState,
}

/// How a domain boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// Direct kernel boot: no bootloader in the image.
    Kernel {
        kernel: PathBuf,
        initrd: Option<PathBuf>,
        cmdline: String,
    },
    /// Boot from the first disk's own bootloader (imported images).
    Disk { firmware: Firmware },
}

/// The firmware a domain that boots from its disk starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    /// SeaBIOS, QEMU's default: MBR boot code, or GRUB's BIOS boot partition
    /// on GPT.
    #[default]
    Bios,
    /// UEFI from Debian's `ovmf` package, chosen by libvirt from the QEMU
    /// firmware descriptors (`/usr/share/qemu/firmware`), secure boot off;
    /// its variable store (NVRAM) is made per domain and removed with it.
    Uefi,
}

impl Firmware {
    /// `bios` or `uefi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }
}

/// One disk of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec {
    pub path: PathBuf,
    pub format: DiskFormat,
    /// Guest device, e.g. `vda`.
    pub target: String,
    pub readonly: bool,
}

/// One network interface of a domain (virtio).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSpec {
    /// libvirt network name.
    pub network: String,
    pub mac: String,
}

/// A lab VM as libvirt should define it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    /// libvirt domain name, e.g. `smoke.node1`.
    pub name: String,
    /// Written into the domain's metadata (with the node).
    pub tag: LabTag,
    pub memory_mib: u64,
    pub vcpus: u32,
    pub accel: Accel,
    pub boot: Boot,
    pub disks: Vec<DiskSpec>,
    pub interfaces: Vec<InterfaceSpec>,
    /// File the serial console is logged to (must be reachable by virtlogd).
    pub console_log: PathBuf,
}

/// A volume's sizes, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeSizes {
    /// What the guest sees (a qcow2 image's virtual size).
    pub capacity: u64,
    /// What the file takes on the host's disk.
    pub allocation: u64,
}

/// How big a domain is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainShape {
    /// MiB.
    pub memory_mib: u64,
    pub vcpus: u32,
}

/// What the lab workflows need from a hypervisor.
///
/// Operations that tear down or start things are idempotent: removing what
/// is missing, stopping what is stopped or starting what runs succeeds.
/// Defining something that exists replaces its configuration.
pub trait Hypervisor: Send + Sync {
    /// State of network `name`; `None` when it is not defined.
    fn network_state(&self, name: &str) -> Result<Option<RunState>>;
    /// Define (or redefine) a persistent network; does not start it.
    fn define_network(&self, spec: &NetworkSpec) -> Result<()>;
    /// Start a defined network (not autostarted: `lab up` starts it).
    fn start_network(&self, name: &str) -> Result<()>;
    /// Stop (if active) and undefine a network; Ok if it does not exist.
    fn remove_network(&self, name: &str) -> Result<()>;
    /// Every network, for subnet and bridge collision checks.
    fn list_networks(&self) -> Result<Vec<NetworkInfo>>;

    /// Who made domain `name`; `None` when it is not defined.
    fn domain_maker(&self, name: &str) -> Result<Option<Maker>>;
    /// State of domain `name`; `None` when it is not defined.
    fn domain_state(&self, name: &str) -> Result<Option<DomainState>>;
    /// Define (or redefine) a persistent domain; does not start it.
    fn define_domain(&self, spec: &DomainSpec) -> Result<()>;
    fn start_domain(&self, name: &str) -> Result<()>;
    /// Ask the guest to power off (ACPI); returns without waiting.
    fn shutdown_domain(&self, name: &str) -> Result<()>;
    /// Pull the plug; Ok if the domain is not running.
    fn destroy_domain(&self, name: &str) -> Result<()>;
    /// Remove the definition; Ok if it does not exist. Disks are kept.
    fn undefine_domain(&self, name: &str) -> Result<()>;
    /// The domains whose metadata names lab `lab` (any instance), with
    /// their marks, sorted by name.
    fn list_lab_domains(&self, lab: &str) -> Result<Vec<(String, LabTag)>>;

    /// Make sure directory pool `name` at `dir` exists, is built, active and
    /// autostarted.
    fn ensure_pool(&self, name: &str, dir: &Path) -> Result<()>;
    /// Free space of active pool `name` in bytes, as libvirt tells it
    /// (`virStoragePoolGetInfo`'s `available`, after a refresh); `None`
    /// when the pool is not active. Errors: no such pool.
    fn pool_free_bytes(&self, name: &str) -> Result<Option<u64>>;
    /// Path of volume `name` in `pool`; `None` when it does not exist.
    fn volume_path(&self, pool: &str, name: &str) -> Result<Option<PathBuf>>;
    /// Create a qcow2 volume backed by the qcow2 image `backing`.
    fn create_overlay(
        &self,
        pool: &str,
        name: &str,
        backing: &Path,
        capacity_gib: u64,
    ) -> Result<PathBuf>;
    /// Copy the local file `src` into a new volume through libvirt (works
    /// without write access to the pool directory). `format` is how the
    /// content will be used (raw for kernels, initrds and seeds, qcow2 for
    /// disk images).
    fn upload_volume(
        &self,
        pool: &str,
        name: &str,
        src: &Path,
        format: DiskFormat,
    ) -> Result<PathBuf>;
    /// Delete volume `name`; Ok if it does not exist.
    fn delete_volume(&self, pool: &str, name: &str) -> Result<()>;
    fn list_volumes(&self, pool: &str) -> Result<Vec<String>>;
    /// Volume `name`'s size as the guest sees it and the bytes it takes
    /// on disk; `None` when it does not exist.
    fn volume_sizes(&self, pool: &str, name: &str) -> Result<Option<VolumeSizes>>;
    /// The backing file of volume `name` (an overlay's box image, from
    /// libvirt's volume XML `<backingStore><path>`); `None` when it has
    /// none or does not exist.
    fn volume_backing(&self, pool: &str, name: &str) -> Result<Option<PathBuf>>;
    /// The memory and virtual CPUs domain `name` is defined with; `None`
    /// when it does not exist.
    fn domain_shape(&self, name: &str) -> Result<Option<DomainShape>>;

    /// Stop a running domain's virtual CPUs; its memory stays. Ok when it
    /// is paused already.
    fn suspend_domain(&self, name: &str) -> Result<()>;
    /// Let a paused domain run again. Ok when it runs already.
    fn resume_domain(&self, name: &str) -> Result<()>;
    /// Take internal snapshot `snapshot` of domain `domain` (libvirt's
    /// <https://libvirt.org/formatsnapshot.html>, stored inside the
    /// domain's qcow2 disks): of an active domain (running or paused) its
    /// memory and writable qcow2 disks, and the domain is left running or
    /// paused as it was; of a shut-off domain its disks only. Read-only and
    /// raw disks (the NoCloud seed) are left out. Errors with
    /// [`BackendError::Conflict`] when a snapshot of that name exists.
    fn create_snapshot(&self, domain: &str, snapshot: &str) -> Result<()>;
    /// Put `domain` back to `snapshot`. A snapshot with memory comes back
    /// paused (resume it with [`Self::resume_domain`]) without a reboot; a
    /// disk-only one comes back shut off (a running domain is powered off).
    fn revert_snapshot(&self, domain: &str, snapshot: &str) -> Result<()>;
    /// Delete snapshot `snapshot` of `domain` (its metadata and its data in
    /// the disks); Ok when it or the domain does not exist.
    fn delete_snapshot(&self, domain: &str, snapshot: &str) -> Result<()>;
    /// Names of `domain`'s snapshots, sorted; empty when the domain does
    /// not exist.
    fn list_snapshots(&self, domain: &str) -> Result<Vec<String>>;
}
