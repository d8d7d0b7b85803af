//! Tests of the files a lab refers to, in a temp lab directory.

use std::path::Path;

use super::*;

const NODES: &str = "  control1:\n    ip: 10.77.10.10\n  node1:\n    ip: 10.77.10.21\n";

/// A lab directory holding `files` (empty files; a trailing `/` makes a
/// directory).
fn lab_dir(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let path = dir.path().join(f);
        if let Some(d) = f.strip_suffix('/') {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        } else {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
    }
    dir
}

fn in_dir(dir: &Path) -> Context {
    ctx().with_lab_dir(dir)
}

fn shell(steps: &str) -> String {
    lab_src(
        &format!("provision:\n  type: shell\n  scripts:\n{steps}"),
        NODES,
    )
}

fn ansible(rest: &str) -> String {
    lab_src(&format!("provision:\n  type: ansible\n{rest}"), NODES)
}

fn errors_in(dir: &Path, src: &str) -> Vec<SpecDiagnostic> {
    match parse_str(src, "lab.yaml", &in_dir(dir)) {
        Ok(lab) => panic!("expected errors, got a valid lab: {lab:?}"),
        Err(err) => err.diagnostics().to_vec(),
    }
}

#[test]
fn existing_scripts_and_playbook_pass() {
    let dir = lab_dir(&["scripts/setup.sh", "site.yml"]);
    let src = shell(
        "    - on: [node1]\n      script: scripts/setup.sh\n    - on: [node1]\n      inline: 'true'\n",
    );
    parse_str(&src, "lab.yaml", &in_dir(dir.path())).unwrap();
    parse_str(
        &ansible("  playbook: site.yml\n"),
        "lab.yaml",
        &in_dir(dir.path()),
    )
    .unwrap();
}

#[test]
fn every_missing_script_is_reported_at_once_with_its_field() {
    let dir = lab_dir(&["scripts/setup.sh"]);
    let errs = errors_in(
        dir.path(),
        &shell(
            "    - on: [node1]\n      script: scripts/setpu.sh\n    - on: [node1]\n      script: scripts/setup.sh\n    - on: [node1]\n      script: nothere/db.sh\n",
        ),
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
    let shown = dir.path().join("scripts/setpu.sh").display().to_string();
    let e = find(
        &errs,
        "provision.scripts[0].script",
        &format!("{shown} does not exist"),
    );
    assert_eq!(e.line_col(), (9, 15));
    assert!(
        e.hint()
            .unwrap()
            .starts_with("did you mean `scripts/setup.sh`?"),
        "{e:?}"
    );
    let e = find(
        &errs,
        "provision.scripts[2].script",
        "nothere/db.sh does not exist",
    );
    assert_eq!(
        e.hint(),
        Some("paths are relative to the lab directory, the one holding the lab file")
    );
}

#[test]
fn a_missing_playbook_is_reported() {
    let dir = lab_dir(&["provision/site.yml"]);
    let errs = errors_in(dir.path(), &ansible("  playbook: provision/sit.yml\n"));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let e = find(
        &errs,
        "provision.playbook",
        "provision/sit.yml does not exist",
    );
    assert!(
        e.hint()
            .unwrap()
            .starts_with("did you mean `provision/site.yml`?")
    );
}

#[test]
fn a_directory_is_not_a_file() {
    let dir = lab_dir(&["scripts/", "provision/"]);
    let errs = errors_in(
        dir.path(),
        &shell("    - on: [node1]\n      script: scripts\n"),
    );
    find(
        &errs,
        "provision.scripts[0].script",
        "scripts is a directory, not a file",
    );
    let errs = errors_in(dir.path(), &ansible("  playbook: provision\n"));
    find(
        &errs,
        "provision.playbook",
        "provision is a directory, not a file",
    );
}

#[test]
fn paths_leaving_the_copied_lab_directory_are_refused() {
    let outer = lab_dir(&["outside.sh", "lab/inside.sh", "lab/sub/x.sh"]);
    let dir = outer.path().join("lab");
    let errs = errors_in(
        &dir,
        &shell(
            "    - on: [node1]\n      script: ../outside.sh\n    - on: [node1]\n      script: sub/../inside.sh\n",
        ),
    );
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let e = find(
        &errs,
        "provision.scripts[0].script",
        "../outside.sh is outside the lab directory",
    );
    assert!(
        e.message()
            .contains("only that directory is copied to the nodes"),
        "{e:?}"
    );
    // Ansible on a controller node runs in a copy too ...
    std::fs::write(outer.path().join("site.yml"), "").unwrap();
    find(
        &errors_in(&dir, &ansible("  playbook: ../site.yml\n")),
        "provision.playbook",
        "is outside the lab directory",
    );
    // ... but `controller: host` runs in the lab directory itself.
    parse_str(
        &ansible("  controller: host\n  playbook: ../site.yml\n"),
        "lab.yaml",
        &in_dir(&dir),
    )
    .unwrap();
}

#[test]
fn a_symbolic_link_out_of_the_copied_lab_directory_is_refused() {
    let outer = lab_dir(&["elsewhere/setup.sh", "lab/real.sh"]);
    let dir = outer.path().join("lab");
    std::os::unix::fs::symlink(
        outer.path().join("elsewhere/setup.sh"),
        dir.join("setup.sh"),
    )
    .unwrap();
    std::os::unix::fs::symlink("real.sh", dir.join("inner.sh")).unwrap();
    let errs = errors_in(
        &dir,
        &shell(
            "    - on: [node1]\n      script: setup.sh\n    - on: [node1]\n      script: inner.sh\n",
        ),
    );
    assert_eq!(errs.len(), 1, "{errs:#?}");
    find(
        &errs,
        "provision.scripts[0].script",
        "is a symbolic link to",
    );
}

#[test]
fn files_in_directories_the_copy_leaves_out_are_refused() {
    let dir = lab_dir(&[".lab/s.sh", ".git/x/s.sh", "sub/.git/s.sh", "real.sh"]);
    let d = dir.path();
    std::os::unix::fs::symlink(".git/x/s.sh", d.join("link.sh")).unwrap();
    std::os::unix::fs::symlink("sub/.git", d.join("linkdir")).unwrap();
    let steps: String = [
        ".lab/s.sh",
        ".git/x/s.sh",
        "sub/.git/s.sh",
        "./.git/x/../../real.sh",
        "link.sh",
        "linkdir/s.sh",
        "real.sh",
    ]
    .iter()
    .map(|s| format!("    - on: [node1]\n      script: {s}\n"))
    .collect();
    let errs = errors_in(d, &shell(&steps));
    assert_eq!(errs.len(), 6, "{errs:#?}");
    for (i, skipped) in [".lab", ".git", ".git", ".git"].iter().enumerate() {
        let e = find(
            &errs,
            &format!("provision.scripts[{i}].script"),
            &format!(
                "inside a {skipped}/ directory, which is not copied to the nodes (the copy leaves out every .lab/ and .git/)"
            ),
        );
        assert_eq!(
            e.hint(),
            Some(format!("move the script out of {skipped}/").as_str())
        );
    }
    find(
        &errs,
        "provision.scripts[4].script",
        "link.sh leads to .git/x/s.sh, inside a .git/ directory",
    );
    find(
        &errs,
        "provision.scripts[5].script",
        "linkdir/s.sh leads to sub/.git/s.sh, inside a .git/ directory",
    );
    // The playbook on a controller node is copied too; on the host it is not.
    find(
        &errors_in(d, &ansible("  playbook: .git/x/s.sh\n")),
        "provision.playbook",
        "inside a .git/ directory",
    );
    let on_host = ansible("  controller: host\n  playbook: .git/x/s.sh\n");
    parse_str(&on_host, "lab.yaml", &in_dir(d)).unwrap();
}

#[test]
fn unchecked_files_are_not_looked_at() {
    let src = shell("    - on: [node1]\n      script: ../nowhere.sh\n");
    parse_str(&src, "lab.yaml", &ctx()).unwrap();
    let lab = parse_str(&src, "lab.yaml", &Context::for_existing_lab()).unwrap();
    assert_eq!(lab.name, "t");
    // The lenient context accepts any box too; the rest is still checked.
    let unknown_box = lab_src("", ONE_NODE).replace("box: debian-12", "box: gone");
    parse_str(&unknown_box, "lab.yaml", &Context::for_existing_lab()).unwrap();
    let bad = lab_src("", "  node1:\n    ip: 10.77.10.1\n");
    assert!(parse_str(&bad, "lab.yaml", &Context::for_existing_lab()).is_err());
}

#[test]
fn the_real_context_checks_files_beside_the_lab_file() {
    let dir = lab_dir(&[]);
    let file = dir.path().join("lab.yaml");
    std::fs::write(&file, shell("    - on: [node1]\n      script: setup.sh\n")).unwrap();
    assert_eq!(
        Context::for_lab_file(&file).files,
        LabFiles::In(dir.path().to_owned())
    );
    assert_eq!(
        Context::for_lab_file(Path::new("lab.yaml")).files,
        LabFiles::In(".".into())
    );
}

#[test]
fn the_copy_leaves_out_what_the_upload_leaves_out() {
    // (That an unreadable `.git/` is not looked into needs a user whom
    // permissions stop: tests/validate.rs runs that as `nobody`.)
    assert_eq!(NOT_COPIED, crate::provision::upload::EXCLUDED);
}

#[test]
fn a_check_script_is_checked_on_disk_and_runs_with_its_args() {
    let dir = lab_dir(&["checks/up.sh"]);
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("checks/link.sh")).unwrap();
    let checks = |entry: &str| lab_src(&format!("checks:\n  - {entry}\n"), NODES);
    let lab = parse_str(
        &checks("{name: up, on: node1, script: checks/up.sh, args: [a b, \"c\"]}"),
        "lab.yaml",
        &in_dir(dir.path()),
    )
    .unwrap();
    assert_eq!(
        lab.checks[0].run,
        crate::spec::CheckRun::Script {
            path: "checks/up.sh".into(),
            args: vec!["a b".into(), "c".into()]
        }
    );
    assert_eq!(lab.checks[0].run.to_string(), "script checks/up.sh 'a b' c");

    let errs = errors_in(
        dir.path(),
        &checks("{name: up, on: node1, script: checks/upp.sh}"),
    );
    let shown = dir.path().join("checks/upp.sh").display().to_string();
    let e = find(
        &errs,
        "checks[0].script",
        &format!("{shown} does not exist"),
    );
    assert!(e.hint().unwrap().contains("did you mean `checks/up.sh`?"));
    assert_eq!(e.line_col(), (6, 35));

    // Both `run` and a missing script: the script's own fault is reported
    // at once too, not only after `run` is removed.
    let errs = errors_in(
        dir.path(),
        &checks("{name: up, on: node1, run: 'true', script: checks/upp.sh}"),
    );
    find(
        &errs,
        "checks[0]",
        "has both `run` and `script`; give exactly one",
    );
    find(
        &errs,
        "checks[0].script",
        &format!("{shown} does not exist"),
    );

    for (entry, field, message) in [
        (
            "{name: up, on: node1, script: checks/up.sh, run: 'true'}",
            "checks[0]",
            "has both `run` and `script`; give exactly one",
        ),
        (
            "{name: up, on: node1}",
            "checks[0]",
            "has neither `run` nor `script`; give exactly one",
        ),
        (
            "{name: up, on: node1, run: 'true', args: [x]}",
            "checks[0].args",
            "goes with `script`, not `run`",
        ),
        (
            "{name: up, on: node1, script: /etc/passwd}",
            "checks[0].script",
            "the path \"/etc/passwd\"",
        ),
        (
            "{name: up, on: node1, script: ../outside.sh}",
            "checks[0].script",
            "../outside.sh is outside the lab directory",
        ),
        (
            "{name: up, on: node1, script: checks/link.sh}",
            "checks[0].script",
            "is a symbolic link to /etc/hostname, outside the lab directory",
        ),
        (
            "{name: up, on: node1, script: [checks/up.sh]}",
            "checks[0].script",
            "expected a string, found a list",
        ),
        (
            "{name: up, on: node1, script: \"checks/u\\ep.sh\"}",
            "checks[0].script",
            "checks/u\\u{1b}p.sh\" does not exist",
        ),
    ] {
        let errs = errors_in(dir.path(), &checks(entry));
        assert_eq!(errs.len(), 1, "{entry}: {errs:#?}");
        find(&errs, field, message);
    }
}
