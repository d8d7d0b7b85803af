//! `--json` outputs of the real binary in the cases that need no VM: what
//! scripts read must be JSON on stdout whatever the lab holds.

use std::path::Path;

use assert_cmd::Command;

/// `lab ARGS` on a copy of labs/smoke, with hermetic box lookup and
/// libvirt's test driver.
fn lab(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("lab").unwrap();
    std::fs::create_dir_all(dir.join("recipes/debian-12")).unwrap();
    std::fs::write(dir.join("recipes/debian-12/box.yaml"), "").unwrap();
    cmd.args(args)
        .current_dir(dir)
        .env("LAB_HOME", dir.join("home"))
        .env("LAB_BOXES_PATH", dir.join("recipes"))
        .env("LAB_LIBVIRT_URI", "test:///default")
        .env_remove("LAB_FILE")
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn verify_json_of_a_lab_without_checks_is_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    std::fs::copy(smoke, dir.path().join("lab.yaml")).unwrap();
    let out = lab(dir.path(), &["verify", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
}

#[test]
fn validate_json_is_json_whatever_happens_to_the_lab_file() {
    let dir = tempfile::tempdir().unwrap();
    let json = |args: &[&str], code: i32| {
        let out = lab(dir.path(), args)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{args:?}: {e}: {:?}", String::from_utf8_lossy(&out.stdout))
        });
        assert_eq!(v["valid"], false, "{v}");
        let [error] = v["errors"].as_array().unwrap().as_slice() else {
            panic!("one error expected: {v}")
        };
        (v["file"].clone(), error.clone())
    };
    // No lab file here or above (the search stops at $HOME).
    let (file, error) = json(&["validate", "--json"], 2);
    assert_eq!(file, serde_json::Value::Null);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("no lab.yaml in "),
        "{error}"
    );
    assert_eq!(error["line"], serde_json::Value::Null);
    // A named file that is missing, or a directory.
    let (file, error) = json(&["validate", "--json", "-f", "gone.yaml"], 2);
    assert_eq!(file, "gone.yaml");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot read the lab file gone.yaml: "),
        "{error}"
    );
    std::fs::create_dir(dir.path().join("d.yaml")).unwrap();
    json(&["validate", "--json", "-f", "d.yaml"], 2);
    // Too large, or not text: problems of the file itself (exit 2).
    std::fs::write(dir.path().join("big.yaml"), vec![b'#'; 2 << 20]).unwrap();
    let (_, error) = json(&["validate", "--json", "-f", "big.yaml"], 2);
    assert_eq!((&error["line"], &error["column"]), (&1.into(), &1.into()));
    std::fs::write(dir.path().join("latin1.yaml"), b"name: caf\xe9\n").unwrap();
    json(&["validate", "--json", "-f", "latin1.yaml"], 2);
}
