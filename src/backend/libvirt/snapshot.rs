//! Internal snapshots for [`Libvirt`]: memory and qcow2 disks of a domain
//! saved inside its own disks (libvirt's `<domainsnapshot>`, see
//! <https://libvirt.org/formatsnapshot.html>), reverted to, deleted; and
//! pausing and resuming a domain's CPUs, which `lab snapshot` uses to
//! capture every node of a lab at one instant.

use virt::domain::Domain;
use virt::domain_snapshot::DomainSnapshot;
use virt::error::ErrorNumber;
use virt::sys;

use super::{Libvirt, is_invalid_state, not_found_is_none};
use crate::backend::{BackendError, DomainState, Hypervisor, Kind, Result, parse, xml};

impl Libvirt {
    fn snapshot(&self, dom: &Domain, domain: &str, name: &str) -> Result<Option<DomainSnapshot>> {
        // libvirt's "no domain snapshot" becomes NotFound (see from_virt).
        not_found_is_none(
            Domain::lookup_snapshot_by_name(dom, name, 0).map_err(self.err(
                &format!("look up snapshot `{name}` of domain `{domain}`"),
                Kind::Snapshot,
                name,
            )),
        )
    }

    pub(super) fn suspend_domain_impl(&self, name: &str) -> Result<()> {
        let dom = self.existing_domain(name)?;
        match dom.suspend() {
            Ok(()) => Ok(()),
            Err(_) if self.domain_state(name)? == Some(DomainState::Paused) => Ok(()),
            Err(e) => Err(self.err(
                &format!("pause domain `{name}`"),
                Kind::Domain,
                name,
            )(e)),
        }
    }

    pub(super) fn resume_domain_impl(&self, name: &str) -> Result<()> {
        let dom = self.existing_domain(name)?;
        match dom.resume() {
            Ok(()) => Ok(()),
            // Running already ("domain is not paused"; drivers differ in
            // the error code).
            Err(e) if is_invalid_state(&e) => Ok(()),
            Err(_) if self.domain_state(name)? == Some(DomainState::Running) => Ok(()),
            Err(e) => Err(self.err(
                &format!("resume domain `{name}`"),
                Kind::Domain,
                name,
            )(e)),
        }
    }

    pub(super) fn create_snapshot_impl(&self, domain: &str, snapshot: &str) -> Result<()> {
        let dom = self.existing_domain(domain)?;
        let op = format!("snapshot domain `{domain}` as `{snapshot}`");
        let desc = dom
            .xml_desc(0)
            .map_err(self.err(&op, Kind::Domain, domain))?;
        let disks = parse::snapshot_disks(&desc);
        let xml = xml::snapshot_xml(snapshot, &disks);
        match dom.create_snapshot_xml(&xml, 0) {
            Ok(_) => Ok(()),
            Err(e) if e.message().contains("already exists") => Err(BackendError::Conflict {
                kind: Kind::Snapshot,
                name: snapshot.to_string(),
                message: e.message().trim().to_string(),
            }),
            Err(e) => Err(self.err(&op, Kind::Snapshot, snapshot)(e)),
        }
    }

    pub(super) fn revert_snapshot_impl(&self, domain: &str, snapshot: &str) -> Result<()> {
        let dom = self.existing_domain(domain)?;
        let snap =
            self.snapshot(&dom, domain, snapshot)?
                .ok_or_else(|| BackendError::NotFound {
                    kind: Kind::Snapshot,
                    name: format!("{snapshot}` of domain `{domain}"),
                })?;
        let op = format!("revert domain `{domain}` to snapshot `{snapshot}`");
        // A snapshot with memory (state running or paused) comes back
        // paused, so the caller resumes every node of a lab at once; a
        // disk-only one (state shutoff) comes back shut off, not booted.
        let desc = snap
            .xml_desc(0)
            .map_err(self.err(&op, Kind::Snapshot, snapshot))?;
        let with_memory = parse::text(&desc, "state").is_some_and(|s| s != "shutoff");
        let flags = if with_memory {
            sys::VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
        } else {
            0
        };
        snap.revert(flags)
            .map_err(self.err(&op, Kind::Snapshot, snapshot))
    }

    pub(super) fn delete_snapshot_impl(&self, domain: &str, snapshot: &str) -> Result<()> {
        let Some(dom) = self.domain(domain)? else {
            return Ok(());
        };
        let Some(snap) = self.snapshot(&dom, domain, snapshot)? else {
            return Ok(());
        };
        match snap.delete(0) {
            Ok(()) => Ok(()),
            Err(e) if e.code().is(ErrorNumber::NoDomainSnapshot) => Ok(()),
            Err(e) => Err(self.err(
                &format!("delete snapshot `{snapshot}` of domain `{domain}`"),
                Kind::Snapshot,
                snapshot,
            )(e)),
        }
    }

    pub(super) fn list_snapshots_impl(&self, domain: &str) -> Result<Vec<String>> {
        let Some(dom) = self.domain(domain)? else {
            return Ok(Vec::new());
        };
        let snaps = dom.list_all_snapshots(0).map_err(self.err(
            &format!("list the snapshots of domain `{domain}`"),
            Kind::Domain,
            domain,
        ))?;
        let mut names: Vec<String> = snaps.iter().filter_map(|s| s.name().ok()).collect();
        names.sort();
        Ok(names)
    }
}
