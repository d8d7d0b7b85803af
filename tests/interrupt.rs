//! Ctrl-C (SIGINT) and SIGTERM stop a `lab` command at once with a word on
//! how to go on, through the one handler of `lab::interrupt`, whatever the
//! command is doing (here: `lab __probe` waiting for a guest that never
//! answers, in threads blocked in connect/sleep).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn interrupted_with(signal: i32) -> (Option<i32>, String, Duration) {
    let child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args([
            "__probe",
            "127.0.0.1",
            "127.0.0.2",
            "--key",
            "/nonexistent",
            "--timeout",
            "60",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let sent = Instant::now();
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        sent.elapsed(),
    )
}

#[test]
fn sigint_stops_at_once_with_exit_130_and_the_message() {
    let (code, stderr, took) = interrupted_with(libc::SIGINT);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn sigterm_stops_with_exit_143() {
    let (code, stderr, _) = interrupted_with(libc::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}
