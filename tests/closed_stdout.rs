//! A closed stdout ends every command quietly: `lab X | true` or
//! `lab X | head -1` gives no panic, no message, and the process ends as
//! if killed by SIGPIPE (as `cat` or `ls` would).

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// `lab ARGS` in the smoke lab of `e`, writing into a pipe whose reader is
/// gone: how it ended and its stderr.
fn into_closed_pipe(e: &common::Env, args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(assert_cmd::cargo::cargo_bin("lab"))
        .args(args)
        .current_dir(e.path())
        .env("HOME", e.path())
        .env("LAB_HOME", &e.home)
        .env("LAB_BOXES_PATH", &e.recipes)
        .env("LAB_LIBVIRT_URI", "test:///default")
        .env("NO_COLOR", "1")
        .env_remove("LAB_FILE")
        .env_remove("LAB_LOG")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_each_command_quietly_by_sigpipe() {
    let e = common::env();
    let man = e.path().join("man");
    let man = man.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["box", "list", "--recipes", "--json"],
        &["box", "list", "--recipes"],
        &["box", "list", "--json"],
        &["validate", "--json"],
        &["validate"],
        &["status"],
        &["status", "--json"],
        &["doctor"],
        &["init", "--list"],
        &["schema"],
        &["completions", "bash"],
        &["__man", man],
        &["--help"],
    ];
    for args in commands {
        // Each writes something to stdout when it is open.
        let open = e.lab(args);
        assert!(!open.stdout.is_empty(), "lab {args:?} printed nothing");
        let (status, stderr) = into_closed_pipe(&e, args);
        assert_eq!(
            (status.signal(), stderr.as_str()),
            (Some(libc::SIGPIPE), ""),
            "lab {args:?}: {status}"
        );
    }
}
