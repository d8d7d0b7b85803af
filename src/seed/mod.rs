//! cloud-init NoCloud seeds: a small VFAT image labelled `CIDATA` holding
//! `meta-data` and `user-data`, attached to a VM as a read-only disk. It
//! carries what one VM needs at first boot: hostname, the login user with the
//! lab's SSH public key, and the guest HTTP proxy for apt.
//!
//! The same seed holds `lab.env`, the same facts as shell assignments, for
//! lab's own boxes: they boot with `cloud-init=disabled` and apply it with
//! a few lines of shell (`lab-firstboot`, in the `debian-12` recipe), which
//! under software emulation takes a second where cloud-init's four Python
//! stages take minutes. Images booted by their own bootloader (imported or
//! exported boxes) run cloud-init on `meta-data` and `user-data` as ever.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Size of the seed image. FAT12 with room for a few KiB of text.
const SEED_BYTES: u64 = 1024 * 1024;
/// cloud-init's NoCloud datasource looks for a filesystem with this label.
const LABEL: [u8; 11] = *b"CIDATA     ";

/// What goes into one VM's seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedConfig {
    /// Unique per VM instance: cloud-init runs first-boot modules once per id.
    pub instance_id: String,
    pub hostname: String,
    /// DNS domain of the lab, if any (gives the VM an FQDN).
    pub domain: Option<String>,
    /// Login user created by cloud-init (the box's default user).
    pub user: String,
    /// OpenSSH public keys authorised for `user`.
    pub authorized_keys: Vec<String>,
    /// `http://HOST:PORT` for apt inside the guest.
    pub apt_proxy: Option<String>,
}

impl SeedConfig {
    /// `meta-data` (YAML; JSON is valid YAML).
    pub fn meta_data(&self) -> String {
        let v = json!({
            "instance-id": self.instance_id,
            "local-hostname": self.hostname,
        });
        serde_json::to_string_pretty(&v).expect("json") + "\n"
    }

    /// `user-data`: a `#cloud-config` document.
    pub fn user_data(&self) -> String {
        let mut doc = json!({
            "hostname": self.hostname,
            "preserve_hostname": false,
            "ssh_pwauth": false,
            "disable_root": true,
            "users": [{
                "name": self.user,
                "groups": ["sudo"],
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "shell": "/bin/bash",
                "lock_passwd": true,
                "ssh_authorized_keys": self.authorized_keys,
            }],
        });
        if let Some(domain) = &self.domain {
            doc["fqdn"] = Value::String(format!("{}.{domain}", self.hostname));
        }
        if let Some(proxy) = &self.apt_proxy {
            doc["write_files"] = json!([{
                "path": "/etc/apt/apt.conf.d/90lab-proxy",
                "permissions": "0644",
                "content": format!("Acquire::http::Proxy \"{proxy}\";\n"),
            }]);
        }
        format!(
            "#cloud-config\n{}\n",
            serde_json::to_string_pretty(&doc).expect("json")
        )
    }

    /// `lab.env`: `LAB_HOSTNAME`, `LAB_FQDN`, `LAB_USER`,
    /// `LAB_AUTHORIZED_KEYS` (one key per line) and `LAB_APT_PROXY`, each
    /// a POSIX shell assignment with its value single-quoted, for the box's
    /// `lab-firstboot` to source (empty when there is none).
    pub fn lab_env(&self) -> String {
        let q = |v: &str| format!("'{}'", v.replace('\'', r"'\''"));
        let fqdn = self
            .domain
            .as_ref()
            .map(|d| format!("{}.{d}", self.hostname))
            .unwrap_or_default();
        format!(
            "# Written by lab for lab-firstboot (see cloud-init's user-data beside it).\nLAB_HOSTNAME={}\nLAB_FQDN={}\nLAB_USER={}\nLAB_AUTHORIZED_KEYS={}\nLAB_APT_PROXY={}\n",
            q(&self.hostname),
            q(&fqdn),
            q(&self.user),
            q(&self.authorized_keys.join("\n")),
            q(self.apt_proxy.as_deref().unwrap_or("")),
        )
    }
}

/// Write a NoCloud seed image to `path` (replacing it), mode 0600.
pub fn write_seed(path: &Path, cfg: &SeedConfig) -> Result<()> {
    use crate::files::{Content, PRIVATE_FILE, open};
    let mut file = open(path, PRIVATE_FILE, Content::Truncate)?;
    file.set_len(SEED_BYTES)?;
    let options = fatfs::FormatVolumeOptions::new()
        .volume_label(LABEL)
        .volume_id(volume_id(&cfg.instance_id));
    fatfs::format_volume(&mut file, options)
        .with_context(|| format!("cannot format seed {}", path.display()))?;
    let fs = fatfs::FileSystem::new(&mut file, fatfs::FsOptions::new())
        .with_context(|| format!("cannot open seed {}", path.display()))?;
    let root = fs.root_dir();
    for (name, text) in [
        ("meta-data", cfg.meta_data()),
        ("user-data", cfg.user_data()),
        ("lab.env", cfg.lab_env()),
    ] {
        let mut f = root
            .create_file(name)
            .with_context(|| format!("cannot write {name} into {}", path.display()))?;
        f.truncate()?;
        f.write_all(text.as_bytes())?;
    }
    drop(root);
    fs.unmount()?;
    Ok(())
}

/// A volume id derived from the instance id (FAT's default is a constant,
/// which would make every seed look the same to blkid).
fn volume_id(instance_id: &str) -> u32 {
    let digest = Sha256::digest(instance_id.as_bytes());
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn cfg() -> SeedConfig {
        SeedConfig {
            instance_id: "lab-smoke-node1-1".into(),
            hostname: "node1".into(),
            domain: Some("smoke.lab".into()),
            user: "lab".into(),
            authorized_keys: vec!["ssh-ed25519 AAAAC3Nza test@lab".into()],
            apt_proxy: Some("http://10.77.10.1:8888".into()),
        }
    }

    #[test]
    fn user_data_is_cloud_config_with_key_and_proxy() {
        let ud = cfg().user_data();
        assert!(ud.starts_with("#cloud-config\n"));
        let doc: Value = serde_json::from_str(ud.trim_start_matches("#cloud-config\n")).unwrap();
        assert_eq!(doc["hostname"], "node1");
        assert_eq!(doc["fqdn"], "node1.smoke.lab");
        assert_eq!(doc["users"][0]["name"], "lab");
        assert_eq!(
            doc["users"][0]["ssh_authorized_keys"][0],
            "ssh-ed25519 AAAAC3Nza test@lab"
        );
        assert_eq!(doc["ssh_pwauth"], false);
        let proxy = doc["write_files"][0]["content"].as_str().unwrap();
        assert_eq!(proxy, "Acquire::http::Proxy \"http://10.77.10.1:8888\";\n");
    }

    #[test]
    fn no_proxy_no_domain_means_no_such_keys() {
        let mut c = cfg();
        c.apt_proxy = None;
        c.domain = None;
        let doc: Value =
            serde_json::from_str(c.user_data().trim_start_matches("#cloud-config\n")).unwrap();
        assert!(doc.get("write_files").is_none());
        assert!(doc.get("fqdn").is_none());
    }

    #[test]
    fn seed_image_is_a_cidata_vfat_with_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.img");
        write_seed(&path, &cfg()).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let fs = fatfs::FileSystem::new(&mut file, fatfs::FsOptions::new()).unwrap();
        assert_eq!(fs.volume_label().trim_end(), "CIDATA");
        assert_ne!(fs.volume_id(), 0);
        let mut text = String::new();
        fs.root_dir()
            .open_file("meta-data")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(
            text.contains("\"instance-id\": \"lab-smoke-node1-1\""),
            "{text}"
        );
        let mut ud = String::new();
        fs.root_dir()
            .open_file("user-data")
            .unwrap()
            .read_to_string(&mut ud)
            .unwrap();
        assert_eq!(ud, cfg().user_data());
    }

    #[test]
    fn lab_env_is_sourced_by_sh_to_the_same_values() {
        let mut c = cfg();
        c.authorized_keys.push("ssh-rsa AAAB it's $(reboot)".into());
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("lab.env");
        std::fs::write(&env, c.lab_env()).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(". \"$1\" && printf '%s|' \"$LAB_HOSTNAME\" \"$LAB_FQDN\" \"$LAB_USER\" \"$LAB_AUTHORIZED_KEYS\" \"$LAB_APT_PROXY\"")
            .arg("sh")
            .arg(&env)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "node1|node1.smoke.lab|lab|ssh-ed25519 AAAAC3Nza test@lab\nssh-rsa AAAB it's $(reboot)|http://10.77.10.1:8888|"
        );
    }

    #[test]
    fn the_seed_holds_lab_env_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.img");
        write_seed(&path, &cfg()).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let fs = fatfs::FileSystem::new(&mut file, fatfs::FsOptions::new()).unwrap();
        let mut text = String::new();
        fs.root_dir()
            .open_file("lab.env")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, cfg().lab_env());
    }

    #[test]
    fn volume_ids_differ_per_instance() {
        assert_ne!(volume_id("a"), volume_id("b"));
    }
}
