//! `type: shell`: the lab directory is copied to `~/lab` on every node a
//! step runs on, then the steps run in file order, each on all its nodes
//! at once. A step runs as root (`sudo -n`, the box's user has passwordless
//! sudo) with bash, in `~lab/lab` (the copy), with `LAB_NAME`, `LAB_NODE`,
//! `LAB_GATEWAY` and `LAB_PROXY_URL` set: `inline:` text with `bash -c`,
//! `script:` files with `bash -- FILE` (every word shell-quoted: a file
//! name may hold spaces, quotes or `$`, or start with `-`). Output goes to the provision log and
//! to the node's progress line; the first step that fails on any node ends
//! the run, naming the node, the step and the exit status.

use std::time::Instant;

use anyhow::{Result, bail};

use super::remote::{self, Remote};
use super::{HostRecap, Run, clip, guest_lab_dir, upload};
use crate::process::shell_quote;
use crate::spec::{Lab, ScriptSource, ScriptStep, Shell};
use crate::ui::progress::fmt_duration;

/// Each step with the names of the nodes it runs on, limited to `limit`
/// (all nodes when empty).
pub fn plan<'a>(
    lab: &'a Lab,
    shell: &'a Shell,
    limit: &[String],
) -> Vec<(&'a ScriptStep, Vec<String>)> {
    shell
        .scripts
        .iter()
        .map(|step| {
            let nodes = step
                .targets(lab)
                .into_iter()
                .filter(|n| limit.is_empty() || limit.contains(&n.name))
                .map(|n| n.name.clone())
                .collect();
            (step, nodes)
        })
        .collect()
}

/// A step in a few words: `script provision/db.sh` or `inline "apt-get …"`.
pub fn describe(step: &ScriptStep) -> String {
    match &step.source {
        ScriptSource::File(p) => format!("script {}", p.display()),
        ScriptSource::Inline(text) => {
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            format!("inline {:?}", clip(first, 40))
        }
    }
}

/// The command line that runs `step` on `node` (whose home is `home`).
pub fn command(
    lab: &Lab,
    step: &ScriptStep,
    node: &str,
    home: &str,
    proxy: Option<&str>,
) -> String {
    let env = [
        ("LAB_NAME", lab.name.clone()),
        ("LAB_NODE", node.to_string()),
        ("LAB_GATEWAY", lab.network.gateway.to_string()),
        ("LAB_PROXY_URL", proxy.unwrap_or("").to_string()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", shell_quote(v)))
    .collect::<Vec<_>>()
    .join(" ");
    let run = match &step.source {
        ScriptSource::Inline(text) => format!("bash -c {}", shell_quote(text)),
        // `--`: a file name starting with `-` is not an option of bash.
        ScriptSource::File(p) => format!("bash -- {}", shell_quote(&p.to_string_lossy())),
    };
    format!(
        "cd {} && sudo -n env {env} {run}",
        shell_quote(&guest_lab_dir(home))
    )
}

pub fn run(run: &Run, shell: &Shell, limit: &[String]) -> Result<Vec<HostRecap>> {
    let lab = run.lab;
    for step in &shell.scripts {
        if let ScriptSource::File(p) = &step.source
            && !lab.dir().join(p).is_file()
        {
            bail!(
                "shell step {} names {}, which is not a file in {}",
                describe(step),
                p.display(),
                lab.dir().display()
            );
        }
    }
    let plan = plan(lab, shell, limit);
    let mut names: Vec<&str> = Vec::new();
    for n in &lab.nodes {
        if plan.iter().any(|(_, nodes)| nodes.contains(&n.name)) {
            names.push(&n.name);
        }
    }
    let remotes = names
        .iter()
        .map(|n| run.remote(n))
        .collect::<Result<Vec<_>>>()?;
    run.rep.note(&format!(
        "shell: copying {} to ~/lab on {}",
        lab.dir().display(),
        names.join(", ")
    ));
    let sessions = crate::fanout::each(&remotes, |r| {
        run.rep.phase(&r.name, "copying the lab directory");
        let sess = r.open()?;
        upload::upload_dir(r, &sess, lab.dir(), &guest_lab_dir(&r.home()), &[])?;
        Ok(sess)
    })
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    let proxy = lab.guest_proxy();
    let mut recap: Vec<HostRecap> = names
        .iter()
        .map(|n| HostRecap {
            host: n.to_string(),
            ..Default::default()
        })
        .collect();
    let total = plan.len();
    for (i, (step, targets)) in plan.iter().enumerate() {
        let label = format!("step {}/{total}", i + 1);
        if targets.is_empty() {
            run.rep.note(&format!(
                "shell: {label} ({}) skipped: none of its nodes selected",
                describe(step)
            ));
            continue;
        }
        run.rep.note(&format!(
            "shell: {label} ({}) on {}",
            describe(step),
            targets.join(", ")
        ));
        let chosen: Vec<(usize, &Remote)> = remotes
            .iter()
            .enumerate()
            .filter(|(_, r)| targets.contains(&r.name))
            .collect();
        let results = crate::fanout::each(&chosen, |(k, r)| {
            let sess = &sessions[*k];
            let cmd = command(lab, step, &r.name, &r.home(), proxy.as_deref());
            let start = Instant::now();
            run.rep.phase(&r.name, &format!("{label}: running"));
            run.log
                .line(&r.name, &format!("=== {label}: {}", describe(step)));
            let mut last: Vec<String> = Vec::new();
            let exit = remote::exec_lines(sess, &cmd, &[], &mut |l| {
                run.log.line(&r.name, l);
                if !l.trim().is_empty() {
                    run.rep.phase(&r.name, &format!("{label}: {}", clip(l, 60)));
                    remote::push_tail(&mut last, l);
                }
            });
            let status = match &exit {
                Ok(e) => e.to_string(),
                Err(e) => format!("{e:#}"),
            };
            let took = fmt_duration(start.elapsed());
            run.log
                .line(&r.name, &format!("=== {label}: {status} after {took}"));
            (r.name.clone(), exit, last)
        });
        let mut failures = Vec::new();
        for (node, exit, last) in results {
            let ok = matches!(&exit, Ok(e) if e.success());
            let why = match exit {
                Ok(e) => e.to_string(),
                Err(e) => format!("{e:#}"),
            };
            let r = recap
                .iter_mut()
                .find(|r| r.host == node)
                .expect("planned node");
            if ok {
                r.ok += 1;
                run.rep.phase(&node, &format!("{label} done"));
            } else {
                r.failed += 1;
                run.rep.failed(&node, &format!("{label} failed ({why})"));
                failures.push(format!(
                    "shell {label} ({}) failed on {node} ({why}); last output:\n{}",
                    describe(step),
                    remote::tail(&last, remote::TAIL_LINES)
                ));
            }
        }
        if !failures.is_empty() {
            bail!("{}\n{}", failures.join("\n"), run.see_log());
        }
    }
    for r in &recap {
        run.rep
            .done(&r.host, &format!("provisioned ({} step(s))", r.ok));
    }
    Ok(recap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Context, Provision, parse_str};

    fn lab() -> Lab {
        let src = "name: t\nbox: debian-12\nnetwork: {subnet: 10.77.30.0/24}\nnodes:\n  node1: {ip: 10.77.30.21, roles: [app]}\n  node2: {ip: 10.77.30.22, roles: [app, db]}\n  node3: {ip: 10.77.30.23}\nprovision:\n  type: shell\n  scripts:\n    - {on: [app], inline: \"echo it's $LAB_NODE\"}\n    - {on: [node3, db], script: provision/db.sh}\n";
        parse_str(src, "lab.yaml", &Context::any_box()).unwrap()
    }

    fn shell(lab: &Lab) -> &Shell {
        match &lab.provision {
            Some(Provision::Shell(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn steps_target_nodes_and_roles_within_the_limit() {
        let lab = lab();
        let names = |limit: &[String]| {
            plan(&lab, shell(&lab), limit)
                .into_iter()
                .map(|(_, n)| n)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&[]), [vec!["node1", "node2"], vec!["node2", "node3"]]);
        assert_eq!(names(&["node3".into()]), [vec![], vec!["node3"]]);
    }

    #[test]
    fn commands_run_as_root_in_the_copy_with_lab_variables() {
        let lab = lab();
        let s = shell(&lab);
        assert_eq!(
            command(
                &lab,
                &s.scripts[0],
                "node1",
                "/home/lab",
                Some("http://10.77.30.1:8888")
            ),
            "cd /home/lab/lab && sudo -n env LAB_NAME=t LAB_NODE=node1 LAB_GATEWAY=10.77.30.1 LAB_PROXY_URL=http://10.77.30.1:8888 bash -c 'echo it'\\''s $LAB_NODE'"
        );
        assert_eq!(
            command(&lab, &s.scripts[1], "node3", "/home/lab", None),
            "cd /home/lab/lab && sudo -n env LAB_NAME=t LAB_NODE=node3 LAB_GATEWAY=10.77.30.1 LAB_PROXY_URL='' bash -- provision/db.sh"
        );
        assert_eq!(describe(&s.scripts[0]), "inline \"echo it's $LAB_NODE\"");
        assert_eq!(describe(&s.scripts[1]), "script provision/db.sh");
    }

    /// A lab whose shell steps name files with spaces, quotes, `$` and a
    /// leading `-`.
    fn odd_lab() -> Lab {
        let src = "name: t\nbox: debian-12\nnetwork: {subnet: 10.77.30.0/24}\nnodes:\n  node1: {ip: 10.77.30.21}\nprovision:\n  type: shell\n  scripts:\n    - on: [node1]\n      script: \"provision/it's \\\"q\\\" $HOME ü.sh\"\n    - on: [node1]\n      script: \"-dash.sh\"\n";
        parse_str(src, "lab.yaml", &Context::any_box()).unwrap()
    }

    #[test]
    fn script_paths_are_quoted_words() {
        let lab = odd_lab();
        let s = shell(&lab);
        assert_eq!(
            command(&lab, &s.scripts[0], "node1", "/home/lab", None),
            "cd /home/lab/lab && sudo -n env LAB_NAME=t LAB_NODE=node1 LAB_GATEWAY=10.77.30.1 LAB_PROXY_URL='' bash -- 'provision/it'\\''s \"q\" $HOME ü.sh'"
        );
        assert!(
            command(&lab, &s.scripts[1], "node1", "/home/lab", None).ends_with(" bash -- -dash.sh")
        );
    }

    #[test]
    fn generated_commands_run_the_named_scripts_in_a_shell() {
        use std::os::unix::fs::PermissionsExt;
        let lab = odd_lab();
        let s = shell(&lab);
        // The "home" has a space and a quote too; a stand-in `sudo` runs
        // its command as is.
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home of 'lab'");
        let copy = std::path::PathBuf::from(guest_lab_dir(home.to_str().unwrap()));
        std::fs::create_dir_all(copy.join("provision")).unwrap();
        for (i, step) in s.scripts.iter().enumerate() {
            let ScriptSource::File(p) = &step.source else {
                panic!()
            };
            std::fs::write(
                copy.join(p),
                format!("echo \"step {i} on $LAB_NODE in $(pwd)\"\n"),
            )
            .unwrap();
        }
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(
            bin.join("sudo"),
            "#!/bin/sh\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(bin.join("sudo"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        for (i, step) in s.scripts.iter().enumerate() {
            let cmd = command(&lab, step, "node1", home.to_str().unwrap(), None);
            let out = crate::process::Cmd::new("sh")
                .args(["-c", &cmd])
                .env("PATH", &path)
                .run()
                .unwrap();
            assert_eq!(
                out.stdout,
                format!("step {i} on node1 in {}\n", copy.display()),
                "{cmd}"
            );
        }
    }
}
