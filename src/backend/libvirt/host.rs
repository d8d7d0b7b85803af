//! What `lab doctor` asks of libvirt beyond the [`Hypervisor`] trait: the
//! daemon's and the hypervisor's versions, the emulator it runs for x86_64
//! guests, the storage pool `lab`; and, without a connection, which user
//! QEMU runs as (from libvirt's `qemu.conf`).

use std::path::PathBuf;

use super::super::{Hypervisor, Kind, NetworkInfo, Result, parse};
use super::Libvirt;

/// libvirt's QEMU driver configuration (see `man 8 libvirtd` and the
/// comments in the file): its `user = "NAME"` is the user QEMU runs as
/// under `qemu:///system`.
pub const QEMU_CONF: &str = "/etc/libvirt/qemu.conf";

/// What a libvirt connection reports about itself and its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The daemon's libvirt version, e.g. `9.0.0` (the client library's
    /// for drivers that run inside lab, as `test:///`).
    pub libvirt: String,
    /// The driver's name as libvirt gives it: `QEMU`, `TEST`.
    pub driver: String,
    /// The hypervisor's version, e.g. `7.2.0` for QEMU; `None` when the
    /// driver reports none.
    pub hypervisor: Option<String>,
    /// The emulator libvirt runs for x86_64 `hvm` guests, from its
    /// capabilities XML; `None` when it offers none.
    pub emulator: Option<PathBuf>,
    /// Every network (for subnet collisions).
    pub networks: Vec<NetworkInfo>,
    /// The storage pool asked for; `None` when it is not defined.
    pub pool: Option<PoolInfo>,
}

/// A defined storage pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInfo {
    /// Its directory (`<target><path>`); `None` when the XML has none.
    pub path: Option<PathBuf>,
    pub active: bool,
}

impl Libvirt {
    /// Ask the connection for its [`Facts`], with `pool` as the storage
    /// pool of interest. Errors: any query libvirt fails.
    pub fn facts(&self, pool: &str) -> Result<Facts> {
        let libvirt = self.conn.lib_version().map_err(self.err(
            "read libvirt's version",
            Kind::Domain,
            "",
        ))?;
        let driver = self.conn.driver_type().map_err(self.err(
            "read the driver's name",
            Kind::Domain,
            "",
        ))?;
        // 0: the driver has no version to tell (libvirt's documentation).
        let hypervisor = match self.conn.hyp_version() {
            Ok(0) | Err(_) => None,
            Ok(v) => Some(version_text(v)),
        };
        let caps = self.conn.capabilities().map_err(self.err(
            "read the capabilities",
            Kind::Domain,
            "",
        ))?;
        let pool = self
            .lookup(Kind::StoragePool, pool, || {
                self.conn.lookup_storage_pool_by_name(pool)
            })?
            .map(|p| PoolInfo {
                path: p
                    .xml_desc(0)
                    .ok()
                    .and_then(|x| parse::pool_path(&x))
                    .map(PathBuf::from),
                active: p.is_active().unwrap_or(false),
            });
        Ok(Facts {
            libvirt: version_text(libvirt),
            driver,
            hypervisor,
            emulator: x86_64_emulator(&caps),
            networks: self.list_networks()?,
            pool,
        })
    }
}

/// libvirt's version numbers (`major * 1_000_000 + minor * 1000 +
/// release`) as `major.minor.release`.
pub fn version_text(v: u32) -> String {
    format!("{}.{}.{}", v / 1_000_000, v / 1000 % 1000, v % 1000)
}

/// The `<emulator>` of the x86_64 `hvm` guest in a capabilities XML
/// (<https://libvirt.org/formatcaps.html>).
fn x86_64_emulator(caps: &str) -> Option<PathBuf> {
    caps.split("<guest>").skip(1).find_map(|guest| {
        let guest = &guest[..guest.find("</guest>").unwrap_or(guest.len())];
        let hvm = parse::text(guest, "os_type").as_deref() == Some("hvm");
        let x86_64 = parse::start_tags(guest, "arch")
            .first()
            .and_then(|t| parse::attr(t, "name"))
            .as_deref()
            == Some("x86_64");
        (hvm && x86_64)
            .then(|| parse::text(guest, "emulator"))
            .flatten()
            .map(PathBuf::from)
    })
}

/// The user QEMU runs as under `qemu:///system`: the `user = "NAME"` line
/// of `qemu.conf` (text of [`QEMU_CONF`]; `"+UID"` is a number), else the
/// first of Debian's `libvirt-qemu` and Fedora's `qemu` that `is_user`
/// knows (the packages' built-in defaults). `None`: neither.
pub fn qemu_user(conf: Option<&str>, is_user: &dyn Fn(&str) -> bool) -> Option<String> {
    let configured = conf.and_then(|text| {
        text.lines().rev().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            if key.trim() != "user" {
                return None;
            }
            let value = value.split('#').next()?.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string)
        })
    });
    configured.or_else(|| {
        ["libvirt-qemu", "qemu"]
            .into_iter()
            .find(|u| is_user(u))
            .map(str::to_string)
    })
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
