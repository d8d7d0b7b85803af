//! SSH sessions to the lab's nodes for provisioning and checks: log in
//! with the lab key, refuse a host key other than the one pinned by
//! `lab up`, and run commands with their output (stdout and stderr merged)
//! handed over line by line as it arrives.

use std::io::BufReader;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::process::shell_quote;
use crate::ssh::{self, Target};
use crate::state::{State, StateDir};

/// How long the TCP connection of one attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the SSH handshake and login of one attempt may take (seconds
/// of guest CPU under emulation, more on a loaded host).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Attempts at a connection before [`Remote::open`] gives up: a node that
/// was ready can still fail one (sshd restarted by a play, a handshake
/// starved of CPU), and a check or play should not fail for that.
pub const ATTEMPTS: u32 = 3;

/// One node as provisioning reaches it.
#[derive(Debug, Clone)]
pub struct Remote {
    pub name: String,
    pub target: Target,
    /// `TYPE BASE64`, pinned by `lab up`.
    pub host_key: Option<String>,
}

impl Remote {
    /// The node `name` as recorded in the state.
    pub fn of(name: &str, st: &State, sd: &StateDir) -> Result<Remote> {
        let ns = st
            .nodes
            .get(name)
            .with_context(|| format!("node {name} is not in the lab state; run `lab up` first"))?;
        Ok(Remote {
            name: name.to_string(),
            target: Target {
                ip: ns.ip.parse().with_context(|| {
                    format!("node {name} has a bad address {:?} in the state", ns.ip)
                })?,
                port: 22,
                user: ns.user.clone(),
                key: sd.ssh_key(),
                vagrant_key: false,
                jump: ns.jump.clone().map(crate::ssh::Jump::new),
            },
            host_key: ns.host_key.clone(),
        })
    }

    /// The login user's home directory on the node.
    pub fn home(&self) -> String {
        format!("/home/{}", self.target.user)
    }

    /// An authenticated session whose host key matches the pinned one.
    /// Blocking calls on it have no time limit (provisioning steps may run
    /// for many minutes); set one with `set_timeout` where needed.
    pub fn open(&self) -> Result<ssh2::Session> {
        let addr = format!("{}@{}", self.target.user, self.target.ip);
        let sess = connect_retrying(&self.target, Duration::from_secs(1))
            .with_context(|| format!("cannot reach node {} over SSH", self.name))?;
        let got = ssh::host_key(&sess)?;
        let got = format!("{} {}", got.key_type, got.base64);
        match &self.host_key {
            Some(pinned) if *pinned == got => {}
            Some(_) => bail!(
                "node {} ({addr}) presented a host key other than the one pinned by `lab up`; refusing to log in (if the VM was recreated outside lab, run `lab destroy` and `lab up`)",
                self.name
            ),
            None => bail!(
                "node {} has no pinned host key; run `lab up` first",
                self.name
            ),
        }
        if !sess.authenticated() {
            bail!(
                "node {} ({addr}) refused the lab key {}",
                self.name,
                self.target.key.display()
            );
        }
        sess.set_timeout(0);
        Ok(sess)
    }
}

/// [`ssh::open`] up to [`ATTEMPTS`] times, pausing `pause`, then twice
/// that, between attempts; the last failure says how many were made.
fn connect_retrying(t: &Target, pause: Duration) -> Result<ssh2::Session> {
    let mut attempt = 1;
    let mut pause = pause;
    loop {
        match ssh::open(t, CONNECT_TIMEOUT, HANDSHAKE_TIMEOUT) {
            Ok(sess) => return Ok(sess),
            Err(failure) if attempt >= ATTEMPTS => {
                return Err(failure
                    .into_inner()
                    .context(format!("{ATTEMPTS} attempts failed")));
            }
            Err(_) => {
                std::thread::sleep(pause);
                pause *= 2;
                attempt += 1;
            }
        }
    }
}

/// How a remote command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: i32,
    /// Set when the command was killed by a signal (then `code` means nothing).
    pub signal: Option<String>,
}

impl Exit {
    pub fn success(&self) -> bool {
        self.code == 0 && self.signal.is_none()
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.signal {
            Some(sig) => write!(f, "killed by signal {sig}"),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

/// Run `command`, feed it `stdin` (then end of file), and hand every line
/// of its merged output to `on_line` as it arrives.
pub fn exec_lines(
    sess: &ssh2::Session,
    command: &str,
    stdin: &[u8],
    on_line: &mut dyn FnMut(&str),
) -> Result<Exit> {
    exec_lines_from(sess, command, &mut &stdin[..], on_line)
}

/// [`exec_lines`] with stdin streamed from a reader (e.g. a large file).
pub fn exec_lines_from(
    sess: &ssh2::Session,
    command: &str,
    stdin: &mut dyn std::io::Read,
    on_line: &mut dyn FnMut(&str),
) -> Result<Exit> {
    let mut ch = sess.channel_session()?;
    ch.handle_extended_data(ssh2::ExtendedData::Merge)?;
    ch.exec(command)?;
    std::io::copy(stdin, &mut ch)?;
    ch.send_eof()?;
    read_lines(&mut ch, on_line)?;
    finish(ch)
}

/// Hand every line of the channel's output to `on_line` until end of
/// file; a line longer than [`crate::limits::MAX_LINE_BYTES`] is cut (see
/// [`crate::limits::read_text_line`]).
pub fn read_lines(ch: &mut dyn std::io::Read, on_line: &mut dyn FnMut(&str)) -> Result<()> {
    let mut reader = BufReader::new(ch);
    while let Some(line) = crate::limits::read_text_line(&mut reader)? {
        on_line(&line);
    }
    Ok(())
}

/// Wait for the channel to close and say how the command ended.
pub fn finish(mut ch: ssh2::Channel) -> Result<Exit> {
    ch.wait_close()?;
    let signal = ch.exit_signal()?.exit_signal;
    Ok(Exit {
        code: ch.exit_status()?,
        signal,
    })
}

/// Run `command` and collect the last [`TAIL_LINES`] lines of its merged
/// output; an error when it fails, quoting them.
pub fn exec_ok(sess: &ssh2::Session, command: &str, stdin: &[u8]) -> Result<String> {
    exec_ok_from(sess, command, &mut &stdin[..])
}

/// [`exec_ok`] with stdin streamed from a reader.
pub fn exec_ok_from(
    sess: &ssh2::Session,
    command: &str,
    stdin: &mut dyn std::io::Read,
) -> Result<String> {
    let mut last = Vec::new();
    let exit = exec_lines_from(sess, command, stdin, &mut |l| push_tail(&mut last, l))?;
    let out = last.join("\n");
    if !exit.success() {
        bail!("`{command}` failed ({exit}):\n{}", out.trim_end());
    }
    Ok(out)
}

/// How many lines of a command's output are kept to quote when it fails.
pub const TAIL_LINES: usize = 10;

/// Appends `line` to `lines`, keeping the last [`TAIL_LINES`]: a command
/// may print without end, and only its last lines are ever quoted.
pub fn push_tail(lines: &mut Vec<String>, line: &str) {
    if lines.len() >= TAIL_LINES {
        lines.remove(0);
    }
    lines.push(line.to_string());
}

/// Write `data` to `path` on the node with file mode `mode`, replacing
/// it atomically; parent directories are created (mode 0700).
pub fn write_file(sess: &ssh2::Session, path: &str, data: &[u8], mode: u32) -> Result<()> {
    write_file_from(sess, path, &mut &data[..], mode)
}

/// [`write_file`] with the content streamed from a reader.
pub fn write_file_from(
    sess: &ssh2::Session,
    path: &str,
    data: &mut dyn std::io::Read,
    mode: u32,
) -> Result<()> {
    let dir = match path.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir,
        _ => ".",
    };
    let (p, tmp) = (shell_quote(path), shell_quote(&format!("{path}.lab-tmp")));
    let cmd = format!(
        "set -e; umask 077; mkdir -p {dir}; cat > {tmp}; chmod {mode:o} {tmp}; mv -f {tmp} {p}",
        dir = shell_quote(dir)
    );
    exec_ok_from(sess, &cmd, data).with_context(|| format!("cannot write {path}"))?;
    Ok(())
}

/// The last `n` of `lines`, each as `  | LINE`.
pub fn tail(lines: &[String], n: usize) -> String {
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_lines_are_kept() {
        let mut lines = Vec::new();
        for i in 0..100_000 {
            push_tail(&mut lines, &i.to_string());
        }
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines[0], "99990");
        assert_eq!(tail(&lines, 2), "  | 99998\n  | 99999");
    }

    #[test]
    fn lines_are_handed_over_and_a_long_one_is_cut() {
        let text = format!("one\r\n{}\nthree", "x".repeat(1 << 20));
        let mut lines = Vec::new();
        read_lines(&mut text.as_bytes(), &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "one");
        assert!(lines[1].ends_with("x [line cut at 64 KiB]"));
        assert_eq!(lines[1].len(), (64 << 10) + " [line cut at 64 KiB]".len());
        assert_eq!(lines[2], "three");
    }

    #[test]
    fn a_failed_handshake_is_retried_a_bounded_number_of_times() {
        // sshd accepting and dropping each connection (restarting, or
        // refusing under MaxStartups): ATTEMPTS connections, then an error
        // that says so.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = done.clone();
        let accepted = std::thread::spawn(move || {
            listener.set_nonblocking(true).unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        drop(conn);
                        n += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            n
        });
        let t = Target::local_for_tests(port);
        let Err(err) = connect_retrying(&t, Duration::from_millis(50)) else {
            panic!("connected to a server that drops every connection");
        };
        std::thread::sleep(Duration::from_millis(100));
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(
            format!("{err:#}").starts_with("3 attempts failed: SSH handshake with 127.0.0.1:"),
            "{err:#}"
        );
        assert_eq!(accepted.join().unwrap(), ATTEMPTS);
    }
}
