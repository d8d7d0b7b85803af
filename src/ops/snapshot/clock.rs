//! Setting guests' clocks to the host's after their memory was frozen
//! (paused for a snapshot, or put back to a snapshot's moment): over the
//! lab's SSH login with its pinned host key and `sudo date`, which works on
//! every box `lab` can log in to (no guest agent needed). The guest first
//! says it is ready, then the host sends its time, so the seconds SSH
//! takes to log in do not count; only the last hop of one line does.

use std::io::{Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::provision::remote::Remote;
use crate::state::{State, StateDir};

/// How long logging in to a node may be retried after it was resumed.
const LOGIN_WAIT: Duration = Duration::from_secs(30);

/// The command run on the guest: say ready, read the host's time (epoch
/// seconds with a fraction), set it, print the guest's time after.
const SET_TIME: &str =
    "sudo -n sh -c 'echo ready; read t; date -u -s \"@$t\" >/dev/null && date -u +%s.%N'";

/// One node's clock after setting it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClockSet {
    pub node: String,
    /// Guest time minus host time in seconds just after setting it
    /// (positive: the guest is ahead); `None` when it failed.
    pub offset_seconds: Option<f64>,
    /// Seconds from the call until the node answered over SSH.
    pub answered_seconds: Option<f64>,
    pub error: Option<String>,
}

/// Tell the user about each clock that could not be set, with what to do;
/// returns `sets`.
pub fn report(sets: Vec<ClockSet>, rep: &dyn crate::ui::nodes::NodeReporter) -> Vec<ClockSet> {
    for c in &sets {
        if let Some(err) = &c.error {
            rep.note(&format!(
                "{}: could not set its clock to the host's ({err}); the next `lab up` tries again",
                c.node
            ));
        }
    }
    sets
}

/// Set the clock of each of `nodes` at once (one thread and SSH session
/// each).
pub fn set_all(st: &State, sd: &StateDir, nodes: &[String]) -> Vec<ClockSet> {
    let start = std::time::Instant::now();
    crate::fanout::each(nodes, |node| {
        let result = Remote::of(node, st, sd).and_then(|r| set_one(&r, start));
        match result {
            Ok((offset, answered)) => ClockSet {
                node: node.clone(),
                offset_seconds: Some(offset),
                answered_seconds: Some(answered),
                error: None,
            },
            Err(e) => ClockSet {
                node: node.clone(),
                offset_seconds: None,
                answered_seconds: None,
                error: Some(format!("{e:#}")),
            },
        }
    })
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Log in (retrying while the guest's network comes back) and set the
/// clock: (offset after, seconds until it answered).
fn set_one(remote: &Remote, start: std::time::Instant) -> Result<(f64, f64)> {
    let deadline = start + LOGIN_WAIT;
    let sess = loop {
        match remote.open() {
            Ok(s) => break s,
            Err(e)
                if std::time::Instant::now() < deadline && !e.to_string().contains("host key") =>
            {
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(e),
        }
    };
    let answered = start.elapsed().as_secs_f64();
    sess.set_timeout(30_000);
    let mut ch = sess.channel_session()?;
    ch.exec(SET_TIME)?;
    let ready = read_line(&mut ch)?;
    if ready.trim() != "ready" {
        bail!(
            "`sudo -n sh` did not start on {} (said {ready:?})",
            remote.name
        );
    }
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the host clock is before 1970")?;
    ch.write_all(format!("{}.{:09}\n", t.as_secs(), t.subsec_nanos()).as_bytes())?;
    ch.flush()?;
    ch.send_eof()?;
    let after = read_line(&mut ch)?;
    let host = now();
    // The rest (nothing, unless sudo complains) up to end of file, which
    // wait_close needs.
    crate::limits::read_capped(&mut ch, 4096)?;
    ch.wait_close()?;
    let code = ch.exit_status()?;
    let guest: f64 = after
        .trim()
        .parse()
        .ok()
        .filter(|_| code == 0)
        .with_context(|| format!("`date -s` failed on {} (exit status {code})", remote.name))?;
    Ok((guest - host, answered))
}

/// One line (without the newline), at most 256 bytes.
fn read_line(r: &mut dyn Read) -> Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 256 {
        if r.read(&mut byte)? == 0 || byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}
