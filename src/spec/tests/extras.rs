//! Tests of the `checks` and `forwards` sections.

use std::time::Duration;

use super::*;
use crate::spec::extras::MAX_SECRETS;

const NODES: &str =
    "  node1:\n    ip: 10.77.10.21\n    roles: [app]\n  node2:\n    ip: 10.77.10.22\n";

fn with(extra: &str) -> String {
    lab_src(extra, NODES)
}

#[test]
fn checks_are_modelled_with_defaults() {
    let lab = ok(&with(
        "checks:\n  - name: web answers\n    on: node1\n    run: curl -fsS http://localhost/\n  - {name: db, on: node2, run: 'true', retries: 10, interval: 5}\n",
    ));
    assert_eq!(
        lab.checks,
        [
            Check {
                name: "web answers".into(),
                on: "node1".into(),
                run: "curl -fsS http://localhost/".into(),
                retries: 0,
                interval: Duration::from_secs(DEFAULT_INTERVAL_SECS),
            },
            Check {
                name: "db".into(),
                on: "node2".into(),
                run: "true".into(),
                retries: 10,
                interval: Duration::from_secs(5),
            },
        ]
    );
    assert!(ok(&with("")).checks.is_empty());
}

#[test]
fn a_check_runs_on_one_node() {
    let errs = errors(&with(
        "checks:\n  - {name: a, on: app, run: x}\n  - {name: b, on: nod1, run: x}\n  - {name: c, on: [node1, node2], run: x}\n",
    ));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    find(
        &errs,
        "checks[0].on",
        "`app` is a role, but a check's `on` names one node",
    );
    let typo = find(&errs, "checks[1].on", "`nod1` is not a node");
    assert_eq!(typo.hint(), Some("did you mean `node1`?"));
    let list = find(
        &errs,
        "checks[2].on",
        "expected one node name, found a list",
    );
    assert!(list.hint().unwrap().contains("repeat the check"));
}

#[test]
fn checks_need_name_on_and_run_or_script_and_sane_numbers() {
    let errs = errors(&with(
        "checks:\n  - {on: node1}\n  - {name: ' ', on: node1, run: '', retries: -1, interval: 0}\n  - {name: x, on: node1, run: y, every: 3}\n",
    ));
    find(&errs, "checks[0].name", "is missing");
    find(
        &errs,
        "checks[0]",
        "has neither `run` nor `script`; give exactly one",
    );
    find(&errs, "checks[1].name", "is empty");
    find(&errs, "checks[1].run", "is empty");
    find(
        &errs,
        "checks[1].retries",
        "-1 is out of range; retries must be between 0 and 1000",
    );
    find(
        &errs,
        "checks[1].interval",
        "0 s is out of range; interval must be between 1 and 3600 s",
    );
    find(&errs, "checks[2].every", "unknown key in a check");
    find(
        &errors(&with("checks: {name: x}\n")),
        "checks",
        "expected a list",
    );
}

#[test]
fn check_names_are_unique() {
    let errs = errors(&with(
        "checks:\n  - {name: same, on: node1, run: x}\n  - {name: same, on: node2, run: y}\n",
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    find(
        &errs,
        "checks[1].name",
        "check `same` is defined twice (first at line 6)",
    );
}

#[test]
fn forwards_are_modelled_with_the_loopback_default() {
    let lab = ok(&with(
        "forwards:\n  - {node: node1, guest: 80, host: 8080}\n  - {node: node2, guest: 3000, host: 3000, address: 127.0.0.2}\n",
    ));
    assert_eq!(
        lab.forwards,
        [
            Forward {
                node: "node1".into(),
                guest: 80,
                host: 8080,
                address: DEFAULT_FORWARD_ADDRESS
            },
            Forward {
                node: "node2".into(),
                guest: 3000,
                host: 3000,
                address: "127.0.0.2".parse().unwrap()
            },
        ]
    );
}

#[test]
fn forwards_need_nodes_ports_and_unique_host_ports() {
    let errs = errors(&with(
        "forwards:\n  - {node: node3, guest: 0, host: 8080}\n  - {node: app, guest: 80, host: 8080}\n  - {node: node1, guest: 70000, host: 65536, address: localhost}\n  - {node: node1}\n",
    ));
    find(&errs, "forwards[0].node", "`node3` is not a node");
    find(
        &errs,
        "forwards[0].guest",
        "0 is out of range; a port must be between 1 and 65535",
    );
    find(
        &errs,
        "forwards[1].node",
        "`app` is a role, but a forward names one node",
    );
    find(
        &errs,
        "forwards[1].host",
        "host port 8080 is already forwarded (line 6)",
    );
    find(&errs, "forwards[2].guest", "70000 is out of range");
    find(&errs, "forwards[2].host", "65536 is out of range");
    find(
        &errs,
        "forwards[2].address",
        "\"localhost\" is not an IPv4 address",
    );
    find(&errs, "forwards[3].guest", "is missing");
    find(&errs, "forwards[3].host", "is missing");
    assert_eq!(errs.len(), 9, "{errs:#?}");
}

#[test]
fn a_hint_lists_twenty_node_names_and_counts_the_rest() {
    let nodes: String = (0..30)
        .map(|i| format!("  n{i:02}: {{ip: 10.77.10.{}, roles: [r{i}]}}\n", i + 21))
        .collect();
    let errs = errors(&lab_src(
        "checks:\n  - {name: a, on: r3, run: x}\n  - {name: b, on: zzzz, run: x}\n",
        &nodes,
    ));
    let names: Vec<String> = (0..20).map(|i| format!("n{i:02}")).collect();
    let listed = format!("nodes: {} and 10 more", names.join(", "));
    let role = find(&errs, "checks[0].on", "`r3` is a role");
    assert_eq!(role.hint(), Some(listed.as_str()));
    let unknown = find(&errs, "checks[1].on", "`zzzz` is not a node");
    assert_eq!(unknown.hint(), Some(listed.as_str()));
}

#[test]
fn hints_are_made_only_for_the_diagnostics_shown() {
    let mut d = diag::Diags::new("t.yaml", "x");
    for i in 0..diag::MAX_DIAGNOSTICS {
        d.error("", yaml::Span::at(0), "shown")
            .help_with(|| format!("hint {i}"));
    }
    d.error("", yaml::Span::at(0), "counted only")
        .help_with(|| panic!("a hint made for a diagnostic nobody sees"));
    let err = d.finish().unwrap_err();
    assert_eq!(err.diagnostics().len(), diag::MAX_DIAGNOSTICS);
    assert_eq!(err.diagnostics()[7].hint(), Some("hint 7"));
}

#[test]
fn secret_names_are_checked_where_they_are_written() {
    let lab = ok(&with("secrets: [notes_db_password, api_token2]\n"));
    assert_eq!(
        lab.secrets,
        Some(vec!["notes_db_password".into(), "api_token2".into()])
    );
    assert_eq!(ok(&with("")).secrets, None);
    let errs = errors(&with(
        "secrets:\n  - db_password\n  - Bad-Name\n  - db_password\n  - 2fa\n",
    ));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    let e = find(&errs, "secrets[1]", "\"Bad-Name\" is not a secret name");
    assert_eq!(e.line_col(), (7, 5));
    find(
        &errs,
        "secrets[2]",
        "secret `db_password` is defined twice (first at line 6)",
    );
    find(&errs, "secrets[3]", "\"2fa\" is not a secret name");
    // An item of the wrong type is left out; the items after it keep
    // their own index in messages.
    let errs = errors(&with("secrets: [abc, {x: 1}, [y], 1bad, abc]\n"));
    find(&errs, "secrets[1]", "expected a string");
    find(&errs, "secrets[3]", "\"1bad\" is not a secret name");
    find(&errs, "secrets[4]", "secret `abc` is defined twice");
    let errs = errors(&with(
        "checks:\n  - {name: a, on: node1, run: [x]}\n  - {name: b, on: nod1, run: x}\n",
    ));
    assert_eq!(
        errs.len(),
        2,
        "no `neither` error for a run of the wrong type: {errs:#?}"
    );
    find(&errs, "checks[0].run", "expected a string");
    find(&errs, "checks[1].on", "nod1");
    let many: Vec<String> = (0..=MAX_SECRETS).map(|i| format!("s{i}")).collect();
    let errs = errors(&with(&format!("secrets: [{}]\n", many.join(", "))));
    find(
        &errs,
        &format!("secrets[{MAX_SECRETS}]"),
        "a lab may declare at most 100 secrets",
    );
}
