//! Tests of the `ansible-playbook` output parser on captured output.

use super::*;

fn parse(text: &str) -> (Parser, Vec<Event>) {
    let mut p = Parser::default();
    let events = text
        .lines()
        .map(|l| p.feed(l))
        .filter(|e| *e != Event::Other)
        .collect();
    (p, events)
}

/// Ansible's lines of a captured provision log.
fn captured(log: &str) -> String {
    log.lines()
        .filter_map(|l| l.strip_prefix("[ansible] "))
        .map(|l| format!("{l}\n"))
        .collect()
}

const FAILED_RUN: &str = r#"
PLAY [Databases] ***************************************************************

TASK [Gathering Facts] *********************************************************
ok: [node1]
fatal: [node2]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh: ssh: connect to host 10.77.30.22 port 22: No route to host", "unreachable": true}

TASK [mariadb : Install packages] **********************************************
changed: [node1]

TASK [mariadb : Try something that may fail] ***********************************
fatal: [node1]: FAILED! => {"changed": false, "msg": "this one is ignored"}
...ignoring

TASK [mariadb : Create users] **************************************************
failed: [node1] (item=app) => {"ansible_loop_var": "item", "changed": false, "item": "app", "msg": "unable to connect to database"}
ok: [node1] => (item=exporter)
fatal: [node1]: FAILED! => {"changed": true, "cmd": "mysql -e 'select 1'", "msg": "non-zero return code", "rc": 1, "stderr": "ERROR 2002 (HY000): Can't connect\nfinal line", "stdout": ""}

RUNNING HANDLER [mariadb : restart mariadb] ************************************

PLAY RECAP *********************************************************************
node1                      : ok=2    changed=1    unreachable=0    failed=1    skipped=0    rescued=0    ignored=1   
node2                      : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0   
"#;

#[test]
fn failures_name_task_and_host_and_ignored_ones_are_dropped() {
    let (p, events) = parse(FAILED_RUN);
    assert_eq!(events[0], Event::Play("PLAY [Databases]".into()));
    assert_eq!(events[1], Event::Task("TASK [Gathering Facts]".into()));
    assert!(events.contains(&Event::Task(
        "RUNNING HANDLER [mariadb : restart mariadb]".into()
    )));
    let shown: Vec<String> = p.failures.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        shown,
        [
            "task \"Gathering Facts\" could not reach node2: Failed to connect to the host via ssh: ssh: connect to host 10.77.30.22 port 22: No route to host",
            "task \"mariadb : Create users (item=app)\" failed on node1: unable to connect to database",
            "task \"mariadb : Create users\" failed on node1: non-zero return code (stderr: final line)",
        ]
    );
    assert!(p.failures.iter().all(|f| f.play == "Databases"));
    assert_eq!(
        p.recap,
        [
            HostRecap {
                host: "node1".into(),
                ok: 2,
                changed: 1,
                failed: 1,
                ignored: 1,
                ..Default::default()
            },
            HostRecap {
                host: "node2".into(),
                unreachable: 1,
                ..Default::default()
            },
        ]
    );
}

#[test]
fn errors_before_any_task_are_kept() {
    let (p, _) = parse("ERROR! the playbook: nosuch.yml could not be found\n");
    assert_eq!(p.errors, ["the playbook: nosuch.yml could not be found"]);
    assert!(p.recap.is_empty());
}

#[test]
fn headers_keep_brackets_inside_names_and_delegation_is_cut() {
    let (p, events) = parse(
        "TASK [check [x] works] ****\nfatal: [node1 -> localhost]: FAILED! => not json at all\n",
    );
    assert_eq!(events[0], Event::Task("TASK [check [x] works]".into()));
    assert_eq!(p.failures[0].host, "node1");
    assert_eq!(p.failures[0].message, "not json at all");
}

/// Output of a real second run on the lab's VMs (nothing changed;
/// `ansible-playbook` 2.14 from Debian 12 on the controller node),
/// captured from `.lab/provision.log`.
#[test]
fn captured_run_on_real_vms() {
    let (p, events) = parse(&captured(include_str!(
        "../../tests/fixtures/ansible/second-run.log"
    )));
    assert!(p.failures.is_empty(), "{:?}", p.failures);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Task(t) if t == "TASK [Gathering Facts]"))
    );
    let hosts: Vec<&str> = p.recap.iter().map(|r| r.host.as_str()).collect();
    assert_eq!(hosts, ["node1", "node2"]);
    assert!(
        p.recap
            .iter()
            .all(|r| r.ok > 0 && r.changed == 0 && r.failed == 0),
        "{:?}",
        p.recap
    );
}

/// A real failed run: an ignored failure on both nodes, then a task
/// failing on node2 only.
#[test]
fn captured_failed_run_on_real_vms() {
    let (p, _) = parse(&captured(include_str!(
        "../../tests/fixtures/ansible/failed-run.log"
    )));
    let shown: Vec<String> = p.failures.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        shown,
        [
            "task \"Fails on node2 only\" failed on node2: non-zero return code (stderr: no database here)"
        ]
    );
    assert_eq!(
        p.recap[1],
        HostRecap {
            host: "node2".into(),
            ok: 1,
            failed: 1,
            ignored: 1,
            ..Default::default()
        }
    );
}

/// The time per role comes from when each task header was read; a new
/// play and the recap end the running task.
#[test]
fn role_times_follow_the_task_headers() {
    use std::time::{Duration, Instant};
    let t0 = Instant::now();
    let mut p = Parser::default();
    let lines = [
        (0, "PLAY [Base] ***"),
        (0, "TASK [Gathering Facts] ***"),
        (1, "TASK [common : Install packages] ***"),
        (9, "changed: [node1]"),
        (11, "RUNNING HANDLER [common : Restart timesyncd] ***"),
        (12, "PLAY [HAProxy] ***"),
        (20, "TASK [haproxy : Configure] ***"),
        (23, "PLAY RECAP ***"),
        (30, "node1 : ok=3 changed=1 unreachable=0 failed=0"),
    ];
    for (secs, line) in lines {
        p.feed_at(line, t0 + Duration::from_secs(secs));
    }
    let got: Vec<(&str, f64)> = p
        .roles
        .roles()
        .iter()
        .map(|r| (r.role.as_str(), r.seconds))
        .collect();
    assert_eq!(
        got,
        [("(no role)", 1.0), ("common", 11.0), ("haproxy", 3.0)]
    );
}

#[test]
fn warnings_are_kept_with_their_task_and_bounded() {
    let text = "[WARNING]: No inventory was parsed, only implicit localhost is available
PLAY [all] *********************************************************************
TASK [common : Install] ********************************************************
[DEPRECATION WARNING]: The apt_key module is deprecated. This feature will be removed in 2.20.
[WARNING]: Module remote_tmp /root/.ansible/tmp did not exist and was created
ok: [node1]
";
    let (p, events) = parse(text);
    assert_eq!(
        p.warnings,
        [
            "No inventory was parsed, only implicit localhost is available",
            "deprecation: The apt_key module is deprecated. This feature will be removed in 2.20. (task \"common : Install\")",
            "Module remote_tmp /root/.ansible/tmp did not exist and was created (task \"common : Install\")",
        ]
    );
    assert!(events.contains(&Event::Warning(
        "Module remote_tmp /root/.ansible/tmp did not exist and was created".into()
    )));
    let many = "[WARNING]: again\n".repeat(MAX_WARNINGS + 10);
    let (p, _) = parse(&many);
    assert_eq!(p.warnings.len(), MAX_WARNINGS);
    let long = format!("[WARNING]: {}", "w".repeat(1000));
    let (p, _) = parse(&long);
    assert_eq!(
        p.warnings[0].chars().count(),
        301,
        "300 characters and an ellipsis"
    );
}
