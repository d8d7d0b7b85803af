//! End-to-end test on real VMs, with `lab` as an installed tool: the binary
//! copied out of the repository into a directory of its own, the lab
//! written by `lab init smoke` (so recipes and templates come from what is
//! built in). Builds (or reuses) the `debian-12` box and runs the smoke lab
//! through `lab up` → ssh → status → no-op up →
//! `kill -9` during boot → resume → concurrent `lab up` refused →
//! `lab inventory` with Ansible → `lab snapshot` save, restore and a
//! killed save → halt → up again (a key authorized after the first boot still
//! there) → `lab destroy`, checking libvirt for leftovers. The lab lives in a
//! directory whose path has a space, quotes, `#`, `%` and a non-ASCII
//! letter, every `lab` runs under `umask 000`, and a second lab of the same
//! name in another directory must neither take nor harm the first.
//!
//! It boots VMs, so it is `#[ignore]`d in plain `cargo test` and run by
//! `scripts/e2e` inside `scripts/sandbox` (private network namespace with its
//! own libvirtd). Outside the sandbox it fails loudly instead of skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "e2e/imports.rs"]
mod imports;
#[path = "e2e/inventory.rs"]
mod inventory;
#[path = "e2e/snapshots.rs"]
mod snapshots;

const LAB: &str = "e2esmoke";

/// The copied binary's directory, removed at the end of the test.
static INSTALLED: std::sync::Mutex<Option<tempfile::TempDir>> = std::sync::Mutex::new(None);

/// A key line written to node1's authorized_keys before a reboot (its blob
/// made up: no private key exists for it).
const KEPT_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e2Ee2eE2e2Ee2eE2e2Ee2eE2e2Ee2eE2e2Ee2eE2e e2e-kept";

/// `lab` as installed: the built binary copied into an empty directory
/// outside the repository (as `cargo install` or the .deb puts it), so
/// that nothing of the checkout is found beside it.
fn lab_bin() -> PathBuf {
    let mut installed = INSTALLED.lock().unwrap();
    let dir = installed.get_or_insert_with(|| {
        let dir = tempfile::Builder::new()
            .prefix("lab-e2e-bin-")
            .tempdir()
            .unwrap();
        std::fs::copy(assert_cmd::cargo::cargo_bin("lab"), dir.path().join("lab")).unwrap();
        dir
    });
    dir.path().join("lab")
}

/// A directory whose path every program lab hands paths to must cope with.
const ODD_PREFIX: &str = "lab-e2e it's \"#1\" %h ü-";

/// The smoke lab as `lab init smoke` writes it, with its own name and
/// subnet, so a user's smoke lab is never touched.
fn lab_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(ODD_PREFIX)
        .tempdir()
        .unwrap();
    let parent = dir.path().parent().unwrap();
    let init = lab(
        parent,
        &["init", "smoke", &dir.path().display().to_string()],
    );
    assert!(init.status.success(), "lab init smoke failed");
    let file = dir.path().join("lab.yaml");
    let text = std::fs::read_to_string(&file).expect("lab init wrote lab.yaml");
    let text = text
        .replace("name: smoke", &format!("name: {LAB}"))
        .replace("10.77.10.", "10.77.99.");
    assert!(
        text.contains(LAB) && text.contains("10.77.99.21"),
        "smoke lab changed shape:\n{text}"
    );
    std::fs::write(&file, text).unwrap();
    dir
}

/// `lab` under `umask 000`: whatever the umask, what it creates is private.
fn lab_cmd() -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(lab_bin());
    // Recipes and templates come from the binary, not from the checkout.
    cmd.env_remove("LAB_BOXES_PATH").env_remove("LAB_FILE");
    // SAFETY: umask(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    cmd
}

fn lab(dir: &Path, args: &[&str]) -> Output {
    let out = lab_cmd()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "$ lab {}\n{}{}(exit {:?})",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    out
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = lab(dir, args);
    assert!(out.status.success(), "lab {} failed", args.join(" "));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn virsh(args: &[&str]) -> String {
    let out = Command::new("virsh")
        .arg("-c")
        .arg(std::env::var("LAB_LIBVIRT_URI").unwrap_or_else(|_| "qemu:///system".into()))
        .args(args)
        .output()
        .expect("virsh");
    assert!(
        out.status.success(),
        "virsh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lab_domains() -> Vec<String> {
    virsh(&["list", "--all", "--name"])
        .lines()
        .filter(|l| l.starts_with(&format!("{LAB}.")))
        .map(str::to_string)
        .collect()
}

fn running_domains() -> usize {
    virsh(&["list", "--state-running", "--name"])
        .lines()
        .filter(|l| l.starts_with(&format!("{LAB}.")))
        .count()
}

/// Nothing under `dir` is writable by group or others; keys and secrets
/// are 0600, directories 0700.
fn assert_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(
            mode & 0o022,
            0,
            "{} is {mode:o} under umask 000",
            path.display()
        );
        let name = entry.file_name().to_string_lossy().into_owned();
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            assert_private(&path);
        } else if name.ends_with("ed25519")
            || name.starts_with("secrets")
            || name == "state.json"
            || name == "lock"
        {
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
}

fn require_sandbox() {
    assert!(
        std::env::var_os("LAB_SANDBOX").is_some(),
        "this test boots VMs and must run inside the sandbox: scripts/e2e (or scripts/sandbox cargo test --test e2e -- --ignored)"
    );
}

/// When the test fails, its lab goes: a failed run must not leave VMs,
/// network and volumes behind for the next one to collide with (only the
/// state dir, which goes with the temporary dir, proves them the lab's).
struct DestroyOnFailure<'a>(&'a Path);

impl Drop for DestroyOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = lab(self.0, &["destroy", "-f"]);
        }
    }
}

#[test]
#[ignore = "boots VMs: run scripts/e2e"]
fn smoke_lab_lifecycle_on_real_vms() {
    require_sandbox();
    let tmp = lab_dir();
    let dir = tmp.path();
    let _cleanup = DestroyOnFailure(dir);

    // 0. `lab doctor` finds this host fit for the lab, and says which
    //    accelerator it gets and why.
    let out = lab(dir, &["doctor", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(out.status.code(), Some(0));
    let kvm = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kvm")
        .unwrap_or_else(|| panic!("no kvm check: {json}"));
    assert!(
        kvm["status"] == "pass" || kvm["detail"].as_str().is_some_and(|d| d.contains("TCG")),
        "{kvm}"
    );
    assert!(
        lab_domains().is_empty(),
        "leftover domains: {:?}",
        lab_domains()
    );

    // 1. `lab up`, killed with SIGKILL once both VMs are booting, while a
    //    second concurrent `lab up` is refused.
    let t0 = Instant::now();
    let mut first = lab_cmd()
        .arg("up")
        .current_dir(dir)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while running_domains() < 2 {
        assert!(
            first.try_wait().unwrap().is_none(),
            "lab up exited before both VMs were started"
        );
        assert!(Instant::now() < deadline, "VMs never started");
        std::thread::sleep(Duration::from_millis(300));
    }
    let second = lab(dir, &["up"]);
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains(&format!("lab {LAB} is busy")), "{stderr}");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    eprintln!(
        "killed lab up after {:.1}s with both VMs booting",
        t0.elapsed().as_secs_f64()
    );

    // 2. Resume: exactly the two domains, both ready.
    let t1 = Instant::now();
    let table = ok(dir, &["up"]);
    eprintln!("resumed lab up took {:.1}s", t1.elapsed().as_secs_f64());
    let mut doms = lab_domains();
    doms.sort();
    assert_eq!(doms, vec![format!("{LAB}.node1"), format!("{LAB}.node2")]);
    assert!(
        table.contains("10.77.99.21") && table.contains("10.77.99.22"),
        "{table}"
    );

    // 3. SSH with the generated key, by name, exit status passed through.
    ok(dir, &["ssh", "node1", "--", "ping", "-c1", "-W5", "node2"]);
    assert_eq!(ok(dir, &["ssh", "node2", "--", "hostname"]).trim(), "node2");
    assert_eq!(
        lab(dir, &["ssh", "node1", "--", "exit", "7"]).status.code(),
        Some(7)
    );
    let hosts = std::fs::read_to_string(dir.join(".lab/known_hosts")).unwrap();
    assert_eq!(hosts.lines().count(), 2, "both host keys pinned:\n{hosts}");

    // 4. Status as JSON.
    let json: serde_json::Value = serde_json::from_str(&ok(dir, &["status", "--json"])).unwrap();
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    for (n, ip) in nodes.iter().zip(["10.77.99.21", "10.77.99.22"]) {
        assert_eq!(n["state"], "running", "{n}");
        assert_eq!(n["ready"], true, "{n}");
        assert_eq!(n["ip"], ip);
    }

    // 5. A second `lab up` is a no-op.
    let t2 = Instant::now();
    let out = ok(dir, &["up"]);
    let noop = t2.elapsed();
    assert!(out.contains("nothing to do"), "{out}");
    eprintln!("no-op lab up took {:.3}s", noop.as_secs_f64());
    assert_eq!(lab_domains().len(), 2);

    // 5b. The state dir is private although lab ran under umask 000.
    assert_private(&dir.join(".lab"));

    // 5c. The same lab name in another directory: refused, shown nothing
    //     of this lab's VMs, and its destroy leaves them alone.
    let other = tempfile::Builder::new()
        .prefix(ODD_PREFIX)
        .tempdir()
        .unwrap();
    let text = std::fs::read_to_string(dir.join("lab.yaml"))
        .unwrap()
        .replace("10.77.99.", "10.77.98.");
    std::fs::write(other.path().join("lab.yaml"), text).unwrap();
    let refused = lab(other.path(), &["up"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("lab `{LAB}` already exists"))
            && stderr.contains(&dir.join("lab.yaml").display().to_string()),
        "{stderr}"
    );
    assert!(
        !other.path().join(".lab").exists(),
        "the refused up made no state dir"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(other.path(), &["status", "--json"])).unwrap();
    assert!(
        json["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "not created"),
        "{json}"
    );
    assert_eq!(json["not_ours"].as_array().unwrap().len(), 3, "{json}");
    let out = ok(other.path(), &["destroy", "-f"]);
    assert!(
        out.contains("0 VM(s), 0 volume(s)") && out.contains("left alone"),
        "{out}"
    );
    assert_eq!(running_domains(), 2, "the first lab's VMs still run");
    ok(dir, &["ssh", "node1", "--", "true"]);

    // 6. ssh-config works with plain `ssh -F`.
    let cfg = dir.join("ssh_config");
    std::fs::write(&cfg, ok(dir, &["ssh-config"])).unwrap();
    let out = Command::new("ssh")
        .arg("-F")
        .arg(&cfg)
        .args(["node2", "hostname"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh -F: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "node2");

    // 6b. Ansible on this machine with `lab inventory`.
    inventory::with_ansible(dir);

    // 6c. Snapshots: save, change, restore without a reboot; a save killed
    //     midway leaves nothing usable and blocks nothing.
    snapshots::save_and_restore(dir);
    snapshots::killed_save(dir);

    // 7. Halt shuts both down (gracefully within the timeout). A key
    //    authorized after the first boot (as provisioning authorizes a
    //    controller's) must survive the next boot.
    ok(
        dir,
        &[
            "ssh",
            "node1",
            "--",
            "echo",
            KEPT_KEY,
            ">>",
            ".ssh/authorized_keys",
        ],
    );
    let t3 = Instant::now();
    let out = ok(dir, &["halt", "--timeout", "120"]);
    eprintln!("lab halt took {:.1}s", t3.elapsed().as_secs_f64());
    assert!(out.contains("halted 2 node(s)"), "{out}");
    assert_eq!(running_domains(), 0);
    let kept = ok(dir, &["snapshot", "list"]);
    assert!(
        kept.contains("base") && kept.contains("half"),
        "halt keeps snapshots: {kept}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(dir, &["status", "--json"])).unwrap();
    assert!(
        json["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "shut off"),
        "{json}"
    );

    // 7b. Up again: both boot from their disks, and the key is still there.
    ok(dir, &["up"]);
    let kept = ok(dir, &["ssh", "node1", "--", "cat", ".ssh/authorized_keys"]);
    assert!(
        kept.lines().any(|l| l == KEPT_KEY),
        "a key authorized before the reboot is gone:\n{kept}"
    );

    // 8. Destroy leaves nothing of the lab in libvirt or on disk.
    let out = ok(dir, &["destroy", "-f"]);
    assert!(out.contains("2 snapshot(s)"), "{out}");
    snapshots::nothing_left();
    assert!(
        lab_domains().is_empty(),
        "domains left: {:?}",
        lab_domains()
    );
    let nets = virsh(&["net-list", "--all", "--name"]);
    assert!(
        !nets.lines().any(|l| l == format!("lab-{LAB}")),
        "network left:\n{nets}"
    );
    let vols = virsh(&["vol-list", "lab"]);
    assert!(!vols.contains(&format!("{LAB}.")), "volumes left:\n{vols}");
    assert!(!dir.join(".lab").exists(), "state dir left");
    INSTALLED.lock().unwrap().take();
}

#[test]
#[ignore = "boots VMs: run scripts/e2e"]
fn imported_boxes_boot_from_their_own_disks() {
    require_sandbox();
    imports::round_trip();
    INSTALLED.lock().unwrap().take();
}
