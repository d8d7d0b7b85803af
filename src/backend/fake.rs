//! [`FakeHypervisor`]: an in-memory [`Hypervisor`] for fast tests of the
//! lab workflows. It keeps networks, domains, pools and volumes in a map,
//! records every call, and can be told to fail a given operation.
//!
//! It follows the real backend's contract (idempotent teardown, redefine
//! replaces, not-found errors) but is deliberately simple: a shutdown
//! request powers the domain off at once (unless a test asked for a lag
//! with [`FakeHypervisor::lag_shutdowns`]), volumes hold no data.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::{
    BackendError, DiskFormat, DomainSpec, DomainState, Hypervisor, Kind, LabTag, Maker,
    NetworkInfo, NetworkSpec, Result, RunState,
};

/// A volume in a fake pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeVolume {
    pub path: PathBuf,
    pub format: DiskFormat,
    pub capacity: u64,
    /// The backing image of an overlay.
    pub backing: Option<PathBuf>,
    /// The file an uploaded volume was copied from.
    pub source: Option<PathBuf>,
    /// Bytes on disk: 0 when made; an internal snapshot with memory adds
    /// the domain's memory size to its first disk.
    pub allocation: u64,
}

/// An internal snapshot of a fake domain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FakeSnapshot {
    /// Whether memory was captured (the domain was active).
    memory: bool,
    /// The guest's data when it was taken.
    guest: String,
}

#[derive(Debug, Default)]
struct Pool {
    dir: PathBuf,
    volumes: BTreeMap<String, FakeVolume>,
}

#[derive(Debug, Default)]
struct State {
    networks: BTreeMap<String, (NetworkSpec, RunState)>,
    domains: BTreeMap<String, (DomainSpec, DomainState)>,
    /// Objects defined "by hand": no metadata of ours.
    foreign: std::collections::BTreeSet<String>,
    pools: BTreeMap<String, Pool>,
    /// Snapshots by domain, then by name.
    snapshots: BTreeMap<String, BTreeMap<String, FakeSnapshot>>,
    /// What a test wrote "into" a domain's disk and memory
    /// ([`FakeHypervisor::write_guest`]); snapshots capture and restore it.
    guest: BTreeMap<String, String>,
    calls: Vec<String>,
    /// State queries a shut-down domain stays "shutting down" for.
    shutdown_lag: u32,
    /// Domains shutting down, with the queries left until they are off.
    shutting: HashMap<String, u32>,
    failures: HashMap<String, VecDeque<BackendError>>,
    /// What every pool says it has free, in bytes (1 TiB by default).
    pool_free: Option<u64>,
}

/// An in-memory hypervisor. `Send + Sync`; share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct FakeHypervisor {
    state: Mutex<State>,
}

fn not_found(kind: Kind, name: &str) -> BackendError {
    BackendError::NotFound {
        kind,
        name: name.to_string(),
    }
}

impl FakeHypervisor {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the state from the others.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record the call `op arg` and return the failure queued for `op`.
    fn enter(&self, op: &str, arg: &str) -> Result<MutexGuard<'_, State>> {
        let mut st = self.lock();
        st.calls.push(format!("{op} {arg}"));
        if let Some(err) = st.failures.get_mut(op).and_then(VecDeque::pop_front) {
            return Err(err);
        }
        Ok(st)
    }

    /// Make the next call of trait method `op` (e.g. `"start_domain"`) fail
    /// with `err`. Queue several to fail several calls.
    pub fn fail_next(&self, op: &str, err: BackendError) {
        self.lock()
            .failures
            .entry(op.to_string())
            .or_default()
            .push_back(err);
    }

    /// From now on, a shutdown request leaves the domain
    /// [`DomainState::ShuttingDown`] for `queries` calls of `domain_state`
    /// before it is shut off, as a real guest takes a while to power off.
    pub fn lag_shutdowns(&self, queries: u32) {
        self.lock().shutdown_lag = queries;
    }

    /// Every pool has `bytes` free from now on.
    pub fn set_pool_free(&self, bytes: u64) {
        self.lock().pool_free = Some(bytes);
    }

    /// Every call so far, as `"method argument"`, e.g. `"start_domain lab-x-n1"`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// The spec a domain was last defined with.
    pub fn domain_spec(&self, name: &str) -> Option<DomainSpec> {
        self.lock().domains.get(name).map(|(s, _)| s.clone())
    }

    /// The spec a network was last defined with.
    pub fn network_spec(&self, name: &str) -> Option<NetworkSpec> {
        self.lock().networks.get(name).map(|(s, _)| s.clone())
    }

    /// A volume's details.
    pub fn volume(&self, pool: &str, name: &str) -> Option<FakeVolume> {
        self.lock().pools.get(pool)?.volumes.get(name).cloned()
    }

    /// Define a domain or network (by its `spec`) as something other than
    /// lab would: without our metadata, as a user's `virsh define` does.
    pub fn define_foreign_domain(&self, spec: &DomainSpec) {
        let mut st = self.lock();
        st.domains
            .insert(spec.name.clone(), (spec.clone(), DomainState::ShutOff));
        st.foreign.insert(format!("domain {}", spec.name));
    }

    /// [`Self::define_foreign_domain`] for a network.
    pub fn define_foreign_network(&self, spec: &NetworkSpec) {
        let mut st = self.lock();
        st.networks
            .insert(spec.name.clone(), (spec.clone(), RunState::Inactive));
        st.foreign.insert(format!("network {}", spec.name));
    }

    /// Force a domain's state, e.g. to simulate a guest that powered off.
    pub fn set_domain_state(&self, name: &str, state: DomainState) {
        if let Some((_, s)) = self.lock().domains.get_mut(name) {
            *s = state;
        }
    }

    /// Change what the guest of domain `name` holds (a stand-in for files
    /// and memory); snapshots capture it and reverting puts it back.
    pub fn write_guest(&self, name: &str, data: &str) {
        self.lock().guest.insert(name.to_string(), data.to_string());
    }

    /// What the guest of domain `name` holds ("" when never written).
    pub fn guest(&self, name: &str) -> String {
        self.lock().guest.get(name).cloned().unwrap_or_default()
    }

    /// Call `op`: put an active (running or paused) domain into `to`;
    /// a shut-off one is an error, as libvirt's "domain is not running".
    fn pause_or_resume(&self, op: &str, verb: &str, name: &str, to: DomainState) -> Result<()> {
        let mut st = self.enter(op, name)?;
        let (_, s) = st
            .domains
            .get_mut(name)
            .ok_or_else(|| not_found(Kind::Domain, name))?;
        match s {
            DomainState::Running | DomainState::Paused => {
                *s = to;
                Ok(())
            }
            other => Err(BackendError::Failed {
                op: format!("{verb} domain `{name}`"),
                message: format!("domain is {other}"),
            }),
        }
    }

    fn add_volume(&self, pool: &str, name: &str, mut vol: FakeVolume) -> Result<PathBuf> {
        let mut st = self.lock();
        let p = st
            .pools
            .get_mut(pool)
            .ok_or_else(|| not_found(Kind::StoragePool, pool))?;
        if p.volumes.contains_key(name) {
            return Err(BackendError::Conflict {
                kind: Kind::Volume,
                name: name.to_string(),
                message: "storage volume name already in use".into(),
            });
        }
        vol.path = p.dir.join(name);
        let path = vol.path.clone();
        p.volumes.insert(name.to_string(), vol);
        Ok(path)
    }
}

impl Hypervisor for FakeHypervisor {
    fn network_state(&self, name: &str) -> Result<Option<RunState>> {
        let st = self.enter("network_state", name)?;
        Ok(st.networks.get(name).map(|(_, s)| *s))
    }

    fn define_network(&self, spec: &NetworkSpec) -> Result<()> {
        let mut st = self.enter("define_network", &spec.name)?;
        let state = st
            .networks
            .get(&spec.name)
            .map_or(RunState::Inactive, |(_, s)| *s);
        st.networks.insert(spec.name.clone(), (spec.clone(), state));
        st.foreign.remove(&format!("network {}", spec.name));
        Ok(())
    }

    fn start_network(&self, name: &str) -> Result<()> {
        let mut st = self.enter("start_network", name)?;
        let (_, s) = st
            .networks
            .get_mut(name)
            .ok_or_else(|| not_found(Kind::Network, name))?;
        *s = RunState::Active;
        Ok(())
    }

    fn remove_network(&self, name: &str) -> Result<()> {
        let mut st = self.enter("remove_network", name)?;
        st.networks.remove(name);
        st.foreign.remove(&format!("network {name}"));
        Ok(())
    }

    fn list_networks(&self) -> Result<Vec<NetworkInfo>> {
        let st = self.enter("list_networks", "")?;
        Ok(st
            .networks
            .values()
            .map(|(spec, state)| NetworkInfo {
                name: spec.name.clone(),
                bridge: Some(spec.bridge.clone()),
                subnets: (!spec.bridge_only)
                    .then(|| spec.subnet.trunc())
                    .into_iter()
                    .collect(),
                maker: if st.foreign.contains(&format!("network {}", spec.name)) {
                    Maker::Unknown
                } else {
                    Maker::Lab(spec.tag.clone())
                },
                state: *state,
            })
            .collect())
    }

    fn domain_state(&self, name: &str) -> Result<Option<DomainState>> {
        let mut st = self.enter("domain_state", name)?;
        if let Some(left) = st.shutting.get_mut(name) {
            if *left > 0 {
                *left -= 1;
                return Ok(Some(DomainState::ShuttingDown));
            }
            st.shutting.remove(name);
            if let Some((_, s)) = st.domains.get_mut(name) {
                *s = DomainState::ShutOff;
            }
        }
        Ok(st.domains.get(name).map(|(_, s)| s.clone()))
    }

    fn define_domain(&self, spec: &DomainSpec) -> Result<()> {
        let mut st = self.enter("define_domain", &spec.name)?;
        let state = st
            .domains
            .get(&spec.name)
            .map_or(DomainState::ShutOff, |(_, s)| s.clone());
        st.domains.insert(spec.name.clone(), (spec.clone(), state));
        st.foreign.remove(&format!("domain {}", spec.name));
        Ok(())
    }

    fn start_domain(&self, name: &str) -> Result<()> {
        let mut st = self.enter("start_domain", name)?;
        let (spec, s) = st
            .domains
            .get(name)
            .ok_or_else(|| not_found(Kind::Domain, name))?;
        if let Some(net) = spec
            .interfaces
            .iter()
            .map(|i| &i.network)
            .find(|n| !matches!(st.networks.get(*n), Some((_, RunState::Active))))
        {
            return Err(BackendError::Failed {
                op: format!("start domain `{name}`"),
                message: format!("network '{net}' is not active"),
            });
        }
        // Like libvirt: starting an active domain (one still shutting
        // down included) does nothing.
        if !matches!(*s, DomainState::Running | DomainState::ShuttingDown) {
            st.domains.get_mut(name).expect("checked above").1 = DomainState::Running;
        }
        Ok(())
    }

    fn shutdown_domain(&self, name: &str) -> Result<()> {
        let mut st = self.enter("shutdown_domain", name)?;
        let lag = st.shutdown_lag;
        let (_, s) = st
            .domains
            .get_mut(name)
            .ok_or_else(|| not_found(Kind::Domain, name))?;
        if lag == 0 {
            *s = DomainState::ShutOff;
        } else {
            *s = DomainState::ShuttingDown;
            st.shutting.insert(name.to_string(), lag);
        }
        Ok(())
    }

    fn destroy_domain(&self, name: &str) -> Result<()> {
        let mut st = self.enter("destroy_domain", name)?;
        st.shutting.remove(name);
        if let Some((_, s)) = st.domains.get_mut(name) {
            *s = DomainState::ShutOff;
        }
        Ok(())
    }

    fn undefine_domain(&self, name: &str) -> Result<()> {
        let mut st = self.enter("undefine_domain", name)?;
        st.shutting.remove(name);
        st.domains.remove(name);
        st.foreign.remove(&format!("domain {name}"));
        // Like VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.
        st.snapshots.remove(name);
        Ok(())
    }

    fn domain_maker(&self, name: &str) -> Result<Option<Maker>> {
        let st = self.enter("domain_maker", name)?;
        Ok(st.domains.get(name).map(|(spec, _)| {
            if st.foreign.contains(&format!("domain {name}")) {
                Maker::Unknown
            } else {
                Maker::Lab(spec.tag.clone())
            }
        }))
    }

    fn list_lab_domains(&self, lab: &str) -> Result<Vec<(String, LabTag)>> {
        let st = self.enter("list_lab_domains", lab)?;
        Ok(st
            .domains
            .values()
            .filter(|(spec, _)| {
                spec.tag.lab == lab && !st.foreign.contains(&format!("domain {}", spec.name))
            })
            .map(|(spec, _)| (spec.name.clone(), spec.tag.clone()))
            .collect())
    }

    fn ensure_pool(&self, name: &str, dir: &Path) -> Result<()> {
        let mut st = self.enter("ensure_pool", name)?;
        let pool = st.pools.entry(name.to_string()).or_insert_with(|| Pool {
            dir: dir.to_path_buf(),
            ..Pool::default()
        });
        if pool.dir != dir {
            return Err(BackendError::PoolElsewhere {
                name: name.to_string(),
                existing: pool.dir.clone(),
                wanted: dir.to_path_buf(),
            });
        }
        Ok(())
    }

    fn pool_free_bytes(&self, name: &str) -> Result<Option<u64>> {
        let st = self.enter("pool_free_bytes", name)?;
        if !st.pools.contains_key(name) {
            return Err(not_found(Kind::StoragePool, name));
        }
        Ok(Some(st.pool_free.unwrap_or(1 << 40)))
    }

    fn volume_path(&self, pool: &str, name: &str) -> Result<Option<PathBuf>> {
        let st = self.enter("volume_path", &format!("{pool}/{name}"))?;
        let p = st
            .pools
            .get(pool)
            .ok_or_else(|| not_found(Kind::StoragePool, pool))?;
        Ok(p.volumes.get(name).map(|v| v.path.clone()))
    }

    fn create_overlay(
        &self,
        pool: &str,
        name: &str,
        backing: &Path,
        capacity_gib: u64,
    ) -> Result<PathBuf> {
        drop(self.enter("create_overlay", &format!("{pool}/{name}"))?);
        let vol = FakeVolume {
            path: PathBuf::new(),
            format: DiskFormat::Qcow2,
            capacity: capacity_gib << 30,
            backing: Some(backing.to_path_buf()),
            source: None,
            allocation: 0,
        };
        self.add_volume(pool, name, vol)
    }

    fn upload_volume(
        &self,
        pool: &str,
        name: &str,
        src: &Path,
        format: DiskFormat,
    ) -> Result<PathBuf> {
        drop(self.enter("upload_volume", &format!("{pool}/{name}"))?);
        // Like the real backend, a missing source is an error before any
        // volume exists.
        let size = std::fs::metadata(src)
            .map_err(|cause| BackendError::Io {
                path: src.to_path_buf(),
                cause,
            })?
            .len();
        let vol = FakeVolume {
            path: PathBuf::new(),
            format,
            capacity: size,
            backing: None,
            source: Some(src.to_path_buf()),
            allocation: 0,
        };
        self.add_volume(pool, name, vol)
    }

    fn delete_volume(&self, pool: &str, name: &str) -> Result<()> {
        let mut st = self.enter("delete_volume", &format!("{pool}/{name}"))?;
        if let Some(p) = st.pools.get_mut(pool) {
            p.volumes.remove(name);
        }
        Ok(())
    }

    fn list_volumes(&self, pool: &str) -> Result<Vec<String>> {
        let st = self.enter("list_volumes", pool)?;
        let p = st
            .pools
            .get(pool)
            .ok_or_else(|| not_found(Kind::StoragePool, pool))?;
        Ok(p.volumes.keys().cloned().collect())
    }

    fn volume_sizes(&self, pool: &str, name: &str) -> Result<Option<super::VolumeSizes>> {
        let st = self.enter("volume_sizes", &format!("{pool}/{name}"))?;
        Ok(st
            .pools
            .get(pool)
            .and_then(|p| p.volumes.get(name))
            .map(|v| super::VolumeSizes {
                capacity: v.capacity,
                allocation: v.allocation,
            }))
    }

    fn volume_backing(&self, pool: &str, name: &str) -> Result<Option<PathBuf>> {
        let st = self.enter("volume_backing", &format!("{pool}/{name}"))?;
        Ok(st
            .pools
            .get(pool)
            .and_then(|p| p.volumes.get(name))
            .and_then(|v| v.backing.clone()))
    }

    fn domain_shape(&self, name: &str) -> Result<Option<super::DomainShape>> {
        let st = self.enter("domain_shape", name)?;
        Ok(st.domains.get(name).map(|(spec, _)| super::DomainShape {
            memory_mib: spec.memory_mib,
            vcpus: spec.vcpus,
        }))
    }

    fn suspend_domain(&self, name: &str) -> Result<()> {
        self.pause_or_resume("suspend_domain", "pause", name, DomainState::Paused)
    }

    fn resume_domain(&self, name: &str) -> Result<()> {
        self.pause_or_resume("resume_domain", "resume", name, DomainState::Running)
    }

    fn create_snapshot(&self, domain: &str, snapshot: &str) -> Result<()> {
        let mut st = self.enter("create_snapshot", &format!("{domain}/{snapshot}"))?;
        let (spec, state) = st
            .domains
            .get(domain)
            .cloned()
            .ok_or_else(|| not_found(Kind::Domain, domain))?;
        if st
            .snapshots
            .get(domain)
            .is_some_and(|m| m.contains_key(snapshot))
        {
            return Err(BackendError::Conflict {
                kind: Kind::Snapshot,
                name: snapshot.to_string(),
                message: format!("domain snapshot {snapshot} already exists"),
            });
        }
        let memory = state != DomainState::ShutOff;
        if memory && let Some(disk) = spec.disks.first() {
            for p in st.pools.values_mut() {
                for v in p.volumes.values_mut() {
                    if v.path == disk.path {
                        v.allocation += spec.memory_mib << 20;
                    }
                }
            }
        }
        let guest = st.guest.get(domain).cloned().unwrap_or_default();
        st.snapshots
            .entry(domain.to_string())
            .or_default()
            .insert(snapshot.to_string(), FakeSnapshot { memory, guest });
        Ok(())
    }

    fn revert_snapshot(&self, domain: &str, snapshot: &str) -> Result<()> {
        let mut st = self.enter("revert_snapshot", &format!("{domain}/{snapshot}"))?;
        let snap = st
            .snapshots
            .get(domain)
            .and_then(|m| m.get(snapshot))
            .cloned()
            .ok_or_else(|| not_found(Kind::Snapshot, snapshot))?;
        let (_, state) = st
            .domains
            .get_mut(domain)
            .ok_or_else(|| not_found(Kind::Domain, domain))?;
        *state = if snap.memory {
            DomainState::Paused
        } else {
            DomainState::ShutOff
        };
        st.guest.insert(domain.to_string(), snap.guest);
        Ok(())
    }

    fn delete_snapshot(&self, domain: &str, snapshot: &str) -> Result<()> {
        let mut st = self.enter("delete_snapshot", &format!("{domain}/{snapshot}"))?;
        if let Some(m) = st.snapshots.get_mut(domain) {
            m.remove(snapshot);
        }
        Ok(())
    }

    fn list_snapshots(&self, domain: &str) -> Result<Vec<String>> {
        let st = self.enter("list_snapshots", domain)?;
        Ok(st
            .snapshots
            .get(domain)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
#[path = "fake_tests.rs"]
mod tests;
