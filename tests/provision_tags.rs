//! `lab provision --list-tags` from the real binary with the real
//! `ansible-playbook` (Debian's ansible-core, installed by scripts/test;
//! these tests fail without it): the tags of a playbook per play, `never`
//! tags included, with no lab up, no libvirt, and nothing written; and the
//! errors when there is nothing to list or no Ansible.

use std::path::Path;

use assert_cmd::Command;

const LAB: &str = "name: tagslab\nbox: debian-12\nnetwork: {subnet: 10.77.51.0/24}\nnodes:\n  node1: {ip: 10.77.51.21, roles: [app]}\n  node2: {ip: 10.77.51.22, roles: [app, db]}\nprovision:\n  type: ansible\n  controller: host\n  playbook: site.yml\n";

const PLAYBOOK: &str = "\
- name: Base of every node
  hosts: all
  gather_facts: false
  tags: [base]
  tasks:
    - name: Greet
      ansible.builtin.debug: {msg: hi}
      tags: [hello]
- name: Roll the app back
  hosts: app
  gather_facts: false
  tasks:
    - name: Back
      ansible.builtin.debug: {msg: back}
      tags: [never, rollback]
";

fn lab_dir(lab: &str, playbook: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.yaml"), lab).unwrap();
    std::fs::write(dir.path().join("site.yml"), playbook).unwrap();
    dir
}

fn lab(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("lab").unwrap();
    cmd.current_dir(dir)
        .env("LAB_HOME", dir.join("home"))
        // Nothing here may need libvirt: a URI that cannot answer.
        .env(
            "LAB_LIBVIRT_URI",
            "qemu+unix:///system?socket=/nonexistent/sock",
        )
        .args(args);
    cmd
}

#[test]
fn tags_of_every_play_are_listed_without_the_lab_up() {
    let dir = lab_dir(LAB, PLAYBOOK);
    let out = lab(dir.path(), &["provision", "--list-tags", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["lab"], "tagslab");
    assert_eq!(
        json["tags"],
        serde_json::json!(["base", "hello", "never", "rollback"])
    );
    let plays = json["plays"].as_array().unwrap();
    assert_eq!(plays.len(), 2, "{json}");
    assert_eq!(plays[1]["hosts"], "app");
    assert_eq!(plays[1]["name"], "Roll the app back");
    assert_eq!(plays[1]["tags"], serde_json::json!(["never", "rollback"]));
    assert!(!dir.path().join(".lab").exists(), "nothing written");

    let out = lab(dir.path(), &["provision", "--list-tags"])
        .output()
        .unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn nothing_to_list_or_no_ansible_is_a_clear_error() {
    let shell = LAB.replace(
        "  type: ansible\n  controller: host\n  playbook: site.yml\n",
        "  type: shell\n  scripts:\n    - {on: [node1], inline: 'true'}\n",
    );
    let dir = lab_dir(&shell, PLAYBOOK);
    let out = lab(dir.path(), &["provision", "--list-tags"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let shell_err = String::from_utf8_lossy(&out.stderr).into_owned();

    let dir = lab_dir(LAB, PLAYBOOK);
    let out = lab(dir.path(), &["provision", "--list-tags"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let missing = String::from_utf8_lossy(&out.stderr).into_owned();

    let dir = lab_dir(
        LAB,
        "- name: Broken\n  hosts: all\n  roles: [no_such_role]\n",
    );
    let out = lab(dir.path(), &["provision", "--list-tags"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let broken = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(broken.contains("no_such_role"), "{broken}");
    insta::assert_snapshot!(format!("{shell_err}---\n{missing}"));
}
