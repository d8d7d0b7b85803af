//! Workflow tests of `lab provision` and the end of `lab up` without VMs:
//! the fake hypervisor, a stand-in readiness probe, and `controller: host`
//! with a stand-in `ansible-playbook` script (so no SSH is needed).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::*;
use crate::backend::Hypervisor;
use crate::ops::tests::{Fixture, fixture, ready_probe};
use crate::ops::{names, up};

const NODES: &str = "name: pv\nbox: testbox\nnetwork:\n  subnet: 10.88.2.0/24\nnodes:\n  node1: {ip: 10.88.2.21, roles: [app]}\n  node2: {ip: 10.88.2.22, roles: [app, db]}\n";

/// Records notes (and failures) for assertions.
#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl NodeReporter for Notes {
    fn note(&self, text: &str) {
        self.0.lock().unwrap().push(text.to_string());
    }
    fn phase(&self, _: &str, _: &str) {}
    fn done(&self, node: &str, summary: &str) {
        self.note(&format!("{node} done: {summary}"));
    }
    fn failed(&self, node: &str, reason: &str) {
        self.note(&format!("{node} FAILED: {reason}"));
    }
}

/// A lab (NODES + `extra`, a `site.yml` beside it) that `lab up` brought
/// up on the fake, without provisioning.
fn up_lab(extra: &str) -> Fixture {
    let f = fixture(&format!("{NODES}{extra}"));
    std::fs::write(f.ctx.lab.dir().join("site.yml"), "- hosts: all\n").unwrap();
    let mut opts = ready_probe();
    opts.provision = false;
    up::up(&f.ctx, &opts, Arc::new(Notes::default())).unwrap();
    f
}

/// Where the stand-in program and what it records go: beside the lab dir.
fn scratch(f: &Fixture) -> &Path {
    f.ctx.lab.dir().parent().unwrap()
}

/// A stand-in `ansible-playbook` that records its arguments and prints
/// `output`, exiting with `status`.
fn fake_ansible(dir: &Path, output: &str, status: i32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("output"), output).unwrap();
    let script = dir.join("ansible-playbook");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nd=$(dirname \"$0\")\necho \"$@\" > \"$d/args\"\npwd > \"$d/cwd\"\ncat \"$d/output\"\nexit {status}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

const HOST_ANSIBLE: &str = "provision:\n  type: ansible\n  controller: host\n  playbook: site.yml\n  extra_vars: {greeting: hi}\n";

const OK_OUTPUT: &str = "\nPLAY [all] ***\n\nTASK [Gathering Facts] ***\nok: [node1]\nok: [node2]\n\nTASK [db : Create users] ***\nchanged: [node2]\n\nPLAY RECAP ***\nnode1 : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0\nnode2 : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0\n";

#[test]
fn host_controller_runs_ansible_with_inventory_secrets_and_vars() {
    let f = up_lab(HOST_ANSIBLE);
    let opts = Options {
        tags: Some("db".into()),
        nodes: vec!["node2".into()],
        host_ansible: fake_ansible(scratch(&f), OK_OUTPUT, 0),
    };
    let notes = Notes::default();
    let report = provision(&f.ctx, &opts, &notes).unwrap().unwrap();
    assert_eq!(report.provisioner, crate::spec::ProvisionerKind::Ansible);
    assert_eq!(report.hosts.len(), 2);
    assert_eq!(
        (report.hosts[1].host.as_str(), report.hosts[1].changed),
        ("node2", 1)
    );
    let roles: Vec<&str> = report.roles.iter().map(|r| r.role.as_str()).collect();
    assert_eq!(roles, ["(no role)", "db"]);
    let sd = &f.ctx.state_dir;
    let dir = sd.file(crate::state::ANSIBLE_DIR);
    let args = std::fs::read_to_string(scratch(&f).join("args")).unwrap();
    assert_eq!(
        args.trim(),
        format!(
            "-i {0}/inventory.yml -e @{0}/secrets.json -e @{0}/vars.json site.yml --tags db --limit node2",
            dir.display()
        )
    );
    let cwd = std::fs::read_to_string(scratch(&f).join("cwd")).unwrap();
    assert_eq!(
        Path::new(cwd.trim()),
        f.ctx.lab.dir().canonicalize().unwrap()
    );
    let inv = std::fs::read_to_string(dir.join("inventory.yml")).unwrap();
    assert!(
        inv.contains("\"node1\":\n      ansible_host: !unsafe \"10.88.2.21\"\n")
            && inv.contains("\"db\":\n      hosts:\n        \"node2\": {}\n"),
        "{inv}"
    );
    assert!(
        inv.contains(&format!("IdentityFile=\\\"{}\\\"", sd.ssh_key().display())),
        "{inv}"
    );
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("secrets.json")).unwrap()).unwrap();
    assert_eq!(
        secrets["lab_secrets"]["django_secret_key"]
            .as_str()
            .unwrap()
            .len(),
        50
    );
    let vars = std::fs::read_to_string(dir.join("vars.json")).unwrap();
    assert!(
        vars.contains("\"greeting\": \"hi\"") && vars.contains("\"lab_name\": \"pv\""),
        "{vars}"
    );
    let log = std::fs::read_to_string(&report.log).unwrap();
    assert!(
        log.contains("[ansible] TASK [Gathering Facts] ***"),
        "{log}"
    );
    let notes = notes.0.lock().unwrap();
    assert!(
        notes.iter().any(|n| n == "ansible: TASK [Gathering Facts]"),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n == "node2 done: ok=1 changed=1 failed=0 unreachable=0"),
        "{notes:?}"
    );
}

#[test]
fn failed_playbook_names_task_host_and_log() {
    let f = up_lab(HOST_ANSIBLE);
    let out = "PLAY [all] ***\nTASK [db : create users] ***\nok: [node1]\nfatal: [node2]: FAILED! => {\"changed\": false, \"msg\": \"no database\"}\n\nPLAY RECAP ***\nnode1 : ok=1 changed=0 unreachable=0 failed=0\nnode2 : ok=0 changed=0 unreachable=0 failed=1\n";
    let opts = Options {
        host_ansible: fake_ansible(scratch(&f), out, 2),
        ..Options::default()
    };
    let err = format!(
        "{:#}",
        provision(&f.ctx, &opts, &Notes::default()).unwrap_err()
    );
    assert!(
        err.contains("ansible-playbook failed (exit status 2)"),
        "{err}"
    );
    assert!(
        err.contains("task \"db : create users\" failed on node2: no database"),
        "{err}"
    );
    assert!(
        err.contains(
            &f.ctx
                .state_dir
                .file(crate::state::PROVISION_LOG)
                .display()
                .to_string()
        ),
        "{err}"
    );
}

#[test]
fn provisioning_needs_every_node_up() {
    let f = up_lab(HOST_ANSIBLE);
    f.fake
        .destroy_domain(&names::domain("pv", "node2"))
        .unwrap();
    let err = provision(&f.ctx, &Options::default(), &Notes::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "lab pv is not up: node2 is shut off; run `lab up` first"
    );
    f.ctx.state_dir.save(&State::default()).unwrap();
    let err = provision(&f.ctx, &Options::default(), &Notes::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("lab pv is not up (nothing recorded in "),
        "{err}"
    );
}

#[test]
fn after_up_skips_when_a_node_is_not_ready_and_shell_has_no_tags() {
    let f = up_lab("provision:\n  type: shell\n  scripts:\n    - {on: [app], inline: 'true'}\n");
    let mut st = f.ctx.state_dir.load().unwrap();
    st.nodes.get_mut("node2").unwrap().ready = false;
    let notes = Notes::default();
    let selected = f.ctx.select_nodes(&["node1".into()]).unwrap();
    after_up(&f.ctx, &mut st, &selected, &notes).unwrap();
    let notes = notes.0.into_inner().unwrap();
    assert_eq!(
        notes,
        ["provisioning skipped: node2 not up; run `lab up` for every node, then `lab provision`"]
    );
    let opts = Options {
        tags: Some("x".into()),
        ..Options::default()
    };
    let err = provision(&f.ctx, &opts, &Notes::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--only selects Ansible tags, but lab pv is provisioned with shell steps"),
        "{err}"
    );
}

#[test]
fn after_up_does_nothing_without_provision_or_checks() {
    let f = up_lab("");
    let mut st = f.ctx.state_dir.load().unwrap();
    let notes = Notes::default();
    after_up(&f.ctx, &mut st, &f.ctx.lab.nodes, &notes).unwrap();
    assert!(notes.0.into_inner().unwrap().is_empty());
    assert!(!f.ctx.state_dir.file(crate::state::PROVISION_LOG).exists());
}

/// `provision_pending` of each node of the lab, in node order.
fn pending(f: &Fixture) -> Vec<bool> {
    let st = f.ctx.state_dir.load().unwrap();
    st.nodes.values().map(|ns| ns.provision_pending).collect()
}

/// Whether `lab up` would take the lab for up with nothing to do.
fn is_noop(f: &Fixture, provision: bool) -> bool {
    let st = f.ctx.state_dir.load().unwrap();
    up::already_up(&f.ctx, &st, &f.ctx.lab.nodes, provision)
        .unwrap()
        .is_some()
}

#[test]
fn a_provisioning_that_did_not_finish_is_run_again_by_the_next_up() {
    let f = up_lab(HOST_ANSIBLE);
    // Nodes created with --no-provision wait for their first provisioning.
    assert_eq!(pending(&f), [true, true]);
    assert!(
        !is_noop(&f, true),
        "up must provision a never provisioned lab"
    );
    assert!(is_noop(&f, false), "up --no-provision has nothing to do");

    let failing = Options {
        host_ansible: fake_ansible(scratch(&f), "PLAY RECAP ***\n", 2),
        ..Options::default()
    };
    provision(&f.ctx, &failing, &Notes::default()).unwrap_err();
    assert_eq!(pending(&f), [true, true], "a failed run is not done");
    assert!(!is_noop(&f, true));
    let shown = crate::ops::status::status(&f.ctx).unwrap();
    assert!(shown.nodes.iter().all(|n| n.provision_pending), "{shown:?}");

    let ok = Options {
        host_ansible: fake_ansible(scratch(&f), OK_OUTPUT, 0),
        ..Options::default()
    };
    provision(&f.ctx, &ok, &Notes::default()).unwrap();
    assert_eq!(pending(&f), [false, false]);
    assert!(is_noop(&f, true));

    // A run of some tags that fails leaves the nodes pending; one that
    // succeeds leaves each node's mark as it was.
    let only = |status| Options {
        tags: Some("db".into()),
        host_ansible: fake_ansible(scratch(&f), OK_OUTPUT, status),
        ..Options::default()
    };
    provision(&f.ctx, &only(0), &Notes::default()).unwrap();
    assert_eq!(pending(&f), [false, false]);
    provision(&f.ctx, &only(2), &Notes::default()).unwrap_err();
    assert_eq!(pending(&f), [true, true]);
    provision(&f.ctx, &only(0), &Notes::default()).unwrap();
    assert_eq!(
        pending(&f),
        [true, true],
        "--only does not finish a provisioning"
    );

    // A run on one node clears that node's mark only.
    let one = Options {
        nodes: vec!["node2".into()],
        host_ansible: fake_ansible(scratch(&f), OK_OUTPUT, 0),
        ..Options::default()
    };
    provision(&f.ctx, &one, &Notes::default()).unwrap();
    assert_eq!(pending(&f), [true, false]);
}
