//! The lab's generated secrets: passwords and keys for the services the
//! provisioner sets up, created on first need from the OS random source
//! and kept in `.lab/secrets.json` (mode 0600), so they stay the same
//! across `lab provision` runs and differ between labs. Nothing here
//! prints them; only `lab secrets` does, when asked. Which secrets: those
//! the lab file declares (`secrets:`), else the [`DEFAULT`] set.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};

use crate::state::{SECRETS_FILE, StateDir, write_atomic};

/// The secrets of a lab that declares none, with their length in
/// characters (the flagship lab's services).
pub const DEFAULT: &[(&str, usize)] = &[
    ("db_root_password", 32),
    ("db_app_password", 32),
    ("db_replication_password", 32),
    ("db_exporter_password", 32),
    ("haproxy_stats_password", 32),
    ("django_secret_key", 50),
    ("grafana_admin_password", 32),
];

/// Length of a secret the lab file declares, in characters.
pub const DECLARED_LENGTH: usize = 32;

/// The secrets `lab` has, with their lengths: the lab's `secrets:` (each
/// [`DECLARED_LENGTH`]), else [`DEFAULT`].
pub fn wanted(lab: &crate::spec::Lab) -> Vec<(String, usize)> {
    match &lab.secrets {
        Some(names) => names.iter().map(|n| (n.clone(), DECLARED_LENGTH)).collect(),
        None => DEFAULT.iter().map(|(n, l)| (n.to_string(), *l)).collect(),
    }
}

/// Characters of generated secrets: safe in URLs, shells, YAML and SQL
/// without quoting.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Secret names and values. `Debug` shows the names only.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets(BTreeMap<String, String>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Secrets {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// `{NAME: VALUE, ...}`, as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.0).expect("strings serialise") + "\n"
    }

    /// `{"lab_secrets": {NAME: VALUE, ...}}`: the extra-vars file Ansible
    /// reads with `-e @FILE`.
    pub fn ansible_vars(&self) -> String {
        let doc = serde_json::json!({ "lab_secrets": self.0 });
        serde_json::to_string_pretty(&doc).expect("strings serialise") + "\n"
    }
}

/// The lab's secrets as stored, or `None` before they were generated. A
/// file others may read or change (or not this user's, or not a regular
/// file) is refused, never used or tightened as found: someone may know
/// the secrets, or have put their own.
pub fn load(sd: &StateDir) -> Result<Option<Secrets>> {
    let path = sd.file(SECRETS_FILE);
    if !crate::files::check_private(
        &path,
        0o077,
        "the lab's secrets file",
        "take the secrets as known: remove the file, and destroy and bring up the lab again (services already set up keep the old ones)",
    )? {
        return Ok(None);
    }
    match crate::limits::read_to_string(&path, crate::limits::OWN_JSON_FILE) {
        Ok(text) => serde_json::from_str(&text).map(|m| Some(Secrets(m))).with_context(|| {
            format!(
                "{} is damaged (expected a JSON object of strings); fix it, or remove it to generate new secrets (services already set up keep the old ones)",
                path.display()
            )
        }),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The lab's secrets: read from `.lab/secrets.json`, any `wanted` (name,
/// length in characters) missing generated and the file (re)written, mode
/// 0600. Secrets stored but no longer wanted are kept.
pub fn ensure(sd: &StateDir, wanted: &[(String, usize)]) -> Result<Secrets> {
    let path = sd.file(SECRETS_FILE);
    let mut map = load(sd)?.map(|s| s.0).unwrap_or_default();
    let mut changed = false;
    for (name, len) in wanted {
        if !map.contains_key(name) {
            map.insert(name.clone(), random_token(*len)?);
            changed = true;
        }
    }
    let secrets = Secrets(map);
    if changed {
        sd.create()?;
        write_atomic(&path, secrets.to_json().as_bytes(), 0o600)?;
    }
    Ok(secrets)
}

/// `len` characters from [`ALPHABET`], uniformly (rejection sampling).
pub fn random_token(len: usize) -> Result<String> {
    // The largest multiple of the alphabet size that fits in a byte.
    let limit = 256 - 256 % ALPHABET.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)
            .map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
        for b in buf {
            if (b as usize) < limit && out.len() < len {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn default() -> Vec<(String, usize)> {
        DEFAULT.iter().map(|(n, l)| (n.to_string(), *l)).collect()
    }

    #[test]
    fn secrets_are_generated_once_private_and_stable() {
        let tmp = tempfile::tempdir().unwrap();
        let sd = StateDir::for_lab_dir(tmp.path());
        let first = ensure(&sd, &default()).unwrap();
        let path = sd.file(SECRETS_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        for (name, len) in DEFAULT {
            let v = first.get(name).unwrap();
            assert_eq!(v.len(), *len, "{name}");
            assert!(v.bytes().all(|b| b.is_ascii_alphanumeric()), "{name}: {v}");
        }
        assert_eq!(first.get("django_secret_key").unwrap().len(), 50);
        let before = std::fs::read(&path).unwrap();
        assert_eq!(
            ensure(&sd, &default()).unwrap(),
            first,
            "stable across runs"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before, "not rewritten");
        let all: std::collections::BTreeSet<&str> =
            DEFAULT.iter().map(|(n, _)| first.get(n).unwrap()).collect();
        assert_eq!(all.len(), DEFAULT.len(), "all different");
    }

    #[test]
    fn a_lab_gets_the_secrets_it_declares_and_no_others() {
        let src = "name: t\nbox: debian-12\nnetwork: {subnet: 10.77.30.0/24}\nnodes:\n  node1: {ip: 10.77.30.21}\nsecrets: [notes_db_password, api_token]\n";
        let ctx = crate::spec::Context::any_box();
        let lab = crate::spec::parse_str(src, "lab.yaml", &ctx).unwrap();
        let wanted = wanted(&lab);
        assert_eq!(
            wanted,
            [
                ("notes_db_password".to_string(), DECLARED_LENGTH),
                ("api_token".to_string(), DECLARED_LENGTH)
            ]
        );
        let tmp = tempfile::tempdir().unwrap();
        let sd = StateDir::for_lab_dir(tmp.path());
        let s = ensure(&sd, &wanted).unwrap();
        assert_eq!(
            s.names().collect::<Vec<_>>(),
            ["api_token", "notes_db_password"]
        );
        assert_eq!(s.get("api_token").unwrap().len(), 32);
        assert_ne!(s.get("api_token"), s.get("notes_db_password"));
    }

    #[test]
    fn missing_secrets_are_added_and_others_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let sd = StateDir::for_lab_dir(tmp.path());
        sd.create().unwrap();
        write_atomic(
            &sd.file(SECRETS_FILE),
            br#"{"db_root_password": "kept", "custom": "mine"}"#,
            0o600,
        )
        .unwrap();
        let s = ensure(&sd, &default()).unwrap();
        assert_eq!(s.get("db_root_password"), Some("kept"));
        assert_eq!(s.get("custom"), Some("mine"));
        assert_eq!(s.get("grafana_admin_password").unwrap().len(), 32);
        let mode = std::fs::metadata(sd.file(SECRETS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn secrets_others_may_read_or_change_are_refused_not_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let sd = StateDir::for_lab_dir(tmp.path());
        let first = ensure(&sd, &default()).unwrap();
        let path = sd.file(SECRETS_FILE);
        for mode in [0o666, 0o640, 0o602] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let who = if mode & 0o044 == 0 {
                "changed"
            } else if mode & 0o022 == 0 {
                "read"
            } else {
                "read or changed"
            };
            let msg = format!("{:#}", ensure(&sd, &default()).unwrap_err());
            assert_eq!(
                msg,
                format!(
                    "the lab's secrets file {0} can be {who} by other users (mode {mode:04o}), so lab will not use it; if nobody else could have {who} it, run `chmod 600 {0}`, otherwise take the secrets as known: remove the file, and destroy and bring up the lab again (services already set up keep the old ones)",
                    path.display()
                )
            );
            assert!(load(&sd).is_err(), "`lab secrets` refuses it too");
            let left = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(left, mode, "left as found");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(ensure(&sd, &default()).unwrap(), first);
    }

    #[test]
    fn damaged_file_is_an_error_not_a_reset() {
        let tmp = tempfile::tempdir().unwrap();
        let sd = StateDir::for_lab_dir(tmp.path());
        sd.create().unwrap();
        write_atomic(&sd.file(SECRETS_FILE), b"[1, 2]", 0o600).unwrap();
        let msg = format!("{:#}", ensure(&sd, &default()).unwrap_err());
        assert!(msg.contains("is damaged"), "{msg}");
    }

    #[test]
    fn oversized_file_is_refused_with_a_sentence() {
        let tmp = tempfile::tempdir().unwrap();
        let sd = StateDir::for_lab_dir(tmp.path());
        sd.create().unwrap();
        let path = sd.file(SECRETS_FILE);
        let text = format!("{{\"a\": \"{}\"}}", "x".repeat(2 << 20));
        write_atomic(&path, text.as_bytes(), 0o600).unwrap();
        let msg = format!("{:#}", load(&sd).unwrap_err());
        assert!(
            msg.starts_with(&format!(
                "{} is 2097161 bytes, more than the 1 MiB",
                path.display()
            )),
            "{msg}"
        );
    }

    #[test]
    fn debug_hides_values_and_ansible_vars_wrap_them() {
        let s = Secrets(BTreeMap::from([("a".to_string(), "hunter2".to_string())]));
        assert_eq!(format!("{s:?}"), r#"{"a"}"#);
        let v: serde_json::Value = serde_json::from_str(&s.ansible_vars()).unwrap();
        assert_eq!(v, serde_json::json!({"lab_secrets": {"a": "hunter2"}}));
    }

    #[test]
    fn tokens_have_the_length_asked_and_vary() {
        let a = random_token(24).unwrap();
        assert_eq!(a.len(), 24);
        assert_ne!(a, random_token(24).unwrap());
        assert_eq!(random_token(200).unwrap().len(), 200);
    }
}
