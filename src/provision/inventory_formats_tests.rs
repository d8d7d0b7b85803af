//! The INI and JSON inventories as text, the quoting of their values, and
//! each format read back by the real Ansible for a lab under a path with
//! spaces, quotes and characters YAML and Python take for line breaks.

use std::process::Command;

use serde_json::json;

use super::super::{Inventory, passes_unescaped, quoted, ssh_common_args};
use super::ini_host_var;
use crate::spec::{Context, Lab, parse_str};
use crate::ssh::openssh::ClientOptions;
use crate::state::{NodeState, State};

fn lab() -> Lab {
    let src = "name: ha\nbox: debian-12\nnetwork: {subnet: 10.77.30.0/24}\nnodes:\n  control1: {ip: 10.77.30.10, roles: [operator]}\n  node1: {ip: 10.77.30.21, roles: [app, db]}\n  node2: {ip: 10.77.30.22, roles: [app, db]}\n  spare: {ip: 10.77.30.30}\n";
    parse_str(src, "lab.yaml", &Context::any_box()).unwrap()
}

fn state() -> State {
    let mut st = State::default();
    for (n, u) in [("control1", "lab"), ("node1", "lab"), ("node2", "debian")] {
        st.nodes.insert(
            n.to_string(),
            NodeState {
                user: u.to_string(),
                ..Default::default()
            },
        );
    }
    st
}

/// The inventory of a lab whose state dir is `dir`, with the key file
/// variable.
fn inventory(dir: &str) -> Inventory {
    let key = format!("{dir}/id_ed25519");
    let ssh = ClientOptions::new(key.as_ref(), format!("{dir}/known_hosts").as_ref()).unwrap();
    Inventory::of(&lab(), &state(), &ssh, Some(&key))
}

const ARGS: &str = r#"-o 'IdentityFile="/l/.lab/id_ed25519"' -o 'UserKnownHostsFile="/l/.lab/known_hosts"' -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o LogLevel=ERROR -o ConnectTimeout=30 -o ServerAliveInterval=30 -o ServerAliveCountMax=4"#;

#[test]
fn ini_lists_hosts_then_the_vars_of_all_then_a_section_per_role() {
    let mut inv = inventory("/l/.lab");
    inv.retain(|h| h != "node1");
    assert_eq!(
        inv.ini("Inventory of ha.").unwrap(),
        format!(
            r#"# Inventory of ha.
control1 ansible_host=10.77.30.10
node2 ansible_host=10.77.30.22 ansible_user=debian
spare ansible_host=10.77.30.30

[all:vars]
ansible_user="lab"
ansible_ssh_private_key_file="/l/.lab/id_ed25519"
ansible_ssh_common_args="{}"
ansible_python_interpreter="/usr/bin/python3"

[operator]
control1

[app]
node2

[db]
node2
"#,
            ARGS.replace('"', "\\\"")
        )
    );
}

#[test]
fn json_is_what_an_inventory_script_prints_for_list() {
    let mut inv = inventory("/l/.lab");
    inv.retain(|h| h != "control1");
    let list: serde_json::Value = serde_json::from_str(&inv.json().unwrap()).unwrap();
    let host = |ip: &str, user: &str| {
        json!({
            "ansible_host": ip,
            "ansible_user": user,
            "ansible_ssh_private_key_file": "/l/.lab/id_ed25519",
            "ansible_ssh_common_args": ARGS,
            "ansible_python_interpreter": "/usr/bin/python3",
        })
    };
    assert_eq!(
        list,
        json!({
            "_meta": {"hostvars": {
                "node1": host("10.77.30.21", "lab"),
                "node2": host("10.77.30.22", "debian"),
                "spare": host("10.77.30.30", "lab"),
            }},
            "all": {"children": ["ungrouped", "operator", "app", "db"]},
            "ungrouped": {"hosts": ["spare"]},
            "operator": {"hosts": []},
            "app": {"hosts": ["node1", "node2"]},
            "db": {"hosts": ["node1", "node2"]},
        })
    );
}

#[test]
fn values_are_bare_only_where_python_cannot_read_them_as_a_literal() {
    assert_eq!(
        ini_host_var("ansible_host", "10.0.0.1"),
        "ansible_host=10.0.0.1"
    );
    assert_eq!(
        ini_host_var("ansible_user", "deploy_2-x"),
        "ansible_user=deploy_2-x"
    );
    // A number, a Python constant, text with a space or a quote: a Python
    // literal, shell-quoted as one word.
    assert_eq!(ini_host_var("ansible_user", "1"), r#"'ansible_user="1"'"#);
    assert_eq!(
        ini_host_var("ansible_user", "True"),
        r#"'ansible_user="True"'"#
    );
    assert_eq!(ini_host_var("x", "it's #1"), r#"'x="it'\''s #1"'"#);
    assert_eq!(
        quoted("a\"b\\c\u{2028}\u{2029}\u{fffe}\u{85}\n\tü"),
        r#""a\"b\\c\u2028\u2029\ufffe\u0085\u000a\u0009ü""#
    );
}

#[test]
fn the_key_file_is_passed_only_when_ansible_hands_it_to_ssh_intact() {
    assert!(passes_unescaped(
        "/home/me/my lab/it's #1 ü/.lab/id_ed25519"
    ));
    for bad in [
        "/a/50%off/k",
        "/a/\"b\"/k",
        "/a/b\\c/k",
        "relative/k",
        "~/k",
    ] {
        assert!(!passes_unescaped(bad), "{bad}");
    }
}

#[test]
fn ini_and_json_refuse_a_value_ansible_would_render_as_a_template() {
    let inv = inventory("/labs/{{ x }}/.lab");
    for (err, what) in [
        (inv.ini("h").unwrap_err(), "INI"),
        (inv.json().unwrap_err(), "JSON"),
    ] {
        assert_eq!(
            err.to_string(),
            format!(
                "ansible_ssh_private_key_file of all hosts would be \"/labs/{{{{ x }}}}/.lab/id_ed25519\", which holds `{{{{`: Ansible takes that for the start of a Jinja2 template, and {what} cannot mark a value as plain data; use the YAML format (`--format yaml`), which marks every value `!unsafe`, or move the lab to a path without `{{{{`"
            )
        );
    }
    for start in ["{%", "{#"] {
        assert!(inventory(&format!("/a{start}b")).ini("h").is_err());
    }
    assert!(
        inventory("/labs/{{ x }}/.lab")
            .yaml("h")
            .contains("{{ x }}")
    );
}

/// A string `ansible-inventory --list` printed: plain, or wrapped as
/// `{"__ansible_unsafe": ...}` (how it shows `!unsafe` values).
fn text(v: &serde_json::Value) -> &str {
    v.get("__ansible_unsafe")
        .unwrap_or(v)
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
}

/// `ansible-inventory -i SOURCE --list`, with no warning.
fn ansible_list(source: &std::path::Path) -> serde_json::Value {
    let out = Command::new("ansible-inventory")
        .arg("-i")
        .arg(source)
        .arg("--list")
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .output()
        .expect("ansible-inventory (Debian package ansible-core) is installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("WARNING"),
        "{}: {stderr}",
        source.display()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ansible_reads_every_format_back_to_the_exact_values() {
    let dir = "/labs/my lab/it's \"#1\" ü \u{2028}\u{fffe} x\\y/.lab";
    let inv = inventory(dir);
    let tmp = tempfile::tempdir().unwrap();
    // No extension, as with `-i <(lab inventory)`: every plugin may try it.
    let yaml = tmp.path().join("yaml");
    std::fs::write(&yaml, inv.yaml("h")).unwrap();
    let ini = tmp.path().join("ini");
    std::fs::write(&ini, inv.ini("h").unwrap()).unwrap();
    // JSON is read from an inventory script (`SCRIPT --list`).
    let json = tmp.path().join("json");
    std::fs::write(tmp.path().join("list.json"), inv.json().unwrap()).unwrap();
    std::fs::write(
        &json,
        "#!/bin/sh\nexec cat \"$(dirname \"$0\")/list.json\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&json, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let key = format!("{dir}/id_ed25519");
    let ssh = ClientOptions::new(key.as_ref(), format!("{dir}/known_hosts").as_ref()).unwrap();
    for source in [yaml, ini, json] {
        let list = ansible_list(&source);
        let vars = &list["_meta"]["hostvars"];
        for (node, ip, user) in [
            ("control1", "10.77.30.10", "lab"),
            ("node1", "10.77.30.21", "lab"),
            ("node2", "10.77.30.22", "debian"),
            ("spare", "10.77.30.30", "lab"),
        ] {
            let v = &vars[node];
            let at = format!("{}: {node}", source.display());
            assert_eq!(text(&v["ansible_host"]), ip, "{at}");
            assert_eq!(text(&v["ansible_user"]), user, "{at}");
            assert_eq!(text(&v["ansible_ssh_private_key_file"]), key, "{at}");
            assert_eq!(
                text(&v["ansible_ssh_common_args"]),
                ssh_common_args(&ssh),
                "{at}"
            );
            assert_eq!(text(&v["ansible_python_interpreter"]), "/usr/bin/python3");
        }
        let hosts = |g: &str| list[g]["hosts"].clone();
        assert_eq!(
            hosts("operator"),
            json!(["control1"]),
            "{}",
            source.display()
        );
        assert_eq!(hosts("app"), json!(["node1", "node2"]));
        assert_eq!(hosts("db"), json!(["node1", "node2"]));
        assert_eq!(hosts("ungrouped"), json!(["spare"]));
    }
}
