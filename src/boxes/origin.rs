//! How a stored disk box boots and where it came from: built here from a
//! recipe (direct kernel boot), or imported from a Vagrant box or a cloud
//! image (booted by its own bootloader, BIOS or UEFI).

use serde::{Deserialize, Serialize};

pub use crate::backend::Firmware;

/// How a disk box starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BootMode {
    /// Direct kernel boot: `vmlinuz` and `initrd.img` are kept beside the
    /// disk, which has no bootloader (boxes built by `lab box build`).
    #[default]
    Kernel,
    /// The disk's own bootloader (imported boxes).
    Disk,
}

/// What an imported box was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A Vagrant box of the libvirt provider: a tar (maybe gzipped) with
    /// `metadata.json` and `box.img`
    /// (<https://vagrant-libvirt.github.io/vagrant-libvirt/boxes.html>).
    VagrantBox,
    /// A qcow2 disk image (the format of distribution cloud images).
    Qcow2,
    /// A raw disk image with a partition table.
    Raw,
}

impl SourceKind {
    /// The word `lab box list` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::VagrantBox => "vagrant-box",
            SourceKind::Qcow2 => "qcow2",
            SourceKind::Raw => "raw",
        }
    }
}

/// Where an imported box came from (`box.json`'s `source`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxSource {
    pub kind: SourceKind,
    /// The file given to `lab box import`, made absolute.
    pub file: String,
    /// sha256 of that file, as imported (hex).
    pub sha256: String,
    /// Whether `lab` may log in with Vagrant's insecure key to install the
    /// lab's key (then removes it): true for Vagrant boxes.
    #[serde(default)]
    pub vagrant_key: bool,
}
