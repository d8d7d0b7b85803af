//! [`FakeHostNet`]: an in-memory [`HostNet`] for workflow tests: VXLAN
//! devices in a map, names it resolves, its route's source address, and
//! a switch that makes every call fail as an unreachable host would.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;

use anyhow::{Result, bail};

use super::HostNet;
use crate::network::vxlan::VxlanSpec;

#[derive(Debug, Default)]
struct Inner {
    links: BTreeMap<String, VxlanSpec>,
    names: BTreeMap<String, Ipv4Addr>,
    src: Option<Ipv4Addr>,
    files: BTreeMap<String, String>,
    down: bool,
}

/// A host's network as the tests set it up.
#[derive(Debug, Default)]
pub struct FakeHostNet {
    inner: Mutex<Inner>,
}

impl FakeHostNet {
    /// A host whose route to the others leaves from `src`.
    pub fn new(src: Option<Ipv4Addr>) -> Self {
        let f = FakeHostNet::default();
        f.inner.lock().unwrap().src = src;
        f
    }
    /// `name` resolves to `ip` on this host.
    pub fn add_name(&self, name: &str, ip: Ipv4Addr) {
        self.inner.lock().unwrap().names.insert(name.into(), ip);
    }
    /// File `path` on this host holds `text`.
    pub fn add_file(&self, path: &str, text: &str) {
        self.inner
            .lock()
            .unwrap()
            .files
            .insert(path.into(), text.into());
    }
    /// Every call fails (`true`) or works again.
    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }
    /// The VXLAN devices, by name.
    pub fn links(&self) -> BTreeMap<String, VxlanSpec> {
        self.inner.lock().unwrap().links.clone()
    }
    /// A device someone else made.
    pub fn add_foreign(&self, dev: &str, vni: u32) {
        let spec = VxlanSpec {
            device: dev.into(),
            vni,
            local: Ipv4Addr::LOCALHOST,
            bridge: "other".into(),
            peers: vec![],
            mtu: 1500,
        };
        self.inner.lock().unwrap().links.insert(dev.into(), spec);
    }
    fn up(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        let inner = self.inner.lock().unwrap();
        if inner.down {
            bail!("ssh: connect to host: No route to host");
        }
        Ok(inner)
    }
}

impl HostNet for FakeHostNet {
    fn vxlan_links(&self) -> Result<Vec<(String, u32)>> {
        Ok(self
            .up()?
            .links
            .values()
            .map(|s| (s.device.clone(), s.vni))
            .collect())
    }
    fn add_vxlan(&self, spec: &VxlanSpec) -> Result<()> {
        self.up()?.links.insert(spec.device.clone(), spec.clone());
        Ok(())
    }
    fn remove_vxlan(&self, dev: &str) -> Result<()> {
        self.up()?.links.remove(dev);
        Ok(())
    }
    fn resolve(&self, name: &str) -> Result<Option<Ipv4Addr>> {
        Ok(self.up()?.names.get(name).copied())
    }
    fn route_src(&self, _peer: Ipv4Addr) -> Result<Option<Ipv4Addr>> {
        Ok(self.up()?.src)
    }
    fn read_files(&self, paths: &[&str]) -> Result<Vec<String>> {
        let inner = self.up()?;
        paths
            .iter()
            .map(|p| match inner.files.get(*p) {
                Some(text) => Ok(text.clone()),
                None => bail!("cat: {p}: No such file or directory"),
            })
            .collect()
    }
}
