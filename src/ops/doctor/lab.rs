//! The checks of the lab found: its file, then what `lab up` of it needs
//! from this host (memory, disk, a free subnet; the guests' proxy is in
//! [`super::proxy`]). The numbers come from `lab up`'s own planning ([`up::survey`],
//! [`up::room_needs`], [`preflight`]); the verdicts here only word them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Check, bounded, probe};
use crate::backend::libvirt::Facts;
use crate::backend::{BackendError, Hypervisor};
use crate::boxes::Store;
use crate::ops::names;
use crate::ops::preflight;
use crate::ops::up::{self, Survey, ToolNeeds};
use crate::spec::{self, Lab, SpecError};
use crate::state::{State, StateDir};

/// The lab file as found and loaded.
pub(super) enum Found {
    /// None was found: why (the search's message).
    Missing(String),
    /// It cannot be read or is invalid: what (its first error, with its
    /// position) and what to do.
    Bad { detail: String, fix: String },
    /// A valid lab, with its state (a default one when it cannot be read:
    /// why in `state_error`).
    Loaded {
        lab: Box<Lab>,
        state: Box<State>,
        state_error: Option<String>,
    },
}

/// What `lab up` of the lab found would do, as far as doctor asks.
pub(super) struct LabPlan {
    pub survey: Survey,
    pub needs: ToolNeeds,
    /// The nodes that run on this machine: all of them but those on a
    /// host that is another machine (whose memory and pool are its own,
    /// in its `host-NAME` check).
    pub local: Vec<up::NodePlan>,
    /// Free disk it needs per filesystem on this machine
    /// ([`up::room_needs`]; the pool's only when a node runs here).
    pub room: Vec<(PathBuf, u64)>,
    /// Whether libvirt told which domains and box volumes exist (else the
    /// plan counts as if none did).
    pub asked_libvirt: bool,
    /// When libvirt was asked: `Err` with `lab up`'s refusal when an object
    /// of this lab's names is someone else's ([`up::check_owners`]).
    pub owners: Option<Result<(), String>>,
}

/// Load the lab file `file` (or note why there is none) as `lab up`
/// would: boxes and the files it names must exist.
pub(super) fn load(file: &Result<PathBuf, String>) -> Found {
    let path = match file {
        Ok(path) => path,
        Err(why) => return Found::Missing(why.split("; ").next().unwrap_or(why).to_string()),
    };
    match spec::load(path) {
        Ok(lab) => {
            let (state, state_error) = match StateDir::for_lab_dir(lab.dir()).load() {
                Ok(st) => (Box::new(st), None),
                Err(e) => (Box::default(), Some(format!("{e:#}"))),
            };
            Found::Loaded {
                lab: Box::new(lab),
                state,
                state_error,
            }
        }
        Err(err @ SpecError::Read { .. }) => Found::Bad {
            detail: err.to_string(),
            fix: "pass -f with the path of a readable lab file".into(),
        },
        Err(err @ SpecError::Invalid { .. }) => {
            let SpecError::Invalid { file, count, .. } = &err else {
                unreachable!("matched above")
            };
            let first = &err.diagnostics()[0];
            let (line, column) = first.line_col();
            let more = match count - 1 {
                0 => String::new(),
                n => format!(" (and {n} more)"),
            };
            Found::Bad {
                detail: format!("{file}:{line}:{column}: {first}{more}"),
                fix: first
                    .hint()
                    .map(str::to_string)
                    .unwrap_or_else(|| "correct it; `lab validate` shows every error".into()),
            }
        }
    }
}

impl Found {
    /// The valid lab, if any.
    pub fn lab(&self) -> Option<&Lab> {
        match self {
            Found::Loaded { lab, .. } => Some(lab),
            _ => None,
        }
    }

    /// The valid lab's state, if any.
    pub fn state(&self) -> Option<&State> {
        match self {
            Found::Loaded { state, .. } => Some(state),
            _ => None,
        }
    }

    /// The lab file's `libvirt_uri` or its host's `uri`, if a valid lab names one.
    pub fn libvirt_uri(&self) -> Option<&str> {
        self.lab().and_then(|l| l.uri_in_file())
    }

    /// Plan the lab as `lab up` would, asking `hv` (within `limit`) which
    /// domains and box volumes exist, and `hosts` for the nodes on other
    /// hosts; without an answer, as if none did. `None` without a valid
    /// lab; the error is the first problem `lab up` would refuse the lab
    /// for.
    pub fn plan(
        &self,
        hv: Option<Arc<dyn Hypervisor>>,
        hosts: &Hosts,
        limit: Duration,
    ) -> Option<Result<LabPlan, String>> {
        let Found::Loaded { lab, state, .. } = self else {
            return None;
        };
        let store = crate::boxes::Store::default_location();
        let run = {
            let (lab, state, hosts) = (lab.clone(), state.clone(), hosts.clone());
            move |hv: Option<Arc<dyn Hypervisor>>| {
                plan_with(&lab, &store, &state, hv.as_deref(), &hosts)
            }
        };
        if let Some(hv) = hv {
            let asked = run.clone();
            if let Some(Ok(plan)) = bounded(limit, move || asked(Some(hv))) {
                return Some(Ok(plan));
            }
        }
        Some(run(None).map_err(|e| format!("{e:#}")))
    }
}

/// Connections to hosts' libvirt, by host name.
pub(super) type Connections = Vec<(String, Arc<dyn Hypervisor>)>;

/// Where the lab's VMs run, beyond the primary's libvirt.
#[derive(Clone, Default)]
pub(super) struct Hosts {
    /// The libvirt of each other host of a lab over several hosts that
    /// answered, by host name (a node on one that did not is counted as
    /// new).
    pub others: Connections,
    /// The libvirt lab uses is this machine's (a local URI, e.g. through
    /// LAB_LIBVIRT_URI, for a lab on one host): every node runs here,
    /// whatever its host, as for `lab up`.
    pub local_only: bool,
}

/// Plan `lab` (whose state is `st`) as `lab up` would, asking `hv` which
/// domains, box volumes and objects of its names exist, and `hosts` for
/// the nodes on other hosts; with `None`, as if none did. Errors: the first problem `lab up` would refuse the lab for
/// before it asks libvirt (paths, boxes, disk sizes).
pub(super) fn plan_with(
    lab: &Lab,
    store: &Store,
    st: &State,
    hv: Option<&dyn Hypervisor>,
    hosts: &Hosts,
) -> anyhow::Result<LabPlan> {
    up::check_paths(lab)?;
    let primary = lab.host().map(|h| h.name.as_str());
    let hv_of = |n: &spec::Node| match n.host.as_deref() {
        None => hv,
        Some(h) if Some(h) == primary => hv,
        Some(h) => hosts
            .others
            .iter()
            .find(|(name, _)| name == h)
            .map(|(_, o)| o.as_ref()),
    };
    let survey = up::survey_on(lab, store, st, &lab.nodes, &hv_of)?;
    let needs = up::tool_needs(lab, &survey.boxes, &survey.images);
    let local: Vec<up::NodePlan> = survey
        .nodes
        .iter()
        .filter(|n| n.host_ssh.is_none() || hosts.local_only)
        .cloned()
        .collect();
    // Boxes are copied to the pool of the machines the nodes run on.
    let pool_here = !local.is_empty() || survey.nodes.is_empty();
    let room = up::room_needs(store, &local, &survey.boxes, hv, pool_here)?;
    let owners = hv.map(|hv| {
        let network = st
            .network
            .clone()
            .unwrap_or_else(|| names::network(&lab.name));
        up::check_owners(lab, st, &network, &survey.nodes, hv).map_err(|e| format!("{e:#}"))
    });
    Ok(LabPlan {
        survey,
        needs,
        local,
        room,
        asked_libvirt: hv.is_some(),
        owners,
    })
}

/// `lab-file`: which lab file, and whether `lab up` could plan it.
pub(super) fn lab_file(found: &Found, plan: &Option<Result<LabPlan, String>>) -> Check {
    const NAME: &str = "lab-file";
    let lab = match found {
        Found::Missing(why) => return Check::skip(NAME, format!("no lab file found ({why})")),
        Found::Bad { detail, fix } => return Check::fail(NAME, detail.clone(), fix.clone()),
        Found::Loaded {
            state_error: Some(e),
            ..
        } => {
            let (detail, fix) = split_fix(e, "see `lab status`");
            return Check::fail(NAME, detail, fix);
        }
        Found::Loaded { lab, .. } => lab,
    };
    let file = lab.path.display();
    match plan {
        Some(Err(e)) => {
            let (detail, fix) = split_fix(e, "correct the lab file; `lab validate` checks it");
            Check::fail(NAME, format!("{file}: {detail}"), fix)
        }
        Some(Ok(plan)) => {
            let nodes = match lab.nodes.len() {
                1 => "1 node".to_string(),
                n => format!("{n} nodes"),
            };
            let boxes = match plan.needs.builds.as_slice() {
                [] => "its boxes are built".to_string(),
                builds => format!("to build first: {}", builds.join(", ")),
            };
            Check::pass(NAME, format!("{file}: lab {}, {nodes}; {boxes}", lab.name))
        }
        None => Check::pass(NAME, format!("{file}: lab {}", lab.name)),
    }
}

/// `PROBLEM; FIX` as its two parts; `default` when there is no `; `.
pub(super) fn split_fix(message: &str, default: &str) -> (String, String) {
    match message.rsplit_once("; ") {
        Some((problem, fix)) => (problem.to_string(), fix.to_string()),
        None => (message.to_string(), default.to_string()),
    }
}

/// `names`: whether the libvirt objects of this lab's names (its network,
/// its nodes' domains) are free or this lab's, as `lab up` checks them.
pub(super) fn names(plan: Option<&Result<LabPlan, String>>) -> Check {
    const NAME: &str = "names";
    match plan {
        None => Check::skip(NAME, "no valid lab file"),
        Some(Err(_)) => Check::skip(NAME, "lab up cannot plan the lab (see lab-file)"),
        Some(Ok(LabPlan { owners: None, .. })) => Check::skip(
            NAME,
            "not looked up: libvirt not reachable (see the libvirt check)",
        ),
        Some(Ok(LabPlan {
            owners: Some(Err(e)),
            ..
        })) => {
            let (detail, fix) = split_fix(e, "rename this lab (`name:` in the lab file)");
            Check::fail(NAME, detail, fix)
        }
        Some(Ok(plan)) => Check::pass(
            NAME,
            format!(
                "the lab's network and its {} VM(s) are new or this lab's own",
                plan.survey.nodes.len()
            ),
        ),
    }
}

/// `names`, `memory`, `disk`, `subnet`, `proxy`: skipped without a valid
/// lab. `local_only`: as [`Hosts::local_only`].
pub(super) fn resources(
    found: &Found,
    plan: Option<&Result<LabPlan, String>>,
    conn: &Result<Facts, BackendError>,
    local_only: bool,
    limit: Duration,
) -> Vec<Check> {
    const NAMES: [&str; 5] = ["names", "memory", "disk", "subnet", "proxy"];
    let lab = match found {
        Found::Missing(_) => return NAMES.map(|n| Check::skip(n, "no lab file found")).to_vec(),
        Found::Bad { .. } => {
            return NAMES
                .map(|n| Check::skip(n, "the lab file has errors (see lab-file)"))
                .to_vec();
        }
        Found::Loaded { lab, .. } => lab,
    };
    let mut checks = vec![names(plan)];
    checks.extend(match plan {
        Some(Ok(plan)) => vec![
            memory(plan, preflight::available_memory_mib()),
            disk(plan, &preflight::free_bytes),
        ],
        _ => ["memory", "disk"]
            .map(|n| Check::skip(n, "lab up cannot plan the lab (see lab-file)"))
            .to_vec(),
    });
    let state = match found {
        Found::Loaded { state, .. } => state.as_ref(),
        _ => unreachable!("a loaded lab"),
    };
    let networks = conn.as_ref().ok().map(|f| f.networks.as_slice());
    // The primary's routes: this machine's when it is the primary, else
    // read over ssh in its host-NAME check.
    let here = local_only || lab.host().is_none_or(|h| h.ssh.is_none());
    let routes = here.then(preflight::host_routes);
    checks.push(super::subnet::subnet(
        lab,
        state,
        networks,
        routes.as_deref(),
    ));
    let gateway = lab.network.gateway;
    checks.push(super::proxy::proxy(
        super::proxy::setting(lab).as_ref(),
        gateway,
        probe::address_is_here(gateway),
        &|host, port| probe::http_proxy(host, port, limit),
    ));
    checks
}

/// Said of numbers counted without libvirt's answer.
const UNASKED: &str = "libvirt not asked which VMs exist: counted as if none did";

/// `memory`: what the VMs `lab up` starts need against `available` MiB.
pub(super) fn memory(plan: &LabPlan, available: Option<u64>) -> Check {
    const NAME: &str = "memory";
    if plan.local.is_empty() && !plan.survey.nodes.is_empty() {
        return Check::skip(
            NAME,
            "no node runs on this machine (each host's memory: its host-NAME check)",
        );
    }
    let (need, vms) = up::memory_need(&plan.local);
    let note = if plan.asked_libvirt {
        String::new()
    } else {
        format!(" ({UNASKED})")
    };
    if let Err(refusal) = preflight::check_memory(need, vms, available) {
        let detail = format!("{}{note}", refusal.problem);
        return if plan.asked_libvirt {
            Check::fail(NAME, detail, refusal.fix)
        } else {
            Check::warn(NAME, detail, refusal.fix)
        };
    }
    match available {
        _ if vms == 0 => Check::pass(NAME, "every node runs: nothing to start"),
        Some(avail) => Check::pass(
            NAME,
            format!("{vms} VM(s) to start need {need} MiB; {avail} MiB available{note}"),
        ),
        None => Check::warn(
            NAME,
            format!(
                "{vms} VM(s) to start need {need} MiB; the memory available is unknown (no MemAvailable in /proc/meminfo)"
            ),
            "compare with `free -m` yourself",
        ),
    }
}

/// `disk`: the room `lab up` needs on each filesystem against `free`.
pub(super) fn disk(plan: &LabPlan, free: &dyn Fn(&Path) -> Option<u64>) -> Check {
    const NAME: &str = "disk";
    let note = if plan.asked_libvirt {
        String::new()
    } else {
        format!(" ({UNASKED})")
    };
    let mut found = Vec::new();
    for (dir, bytes) in &plan.room {
        let free = free(dir);
        if let Err(refusal) = preflight::check_disk(dir, *bytes, free) {
            let detail = format!("{}{note}", refusal.problem);
            return if plan.asked_libvirt {
                Check::fail(NAME, detail, refusal.fix)
            } else {
                Check::warn(NAME, detail, refusal.fix)
            };
        }
        let free = free.map_or("free space unknown".to_string(), |f| {
            format!("{} MiB free", f >> 20)
        });
        let need = match bytes >> 20 {
            0 => "nothing new to store".to_string(),
            mib => format!("about {mib} MiB needed"),
        };
        found.push(format!("{}: {need}, {free}", dir.display()));
    }
    if found.is_empty() {
        return Check::pass(
            NAME,
            "nothing to store on this machine: the nodes run on others",
        );
    }
    Check::pass(NAME, format!("{}{note}", found.join("; ")))
}
