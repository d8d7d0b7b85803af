//! `lab inventory` on state values: which nodes are listed, which notes
//! are made, and the errors when nothing is up.

use super::*;
use crate::spec::{Context, parse_str};
use crate::state::NodeState;

const LAB: &str = "name: inv\nbox: debian-12\nnetwork: {subnet: 10.77.40.0/24}\nnodes:\n  node1: {ip: 10.77.40.21, roles: [app]}\n  node2: {ip: 10.77.40.22, roles: [app, db]}\n";

fn lab() -> Lab {
    parse_str(LAB, "lab.yaml", &Context::any_box()).unwrap()
}

/// A node as `lab up` records it once ready, at `ip` with `user`.
fn ready(ip: &str, user: &str) -> NodeState {
    NodeState {
        ip: ip.into(),
        user: user.into(),
        ready: true,
        host_key: Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxh".into()),
        ..Default::default()
    }
}

fn state(nodes: &[(&str, NodeState)]) -> State {
    let mut st = State::default();
    for (name, ns) in nodes {
        st.nodes.insert(name.to_string(), ns.clone());
    }
    st
}

const KEY: &str = "/labs/my lab/.lab/id_ed25519";

fn ssh(key: &str) -> ClientOptions {
    ClientOptions::new(key.as_ref(), "/labs/my lab/.lab/known_hosts".as_ref()).unwrap()
}

fn hostvars(printed: &Printed) -> serde_json::Value {
    let list: serde_json::Value = serde_json::from_str(&printed.text).unwrap();
    list["_meta"]["hostvars"].clone()
}

#[test]
fn every_node_up_is_listed_with_its_recorded_address_user_and_key() {
    // The state's address wins over the lab file's (it is where the VM is
    // and what known_hosts pins); node2 has a user of its own.
    let st = state(&[
        ("node1", ready("10.77.40.21", "lab")),
        ("node2", ready("10.77.40.122", "debian")),
    ]);
    let printed = render(&lab(), &st, &ssh(KEY), KEY, Format::Json).unwrap();
    assert_eq!(printed.notes, Vec::<String>::new());
    let vars = hostvars(&printed);
    assert_eq!(vars["node1"]["ansible_host"], "10.77.40.21");
    assert_eq!(vars["node1"]["ansible_user"], "lab");
    assert_eq!(vars["node2"]["ansible_host"], "10.77.40.122");
    assert_eq!(vars["node2"]["ansible_user"], "debian");
    for node in ["node1", "node2"] {
        assert_eq!(vars[node]["ansible_ssh_private_key_file"], KEY);
        assert_eq!(
            vars[node]["ansible_ssh_common_args"],
            crate::provision::inventory::ssh_common_args(&ssh(KEY))
        );
    }
}

#[test]
fn nodes_not_up_are_left_out_and_named_and_their_groups_stay() {
    let mut booting = ready("10.77.40.22", "lab");
    booting.ready = false;
    let st = state(&[("node1", ready("10.77.40.21", "lab")), ("node2", booting)]);
    for format in [Format::Yaml, Format::Ini, Format::Json] {
        let printed = render(&lab(), &st, &ssh(KEY), KEY, format).unwrap();
        assert_eq!(
            printed.notes,
            ["node node2 is not up, so it is left out of the inventory; `lab up node2` starts it"]
        );
        assert!(printed.text.contains("node1"), "{}", printed.text);
        assert!(!printed.text.contains("node2"), "{}", printed.text);
        assert!(printed.text.contains("db"), "{}", printed.text);
    }
    // Recorded but never ready (no pinned host key): left out as well.
    let st = state(&[
        ("node1", ready("10.77.40.21", "lab")),
        ("node2", NodeState::default()),
    ]);
    let printed = render(&lab(), &st, &ssh(KEY), KEY, Format::Json).unwrap();
    assert_eq!(printed.notes.len(), 1);
    assert!(hostvars(&printed).get("node2").is_none());
}

#[test]
fn no_node_up_is_an_error_not_an_empty_inventory() {
    let mut halted = ready("10.77.40.21", "lab");
    halted.ready = false;
    let st = state(&[("node1", halted)]);
    let err = render(&lab(), &st, &ssh(KEY), KEY, Format::Yaml).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no node of lab inv is up, so its inventory would be empty; run `lab up` (`lab status` shows each node)"
    );
}

#[test]
fn a_lab_never_brought_up_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let sd = StateDir::for_lab_dir(tmp.path());
    let err = inventory(&lab(), &sd, Format::Yaml).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "lab inv is not up ({}/state.json does not exist); run `lab up`",
            sd.path().display()
        )
    );
}

#[test]
fn the_key_file_variable_is_left_out_where_ansible_would_garble_the_path() {
    let st = state(&[
        ("node1", ready("10.77.40.21", "lab")),
        ("node2", ready("10.77.40.22", "lab")),
    ]);
    for key in [
        "/labs/50%off/.lab/id_ed25519",
        "/labs/\"x/.lab/id_ed25519",
        "/labs/a\\b/.lab/id_ed25519",
    ] {
        let printed = render(&lab(), &st, &ssh(key), key, Format::Json).unwrap();
        let vars = hostvars(&printed);
        assert!(
            vars["node1"].get("ansible_ssh_private_key_file").is_none(),
            "{key}: {vars}"
        );
        assert_eq!(printed.notes.len(), 1, "{key}");
        assert!(
            printed.notes[0].starts_with("ansible_ssh_private_key_file is left out"),
            "{}",
            printed.notes[0]
        );
        // Logging in still names the key, escaped for OpenSSH.
        let args = vars["node1"]["ansible_ssh_common_args"].as_str().unwrap();
        assert!(args.contains("IdentityFile="), "{args}");
    }
}
