//! Where to look, for `lab info` and the end of `lab up`: each link with
//! its URL, or why it is skipped (its `when` failed on its node: run over
//! SSH as root, like checks, within [`WHEN_TIMEOUT`]); each forward and
//! whether its forwarder runs; how to log in; the state directory; and
//! where the lab's addresses can be reached. Nothing here prints a secret:
//! output of a `when` that holds one has it masked.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::process::shell_quote;
use crate::provision::remote::{self, Remote};
use crate::provision::secrets::{self, Secrets};
use crate::spec::{Lab, Link};
use crate::state::{State, StateDir};

/// The longest a link's `when` may take, logging in included.
pub const WHEN_TIMEOUT: Duration = Duration::from_secs(20);
/// Environment variable `scripts/sandbox` sets to its namespace's name.
pub const SANDBOX_ENV: &str = "LAB_SANDBOX";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    pub lab: String,
    /// Every node is recorded ready.
    pub up: bool,
    pub links: Vec<LinkInfo>,
    pub forwards: Vec<ForwardInfo>,
    /// How to log in to the first node, e.g. `lab ssh node1`.
    pub ssh: String,
    pub nodes: Vec<String>,
    pub state_dir: PathBuf,
    /// The lab's usable snapshots (`lab snapshot list`), oldest first.
    pub snapshots: Vec<String>,
    /// The last `lab snapshot restore`: its snapshot's name and when.
    pub restored: Option<crate::state::Restored>,
    /// The network namespace `lab` runs in, when it is the sandbox's.
    pub sandbox: Option<String>,
    /// Where the addresses above can be reached from, as a sentence.
    pub reachable: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkInfo {
    pub name: String,
    /// The URL, placeholders replaced; `None` when skipped.
    pub url: Option<String>,
    /// Why the link is not shown: the last line of its `when`'s output.
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardInfo {
    pub node: String,
    pub guest: u16,
    /// `ADDR:PORT` on this side.
    pub listen: String,
    /// What to point a client at, e.g. `http://127.0.0.1:8080/`.
    pub url: String,
    /// The forwarder's pid, when it runs.
    pub pid: Option<u32>,
}

/// Runs a link's `when` on its node: `Err(reason)` to skip the link.
pub type WhenRunner<'a> = dyn Fn(&Link, &str) -> Result<(), String> + Sync + 'a;

/// Where to look in the lab whose file is `lab` (state read from `sd`).
pub fn info(lab: &Lab, sd: &StateDir) -> Result<Info> {
    let st = sd.load()?;
    let secrets = secrets::load(sd).ok().flatten();
    let when = |link: &Link, on: &str| run_when(link, on, &st, sd, secrets.as_ref());
    Ok(gather(lab, sd, &st, &when))
}

/// [`info`] with the `when` commands run by `when` (all at once).
pub fn gather(lab: &Lab, sd: &StateDir, st: &State, when: &WhenRunner) -> Info {
    let ready = |node: &str| st.nodes.get(node).is_some_and(|n| n.ready);
    let links = crate::fanout::each(&lab.links, |link| {
        let verdict = match (&link.on, &link.when) {
            (Some(on), Some(_)) if !ready(on) => {
                Err(format!("{on} is not up (`lab up` starts it)"))
            }
            (Some(on), Some(_)) => when(link, on),
            _ => Ok(()),
        };
        LinkInfo {
            name: link.name.clone(),
            url: verdict.is_ok().then(|| lab.link_url(link)),
            skipped: verdict.err(),
        }
    });
    let forwards = lab
        .forwards
        .iter()
        .map(|f| ForwardInfo {
            node: f.node.clone(),
            guest: f.guest,
            listen: super::forwards::listen_addr(f).to_string(),
            url: super::forwards::url(f),
            pid: super::forwards::running(st, f).map(|fs| fs.pid),
        })
        .collect();
    let nodes: Vec<String> = lab.nodes.iter().map(|n| n.name.clone()).collect();
    // No `-f` when the same command run here finds the same file itself.
    let found = std::env::current_dir().ok().and_then(|cwd| {
        crate::paths::find_lab_file(&cwd, crate::paths::home_dir().as_deref()).ok()
    });
    let file = if found.as_deref() == Some(lab.path.as_path()) {
        String::new()
    } else {
        format!("-f {} ", shell_quote(&lab.path.display().to_string()))
    };
    let sandbox = std::env::var(SANDBOX_ENV).ok().filter(|s| !s.is_empty());
    let reachable = match &sandbox {
        Some(ns) => format!(
            "these addresses are reachable only inside network namespace {ns}: run commands with scripts/sandbox ..., e.g. `scripts/sandbox curl URL`"
        ),
        None => format!(
            "these addresses ({} and the forwards) are reachable from the network namespace lab runs in, here this machine's",
            lab.network.subnet
        ),
    };
    Info {
        lab: lab.name.clone(),
        up: !nodes.is_empty() && nodes.iter().all(|n| ready(n)),
        links,
        forwards,
        ssh: format!("lab ssh {file}{}", nodes.first().map_or("NODE", |n| n)),
        nodes,
        state_dir: sd.path().to_path_buf(),
        snapshots: st.snapshot_names(crate::state::SnapshotStatus::Complete),
        restored: st.restored.clone(),
        sandbox,
        reachable,
    }
}

/// The remote command of a link's `when`: as root, with bash.
pub fn when_command(when: &str) -> String {
    format!("sudo -n bash -c {}", shell_quote(when))
}

/// Run `link`'s `when` on `on` over SSH; `Err` with the last line of its
/// output (secrets masked) when it fails or cannot run in time.
fn run_when(
    link: &Link,
    on: &str,
    st: &State,
    sd: &StateDir,
    secrets: Option<&Secrets>,
) -> Result<(), String> {
    let start = Instant::now();
    let when = link.when.as_deref().unwrap_or("true");
    let mut last = String::new();
    let outcome = (|| -> Result<remote::Exit> {
        let sess = Remote::of(on, st, sd)?.open()?;
        let left = WHEN_TIMEOUT.saturating_sub(start.elapsed());
        sess.set_timeout(left.as_millis().max(1000) as u32);
        remote::exec_lines(&sess, &when_command(when), &[], &mut |l| {
            if !l.trim().is_empty() {
                last = l.trim().to_string();
            }
        })
    })();
    let reason = match outcome {
        Ok(exit) if exit.success() => return Ok(()),
        Ok(exit) if last.is_empty() => format!("`when` ended with {exit}"),
        Ok(_) => last,
        Err(e) => format!("`when` could not run on {on}: {e}"),
    };
    Err(mask(&reason, secrets))
}

/// `text` with every secret value replaced by `<secret>`.
pub fn mask(text: &str, secrets: Option<&Secrets>) -> String {
    let mut out = text.to_string();
    if let Some(all) = secrets {
        for value in all.names().filter_map(|n| all.get(n)) {
            if value.len() >= 6 {
                out = out.replace(value, "<secret>");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ops::tests::{fixture, ready_probe};
    use crate::ops::up;
    use crate::ui::nodes::Silent;

    const LAB: &str = "name: wi\nbox: testbox\nnetwork:\n  subnet: 10.88.4.0/24\nnodes:\n  node1: {ip: 10.88.4.21}\n  node2: {ip: 10.88.4.22}\nforwards:\n  - {node: node2, guest: 80, host: 8080}\nlinks:\n  - {name: stats, url: 'http://{node2}:8404/stats'}\n  - {name: app, url: 'http://{node1}/', on: node1, when: 'systemctl is-active app'}\n  - {name: grafana, url: 'http://{node1}:3000/', on: node1, when: missing}\n  - {name: password, url: '`lab secrets x`'}\n";

    #[test]
    fn links_are_shown_or_skipped_by_their_when() {
        let f = fixture(LAB);
        let mut opts = ready_probe();
        opts.provision = false;
        up::up(&f.ctx, &opts, Arc::new(Silent)).unwrap();
        let st = f.ctx.state_dir.load().unwrap();
        let ran = std::sync::Mutex::new(Vec::new());
        let when = |link: &Link, on: &str| {
            ran.lock()
                .unwrap()
                .push(format!("{on}: {}", link.when.as_deref().unwrap()));
            match link.when.as_deref() {
                Some("missing") => Err("grafana-server is not installed".to_string()),
                _ => Ok(()),
            }
        };
        let info = gather(&f.ctx.lab, &f.ctx.state_dir, &st, &when);
        let lines: Vec<(&str, Option<&str>, Option<&str>)> = info
            .links
            .iter()
            .map(|l| (l.name.as_str(), l.url.as_deref(), l.skipped.as_deref()))
            .collect();
        assert_eq!(
            lines,
            [
                ("stats", Some("http://10.88.4.22:8404/stats"), None),
                ("app", Some("http://10.88.4.21/"), None),
                ("grafana", None, Some("grafana-server is not installed")),
                ("password", Some("`lab secrets x`"), None),
            ]
        );
        let mut ran = ran.into_inner().unwrap();
        ran.sort();
        assert_eq!(ran, ["node1: missing", "node1: systemctl is-active app"]);
        assert!(info.up);
        assert_eq!(info.forwards.len(), 1);
        assert_eq!(info.forwards[0].url, "http://127.0.0.1:8080/");
        assert_eq!(
            info.forwards[0].pid, None,
            "no forwarder started on the fake"
        );
        let file = f.ctx.lab.path.display().to_string();
        assert_eq!(info.ssh, format!("lab ssh -f {file} node1"));
        assert_eq!(info.state_dir, f.ctx.state_dir.path());
        if info.sandbox.is_none() {
            assert!(
                info.reachable.contains("10.88.4.0/24"),
                "{}",
                info.reachable
            );
        }
    }

    #[test]
    fn when_is_not_run_on_a_node_that_is_not_up() {
        let f = fixture(LAB);
        let st = f.ctx.state_dir.load().unwrap();
        let when = |_: &Link, _: &str| -> Result<(), String> { panic!("must not run") };
        let info = gather(&f.ctx.lab, &f.ctx.state_dir, &st, &when);
        assert!(!info.up);
        assert_eq!(
            info.links[1].skipped.as_deref(),
            Some("node1 is not up (`lab up` starts it)")
        );
        assert_eq!(
            info.links[0].url.as_deref(),
            Some("http://10.88.4.22:8404/stats")
        );
    }

    #[test]
    fn secrets_are_masked_and_when_runs_as_root() {
        let tmp = tempfile::tempdir().unwrap();
        let sd = StateDir::for_lab_dir(tmp.path());
        sd.create().unwrap();
        crate::state::write_atomic(
            &sd.file(crate::state::SECRETS_FILE),
            br#"{"db_password": "s3cretValue"}"#,
            0o600,
        )
        .unwrap();
        let all = secrets::load(&sd).unwrap();
        assert_eq!(
            mask("login failed for s3cretValue", all.as_ref()),
            "login failed for <secret>"
        );
        assert_eq!(mask("plain", None), "plain");
        assert_eq!(when_command("test -e /x"), "sudo -n bash -c 'test -e /x'");
    }
}
