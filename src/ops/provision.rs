//! `lab provision` and `lab verify` on a running lab, and the same two at
//! the end of `lab up` ([`after_up`]). Provisioning starts only when every
//! node of the lab is running and was seen ready; the mechanics are in
//! [`crate::provision`].

use anyhow::{Context, Result, bail};

use super::LabCtx;
use crate::backend::DomainState;
use crate::provision::verify::{self, CheckResult};
use crate::provision::{self, Options, Report};
use crate::spec::{Check, Node};
use crate::state::State;
use crate::ui::nodes::NodeReporter;
use crate::ui::progress::fmt_duration;

/// Fails, naming every node that is not running and ready, unless all of
/// `nodes` are.
pub fn ensure_up(ctx: &LabCtx, st: &State, nodes: &[&str]) -> Result<()> {
    let lab = &ctx.lab;
    if st.nodes.is_empty() {
        bail!(
            "lab {} is not up (nothing recorded in {}); run `lab up` first",
            lab.name,
            ctx.state_dir.path().display()
        );
    }
    let mut down = Vec::new();
    for name in nodes {
        let Some(ns) = st.nodes.get(*name) else {
            down.push(format!("{name} was never created"));
            continue;
        };
        match ctx.hv_of_domain(st, &ns.domain).domain_state(&ns.domain)? {
            Some(DomainState::Running) if ns.ready => {}
            Some(DomainState::Running) => down.push(format!("{name} has not become ready")),
            Some(state) => down.push(format!("{name} is {state}")),
            None => down.push(format!("{name} does not exist")),
        }
    }
    if !down.is_empty() {
        bail!(
            "lab {} is not up: {}; run `lab up` first",
            lab.name,
            down.join(", ")
        );
    }
    Ok(())
}

/// `lab provision --list-tags`: the tags of the lab's Ansible playbook
/// ([`crate::provision::tags`]); the lab need not be up, nor libvirt
/// reachable. `program` is the
/// `ansible-playbook` to ask.
///
/// Errors: the lab has no `provision:`, or shell steps (no tags), or
/// Ansible cannot list them.
pub fn list_tags(
    lab: &crate::spec::Lab,
    program: &std::path::Path,
) -> Result<provision::tags::TagList> {
    match &lab.provision {
        Some(crate::spec::Provision::Ansible(a)) => provision::tags::list(lab, a, program),
        Some(crate::spec::Provision::Shell(_)) => bail!(
            "lab {} provisions with shell steps, which have no tags (`--list-tags` lists an Ansible playbook's)",
            lab.name
        ),
        None => bail!(
            "lab {} has no `provision:` section; it has no tags",
            lab.name
        ),
    }
}

/// `lab provision`: take the lock, check the lab is up, run the
/// provisioner. `None` when the lab has no `provision:`.
pub fn provision(ctx: &LabCtx, opts: &Options, rep: &dyn NodeReporter) -> Result<Option<Report>> {
    let lab = &ctx.lab;
    let _lock = ctx.state_dir.lock(&lab.name)?;
    let mut st = ctx.state_dir.load()?;
    ctx.select_nodes(&opts.nodes)?;
    // A killed `lab snapshot save` may have left nodes paused.
    super::snapshot::settle(ctx, &mut st, rep)?;
    let all: Vec<&str> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
    ensure_up(ctx, &st, &all)?;
    run_recorded(ctx, &mut st, opts, rep)
}

/// Run the provisioner with the nodes it covers (`opts.nodes`, or all)
/// marked [`crate::state::NodeState::provision_pending`] in the saved
/// state while it runs, so that a run that fails, is interrupted or is
/// killed is run again by the next `lab up`. A run that succeeds clears the
/// mark, except a run limited to some tags (`--only`), which leaves each
/// node's mark as it was before.
fn run_recorded(
    ctx: &LabCtx,
    st: &mut State,
    opts: &Options,
    rep: &dyn NodeReporter,
) -> Result<Option<Report>> {
    if ctx.lab.provision.is_none() {
        return Ok(None);
    }
    let names: Vec<String> = if opts.nodes.is_empty() {
        ctx.lab.nodes.iter().map(|n| n.name.clone()).collect()
    } else {
        opts.nodes.clone()
    };
    let before: Vec<(String, bool)> = names
        .iter()
        .filter_map(|n| st.nodes.get(n).map(|ns| (n.clone(), ns.provision_pending)))
        .collect();
    for (name, _) in &before {
        st.nodes
            .get_mut(name)
            .expect("listed above")
            .provision_pending = true;
    }
    ctx.state_dir.save(st)?;
    let report = provision::run(&ctx.lab, &ctx.state_dir, st, opts, rep)?;
    for (name, was) in before {
        st.nodes
            .get_mut(&name)
            .expect("listed above")
            .provision_pending = opts.tags.is_some() && was;
    }
    ctx.state_dir.save(st)?;
    Ok(report)
}

/// `lab verify`: run every check (no lock: checks change nothing).
pub fn verify(ctx: &LabCtx, rep: &dyn NodeReporter) -> Result<Vec<CheckResult>> {
    let st = ctx.state_dir.load()?;
    let checks: Vec<&Check> = ctx.lab.checks.iter().collect();
    let mut nodes: Vec<&str> = checks.iter().map(|c| c.on.as_str()).collect();
    nodes.sort_unstable();
    nodes.dedup();
    ensure_up(ctx, &st, &nodes)?;
    Ok(verify::run(
        &checks,
        ctx.lab.dir(),
        &st,
        &ctx.state_dir,
        rep,
    ))
}

/// What the end of `lab up` did (part of `lab up --json`).
#[derive(Debug, Clone, Default)]
pub struct AfterUp {
    /// The provisioning run; `None` when the lab has no `provision:` or
    /// provisioning was skipped.
    pub provision: Option<Report>,
    /// The checks that ran (those on the selected nodes), all passed.
    pub checks: Vec<CheckResult>,
}

/// The end of `lab up` (lock held, `selected` ready): provision and verify,
/// reporting through `rep`. Skipped when some node of the lab is not up;
/// when only some nodes were selected, limited to them. Fails when the
/// provisioner or a check fails.
pub fn after_up(
    ctx: &LabCtx,
    st: &mut State,
    selected: &[Node],
    rep: &dyn NodeReporter,
) -> Result<AfterUp> {
    let lab = &ctx.lab;
    if lab.provision.is_none() && lab.checks.is_empty() {
        return Ok(AfterUp::default());
    }
    let missing: Vec<&str> = lab
        .nodes
        .iter()
        .filter(|n| !st.nodes.get(&n.name).is_some_and(|ns| ns.ready))
        .map(|n| n.name.as_str())
        .collect();
    if !missing.is_empty() {
        rep.note(&format!(
            "provisioning skipped: {} not up; run `lab up` for every node, then `lab provision`",
            missing.join(", ")
        ));
        return Ok(AfterUp::default());
    }
    let partial = selected.len() < lab.nodes.len();
    let opts = Options {
        nodes: if partial {
            selected.iter().map(|n| n.name.clone()).collect()
        } else {
            Vec::new()
        },
        ..Options::default()
    };
    let report = run_recorded(ctx, st, &opts, rep).with_context(|| {
        format!("provisioning lab {} failed; the VMs stay up: fix the problem, then run `lab provision`", lab.name)
    })?;
    if let Some(r) = &report {
        rep.note(&format!(
            "provisioned with {} in {} (log: {})",
            r.provisioner,
            fmt_duration(r.duration),
            r.log.display()
        ));
    }
    let checks: Vec<&Check> = lab
        .checks
        .iter()
        .filter(|c| selected.iter().any(|n| n.name == c.on))
        .collect();
    if checks.is_empty() {
        return Ok(AfterUp {
            provision: report,
            checks: Vec::new(),
        });
    }
    let results = verify::run(&checks, ctx.lab.dir(), st, &ctx.state_dir, rep);
    let passed = results.iter().filter(|r| r.passed).count();
    rep.note(&format!(
        "verify: {passed} of {} checks passed",
        results.len()
    ));
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(verify::describe)
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} checks failed after provisioning:\n{}\nrun `lab verify` to check again",
            failed.len(),
            results.len(),
            failed.join("\n")
        );
    }
    Ok(AfterUp {
        provision: report,
        checks: results,
    })
}

#[cfg(test)]
#[path = "provision_tests.rs"]
mod tests;
