//! The mapping on recorded JSON, without ruby: addresses and the subnet,
//! sizes (machine over global, libvirt over virtualbox, modifyvm), boxes,
//! forwards, provisioners (shell, Ansible with groups and limit, both),
//! and the YAML written reading back through the lab file's own parser.

use std::path::PathBuf;

use serde_json::json;

use super::map::{Inputs, Plan, plan};
use super::model::Vagrantfile;
use super::provision::{Provisioning, Source};
use super::{emit, map};

/// `vf` converted, its Vagrantfile in a directory holding `site.yml`,
/// into the directory `lab` below.
fn convert(vf: serde_json::Value, known: &[&str]) -> Plan {
    let vf: Vagrantfile = serde_json::from_value(vf).unwrap();
    let known: Vec<String> = known.iter().map(|s| s.to_string()).collect();
    let box_known = move |n: &str| known.iter().any(|k| k == n);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("site.yml"), "- hosts: all\n").unwrap();
    let dir = PathBuf::from(tmp.path());
    let inputs = Inputs {
        vagrant_dir: dir.clone(),
        lab_dir: dir.join("lab"),
        lab_name: "t".into(),
        box_known: &box_known,
    };
    plan(&vf, &inputs)
}

fn machine(name: &str, config: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "line": 1, "config": config})
}

fn notes(p: &Plan) -> Vec<String> {
    p.notes.iter().map(emit::note).collect()
}

/// The plan's YAML, checked by the lab file's parser.
fn checked_yaml(p: &Plan) -> String {
    let text = emit::lab_yaml(p, "Vagrantfile");
    crate::spec::parse_str(&text, "lab.yaml", &crate::spec::Context::any_box())
        .unwrap_or_else(|e| panic!("{}\n{text}", e.render(false)));
    text
}

#[test]
fn the_subnet_holds_the_private_addresses_and_the_others_get_free_ones() {
    let net = |ip: &str| json!({"networks": [{"type": "private_network", "options": {"ip": ip}, "line": 3}]});
    let p = convert(
        json!({"configured": true, "global": {}, "machines": [
            machine("a", net("10.1.2.30")), machine("b", json!({})), machine("c", net("10.1.3.1")),
            machine("d", net("10.1.2.30")),
        ]}),
        &[],
    );
    // 10.1.2.30 and 10.1.3.1 share a /23; d's address was a's.
    assert_eq!(p.subnet.to_string(), "10.1.2.0/23");
    let ips: Vec<String> = p.nodes.iter().map(|n| n.ip.to_string()).collect();
    assert_eq!(ips, ["10.1.2.30", "10.1.2.10", "10.1.3.1", "10.1.2.11"]);
    assert!(notes(&p).contains(&"line 3: machine d: address 10.1.2.30 is already another machine's; the node gets another one".to_string()), "{:?}", notes(&p));
    // The gateway (first host) is the host's side: never a node's.
    let p = convert(
        json!({"configured": true, "global": {}, "machines": [machine("a", net("192.168.9.1"))]}),
        &[],
    );
    assert_eq!(
        (p.subnet.to_string(), p.nodes[0].ip.to_string()),
        ("192.168.9.0/24".into(), "192.168.9.10".into())
    );
    // No address anywhere: the default subnet.
    let p = convert(
        json!({"configured": true, "global": {}, "machines": []}),
        &[],
    );
    assert_eq!(p.subnet.to_string(), map::DEFAULT_SUBNET);
    assert_eq!(p.nodes[0].name, "default");
    checked_yaml(&p);
}

#[test]
fn sizes_take_the_machine_over_the_global_block_and_libvirt_over_virtualbox() {
    let p = convert(
        json!({"configured": true,
        "global": {"providers": [
            {"name": "virtualbox", "settings": {"memory": "2048", "cpus": 2}, "calls": [], "line": 2},
            {"name": "libvirt", "settings": {"memory": 1024}, "calls": [], "line": 3}]},
        "machines": [
            machine("a", json!({})),
            machine("b", json!({"providers": [{"name": "virtualbox", "settings": {}, "line": 9, "calls": [
                {"name": "customize", "args": [["modifyvm", "id", "--memory", "4096", "--ioapic", "on"]], "line": 10}]}]})),
            machine("c", json!({"providers": [{"name": "libvirt", "settings": {"memory": 100000, "cpus": 1}, "calls": [], "line": 12}]})),
        ]}),
        &[],
    );
    assert_eq!((p.memory, p.cpus), (Some(1024), Some(2)));
    let sizes: Vec<_> = p.nodes.iter().map(|n| (n.memory, n.cpus)).collect();
    assert_eq!(
        sizes,
        [(None, None), (Some(4096), None), (Some(65536), Some(1))]
    );
    let n = notes(&p);
    assert!(n.contains(&"line 10: machine b: virtualbox customize modifyvm --ioapic on: not carried over (a VirtualBox setting)".to_string()), "{n:?}");
    assert!(
        n.contains(
            &"line 12: machine c: memory 100000 MiB is outside 256-65536; the lab uses 65536"
                .to_string()
        ),
        "{n:?}"
    );
    checked_yaml(&p);
}

#[test]
fn boxes_map_to_local_ones_or_to_the_default() {
    let b = |name: &str| json!({"settings": {"box": name}});
    let p = convert(
        json!({"configured": true, "global": b("generic/debian12"), "machines": [
            machine("a", json!({})), machine("b", b("me/alma9")), machine("c", b("ubuntu/jammy64"))]}),
        &["alma9"],
    );
    let boxes: Vec<_> = p.nodes.iter().map(|n| n.box_name.clone()).collect();
    assert_eq!(p.box_name, "debian-12");
    assert_eq!(boxes, [None, Some("alma9".into()), None]);
    assert_eq!(
        notes(&p),
        [
            "box generic/debian12 has no local equivalent: node a uses debian-12 (to keep it, make a box of that name and set `box:`)",
            "box ubuntu/jammy64 has no local equivalent: node c uses debian-12 (to keep it, make a box of that name and set `box:`)",
        ]
    );
    checked_yaml(&p);
}

#[test]
fn names_become_dns_labels_and_forwards_keep_each_host_port_once() {
    let fwd = |g: i64, h: i64| json!({"type": "forwarded_port", "options": {"guest": g, "host": h}, "line": 4});
    let p = convert(
        json!({"configured": true, "global": {"networks": [fwd(80, 8080)]}, "machines": [
            machine("Web_1", json!({})), machine("host", json!({"networks": [fwd(443, 8443)]}))]}),
        &[],
    );
    let names: Vec<_> = p.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["web-1", "host1"]);
    let fw: Vec<_> = p
        .forwards
        .iter()
        .map(|f| (f.node.as_str(), f.guest, f.host))
        .collect();
    assert_eq!(fw, [("web-1", 80, 8080), ("host1", 443, 8443)]);
    assert!(notes(&p).contains(&"line 4: machine host: forwarded port 80 → 8080: not carried over (host port 8080 is already forwarded)".to_string()));
    checked_yaml(&p);
}

#[test]
fn ansible_wins_over_shell_runs_once_and_its_groups_are_roles() {
    let p = convert(
        json!({"configured": true,
            "global": {"provisioners": [{"type": "shell", "options": {"inline": "true"}, "line": 2}]},
            "machines": [machine("m1", json!({})), machine("m2", json!({"provisioners": [
                {"type": "ansible", "line": 7, "options": {"playbook": "site.yml", "limit": "all",
                  "extra_vars": {"x": "yes", "n": [1, 2]}, "groups": {"Web": ["m1", "m2"], "db": "m2", "all": ["m1"], "web:vars": {"a": 1}}}}]}))]}),
        &[],
    );
    let Some(Provisioning::Ansible {
        playbook,
        groups,
        extra_vars,
    }) = &p.provisioning
    else {
        panic!("{:?}", p.provisioning);
    };
    assert_eq!(playbook, "../site.yml");
    assert_eq!(extra_vars["x"], "yes");
    assert_eq!(groups.keys().collect::<Vec<_>>(), ["db", "web"]);
    assert_eq!(p.nodes[1].roles, ["db", "web"]);
    let n = notes(&p);
    assert!(n.contains(&"line 2: shell provisioner: not carried over (a lab has one provisioner type, and this Vagrantfile's Ansible is carried over)".to_string()), "{n:?}");
    assert!(
        n.iter().any(|x| x.contains("group all: not carried over")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|x| x.contains("group web:vars: not carried over")),
        "{n:?}"
    );
    let yaml = checked_yaml(&p);
    // "yes" stays a string.
    assert!(yaml.contains("    x: \"yes\"\n"), "{yaml}");
}

#[test]
fn shell_steps_run_global_ones_everywhere_first_and_keep_their_text() {
    let p = convert(
        json!({"configured": true,
            "global": {"provisioners": [{"type": "shell", "options": {"inline": "echo 'a: b'\n  indented\n"}, "line": 2}]},
            "machines": [machine("m1", json!({"provisioners": [{"type": "shell", "options": {"inline": ["x", "y"], "args": "1"}, "line": 5}]})),
                         machine("m2", json!({"provisioners": [{"type": "shell", "options": {"path": "missing.sh"}, "line": 6}]}))]}),
        &[],
    );
    let Some(Provisioning::Shell { steps, copies }) = &p.provisioning else {
        panic!("{:?}", p.provisioning);
    };
    assert!(copies.is_empty());
    let got: Vec<_> = steps
        .iter()
        .map(|s| (s.on.join(","), s.source.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "m1,m2".to_string(),
                Source::Inline("echo 'a: b'\n  indented\n".into())
            ),
            ("m1".to_string(), Source::Inline("x\ny".into())),
        ]
    );
    let n = notes(&p);
    assert!(n.contains(&"line 5: machine m1: shell provisioner: option args: not carried over (lab runs a script without arguments)".to_string()), "{n:?}");
    assert!(n.contains(&"line 6: machine m2: shell provisioner missing.sh: not carried over (it cannot be read: entity not found)".to_string()), "{n:?}");
    // The text reads back the same through the lab file's parser.
    let yaml = checked_yaml(&p);
    let lab = crate::spec::parse_str(&yaml, "lab.yaml", &crate::spec::Context::any_box()).unwrap();
    let Some(crate::spec::Provision::Shell(shell)) = lab.provision else {
        panic!()
    };
    assert_eq!(
        shell.scripts[0].source,
        crate::spec::ScriptSource::Inline("echo 'a: b'\n  indented\n".into())
    );
    assert_eq!(
        shell.scripts[1].source,
        crate::spec::ScriptSource::Inline("x\ny".into())
    );
}

#[test]
fn scalars_that_yaml_would_read_otherwise_are_quoted() {
    for (s, want) in [
        ("debian-12", "debian-12"),
        ("yes", "\"yes\""),
        ("1.5", "\"1.5\""),
        ("a: b", "\"a: b\""),
        ("", "\"\""),
        ("-x", "\"-x\""),
    ] {
        assert_eq!(emit::scalar(s), want);
    }
}

#[test]
fn a_missing_ruby_and_ruby_errors_are_one_sentence() {
    let spawn = crate::process::ProcessError::Spawn {
        cmdline: "ruby -e ...".into(),
        hint: String::new(),
        cause: std::io::Error::from(std::io::ErrorKind::NotFound),
    };
    let msg = super::run_error("p/Vagrantfile", spawn);
    assert!(
        msg.starts_with("converting p/Vagrantfile needs `ruby` (a Vagrantfile is Ruby code), which is not installed: install it: apt-get install ruby"),
        "{msg}"
    );
    let e = |kind: &str, line, class: Option<&str>| super::model::RubyError {
        kind: kind.into(),
        line,
        message: "undefined local variable or method `foo'\nmore".into(),
        class: class.map(Into::into),
    };
    assert_eq!(
        super::ruby_error("Vagrantfile", &e("exception", Some(4), Some("NameError"))),
        "Vagrantfile:4: the Vagrantfile failed when run: NameError: undefined local variable or method `foo'; nothing was written"
    );
    assert_eq!(
        super::ruby_error("Vagrantfile", &e("exit", None, None)),
        "Vagrantfile: the Vagrantfile stopped (undefined local variable or method `foo'); nothing was written"
    );
}

#[test]
fn control_characters_of_the_vagrantfile_reach_neither_terminal_nor_file() {
    let p = convert(
        json!({"configured": true, "global": {"other": [{"what": "config.\u{1b}[2Jx\ny", "line": 2}]}, "machines": []}),
        &[],
    );
    assert_eq!(
        notes(&p),
        ["line 2: config.?[2Jx?y: not carried over (lab has no such setting)"]
    );
    checked_yaml(&p);
}

#[test]
fn an_ansible_provisioner_without_its_playbook_leaves_the_shell_steps() {
    let p = convert(
        json!({"configured": true,
            "global": {"provisioners": [
                {"type": "shell", "options": {"inline": "true"}, "line": 2},
                {"type": "ansible", "options": {"playbook": "gone.yml"}, "line": 3}]},
            "machines": []}),
        &[],
    );
    assert!(
        matches!(p.provisioning, Some(Provisioning::Shell { .. })),
        "{:?}",
        p.provisioning
    );
    assert_eq!(
        notes(&p),
        [
            "line 3: ansible provisioner: not carried over (its playbook gone.yml cannot be read: entity not found)"
        ]
    );
    checked_yaml(&p);
}
