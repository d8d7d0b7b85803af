//! Every file and directory `lab` creates has an explicit mode, whatever
//! the umask: `lab up` (fake hypervisor), `lab provision` (`controller:
//! host`, a stand-in `ansible-playbook`), the internal key, a forwarder's
//! log, the box store, a box build's log and image hygiene all run in a
//! child process under `umask 000` (umask is per process: the other tests
//! keep theirs); then the state dir, the store, `$LAB_HOME` and the image
//! are walked.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::tests::{fixture_in, ready_probe};
use super::up;
use crate::provision::Options;
use crate::state::{FORWARDS_LOG, INTERNAL_KEY_FILE};
use crate::ui::nodes::Silent;

/// Set in the child: the directory to create everything in.
const CHILD_ROOT: &str = "LAB_TEST_MODES_ROOT";
const THIS_TEST: &str =
    "ops::modes_tests::everything_lab_creates_has_an_explicit_mode_under_umask_000";

const LAB: &str = "name: md\nbox: testbox\nnetwork:\n  subnet: 10.88.3.0/24\nnodes:\n  node1: {ip: 10.88.3.21, roles: [app]}\nprovision:\n  type: ansible\n  controller: host\n  playbook: site.yml\n";

/// What the child does under `umask 000`.
fn make_everything(root: &Path) {
    let (_fake, ctx) = fixture_in(root, LAB);
    std::fs::write(ctx.lab.dir().join("site.yml"), "- hosts: all\n").unwrap();
    let mut opts = ready_probe();
    opts.provision = false;
    up::up(&ctx, &opts, Arc::new(Silent)).unwrap();

    let ansible = root.join("ansible-playbook");
    std::fs::write(
        &ansible,
        "#!/bin/sh\necho 'PLAY RECAP ***'\necho 'node1 : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0'\n",
    )
    .unwrap();
    std::fs::set_permissions(&ansible, std::fs::Permissions::from_mode(0o755)).unwrap();
    let popts = Options {
        host_ansible: ansible,
        ..Default::default()
    };
    super::provision::provision(&ctx, &popts, &Silent)
        .unwrap()
        .unwrap();

    let sd = &ctx.state_dir;
    crate::ssh::ensure_keypair(&sd.file(INTERNAL_KEY_FILE), "lab-internal@md").unwrap();
    // The forwarder cannot start (no such program), after opening its log.
    let addr = |s: &str| s.parse().unwrap();
    let started = crate::forward::spawn(
        Path::new("/nonexistent/lab"),
        addr("127.0.0.1:1"),
        addr("127.0.0.1:2"),
        None,
        &sd.file(FORWARDS_LOG),
        |_| Ok(()),
    );
    assert!(started.is_err());
    crate::boxes::build::start_log(&crate::boxes::build_log("testbox")).unwrap();

    let rootfs = root.join("rootfs");
    for d in ["usr/bin", "usr/sbin", "etc/ssh"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    for f in ["usr/bin/cloud-init", "usr/sbin/sshd", "etc/shadow"] {
        std::fs::write(rootfs.join(f), "").unwrap();
    }
    crate::boxes::hygiene::apply(&rootfs, "labroot").unwrap();
}

/// Every path under `dir` (itself included), depth first.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            walk(&entry.path(), out);
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn everything_lab_creates_has_an_explicit_mode_under_umask_000() {
    if let Some(root) = std::env::var_os(CHILD_ROOT) {
        // SAFETY: umask(2) cannot fail; this process runs only this test.
        unsafe { libc::umask(0) };
        make_everything(Path::new(&root));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", THIS_TEST, "--test-threads=1", "--nocapture"])
        .env(CHILD_ROOT, root)
        .env("LAB_HOME", root.join("home"))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.contains("1 passed"),
        "the child under umask 000 failed:\n{said}"
    );

    let state = root.join("lab/.lab");
    let expected = [
        "lock",
        "state.json",
        "id_ed25519",
        "id_ed25519.pub",
        "known_hosts",
        "console",
        "seeds",
        "seeds/node1.img",
        "secrets.json",
        "provision.log",
        "ansible",
        "ansible/inventory.yml",
        "ansible/secrets.json",
        "ansible/vars.json",
        "internal_ed25519",
        "internal_ed25519.pub",
        "forwards.log",
    ];
    for f in expected {
        assert!(state.join(f).exists(), "{f} was not made");
    }
    for f in [
        "boxes/.testbox.lock",
        "boxes/testbox/box.json",
        "boxes/testbox/disk.qcow2",
        "home/logs/box-testbox.log",
    ] {
        assert!(root.join(f).exists(), "{f} was not made");
    }
    let mut paths = Vec::new();
    for dir in [state, root.join("boxes"), root.join("home")] {
        walk(&dir, &mut paths);
    }
    let mut wrong = Vec::new();
    for p in &paths {
        let name = p.file_name().unwrap().to_string_lossy();
        let want = if p.is_dir() {
            0o700
        } else if name.ends_with(".pub") || p.parent().unwrap().ends_with("boxes/testbox") {
            0o644
        } else {
            0o600
        };
        if mode(p) != want {
            wrong.push(format!(
                "{:04o} (want {want:04o}) {}",
                mode(p),
                p.strip_prefix(root).unwrap().display()
            ));
        }
    }
    assert!(wrong.is_empty(), "wrong modes:\n{}", wrong.join("\n"));

    // Files and directories hygiene adds to an image: Debian's modes.
    let rootfs = root.join("rootfs");
    for (rel, want) in [
        ("etc/machine-id", 0o444),
        ("etc/hostname", 0o644),
        ("etc/fstab", 0o644),
        ("etc/ssh/sshd_config.d", 0o755),
        ("etc/ssh/sshd_config.d/10-lab.conf", 0o644),
        ("etc/systemd/system/ssh.service.d", 0o755),
        ("etc/systemd", 0o755),
        ("etc/systemd/system/lab-ssh-keygen.service", 0o644),
        ("etc/cloud/cloud.cfg.d/05-lab-datasource.cfg", 0o644),
    ] {
        assert_eq!(mode(&rootfs.join(rel)), want, "{rel}");
    }
}
