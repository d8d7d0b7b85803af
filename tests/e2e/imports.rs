//! Imported boxes on real VMs (issue 14): the `debian-12` box exported as a
//! Vagrant box and as a bare qcow2 (both boot from their own disk: MBR,
//! bootloader, kernel inside), imported back, and a two-node lab on them
//! brought up: node1 on the Vagrant box (login user `vagrant`), node2 on
//! the qcow2 (a cloud image: cloud-init gives it the lab's key, its name
//! and address), node3 on the Vagrant box with cloud-init disabled (reached
//! through Vagrant's insecure key, replaced by the lab's). Checked: both ready and reachable with `lab ssh`; no
//! domain boots by direct kernel boot; Vagrant's insecure key is in no
//! authorized_keys of node1 or node3; the root disk has the node's size; a
//! truncated box is refused and leaves nothing; `lab destroy` leaves no
//! domain, volume or state.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::{lab, ok, virsh};

const LAB: &str = "e2eimport";
const VAGRANT_BOX: &str = "e2e-d12-vagrant";
const CLOUD_BOX: &str = "e2e-d12-cloud";
const NOCLOUD_BOX: &str = "e2e-d12-nocloud";
/// Key material of Vagrant's insecure public keys (RSA, ed25519).
const INSECURE: [&str; 2] = [
    "AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr",
    "AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw",
];

fn lab_yaml() -> String {
    format!(
        "name: {LAB}
box: {CLOUD_BOX}
network:
  subnet: 10.77.97.0/24
  domain: {LAB}.lab
defaults:
  cpus: 1
  memory: 1024
  disk: 12
nodes:
  node1:
    ip: 10.77.97.21
    box: {VAGRANT_BOX}
  node2:
    ip: 10.77.97.22
    box: {CLOUD_BOX}
  node3:
    ip: 10.77.97.23
    box: {NOCLOUD_BOX}
"
    )
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `d.box` with cloud-init disabled (`/etc/cloud/cloud-init.disabled`
/// written into its root partition with debugfs): a Vagrant box lab can
/// reach only through Vagrant's insecure key. Returns its path.
fn nocloud_box(dir: &Path) -> PathBuf {
    let nc = dir.join("nc");
    std::fs::create_dir_all(&nc).unwrap();
    sh(Command::new("tar")
        .arg("xf")
        .arg(dir.join("d.box"))
        .arg("-C")
        .arg(&nc));
    let raw = nc.join("disk.raw");
    sh(Command::new("qemu-img")
        .args(["convert", "-O", "raw"])
        .arg(nc.join("box.img"))
        .arg(&raw));
    let table: serde_json::Value =
        serde_json::from_str(&sh(Command::new("sfdisk").arg("--json").arg(&raw))).unwrap();
    let parts = table["partitiontable"]["partitions"].as_array().unwrap();
    let start = parts.last().unwrap()["start"].as_u64().unwrap() * 512;
    sh(Command::new("debugfs")
        .args(["-w", "-R", "write /dev/null /etc/cloud/cloud-init.disabled"])
        .arg(format!("{}?offset={start}", raw.display())));
    let check = sh(Command::new("debugfs")
        .args(["-R", "stat /etc/cloud/cloud-init.disabled"])
        .arg(format!("{}?offset={start}", raw.display())));
    assert!(check.contains("Type: regular"), "{check}");
    sh(Command::new("qemu-img")
        .args(["convert", "-O", "qcow2"])
        .arg(&raw)
        .arg(nc.join("box.img")));
    std::fs::remove_file(&raw).unwrap();
    let out = dir.join("nocloud.box");
    sh(Command::new("tar")
        .arg("cf")
        .arg(&out)
        .arg("-C")
        .arg(&nc)
        .arg("."));
    out
}

/// On the way out, passed or failed, the lab and the imported boxes go:
/// a failed run must not leave VMs behind (a lab's objects can be proven
/// its own only from its state dir, which goes with the temporary dir).
struct Cleanup<'a>(&'a Path);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = lab(self.0, &["destroy", "-f"]);
        for b in [VAGRANT_BOX, CLOUD_BOX, NOCLOUD_BOX] {
            let _ = lab(self.0, &["box", "remove", b]);
        }
    }
}

fn stored(dir: &Path) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&ok(dir, &["box", "list", "--json"])).unwrap();
    v["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

/// Export, import, boot, check, destroy. The imported boxes are removed
/// at the end; the exported files live in a temporary directory.
pub fn round_trip() {
    let tmp = tempfile::Builder::new()
        .prefix("lab-e2e-import-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("lab.yaml"), lab_yaml()).unwrap();
    let _cleanup = Cleanup(dir);
    for b in [VAGRANT_BOX, CLOUD_BOX, NOCLOUD_BOX] {
        let _ = lab(dir, &["box", "remove", b]);
    }
    ok(dir, &["box", "build", "debian-12"]);

    // 1. Export both ways; a truncated box is refused and leaves nothing.
    let t = Instant::now();
    ok(dir, &["box", "export", "debian-12", "-o", "d.box"]);
    eprintln!("box export (.box) took {:.1}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    ok(dir, &["box", "export", "debian-12", "-o", "d.qcow2"]);
    eprintln!("box export (.qcow2) took {:.1}s", t.elapsed().as_secs_f64());
    let whole = std::fs::metadata(dir.join("d.box")).unwrap().len();
    let f = std::fs::File::open(dir.join("d.box")).unwrap();
    let mut cut = std::fs::File::create(dir.join("cut.box")).unwrap();
    std::io::copy(&mut std::io::Read::take(f, whole / 2), &mut cut).unwrap();
    let refused = lab(dir, &["box", "import", "cut.box", "--name", VAGRANT_BOX]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("truncated or damaged"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!stored(dir).contains(&VAGRANT_BOX.to_string()));

    // 2. Import all three.
    nocloud_box(dir);
    ok(
        dir,
        &["box", "import", "nocloud.box", "--name", NOCLOUD_BOX],
    );
    let t = Instant::now();
    ok(dir, &["box", "import", "d.box", "--name", VAGRANT_BOX]);
    eprintln!("box import (.box) took {:.1}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    ok(dir, &["box", "import", "d.qcow2", "--name", CLOUD_BOX]);
    eprintln!("box import (.qcow2) took {:.1}s", t.elapsed().as_secs_f64());

    // 3. Up: both ready, booted from their disks.
    let t = Instant::now();
    ok(dir, &["up"]);
    eprintln!(
        "lab up on imported boxes took {:.1}s",
        t.elapsed().as_secs_f64()
    );
    for node in ["node1", "node2", "node3"] {
        let xml = virsh(&["dumpxml", &format!("{LAB}.{node}")]);
        assert!(
            xml.contains("<boot dev='hd'/>") && !xml.contains("<kernel>"),
            "{node} should boot from its disk:\n{xml}"
        );
    }
    assert_eq!(ok(dir, &["ssh", "node1", "--", "whoami"]).trim(), "vagrant");
    assert_eq!(ok(dir, &["ssh", "node2", "--", "hostname"]).trim(), "node2");
    let addrs = ok(dir, &["ssh", "node2", "--", "ip", "-4", "-o", "addr"]);
    assert!(addrs.contains("10.77.97.22/"), "{addrs}");
    ok(dir, &["ssh", "node1", "--", "ping", "-c1", "-W5", "node2"]);
    let size = ok(dir, &["ssh", "node2", "--", "cat", "/sys/block/vda/size"]);
    assert_eq!(
        size.trim().parse::<u64>().unwrap() * 512,
        12 << 30,
        "root disk grown to disk: 12"
    );
    // cloud-init grew the partition (growpart) and the file system in it.
    for node in ["node1", "node2"] {
        let root = ok(dir, &["ssh", node, "--", "findmnt", "-bno", "SIZE", "/"]);
        let bytes: u64 = root.trim().parse().unwrap();
        assert!(
            bytes > 11 << 30,
            "{node}: / is {bytes} bytes, not grown to about 12 GiB"
        );
    }

    // 4. The insecure key is authorized nowhere; the lab's key is: node1
    //    got it from cloud-init, node3 (no cloud-init) through the
    //    insecure key, which lab then removed.
    let lab_key = std::fs::read_to_string(dir.join(".lab/id_ed25519.pub")).unwrap();
    let lab_key = lab_key.split_whitespace().nth(1).unwrap().to_string();
    for node in ["node1", "node3"] {
        let keys = ok(
            dir,
            &[
                "ssh",
                node,
                "--",
                "sudo sh -c 'cat /root/.ssh/authorized_keys* /home/*/.ssh/authorized_keys* 2>/dev/null; true'",
            ],
        );
        for k in INSECURE {
            assert!(
                !keys.contains(k),
                "{node}: insecure key still authorized:\n{keys}"
            );
        }
        assert!(
            keys.contains(&lab_key),
            "{node}: lab key not authorized:\n{keys}"
        );
    }
    let ran = lab(
        dir,
        &[
            "ssh",
            "node3",
            "--",
            "test",
            "-e",
            "/var/lib/cloud/instance/boot-finished",
        ],
    );
    assert_eq!(
        ran.status.code(),
        Some(1),
        "cloud-init must not have run on node3"
    );
    ok(dir, &["ssh", "node3", "--", "ping", "-c1", "-W5", "node1"]);

    // 5. Destroy leaves nothing; the boxes go too.
    ok(dir, &["destroy", "-f"]);
    let doms = virsh(&["list", "--all", "--name"]);
    assert!(!doms.contains(&format!("{LAB}.")), "{doms}");
    let vols = virsh(&["vol-list", "lab"]);
    assert!(!vols.contains(&format!("{LAB}.")), "{vols}");
    assert!(!dir.join(".lab").exists());
    for b in [VAGRANT_BOX, CLOUD_BOX, NOCLOUD_BOX] {
        ok(dir, &["box", "remove", b]);
    }
    // Their copies in the pool went with them (no VM is backed by one).
    let vols = virsh(&["vol-list", "lab"]);
    for b in [VAGRANT_BOX, CLOUD_BOX, NOCLOUD_BOX] {
        assert!(!vols.contains(&format!("box.{b}.")), "{vols}");
    }
}
