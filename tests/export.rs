//! `lab box export NAME -o FILE` through the real binary, on a small fake
//! disk box (a 1 GiB ext4 made with `mkfs.ext4 -d`, label labroot, as a
//! box build makes it): the Vagrant box's members and metadata, the
//! disk's partition table (read by `sfdisk --json`), GRUB's boot code in
//! the MBR and its core image after it, GRUB's configuration, the vagrant
//! user with its keys, modes and owners (read by `debugfs` at the
//! partition's offset), the store left as it was; and every refusal, with
//! nothing left behind. Nothing is booted (scripts/export-boot-check
//! boots a real export). Needs e2fsprogs, qemu-utils, grub-pc-bin and
//! fdisk (scripts/setup-host --dev).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
const BOX: &str = "tiny";
const CMDLINE: &str = "root=/dev/vda rw console=ttyS0,115200n8 net.ifnames=0";

/// A temp dir with `home/` as `$LAB_HOME` (the store in `home/boxes`) and
/// `out/`, the current directory of `lab`.
struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        need_tools();
        let env = Env {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(env.path("out")).unwrap();
        std::fs::create_dir_all(env.path("home/boxes")).unwrap();
        env
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// `lab ARGS` in `out/`: exit code, stdout, stderr (the temp dir as
    /// `[TMP]`).
    fn lab(&self, args: &[&str]) -> (i32, String, String) {
        let out = common::isolated_lab(&self.path("out"), self.tmp.path(), &self.path("home"))
            .args(args)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        let clean = |b: &[u8]| {
            String::from_utf8_lossy(b).replace(&self.tmp.path().display().to_string(), "[TMP]")
        };
        (
            out.status.code().expect("lab ended by a signal"),
            clean(&out.stdout),
            clean(&out.stderr),
        )
    }

    /// A disk box `name` in the store as `lab box build` leaves it, its
    /// file system labelled `label`.
    fn disk_box(&self, name: &str, label: &str) {
        let root = self.path(&format!("rootfs-{name}"));
        for (rel, text) in [
            (
                "etc/passwd",
                "root:x:0:0:root:/root:/bin/bash\nlab:x:1000:1000::/home/lab:/bin/bash\n",
            ),
            ("etc/group", "root:x:0:\nshadow:x:42:\nlab:x:1000:\n"),
            ("etc/shadow", "root:*:20000:0:99999:7:::\n"),
            ("etc/gshadow", "root:*::\nshadow:*::\n"),
            (
                "etc/fstab",
                "LABEL=labroot / ext4 rw,discard,errors=remount-ro 0 1\n",
            ),
            ("etc/skel/.profile", "# ~/.profile\n"),
            ("usr/bin/bash", "#!/bin/true\n"),
            ("boot/vmlinuz-6.1.0-1-cloud-amd64", "kernel"),
            ("boot/initrd.img-6.1.0-1-cloud-amd64", "initrd"),
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        std::fs::set_permissions(root.join("etc/shadow"), PermissionsExt::from_mode(0o640))
            .unwrap();
        for (link, to) in [
            ("bin", "usr/bin"),
            ("vmlinuz", "boot/vmlinuz-6.1.0-1-cloud-amd64"),
            ("initrd.img", "boot/initrd.img-6.1.0-1-cloud-amd64"),
        ] {
            std::os::unix::fs::symlink(to, root.join(link)).unwrap();
        }
        std::fs::create_dir_all(root.join("home")).unwrap();
        let raw = self.path(&format!("{name}.raw"));
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "1", "-L", label, "-d"])
            .arg(&root)
            .arg(&raw)
            .arg("1G"));
        let dir = self.path(&format!("home/boxes/{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        run(Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", "qcow2"])
            .arg(&raw)
            .arg(dir.join("disk.qcow2")));
        std::fs::remove_file(&raw).unwrap();
        std::fs::write(dir.join("vmlinuz"), "kernel").unwrap();
        std::fs::write(dir.join("initrd.img"), "initrd").unwrap();
        self.meta(name, "disk", "lab");
    }

    fn meta(&self, name: &str, format: &str, user: &str) {
        let meta = serde_json::json!({
            "name": name, "version": "1", "format": format, "recipe_hash": "h",
            "disk_sha256": "00", "disk_gib": 1, "cmdline": CMDLINE, "user": user,
            "built_at": 0, "build_seconds": 1, "suite": "bookworm", "packages": [],
            "installed_packages": 1
        });
        let dir = self.path(&format!("home/boxes/{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("box.json"), meta.to_string()).unwrap();
    }

    /// Every path under `rel` with its content, for "nothing changed".
    fn tree(&self, rel: &str) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                    out.push((path, Vec::new()));
                } else {
                    let data = std::fs::read(&path).unwrap_or_default();
                    out.push((path, data));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path(rel), &mut out);
        out.sort();
        out
    }
}

fn need_tools() {
    let missing: Vec<&str> = ["mkfs.ext4", "debugfs", "qemu-img", "grub-mkimage", "sfdisk"]
        .into_iter()
        .filter(|t| {
            Command::new("sh")
                .args(["-c", &format!("PATH=$PATH:/usr/sbin:/sbin command -v {t}")])
                .output()
                .map(|o| !o.status.success())
                .unwrap_or(true)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "these tests run {missing:?}: apt-get install e2fsprogs qemu-utils grub-pc-bin fdisk (or scripts/setup-host --dev)"
    );
}

/// Run `cmd` (found in the system directories too); its stdout.
fn run(cmd: &mut Command) -> String {
    let path = format!(
        "{}:/usr/sbin:/sbin",
        std::env::var("PATH").unwrap_or_default()
    );
    let out = cmd.env("PATH", path).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The exported qcow2 `disk` as a raw file beside it.
fn raw_of(disk: &Path) -> PathBuf {
    let raw = disk.with_extension("raw");
    run(Command::new("qemu-img")
        .args(["convert", "-O", "raw"])
        .arg(disk)
        .arg(&raw));
    raw
}

/// `debugfs -R REQUEST` on the file system at the partition's offset.
fn debugfs(raw: &Path, request: &str) -> String {
    run(Command::new("debugfs")
        .args(["-R", request])
        .arg(format!("{}?offset={MIB}", raw.display())))
}

/// (mode, uid, gid) of `path` in the exported file system.
fn owner(raw: &Path, path: &str) -> (String, String, String) {
    let out = debugfs(raw, &format!("stat {path}"));
    let after = |key: &str| {
        let at = out.find(key).unwrap_or_else(|| panic!("no {key} in {out}")) + key.len();
        out[at..].split_whitespace().next().unwrap().to_string()
    };
    (after("Mode:"), after("User:"), after("Group:"))
}

/// Everything the exported qcow2 `disk` must be: MBR with GRUB, one
/// bootable Linux partition from 1 MiB to the end (the last partition),
/// GRUB's core after the MBR, the box's file system in the partition,
/// sized to it, with GRUB's configuration and the vagrant user.
fn check_disk(disk: &Path) {
    let magic = std::fs::read(disk).unwrap();
    assert_eq!(&magic[..4], b"QFI\xfb", "a qcow2");
    let raw = raw_of(disk);
    assert_eq!(std::fs::metadata(&raw).unwrap().len(), GIB);

    let table: serde_json::Value =
        serde_json::from_str(&run(Command::new("sfdisk").arg("--json").arg(&raw))).unwrap();
    let table = &table["partitiontable"];
    assert_eq!(table["label"], "dos");
    let parts = table["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "{table}");
    assert_eq!(parts[0]["start"], 2048);
    assert_eq!(parts[0]["size"], (GIB - MIB) / 512);
    assert_eq!(parts[0]["type"], "83");
    assert_eq!(parts[0]["bootable"], true);

    let head = {
        use std::io::Read;
        let mut h = vec![0u8; MIB as usize];
        std::fs::File::open(&raw)
            .unwrap()
            .read_exact(&mut h)
            .unwrap();
        h
    };
    assert_eq!(head[510..512], [0x55, 0xaa], "the boot signature");
    let boot_img = std::fs::read("/usr/lib/grub/i386-pc/boot.img").unwrap();
    assert_eq!(head[..0x5c], boot_img[..0x5c], "GRUB's boot code");
    assert_eq!(head[0x68..440], boot_img[0x68..440], "GRUB's boot code");
    assert_eq!(
        head[0x5c..0x64],
        1u64.to_le_bytes(),
        "the core is at sector 1"
    );
    let diskboot = std::fs::read("/usr/lib/grub/i386-pc/diskboot.img").unwrap();
    assert_eq!(
        head[512..512 + 0x1f0],
        diskboot[..0x1f0],
        "GRUB's core image at sector 1"
    );

    assert_eq!(
        run(Command::new("e2label").arg(format!("{}?offset={MIB}", raw.display()))).trim(),
        "labroot"
    );
    let stats = debugfs(&raw, "stats");
    let field = |key: &str| -> u64 {
        let line = stats.lines().find(|l| l.starts_with(key)).unwrap();
        line[key.len()..].trim().parse().unwrap()
    };
    assert_eq!(
        field("Block count:") * field("Block size:"),
        GIB - MIB,
        "the file system fills its partition, no more"
    );
    assert_eq!(
        debugfs(&raw, "cat /boot/grub/grub.cfg")
            .lines()
            .filter(|l| l.starts_with('\t'))
            .collect::<Vec<_>>(),
        [
            "\tlinux /vmlinuz root=LABEL=labroot rw console=ttyS0,115200n8 net.ifnames=0",
            "\tinitrd /initrd.img"
        ]
    );
    assert!(
        debugfs(&raw, "cat /etc/fstab").starts_with("LABEL=labroot / ext4"),
        "the box's fstab mounts its root by label"
    );

    let passwd = debugfs(&raw, "cat /etc/passwd");
    assert!(
        passwd.ends_with("\nvagrant:x:1001:1001:Vagrant:/home/vagrant:/bin/bash\n"),
        "{passwd}"
    );
    assert!(debugfs(&raw, "cat /etc/group").ends_with("\nvagrant:x:1001:\n"));
    assert!(debugfs(&raw, "cat /etc/shadow").contains("\nvagrant:*:"));
    assert!(debugfs(&raw, "cat /etc/gshadow").ends_with("\nvagrant:!::\n"));
    let keys = debugfs(&raw, "cat /home/vagrant/.ssh/authorized_keys");
    let lines: Vec<&str> = keys.lines().collect();
    assert_eq!(lines, lab::ssh::vagrant_keys::INSECURE_PUBLIC_KEYS);
    let s = |m: &str, u: &str, g: &str| (m.to_string(), u.to_string(), g.to_string());
    assert_eq!(owner(&raw, "/home/vagrant"), s("0700", "1001", "1001"));
    assert_eq!(owner(&raw, "/home/vagrant/.ssh"), s("0700", "1001", "1001"));
    assert_eq!(
        owner(&raw, "/home/vagrant/.ssh/authorized_keys"),
        s("0600", "1001", "1001")
    );
    assert_eq!(
        owner(&raw, "/home/vagrant/.profile"),
        s("0644", "1001", "1001")
    );
    assert_eq!(owner(&raw, "/etc/sudoers.d/vagrant"), s("0440", "0", "0"));
    assert_eq!(owner(&raw, "/etc/shadow").0, "0640", "kept");
    assert_eq!(
        debugfs(&raw, "cat /etc/sudoers.d/vagrant").lines().last(),
        Some("vagrant ALL=(ALL) NOPASSWD: ALL")
    );
    run(Command::new("e2fsck")
        .arg("-fn")
        .arg(format!("{}?offset={MIB}", raw.display())));
    std::fs::remove_file(raw).unwrap();
}

#[test]
fn a_box_exports_as_a_vagrant_box_and_as_a_qcow2_and_the_store_is_unchanged() {
    let e = Env::new();
    e.disk_box(BOX, "labroot");
    let store = e.tree("home/boxes");

    let (code, stdout, stderr) = e.lab(&["box", "export", BOX, "-o", "d.box"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("exported box tiny as a Vagrant box (libvirt provider) to d.box ("),
        "{stdout}"
    );
    assert!(
        stderr.contains("pack the Vagrant box (tar) done"),
        "progress: {stderr}"
    );
    let mode = std::fs::metadata(e.path("out/d.box"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);

    let mut ar = tar::Archive::new(std::fs::File::open(e.path("out/d.box")).unwrap());
    let unpacked = e.path("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let mut names = Vec::new();
    for entry in ar.entries().unwrap() {
        let mut entry = entry.unwrap();
        names.push(entry.path().unwrap().display().to_string());
        entry.unpack_in(&unpacked).unwrap();
    }
    assert_eq!(names, ["metadata.json", "Vagrantfile", "box.img"]);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(
        meta,
        serde_json::json!({"provider": "libvirt", "format": "qcow2", "virtual_size": 1})
    );
    let vagrantfile = std::fs::read_to_string(unpacked.join("Vagrantfile")).unwrap();
    assert!(
        vagrantfile.contains("libvirt.disk_bus = \"virtio\""),
        "{vagrantfile}"
    );
    check_disk(&unpacked.join("box.img"));

    let (code, stdout, stderr) = e.lab(&["box", "export", BOX, "-o", "d.qcow2"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("exported box tiny as a bootable qcow2 disk to d.qcow2 ("));
    check_disk(&e.path("out/d.qcow2"));

    assert_eq!(e.tree("home/boxes"), store, "the store is as it was");
    let left: Vec<String> = std::fs::read_dir(e.path("out"))
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// `lab ARGS` must be refused (exit status `code`), its message as
/// snapshot `name`, with nothing written to `out/` or the store.
fn refused(e: &Env, args: &[&str], code: i32, name: &str) {
    let (out, store) = (e.tree("out"), e.tree("home/boxes"));
    let (got, stdout, stderr) = e.lab(args);
    assert_eq!(got, code, "lab {args:?}: {stderr}");
    assert_eq!(stdout, "");
    insta::assert_snapshot!(name, stderr);
    assert_eq!(e.tree("out"), out, "lab {args:?} wrote to out/");
    assert_eq!(
        e.tree("home/boxes"),
        store,
        "lab {args:?} changed the store"
    );
}

#[test]
fn refusals_say_why_and_leave_nothing_behind() {
    let e = Env::new();
    e.disk_box(BOX, "labroot");
    let rootfs = e.path("home/boxes/ctr");
    std::fs::create_dir_all(&rootfs).unwrap();
    std::fs::write(rootfs.join("rootfs.tar.gz"), "x").unwrap();
    e.meta("ctr", "rootfs", "");
    std::fs::write(e.path("out/mine.box"), "mine").unwrap();

    refused(
        &e,
        &["box", "export", BOX, "-o", "d.img"],
        2,
        "unknown_extension",
    );
    refused(&e, &["box", "export", BOX, "-o", "mine.box"], 2, "exists");
    refused(&e, &["box", "export", "ctr", "-o", "c.qcow2"], 2, "rootfs");
    refused(
        &e,
        &["box", "export", "nope", "-o", "n.box"],
        2,
        "missing_box",
    );
    refused(
        &e,
        &["box", "export", BOX, "-o", "no/d.box"],
        2,
        "missing_directory",
    );
    refused(&e, &["box", "export", "../x", "-o", "d.box"], 2, "bad_name");

    // With --force it is replaced.
    let (code, _, stderr) = e.lab(&["box", "export", BOX, "-o", "mine.box", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_ne!(std::fs::read(e.path("out/mine.box")).unwrap(), b"mine");
}

#[test]
fn a_failed_export_leaves_no_file_and_a_killed_ones_leftovers_go() {
    let e = Env::new();
    e.disk_box("other", "otherlabel");
    // What a killed export leaves: its temporary directory, named after a
    // process that is gone (no pid is above Linux's pid_max limit).
    let leftover = e.path("out/.d.box.lab-export-4194305-aB3xYz");
    std::fs::create_dir_all(leftover.join("scratch")).unwrap();
    std::fs::write(leftover.join("root.raw"), "x").unwrap();

    let (code, stdout, stderr) = e.lab(&["box", "export", "other", "-o", "d.box"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    let message: Vec<&str> = stderr.lines().filter(|l| !l.starts_with('[')).collect();
    insta::assert_snapshot!("wrong_label", message.join("\n"));
    let left: Vec<String> = std::fs::read_dir(e.path("out"))
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "left in out/: {left:?}");
}
