//! Paths in the domain XML `lab` writes come back from libvirt's own XML
//! parser exactly, for a lab directory with a space, quotes, `&`, `<`, `#`,
//! `%` and a non-ASCII letter (libvirt's `test:///default` driver, in this
//! process; no QEMU, no daemon).

use std::path::{Path, PathBuf};

use lab::backend::xml::domain_xml;
use lab::backend::{Accel, Boot, DiskFormat, DiskSpec, DomainSpec, InterfaceSpec, LabTag};
use virt::connect::Connect;
use virt::sys;

/// `attr='VALUE'` (or `"VALUE"`) of the first element `tag` in `xml`, with
/// XML's five entities and numeric references (libvirt writes non-ASCII in
/// metadata as `&#xFC;`) decoded.
fn attribute(xml: &str, tag: &str, attr: &str) -> String {
    let start = xml
        .find(&format!("<{tag} "))
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"));
    let rest = &xml[start..];
    let at = rest.find(&format!(" {attr}=")).unwrap() + attr.len() + 2;
    let quote = rest[at..].chars().next().unwrap();
    let value = &rest[at + 1..];
    let value = &value[..value.find(quote).unwrap()];
    let mut value = value.to_string();
    while let Some(at) = value.find("&#") {
        let end = at + value[at..].find(';').unwrap();
        let code = &value[at + 2..end];
        let n = match code.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
            None => code.parse().unwrap(),
        };
        value.replace_range(at..=end, &char::from_u32(n).unwrap().to_string());
    }
    value
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[test]
fn odd_lab_paths_survive_libvirts_xml_parser() {
    let dir = PathBuf::from("/tmp/x/my lab/it's \"#1\" <&> %h ü/.lab");
    let spec = DomainSpec {
        name: "lab-odd-node1".into(),
        tag: LabTag {
            lab: "odd".into(),
            instance: "0123456789ab".into(),
            file: dir.join("../lab.yaml").to_str().unwrap().into(),
            node: Some("node1".into()),
        },
        memory_mib: 512,
        vcpus: 1,
        accel: Accel::Tcg,
        boot: Boot::Kernel {
            kernel: dir.join("vmlinuz"),
            initrd: None,
            cmdline: "console=ttyS0".into(),
        },
        disks: vec![DiskSpec {
            path: dir.join("seeds/node1.img"),
            format: DiskFormat::Raw,
            target: "vdb".into(),
            readonly: true,
        }],
        interfaces: vec![InterfaceSpec {
            network: "lab-odd".into(),
            mac: "52:54:00:00:00:01".into(),
        }],
        console_log: dir.join("console/node1.log"),
    };
    let conn = Connect::open(Some("test:///default")).unwrap();
    let dom = conn
        .define_domain_xml_flags(&domain_xml(&spec), sys::VIR_DOMAIN_DEFINE_VALIDATE)
        .unwrap();
    let back = dom.xml_desc(0).unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    assert_eq!(attribute(&back, "log", "file"), path(&spec.console_log));
    assert_eq!(
        attribute(&back, "source", "file"),
        path(&spec.disks[0].path)
    );
    assert_eq!(
        attribute(&back, "lab:lab", "file"),
        spec.tag.file,
        "the lab file in the metadata"
    );
    dom.undefine().unwrap();
}
