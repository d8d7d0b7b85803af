//! The e2e's snapshot steps on the running smoke lab: save, change a
//! node, restore (the change is gone, no reboot: same boot id; clocks set;
//! `lab up` a no-op), `kill -9` of a `save` midway (nothing usable is
//! left, the same `save` then succeeds), and after `lab destroy` no
//! snapshot metadata or data anywhere.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{LAB, lab, lab_cmd, ok, virsh};

/// Where libvirt keeps the snapshot metadata of domain `dom`.
pub fn metadata_dir(dom: &str) -> std::path::PathBuf {
    Path::new("/var/lib/libvirt/qemu/snapshot").join(dom)
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(dir, args)).unwrap()
}

/// Names of the lab's snapshots with whether each is usable.
fn listed(dir: &Path) -> Vec<(String, bool)> {
    names(&json(dir, &["snapshot", "list", "--json"]))
}

/// [`listed`] without echoing the command (for polling).
fn listed_quietly(dir: &Path) -> Vec<(String, bool)> {
    let out = lab_cmd()
        .args(["snapshot", "list", "--json"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    names(&serde_json::from_slice(&out.stdout).unwrap())
}

fn names(list: &serde_json::Value) -> Vec<(String, bool)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["usable"] == true))
        .collect()
}

fn boot_id(dir: &Path, node: &str) -> String {
    ok(
        dir,
        &["ssh", node, "--", "cat", "/proc/sys/kernel/random/boot_id"],
    )
    .trim()
    .to_string()
}

/// Save, change, restore; the change is gone and nothing rebooted.
pub fn save_and_restore(dir: &Path) {
    let saved = json(dir, &["snapshot", "save", "base", "--json"]);
    eprintln!(
        "snapshot save: {:.1} s (paused {:.1} s), {} bytes",
        saved["seconds"].as_f64().unwrap(),
        saved["paused_seconds"].as_f64().unwrap(),
        saved["bytes"]
    );
    assert_eq!(saved["state"], "running", "{saved}");
    let boot = boot_id(dir, "node1");
    ok(dir, &["ssh", "node1", "--", "echo changed > ~/after-save"]);
    let restored = json(dir, &["snapshot", "restore", "base", "--json"]);
    eprintln!("snapshot restore: {restored}");
    for c in restored["clocks"].as_array().unwrap() {
        let off = c["offset_seconds"]
            .as_f64()
            .unwrap_or_else(|| panic!("clock not set: {c}"));
        assert!(off.abs() < 2.0, "{c}");
    }
    assert_eq!(restored["clocks"].as_array().unwrap().len(), 2);
    let gone = lab(
        dir,
        &["ssh", "node1", "--", "test", "!", "-e", "~/after-save"],
    );
    assert!(
        gone.status.success(),
        "the file written after the save is still there"
    );
    assert_eq!(boot_id(dir, "node1"), boot, "node1 rebooted");
    let up = ok(dir, &["up"]);
    assert!(up.contains("nothing to do"), "{up}");
    let status = json(dir, &["status", "--json"]);
    assert_eq!(status["restored"]["name"], "base", "{status}");
    assert_eq!(listed(dir), [("base".to_string(), true)]);
}

/// `kill -9` of `lab snapshot save half` while it works (seen as a
/// snapshot listed but not usable); then the same `save` succeeds.
pub fn killed_save(dir: &Path) {
    for attempt in 1..=5 {
        let mut save = lab_cmd()
            .args(["snapshot", "save", "half"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !listed_quietly(dir).iter().any(|(n, _)| n == "half") {
            assert!(
                Instant::now() < deadline,
                "the save never recorded its snapshot"
            );
            if save.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        save.kill().unwrap(); // SIGKILL
        save.wait().unwrap();
        let after = listed(dir);
        eprintln!("kill -9 of snapshot save, attempt {attempt}: list says {after:?}");
        let half = after.iter().find(|(n, _)| n == "half");
        if half.is_some_and(|(_, usable)| *usable) {
            // Killed too late (it had finished): a whole snapshot is fine;
            // remove it and try to catch it midway again.
            for dom in ["node1", "node2"] {
                let names = virsh(&["snapshot-list", &format!("{LAB}.{dom}"), "--name"]);
                assert!(
                    names.lines().any(|l| l.starts_with("lab-half.")),
                    "usable yet missing on {dom}"
                );
            }
            ok(dir, &["snapshot", "delete", "half"]);
            continue;
        }
        assert!(
            after.iter().filter(|(n, _)| n != "half").all(|(_, u)| *u),
            "{after:?}"
        );
        ok(dir, &["snapshot", "save", "half"]);
        assert_eq!(
            listed(dir),
            [("base".to_string(), true), ("half".to_string(), true)]
        );
        ok(dir, &["ssh", "node2", "--", "true"]);
        return;
    }
    panic!("five saves finished before they could be killed midway");
}

/// After `lab destroy`: no snapshot metadata of the lab's domains, and
/// (with the volumes, checked by the caller) no snapshot data.
pub fn nothing_left() {
    for node in ["node1", "node2"] {
        let meta = metadata_dir(&format!("{LAB}.{node}"));
        assert!(!meta.exists(), "{} left", meta.display());
    }
}
