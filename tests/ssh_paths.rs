//! `lab ssh` and `lab ssh-config` for a lab whose directory has a space,
//! quotes, `#`, `%` and a non-ASCII letter in its path: what they hand to
//! OpenSSH resolves (`ssh -G`, which connects nowhere) to exactly the lab's
//! key and known_hosts. A path OpenSSH cannot take is refused with a
//! sentence. No VM, no libvirt, no network.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A copy of labs/smoke under `parent`, with a state that says node1 is up
/// (pinned host key) and a real lab key.
struct Lab {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    dir: PathBuf,
}

fn lab_in(sub: &str) -> Lab {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join("recipes/debian-12")).unwrap();
    std::fs::write(home.join("recipes/debian-12/box.yaml"), "").unwrap();
    let dir = tmp.path().join(sub);
    std::fs::create_dir_all(dir.join(".lab")).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    std::fs::copy(src, dir.join("lab.yaml")).unwrap();
    let state = serde_json::json!({
        "lab": "smoke", "uri": "test:///default", "pool": "lab", "network": "lab-smoke",
        "accel": null, "accel_reason": null,
        "nodes": {"node1": {
            "domain": "lab-smoke-node1", "ip": "10.77.10.21", "mac": "52:54:00:00:00:01",
            "user": "lab", "box_name": "debian-12", "volumes": [], "ready": true,
            "host_key": "ssh-ed25519 AAAA", "boot_seconds": null, "ready_seconds": null
        }}
    });
    std::fs::write(dir.join(".lab/state.json"), state.to_string()).unwrap();
    let key = dir.join(".lab/id_ed25519");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(keygen.success());
    std::fs::write(dir.join(".lab/known_hosts"), "").unwrap();
    Lab {
        _tmp: tmp,
        home,
        dir,
    }
}

impl Lab {
    fn lab(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("lab").unwrap();
        cmd.args(args)
            .current_dir(&self.dir)
            .env("LAB_HOME", &self.home)
            .env("LAB_BOXES_PATH", self.home.join("recipes"))
            .env_remove("LAB_FILE")
            .env_remove("LAB_LIBVIRT_URI")
            .env("NO_COLOR", "1");
        cmd
    }

    fn state_file(&self, name: &str) -> String {
        self.dir
            .join(".lab")
            .join(name)
            .to_str()
            .unwrap()
            .to_string()
    }
}

const ODD: &str = "x/my lab/it's \"#1\" %h ü";

/// `ssh -G ARGS` → the value lines of `keyword`.
fn ssh_g(args: &[String], keyword: &str) -> Vec<String> {
    let out = std::process::Command::new("ssh")
        .arg("-G")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh -G {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .map(str::to_string)
        .collect()
}

/// The arguments `lab ssh node1 -- true` gives `ssh`, one per line: a
/// stand-in `ssh` first on PATH records them (the command must succeed).
fn lab_ssh_arguments(lab: &Lab) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = lab.home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = lab.home.join("args");
    std::fs::write(
        bin.join("ssh"),
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = lab
        .lab(&["ssh", "node1", "--", "true"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&record).unwrap()
}

#[test]
fn ssh_config_resolves_to_the_lab_key_and_known_hosts() {
    let lab = lab_in(ODD);
    let out = lab.lab(&["ssh-config"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = lab.dir.join("ssh_config");
    std::fs::write(&cfg, &out.stdout).unwrap();
    let args = [
        "-F".to_string(),
        cfg.to_str().unwrap().to_string(),
        "node1".to_string(),
    ];
    assert_eq!(ssh_g(&args, "hostname"), ["10.77.10.21"]);
    assert_eq!(
        ssh_g(&args, "userknownhostsfile"),
        [lab.state_file("known_hosts")]
    );
    // Printed before `%` expansion, which turns `%%` into `%`.
    assert_eq!(
        ssh_g(&args, "identityfile"),
        [lab.state_file("id_ed25519").replace('%', "%%")]
    );
    assert_eq!(ssh_g(&args, "stricthostkeychecking"), ["true"]);
}

#[test]
fn ssh_hands_ssh_options_that_resolve_to_the_lab_key_and_known_hosts() {
    let lab = lab_in(ODD);
    let recorded = lab_ssh_arguments(&lab);
    let mut args: Vec<String> = recorded.lines().map(str::to_string).collect();
    // The user as an argument of its own, `--` before the address.
    assert_eq!(
        args[args.len() - 5..],
        ["-l", "lab", "--", "10.77.10.21", "true"]
    );
    args.truncate(args.len() - 1);
    args.insert(0, "/dev/null".into());
    args.insert(0, "-F".into());
    assert_eq!(
        ssh_g(&args, "userknownhostsfile"),
        [lab.state_file("known_hosts")]
    );
    assert_eq!(
        ssh_g(&args, "identityfile"),
        [lab.state_file("id_ed25519").replace('%', "%%")]
    );
    assert_eq!(ssh_g(&args, "stricthostkeychecking"), ["true"]);
    assert_eq!(ssh_g(&args, "user"), ["lab"]);
    assert_eq!(ssh_g(&args, "hostname"), ["10.77.10.21"]);
}

#[test]
fn a_lab_path_ssh_cannot_take_is_refused() {
    let lab = lab_in("a\nb");
    let shown = format!("{:?}", lab.dir.to_str().unwrap());
    let errors: Vec<String> = [&["ssh-config"][..], &["ssh", "node1"]]
        .iter()
        .map(|args| {
            let out = lab.lab(args).output().unwrap();
            assert!(!out.status.success(), "lab {args:?} succeeded");
            String::from_utf8_lossy(&out.stderr).replace(&shown, "\"[LAB_DIR]\"")
        })
        .collect();
    assert_eq!(errors[0], errors[1]);
    insta::assert_snapshot!(errors[0]);
}

#[test]
fn ssh_to_a_node_of_a_remote_host_goes_through_it() {
    let lab = lab_in("plain");
    let state = lab.dir.join(".lab/state.json");
    let mut st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    st["nodes"]["node1"]["jump"] = "root@lab-host-b".into();
    std::fs::write(&state, st.to_string()).unwrap();
    let recorded = lab_ssh_arguments(&lab);
    assert!(
        recorded.contains("\n-o\nProxyJump=root@lab-host-b\n-T\n-l\nlab\n--\n10.77.10.21\ntrue\n"),
        "{recorded}"
    );
}
