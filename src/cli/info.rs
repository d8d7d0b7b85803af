//! `lab info [--json]`: where to look (links, forwards, how to log in, the
//! state directory). `lab up` prints the same block when it is done.

use anyhow::Result;

use crate::cli::Global;
use crate::ops::info::{self, Info};
use crate::state::StateDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub out: crate::cli::LabJson,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let lab = crate::spec::load_reported_lenient(&global.file)?;
    let info = info::info(&lab, &StateDir::for_lab_dir(lab.dir()))?;
    if args.out.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print!("{}", render(&info));
    }
    Ok(())
}

/// The "where to look" block.
pub fn render(info: &Info) -> String {
    let mut out = String::from("where to look:\n");
    if !info.up {
        out.push_str(&format!(
            "  lab {} is not up: `lab up` starts it\n",
            info.lab
        ));
    }
    for l in &info.links {
        match (&l.url, &l.skipped) {
            (_, Some(why)) => out.push_str(&format!("  {}: skipped: {why}\n", l.name)),
            (Some(url), None) => out.push_str(&format!("  {}: {url}\n", l.name)),
            (None, None) => {}
        }
    }
    for f in &info.forwards {
        let state = match f.pid {
            Some(_) => String::new(),
            None => " (forwarder not running: `lab up` starts it)".into(),
        };
        out.push_str(&format!(
            "  forward {}:{} → {}{state}\n",
            f.node, f.guest, f.url
        ));
    }
    let others = if info.nodes.len() > 1 {
        format!("   (nodes: {})", info.nodes.join(", "))
    } else {
        String::new()
    };
    out.push_str(&format!("  ssh: {}{others}\n", info.ssh));
    if info.up || !info.snapshots.is_empty() {
        out.push_str(&snapshot_line(info));
    }
    out.push_str(&format!("  state: {}\n", info.state_dir.display()));
    out.push_str(&format!("  note: {}\n", info.reachable));
    out
}

/// Where the lab's snapshots stand, and how to take or use one.
fn snapshot_line(info: &Info) -> String {
    let restored = match &info.restored {
        Some(r) if r.complete => format!("; restored from {} at {}", r.name, r.at),
        Some(r) => format!(
            "; the restore of {} was interrupted: `lab snapshot restore {}` again",
            r.name, r.name
        ),
        None => String::new(),
    };
    if info.snapshots.is_empty() {
        format!(
            "  snapshots: none; `lab snapshot save NAME` keeps this state to come back to in seconds{restored}\n"
        )
    } else {
        format!(
            "  snapshots: {} (`lab snapshot restore NAME`; `lab snapshot save NAME` for another){restored}\n",
            info.snapshots.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::info::{ForwardInfo, LinkInfo};

    #[test]
    fn the_block_lists_links_forwards_ssh_state_and_where_addresses_work() {
        let info = Info {
            lab: "fwd".into(),
            up: true,
            links: vec![
                LinkInfo { name: "stats".into(), url: Some("http://10.77.40.22:8404/".into()), skipped: None },
                LinkInfo { name: "grafana".into(), url: None, skipped: Some("not installed".into()) },
            ],
            forwards: vec![
                ForwardInfo { node: "control2".into(), guest: 80, listen: "127.0.0.1:8080".into(), url: "http://127.0.0.1:8080/".into(), pid: Some(42) },
                ForwardInfo { node: "node1".into(), guest: 22, listen: "127.0.0.1:2222".into(), url: "127.0.0.1:2222".into(), pid: None },
            ],
            ssh: "lab ssh control2".into(),
            nodes: vec!["control2".into(), "node1".into()],
            state_dir: "/labs/fwd/.lab".into(),
            snapshots: vec![],
            restored: None,
            sandbox: Some("lab-sandbox".into()),
            reachable: "these addresses are reachable only inside network namespace lab-sandbox: run commands with scripts/sandbox ...".into(),
        };
        assert_eq!(
            render(&info),
            "where to look:
  stats: http://10.77.40.22:8404/
  grafana: skipped: not installed
  forward control2:80 → http://127.0.0.1:8080/
  forward node1:22 → 127.0.0.1:2222 (forwarder not running: `lab up` starts it)
  ssh: lab ssh control2   (nodes: control2, node1)
  snapshots: none; `lab snapshot save NAME` keeps this state to come back to in seconds
  state: /labs/fwd/.lab
  note: these addresses are reachable only inside network namespace lab-sandbox: run commands with scripts/sandbox ...
"
        );
    }
}
