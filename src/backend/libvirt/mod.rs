//! [`Libvirt`]: the [`Hypervisor`] trait on a real libvirt connection, via
//! the `virt` crate, plus [`resolve_uri`] to pick the connection URI
//! (`uri`) and what `lab doctor` asks beyond the trait (`host`).
//!
//! Everything here is a thin translation: XML comes from [`super::xml`],
//! facts are read back with [`super::parse`], libvirt errors become
//! [`BackendError`] sentences.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::{Error as VirtError, ErrorNumber};
use virt::network::Network;
use virt::sys;

use super::{
    BackendError, DiskFormat, DomainSpec, DomainState, Hypervisor, Kind, LabTag, Maker,
    NetworkInfo, NetworkSpec, Result, RunState, parse, xml,
};

mod host;
mod snapshot;
mod storage;
mod uri;

pub use host::{Facts, PoolInfo, QEMU_CONF, qemu_user, version_text};
pub use uri::{
    DEFAULT_URI, FROM_LAB_FILE, SocketPlace, URI_ENV, is_remote, resolve_uri, resolve_uri_from,
    socket_of,
};

/// How long [`Libvirt::connect`] waits for libvirt to answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

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
    /// Open a read-write connection to `uri`, giving up after
    /// [`CONNECT_TIMEOUT`] ([`Libvirt::connect_within`]).
    pub fn connect(uri: &str) -> Result<Self> {
        Self::connect_within(uri, CONNECT_TIMEOUT)
    }

    /// Open a read-write connection to `uri`; [`BackendError::NoAnswer`]
    /// when it is not open after `limit`. libvirt's client has no timeout
    /// of its own: a socket that accepts connections for a daemon that
    /// hangs (or a stray listener) would block for ever. So the connection
    /// is opened in a thread of its own, which is left behind when the
    /// time is up (it closes the connection should one come later).
    pub fn connect_within(uri: &str, limit: Duration) -> Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let owned = uri.to_string();
        std::thread::Builder::new()
            .name("libvirt-connect".into())
            .spawn(move || {
                let _ = tx.send(Self::open(&owned));
            })
            .map_err(|e| BackendError::Failed {
                op: format!("connect to `{uri}`"),
                message: format!("cannot start a thread: {e}"),
            })?;
        match rx.recv_timeout(limit) {
            Ok(result) => result,
            Err(_) => Err(BackendError::NoAnswer {
                uri: uri.to_string(),
                seconds: limit.as_secs_f64().ceil() as u64,
            }),
        }
    }

    fn open(uri: &str) -> Result<Self> {
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
        Enum::Known(S::Shutdown) => DomainState::ShuttingDown,
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
        let mut flags =
            sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
        // A UEFI domain's variable store (NVRAM), made by libvirt for it,
        // goes with it. Asked only then: drivers without UEFI refuse the flag.
        if dom.xml_desc(0).is_ok_and(|x| x.contains("<nvram")) {
            flags |= sys::VIR_DOMAIN_UNDEFINE_NVRAM;
        }
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

    fn pool_free_bytes(&self, name: &str) -> Result<Option<u64>> {
        self.pool_free_bytes_impl(name)
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

    fn volume_sizes(&self, pool: &str, name: &str) -> Result<Option<super::VolumeSizes>> {
        self.volume_sizes_impl(pool, name)
    }

    fn volume_backing(&self, pool: &str, name: &str) -> Result<Option<PathBuf>> {
        self.volume_backing_impl(pool, name)
    }

    fn domain_shape(&self, name: &str) -> Result<Option<super::DomainShape>> {
        let Some(dom) = self.domain(name)? else {
            return Ok(None);
        };
        let info =
            dom.info()
                .map_err(self.err(&format!("query domain `{name}`"), Kind::Domain, name))?;
        Ok(Some(super::DomainShape {
            memory_mib: info.max_mem / 1024,
            vcpus: info.nr_virt_cpu,
        }))
    }

    fn suspend_domain(&self, name: &str) -> Result<()> {
        self.suspend_domain_impl(name)
    }

    fn resume_domain(&self, name: &str) -> Result<()> {
        self.resume_domain_impl(name)
    }

    fn create_snapshot(&self, domain: &str, snapshot: &str) -> Result<()> {
        self.create_snapshot_impl(domain, snapshot)
    }

    fn revert_snapshot(&self, domain: &str, snapshot: &str) -> Result<()> {
        self.revert_snapshot_impl(domain, snapshot)
    }

    fn delete_snapshot(&self, domain: &str, snapshot: &str) -> Result<()> {
        self.delete_snapshot_impl(domain, snapshot)
    }

    fn list_snapshots(&self, domain: &str) -> Result<Vec<String>> {
        self.list_snapshots_impl(domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_that_never_answers_is_given_up_on() {
        // A listener that accepts (the kernel queues the connection) but
        // never reads: libvirt's client would wait for its answer for ever.
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("silent.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let uri = format!("qemu+unix:///system?socket={}", sock.display());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(Libvirt::connect_within(&uri, Duration::from_millis(500)));
        });
        let err = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("connect_within still waits after 10 s")
            .unwrap_err();
        assert!(
            matches!(err, BackendError::NoAnswer { seconds: 1, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("did not answer within 1 s"),
            "{err}"
        );
    }
}
