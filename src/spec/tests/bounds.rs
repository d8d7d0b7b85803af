//! The YAML budget of a lab file: each bound refused with one diagnostic
//! at the value that crosses it.

use super::*;

/// The only diagnostic for `src`: (line, column, message).
fn refusal(src: &str) -> (usize, usize, String) {
    let errs = errors(src);
    let [e] = errs.as_slice() else {
        panic!("expected one diagnostic, got {errs:#?}")
    };
    let (line, col) = e.line_col();
    (line, col, e.message().to_owned())
}

/// Ten lines, each a list of nine aliases of the line before.
fn alias_bomb() -> String {
    let names: Vec<char> = ('a'..='j').collect();
    let mut src = format!("a: &a [{}]\n", ["\"x\""; 9].join(","));
    for pair in names.windows(2) {
        let items = vec![format!("*{}", pair[0]); 9].join(",");
        src.push_str(&format!("{n}: &{n} [{items}]\n", n = pair[1]));
    }
    src
}

#[test]
fn an_alias_bomb_is_refused_at_the_alias_that_crosses_the_limit() {
    let (line, col, message) = refusal(&alias_bomb());
    assert_eq!((line, col), (6, 8));
    assert_eq!(
        message,
        "alias *e would expand the file past 100000 values; lab files do not need aliases this large"
    );
}

#[test]
fn deep_flow_and_block_nesting_are_refused_at_the_65th_level() {
    let (line, col, message) = refusal(&"[".repeat(100_000));
    assert_eq!((line, col), (1, 65));
    assert_eq!(
        message,
        "lists and mappings nest more than 64 levels deep here; lab files need a handful"
    );
    let block: String = (0..70).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
    let (line, _, message) = refusal(&block);
    assert_eq!(line, 65);
    assert!(
        message.starts_with("lists and mappings nest more than 64 levels deep"),
        "{message}"
    );
    // 64 levels are fine as far as the budget goes (the lab is wrong).
    let errs = errors(&format!("x: {}{}", "[".repeat(63), "]".repeat(63)));
    assert!(
        errs.iter().all(|e| !e.message().contains("levels deep")),
        "{errs:#?}"
    );
}

#[test]
fn an_alias_may_not_nest_past_the_limit_either() {
    let deep = format!("{}x{}", "[".repeat(40), "]".repeat(40));
    let src = format!("a: &d {deep}\nb: {}*d{}\n", "[".repeat(30), "]".repeat(30));
    let (line, col, message) = refusal(&src);
    assert_eq!((line, col), (2, 34));
    assert!(
        message.starts_with("alias *d would nest lists and mappings more than 64 levels deep"),
        "{message}"
    );
}

#[test]
fn an_alias_inside_its_own_anchor_is_refused_not_dropped() {
    let src = "network: &n\n  *n : subnet\n  10.77.10.0/24 : domain\n  evil.lab: ignored\n";
    let (line, col, message) = refusal(src);
    assert_eq!((line, col), (2, 3));
    assert_eq!(
        message,
        "alias *n refers to the value it is inside of; an alias repeats a value that is complete"
    );
    let src = "name: t\nnodes:\n  node1: &m\n    ip: 10.77.10.21\n    roles: [*m]\n";
    let (line, col, message) = refusal(src);
    assert_eq!((line, col), (5, 13));
    assert!(message.starts_with("alias *m refers to the value it is inside of"));
    // Beside its anchor, the same alias is fine.
    let src = "a: &m [x]\nb: [*m]\n";
    assert!(errors(src).iter().all(|e| !e.message().contains("alias")));
}

#[test]
fn an_alias_of_no_anchor_is_refused_with_its_name() {
    for (src, at) in [
        ("name: t\nbox: *nope\n", (2, 6)),
        ("name: t\nbox: *later\nx: &later 1\n", (2, 6)),
        ("nodes: {*k : x}\n", (1, 9)),
    ] {
        let (line, col, message) = refusal(src);
        assert_eq!((line, col), at, "{src}");
        assert!(
            message.ends_with("names no anchor defined before it"),
            "{message}"
        );
    }
}

#[test]
fn a_thousand_anchors_pass_one_more_is_refused_at_its_value() {
    let anchors = |n: usize| format!("x: [{}]\n", vec!["&a 1"; n].join(", "));
    let errs = errors(&anchors(1000));
    assert!(
        errs.iter().all(|e| !e.message().contains("anchors")),
        "{errs:#?}"
    );
    let (line, col, message) = refusal(&anchors(1001));
    // At the value the 1001st `&a` names.
    assert_eq!((line, col), (1, 5 + 6 * 1000 + 3));
    assert_eq!(
        message,
        "the file defines more than 1000 anchors (`&name`) by here; lab files need a handful"
    );
}

#[test]
fn a_long_scalar_is_refused_where_it_starts() {
    let src = format!("name: t\nbox: '{}'\n", "x".repeat(64 << 10));
    assert!(
        !errors(&src)
            .iter()
            .any(|e| e.message().contains("at most 64 KiB"))
    );
    let src = format!("name: t\nbox: '{}'\n", "x".repeat((64 << 10) + 1));
    let (line, col, message) = refusal(&src);
    assert_eq!((line, col), (2, 6));
    assert_eq!(
        message,
        "this value is 65537 bytes long; values in a lab file may be at most 64 KiB"
    );
}

#[test]
fn too_many_values_without_aliases_are_refused() {
    let src = format!("x: [{}]\n", vec!["a"; 100_000].join(","));
    let (line, col, message) = refusal(&src);
    // The map, its key and the list are values 1 to 3; item 99998 crosses.
    assert_eq!((line, col), (1, 5 + 2 * 99_997));
    assert_eq!(
        message,
        "the file holds more than 100000 values by here; a lab file needs a few hundred values"
    );
}

#[test]
fn many_problems_show_the_first_fifty_and_count_the_rest() {
    let keys: String = (0..200).map(|i| format!("x{i}: 1\n")).collect();
    let err = parse_str(&lab_src(&keys, ONE_NODE), "lab.yaml", &ctx()).unwrap_err();
    assert_eq!(err.to_string(), "lab.yaml: 200 errors");
    assert_eq!(err.diagnostics().len(), 50);
    assert_eq!(err.diagnostics()[49].line_col().0, 4 + 50);
    let rendered = err.render(false);
    assert!(
        rendered.ends_with("\n... and 150 more errors, not shown; fix these first\n"),
        "{rendered}"
    );
}

#[test]
fn duplicates_far_down_a_file_name_the_line_of_the_first() {
    let pairs: String = (0..2000).map(|i| format!("k{}: 1\n", i / 2)).collect();
    let errs = errors(&pairs);
    let dup = errs
        .iter()
        .find(|e| e.message().starts_with("key `k24` is defined twice"))
        .unwrap();
    assert_eq!(
        dup.message(),
        "key `k24` is defined twice (first at line 49)"
    );
}

#[test]
fn a_long_line_is_cut_around_the_error_in_the_snippet() {
    let list = vec!["debian-12"; 20_000].join(", ");
    let src =
        format!("name: t\nbox: [{list}]\nnetwork:\n  subnet: 10.77.10.0/24\nnodes:\n{ONE_NODE}");
    let err = parse_str(&src, "lab.yaml", &ctx()).unwrap_err();
    let rendered = err.render(false);
    assert!(rendered.contains("[lab.yaml:2:6]"), "{rendered}");
    assert!(
        rendered.len() < 2000,
        "{} bytes:\n{rendered}",
        rendered.len()
    );
    // In the middle of the line, the header still names the label's column.
    let mid = format!(
        "{{{}, k0: 2}}\n",
        (0..5000)
            .map(|i| format!("k{i}: 1"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let err = parse_str(&mid, "lab.yaml", &ctx()).unwrap_err();
    let rendered = err.render(false);
    let col = mid.find("k0: 2").unwrap() + 1;
    assert!(
        rendered.contains(&format!("[lab.yaml:1:{col}]")),
        "{rendered}"
    );
    assert!(
        rendered.len() < 50 * 1000,
        "{} bytes:\n{rendered}",
        rendered.len()
    );
}
