//! The forwarders of `forwards:` for real, on loopback only: `lab __forward`
//! relays bytes to a local echo server and back; the handshake hands out the
//! pid before listening and reports a busy port; on the fake hypervisor
//! `lab up` starts one forwarder per forward (not twice), `lab halt` and
//! `lab destroy` stop them, and a recorded pid that is not a forwarder is
//! left alone. Forwards point at lab addresses but no test connects through
//! one of those: only the loopback relay carries traffic.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab::backend::Hypervisor;
use lab::backend::fake::FakeHypervisor;
use lab::boxes::{BoxMeta, Store};
use lab::forward::{self, StartError, Stopped};
use lab::ops::{LabCtx, destroy, halt, up};
use lab::ssh::{HostKey, ProbeState};
use lab::state::ForwardState;
use lab::ui::nodes::Silent;

const LAB: &str = env!("CARGO_BIN_EXE_lab");

/// A loopback port nobody listens on (free a moment ago).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An echo server on loopback; its address.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            std::thread::spawn(move || {
                let mut back = conn.try_clone().unwrap();
                let _ = std::io::copy(&mut conn, &mut back);
            });
        }
    });
    addr
}

/// Connect, retrying while the forwarder starts.
fn connect(addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => panic!("{addr} never answered: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Send `data` through `addr`, close our side, read everything back.
fn round_trip(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(data).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap();
    back
}

#[test]
fn forwarder_relays_both_ways_on_loopback() {
    let echo = echo_server();
    let listen: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut child: Child = Command::new(LAB)
        .args([
            "__forward",
            "--listen",
            &listen.to_string(),
            "--to",
            &echo.to_string(),
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(round_trip(listen, b"hello\n"), b"hello\n");
    assert_eq!(
        round_trip(listen, &big),
        big,
        "large transfers arrive whole"
    );
    assert!(forward::is_forwarder(child.id(), Some(&listen.to_string())));
    assert!(!forward::is_forwarder(child.id(), Some("127.0.0.1:1")));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn spawn_records_the_pid_before_listening_and_reports_a_busy_port() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("forwards.log");
    let echo = echo_server();
    let listen: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut recorded = None;
    let pid = forward::spawn(Path::new(LAB), listen, echo, None, &log, |pid| {
        // Not listening yet: the forwarder waits for the go-ahead.
        assert!(
            TcpStream::connect(listen).is_err(),
            "listens before its pid is recorded"
        );
        recorded = Some(pid);
        Ok(())
    })
    .unwrap();
    assert_eq!(recorded, Some(pid));
    assert_eq!(round_trip(listen, b"ping"), b"ping");
    assert_eq!(forward::stop(pid, &listen.to_string()), Stopped::Stopped);
    assert!(!forward::is_forwarder(pid, None));
    assert_eq!(forward::stop(pid, &listen.to_string()), Stopped::NotRunning);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("{listen} → {echo}: listening")),
        "{text}"
    );

    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let err = forward::spawn(
        Path::new(LAB),
        busy.local_addr().unwrap(),
        echo,
        None,
        &log,
        |_| Ok(()),
    )
    .unwrap_err();
    assert!(matches!(err, StartError::InUse), "{err}");
}

#[test]
fn a_forwarder_to_a_guest_of_a_remote_host_is_told_its_host() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("forwards.log");
    let listen: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let to: SocketAddr = ([10, 77, 60, 21], 80).into();
    let pid = forward::spawn(
        Path::new(LAB),
        listen,
        to,
        Some("root@lab-host-b"),
        &log,
        |_| Ok(()),
    )
    .unwrap();
    let args = forward::cmdline(pid).unwrap();
    assert_eq!(forward::stop(pid, &listen.to_string()), Stopped::Stopped);
    assert!(
        args.windows(2).any(|w| w == ["--via", "root@lab-host-b"]),
        "{args:?}"
    );
    // A login ssh could take for an option is refused.
    let out = std::process::Command::new(LAB)
        .args([
            "__forward",
            "--listen",
            "127.0.0.1:1",
            "--to",
            "127.0.0.1:2",
            "--via=-oProxyCommand=x@h",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--via \"-oProxyCommand=x@h\" has the user"),
        "{err}"
    );
}

/// A lab on the fake hypervisor whose node1:80 is forwarded to
/// 127.0.0.1:`port`, its box in a store beside it.
fn fake_lab(tmp: &Path, port: u16) -> LabCtx {
    let path = tmp.join("lab/lab.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let src = format!(
        "name: fw\nbox: testbox\nnetwork:\n  subnet: 10.88.3.0/24\nnodes:\n  node1: {{ip: 10.88.3.21}}\n  node2: {{ip: 10.88.3.22}}\nforwards:\n  - {{node: node1, guest: 80, host: {port}}}\n"
    );
    std::fs::write(&path, src).unwrap();
    let lab = lab::spec::load_with(&path, &lab::spec::Context::any_box()).unwrap();
    let store = Store::new(tmp.join("boxes"));
    let staging = store.stage("testbox").unwrap();
    for f in ["disk.qcow2", "vmlinuz", "initrd.img"] {
        std::fs::write(staging.dir().join(f), "x").unwrap();
    }
    staging
        .commit(&BoxMeta {
            name: "testbox".into(),
            version: "1".into(),
            format: Default::default(),
            recipe_hash: "h".into(),
            disk_sha256: "0123456789abcdef0123".into(),
            disk_gib: 10,
            cmdline: "root=/dev/vda".into(),
            user: "lab".into(),
            built_at: 0,
            build_seconds: 0,
            suite: "bookworm".into(),
            packages: vec![],
            installed_packages: 0,
            boot: Default::default(),
            firmware: Default::default(),
            source: None,
        })
        .unwrap();
    let hv: Arc<dyn Hypervisor> = Arc::new(FakeHypervisor::new());
    LabCtx::with_hypervisor(lab, hv, "test:///fake".into(), store)
}

fn up_options() -> up::UpOptions {
    let mut opts = up::UpOptions::new(vec![], Some(Duration::from_secs(5)));
    opts.probe = Arc::new(|_t, _rem, _progress| {
        ProbeState::Ready(HostKey {
            key_type: "ssh-ed25519".into(),
            base64: "AAAA".into(),
        })
    });
    opts.forwarder = Some(LAB.into());
    opts
}

#[test]
fn up_starts_forwarders_once_and_halt_and_destroy_stop_them() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let ctx = fake_lab(tmp.path(), port);
    let listen = format!("127.0.0.1:{port}");
    up::up(&ctx, &up_options(), Arc::new(Silent)).unwrap();
    let st = ctx.state_dir.load().unwrap();
    assert_eq!(st.forwards.len(), 1, "{st:?}");
    let first = st.forwards[0].clone();
    assert_eq!(
        (
            first.node.as_str(),
            first.listen.as_str(),
            first.to.as_str()
        ),
        ("node1", listen.as_str(), "10.88.3.21:80")
    );
    assert!(forward::is_forwarder(first.pid, Some(&listen)));
    assert!(
        TcpListener::bind(&listen).is_err(),
        "the forwarder holds the port"
    );

    // The no-op path keeps the running forwarder.
    assert!(up::up(&ctx, &up_options(), Arc::new(Silent)).unwrap().noop);
    assert_eq!(ctx.state_dir.load().unwrap().forwards, vec![first.clone()]);

    // halt stops it, up starts a new one.
    halt::halt(&ctx, &[], Duration::from_secs(1), &Silent).unwrap();
    assert!(!forward::is_forwarder(first.pid, None));
    assert!(ctx.state_dir.load().unwrap().forwards.is_empty());
    up::up(&ctx, &up_options(), Arc::new(Silent)).unwrap();
    let second = ctx.state_dir.load().unwrap().forwards[0].clone();
    assert!(forward::is_forwarder(second.pid, Some(&listen)));

    // A recorded pid that is not a forwarder survives destroy.
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let mut st = ctx.state_dir.load().unwrap();
    st.forwards.push(ForwardState {
        node: "node2".into(),
        listen: "127.0.0.1:1".into(),
        to: "10.88.3.22:80".into(),
        pid: sleeper.id(),
    });
    ctx.state_dir.save(&st).unwrap();
    let report = destroy::destroy(&ctx, &Silent).unwrap();
    assert_eq!(report.forwarders, vec![second.pid]);
    assert!(
        !forward::is_forwarder(second.pid, None),
        "forwarder stopped"
    );
    assert!(
        sleeper.try_wait().unwrap().is_none(),
        "`sleep` was not killed"
    );
    assert_eq!(
        forward::stop(sleeper.id(), "127.0.0.1:1"),
        Stopped::NotOurs("sleep 60".to_string())
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[test]
fn a_busy_host_port_is_one_sentence_naming_port_and_forward() {
    let tmp = tempfile::tempdir().unwrap();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let ctx = fake_lab(tmp.path(), port);
    let err = up::up(&ctx, &up_options(), Arc::new(Silent))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "host port {port} on 127.0.0.1 is already in use, so forward node1:80 → 127.0.0.1:{port} cannot start; stop what listens there or choose another `host:` port in the lab file"
        )
    );
    assert!(
        ctx.state_dir.load().unwrap().forwards.is_empty(),
        "nothing left recorded"
    );
    destroy::destroy(&ctx, &Silent).unwrap();
}
