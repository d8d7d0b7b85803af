//! Pure functions that turn [`DomainSpec`] and [`NetworkSpec`] (and
//! storage pool / volume requests) into libvirt XML.
//!
//! XML is written with `format!`; every value coming from the user goes
//! through [`escape`]. Snapshot tests pin the exact output.

use std::fmt::Write as _;
use std::path::Path;

use super::{
    Accel, Boot, DiskFormat, DomainSpec, Firmware, LabTag, METADATA_NS, METADATA_PREFIX,
    NetworkSpec,
};

/// Escape text for use in XML element content or a quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn esc_path(p: &Path) -> String {
    escape(&p.to_string_lossy())
}

/// `<metadata>` with our element: the lab, its instance, its file (and node).
fn metadata(tag: &LabTag) -> String {
    let node = tag
        .node
        .as_ref()
        .map(|n| format!(" node='{}'", escape(n)))
        .unwrap_or_default();
    format!(
        "  <metadata>\n    <{p}:lab xmlns:{p}='{ns}' name='{lab}' instance='{instance}' file='{file}'{node}/>\n  </metadata>\n",
        p = METADATA_PREFIX,
        ns = METADATA_NS,
        lab = escape(&tag.lab),
        instance = escape(&tag.instance),
        file = escape(&tag.file),
    )
}

/// `<domainsnapshot>` XML for an internal snapshot named `name` of a
/// domain with `disks` (`(target, internal)`, from
/// [`super::parse::snapshot_disks`]): the internal ones are captured inside
/// their qcow2 image, the others left out (`snapshot='no'`). Memory is
/// libvirt's default: captured when the domain is active. Format:
/// <https://libvirt.org/formatsnapshot.html>.
pub fn snapshot_xml(name: &str, disks: &[(String, bool)]) -> String {
    let mut x = String::from("<domainsnapshot>\n");
    let _ = writeln!(x, "  <name>{}</name>", escape(name));
    x.push_str("  <description>taken by lab snapshot save</description>\n  <disks>\n");
    for (target, internal) in disks {
        let _ = writeln!(
            x,
            "    <disk name='{}' snapshot='{}'/>",
            escape(target),
            if *internal { "internal" } else { "no" }
        );
    }
    x.push_str("  </disks>\n</domainsnapshot>\n");
    x
}

/// Domain XML for `spec`; `uuid` keeps the identity of a domain being
/// redefined.
pub fn domain_xml_with_uuid(spec: &DomainSpec, uuid: Option<&str>) -> String {
    let mut x = String::new();
    let _ = writeln!(x, "<domain type='{}'>", spec.accel.domain_type());
    let _ = writeln!(x, "  <name>{}</name>", escape(&spec.name));
    if let Some(uuid) = uuid {
        let _ = writeln!(x, "  <uuid>{}</uuid>", escape(uuid));
    }
    x.push_str(&metadata(&spec.tag));
    let _ = writeln!(x, "  <memory unit='MiB'>{}</memory>", spec.memory_mib);
    let _ = writeln!(x, "  <vcpu placement='static'>{}</vcpu>", spec.vcpus);
    // libvirt picks the UEFI build itself from QEMU's firmware descriptors
    // (<https://libvirt.org/formatdomain.html#bios-bootloader>); secure boot
    // needs SMM, which the `pc` machine under TCG lacks.
    if matches!(
        spec.boot,
        Boot::Disk {
            firmware: Firmware::Uefi
        }
    ) {
        x.push_str("  <os firmware='efi'>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
        x.push_str("    <firmware>\n      <feature enabled='no' name='secure-boot'/>\n      <feature enabled='no' name='enrolled-keys'/>\n    </firmware>\n");
    } else {
        x.push_str("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
    }
    match &spec.boot {
        Boot::Kernel {
            kernel,
            initrd,
            cmdline,
        } => {
            let _ = writeln!(x, "    <kernel>{}</kernel>", esc_path(kernel));
            if let Some(initrd) = initrd {
                let _ = writeln!(x, "    <initrd>{}</initrd>", esc_path(initrd));
            }
            let _ = writeln!(x, "    <cmdline>{}</cmdline>", escape(cmdline));
        }
        Boot::Disk { .. } => x.push_str("    <boot dev='hd'/>\n"),
    }
    x.push_str("  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
    match spec.accel {
        // The host CPU as is: fastest, and valid only with KVM.
        Accel::Kvm => x.push_str("  <cpu mode='host-passthrough' check='none'/>\n"),
        // No <cpu>: QEMU's default qemu64 model. host-model/passthrough are
        // invalid under TCG, and `max` makes TCG emulate more features for no
        // gain; a stock Debian 12 kernel boots fine on qemu64.
        Accel::Tcg => {}
    }
    x.push_str("  <clock offset='utc'/>\n");
    x.push_str("  <on_poweroff>destroy</on_poweroff>\n");
    x.push_str("  <on_reboot>restart</on_reboot>\n");
    x.push_str("  <on_crash>destroy</on_crash>\n");
    x.push_str("  <devices>\n");
    for d in &spec.disks {
        // cache='unsafe' ignores guest flushes: a throwaway lab VM trades
        // crash safety of its disk for much faster package installs; a host
        // crash means rebuilding the lab, which `lab up` does anyway.
        let _ = writeln!(x, "    <disk type='file' device='disk'>");
        let _ = writeln!(
            x,
            "      <driver name='qemu' type='{}' cache='unsafe' discard='unmap'/>",
            d.format.as_str()
        );
        let _ = writeln!(x, "      <source file='{}'/>", esc_path(&d.path));
        let _ = writeln!(
            x,
            "      <target dev='{}' bus='virtio'/>",
            escape(&d.target)
        );
        if d.readonly {
            x.push_str("      <readonly/>\n");
        }
        x.push_str("    </disk>\n");
    }
    for i in &spec.interfaces {
        x.push_str("    <interface type='network'>\n");
        let _ = writeln!(x, "      <mac address='{}'/>", escape(&i.mac));
        let _ = writeln!(x, "      <source network='{}'/>", escape(&i.network));
        x.push_str("      <model type='virtio'/>\n    </interface>\n");
    }
    x.push_str("    <serial type='pty'>\n");
    let _ = writeln!(
        x,
        "      <log file='{}' append='off'/>",
        esc_path(&spec.console_log)
    );
    x.push_str("      <target port='0'/>\n    </serial>\n");
    x.push_str(
        "    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n",
    );
    // Entropy at once: first boot runs ssh-keygen and sshd, which would
    // otherwise wait for the guest's entropy pool under slow TCG.
    x.push_str("    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>\n");
    x.push_str("    <memballoon model='none'/>\n");
    x.push_str("  </devices>\n</domain>\n");
    x
}

/// Domain XML for `spec`.
pub fn domain_xml(spec: &DomainSpec) -> String {
    domain_xml_with_uuid(spec, None)
}

/// Network XML for `spec`; `uuid` keeps the identity of a network being
/// redefined.
pub fn network_xml_with_uuid(spec: &NetworkSpec, uuid: Option<&str>) -> String {
    let mut x = String::new();
    x.push_str("<network>\n");
    let _ = writeln!(x, "  <name>{}</name>", escape(&spec.name));
    if let Some(uuid) = uuid {
        let _ = writeln!(x, "  <uuid>{}</uuid>", escape(uuid));
    }
    x.push_str(&metadata(&spec.tag));
    if !spec.bridge_only {
        x.push_str("  <forward mode='nat'/>\n");
    }
    let _ = writeln!(
        x,
        "  <bridge name='{}' stp='on' delay='0'/>",
        escape(&spec.bridge)
    );
    if let Some(mtu) = spec.mtu {
        let _ = writeln!(x, "  <mtu size='{mtu}'/>");
    }
    if spec.bridge_only {
        x.push_str("</network>\n");
        return x;
    }
    if let Some(domain) = &spec.domain {
        let _ = writeln!(x, "  <domain name='{}' localOnly='yes'/>", escape(domain));
    }
    if !spec.hosts.is_empty() {
        x.push_str("  <dns>\n");
        for h in &spec.hosts {
            let _ = writeln!(x, "    <host ip='{}'>", h.ip);
            let _ = writeln!(x, "      <hostname>{}</hostname>", escape(&h.name));
            if let Some(domain) = &spec.domain {
                let fqdn = format!("{}.{}", h.name, domain);
                let _ = writeln!(x, "      <hostname>{}</hostname>", escape(&fqdn));
            }
            x.push_str("    </host>\n");
        }
        x.push_str("  </dns>\n");
    }
    let _ = writeln!(
        x,
        "  <ip address='{}' prefix='{}'>",
        spec.gateway,
        spec.subnet.prefix_len()
    );
    if spec.dhcp_range.is_some() || !spec.hosts.is_empty() {
        x.push_str("    <dhcp>\n");
        if let Some((start, end)) = spec.dhcp_range {
            let _ = writeln!(x, "      <range start='{start}' end='{end}'/>");
        }
        for h in &spec.hosts {
            let _ = writeln!(
                x,
                "      <host mac='{}' name='{}' ip='{}'/>",
                escape(&h.mac),
                escape(&h.name),
                h.ip
            );
        }
        x.push_str("    </dhcp>\n");
    }
    x.push_str("  </ip>\n</network>\n");
    x
}

/// Network XML for `spec`.
pub fn network_xml(spec: &NetworkSpec) -> String {
    network_xml_with_uuid(spec, None)
}

/// A directory storage pool at `dir`.
pub fn pool_xml(name: &str, dir: &Path) -> String {
    format!(
        "<pool type='dir'>\n  <name>{}</name>\n  <target>\n    <path>{}</path>\n  </target>\n</pool>\n",
        escape(name),
        esc_path(dir)
    )
}

/// A volume of `capacity` bytes; with `backing`, a qcow2 overlay on it.
pub fn volume_xml(
    name: &str,
    format: DiskFormat,
    capacity: u64,
    allocation: Option<u64>,
    backing: Option<(&Path, DiskFormat)>,
) -> String {
    let mut x = String::from("<volume type='file'>\n");
    let _ = writeln!(x, "  <name>{}</name>", escape(name));
    let _ = writeln!(x, "  <capacity unit='bytes'>{capacity}</capacity>");
    if let Some(a) = allocation {
        let _ = writeln!(x, "  <allocation unit='bytes'>{a}</allocation>");
    }
    let _ = writeln!(x, "  <target>\n    <format type='{format}'/>\n  </target>");
    if let Some((path, fmt)) = backing {
        let _ = writeln!(
            x,
            "  <backingStore>\n    <path>{}</path>\n    <format type='{fmt}'/>\n  </backingStore>",
            esc_path(path)
        );
    }
    x.push_str("</volume>\n");
    x
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
