//! A lab whose host is another machine (`hosts:`), through the real
//! binary without VMs: libvirt is `test:///default` (LAB_LIBVIRT_URI
//! overrides the host's URI) and a stand-in `ssh` first on PATH records
//! what it is asked and answers as the host would.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use assert_cmd::Command;

const LAB: &str = "name: far
box: debian-12
hosts:
  b: {uri: 'qemu+ssh://root@lab-host-b/system'}
network:
  subnet: 10.77.60.0/24
nodes:
  node1: {ip: 10.77.60.21}
  node2: {ip: 10.77.60.22, host: b}
";

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    /// The lab in `lab/`, a recipe `debian-12` in `home/`; with a state
    /// whose nodes are reached through root@lab-host-b when `up`.
    fn new(up: bool) -> Env {
        let env = Env {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(env.path("home/recipes/debian-12")).unwrap();
        std::fs::write(env.path("home/recipes/debian-12/box.yaml"), "").unwrap();
        std::fs::create_dir_all(env.path("lab")).unwrap();
        std::fs::write(env.path("lab/lab.yaml"), LAB).unwrap();
        std::fs::create_dir_all(env.path("bin")).unwrap();
        if up {
            std::fs::create_dir_all(env.path("lab/.lab")).unwrap();
            let node = |name: &str, ip: &str| {
                serde_json::json!({
                    "domain": format!("far.{name}"), "ip": ip, "mac": "52:54:00:00:00:01",
                    "user": "lab", "box_name": "debian-12", "volumes": [], "ready": true,
                    "host_key": "ssh-ed25519 AAAA", "boot_seconds": null,
                    "ready_seconds": null, "jump": "root@lab-host-b"
                })
            };
            let st = serde_json::json!({
                "format": 2, "lab": "far", "instance": "0a1b2c3d4e5f", "file": "",
                "uri": "qemu+ssh://root@lab-host-b/system", "pool": "lab", "network": null,
                "accel": null, "accel_reason": null,
                "nodes": {"node1": node("node1", "10.77.60.21"), "node2": node("node2", "10.77.60.22")}
            });
            let file = env.path("lab/.lab/state.json");
            std::fs::write(&file, st.to_string()).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        env
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// A stand-in `ssh` running `script` (sh) after writing its arguments,
    /// one a line, to `ssh-args`.
    fn ssh_stand_in(&self, script: &str) {
        let bin = self.path("bin/ssh");
        let args = self.path("ssh-args");
        let text = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n{script}\n",
            args.display()
        );
        std::fs::write(&bin, text).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn ssh_args(&self) -> String {
        std::fs::read_to_string(self.path("ssh-args")).unwrap()
    }

    fn lab(&self, args: &[&str]) -> (String, String, i32) {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let out = Command::cargo_bin("lab")
            .unwrap()
            .args(args)
            .current_dir(self.path("lab"))
            .env("LAB_HOME", self.path("home"))
            .env("LAB_LIBVIRT_URI", "test:///default")
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env_remove("LAB_FILE")
            .env_remove("LAB_BOXES_PATH")
            .env_remove("LAB_LOG")
            .write_stdin("")
            .output()
            .unwrap();
        let text = |b: &[u8]| {
            String::from_utf8_lossy(b).replace(&self.tmp.path().display().to_string(), "[TMP]")
        };
        (
            text(&out.stdout),
            text(&out.stderr),
            out.status.code().unwrap_or(-1),
        )
    }
}

#[test]
fn status_shows_each_nodes_host() {
    let env = Env::new(false);
    let (out, err, code) = env.lab(&["status"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out, @r"
    lab far: network lab-far not created
    NODE   HOST  STATE        IP           BOX        ACCEL
    node1  b     not created  10.77.60.21  debian-12  -
    node2  b     not created  10.77.60.22  debian-12  -
    ");
    let (out, err, code) = env.lab(&["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["nodes"][0]["host"], "b");
    assert_eq!(json["nodes"][1]["host"], "b");
}

#[test]
fn console_reads_the_log_on_the_host_through_ssh() {
    let env = Env::new(true);
    env.ssh_stand_in("printf 'boot\\033[2J line\\nlogin: ok\\n'");
    let (out, err, code) = env.lab(&["console", "node2", "-n", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "login: ok\n");
    insta::assert_snapshot!(env.ssh_args(), @r"
    -o
    BatchMode=yes
    -l
    root
    --
    lab-host-b
    test -e /var/log/libvirt/qemu/far.node2-console.log || exit 3; exec cat -- /var/log/libvirt/qemu/far.node2-console.log
    ");
    env.ssh_stand_in("exit 3");
    let (_, err, code) = env.lab(&["console", "node2"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err.trim(), @"error: node node2 has no console log yet (/var/log/libvirt/qemu/far.node2-console.log does not exist on host lab-host-b); it is written from the node's first start: run `lab up node2`");
    env.ssh_stand_in(
        "echo 'ssh: connect to host lab-host-b port 22: Connection refused' >&2; exit 255",
    );
    let (_, err, code) = env.lab(&["console", "node2"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err.trim(), @r"
    error: cannot read node node2's console log /var/log/libvirt/qemu/far.node2-console.log on host lab-host-b; check that `ssh root@lab-host-b` logs in without a prompt
      caused by: `ssh -o BatchMode=yes -l root -- lab-host-b 'test -e /var/log/libvirt/qemu/far.node2-console.log || exit 3; exec cat -- /var/log/libvirt/qemu/far.node2-console.log'` failed (exit status 255):
    ssh: connect to host lab-host-b port 22: Connection refused
    ");
}
