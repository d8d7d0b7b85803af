//! The programs lab runs: the box build tools, `ssh-keygen`, `ssh` and
//! `ansible-playbook`. A missing one FAILs when the lab found needs it
//! (what `lab up` checks before it starts: [`ToolNeeds`]), else WARNs.

use std::path::PathBuf;

use super::Check;
use crate::ops::up::ToolNeeds;

/// What the tool checks need to know.
#[derive(Debug, Clone)]
pub(super) struct ToolsProbe<'a> {
    /// What `lab up` of the lab found runs; `None` without a (valid) lab.
    pub needs: Option<&'a ToolNeeds>,
    /// Box build programs not found (in `$PATH` and the system directories).
    pub missing_build: Vec<&'static str>,
    pub root: bool,
    /// Where `ssh-keygen`, `ssh` and `ansible-playbook` are, if found.
    pub found: Vec<(&'static str, Option<PathBuf>)>,
}

fn install(programs: &[&str]) -> String {
    crate::process::install_hint(programs)
}

/// `box-tools`, `ssh-keygen`, `ssh`, `ansible`: each program FAILs when
/// missing and the lab found needs it (`ssh-keygen`: every lab), else
/// WARNs.
pub(super) fn tools(t: &ToolsProbe) -> Vec<Check> {
    let mut checks = vec![box_tools(t)];
    let needed = |p: &str| {
        t.needs.and_then(|n| {
            n.programs
                .iter()
                .find(|(q, _)| *q == p)
                .map(|(_, why)| *why)
        })
    };
    for (program, path) in &t.found {
        let name = if *program == "ansible-playbook" {
            "ansible"
        } else {
            program
        };
        let when = match *program {
            "ssh-keygen" => Some("every lab needs it for its SSH key"),
            _ => needed(program),
        };
        checks.push(match (path, when) {
            (Some(p), _) => Check::pass(name, p.display().to_string()),
            (None, Some(why)) => Check::fail(
                name,
                format!("{program} is not installed; {why}"),
                install(&[program]),
            ),
            (None, None) => Check::warn(
                name,
                format!(
                    "{program} is not installed; {}",
                    match *program {
                        "ssh" => "`lab ssh` needs it",
                        _ => "labs with `controller: host` need it",
                    }
                ),
                install(&[program]),
            ),
        });
    }
    checks
}

fn box_tools(t: &ToolsProbe) -> Check {
    const NAME: &str = "box-tools";
    let builds = t.needs.map(|n| n.builds.as_slice()).unwrap_or_default();
    let mut problems = Vec::new();
    if !t.missing_build.is_empty() {
        let verb = if t.missing_build.len() == 1 {
            "is"
        } else {
            "are"
        };
        problems.push(format!(
            "{} {verb} not installed",
            crate::process::and_list(&t.missing_build)
        ));
    }
    if !t.root && !builds.is_empty() {
        problems.push("building a box needs root".to_string());
    }
    let mut fixes = Vec::new();
    if !t.missing_build.is_empty() {
        fixes.push(install(&t.missing_build));
    }
    if !t.root {
        fixes.push("run lab up (or lab box build) as root, e.g. with sudo".to_string());
    }
    let fix = fixes.join("; ");
    let all = crate::boxes::build::BUILD_TOOLS.join(", ");
    match (problems.is_empty(), builds.is_empty()) {
        (true, _) if t.root => Check::pass(NAME, format!("{all} found; running as root")),
        (true, _) => Check::pass(NAME, format!("{all} found; building a box needs root")),
        (false, false) => Check::fail(
            NAME,
            format!(
                "lab up must build {} first, but {}",
                builds.join(", "),
                problems.join(" and ")
            ),
            fix,
        ),
        (false, true) => Check::warn(
            NAME,
            format!(
                "{} ({})",
                problems.join(" and "),
                if t.needs.is_some() {
                    "needed only to build boxes; this lab's are built"
                } else {
                    "needed only to build boxes"
                }
            ),
            fix,
        ),
    }
}
