//! `lab doctor`: an ordered list of named checks of this host (and of the
//! lab found, if any), each PASS, WARN, FAIL or SKIP, with a one-line fix
//! for WARN and FAIL (lima's `pkg/hostagent/requirements.go` is the model).
//!
//! [`doctor`] reads the host ([`probe`]) into plain facts, then hands each
//! check's facts to a pure verdict function ([`host`] for libvirt, QEMU,
//! KVM and the pool; [`tools`]; [`lab`] for the lab file, memory and disk;
//! [`subnet`]; [`proxy`]; [`hosts`] for the lab's hosts beyond this
//! machine), so the verdicts are tested without a host. The
//! lab-specific numbers come from the code `lab up` runs before it creates
//! anything ([`super::up::survey`], [`super::preflight`]). Everything that
//! may wait on something else (libvirt, a proxy) runs with a deadline
//! ([`bounded`]): an unanswering libvirt socket makes a FAIL, not a hang.

mod host;
mod hosts;
mod lab;
mod probe;
mod proxy;
mod subnet;
#[cfg(test)]
mod tests;
mod tools;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::names;
use crate::backend::libvirt::{self, Libvirt};
use crate::backend::{BackendError, Hypervisor};

/// A check's verdict. Serialised as `pass`, `warn`, `fail`, `skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As `lab up` needs it.
    Pass,
    /// Works, but worse than it could (TCG), or cannot be told for sure.
    Warn,
    /// `lab up` (or the lab found) would fail.
    Fail,
    /// Not applicable: no lab file, or nothing to check against.
    Skip,
}

impl Status {
    /// `PASS`, `WARN`, `FAIL`, `SKIP`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One named check: what was found and, for WARN and FAIL, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name, e.g. `libvirt`, `kvm`, `memory`; `host-NAME` for
    /// host NAME of a lab over several hosts.
    pub name: Cow<'static, str>,
    pub status: Status,
    /// One line: what was checked and found.
    pub detail: String,
    /// One line: what to do; `None` for PASS and SKIP.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Pass, detail.into(), None)
    }

    fn skip(name: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, detail.into(), None)
    }

    fn warn(
        name: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, Status::Warn, detail.into(), Some(fix.into()))
    }

    fn fail(
        name: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, Status::Fail, detail.into(), Some(fix.into()))
    }

    fn new(
        name: impl Into<Cow<'static, str>>,
        status: Status,
        detail: String,
        fix: Option<String>,
    ) -> Self {
        // One line each, whatever a program said (\r\n, several lines).
        let one_line = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let (detail, fix) = (one_line(detail), fix.map(one_line));
        Check {
            name: name.into(),
            status,
            detail,
            fix,
        }
    }
}

/// What `lab doctor` found (also its `--json`): the checks in order, and
/// `ok`: no check failed.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    pub ok: bool,
}

impl Report {
    fn of(checks: Vec<Check>) -> Self {
        let ok = checks.iter().all(|c| c.status != Status::Fail);
        Report { checks, ok }
    }

    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }
}

/// What to examine.
#[derive(Debug, Clone)]
pub struct Options {
    /// The lab file (named, or found from the current directory), or why
    /// none was found: then the lab's checks are skipped.
    pub lab_file: Result<PathBuf, String>,
    /// How long each step that waits on something else may take.
    pub timeout: Duration,
}

/// Run every check, in order: lab file, libvirt, its socket, QEMU, KVM,
/// the storage pool, the tools (box build, ssh-keygen, ssh, Ansible), then
/// the lab's memory, disk, subnet and proxy, then `host-NAME` for each
/// host of the lab beyond this machine's libvirt ([`hosts`]).
pub fn doctor(opts: &Options) -> Report {
    let found = lab::load(&opts.lab_file);
    // A lab over several hosts runs on its hosts' URIs, whatever
    // LAB_LIBVIRT_URI says (as for `lab up`): the primary's is asked here.
    let (uri, from) = match found
        .lab()
        .filter(|l| l.multi_host())
        .and_then(|l| l.host())
    {
        Some(primary) => (primary.uri.clone(), libvirt::FROM_LAB_FILE),
        None => libvirt::resolve_uri_from(found.libvirt_uri()),
    };
    let (hv, conn) = ask_libvirt(&uri, opts.timeout);
    // A lab on one host runs here as `lab up` tells it.
    let local_only = found
        .lab()
        .is_some_and(|l| !l.multi_host() && super::up::runs_here(l, &uri));
    let (asked, others) = match found.lab() {
        Some(lab) if !local_only => hosts::probe_hosts(lab, opts.timeout),
        _ => (Vec::new(), Vec::new()),
    };
    let plan = found.plan(hv.clone(), &lab::Hosts { others, local_only }, opts.timeout);

    let mut checks = vec![lab::lab_file(&found, &plan)];
    checks.push(host::libvirt(&uri, from, &conn));
    checks.push(host::socket(&probe::socket(&uri), &conn));
    checks.push(host::qemu(
        conn.as_ref().ok(),
        crate::process::find_program("qemu-system-x86_64"),
    ));
    checks.push(host::kvm(
        found.lab().map(|l| l.accel),
        &crate::backend::accel::HostProbe::read(),
    ));
    checks.push(host::pool(&probe::pool(&uri, conn.as_ref().ok())));
    let needs = match &plan {
        Some(Ok(p)) => Some(&p.needs),
        _ => None,
    };
    checks.extend(tools::tools(&probe::tools(needs)));
    checks.extend(lab::resources(
        &found,
        plan.as_ref(),
        &conn,
        local_only,
        opts.timeout,
    ));
    if let (Some(lab), Some(st)) = (found.lab(), found.state()) {
        let nodes = match &plan {
            Some(Ok(p)) => Some(p.survey.nodes.as_slice()),
            _ => None,
        };
        checks.extend(asked.iter().map(|f| hosts::verdict(f, lab, st, nodes)));
    }
    Report::of(checks)
}

/// Connect to `uri` and read its facts, each within `limit`. The
/// connection comes back when it answered.
fn ask_libvirt(
    uri: &str,
    limit: Duration,
) -> (
    Option<Arc<dyn Hypervisor>>,
    Result<libvirt::Facts, BackendError>,
) {
    let hv = match Libvirt::connect_within(uri, limit) {
        Ok(hv) => Arc::new(hv),
        Err(e) => return (None, Err(e)),
    };
    let asked = Arc::clone(&hv);
    match bounded(limit, move || asked.facts(names::POOL)) {
        Some(Ok(facts)) => (Some(hv), Ok(facts)),
        Some(Err(e)) => (None, Err(e)),
        None => (
            None,
            Err(BackendError::NoAnswer {
                uri: uri.to_string(),
                seconds: limit.as_secs_f64().ceil() as u64,
            }),
        ),
    }
}

/// Run `f` in a thread of its own and wait at most `limit` for its
/// result; `None` when it is not done by then (the thread is left
/// behind; it ends with the process).
fn bounded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("lab-doctor".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .ok()?;
    rx.recv_timeout(limit).ok()
}
