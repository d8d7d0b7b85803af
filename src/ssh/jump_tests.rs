//! The jump route against real sshds on 127.0.0.1: a "host" sshd that the
//! test logs in to with options of its own (as a user's ssh config would
//! give them), and a "guest" sshd reached only through it by `ssh -W`.

use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Jump;
use crate::ssh::{Target, connect, exec_on, host_key};

const SSHD: &str = "/usr/sbin/sshd";

/// An sshd for root on 127.0.0.1 with its own config, host key and
/// authorized keys in a temp dir; killed when dropped.
struct Sshd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    fn host_key_line(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("host_key.pub")).unwrap();
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen failed");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts an sshd in `dir` (made here) letting in `client_pub`.
fn sshd(dir: PathBuf, client_pub: &Path) -> Sshd {
    assert!(
        Path::new(SSHD).exists(),
        "{SSHD} is missing; this test runs a real sshd: apt-get install openssh-server"
    );
    std::fs::create_dir_all(&dir).unwrap();
    // sshd's privilege separation directory, as openssh-server makes it.
    std::fs::create_dir_all("/run/sshd").unwrap();
    keygen(&dir.join("host_key"));
    std::fs::copy(client_pub, dir.join("authorized_keys")).unwrap();
    let port = free_port();
    let d = dir.display();
    let config = format!(
        "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPidFile none\nAllowTcpForwarding yes\nPermitRootLogin prohibit-password\nLogLevel INFO\n"
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    let child = Command::new(SSHD)
        .arg("-D")
        .arg("-f")
        .arg(dir.join("sshd_config"))
        .arg("-E")
        .arg(dir.join("sshd.log"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let s = Sshd { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd did not listen: {}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

/// Fields drop in order: the sshds stop before their directory goes.
struct Setup {
    host: Sshd,
    guest: Sshd,
    key: PathBuf,
    _tmp: tempfile::TempDir,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("id_ed25519");
    keygen(&key);
    let public = tmp.path().join("id_ed25519.pub");
    let host = sshd(tmp.path().join("host"), &public);
    let guest = sshd(tmp.path().join("guest"), &public);
    Setup {
        host,
        guest,
        key,
        _tmp: tmp,
    }
}

/// The login to the host as a user's ssh config would make it: its port,
/// the key, and its host key pinned.
fn jump_to(s: &Setup, port: u16) -> Jump {
    let known = s.host.dir.join("known_hosts");
    std::fs::write(
        &known,
        format!("[127.0.0.1]:{port} {}\n", s.host.host_key_line()),
    )
    .unwrap();
    let mut jump = Jump::new("root@127.0.0.1");
    jump.options = [
        "-F",
        "/dev/null",
        "-p",
        &port.to_string(),
        "-i",
        s.key.to_str().unwrap(),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        &format!("UserKnownHostsFile={}", known.display()),
        "-o",
        "StrictHostKeyChecking=yes",
    ]
    .map(String::from)
    .to_vec();
    jump
}

fn guest_target(s: &Setup, jump: Jump) -> Target {
    Target {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: s.guest.port,
        user: "root".into(),
        key: s.key.clone(),
        vagrant_key: false,
        jump: Some(jump),
    }
}

#[test]
fn a_guest_is_reached_through_the_hosts_sshd_and_shows_its_own_host_key() {
    let s = setup();
    let t = guest_target(&s, jump_to(&s, s.host.port));
    let sess = connect(&t, Duration::from_secs(10)).unwrap();
    assert!(sess.authenticated(), "the guest took the key");
    let key = host_key(&sess).unwrap();
    assert_eq!(
        format!("{} {}", key.key_type, key.base64),
        s.guest.host_key_line(),
        "the guest's key, checked by lab, not the host's"
    );
    let (code, out) = exec_on(&sess, "echo through").unwrap();
    assert_eq!((code, out.trim()), (0, "through"));
    drop(sess);
    // The host's sshd let the login in: the route went through it.
    let log = s.host.log();
    assert!(log.contains("Accepted publickey for root"), "{log}");
    // A second session, as readiness and provisioning open many.
    assert!(
        connect(&t, Duration::from_secs(10))
            .unwrap()
            .authenticated()
    );
}

#[test]
fn a_host_that_cannot_be_reached_is_named_with_what_ssh_said() {
    let s = setup();
    let closed = free_port();
    let t = guest_target(&s, jump_to(&s, closed));
    let started = Instant::now();
    let Err(err) = connect(&t, Duration::from_secs(5)) else {
        panic!("reached the guest through a closed port");
    };
    let err = format!("{err:#}");
    assert!(started.elapsed() < Duration::from_secs(15), "bounded");
    assert!(
        err.starts_with(&format!(
            "cannot reach 127.0.0.1:{} through root@127.0.0.1 (`ssh -W`: ",
            s.guest.port
        )),
        "{err}"
    );
    assert!(err.contains("Connection refused"), "{err}");
    assert!(
        err.contains("check that `ssh root@127.0.0.1` logs in without a prompt"),
        "{err}"
    );
}

#[test]
fn the_relay_is_ssh_w_with_the_login_never_taken_for_an_option() {
    let jump = Jump::new("root@lab-host-b");
    let cmd = jump.relay("10.77.10.21:22".parse().unwrap(), Duration::from_secs(5));
    insta::assert_snapshot!(cmd.cmdline(), @"ssh -o BatchMode=yes -o ConnectTimeout=5 -W 10.77.10.21:22 -l root -- lab-host-b");
}

#[test]
fn a_forward_reaches_its_guest_port_through_the_host() {
    use std::io::{Read, Write};
    let s = setup();
    // The guest's port: an echo server.
    let echo = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in echo.incoming().flatten() {
            let mut w = conn.try_clone().unwrap();
            let mut r = conn;
            std::thread::spawn(move || std::io::copy(&mut r, &mut w));
        }
    });
    let listen: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let via = jump_to(&s, s.host.port);
    // Runs until the test process ends.
    std::thread::spawn(move || crate::forward::serve(listen, to, Some(via), false));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = loop {
        match TcpStream::connect(listen) {
            Ok(c) => break c,
            Err(e) => assert!(Instant::now() < deadline, "not listening: {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"ping").unwrap();
    let mut got = [0u8; 4];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
    let log = s.host.log();
    assert!(
        log.contains("Accepted publickey for root"),
        "through the host: {log}"
    );
}
