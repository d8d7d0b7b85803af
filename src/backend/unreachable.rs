//! [`Unreachable`]: the [`Hypervisor`] of a host `lab` could not connect
//! to. Every call fails with the reason, so a workflow over several hosts
//! (`lab destroy`, preflight) does what it can on the others and names
//! this one, instead of stopping before it starts.

use std::path::{Path, PathBuf};

use super::{
    BackendError, DiskFormat, DomainShape, DomainSpec, DomainState, Hypervisor, LabTag, Maker,
    NetworkInfo, NetworkSpec, Result, RunState, VolumeSizes,
};

/// A host whose libvirt did not answer: every call is
/// [`BackendError::NotConnected`] with the connection error.
#[derive(Debug, Clone)]
pub struct Unreachable {
    /// The host's name in the lab file.
    pub host: String,
    why: String,
}

impl Unreachable {
    /// Host `host` (its name in the lab file), which failed with `why`.
    pub fn new(host: &str, why: &BackendError) -> Self {
        Unreachable {
            host: host.to_string(),
            why: why.to_string(),
        }
    }

    fn fail<T>(&self) -> Result<T> {
        Err(BackendError::NotConnected {
            why: self.why.clone(),
        })
    }
}

impl Hypervisor for Unreachable {
    fn network_state(&self, _: &str) -> Result<Option<RunState>> {
        self.fail()
    }
    fn define_network(&self, _: &NetworkSpec) -> Result<()> {
        self.fail()
    }
    fn start_network(&self, _: &str) -> Result<()> {
        self.fail()
    }
    fn remove_network(&self, _: &str) -> Result<()> {
        self.fail()
    }
    fn list_networks(&self) -> Result<Vec<NetworkInfo>> {
        self.fail()
    }
    fn domain_maker(&self, _: &str) -> Result<Option<Maker>> {
        self.fail()
    }
    fn domain_state(&self, _: &str) -> Result<Option<DomainState>> {
        self.fail()
    }
    fn define_domain(&self, _: &DomainSpec) -> Result<()> {
        self.fail()
    }
    fn start_domain(&self, _: &str) -> Result<()> {
        self.fail()
    }
    fn shutdown_domain(&self, _: &str) -> Result<()> {
        self.fail()
    }
    fn destroy_domain(&self, _: &str) -> Result<()> {
        self.fail()
    }
    fn undefine_domain(&self, _: &str) -> Result<()> {
        self.fail()
    }
    fn list_lab_domains(&self, _: &str) -> Result<Vec<(String, LabTag)>> {
        self.fail()
    }
    fn ensure_pool(&self, _: &str, _: &Path) -> Result<()> {
        self.fail()
    }
    fn pool_free_bytes(&self, _: &str) -> Result<Option<u64>> {
        self.fail()
    }
    fn volume_path(&self, _: &str, _: &str) -> Result<Option<PathBuf>> {
        self.fail()
    }
    fn create_overlay(&self, _: &str, _: &str, _: &Path, _: u64) -> Result<PathBuf> {
        self.fail()
    }
    fn upload_volume(&self, _: &str, _: &str, _: &Path, _: DiskFormat) -> Result<PathBuf> {
        self.fail()
    }
    fn delete_volume(&self, _: &str, _: &str) -> Result<()> {
        self.fail()
    }
    fn list_volumes(&self, _: &str) -> Result<Vec<String>> {
        self.fail()
    }
    fn volume_sizes(&self, _: &str, _: &str) -> Result<Option<VolumeSizes>> {
        self.fail()
    }
    fn volume_backing(&self, _: &str, _: &str) -> Result<Option<std::path::PathBuf>> {
        self.fail()
    }
    fn domain_shape(&self, _: &str) -> Result<Option<DomainShape>> {
        self.fail()
    }
    fn suspend_domain(&self, _: &str) -> Result<()> {
        self.fail()
    }
    fn resume_domain(&self, _: &str) -> Result<()> {
        self.fail()
    }
    fn create_snapshot(&self, _: &str, _: &str) -> Result<()> {
        self.fail()
    }
    fn revert_snapshot(&self, _: &str, _: &str) -> Result<()> {
        self.fail()
    }
    fn delete_snapshot(&self, _: &str, _: &str) -> Result<()> {
        self.fail()
    }
    fn list_snapshots(&self, _: &str) -> Result<Vec<String>> {
        self.fail()
    }
}
