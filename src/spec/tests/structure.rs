//! Tests of the file's shape: YAML syntax, tabs, whole-file problems,
//! types, unknown, missing and duplicate keys, and that every error is
//! reported with its location.

use super::*;

fn only(errs: &[SpecDiagnostic]) -> &SpecDiagnostic {
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    &errs[0]
}

#[test]
fn syntax_error_has_a_location() {
    let errs = errors("name: x\nnodes: [a, b\n");
    let e = only(&errs);
    assert!(e.message().starts_with("YAML syntax error"), "{e}");
    assert_eq!(e.line_col().0, 2);
}

#[test]
fn every_tab_indented_line_is_reported() {
    let errs = errors(
        "name: x\nnetwork:\n\tsubnet: 10.77.10.0/24\nnodes:\n  node1:\n\t\tip: 10.77.10.21\n",
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs.iter().all(|e| e.message().contains("tab")));
    assert_eq!(errs[0].line_col(), (3, 1));
    assert_eq!(errs[1].line_col(), (6, 1));
    // Lines may end at a lone `\r` too.
    let errs = errors("name: x\rnetwork:\r\tsubnet: 10.77.10.0/24\rnodes:\r\t\tnode1: {}\r");
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs.iter().all(|e| e.message().contains("tab")));
    assert_eq!(errs[0].line_col(), (3, 1));
    assert_eq!(errs[1].line_col(), (5, 1));
}

#[test]
fn tabs_inside_a_block_scalar_are_fine() {
    let src = lab_src(
        "provision:\n  type: shell\n  scripts:\n    - on: [node1]\n      inline: |\n        if true; then\n        \techo hi\n        fi\n",
        ONE_NODE,
    );
    let lab = ok(&src);
    let Some(Provision::Shell(shell)) = lab.provision else {
        panic!()
    };
    assert_eq!(
        shell.scripts[0].source,
        ScriptSource::Inline("if true; then\n\techo hi\nfi\n".into())
    );
}

#[test]
fn whole_file_problems_are_one_sentence_naming_the_file() {
    for (src, needle) in [
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("---\n", "has no content"),
        ("- name: x\n- name: y\n", "holds a list at the top level"),
        ("Just some words\nin a text file.\n", "holds plain text"),
        ("name: a\n---\nname: b\n", "more than one YAML document"),
        ("name: x\0\n", "binary data"),
    ] {
        let err = parse_str(src, "my-lab.yaml", &ctx()).unwrap_err();
        let errs = err.diagnostics();
        assert_eq!(errs.len(), 1, "{src:?}: {errs:#?}");
        assert!(
            errs[0].message().starts_with("my-lab.yaml "),
            "{src:?}: {}",
            errs[0]
        );
        assert!(errs[0].message().contains(needle), "{src:?}: {}", errs[0]);
    }
}

#[test]
fn a_file_with_nul_bytes_is_binary_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, b"name: x\n\xff\xfe\x00").unwrap();
    let err = load_with(&path, &ctx()).unwrap_err();
    let e = only(err.diagnostics());
    assert!(
        e.message()
            .contains("binary data (byte 0xff at line 2, column 1)"),
        "{e}"
    );
}

#[test]
fn a_latin1_file_is_text_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, b"name: t\r\n# r\xc3\xa9seau, caf\xe9\nbox: x\n").unwrap();
    let err = load_with(&path, &ctx()).unwrap_err();
    let e = only(err.diagnostics());
    let shown = path.display();
    assert_eq!(
        e.message(),
        format!(
            "{shown} is not UTF-8 text: byte 0xe9 at line 2, column 14 is not valid UTF-8; lab files are UTF-8"
        )
    );
    assert_eq!(
        e.hint(),
        Some(format!("convert the file to UTF-8, e.g. from Latin-1 with `iconv -f latin1 -t utf-8 {shown}`").as_str())
    );
}

#[test]
fn top_level_string_key_typo_is_an_unknown_key_with_suggestion() {
    let errs = errors(&lab_src("netwrok: {}\n", ONE_NODE));
    let e = find(&errs, "netwrok", "unknown key");
    assert_eq!(
        e.hint().unwrap().split('?').next(),
        Some("did you mean `network`")
    );
    assert_eq!(e.line_col(), (5, 1));
}

#[test]
fn unknown_keys_are_reported_at_every_level() {
    let src = lab_src(
        "network2: x\ndefaults: {cpu: 1}\n",
        "  node1:\n    ip: 10.77.10.21\n    memroy: 2048\n    colour: red\n",
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    find(&errs, "network2", "unknown key");
    assert!(
        find(&errs, "defaults.cpu", "unknown key")
            .hint()
            .unwrap()
            .contains("`cpus`")
    );
    assert!(
        find(&errs, "nodes.node1.memroy", "unknown key")
            .hint()
            .unwrap()
            .starts_with("did you mean `memory`?")
    );
    assert!(
        !find(&errs, "nodes.node1.colour", "unknown key")
            .hint()
            .unwrap()
            .contains("did you mean")
    );
    let nested = errors(
        "name: t\nbox: debian-12\nnetwork:\n  subnet: 10.77.10.0/24\n  dhcp: true\nnodes:\n  node1: {ip: 10.77.10.21}\n",
    );
    find(&nested, "network.dhcp", "unknown key");
}

#[test]
fn wrong_types_are_reported() {
    let src = "name: [a]\nbox: debian-12\naccel: fast\nnetwork: 10.77.10.0/24\ndefaults:\n  memory: \"2048\"\nnodes:\n  node1:\n    ip: 10.77.10.21\n    cpus: two\n    disk: 2.5\n    roles: app\n  node2: text\n";
    let errs = errors(src);
    assert_eq!(errs.len(), 8, "{errs:#?}");
    find(&errs, "name", "expected a string, found a list");
    find(&errs, "accel", "unknown accelerator \"fast\"");
    find(&errs, "network", "expected a mapping, found the string");
    let quoted = find(
        &errs,
        "defaults.memory",
        "expected a whole number, found the string \"2048\"",
    );
    assert!(quoted.hint().unwrap().contains("remove the quotes"));
    find(&errs, "nodes.node1.cpus", "expected a whole number");
    find(&errs, "nodes.node1.disk", "found the number 2.5");
    assert!(
        find(&errs, "nodes.node1.roles", "expected a list")
            .hint()
            .unwrap()
            .contains("[app]")
    );
    find(&errs, "nodes.node2", "expected a mapping");
}

#[test]
fn integers_follow_the_yaml_core_schema() {
    let lab = ok(&lab_src(
        "",
        "  node1:\n    ip: 10.77.10.21\n    memory: 0x800\n    cpus: +2\n",
    ));
    assert_eq!((lab.nodes[0].memory_mib, lab.nodes[0].cpus), (2048, 2));
}

#[test]
fn missing_required_fields_are_each_reported() {
    let errs = errors(
        "accel: kvm\nnetwork:\n  domain: x.lab\nnodes:\n  node1:\n    cpus: 2\n  node2:\n    ip:\n",
    );
    assert_eq!(errs.len(), 5, "{errs:#?}");
    find(&errs, "name", "is missing");
    find(&errs, "box", "is missing");
    let subnet = find(&errs, "network.subnet", "is missing");
    assert_eq!(subnet.line_col(), (2, 1), "points at the `network` key");
    assert_eq!(
        find(&errs, "nodes.node1.ip", "is missing").line_col(),
        (5, 3)
    );
    find(&errs, "nodes.node2.ip", "is empty");
    let no_net = errors("name: t\nbox: debian-12\nnodes:\n  node1: {ip: 10.77.10.21}\n");
    find(&no_net, "network", "is missing");
    let no_nodes = errors("name: t\nbox: debian-12\nnetwork: {subnet: 10.77.10.0/24}\n");
    find(&no_nodes, "nodes", "is missing");
}

#[test]
fn nodes_must_be_a_non_empty_mapping() {
    find(
        &errors(&lab_src("", "  - node1\n")),
        "nodes",
        "found a list",
    );
    find(&errors(&lab_src("", "  {}\n")), "nodes", "has no nodes");
    let null = errors("name: t\nbox: debian-12\nnetwork: {subnet: 10.77.10.0/24}\nnodes:\n");
    assert_eq!(find(&null, "nodes", "is empty").line_col(), (4, 1));
}

#[test]
fn duplicate_keys_point_at_the_second_occurrence() {
    let src = lab_src(
        "name: again\n",
        "  node1:\n    ip: 10.77.10.21\n    ip: 10.77.10.22\n",
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    let top = find(
        &errs,
        "name",
        "key `name` is defined twice (first at line 1)",
    );
    assert_eq!(top.line_col(), (5, 1));
    let ip = find(&errs, "nodes.node1.ip", "defined twice (first at line 8)");
    assert_eq!(ip.line_col(), (9, 5));
}

#[test]
fn duplicate_node_names_are_reported_as_such() {
    let errs = errors(&lab_src(
        "",
        "  node1: {ip: 10.77.10.21}\n  node2: {ip: 10.77.10.22}\n  node1: {ip: 10.77.10.23}\n",
    ));
    let e = only(&errs);
    assert_eq!(e.field(), "nodes.node1");
    assert!(
        e.message()
            .contains("node `node1` is defined twice (first at line 6)"),
        "{e}"
    );
    assert_eq!(e.line_col(), (8, 3));
}

#[test]
fn duplicate_keys_in_extra_vars_are_reported() {
    let src = lab_src(
        "provision:\n  type: ansible\n  controller: host\n  playbook: site.yml\n  extra_vars: {a: 1, a: 2}\n",
        ONE_NODE,
    );
    find(&errors(&src), "provision.extra_vars.a", "defined twice");
}

#[test]
fn merge_keys_are_refused_wherever_they_stand() {
    let src = lab_src(
        "defaults: &d {cpus: 2}\n<<: *d\nprovision:\n  type: ansible\n  controller: host\n  playbook: site.yml\n  extra_vars: {<<: {a: 1}, '<<': quoted}\n",
        "  node1:\n    <<: *d\n    ip: 10.77.10.21\n",
    );
    let errs = errors(&src);
    for field in ["<<", "provision.extra_vars.<<", "nodes.node1.<<"] {
        let e = find(
            &errs,
            field,
            "YAML merge keys (`<<: *name`) are not supported",
        );
        assert!(e.hint().unwrap().starts_with("write the keys out"), "{e:?}");
    }
    // No "unknown key" on top of them; a quoted `<<` is a key like others.
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

#[test]
fn errors_of_all_kinds_are_reported_together_in_source_order() {
    let src = "\
name: Bad_Name
box: debian-12
network:
  subnet: 10.77.10.0/24
defaults:
  memroy: 2048
nodes:
  node1:
    ip: 10.77.11.21
    cpus: [2]
  node2:
    ip: 10.77.10.22
    box: nope
";
    let errs = errors(src);
    let fields: Vec<&str> = errs.iter().map(|e| e.field()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "defaults.memroy",
            "nodes.node1.ip",
            "nodes.node1.cpus",
            "nodes.node2.box"
        ]
    );
    let lines: Vec<usize> = errs.iter().map(|e| e.line_col().0).collect();
    assert_eq!(lines, [1, 6, 9, 10, 13]);
}
