//! [`Libvirt`]: the [`Hypervisor`] trait on a real libvirt connection, via
//! the `virt` crate, plus [`resolve_uri`] to pick the connection URI.
//!
//! Everything here is a thin translation: XML comes from [`super::xml`],
//! facts are read back with [`super::parse`], libvirt errors become
//! [`BackendError`] sentences.

use std::path::{Path, PathBuf};
use std::sync::Once;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::{Error as VirtError, ErrorNumber};
use virt::network::Network;
use virt::sys;

use super::{
    BackendError, DiskFormat, DomainSpec, DomainState, Hypervisor, Kind, LabTag, Maker,
    NetworkInfo, NetworkSpec, Result, RunState, parse, xml,
};

mod storage;

/// Environment variable that overrides the libvirt URI of every lab.
pub const URI_ENV: &str = "LAB_LIBVIRT_URI";
/// The URI used when neither the environment nor the lab file names one.
pub const DEFAULT_URI: &str = "qemu:///system";

/// The libvirt URI to use: `$LAB_LIBVIRT_URI` if set and not empty, else
/// the lab file's value, else `qemu:///system`.
pub fn resolve_uri(lab_value: Option<&str>) -> String {
    pick_uri(std::env::var(URI_ENV).ok().as_deref(), lab_value)
}

fn pick_uri(env: Option<&str>, lab_value: Option<&str>) -> String {
    env.filter(|v| !v.trim().is_empty())
        .or(lab_value.filter(|v| !v.trim().is_empty()))
        .unwrap_or(DEFAULT_URI)
        .trim()
        .to_string()
}

/// A libvirt connection implementing [`Hypervisor`].
pub struct Libvirt {
    conn: Connect,
    uri: String,
}

impl std::fmt::Debug for Libvirt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Libvirt").field("uri", &self.uri).finish()
    }
}

impl Libvirt {
    /// Open a read-write connection to `uri`.
    pub fn connect(uri: &str) -> Result<Self> {
        // libvirt's default error handler prints every error to stderr; we
        // report them ourselves.
        static QUIET: Once = Once::new();
        QUIET.call_once(virt::error::clear_error_callback);
        let conn = Connect::open(Some(uri))
            .map_err(|e| BackendError::from_virt(uri, "connect", Kind::Domain, uri, &e))?;
        Ok(Libvirt {
            conn,
            uri: uri.to_string(),
        })
    }

    /// The URI this connection was opened with.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn err(&self, op: &str, kind: Kind, name: &str) -> impl FnOnce(VirtError) -> BackendError {
        let (uri, op, name) = (self.uri.clone(), op.to_string(), name.to_string());
        move |e| BackendError::from_virt(&uri, &op, kind, &name, &e)
    }

    /// Look `name` (a `kind`) up with `find`; "does not exist" is `None`,
    /// any other failure an error naming the lookup.
    fn lookup<T>(
        &self,
        kind: Kind,
        name: &str,
        find: impl FnOnce() -> std::result::Result<T, VirtError>,
    ) -> Result<Option<T>> {
        not_found_is_none(find().map_err(self.err(&format!("look up {kind} `{name}`"), kind, name)))
    }

    fn network(&self, name: &str) -> Result<Option<Network>> {
        self.lookup(Kind::Network, name, || {
            self.conn.lookup_network_by_name(name)
        })
    }

    fn domain(&self, name: &str) -> Result<Option<Domain>> {
        self.lookup(Kind::Domain, name, || self.conn.lookup_domain_by_name(name))
    }

    fn existing_domain(&self, name: &str) -> Result<Domain> {
        self.domain(name)?
            .ok_or_else(|| not_found(Kind::Domain, name))
    }
}

/// The error for a `kind` named `name` that does not exist.
fn not_found(kind: Kind, name: &str) -> BackendError {
    BackendError::NotFound {
        kind,
        name: name.to_string(),
    }
}

/// Turn "does not exist" into `None`.
fn not_found_is_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// libvirt says "not running" / "not active" as OPERATION_INVALID.
fn is_invalid_state(e: &VirtError) -> bool {
    e.code().is(ErrorNumber::OperationInvalid)
}

fn domain_state(state: virt::domain::DomainStateEnum) -> DomainState {
    use virt::domain::DomainState as S;
    use virt::enumutil::Enum;
    match state {
        Enum::Known(S::Running | S::Blocked) => DomainState::Running,
        Enum::Known(S::Paused) => DomainState::Paused,
        Enum::Known(S::Shutoff) => DomainState::ShutOff,
        Enum::Known(S::Shutdown) => DomainState::Other("shutting down".into()),
        Enum::Known(S::Crashed) => DomainState::Other("crashed".into()),
        Enum::Known(S::PMSuspended) => DomainState::Other("suspended".into()),
        Enum::Known(S::NoState) => DomainState::Other("no state".into()),
        Enum::Unknown(n) => DomainState::Other(format!("unknown state {n}")),
    }
}

impl Hypervisor for Libvirt {
    fn network_state(&self, name: &str) -> Result<Option<RunState>> {
        let Some(net) = self.network(name)? else {
            return Ok(None);
        };
        let active = net.is_active().map_err(self.err(
            &format!("query network `{name}`"),
            Kind::Network,
            name,
        ))?;
        Ok(Some(if active {
            RunState::Active
        } else {
            RunState::Inactive
        }))
    }

    fn define_network(&self, spec: &NetworkSpec) -> Result<()> {
        let name = &spec.name;
        let uuid = match self.network(name)? {
            Some(n) => n.uuid_string().ok(),
            None => None,
        };
        let xml = xml::network_xml_with_uuid(spec, uuid.as_deref());
        self.conn.define_network_xml(&xml).map_err(self.err(
            &format!("define network `{name}`"),
            Kind::Network,
            name,
        ))?;
        Ok(())
    }

    fn start_network(&self, name: &str) -> Result<()> {
        let op = format!("start network `{name}`");
        let net = self
            .network(name)?
            .ok_or_else(|| not_found(Kind::Network, name))?;
        if net
            .is_active()
            .map_err(self.err(&op, Kind::Network, name))?
        {
            return Ok(());
        }
        match net.create() {
            Ok(()) => Ok(()),
            Err(e) if is_invalid_state(&e) => Ok(()),
            Err(e) => Err(self.err(&op, Kind::Network, name)(e)),
        }
    }

    fn remove_network(&self, name: &str) -> Result<()> {
        let Some(net) = self.network(name)? else {
            return Ok(());
        };
        let op = format!("remove network `{name}`");
        let ok = |r: std::result::Result<(), VirtError>| match r {
            Err(e) if !is_invalid_state(&e) && !e.code().is(ErrorNumber::NoNetwork) => {
                Err(self.err(&op, Kind::Network, name)(e))
            }
            _ => Ok(()),
        };
        if net.is_active().unwrap_or(false) {
            ok(net.destroy())?;
        }
        if net.is_persistent().unwrap_or(true) {
            ok(net.undefine())?;
        }
        Ok(())
    }

    fn list_networks(&self) -> Result<Vec<NetworkInfo>> {
        let op = "list networks";
        let nets = self
            .conn
            .list_all_networks(0)
            .map_err(self.err(op, Kind::Network, ""))?;
        let mut infos = Vec::new();
        for net in nets {
            // A network removed while we look is simply not listed.
            let Ok(xml) = net.xml_desc(0) else { continue };
            let state = match net.is_active() {
                Ok(true) => RunState::Active,
                _ => RunState::Inactive,
            };
            infos.push(parse::network_info(&xml, state));
        }
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    fn domain_state(&self, name: &str) -> Result<Option<DomainState>> {
        let Some(dom) = self.domain(name)? else {
            return Ok(None);
        };
        let (state, _) =
            dom.state()
                .map_err(self.err(&format!("query domain `{name}`"), Kind::Domain, name))?;
        Ok(Some(domain_state(state)))
    }

    fn define_domain(&self, spec: &DomainSpec) -> Result<()> {
        let name = &spec.name;
        let uuid = match self.domain(name)? {
            Some(d) => d.uuid_string().ok(),
            None => None,
        };
        let xml = xml::domain_xml_with_uuid(spec, uuid.as_deref());
        tracing::debug!(%xml, "defining domain");
        self.conn
            .define_domain_xml_flags(&xml, sys::VIR_DOMAIN_DEFINE_VALIDATE)
            .map_err(self.err(&format!("define domain `{name}`"), Kind::Domain, name))?;
        Ok(())
    }

    fn start_domain(&self, name: &str) -> Result<()> {
        let dom = self.existing_domain(name)?;
        if dom.is_active().unwrap_or(false) {
            return Ok(());
        }
        match dom.create() {
            Ok(_) => Ok(()),
            // Started by someone else in between.
            Err(_) if dom.is_active().unwrap_or(false) => Ok(()),
            Err(e) => Err(self.err(
                &format!("start domain `{name}`"),
                Kind::Domain,
                name,
            )(e)),
        }
    }

    fn shutdown_domain(&self, name: &str) -> Result<()> {
        let dom = self.existing_domain(name)?;
        if !dom.is_active().unwrap_or(true) {
            return Ok(());
        }
        match dom.shutdown() {
            Ok(_) => Ok(()),
            // Stopped in between.
            Err(_) if !dom.is_active().unwrap_or(true) => Ok(()),
            Err(e) => Err(self.err(
                &format!("shut down domain `{name}`"),
                Kind::Domain,
                name,
            )(e)),
        }
    }

    fn destroy_domain(&self, name: &str) -> Result<()> {
        let Some(dom) = self.domain(name)? else {
            return Ok(());
        };
        if !dom.is_active().unwrap_or(true) {
            return Ok(());
        }
        match dom.destroy() {
            Ok(_) => Ok(()),
            Err(e) if e.code().is(ErrorNumber::NoDomain) => Ok(()),
            Err(_) if !dom.is_active().unwrap_or(true) => Ok(()),
            Err(e) => Err(self.err(
                &format!("power off domain `{name}`"),
                Kind::Domain,
                name,
            )(e)),
        }
    }

    fn undefine_domain(&self, name: &str) -> Result<()> {
        let Some(dom) = self.domain(name)? else {
            return Ok(());
        };
        let flags =
            sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
        match dom.undefine_flags(flags) {
            Ok(_) => Ok(()),
            Err(e) if e.code().is(ErrorNumber::NoDomain) => Ok(()),
            Err(e) => Err(self.err(
                &format!("undefine domain `{name}`"),
                Kind::Domain,
                name,
            )(e)),
        }
    }

    fn domain_maker(&self, name: &str) -> Result<Option<Maker>> {
        let Some(dom) = self.domain(name)? else {
            return Ok(None);
        };
        let xml = dom.xml_desc(0).map_err(self.err(
            &format!("read domain `{name}`"),
            Kind::Domain,
            name,
        ))?;
        Ok(Some(parse::maker(&xml)))
    }

    fn list_lab_domains(&self, lab: &str) -> Result<Vec<(String, LabTag)>> {
        let doms =
            self.conn
                .list_all_domains(0)
                .map_err(self.err("list domains", Kind::Domain, ""))?;
        let mut names = Vec::new();
        for dom in doms {
            // A domain undefined while we look is simply not listed.
            let (Ok(xml), Ok(name)) = (dom.xml_desc(0), dom.name()) else {
                continue;
            };
            if let Maker::Lab(tag) = parse::maker(&xml)
                && tag.lab == lab
            {
                names.push((name, tag));
            }
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(names)
    }

    fn ensure_pool(&self, name: &str, dir: &Path) -> Result<()> {
        self.ensure_pool_impl(name, dir)
    }

    fn volume_path(&self, pool: &str, name: &str) -> Result<Option<PathBuf>> {
        self.volume_path_impl(pool, name)
    }

    fn create_overlay(
        &self,
        pool: &str,
        name: &str,
        backing: &Path,
        capacity_gib: u64,
    ) -> Result<PathBuf> {
        self.create_overlay_impl(pool, name, backing, capacity_gib)
    }

    fn upload_volume(
        &self,
        pool: &str,
        name: &str,
        src: &Path,
        format: DiskFormat,
    ) -> Result<PathBuf> {
        self.upload_volume_impl(pool, name, src, format)
    }

    fn delete_volume(&self, pool: &str, name: &str) -> Result<()> {
        self.delete_volume_impl(pool, name)
    }

    fn list_volumes(&self, pool: &str) -> Result<Vec<String>> {
        self.list_volumes_impl(pool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_env_beats_lab_file_beats_default() {
        assert_eq!(
            pick_uri(Some("test:///default"), Some("qemu:///session")),
            "test:///default"
        );
        assert_eq!(pick_uri(None, Some("qemu:///session")), "qemu:///session");
        assert_eq!(pick_uri(Some("  "), None), DEFAULT_URI);
        assert_eq!(pick_uri(None, None), "qemu:///system");
    }
}
