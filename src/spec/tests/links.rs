//! Tests of the `links` section: the model, placeholder substitution, and
//! the errors (unknown placeholders pointed at inside the URL, `when`
//! without `on`).

use super::*;
use crate::spec::links::expand;

const NODES: &str =
    "  control2:\n    ip: 10.77.10.12\n    roles: [edge]\n  node1:\n    ip: 10.77.10.21\n";

fn with(extra: &str) -> String {
    lab_src(extra, NODES)
}

#[test]
fn links_are_modelled_and_expanded() {
    let lab = ok(&with(
        "links:\n  - name: HAProxy stats\n    url: http://{control2}:8404/stats\n  - {name: app, url: 'http://{node1}/ and http://{control2}/', on: node1, when: 'systemctl is-active app'}\n  - {name: 'password: `lab secrets x`', url: none}\n",
    ));
    assert_eq!(
        lab.links[1],
        Link {
            name: "app".into(),
            url: "http://{node1}/ and http://{control2}/".into(),
            on: Some("node1".into()),
            when: Some("systemctl is-active app".into()),
        }
    );
    let urls: Vec<String> = lab.links.iter().map(|l| lab.link_url(l)).collect();
    assert_eq!(
        urls,
        [
            "http://10.77.10.12:8404/stats",
            "http://10.77.10.21/ and http://10.77.10.12/",
            "none",
        ]
    );
    assert!(ok(&with("")).links.is_empty());
}

#[test]
fn placeholders_are_replaced_by_what_the_lookup_knows() {
    let ip = |n: &str| (n == "db").then(|| "10.0.0.5".to_string());
    assert_eq!(expand("mysql://{db}:3306", ip), "mysql://10.0.0.5:3306");
    assert_eq!(expand("{db}{db}", ip), "10.0.0.510.0.0.5");
    assert_eq!(expand("http://{web}/", ip), "http://{web}/", "unknown kept");
    assert_eq!(expand("no braces }", ip), "no braces }");
    assert_eq!(expand("open {db", ip), "open {db");
}

#[test]
fn unknown_placeholders_point_inside_the_url() {
    let src = with(
        "links:\n  - name: stats\n    url: http://{control2}:8404/ and http://{contrl2}:80/\n  - {name: b, url: 'http://{edge}/'}\n  - {name: c, url: 'http://{}/'}\n  - {name: d, url: 'http://{node1/'}\n",
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    let typo = find(&errs, "links[0].url", "`contrl2` is not a node");
    assert_eq!(typo.hint(), Some("did you mean `control2`?"));
    let line = src.lines().position(|l| l.contains("contrl2")).unwrap() + 1;
    let col = src
        .lines()
        .nth(line - 1)
        .unwrap()
        .find("{contrl2}")
        .unwrap()
        + 1;
    assert_eq!(typo.line_col(), (line, col));
    find(
        &errs,
        "links[1].url",
        "`edge` is a role, but a `{NODE}` placeholder names one node",
    );
    find(&errs, "links[2].url", "has an empty placeholder `{}`");
    let open = find(&errs, "links[3].url", "has a `{` that is never closed");
    let line = src.lines().nth(open.line_col().0 - 1).unwrap();
    assert_eq!(&line[open.line_col().1 - 1..], "{node1/'}");
}

#[test]
fn when_needs_on_and_on_is_one_node() {
    let errs = errors(&with(
        "links:\n  - {name: a, url: x, when: 'true'}\n  - {name: b, url: x, on: [node1], when: 'true'}\n  - {name: c, url: x, on: nod1, when: ''}\n  - {name: a, url: ' ', via: x}\n",
    ));
    let when = find(&errs, "links[0].when", "is set without `on`");
    assert_eq!(
        when.hint(),
        Some("add `on: NODE` to the link, e.g. `on: node1`")
    );
    find(&errs, "links[1].on", "expected one node name, found a list");
    let typo = find(&errs, "links[2].on", "`nod1` is not a node");
    assert_eq!(typo.hint(), Some("did you mean `node1`?"));
    find(&errs, "links[2].when", "is empty");
    find(
        &errs,
        "links[3].name",
        "link `a` is defined twice (first at line 6)",
    );
    find(&errs, "links[3].url", "is empty");
    find(&errs, "links[3].via", "unknown key in a link");
    find(
        &errors(&with("links:\n  - {url: x}\n")),
        "links[0].name",
        "is missing",
    );
}
