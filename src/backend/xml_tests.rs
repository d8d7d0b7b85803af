//! Snapshot tests of the generated XML (see `snapshots/`).

use std::path::Path;

use super::*;
use crate::backend::fixtures;
use crate::backend::{DiskFormat, HostEntry};

#[test]
fn escape_covers_the_five_entities() {
    assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
    assert_eq!(escape("plain"), "plain");
}

#[test]
fn domain_tcg_direct_kernel() {
    let spec = fixtures::domain("smoke", "node1", Accel::Tcg);
    insta::assert_snapshot!(domain_xml(&spec));
}

#[test]
fn domain_kvm_disk_boot_with_uuid() {
    let mut spec = fixtures::domain("smoke", "node2", Accel::Kvm);
    spec.boot = Boot::Disk {
        firmware: Firmware::Bios,
    };
    spec.disks.truncate(1);
    spec.vcpus = 2;
    spec.memory_mib = 2048;
    insta::assert_snapshot!(domain_xml_with_uuid(
        &spec,
        Some("6695eb01-f6a4-8304-79aa-97f2502e193f")
    ));
}

#[test]
fn domain_uefi_disk_boot_asks_libvirt_for_efi_without_secure_boot() {
    let mut spec = fixtures::domain("smoke", "node3", Accel::Tcg);
    spec.boot = Boot::Disk {
        firmware: Firmware::Uefi,
    };
    insta::assert_snapshot!(domain_xml(&spec));
}

#[test]
fn domain_escapes_user_values() {
    let mut spec = fixtures::domain("a&b", "n<1>", Accel::Tcg);
    spec.boot = Boot::Kernel {
        kernel: "/k'q".into(),
        initrd: None,
        cmdline: "x=\"1\" && y".into(),
    };
    let xml = domain_xml(&spec);
    assert!(
        xml.contains(
            "name='a&amp;b' instance='i-a&amp;b' file='/home/u/a&amp;b/lab.yaml' node='n&lt;1&gt;'"
        ),
        "{xml}"
    );
    assert!(xml.contains("<kernel>/k&apos;q</kernel>"), "{xml}");
    assert!(
        xml.contains("<cmdline>x=&quot;1&quot; &amp;&amp; y</cmdline>"),
        "{xml}"
    );
    assert!(!xml.contains("<initrd>"), "{xml}");
}

#[test]
fn network_nat_dhcp_dns() {
    insta::assert_snapshot!(network_xml(&fixtures::network("smoke")));
}

#[test]
fn network_without_domain_or_range() {
    let mut spec = fixtures::network("bare");
    spec.domain = None;
    spec.dhcp_range = None;
    spec.hosts = vec![HostEntry {
        name: "solo".into(),
        mac: "52:54:00:aa:bb:cc".into(),
        ip: "10.77.0.5".parse().unwrap(),
    }];
    insta::assert_snapshot!(network_xml_with_uuid(
        &spec,
        Some("fcf5598c-ec15-49f8-9904-cbbc9b774f83")
    ));
}

#[test]
fn network_of_a_lab_over_several_hosts() {
    // The primary's: everything as on one host, and the overlay's MTU
    // (libvirt hands it to the guests through DHCP).
    let mut primary = fixtures::network("split");
    primary.mtu = Some(1450);
    insta::assert_snapshot!("network_primary_mtu", network_xml(&primary));
    // The other hosts': only the bridge, so no dnsmasq there.
    let mut other = primary.clone();
    other.bridge_only = true;
    let xml = network_xml(&other);
    insta::assert_snapshot!("network_bridge_only", xml);
    for absent in ["<forward", "<ip", "<dhcp", "<dns", "<domain"] {
        assert!(!xml.contains(absent), "{absent} in {xml}");
    }
}

#[test]
fn pool_and_volumes() {
    insta::assert_snapshot!(
        "pool",
        pool_xml("lab", Path::new("/var/lib/libvirt/images/lab"))
    );
    insta::assert_snapshot!(
        "overlay",
        volume_xml(
            "smoke-node1.qcow2",
            DiskFormat::Qcow2,
            20 << 30,
            None,
            Some((
                Path::new("/var/lib/libvirt/images/lab/debian-12.qcow2"),
                DiskFormat::Qcow2
            )),
        )
    );
    insta::assert_snapshot!(
        "upload",
        volume_xml("vmlinuz", DiskFormat::Raw, 8_000_000, Some(0), None)
    );
}

#[test]
fn snapshot_captures_qcow2_disks_and_leaves_the_seed_out() {
    insta::assert_snapshot!(snapshot_xml(
        "lab-provisioned",
        &[("vda".into(), true), ("vdb".into(), false)]
    ));
}
