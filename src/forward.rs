//! The TCP forwarder behind `forwards:`. [`serve`] is the relay that runs
//! as the hidden `lab __forward --listen ADDR:PORT --to IP:PORT [--via
//! USER@HOST]` (a thread per connection, copying both ways; with `--via`,
//! each connection reaches the guest through that host's sshd, as
//! [`crate::ssh::Jump`] does); [`spawn`] starts one detached in a
//! session of its own and hands its pid to the caller before the relay
//! listens; [`is_forwarder`] and [`stop`] recognise and end one by pid, and
//! never signal another program.
//!
//! The forwarder listens in the network namespace `lab` runs in (inside
//! `scripts/sandbox` during tests, so nothing listens in the host's).

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The hidden subcommand that runs [`serve`].
pub const SUBCOMMAND: &str = "__forward";
/// How long the relay tries to reach the guest for one connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`spawn`] waits for the forwarder to report.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`stop`] waits after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Handshake: what [`spawn`] writes once the pid is recorded, and the
/// forwarder's answers.
const GO: &str = "go";
const LISTENING: &str = "listening";
const IN_USE: &str = "in-use";

/// Why a forwarder did not start.
#[derive(Debug)]
pub enum StartError {
    /// Something already listens on the address.
    InUse,
    /// Anything else, as a sentence.
    Other(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::InUse => f.write_str("the address is already in use"),
            StartError::Other(why) => f.write_str(why),
        }
    }
}

/// The relay: listen on `listen`, copy every connection to and from `to`,
/// through `via` when set (the guest's host is another machine).
/// With `handshake` (how [`spawn`] runs it): wait for `go` on stdin, report
/// the outcome of binding on stdout, then send stdout to stderr (the log)
/// and read from /dev/null. Runs until killed.
pub fn serve(
    listen: SocketAddr,
    to: SocketAddr,
    via: Option<crate::ssh::Jump>,
    handshake: bool,
) -> Result<()> {
    if handshake {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if line.trim() != GO {
            bail!("{listen} → {to}: not recorded by `lab up`; not listening");
        }
    }
    let listener = match TcpListener::bind(listen) {
        Ok(l) => l,
        Err(e) => {
            if handshake {
                let in_use = e.kind() == std::io::ErrorKind::AddrInUse;
                println!(
                    "{}",
                    if in_use {
                        IN_USE.to_string()
                    } else {
                        e.to_string()
                    }
                );
            }
            return Err(e).with_context(|| format!("cannot listen on {listen}"));
        }
    };
    if handshake {
        println!("{LISTENING}");
        std::io::stdout().flush()?;
        detach_stdio()?;
    }
    eprintln!("{listen} → {to}: listening (pid {})", std::process::id());
    for conn in listener.incoming() {
        match conn {
            Ok(client) => {
                let via = via.clone();
                std::thread::spawn(move || match via {
                    None => relay(client, to, listen),
                    Some(jump) => relay_via(client, to, listen, &jump),
                });
            }
            Err(e) => eprintln!("{listen} → {to}: accept failed: {e}"),
        }
    }
    Ok(())
}

/// stdin from /dev/null, stdout to where stderr goes.
fn detach_stdio() -> Result<()> {
    let null = File::open("/dev/null")?;
    // SAFETY: dup2 on descriptors this process owns.
    let ok = unsafe {
        libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 0) != -1 && libc::dup2(2, 1) != -1
    };
    if !ok {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// One connection: copy both ways until each side has closed.
fn relay(client: TcpStream, to: SocketAddr, listen: SocketAddr) {
    let server = match TcpStream::connect_timeout(&to, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{listen} → {to}: cannot reach the guest: {e}");
            return;
        }
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    copy_both_ways(client, server);
}

/// [`relay`] through the guest's host: `ssh -W` there carries the
/// connection; what it says on failure goes to the log.
fn relay_via(client: TcpStream, to: SocketAddr, listen: SocketAddr, jump: &crate::ssh::Jump) {
    let (server, ssh) = match jump.connect(to, CONNECT_TIMEOUT) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!(
                "{listen} → {to}: cannot reach the guest through {}: {e:#}",
                jump.login
            );
            return;
        }
    };
    // A forwarded connection may stay quiet for long.
    let _ = (client.set_nodelay(true), server.set_read_timeout(None));
    copy_both_ways(client, server);
    let said = ssh.finish(Duration::from_secs(1));
    if !said.is_empty() {
        eprintln!("{listen} → {to} through {}: {said}", jump.login);
    }
}

/// A connection that can be split into a reading and a writing half.
trait Duplex: Read + Write + Send + Sized + 'static {
    fn split(&self) -> std::io::Result<Self>;
    fn close_write(&self);
}

impl Duplex for TcpStream {
    fn split(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn close_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Duplex for UnixStream {
    fn split(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn close_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

/// Copy `client` → `server` and back until each side has closed.
fn copy_both_ways(client: TcpStream, server: impl Duplex) {
    let (Ok(mut client_r), Ok(mut server_w)) = (client.try_clone(), server.split()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_r, &mut server_w);
        server_w.close_write();
    });
    let (mut server_r, mut client_w) = (server, client);
    let _ = std::io::copy(&mut server_r, &mut client_w);
    let _ = client_w.shutdown(Shutdown::Write);
    let _ = up.join();
}

/// Start `program __forward --listen LISTEN --to TO [--via USER@HOST]`
/// detached (own session, output appended to `log`), call `record` with
/// its pid, and only then let it listen. `Ok(pid)` once it listens. When
/// `record` fails the forwarder is stopped and the error returned.
pub fn spawn(
    program: &Path,
    listen: SocketAddr,
    to: SocketAddr,
    via: Option<&str>,
    log: &Path,
    record: impl FnOnce(u32) -> Result<()>,
) -> Result<u32, StartError> {
    let other = |what: &str, e: &dyn fmt::Display| StartError::Other(format!("{what}: {e}"));
    let log_file = crate::files::open(
        log,
        crate::files::PRIVATE_FILE,
        crate::files::Content::Append,
    )
    .map_err(|e| StartError::Other(e.to_string()))?;
    let mut cmd = Command::new(program);
    cmd.arg(SUBCOMMAND)
        .args([
            "--listen",
            &listen.to_string(),
            "--to",
            &to.to_string(),
            "--handshake",
        ])
        .args(via.iter().flat_map(|v| ["--via", v]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log_file);
    // SAFETY: setsid(2) is async-signal-safe; nothing else runs before exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| other(&format!("cannot start {}", program.display()), &e))?;
    let pid = child.id();
    let fail = |child: &mut std::process::Child, err: StartError| {
        let _ = child.kill();
        let _ = child.wait();
        Err(err)
    };
    if let Err(e) = record(pid) {
        return fail(&mut child, StartError::Other(format!("{e:#}")));
    }
    let mut stdin = child.stdin.take().expect("piped");
    if let Err(e) = writeln!(stdin, "{GO}") {
        return fail(
            &mut child,
            other("the forwarder did not take its start signal", &e),
        );
    }
    drop(stdin);
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(READY_TIMEOUT).map(|l| l.trim().to_string()) {
        Ok(l) if l == LISTENING => Ok(pid),
        Ok(l) if l == IN_USE => fail(&mut child, StartError::InUse),
        Ok(l) if !l.is_empty() => fail(&mut child, StartError::Other(l)),
        _ => fail(
            &mut child,
            StartError::Other(format!(
                "the forwarder did not report listening within {}s (log: {})",
                READY_TIMEOUT.as_secs(),
                log.display()
            )),
        ),
    }
}

/// The command line of `pid` (arguments split), or `None` when no such
/// process exists or it has exited (a zombie has an empty one).
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if raw.is_empty() {
        return None;
    }
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Whether `pid` is a running `lab __forward`; with `listen`, one that
/// listens on that address.
pub fn is_forwarder(pid: u32, listen: Option<&str>) -> bool {
    let Some(args) = cmdline(pid) else {
        return false;
    };
    args.iter().any(|a| a == SUBCOMMAND)
        && listen.is_none_or(|l| args.windows(2).any(|w| w[0] == "--listen" && w[1] == l))
}

/// What [`stop`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// It was running and is gone now.
    Stopped,
    /// No such process (any more).
    NotRunning,
    /// The pid belongs to another program (its command line): left alone.
    NotOurs(String),
}

/// End the forwarder `pid` that listens on `listen`: SIGTERM, then SIGKILL
/// after a grace period. A pid whose command line is not `lab __forward
/// --listen LISTEN ...` is never signalled.
pub fn stop(pid: u32, listen: &str) -> Stopped {
    let Some(args) = cmdline(pid) else {
        return Stopped::NotRunning;
    };
    if !is_forwarder(pid, Some(listen)) {
        return Stopped::NotOurs(args.join(" "));
    }
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return Stopped::NotRunning;
    };
    // SAFETY: kill(2) with a pid checked to be this forwarder just above.
    unsafe { libc::kill(raw, libc::SIGTERM) };
    let deadline = Instant::now() + STOP_GRACE;
    while is_forwarder(pid, Some(listen)) {
        if Instant::now() >= deadline {
            // SAFETY: as above; still this forwarder.
            unsafe { libc::kill(raw, libc::SIGKILL) };
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Stopped::Stopped
}
