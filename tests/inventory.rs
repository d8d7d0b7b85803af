//! `lab inventory` from the real binary, read by the real Ansible: a lab
//! state written as `lab up` leaves it (no VM is booted), each format
//! given to `ansible-inventory --list` and to `ansible -m ping` (with a
//! stand-in `ssh` that records its arguments, which the real `ssh -G`
//! then resolves), in lab directories whose paths have spaces and quotes.
//! Ansible (Debian package ansible-core, installed by scripts/test) is
//! required: these tests fail without it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// The smoke lab with roles: node1 in `app`, node2 in `app` and `db`.
const LAB_YAML: &str = "name: invlab\nbox: debian-12\nnetwork: {subnet: 10.77.50.0/24}\nnodes:\n  node1: {ip: 10.77.50.21, roles: [app]}\n  node2: {ip: 10.77.50.22, roles: [app, db]}\nprovision:\n  type: shell\n  scripts:\n    - {on: [node1, node2], inline: 'true'}\n";

/// A lab directory (under a path starting with `prefix`) whose state says
/// the nodes `up` are up and ready, as `lab up` writes it.
struct Lab {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn write_private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn lab_with(prefix: &str, up: &[&str]) -> Lab {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    std::fs::write(dir.path().join("lab.yaml"), LAB_YAML).unwrap();
    let sd = dir.path().join(".lab");
    std::fs::create_dir(&sd).unwrap();
    std::fs::set_permissions(&sd, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut nodes = serde_json::Map::new();
    let mut known = String::new();
    for (name, ip) in [("node1", "10.77.50.21"), ("node2", "10.77.50.22")] {
        let ready = up.contains(&name);
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxh";
        nodes.insert(
            name.into(),
            json!({
                "domain": format!("invlab.{name}"), "ip": ip, "mac": "52:54:00:12:34:56",
                "user": "lab", "box_name": "debian-12", "volumes": [], "ready": ready,
                "host_key": if ready { Some(key) } else { None },
                "boot_seconds": null, "ready_seconds": null
            }),
        );
        if ready {
            known.push_str(&format!("{ip},{name} {key}\n"));
        }
    }
    let st = json!({
        "format": 2, "lab": "invlab", "instance": "0a1b2c3d4e5f", "file": "",
        "uri": "test:///default", "pool": "lab", "network": null, "accel": null,
        "accel_reason": null, "nodes": nodes
    });
    write_private(&sd.join("state.json"), &st.to_string(), 0o600);
    write_private(&sd.join("id_ed25519"), "not a key\n", 0o600);
    write_private(&sd.join("known_hosts"), &known, 0o644);
    Lab {
        dir,
        home: tempfile::tempdir().unwrap(),
    }
}

impl Lab {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn state_file(&self, name: &str) -> String {
        self.path().join(".lab").join(name).display().to_string()
    }

    /// `lab ARGS` in the lab directory.
    fn lab(&self, args: &[&str]) -> Output {
        Command::new(assert_cmd::cargo::cargo_bin("lab"))
            .args(args)
            .current_dir(self.path())
            .env("LAB_HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env_remove("LAB_FILE")
            .env_remove("LAB_LOG")
            .output()
            .unwrap()
    }

    /// stdout of a `lab inventory ARGS` that succeeds, and its stderr.
    fn inventory(&self, args: &[&str]) -> (String, String) {
        let out = self.lab(&[&["inventory"], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "lab inventory {args:?}: {stderr}");
        (String::from_utf8(out.stdout).unwrap(), stderr)
    }

    /// An inventory source for each format, as a user would make it: the
    /// YAML and INI printed into files (without an extension, so each of
    /// Ansible's plugins may try it), the JSON from an inventory script
    /// that runs `lab inventory --format json`.
    fn sources(&self, out: &Path) -> Vec<PathBuf> {
        let yaml = out.join("hosts");
        std::fs::write(&yaml, self.inventory(&[]).0).unwrap();
        let ini = out.join("hosts-ini");
        std::fs::write(&ini, self.inventory(&["--format", "ini"]).0).unwrap();
        let script = out.join("lab-inventory");
        let bin = assert_cmd::cargo::cargo_bin("lab");
        let q = |p: &Path| lab::process::shell_quote(p.to_str().unwrap());
        write_private(
            &script,
            &format!(
                "#!/bin/sh\nexec {} inventory -f {} --format json\n",
                q(&bin),
                q(&self.path().join("lab.yaml"))
            ),
            0o755,
        );
        vec![yaml, ini, script]
    }
}

/// A string `ansible-inventory --list` printed: plain, or wrapped as
/// `{"__ansible_unsafe": ...}` (how it shows `!unsafe` values).
fn text(v: &Value) -> &str {
    v.get("__ansible_unsafe")
        .unwrap_or(v)
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
}

fn ansible_list(source: &Path) -> Value {
    let out = Command::new("ansible-inventory")
        .arg("-i")
        .arg(source)
        .arg("--list")
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .output()
        .expect("ansible-inventory (Debian package ansible-core) must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("WARNING"),
        "ansible-inventory -i {}: {stderr}",
        source.display()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The values of `keyword` in `ssh -G` output.
fn resolved(out: &str, keyword: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .map(str::to_string)
        .collect()
}

/// `ansible -i SOURCE node2 -m ping` with a stand-in `ssh` that records
/// its arguments: how many of them are `IdentityFile="KEY"`, and what the
/// real `ssh -G` makes of them all (`-F /dev/null`).
fn ssh_config_of_a_ping(source: &Path, tmp: &Path, key: &str) -> (usize, String) {
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = tmp.join("ssh-args");
    let _ = std::fs::remove_file(&record);
    write_private(
        &bin.join("ssh"),
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit 255\n",
            record.display()
        ),
        0o755,
    );
    let ping = Command::new("ansible")
        .arg("-i")
        .arg(source)
        .args(["node2", "-m", "ping"])
        .current_dir(tmp)
        .env("HOME", tmp)
        .env("ANSIBLE_HOST_KEY_CHECKING", "True")
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    let recorded = std::fs::read_to_string(&record).unwrap_or_else(|_| {
        panic!(
            "ansible ran no ssh: {}",
            String::from_utf8_lossy(&ping.stdout)
        )
    });
    let mut words: Vec<&str> = recorded.lines().collect();
    let host = words
        .iter()
        .position(|w| *w == "10.77.50.22")
        .expect("the node's address");
    words.truncate(host);
    let g = Command::new("ssh")
        .args(["-G", "-F", "/dev/null"])
        .args(&words)
        .arg("10.77.50.22")
        .output()
        .unwrap();
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    let identity = format!("IdentityFile={}", lab::ssh::openssh::quote_path(key));
    let given = words.iter().filter(|w| **w == identity).count();
    (given, String::from_utf8(g.stdout).unwrap())
}

#[test]
fn every_format_gives_ansible_both_nodes_in_their_groups_and_the_pinned_login() {
    let lab = lab_with("lab inv it's #1 ü-", &["node1", "node2"]);
    let tmp = tempfile::tempdir().unwrap();
    let (key, known_hosts) = (lab.state_file("id_ed25519"), lab.state_file("known_hosts"));
    for source in lab.sources(tmp.path()) {
        let at = source.display().to_string();
        let list = ansible_list(&source);
        assert_eq!(list["app"]["hosts"], json!(["node1", "node2"]), "{at}");
        assert_eq!(list["db"]["hosts"], json!(["node2"]), "{at}");
        for (node, ip) in [("node1", "10.77.50.21"), ("node2", "10.77.50.22")] {
            let vars = &list["_meta"]["hostvars"][node];
            assert_eq!(text(&vars["ansible_host"]), ip, "{at}");
            assert_eq!(text(&vars["ansible_user"]), "lab", "{at}");
            assert_eq!(text(&vars["ansible_ssh_private_key_file"]), key, "{at}");
            let args = text(&vars["ansible_ssh_common_args"]);
            assert!(args.contains("StrictHostKeyChecking=yes"), "{at}: {args}");
        }
        // What ssh is run with: the key (from ansible_ssh_private_key_file
        // and from the common args), the pinned known_hosts, strict checking.
        let (given, g) = ssh_config_of_a_ping(&source, tmp.path(), &key);
        assert_eq!(given, 2, "{at}");
        assert_eq!(
            resolved(&g, "userknownhostsfile"),
            [known_hosts.as_str()],
            "{at}"
        );
        assert_eq!(resolved(&g, "identityfile"), [key.as_str()], "{at}");
        assert_eq!(resolved(&g, "stricthostkeychecking"), ["true"], "{at}");
        assert_eq!(resolved(&g, "user"), ["lab"], "{at}");
    }
}

#[test]
fn a_path_ansible_cannot_pass_as_key_file_leaves_that_variable_out_and_says_so() {
    // The e2e's lab path: `"` and `%` would reach ssh unescaped.
    let lab = lab_with("lab-e2e it's \"#1\" %h ü-", &["node1", "node2"]);
    let tmp = tempfile::tempdir().unwrap();
    let (_, stderr) = lab.inventory(&[]);
    assert!(
        stderr.starts_with("note: ansible_ssh_private_key_file is left out"),
        "{stderr}"
    );
    for source in lab.sources(tmp.path()) {
        let at = source.display().to_string();
        let list = ansible_list(&source);
        let vars = &list["_meta"]["hostvars"]["node1"];
        assert!(
            vars.get("ansible_ssh_private_key_file").is_none(),
            "{at}: {vars}"
        );
        assert_eq!(list["db"]["hosts"], json!(["node2"]), "{at}");
        let key = lab.state_file("id_ed25519");
        let (given, g) = ssh_config_of_a_ping(&source, tmp.path(), &key);
        assert_eq!(given, 1, "{at}: only the common args name the key");
        assert_eq!(
            resolved(&g, "userknownhostsfile"),
            [lab.state_file("known_hosts")]
        );
        // `ssh -G` shows IdentityFile before `%` expansion.
        assert_eq!(
            resolved(&g, "identityfile"),
            [key.replace('%', "%%")],
            "{at}"
        );
    }
}

#[test]
fn a_node_not_up_is_left_out_and_named() {
    let lab = lab_with("lab inv ", &["node1"]);
    let tmp = tempfile::tempdir().unwrap();
    let (_, stderr) = lab.inventory(&[]);
    assert_eq!(
        stderr,
        "note: node node2 is not up, so it is left out of the inventory; `lab up node2` starts it\n"
    );
    for source in lab.sources(tmp.path()) {
        let list = ansible_list(&source);
        assert_eq!(list["app"]["hosts"], json!(["node1"]));
        assert!(list["_meta"]["hostvars"].get("node2").is_none(), "{list}");
    }
}

/// stderr of a failing `lab inventory`, temp paths replaced.
fn fails(lab: &Lab) -> String {
    let out = lab.lab(&["inventory"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    String::from_utf8_lossy(&out.stderr).replace(&lab.path().display().to_string(), "[LAB_DIR]")
}

#[test]
fn a_lab_not_up_is_an_error() {
    let lab = lab_with("lab inv ", &[]);
    insta::assert_snapshot!("no_node_up", fails(&lab));
    std::fs::remove_dir_all(lab.path().join(".lab")).unwrap();
    insta::assert_snapshot!("never_up", fails(&lab));
}

/// `ansible-inventory -i <(lab inventory) --list` with Ansible's default
/// inventory plugins (its script plugin reads the start of the pipe before
/// the yaml plugin does: the padding lab prints into a pipe is what it
/// takes) lists the nodes; so does the yaml plugin alone. Printed into a
/// file, the inventory has no padding.
#[test]
fn ansible_reads_the_inventory_from_a_pipe() {
    let lab = lab_with("lab inv ", &["node1", "node2"]);
    let bin = assert_cmd::cargo::cargo_bin("lab");
    let list = |env: &[(&str, &str)]| -> Value {
        let mut cmd = Command::new("bash");
        cmd.args(["-c", "exec ansible-inventory -i <(\"$0\" inventory) --list"])
            .arg(&bin)
            .current_dir(lab.path())
            .env("LAB_HOME", lab.home.path())
            .env_remove("ANSIBLE_INVENTORY_ENABLED")
            .env_remove("LAB_FILE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let default = list(&[]);
    assert_eq!(
        default["app"]["hosts"],
        json!(["node1", "node2"]),
        "{default}"
    );
    let all = list(&[(
        "ANSIBLE_INVENTORY_ENABLED",
        "host_list,script,auto,yaml,ini,toml",
    )]);
    assert_eq!(all["app"]["hosts"], json!(["node1", "node2"]), "{all}");
    let yaml = list(&[("ANSIBLE_INVENTORY_ENABLED", "yaml")]);
    assert_eq!(yaml["app"]["hosts"], json!(["node1", "node2"]), "{yaml}");

    let file = lab.path().join("hosts.yml");
    let out = Command::new(&bin)
        .arg("inventory")
        .current_dir(lab.path())
        .env("LAB_HOME", lab.home.path())
        .env_remove("LAB_FILE")
        .stdout(std::fs::File::create(&file).unwrap())
        .status()
        .unwrap();
    assert!(out.success());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.starts_with("#####"), "{text}");
}

#[test]
fn nodes_of_a_remote_host_are_reached_through_it_by_proxyjump() {
    let lab = lab_with("inv-jump", &["node1", "node2"]);
    let path = lab.path().join(".lab/state.json");
    let mut st: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for node in ["node1", "node2"] {
        st["nodes"][node]["jump"] = json!("root@lab-host-b");
    }
    write_private(&path, &st.to_string(), 0o600);
    let (json, _) = lab.inventory(&["--format", "json"]);
    let list: Value = serde_json::from_str(&json).unwrap();
    let args = text(&list["_meta"]["hostvars"]["node1"]["ansible_ssh_common_args"]).to_string();
    assert!(args.ends_with(" -o ProxyJump=root@lab-host-b"), "{args}");
    let out = lab.lab(&["ssh-config"]);
    let config = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        config.matches("\n  ProxyJump root@lab-host-b\n").count(),
        2,
        "{config}"
    );
}
