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
        assert!(
            Instant::now() < deadline,
            "lab never installed a handler for signal {signal}"
        );
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

/// The pids of the processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Whether `pid` still runs (a zombie waiting for init counts as gone).
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
}

/// A box build interrupted by a signal to lab's pid alone (not the terminal's
/// process group) takes mmdebstrap and its apt with it. The mirror is a
/// loopback listener that never answers, so the build hangs until killed.
#[test]
fn an_interrupted_build_leaves_no_program_running() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "box builds run as root (mmdebstrap, chroot): run the tests as root, as scripts/test does"
    );
    let mirror = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = mirror.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in mirror.incoming().flatten() {
            held.push(conn);
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("boxes/hang");
    std::fs::create_dir_all(&recipe).unwrap();
    std::fs::write(
        recipe.join("box.yaml"),
        format!("version: '1'\nsuite: bookworm\nmirror: http://127.0.0.1:{port}/debian\npackages: [openssh-server]\ndisk_gib: 2\ncmdline: root=/dev/vda\nuser: lab\n"),
    )
    .unwrap();
    let mut lab = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["box", "build", "hang"])
        .current_dir(tmp.path())
        .env("LAB_HOME", tmp.path().join("home"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let builder = loop {
        if let Some(&pid) = children_of(lab.id()).first() {
            break pid;
        }
        assert!(
            lab.try_wait().unwrap().is_none(),
            "lab box build ended before it started mmdebstrap"
        );
        assert!(Instant::now() < deadline, "lab never started mmdebstrap");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Let mmdebstrap reach apt (more processes in its group).
    std::thread::sleep(Duration::from_secs(2));
    wait_until_caught(lab.id(), libc::SIGTERM);
    // SAFETY: kill(2) on our own child, lab's pid only.
    assert_eq!(unsafe { libc::kill(lab.id() as i32, libc::SIGTERM) }, 0);
    assert_eq!(lab.wait().unwrap().code(), Some(143));
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(builder) {
        assert!(
            Instant::now() < deadline,
            "mmdebstrap (pid {builder}) outlived lab"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
