//! `lab doctor [--json] [-f PATH] [--timeout SECONDS]`: check this host
//! and the lab found, print PASS/WARN/FAIL/SKIP per check with a fix;
//! exit status 1 when a check fails.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::cli::Global;
use crate::ops::doctor::{self, Options, Report};

/// What `--help` says about the checks and `--json`.
const AFTER_HELP: &str = "\
Checks, in order: lab-file (the lab file found, or -f), libvirt (the URI lab
would use: LAB_LIBVIRT_URI, the lab file's libvirt_uri or qemu:///system, and
its version), libvirt-socket (whether you may connect to it), qemu, kvm (or
why TCG is used), pool (the storage pool `lab` and whether QEMU's user can
reach its directory), box-tools, ssh-keygen, ssh, ansible (missing programs
FAIL when the lab found needs them, else WARN), then for the lab found:
names (whether its libvirt network and VMs are new or its own, not another
lab's of the same name), memory, disk, subnet (against libvirt's networks and the host's routes) and
proxy (the guests' proxy, tried from the lab's gateway: it must answer an
HTTP request with a status line), and host-NAME per host of the lab
beyond this machine's libvirt: for a host other than the primary, its
libvirt answers, runs QEMU and has the lab's subnet and network name free;
for another machine, `ssh -o BatchMode=yes` logs in, its free memory is
enough for its nodes and, on the primary, no route there overlaps the
subnet. memory and disk count this machine's nodes only, and subnet its
routes only when it is the primary. Without a lab file
the lab's checks are skipped. Exit status 1 when a check fails, else 0.

--json prints one object:
  {\"checks\": [{\"name\": \"libvirt\", \"status\": \"pass|warn|fail|skip\",
                \"detail\": \"...\", \"fix\": \"...\" or null}, ...],
   \"ok\": true when no check failed}";

#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Machine-readable output: {"checks": [{name, status, detail, fix}], "ok": bool}.
    #[arg(long)]
    pub json: bool,
    /// Seconds each step that waits on libvirt or a proxy may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

/// Runs `lab doctor` with the lab file `found` (or why there is none).
pub fn run(found: Result<Global>, args: Args) -> Result<()> {
    let report = doctor::doctor(&Options {
        lab_file: found.map(|g| g.file).map_err(|e| e.to_string()),
        timeout: Duration::from_secs(args.timeout),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    let failed: Vec<&str> = report.failed().map(|c| c.name.as_ref()).collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} checks failed: {}",
            failed.len(),
            report.checks.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// `STATUS  NAME  DETAIL` per check, names padded to the longest, and the
/// fix of a WARN or FAIL on the next line under the detail.
fn render(report: &Report) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in &report.checks {
        out.push_str(&format!(
            "{}  {:<width$}  {}\n",
            c.status.label(),
            c.name,
            c.detail
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("{:indent$}fix: {fix}\n", "", indent = width + 8));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::doctor::{Check, Status};

    #[test]
    fn lines_are_aligned_and_fixes_sit_under_the_detail() {
        let report = Report {
            checks: vec![
                Check {
                    name: "libvirt".into(),
                    status: Status::Pass,
                    detail: "qemu:///system (default), libvirt 9.0.0, QEMU 7.2.0".into(),
                    fix: None,
                },
                Check {
                    name: "kvm".into(),
                    status: Status::Warn,
                    detail: "TCG: no vmx/svm in /proc/cpuinfo".into(),
                    fix: Some("run on a host with VT-x".into()),
                },
            ],
            ok: true,
        };
        assert_eq!(
            render(&report),
            "PASS  libvirt  qemu:///system (default), libvirt 9.0.0, QEMU 7.2.0\n\
             WARN  kvm      TCG: no vmx/svm in /proc/cpuinfo\n\
             \x20              fix: run on a host with VT-x\n"
        );
    }
}
