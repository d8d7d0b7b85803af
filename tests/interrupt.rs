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
    wait_until_caught(child.id(), signal);
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

/// Wait (up to 20 s) until process `pid` catches `signal`, as its
/// `SigCgt` mask in /proc says: a signal sent earlier would meet the
/// default action, not lab's handler, on a slow machine.
fn wait_until_caught(pid: u32, signal: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (signal - 1)) != 0);
        if caught {
            return;
        }
        assert!(Instant::now() < deadline, "lab never installed a handler for signal {signal}");
        std::thread::sleep(Duration::from_millis(20));
    }
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
