//! Tests of the process helper: failures carry the command line, status
//! and output; streaming, logs, umask and program lookup.

use super::*;

#[test]
fn failure_carries_cmdline_status_and_stderr() {
    let err = Cmd::new("sh")
        .args(["-c", "echo boom >&2; exit 3"])
        .run()
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`sh -c 'echo boom >&2; exit 3'`"), "{msg}");
    assert!(msg.contains("exit status 3"), "{msg}");
    assert!(msg.contains("boom"), "{msg}");
}

#[test]
fn missing_program_names_it_and_hints() {
    let err = Cmd::new("lab-no-such-program").run().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("could not start `lab-no-such-program`"),
        "{msg}"
    );
    assert!(
        msg.contains("install it: apt-get install lab-no-such-program (in a checkout of lab: scripts/setup-host)"),
        "{msg}"
    );
}

#[test]
fn install_hints_name_each_debian_package_once() {
    assert_eq!(
        install_hint(&["mkfs.ext4"]),
        "install it: apt-get install e2fsprogs (in a checkout of lab: scripts/setup-host)"
    );
    assert!(
        install_hint(&["mmdebstrap", "chroot", "mkfs.ext4", "cp"])
            .starts_with("install them: apt-get install mmdebstrap coreutils e2fsprogs ("),
    );
    assert_eq!(and_list(&["a"]), "`a`");
    assert_eq!(and_list(&["a", "b", "c"]), "`a`, `b` and `c`");
}

#[test]
fn log_file_receives_output_and_is_named_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("x.log");
    let err = Cmd::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 1"])
        .log_to(&log)
        .run()
        .unwrap_err();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("out") && text.contains("err"));
    assert!(err.to_string().contains(&log.display().to_string()));
}

#[test]
fn stream_hands_over_both_streams_line_by_line() {
    let mut lines = Vec::new();
    Cmd::new("sh")
        .args(["-c", "echo one; echo two >&2; printf three"])
        .stream(&mut |l| lines.push(l.to_string()))
        .unwrap();
    lines.sort();
    assert_eq!(lines, ["one", "three", "two"]);
    let err = Cmd::new("sh")
        .args(["-c", "echo why; exit 4"])
        .stream(&mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exit status 4") && err.contains("why"),
        "{err}"
    );
}

#[test]
fn stream_cuts_a_line_without_end_and_goes_on() {
    // 10 MB without a newline, then a short line.
    let mut lines = Vec::new();
    Cmd::new("sh")
        .args([
            "-c",
            "head -c 10000000 /dev/zero | tr '\\0' x; echo; echo after",
        ])
        .stream(&mut |l| lines.push(l.to_string()))
        .unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0].len(),
        crate::limits::MAX_LINE_BYTES + " [line cut at 64 KiB]".len()
    );
    assert_eq!(lines[1], "after");
}

#[test]
fn a_failure_quotes_the_end_of_a_long_log_read_alone() {
    // Only the end is read: a byte that is not UTF-8 far before it
    // does not lose it (the whole log used to be read as one string).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("x.log");
    let err = Cmd::new("sh")
        .args([
            "-c",
            "printf '\\377'; head -c 5000000 /dev/zero | tr '\\0' x; echo; echo the end; exit 1",
        ])
        .log_to(&log)
        .run()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(":\nthe end\nfull log: "),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(err.len() < STDERR_TAIL + 500, "{} bytes", err.len());
}

#[test]
fn success_captures_stdout() {
    let out = Cmd::new("echo").arg("hello world").run().unwrap();
    assert_eq!(out.stdout, "hello world\n");
}

#[test]
fn programs_are_found_on_path_only_when_executable() {
    assert!(find_program("sh").is_some_and(|p| p.is_absolute()));
    assert_eq!(find_program("lab-no-such-program"), None);
    assert_eq!(find_program("/etc/passwd"), None, "not executable");
    assert_eq!(find_program("/bin/sh"), Some(PathBuf::from("/bin/sh")));
}

#[test]
fn umask_applies_to_the_program_only() {
    let out = Cmd::new("sh")
        .args(["-c", "umask"])
        .umask(0o022)
        .run()
        .unwrap();
    assert_eq!(out.stdout.trim(), "0022");
    let out = Cmd::new("sh")
        .args(["-c", "umask"])
        .umask(0o077)
        .run()
        .unwrap();
    assert_eq!(out.stdout.trim(), "0077");
}

#[test]
fn quoting() {
    assert_eq!(shell_quote("abc"), "abc");
    assert_eq!(shell_quote("a b"), "'a b'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}

#[test]
fn system_directories_are_searched_after_path() {
    let joined = search_path_of(OsStr::new("/opt/x/bin:/usr/bin:/usr/sbin"));
    assert_eq!(
        joined,
        OsString::from("/opt/x/bin:/usr/bin:/usr/sbin:/usr/local/sbin:/sbin")
    );
    assert_eq!(
        search_path_of(OsStr::new("")),
        OsString::from("/usr/local/sbin:/usr/sbin:/sbin")
    );
}

#[test]
fn a_command_runs_what_find_program_finds_and_passes_the_path_on() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let tool = tmp.path().join("lab-test-tool");
    std::fs::write(&tool, "#!/bin/sh\necho \"$PATH\"\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", tmp.path().display());
    assert_eq!(find_in("lab-test-tool", OsStr::new(&path)), Some(tool));
    // The programs a command starts search the system directories too (a
    // user's PATH often lacks /usr/sbin, where mkfs.ext4 and chroot are).
    let out = Cmd::new("lab-test-tool").env("PATH", &path).run().unwrap();
    assert_eq!(
        out.stdout.trim(),
        format!("{path}:/usr/local/sbin:/usr/sbin:/sbin")
    );
    if Path::new("/usr/sbin/mkfs.ext4").exists() {
        let out = Cmd::new("mkfs.ext4")
            .arg("-V")
            .env("PATH", "/usr/bin:/bin")
            .run();
        assert!(out.is_ok(), "{out:?}");
    }
}
