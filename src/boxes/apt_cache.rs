//! One package cache for every box build: the `.deb` files apt downloaded
//! in earlier builds are hard-linked into a new build's
//! `/var/cache/apt/archives` before mmdebstrap downloads anything, and the
//! build's own are linked back at the end, so a box that shares packages
//! with one built before (every box extends debian-12) downloads only what
//! is new. This is mmdebstrap's own recipe for builds without a caching
//! proxy (mmdebstrap(1), EXAMPLES: `sync-in` / `sync-out` of
//! `/var/cache/apt/archives`), with links instead of copies.
//!
//! apt checks the hash of every file it finds there against the package
//! index and downloads again what does not match, so a file of another
//! mirror or a damaged one costs a download, never a wrong package. A link
//! is made whole or not at all, so builds running at once share the cache
//! safely. Files no build has used for [`KEEP_UNUSED`] are removed at the
//! start of a build (linking a file in or out updates its ctime).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::store::Store;

/// How long a cached package no build used is kept: 30 days.
pub const KEEP_UNUSED: Duration = Duration::from_secs(30 * 24 * 3600);

/// The cache directory of builds of `suite`, inside the store (a dot
/// directory, which the store's listing skips), made 0700 when missing.
pub fn dir(store: &Store, suite: &str) -> Result<PathBuf> {
    let dir = store.root().join(".cache").join("apt").join(suite);
    crate::files::private_dir(&store.root().join(".cache"))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Environment variable the hooks read the cache directory from (a path is
/// never spliced into the hooks' shell text).
pub const ENV: &str = "LAB_APT_CACHE";

/// mmdebstrap options that link the cache in before the first download and
/// the build's packages back out before mmdebstrap cleans up. With
/// `--skip=essential/unlink` the essential packages' files stay until then.
/// A cache on another file system than the build falls back to copies.
pub fn mmdebstrap_args() -> Vec<String> {
    let archives = "\"$1\"/var/cache/apt/archives";
    vec![
        "--skip=essential/unlink".into(),
        format!(
            "--setup-hook=mkdir -p {archives} && for f in \"${ENV}\"/*.deb; do [ -e \"$f\" ] || continue; ln \"$f\" {archives}/ 2>/dev/null || cp \"$f\" {archives}/; done"
        ),
        format!(
            "--customize-hook=for f in {archives}/*.deb; do [ -e \"$f\" ] || continue; n=\"${ENV}/${{f##*/}}\"; [ -e \"$n\" ] || ln \"$f\" \"$n\" 2>/dev/null || {{ cp \"$f\" \"$n.part.$$\" && mv \"$n.part.$$\" \"$n\"; }}; done"
        ),
    ]
}

/// Remove the cached packages no build has linked for [`KEEP_UNUSED`] (as
/// of `now`); how many were removed. Unreadable entries are left alone.
pub fn prune(dir: &Path, now: SystemTime) -> usize {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let changed = SystemTime::UNIX_EPOCH + Duration::from_secs(meta.ctime().max(0) as u64);
        let stale = now
            .duration_since(changed)
            .is_ok_and(|age| age > KEEP_UNUSED);
        if meta.is_file() && stale && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_removes_only_packages_unused_for_longer_than_kept() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a_1_amd64.deb"), "x").unwrap();
        std::fs::write(tmp.path().join("b_1_amd64.deb"), "x").unwrap();
        // Just linked: kept, whatever "now" is within the period.
        let soon = SystemTime::now() + KEEP_UNUSED - Duration::from_secs(60);
        assert_eq!(prune(tmp.path(), soon), 0);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2);
        // Unused for longer: both go.
        let later = SystemTime::now() + KEEP_UNUSED + Duration::from_secs(60);
        assert_eq!(prune(tmp.path(), later), 2);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn prune_of_a_missing_directory_removes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(prune(&tmp.path().join("none"), SystemTime::now()), 0);
    }

    /// The hooks, run by sh as mmdebstrap runs them (`$1` the root
    /// directory): packages are linked in, and new ones back out.
    #[test]
    fn hooks_link_packages_in_and_out() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache dir");
        let root = tmp.path().join("root");
        std::fs::create_dir_all(&cache).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(cache.join("old_1_amd64.deb"), "old").unwrap();
        let args = mmdebstrap_args();
        let hook = |prefix: &str| -> String {
            args.iter()
                .find_map(|a| a.strip_prefix(prefix))
                .unwrap()
                .to_string()
        };
        let run = |script: &str| {
            let ok = std::process::Command::new("sh")
                .args(["-ec", script, "sh"])
                .arg(&root)
                .env(ENV, &cache)
                .status()
                .unwrap()
                .success();
            assert!(ok, "{script}");
        };
        run(&hook("--setup-hook="));
        let archives = root.join("var/cache/apt/archives");
        assert_eq!(
            std::fs::read_to_string(archives.join("old_1_amd64.deb")).unwrap(),
            "old"
        );
        std::fs::write(archives.join("new_2_amd64.deb"), "new").unwrap();
        run(&hook("--customize-hook="));
        assert_eq!(
            std::fs::read_to_string(cache.join("new_2_amd64.deb")).unwrap(),
            "new"
        );
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
        // An empty cache and an empty archive directory are no error.
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let ok = std::process::Command::new("sh")
            .args(["-ec", &hook("--setup-hook="), "sh"])
            .arg(&root)
            .env(ENV, &empty)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}
