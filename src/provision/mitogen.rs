//! Mitogen for Ansible (PyPI `mitogen`, <https://mitogen.networkgenomics.com/ansible_detailed.html>):
//! a strategy plugin that keeps one Python interpreter per host for the
//! whole run instead of starting one (and unpacking the module) for every
//! task. Under TCG that start is most of a task's cost: measured on the
//! four django-ha guests from this machine, a `stat` took 23 s for the four
//! hosts with Ansible's linear strategy and 2.4 s with Mitogen, a `copy`
//! 50 s and 3.8 s (README, "The lab file", `mitogen:`).
//!
//! `lab` takes Mitogen from the host: `$LAB_MITOGEN`, else
//! [`INSTALL_DIR`] (where `scripts/setup-host` puts it with `pip install
//! --target`), a directory holding the packages `mitogen` and
//! `ansible_mitogen`. Debian 12's `ansible-mitogen` (0.3.3) is not used:
//! it cannot pass the `!unsafe` values of lab's inventory (its services
//! refuse to unpickle `AnsibleUnsafeText`). A controller node gets a copy
//! under [`ON_NODE`], sent again only when the host's version changes.
//! The run selects it through Ansible's environment
//! (`ANSIBLE_STRATEGY_PLUGINS`, `ANSIBLE_STRATEGY=mitogen_linear`), so a
//! play that names its own `strategy:` keeps it.

use std::path::{Path, PathBuf};

/// Where `scripts/setup-host` installs Mitogen (`pip install --target`).
pub const INSTALL_DIR: &str = "/usr/local/lib/lab/mitogen";
/// Environment variable naming another installation directory.
pub const ENV_DIR: &str = "LAB_MITOGEN";
/// The copy on a controller node, relative to its user's home.
pub const ON_NODE: &str = ".cache/lab-mitogen";
/// The strategy `lab` selects.
pub const STRATEGY: &str = "mitogen_linear";

/// A Mitogen installation found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mitogen {
    /// The directory holding `mitogen/` and `ansible_mitogen/`.
    pub dir: PathBuf,
    /// Its version as pip recorded it (`mitogen-X.Y.Z.dist-info`), or
    /// `unknown`: decides whether a controller node's copy is current.
    pub version: String,
}

impl Mitogen {
    /// Ansible's environment for a run with Mitogen installed in `dir`
    /// (a path where ansible-playbook runs: this machine's or a node's).
    pub fn env(dir: &str) -> [(&'static str, String); 2] {
        [
            (
                "ANSIBLE_STRATEGY_PLUGINS",
                format!("{dir}/ansible_mitogen/plugins/strategy"),
            ),
            ("ANSIBLE_STRATEGY", STRATEGY.to_string()),
        ]
    }
}

/// Mitogen on this machine: `$LAB_MITOGEN` when set (even if it holds no
/// Mitogen: then none), else [`INSTALL_DIR`].
pub fn find() -> Option<Mitogen> {
    match std::env::var_os(ENV_DIR) {
        Some(dir) if !dir.is_empty() => at(Path::new(&dir)),
        _ => at(Path::new(INSTALL_DIR)),
    }
}

/// The Mitogen installed in `dir`, if its strategy plugin and core are there.
pub fn at(dir: &Path) -> Option<Mitogen> {
    let complete = dir
        .join("ansible_mitogen/plugins/strategy")
        .join(format!("{STRATEGY}.py"))
        .is_file()
        && dir.join("mitogen/core.py").is_file();
    if !complete {
        return None;
    }
    let version = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let v = name.strip_prefix("mitogen-")?.strip_suffix(".dist-info")?;
            Some(v.to_string())
        })
        .max()
        .unwrap_or_else(|| "unknown".into());
    Some(Mitogen {
        dir: dir.to_path_buf(),
        version,
    })
}

/// What `lab` says when a lab wants Mitogen and this machine has none.
pub fn missing_note() -> String {
    format!(
        "ansible: Mitogen for Ansible not found (${ENV_DIR} or {INSTALL_DIR}); the playbook runs with Ansible's linear strategy, several times slower under emulation. Install it with: pip3 install --target {INSTALL_DIR} mitogen (or set `mitogen: false` under provision: to silence this)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(dir: &Path, version: Option<&str>) {
        std::fs::create_dir_all(dir.join("ansible_mitogen/plugins/strategy")).unwrap();
        std::fs::create_dir_all(dir.join("mitogen")).unwrap();
        std::fs::write(
            dir.join("ansible_mitogen/plugins/strategy/mitogen_linear.py"),
            "",
        )
        .unwrap();
        std::fs::write(dir.join("mitogen/core.py"), "").unwrap();
        if let Some(v) = version {
            std::fs::create_dir_all(dir.join(format!("mitogen-{v}.dist-info"))).unwrap();
        }
    }

    #[test]
    fn an_installation_needs_the_strategy_and_the_core() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(at(tmp.path()), None);
        install(tmp.path(), Some("0.3.54"));
        let m = at(tmp.path()).unwrap();
        assert_eq!(m.version, "0.3.54");
        std::fs::remove_file(tmp.path().join("mitogen/core.py")).unwrap();
        assert_eq!(at(tmp.path()), None);
    }

    #[test]
    fn an_installation_without_pip_metadata_has_an_unknown_version() {
        let tmp = tempfile::tempdir().unwrap();
        install(tmp.path(), None);
        assert_eq!(at(tmp.path()).unwrap().version, "unknown");
    }

    #[test]
    fn the_environment_points_ansible_at_the_strategy() {
        let env = Mitogen::env("/home/lab/.cache/lab-mitogen");
        assert_eq!(
            env[0],
            (
                "ANSIBLE_STRATEGY_PLUGINS",
                "/home/lab/.cache/lab-mitogen/ansible_mitogen/plugins/strategy".to_string()
            )
        );
        assert_eq!(env[1], ("ANSIBLE_STRATEGY", "mitogen_linear".to_string()));
    }
}
