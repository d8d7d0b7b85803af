//! The e2e's step with Ansible on this machine: `lab inventory` of the
//! running smoke lab read by `ansible-inventory` and used by `ansible -m
//! ping`, with the pinned host keys and with wrong ones.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{lab, lab_bin, ok};

/// A string `ansible-inventory --list` printed: plain, or wrapped as
/// `{"__ansible_unsafe": ...}` (how it shows `!unsafe` values).
fn text(v: &serde_json::Value) -> &str {
    v.get("__ansible_unsafe")
        .unwrap_or(v)
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
}

/// `bash -c SCRIPT` in the lab directory with `$0` the lab binary (so
/// `<("$0" inventory)` works; `$LAB_BIN` and `$LAB_DIR` for inventory
/// scripts), Ansible's HOME in `home` (no ~/.ssh/known_hosts, no ssh
/// control sockets of other runs) and host key checking on whatever the
/// environment says.
fn ansible(dir: &Path, home: &Path, script: &str) -> Output {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(lab_bin())
        .current_dir(dir)
        .env("LAB_BIN", lab_bin())
        .env("LAB_DIR", dir)
        .env("HOME", home)
        .env("ANSIBLE_HOST_KEY_CHECKING", "True")
        .env("ANSIBLE_NOCOLOR", "1")
        .env_remove("ANSIBLE_INVENTORY_ENABLED")
        .env_remove("ANSIBLE_CONFIG")
        .env_remove("LAB_FILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "$ {script}\n{}{}(exit {:?})",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    out
}

/// `lab inventory` on the running lab (given roles: node1 `app`, node2
/// `app` and `db`), as a user's own Ansible on this machine uses it:
/// `ansible-inventory --list` lists both nodes in their groups, and
/// `ansible all -m ping` answers pong from both, for the YAML and INI
/// printed into files, the JSON of an inventory script, and
/// `<(lab inventory)` (a pipe) with Ansible's default plugins; host keys are checked against the
/// pinned ones (other keys there: both unreachable).
pub fn with_ansible(dir: &Path) {
    // Roles only name inventory groups; the VMs do not change.
    let file = dir.join("lab.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let with_roles = original
        .replace(
            "    ip: 10.77.99.21\n",
            "    ip: 10.77.99.21\n    roles: [app]\n",
        )
        .replace(
            "    ip: 10.77.99.22\n",
            "    ip: 10.77.99.22\n    roles: [app, db]\n",
        );
    assert_eq!(
        with_roles.matches("roles:").count(),
        2,
        "smoke lab changed shape:\n{original}"
    );
    std::fs::write(&file, &with_roles).unwrap();

    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let out = lab(dir, &["inventory"]);
    assert!(out.status.success(), "lab inventory failed");
    // This lab's path has `"` and `%`: only the ssh args name the key.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ansible_ssh_private_key_file is left out"),
        "{stderr}"
    );
    let q = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let hosts = home.join("hosts.yml");
    std::fs::write(&hosts, &out.stdout).unwrap();
    let ini = home.join("hosts.ini");
    std::fs::write(&ini, ok(dir, &["inventory", "--format", "ini"])).unwrap();
    let script = home.join("lab-inventory");
    std::fs::write(
        &script,
        "#!/bin/sh\nexec \"$LAB_BIN\" inventory -f \"$LAB_DIR/lab.yaml\" --format json\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // (environment for Ansible, inventory source): files, a script, a pipe.
    let sources = [
        (String::new(), q(&hosts)),
        (String::new(), q(&ini)),
        (String::new(), q(&script)),
        (String::new(), "<(\"$0\" inventory)".to_string()),
    ];

    for (env, source) in &sources {
        let out = ansible(
            dir,
            home,
            &format!("{env}ansible-inventory -i {source} --list"),
        );
        assert!(out.status.success(), "ansible-inventory -i {source}");
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            list["app"]["hosts"],
            serde_json::json!(["node1", "node2"]),
            "{source}: {list}"
        );
        assert_eq!(
            list["db"]["hosts"],
            serde_json::json!(["node2"]),
            "{source}"
        );
        for (node, ip) in [("node1", "10.77.99.21"), ("node2", "10.77.99.22")] {
            let vars = &list["_meta"]["hostvars"][node];
            assert_eq!(text(&vars["ansible_host"]), ip, "{source}");
            assert_eq!(text(&vars["ansible_user"]), "lab", "{source}");
        }
    }

    // Other host keys where the pinned ones are: ssh refuses both nodes
    // (first, before any ssh connection of Ansible could be reused).
    let known_hosts = dir.join(".lab/known_hosts");
    let pinned = std::fs::read_to_string(&known_hosts).unwrap();
    let lines: Vec<(&str, &str)> = pinned.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert_eq!(lines.len(), 2, "{pinned}");
    let swapped = format!(
        "{} {}\n{} {}\n",
        lines[0].0, lines[1].1, lines[1].0, lines[0].1
    );
    std::fs::write(&known_hosts, swapped).unwrap();
    let out = ansible(dir, home, &format!("ansible -i {} all -m ping", q(&hosts)));
    std::fs::write(&known_hosts, &pinned).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "ping with the wrong host keys");
    assert_eq!(stdout.matches("UNREACHABLE").count(), 2, "{stdout}");
    assert!(stdout.contains("Host key verification failed"), "{stdout}");

    // The pinned keys: pong from both, whatever the inventory's form.
    for (env, source) in &sources {
        let out = ansible(dir, home, &format!("{env}ansible -i {source} all -m ping"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "ansible -i {source} all -m ping");
        for node in ["node1", "node2"] {
            assert!(stdout.contains(&format!("{node} | SUCCESS")), "{stdout}");
        }
        assert_eq!(stdout.matches("\"pong\"").count(), 2, "{stdout}");
    }
    std::fs::write(&file, original).unwrap();
}
