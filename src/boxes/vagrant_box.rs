//! A Vagrant box of the libvirt provider: an uncompressed tar with
//! `metadata.json` (`provider`, `format` and `virtual_size` in GiB, the
//! format vagrant-libvirt reads: its `example_box/` and
//! <https://vagrant-libvirt.github.io/vagrant-libvirt/boxes.html>), the
//! disk as `box.img` (qcow2), and a `Vagrantfile` that Vagrant merges
//! under the user's own.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// `metadata.json` of a box of the libvirt provider.
#[derive(Debug, Serialize, PartialEq)]
pub struct Metadata {
    /// Always `libvirt`.
    pub provider: &'static str,
    /// The format of `box.img`: always `qcow2`.
    pub format: &'static str,
    /// The disk's virtual size, GiB.
    pub virtual_size: u64,
}

impl Metadata {
    /// The metadata of a qcow2 `box.img` of `gib` GiB.
    pub fn new(gib: u64) -> Metadata {
        Metadata {
            provider: "libvirt",
            format: "qcow2",
            virtual_size: gib,
        }
    }

    /// The file's text (pretty JSON, a newline at the end).
    pub fn text(&self) -> String {
        serde_json::to_string_pretty(self).expect("metadata serialises") + "\n"
    }
}

/// The box's own Vagrantfile: only what a box of this disk needs (its
/// disk on virtio, as lab boots it); everything else is the user's.
pub fn vagrantfile(name: &str) -> String {
    format!(
        "# Box `{name}`, exported by `lab box export`: its disk boots by itself\n\
         # (BIOS, GRUB); Vagrant logs in as `vagrant` with its insecure key.\n\
         Vagrant.configure(\"2\") do |config|\n\
         \x20 config.vm.provider :libvirt do |libvirt|\n\
         \x20   libvirt.disk_bus = \"virtio\"\n\
         \x20 end\n\
         end\n"
    )
}

/// Write the box of box `name` to `out`: metadata.json and Vagrantfile,
/// then `disk` (a qcow2 of `gib` GiB) as box.img; members mode 0644,
/// owned by root, dated now.
pub fn write(out: &Path, disk: &Path, name: &str, gib: u64) -> Result<()> {
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut tar = tar::Builder::new(BufWriter::new(file));
    let now = super::build::now_unix();
    let header = |path: &str, size: u64| -> Result<tar::Header> {
        let mut h = tar::Header::new_gnu();
        h.set_path(path)?;
        h.set_size(size);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(now);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        Ok(h)
    };
    let written = || format!("cannot write {}", out.display());
    for (path, text) in [
        ("metadata.json", Metadata::new(gib).text()),
        ("Vagrantfile", vagrantfile(name)),
    ] {
        tar.append(&header(path, text.len() as u64)?, text.as_bytes())
            .with_context(written)?;
    }
    let img =
        std::fs::File::open(disk).with_context(|| format!("cannot open {}", disk.display()))?;
    let size = img.metadata()?.len();
    tar.append(&header("box.img", size)?, img)
        .with_context(written)?;
    let mut buf = tar.into_inner().with_context(written)?;
    buf.flush().with_context(written)?;
    buf.get_ref().sync_all().with_context(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_what_vagrant_libvirt_reads() {
        let value: serde_json::Value = serde_json::from_str(&Metadata::new(10).text()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"provider": "libvirt", "format": "qcow2", "virtual_size": 10})
        );
    }

    #[test]
    fn the_box_holds_metadata_vagrantfile_and_the_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let disk = tmp.path().join("d.qcow2");
        std::fs::write(&disk, b"QFI\xfb disk").unwrap();
        let out = tmp.path().join("x.box");
        write(&out, &disk, "b1", 3).unwrap();
        let mut ar = tar::Archive::new(std::fs::File::open(&out).unwrap());
        let members: Vec<(String, u32, Vec<u8>)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).unwrap();
                let path = e.path().unwrap().display().to_string();
                (path, e.header().mode().unwrap(), data)
            })
            .collect();
        let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(names, ["metadata.json", "Vagrantfile", "box.img"]);
        assert!(members.iter().all(|m| m.1 == 0o644));
        assert_eq!(members[0].2, Metadata::new(3).text().as_bytes());
        assert_eq!(members[1].2, vagrantfile("b1").as_bytes());
        assert_eq!(members[2].2, b"QFI\xfb disk");
    }
}
