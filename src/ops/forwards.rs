//! `forwards:` at run time. At the end of `lab up`, [`ensure`] runs one
//! detached forwarder per forward whose node is up: recorded in the state
//! before it listens, kept when the recorded one still runs, replaced when
//! the lab file changed it. [`stop`] ends them for `lab halt` and
//! `lab destroy`, leaving alone a recorded pid that is no longer this
//! forwarder. The processes themselves are [`crate::forward`].

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Result, bail};

use super::LabCtx;
use crate::forward::{self, StartError, Stopped};
use crate::spec::{Forward, Lab};
use crate::state::{FORWARDS_LOG, ForwardState, State};
use crate::ui::nodes::NodeReporter;

/// `ADDR:PORT` a forward listens on.
pub fn listen_addr(f: &Forward) -> SocketAddr {
    SocketAddr::from((f.address, f.host))
}

/// `IP:PORT` on the node; `None` when the lab has no such node.
fn target(lab: &Lab, f: &Forward) -> Option<SocketAddr> {
    lab.node(&f.node).map(|n| SocketAddr::from((n.ip, f.guest)))
}

/// How a forward reads: `control2:80 → 127.0.0.1:8080`.
pub fn describe(f: &Forward) -> String {
    format!("{}:{} → {}", f.node, f.guest, listen_addr(f))
}

/// What to point a client at: `http://127.0.0.1:8080/`, `https://...` for
/// guest ports 443 and 8443, plain `ADDR:PORT` for SSH (guest port 22).
pub fn url(f: &Forward) -> String {
    let addr = listen_addr(f);
    match f.guest {
        22 => addr.to_string(),
        443 | 8443 => format!("https://{addr}/"),
        _ => format!("http://{addr}/"),
    }
}

/// The recorded forwarder of `f`, when it is running.
pub fn running<'a>(st: &'a State, f: &Forward) -> Option<&'a ForwardState> {
    let listen = listen_addr(f).to_string();
    st.forwards
        .iter()
        .find(|fs| fs.listen == listen && forward::is_forwarder(fs.pid, Some(&fs.listen)))
}

/// Start the forwarders that are missing, running `program __forward`
/// (lock held, `st` current; saved as it changes). Recorded forwarders the
/// lab file no longer describes are stopped first. Every forward that
/// cannot start is reported, in one error at the end.
pub fn ensure(ctx: &LabCtx, st: &mut State, program: &Path, rep: &dyn NodeReporter) -> Result<()> {
    let lab = &ctx.lab;
    let wanted: Vec<(&Forward, SocketAddr, SocketAddr)> = lab
        .forwards
        .iter()
        .filter_map(|f| Some((f, listen_addr(f), target(lab, f)?)))
        .collect();
    let before = st.forwards.clone();
    st.forwards.retain(|fs| {
        let same = wanted
            .iter()
            .any(|(_, l, t)| l.to_string() == fs.listen && t.to_string() == fs.to);
        if same && forward::is_forwarder(fs.pid, Some(&fs.listen)) {
            return true;
        }
        stop_one(fs, rep);
        false
    });
    if st.forwards != before {
        ctx.state_dir.save(st)?;
    }
    let log = ctx.state_dir.file(FORWARDS_LOG);
    let mut failures = Vec::new();
    for (f, listen, to) in wanted {
        let listen_s = listen.to_string();
        if st.forwards.iter().any(|fs| fs.listen == listen_s) {
            continue;
        }
        if !st.nodes.get(&f.node).is_some_and(|n| n.ready) {
            rep.note(&format!(
                "forward {}: skipped, {} is not up",
                describe(f),
                f.node
            ));
            continue;
        }
        let sd = &ctx.state_dir;
        let via = st.nodes.get(&f.node).and_then(|n| n.jump.clone());
        let started = forward::spawn(program, listen, to, via.as_deref(), &log, |pid| {
            st.forwards.push(ForwardState {
                node: f.node.clone(),
                listen: listen_s.clone(),
                to: to.to_string(),
                pid,
            });
            sd.save(st)
        });
        match started {
            Ok(pid) => rep.note(&format!("forward {}: listening (pid {pid})", describe(f))),
            Err(e) => {
                st.forwards.retain(|fs| fs.listen != listen_s);
                sd.save(st)?;
                failures.push(match e {
                    StartError::InUse => format!(
                        "host port {} on {} is already in use, so forward {} cannot start; stop what listens there or choose another `host:` port in the lab file",
                        f.host,
                        f.address,
                        describe(f)
                    ),
                    StartError::Other(why) => {
                        format!("forward {} cannot start: {why}", describe(f))
                    }
                });
            }
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

/// Stop the recorded forwarders (only those to `nodes`, when given) and
/// forget them; the caller saves `st`. Returns the pids stopped.
pub fn stop(st: &mut State, nodes: Option<&[String]>, rep: &dyn NodeReporter) -> Vec<u32> {
    let mut stopped = Vec::new();
    st.forwards.retain(|fs| {
        if nodes.is_some_and(|n| !n.contains(&fs.node)) {
            return true;
        }
        if stop_one(fs, rep) {
            stopped.push(fs.pid);
        }
        false
    });
    stopped
}

/// Stop one recorded forwarder; whether it was running.
fn stop_one(fs: &ForwardState, rep: &dyn NodeReporter) -> bool {
    match forward::stop(fs.pid, &fs.listen) {
        Stopped::Stopped => {
            rep.note(&format!(
                "stopped forwarder {} → {} (pid {})",
                fs.listen, fs.to, fs.pid
            ));
            true
        }
        Stopped::NotRunning => false,
        Stopped::NotOurs(cmd) => {
            rep.note(&format!(
                "pid {} was recorded for forwarder {} → {} but now runs `{cmd}`; left alone",
                fs.pid, fs.listen, fs.to
            ));
            false
        }
    }
}
