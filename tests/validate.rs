//! `lab validate` and `lab schema` through the real binary: every invalid
//! fixture exits 2 and points at file:line:column (stderr snapshotted), the
//! smoke lab is valid. Box lookup is hermetic: `LAB_BOXES_PATH` and
//! `LAB_HOME` point at temporary directories that know only `debian-12`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

struct Env {
    boxes: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn env() -> Env {
    let boxes = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(boxes.path().join("debian-12")).unwrap();
    std::fs::write(boxes.path().join("debian-12/box.yaml"), "# test recipe\n").unwrap();
    Env {
        boxes,
        home: tempfile::tempdir().unwrap(),
    }
}

fn lab(env: &Env) -> Command {
    let mut cmd = Command::cargo_bin("lab").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LAB_BOXES_PATH", env.boxes.path())
        .env("LAB_HOME", env.home.path())
        .env("NO_COLOR", "1")
        .env_remove("LAB_LOG");
    cmd
}

fn invalid_fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Whether `text` contains `file:LINE:COLUMN`.
fn has_location(text: &str, file: &str) -> bool {
    text.match_indices(&format!("{file}:")).any(|(i, m)| {
        let rest = &text[i + m.len()..];
        let (line, rest) = rest.split_at(
            rest.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len()),
        );
        let col_len = rest
            .strip_prefix(':')
            .map(|r| r.chars().take_while(char::is_ascii_digit).count());
        !line.is_empty() && col_len.is_some_and(|n| n > 0)
    })
}

#[test]
fn every_invalid_fixture_is_rejected_with_locations() {
    let env = env();
    let fixtures = invalid_fixtures();
    assert!(
        fixtures.len() >= 20,
        "expected the whole corpus, found {}",
        fixtures.len()
    );
    for path in fixtures {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let rel = format!("tests/fixtures/invalid/{stem}.yaml");
        let out = lab(&env).args(["validate", "-f", &rel]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{rel}: exit status\n{stderr}");
        assert!(out.stdout.is_empty(), "{rel}: nothing on stdout");
        assert!(
            has_location(&stderr, &rel),
            "{rel}: no file:line:column in\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{rel}: {stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{rel}: no colors when not a terminal"
        );
        insta::assert_snapshot!(stem.as_str(), stderr);
    }
}

#[test]
fn smoke_lab_is_valid() {
    let env = env();
    lab(&env)
        .args(["validate", "-f", "labs/smoke/lab.yaml"])
        .assert()
        .code(0)
        .stdout("labs/smoke/lab.yaml: lab \"smoke\" is valid (2 nodes, subnet 10.77.10.0/24, box debian-12)\n");
}

#[test]
fn every_shipped_lab_is_valid() {
    let env = env();
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&labs).unwrap() {
        let file = entry.unwrap().path().join("lab.yaml");
        if !file.is_file() {
            continue;
        }
        seen += 1;
        lab(&env)
            .arg("validate")
            .arg("-f")
            .arg(&file)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("is valid"));
    }
    assert!(
        seen >= 2,
        "expected labs/smoke and labs/django-ha, found {seen}"
    );
}

#[test]
fn missing_file_names_the_path() {
    let env = env();
    lab(&env)
        .args(["validate", "-f", "tests/fixtures/no-such-lab.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read the lab file tests/fixtures/no-such-lab.yaml",
        ));
}

#[test]
fn a_missing_or_unreadable_lab_file_is_invalid_input_for_every_command() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-lab.yaml");
    let missing = missing.to_str().unwrap();
    let folder = dir.path().to_str().unwrap();
    for args in [
        vec!["validate", "-f", missing],
        vec!["validate", "--json", "-f", missing],
        vec!["status", "-f", missing],
        vec!["up", "-f", missing],
        vec!["snapshot", "list", "-f", missing],
        vec!["destroy", "-f", "--file", missing],
        vec!["status", "-f", folder],
        // No -f and no lab.yaml from here up: not found by the search.
        vec!["status"],
    ] {
        lab(&env)
            .args(&args)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("LAB_LIBVIRT_URI", "test:///default")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("lab file").or(predicate::str::contains("lab.yaml")));
    }
}

#[test]
fn default_file_is_lab_yaml_in_the_current_directory() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    std::fs::copy(smoke, dir.path().join("lab.yaml")).unwrap();
    lab(&env)
        .current_dir(dir.path())
        .arg("validate")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("lab.yaml: lab \"smoke\""));
}

#[test]
fn schema_is_pretty_json_describing_the_lab_file() {
    let env = env();
    let out = lab(&env).arg("schema").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\n  \""), "pretty-printed");
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(schema["title"], "lab.yaml");
    assert_eq!(schema["additionalProperties"], false);
    for key in ["name", "box", "network", "nodes", "proxy", "provision"] {
        assert!(
            schema["properties"].get(key).is_some(),
            "schema lacks {key}"
        );
    }
}

#[test]
fn validate_json_describes_a_valid_lab() {
    let env = env();
    let out = lab(&env)
        .args(["validate", "--json", "-f", "tests/fixtures/valid/json.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["lab"], "shapes");
    insta::assert_snapshot!("json-valid", stdout);
}

#[test]
fn validate_json_lists_every_error_with_line_column_and_field() {
    let env = env();
    let out = lab(&env)
        .args([
            "validate",
            "--json",
            "-f",
            "tests/fixtures/invalid/multiple-errors.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: tests/fixtures/invalid/multiple-errors.yaml: 6 errors\n"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["valid"], false);
    insta::assert_snapshot!("json-invalid", stdout);
}

/// Every `[FILE:LINE:COLUMN]` header of the human output, in order.
fn headers(stderr: &str, file: &str) -> Vec<(u64, u64)> {
    let start = format!("[{file}:");
    stderr
        .lines()
        .filter_map(|l| l.split_once(&start))
        .map(|(_, rest)| {
            let (line, col) = rest.trim_end_matches(']').split_once(':').unwrap();
            (line.parse().unwrap(), col.parse().unwrap())
        })
        .collect()
}

#[test]
fn human_and_json_outputs_agree_on_lines_and_columns() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    // `99` follows a two-byte character on its line: column 47, byte 48.
    let lines = [
        "name: t",
        "box: debian-12",
        "network: {subnet: 10.77.10.0/24}",
        "nodes:",
        "  node1: {ip: 10.77.10.21, box: débian, cpus: 99}",
    ];
    for (name, eol) in [("lf.yaml", "\n"), ("crlf.yaml", "\r\n"), ("cr.yaml", "\r")] {
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join(eol) + eol).unwrap();
        let file = path.to_str().unwrap();
        let human = lab(&env).args(["validate", "-f", file]).output().unwrap();
        let human = headers(&String::from_utf8(human.stderr).unwrap(), file);
        let out = lab(&env)
            .args(["validate", "--json", "-f", file])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let json: Vec<(u64, u64)> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["line"].as_u64().unwrap(), e["column"].as_u64().unwrap()))
            .collect();
        assert_eq!(human, [(5, 33), (5, 47)], "{name}: the human output");
        assert_eq!(json, human, "{name}: --json");
    }
}

#[test]
fn long_keys_are_quoted_clipped_in_both_outputs() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.yaml");
    // Explicit keys (`? KEY`) may be longer than 1024 characters.
    let keys: String = (0..15)
        .map(|i| format!("? k{i}{}\n: 1\n", "x".repeat(65_000)))
        .collect();
    std::fs::write(&path, format!("name: t\n{keys}")).unwrap();
    let file = path.to_str().unwrap();
    let human = lab(&env).args(["validate", "-f", file]).output().unwrap();
    let stderr = String::from_utf8(human.stderr).unwrap();
    assert!(stderr.contains(&format!("k0{}…: unknown key", "x".repeat(58))));
    assert!(stderr.len() < 20_000, "{} bytes", stderr.len());
    let json = lab(&env)
        .args(["validate", "--json", "-f", file])
        .output()
        .unwrap();
    assert!(json.stdout.len() < 20_000, "{} bytes", json.stdout.len());
}
