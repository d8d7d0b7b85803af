use std::path::PathBuf;

use super::*;

const CAPS: &str = "<capabilities>
  <host><cpu><arch>x86_64</arch></cpu></host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/qemu-system-i386</emulator>
    </arch>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <domain type='qemu'/>
    </arch>
  </guest>
</capabilities>";

#[test]
fn versions_read_as_libvirt_writes_them() {
    assert_eq!(version_text(9_000_000), "9.0.0");
    assert_eq!(version_text(7_002_011), "7.2.11");
}

#[test]
fn the_x86_64_emulator_is_found_among_the_guests() {
    assert_eq!(
        x86_64_emulator(CAPS),
        Some(PathBuf::from("/usr/bin/qemu-system-x86_64"))
    );
    // libvirt's test driver offers i686 guests only.
    let test = CAPS.replace("x86_64'", "i686'");
    assert_eq!(x86_64_emulator(&test), None);
    assert_eq!(x86_64_emulator(""), None);
}

#[test]
fn facts_of_the_test_driver() {
    let hv = Libvirt::connect("test:///default").unwrap();
    let facts = hv.facts("default-pool").unwrap();
    assert_eq!(facts.driver, "TEST");
    assert!(facts.libvirt.split('.').count() == 3, "{facts:?}");
    assert_eq!(facts.emulator, None, "the test driver has no x86_64 guest");
    assert!(facts.pool.is_some_and(|p| p.active), "its default-pool");
    assert!(facts.networks.iter().any(|n| n.name == "default"));
    assert_eq!(hv.facts("lab").unwrap().pool, None);
}

#[test]
fn qemu_user_from_the_configuration_or_the_packages_default() {
    let debian = |u: &str| u == "libvirt-qemu";
    let conf = "# user = \"root\"\n#user = \"libvirt-qemu\"\nuser = \"+0\"  # root\n";
    assert_eq!(qemu_user(Some(conf), &debian).as_deref(), Some("+0"));
    assert_eq!(
        qemu_user(Some("#user = \"x\"\n"), &debian).as_deref(),
        Some("libvirt-qemu")
    );
    assert_eq!(qemu_user(None, &|u| u == "qemu").as_deref(), Some("qemu"));
    assert_eq!(qemu_user(None, &|_| false), None);
}
