//! Reading the few facts `lab` needs back out of libvirt's XML: names,
//! bridges, addresses, our metadata element, a pool's directory.
//!
//! libvirt writes its XML in a canonical form (one element per tag,
//! attributes quoted), so a scanner over start tags is enough and keeps a
//! full XML parser out of the dependency tree.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{LabTag, METADATA_NS, METADATA_PREFIX, Maker, NetworkInfo, RunState};

/// Undo the five predefined XML entities (and numeric references).
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The start tags (`<tag ...>` or `<tag .../>`) of every `tag` element.
pub fn start_tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let start = from + i;
        let after = start + open.len();
        from = after;
        let next = xml[after..].chars().next();
        if !matches!(next, Some(c) if c.is_whitespace() || c == '>' || c == '/') {
            continue;
        }
        if let Some(end) = xml[after..].find('>') {
            found.push(&xml[start..=after + end]);
        }
    }
    found
}

/// The value of attribute `name` in a start tag.
pub fn attr(start_tag: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = start_tag[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before = start_tag[..at].chars().next_back();
        if !matches!(before, Some(c) if c.is_whitespace()) {
            continue;
        }
        let rest = start_tag[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let quote = rest.chars().next()?;
        if quote != '\'' && quote != '"' {
            return None;
        }
        let value = &rest[1..];
        let end = value.find(quote)?;
        return Some(unescape(&value[..end]));
    }
    None
}

/// The text of the first `<tag>text</tag>` element.
pub fn text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(unescape(xml[start..end].trim()))
}

/// The disks of a domain's XML as an internal snapshot treats them:
/// `(target, internal)` for each `<disk>`, `internal` when it is a writable
/// qcow2 image (those hold internal snapshots); read-only and raw disks
/// (the NoCloud seed) are left out of a snapshot. See
/// <https://libvirt.org/formatsnapshot.html> (`<disks>`).
pub fn snapshot_disks(xml: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<disk ") {
        let block = &rest[i..];
        let end = block.find("</disk>").unwrap_or(block.len());
        let disk = &block[..end];
        rest = &block[end..];
        let Some(target) = start_tags(disk, "target")
            .first()
            .and_then(|t| attr(t, "dev"))
        else {
            continue;
        };
        let qcow2 = start_tags(disk, "driver")
            .first()
            .and_then(|t| attr(t, "type"))
            .is_some_and(|t| t == "qcow2");
        let readonly = !start_tags(disk, "readonly").is_empty();
        out.push((target, qcow2 && !readonly));
    }
    out
}

/// Who made an object, from our metadata element
/// `<lab:lab xmlns:lab="https://lab.dev/ns/lab" name=".." instance=".." file=".." node=".."/>`
/// (`instance` and `file` are missing on objects made by older versions:
/// they read as empty). No such element: [`Maker::Unknown`].
pub fn maker(xml: &str) -> Maker {
    let tag = format!("{p}:lab", p = METADATA_PREFIX);
    let xmlns = format!("xmlns:{p}", p = METADATA_PREFIX);
    start_tags(xml, &tag)
        .into_iter()
        .find(|t| attr(t, &xmlns).as_deref() == Some(METADATA_NS))
        .and_then(|t| {
            Some(LabTag {
                lab: attr(t, "name")?,
                instance: attr(t, "instance").unwrap_or_default(),
                file: attr(t, "file").unwrap_or_default(),
                node: attr(t, "node"),
            })
        })
        .map_or(Maker::Unknown, Maker::Lab)
}

/// Subnet of an `<ip>` start tag: IPv4 only, from `prefix` or `netmask`.
fn ip_subnet(tag: &str) -> Option<Ipv4Net> {
    if attr(tag, "family").is_some_and(|f| f != "ipv4") {
        return None;
    }
    let address: Ipv4Addr = attr(tag, "address")?.parse().ok()?;
    let net = if let Some(prefix) = attr(tag, "prefix") {
        Ipv4Net::new(address, prefix.parse().ok()?).ok()?
    } else if let Some(mask) = attr(tag, "netmask") {
        Ipv4Net::with_netmask(address, mask.parse().ok()?).ok()?
    } else {
        // libvirt's default for an IPv4 address without a prefix: classful.
        let prefix = match address.octets()[0] {
            0..=127 => 8,
            128..=191 => 16,
            _ => 24,
        };
        Ipv4Net::new(address, prefix).ok()?
    };
    Some(net.trunc())
}

/// What `lab` needs to know about a network, from its XML.
pub fn network_info(xml: &str, state: RunState) -> NetworkInfo {
    let name = text(xml, "name").unwrap_or_default();
    let bridge = start_tags(xml, "bridge")
        .first()
        .and_then(|t| attr(t, "name"));
    let subnets = start_tags(xml, "ip")
        .into_iter()
        .filter_map(ip_subnet)
        .collect();
    NetworkInfo {
        name,
        bridge,
        subnets,
        maker: maker(xml),
        state,
    }
}

/// The directory of a storage pool, from its XML `<target><path>`.
/// The `<backingStore><path>` of a volume's XML
/// (<https://libvirt.org/formatstorage.html#storage-volume-xml>): an
/// overlay's backing file; `None` without one.
pub fn backing_path(xml: &str) -> Option<String> {
    let backing = &xml[xml.find("<backingStore>")?..];
    text(backing, "path")
}

pub fn pool_path(xml: &str) -> Option<String> {
    let target = &xml[xml.find("<target>")?..];
    text(target, "path")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volumes_backing_file_is_its_backing_store_path() {
        let overlay = "<volume type='file'>\n  <name>smoke.0a1b.node1.qcow2</name>\n  <target>\n    <path>/pool/smoke.0a1b.node1.qcow2</path>\n    <format type='qcow2'/>\n  </target>\n  <backingStore>\n    <path>/pool/box.debian-12.55e6&amp;.qcow2</path>\n    <format type='qcow2'/>\n  </backingStore>\n</volume>";
        assert_eq!(
            backing_path(overlay).as_deref(),
            Some("/pool/box.debian-12.55e6&.qcow2")
        );
        let plain = "<volume type='file'><name>box.debian-12.55e6.qcow2</name><target><path>/pool/box.debian-12.55e6.qcow2</path></target></volume>";
        assert_eq!(backing_path(plain), None);
    }

    const NET: &str = r#"<network>
  <name>lab-smoke</name>
  <uuid>fcf5598c-ec15-49f8-9904-cbbc9b774f83</uuid>
  <metadata>
    <lab:lab xmlns:lab="https://lab.dev/ns/lab" name="smoke&amp;co"/>
  </metadata>
  <forward mode='nat'/>
  <bridge name='lab-smoke' stp='on' delay='0'/>
  <ip address='10.77.0.1' prefix='24'>
    <dhcp><range start='10.77.0.128' end='10.77.0.254'/></dhcp>
  </ip>
  <ip family='ipv6' address='fd00::1' prefix='64'/>
  <ip address='192.168.5.1' netmask='255.255.255.0'/>
</network>"#;

    #[test]
    fn reads_network_facts() {
        let info = network_info(NET, RunState::Active);
        assert_eq!(info.name, "lab-smoke");
        assert_eq!(info.bridge.as_deref(), Some("lab-smoke"));
        assert_eq!(
            info.subnets,
            vec![
                "10.77.0.0/24".parse::<Ipv4Net>().unwrap(),
                "192.168.5.0/24".parse().unwrap()
            ]
        );
        let Maker::Lab(tag) = info.maker else {
            panic!("{:?}", info.maker)
        };
        assert_eq!(
            (tag.lab.as_str(), tag.instance.as_str(), tag.node),
            ("smoke&co", "", None)
        );
    }

    #[test]
    fn a_lab_like_name_or_foreign_metadata_is_not_ours() {
        let xml = "<network><name>lab-x</name><metadata><lab:lab xmlns:lab='urn:other' name='y'/></metadata><ip address='10.0.0.1'/></network>";
        let info = network_info(xml, RunState::Inactive);
        assert_eq!(info.maker, Maker::Unknown);
        assert_eq!(info.subnets, vec!["10.0.0.0/8".parse::<Ipv4Net>().unwrap()]);
        let info = network_info("<network><name>default</name></network>", RunState::Active);
        assert_eq!(info.maker, Maker::Unknown);
        assert_eq!(info.bridge, None);
    }

    #[test]
    fn reads_domain_metadata() {
        let xml = "<domain><metadata>\n<lab:lab xmlns:lab='https://lab.dev/ns/lab' name='smoke' instance='0a1b' file='/a b/lab.yaml' node='node1'/></metadata></domain>";
        assert_eq!(
            maker(xml),
            Maker::Lab(LabTag {
                lab: "smoke".into(),
                instance: "0a1b".into(),
                file: "/a b/lab.yaml".into(),
                node: Some("node1".into()),
            })
        );
        assert_eq!(maker("<domain/>"), Maker::Unknown);
    }

    #[test]
    fn start_tags_match_whole_names_and_attrs_whole_words() {
        let xml = "<ipx a='1'/><ip address='1.2.3.4' xaddress='no'/>";
        let tags = start_tags(xml, "ip");
        assert_eq!(tags, vec!["<ip address='1.2.3.4' xaddress='no'/>"]);
        assert_eq!(attr(tags[0], "address").as_deref(), Some("1.2.3.4"));
        assert_eq!(attr("<a xaddress='no'/>", "address"), None);
    }

    #[test]
    fn unescapes_entities() {
        assert_eq!(
            unescape("a&lt;b&gt;&amp;&quot;&apos;&#65;&#x42;&bogus;"),
            "a<b>&\"'AB&bogus;"
        );
    }

    #[test]
    fn snapshot_disks_are_the_writable_qcow2_ones() {
        let xml = "<domain><devices>\n<disk type='file' device='disk'>\n<driver name='qemu' type='qcow2' cache='unsafe'/>\n<source file='/p/n1.qcow2'/>\n<target dev='vda' bus='virtio'/>\n</disk>\n<disk type='file' device='disk'>\n<driver name='qemu' type='raw'/>\n<source file='/p/seed.img'/>\n<target dev='vdb' bus='virtio'/>\n<readonly/>\n</disk>\n<disk type='file' device='disk'>\n<driver name='qemu' type='qcow2'/>\n<target dev='vdc' bus='virtio'/>\n<readonly/>\n</disk>\n</devices></domain>";
        assert_eq!(
            snapshot_disks(xml),
            vec![
                ("vda".to_string(), true),
                ("vdb".to_string(), false),
                ("vdc".to_string(), false)
            ]
        );
        assert!(snapshot_disks("<domain/>").is_empty());
    }

    #[test]
    fn reads_pool_path() {
        let xml = "<pool type='dir'><name>lab</name><source>\n</source><target><path>/var/lib/lab</path></target></pool>";
        assert_eq!(pool_path(xml).as_deref(), Some("/var/lib/lab"));
    }
}
