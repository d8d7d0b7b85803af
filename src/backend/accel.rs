//! Which accelerator a domain uses, and `accel: auto` detection.
//!
//! KVM is used only when the CPU advertises hardware virtualisation (`vmx`
//! or `svm` in `/proc/cpuinfo`) and `/dev/kvm` opens read-write. A KVM
//! without them (e.g. PVM-only KVM in a cloud VM) hangs stock kernels, so
//! anything else falls back to QEMU's TCG software emulation.

use std::fmt;
use std::path::Path;

/// How QEMU runs guest code. Serialised as `kvm` / `tcg` (lab state, `--json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation through /dev/kvm.
    Kvm,
    /// QEMU's software emulation (Tiny Code Generator).
    Tcg,
}

impl Accel {
    /// The libvirt `<domain type='...'>` for this accelerator.
    pub fn domain_type(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "qemu",
        }
    }
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        })
    }
}

/// What the host offers, as read from the system (injectable for tests).
#[derive(Debug, Clone, Default)]
pub struct HostProbe {
    /// Contents of /proc/cpuinfo (empty if unreadable).
    pub cpuinfo: String,
    /// Whether /dev/kvm opened read-write.
    pub kvm_rw: bool,
    /// Whether the PVM flavour of KVM is loaded (/sys/module/kvm_pvm).
    pub kvm_pvm: bool,
}

impl HostProbe {
    /// Read this host.
    pub fn read() -> Self {
        HostProbe {
            cpuinfo: std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(),
            kvm_rw: std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/kvm")
                .is_ok(),
            kvm_pvm: Path::new("/sys/module/kvm_pvm").exists(),
        }
    }
}

/// The hardware virtualisation flag in a cpuinfo text (`vmx` for Intel,
/// `svm` for AMD), looked up in the `flags` lines only.
pub fn virt_flag(cpuinfo: &str) -> Option<&'static str> {
    for line in cpuinfo.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim() != "flags" {
            continue;
        }
        for flag in value.split_whitespace() {
            match flag {
                "vmx" => return Some("vmx"),
                "svm" => return Some("svm"),
                _ => {}
            }
        }
    }
    None
}

/// Decide the accelerator for `accel: auto` from `probe`, with the reason.
pub fn decide(probe: &HostProbe) -> (Accel, String) {
    match (virt_flag(&probe.cpuinfo), probe.kvm_rw) {
        (Some(flag), true) => (Accel::Kvm, format!("CPU has {flag} and /dev/kvm is usable")),
        (Some(flag), false) => (
            Accel::Tcg,
            format!("CPU has {flag} but /dev/kvm cannot be opened read-write"),
        ),
        (None, kvm) => {
            let mut reason = String::from("no vmx/svm in /proc/cpuinfo");
            if probe.kvm_pvm {
                reason.push_str(" (PVM-only KVM)");
            } else if kvm {
                reason.push_str(" (/dev/kvm exists but cannot run stock kernels)");
            }
            (Accel::Tcg, reason)
        }
    }
}

/// Decide the accelerator for `accel: auto` on this host, with the reason.
pub fn detect() -> (Accel, String) {
    decide(&HostProbe::read())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTEL: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme sse2 vmx ept\nbugs\t\t: spectre_v1\n";
    const AMD: &str = "processor\t: 0\nflags\t\t: fpu svm npt\n";
    const PLAIN: &str =
        "processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor\nmodel name\t: vmx-lookalike\n";

    fn probe(cpuinfo: &str, kvm_rw: bool, kvm_pvm: bool) -> HostProbe {
        HostProbe {
            cpuinfo: cpuinfo.into(),
            kvm_rw,
            kvm_pvm,
        }
    }

    #[test]
    fn flags_are_read_from_flags_lines_only() {
        assert_eq!(virt_flag(INTEL), Some("vmx"));
        assert_eq!(virt_flag(AMD), Some("svm"));
        assert_eq!(virt_flag(PLAIN), None);
        assert_eq!(virt_flag(""), None);
    }

    #[test]
    fn kvm_needs_flag_and_device() {
        assert_eq!(decide(&probe(INTEL, true, false)).0, Accel::Kvm);
        assert_eq!(decide(&probe(AMD, true, false)).0, Accel::Kvm);
        let (a, why) = decide(&probe(INTEL, false, false));
        assert_eq!(a, Accel::Tcg);
        assert!(why.contains("/dev/kvm"), "{why}");
    }

    #[test]
    fn pvm_only_kvm_falls_back_to_tcg() {
        let (a, why) = decide(&probe(PLAIN, true, true));
        assert_eq!(a, Accel::Tcg);
        assert_eq!(why, "no vmx/svm in /proc/cpuinfo (PVM-only KVM)");
        let (a, why) = decide(&probe(PLAIN, false, false));
        assert_eq!(a, Accel::Tcg);
        assert_eq!(why, "no vmx/svm in /proc/cpuinfo");
    }

    #[test]
    fn detect_on_this_host_gives_a_reason() {
        let (_, why) = detect();
        assert!(!why.is_empty());
    }

    #[test]
    fn domain_types() {
        assert_eq!(Accel::Kvm.domain_type(), "kvm");
        assert_eq!(Accel::Tcg.domain_type(), "qemu");
    }
}
