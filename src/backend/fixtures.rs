//! Sample specs shared by the backend's unit tests.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::{
    Accel, Boot, DiskFormat, DiskSpec, DomainSpec, HostEntry, InterfaceSpec, LabTag, NetworkSpec,
};
use crate::network;

/// The mark of instance `i-LAB` of lab `lab` (on `node`'s domain).
pub fn tag(lab: &str, node: Option<&str>) -> LabTag {
    LabTag {
        lab: lab.to_string(),
        instance: format!("i-{lab}"),
        file: format!("/home/u/{lab}/lab.yaml"),
        node: node.map(str::to_string),
    }
}

/// The network of a lab named `lab` on 10.77.0.0/24 with nodes `node1`
/// (.11) and `node2` (.12).
pub fn network(lab: &str) -> NetworkSpec {
    let subnet = "10.77.0.0/24".parse().unwrap();
    let hosts = [("node1", 11), ("node2", 12)]
        .into_iter()
        .map(|(node, last)| HostEntry {
            name: node.to_string(),
            mac: network::mac_for(lab, node),
            ip: Ipv4Addr::new(10, 77, 0, last),
        })
        .collect();
    NetworkSpec {
        name: format!("lab-{lab}"),
        bridge: network::bridge_name(lab),
        tag: tag(lab, None),
        subnet,
        gateway: network::gateway(subnet),
        domain: Some(format!("{lab}.lab")),
        dhcp_range: network::dhcp_range(subnet),
        hosts,
        mtu: None,
        bridge_only: false,
    }
}

/// Node `node` of lab `lab`: direct kernel boot, a qcow2 disk and a seed.
pub fn domain(lab: &str, node: &str, accel: Accel) -> DomainSpec {
    let dir = PathBuf::from(format!("/var/lib/libvirt/images/lab/{lab}"));
    DomainSpec {
        name: format!("lab-{lab}-{node}"),
        tag: tag(lab, Some(node)),
        memory_mib: 1024,
        vcpus: 1,
        accel,
        boot: Boot::Kernel {
            kernel: dir.join("vmlinuz"),
            initrd: Some(dir.join("initrd.img")),
            cmdline: "root=/dev/vda rw console=ttyS0".to_string(),
        },
        disks: vec![
            DiskSpec {
                path: dir.join(format!("{node}.qcow2")),
                format: DiskFormat::Qcow2,
                target: "vda".to_string(),
                readonly: false,
            },
            DiskSpec {
                path: dir.join(format!("{node}-seed.img")),
                format: DiskFormat::Raw,
                target: "vdb".to_string(),
                readonly: true,
            },
        ],
        interfaces: vec![InterfaceSpec {
            network: format!("lab-{lab}"),
            mac: network::mac_for(lab, node),
        }],
        console_log: dir.join(format!("{node}-console.log")),
    }
}
