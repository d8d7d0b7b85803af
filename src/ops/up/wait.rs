//! Phase 4 of `lab up`: start every planned node that is not running, wait
//! for all of them at once (SSH answers with the lab key and cloud-init is
//! done), record the times and pin each node's host key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::super::LabCtx;
use super::plan::Plan;
use super::{NodeReport, UpOptions};
use crate::backend::{DomainState, Hypervisor};
use crate::ssh::{self, ProbeState, Target};
use crate::state::State;
use crate::ui::nodes::NodeReporter;
use crate::ui::progress::fmt_duration;

/// How long `lab up` lets a domain that is shutting down (a guest
/// `poweroff`, a `lab halt` still running) finish before pulling the plug.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);

/// Wait up to `grace` for domain `dom`, "shutting down", to be off, then
/// power it off: starting it meanwhile would be a no-op (it is active) and
/// the node would vanish under the readiness wait.
fn finish_shutdown(hv: &dyn Hypervisor, dom: &str, grace: Duration) -> Result<()> {
    let deadline = Instant::now() + grace;
    while hv.domain_state(dom)? == Some(DomainState::ShuttingDown) {
        if Instant::now() >= deadline {
            hv.destroy_domain(dom)?;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

/// What waiting for one node found.
struct Waited {
    key: ssh::HostKey,
    boot: Option<f64>,
    ready: f64,
}

/// Start what is not running, wait for every planned node, and save what
/// was learnt (readiness, host keys, times) in the state and known_hosts.
/// Fails naming every node that did not become ready, with its console.
pub fn boot_and_wait(
    ctx: &LabCtx,
    st: &mut State,
    plan: &Plan,
    opts: &UpOptions,
    reporter: &Arc<dyn NodeReporter>,
) -> Result<Vec<NodeReport>> {
    let rep = reporter.as_ref();
    for np in &plan.nodes {
        let hv = ctx.hv_of(np.host.as_deref());
        let mut state = hv.domain_state(&np.domain)?;
        if state == Some(DomainState::ShuttingDown) {
            rep.phase(&np.node.name, "waiting for its shutdown to finish");
            finish_shutdown(hv.as_ref(), &np.domain, SHUTDOWN_GRACE)?;
            state = hv.domain_state(&np.domain)?;
        }
        if state != Some(DomainState::Running) {
            rep.phase(&np.node.name, "starting");
            hv.start_domain(&np.domain)?;
        }
        rep.phase(&np.node.name, "booting");
    }
    crate::interrupt::set_message(
        "interrupted while waiting for the VMs; they keep booting. Run `lab up` again to resume, or `lab destroy` to remove the lab",
    );
    let results = crate::fanout::each(&plan.nodes, |np| {
        let target = Target {
            ip: np.node.ip.into(),
            port: 22,
            user: np.user.clone(),
            key: ctx.state_dir.ssh_key(),
            vagrant_key: np.vagrant_key,
            jump: np.jump.clone().map(crate::ssh::Jump::new),
        };
        // On a host that is another machine the log stays there: its tail
        // cannot be read here, `lab console` reads it.
        let console = match np.host_ssh {
            Some(_) => crate::ops::names::remote_console_log(&np.domain).into(),
            None => ctx.state_dir.console_log(&np.node.name),
        };
        wait_node(
            &np.node.name,
            &target,
            opts.timeout
                .unwrap_or_else(|| super::ready_timeout(plan.accel)),
            opts.probe.as_ref(),
            &console,
            rep,
        )
    });
    crate::interrupt::set_message(super::INTERRUPTED);

    let mut failures = Vec::new();
    let mut reports = Vec::new();
    for (np, result) in plan.nodes.iter().zip(results) {
        let ns = st
            .nodes
            .get_mut(&np.node.name)
            .expect("recorded in phase 2");
        match result {
            Ok(w) => {
                ns.ready = true;
                ns.host_key = Some(format!("{} {}", w.key.key_type, w.key.base64));
                if !np.was_ready {
                    ns.boot_seconds = w.boot;
                    ns.ready_seconds = Some(w.ready);
                }
                reports.push(NodeReport {
                    name: np.node.name.clone(),
                    ip: np.node.ip.to_string(),
                    boot_seconds: w.boot,
                    ready_seconds: Some(w.ready),
                    was_up: np.was_ready,
                });
            }
            Err(e) => {
                ns.ready = false;
                failures.push(format!("{e:#}"));
            }
        }
    }
    ctx.state_dir.save(st)?;
    write_known_hosts(ctx, st)?;
    if !failures.is_empty() {
        bail!("{}", failures.join("\n\n"));
    }
    Ok(reports)
}

fn wait_node(
    name: &str,
    target: &Target,
    timeout: Duration,
    probe: &(dyn Fn(&Target, Duration, ssh::Progress<'_>) -> ProbeState + Send + Sync),
    console: &std::path::Path,
    rep: &dyn NodeReporter,
) -> Result<Waited> {
    let start = Instant::now();
    let mut boot = None;
    let result = ssh::wait_ready(target, start + timeout, probe, |state| {
        let phase = match state {
            ProbeState::NoConnection(_) => "booting (SSH not answering yet)",
            ProbeState::Handshake(_) => "SSH answering slowly (handshake not finished yet)",
            ProbeState::AuthRefused => "SSH up, waiting for cloud-init to install the key",
            ProbeState::KeyInserted => {
                "logged in with Vagrant's insecure key, replaced it by the lab's"
            }
            ProbeState::CloudInitRunning => "logged in, waiting for cloud-init to finish",
            ProbeState::Ready(_) => "ready",
        };
        if boot.is_none() && !matches!(state, ProbeState::NoConnection(_)) {
            boot = Some(start.elapsed().as_secs_f64());
        }
        rep.phase(name, phase);
    });
    match result {
        Ok(key) => {
            let ready = start.elapsed().as_secs_f64();
            rep.done(name, &format!("ready in {}", fmt_duration(start.elapsed())));
            Ok(Waited { key, boot, ready })
        }
        Err(last) => {
            let why = match last {
                ProbeState::NoConnection(e) => format!("SSH never answered ({e})"),
                ProbeState::Handshake(e) => format!("SSH never finished a handshake ({e})"),
                ProbeState::AuthRefused => {
                    "SSH refused the lab key (cloud-init did not install it)".into()
                }
                ProbeState::CloudInitRunning => "cloud-init did not finish".into(),
                ProbeState::KeyInserted => {
                    "the lab's key, put in place of Vagrant's insecure key, was then refused".into()
                }
                ProbeState::Ready(_) => unreachable!("ready is success"),
            };
            rep.failed(name, &why);
            bail!(
                "node {name} did not become ready within {}: {why}\nlast console lines:\n{}\nconsole log: {} (also: lab console {name})",
                fmt_duration(timeout),
                console_tail(console, 15),
                console.display()
            )
        }
    }
}

/// The last `n` lines of a console log, control sequences removed, each
/// cut at 300 characters; only the log's last
/// [`crate::limits::LOG_TAIL_BYTES`] are read (a console log grows
/// without bound while the VM runs).
pub fn console_tail(path: &std::path::Path, n: usize) -> String {
    let bytes = crate::limits::read_tail(path, crate::limits::LOG_TAIL_BYTES).unwrap_or_default();
    let text = strip_control(&String::from_utf8_lossy(&bytes));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..]
        .iter()
        .map(|l| match l.char_indices().nth(300) {
            Some((cut, _)) => format!("  | {}...", &l[..cut]),
            None => format!("  | {l}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Remove ANSI escape sequences and carriage returns.
pub fn strip_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Rewrite the per-lab known_hosts from the pinned keys in the state.
pub fn write_known_hosts(ctx: &LabCtx, st: &State) -> Result<()> {
    let text = ssh::openssh::known_hosts(st, ctx.lab.network.domain.as_deref());
    crate::state::write_atomic(&ctx.state_dir.known_hosts(), text.as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_stripped() {
        assert_eq!(
            strip_control("\u{1b}[0;32m  OK  \u{1b}[0m] Reached\r"),
            "  OK  ] Reached"
        );
    }

    #[test]
    fn console_tail_keeps_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.log");
        std::fs::write(&p, "a\nb\n\nc\nd\n").unwrap();
        assert_eq!(console_tail(&p, 2), "  | c\n  | d");
        assert_eq!(console_tail(&dir.path().join("missing"), 3), "");
        // Only the end is read, and long lines are cut.
        let long = "y".repeat(1000);
        std::fs::write(&p, format!("{}\n{long}\nlast\n", "x".repeat(10 << 20))).unwrap();
        assert_eq!(
            console_tail(&p, 3),
            format!("  | {}...\n  | last", &long[..300])
        );
    }
}
