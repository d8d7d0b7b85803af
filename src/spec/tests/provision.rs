//! Tests of the `provision` section.

use super::*;

fn two_nodes() -> &'static str {
    "  control1:\n    ip: 10.77.10.10\n  node1:\n    ip: 10.77.10.21\n    roles: [app]\n  node2:\n    ip: 10.77.10.22\n    roles: [app, db]\n"
}

fn with_provision(body: &str) -> String {
    lab_src(&format!("provision:\n{body}"), two_nodes())
}

#[test]
fn ansible_provision_is_modelled_with_defaults() {
    let lab = ok(&with_provision(
        "  type: ansible\n  playbook: provision/site.yml\n  extra_vars:\n    port: 8000\n    debug: true\n    name: app\n    list: [1, x]\n",
    ));
    let Some(Provision::Ansible(a)) = lab.provision else {
        panic!("{:?}", lab.provision)
    };
    assert_eq!(a.controller, Controller::Node("control1".into()));
    assert_eq!(a.playbook, std::path::PathBuf::from("provision/site.yml"));
    assert_eq!(
        serde_json::Value::Object(a.extra_vars),
        serde_json::json!({"port": 8000, "debug": true, "name": "app", "list": [1, "x"]})
    );
    let lab = ok(&with_provision(
        "  type: ansible\n  controller: host\n  playbook: site.yml\n",
    ));
    let Some(Provision::Ansible(a)) = lab.provision else {
        panic!()
    };
    assert_eq!(a.controller, Controller::Host);
}

#[test]
fn ansible_images_must_be_known_boxes_listed_once() {
    let lab = ok(&with_provision(
        "  type: ansible\n  playbook: site.yml\n  images: [debian-12, ubuntu-24.04]\n",
    ));
    let Some(Provision::Ansible(a)) = lab.provision else {
        panic!()
    };
    assert_eq!(a.images, vec!["debian-12", "ubuntu-24.04"]);
    let errs = errors(&with_provision(
        "  type: ansible\n  playbook: site.yml\n  images: [debain-12, debian-12, debian-12]\n",
    ));
    let e = find(&errs, "provision.images[0]", "unknown box `debain-12`");
    assert!(e.hint().unwrap().starts_with("did you mean `debian-12`?"));
    find(&errs, "provision.images[2]", "`debian-12` is listed twice");
    assert_eq!(errs.len(), 2, "{errs:?}");
}

#[test]
fn ansible_mitogen_is_on_unless_turned_off_with_a_boolean() {
    let mitogen = |body: &str| {
        let lab = ok(&with_provision(&format!(
            "  type: ansible\n  playbook: site.yml\n{body}"
        )));
        let Some(Provision::Ansible(a)) = lab.provision else {
            panic!()
        };
        a.mitogen
    };
    assert!(mitogen(""));
    assert!(mitogen("  mitogen: true\n"));
    assert!(!mitogen("  mitogen: false\n"));
    for wrong in ["\"false\"", "no", "0", "[false]"] {
        let errs = errors(&with_provision(&format!(
            "  type: ansible\n  playbook: site.yml\n  mitogen: {wrong}\n"
        )));
        find(&errs, "provision.mitogen", "expected true or false");
        assert_eq!(errs.len(), 1, "{wrong}: {errs:?}");
    }
}

#[test]
fn ansible_controller_must_be_a_node_or_host() {
    let errs = errors(&with_provision(
        "  type: ansible\n  controller: contrl1\n  playbook: site.yml\n",
    ));
    let e = find(&errs, "provision.controller", "`contrl1` is not a node");
    assert!(e.hint().unwrap().starts_with("did you mean `control1`?"));
    let no_default = errors(&lab_src(
        "provision:\n  type: ansible\n  playbook: site.yml\n",
        ONE_NODE,
    ));
    find(
        &no_default,
        "provision.controller",
        "the default controller `control1` is not a node",
    );
}

#[test]
fn ansible_needs_a_relative_playbook() {
    find(
        &errors(&with_provision("  type: ansible\n")),
        "provision.playbook",
        "is missing",
    );
    find(
        &errors(&with_provision(
            "  type: ansible\n  playbook: /srv/site.yml\n",
        )),
        "provision.playbook",
        "is absolute",
    );
}

#[test]
fn keys_of_the_other_type_are_reported() {
    let errs = errors(&with_provision(
        "  type: ansible\n  playbook: site.yml\n  scripts: []\n",
    ));
    find(
        &errs,
        "provision.scripts",
        "`scripts` belongs to `type: shell`, but this is `type: ansible`",
    );
    let errs = errors(&with_provision(
        "  type: shell\n  controller: host\n  extra_vars: {}\n  scripts:\n    - {on: [node1], inline: x}\n",
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    find(&errs, "provision.controller", "belongs to `type: ansible`");
    find(&errs, "provision.extra_vars", "belongs to `type: ansible`");
}

#[test]
fn provision_type_is_required_and_known() {
    find(
        &errors(&with_provision("  playbook: site.yml\n")),
        "provision.type",
        "is missing",
    );
    let errs = errors(&with_provision(
        "  type: shel\n  scripts: []\n  manifest: x\n",
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        find(&errs, "provision.type", "unknown provisioner \"shel\"")
            .hint()
            .unwrap()
            .contains("`shell`")
    );
    find(&errs, "provision.manifest", "unknown key");
    // Without a usable type, fields are still type-checked.
    find(
        &errors(&with_provision("  scripts: 3\n")),
        "provision.scripts",
        "expected a list",
    );
}

#[test]
fn shell_provision_is_modelled_and_targets_resolve() {
    let lab = ok(&with_provision(
        "  type: shell\n  scripts:\n    - on: [app]\n      script: provision/app.sh\n    - on: [control1, db]\n      inline: echo hi\n",
    ));
    let Some(Provision::Shell(shell)) = &lab.provision else {
        panic!()
    };
    assert_eq!(shell.scripts.len(), 2);
    assert_eq!(
        shell.scripts[0].source,
        ScriptSource::File("provision/app.sh".into())
    );
    assert_eq!(
        shell.scripts[1].source,
        ScriptSource::Inline("echo hi".into())
    );
    let names = |s: &ScriptStep| {
        s.targets(&lab)
            .iter()
            .map(|n| n.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&shell.scripts[0]), ["node1", "node2"]);
    assert_eq!(names(&shell.scripts[1]), ["control1", "node2"]);
}

#[test]
fn shell_steps_need_known_targets() {
    let errs = errors(&with_provision(
        "  type: shell\n  scripts:\n    - on: [node1, apps, web]\n      inline: x\n",
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    let apps = find(
        &errs,
        "provision.scripts[0].on[1]",
        "`apps` is neither a node nor a role",
    );
    assert_eq!(apps.hint(), Some("did you mean `app`?"));
    find(
        &errs,
        "provision.scripts[0].on[2]",
        "`web` is neither a node nor a role",
    );
    find(
        &errors(&with_provision(
            "  type: shell\n  scripts:\n    - on: []\n      inline: x\n",
        )),
        "provision.scripts[0].on",
        "empty list",
    );
    find(
        &errors(&with_provision(
            "  type: shell\n  scripts:\n    - inline: x\n",
        )),
        "provision.scripts[0].on",
        "is missing",
    );
}

#[test]
fn shell_steps_need_exactly_one_of_script_and_inline() {
    let both = errors(&with_provision(
        "  type: shell\n  scripts:\n    - on: [node1]\n      script: a.sh\n      inline: x\n",
    ));
    find(
        &both,
        "provision.scripts[0]",
        "has both `script` and `inline`",
    );
    let neither = errors(&with_provision(
        "  type: shell\n  scripts:\n    - on: [node1]\n",
    ));
    find(
        &neither,
        "provision.scripts[0]",
        "has neither `script` nor `inline`",
    );
    find(
        &errors(&with_provision(
            "  type: shell\n  scripts:\n    - on: [node1]\n      script: /x.sh\n",
        )),
        "provision.scripts[0].script",
        "is absolute",
    );
}

#[test]
fn shell_needs_at_least_one_step() {
    find(
        &errors(&with_provision("  type: shell\n")),
        "provision.scripts",
        "is missing",
    );
    find(
        &errors(&with_provision("  type: shell\n  scripts: []\n")),
        "provision.scripts",
        "is an empty list",
    );
    find(
        &errors(&with_provision(
            "  type: shell\n  scripts:\n    - on: [node1]\n      inline: x\n      run: y\n",
        )),
        "provision.scripts[0].run",
        "unknown key",
    );
}
