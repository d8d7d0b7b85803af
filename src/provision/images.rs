//! `provision.images`: boxes of `format: rootfs` (root filesystem tarballs
//! for `docker import`) that a playbook needs. `lab` builds them natively
//! on the host (seconds to a few minutes, against a quarter of an hour for
//! mmdebstrap inside an emulated guest), keeps them in the box store like
//! any box, and puts them where the controller reads them: on a controller
//! node under `~/.cache/lab-images/` (uploaded once per content), on the
//! host straight from the store. The playbook finds each one in the
//! variable `lab_images`: `{NAME: {path: ..., sha256: ...}}`.

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::Run;
use super::remote::{self, Remote};
use crate::boxes::{self, Format, Store, StoredBox};
use crate::process::shell_quote;
use crate::ui::table::fmt_bytes;

/// Where images go on a controller node, under its user's home.
pub const REMOTE_DIR: &str = ".cache/lab-images";

/// An image as the controller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub name: String,
    /// Path on the controller.
    pub path: String,
    pub sha256: String,
}

/// Build (or reuse) every image in `names` on the host; each must be a
/// `format: rootfs` box.
pub fn build(run: &Run, names: &[String]) -> Result<Vec<StoredBox>> {
    let store = Store::default_location();
    names
        .iter()
        .map(|name| {
            boxes::ensure(
                &store,
                run.lab.dir(),
                name,
                Format::Rootfs,
                &crate::ui::nodes::Notes(run.rep, name.clone()),
            )
        })
        .collect()
}

/// The images where a host controller reads them: in the store.
pub fn on_host(built: &[StoredBox]) -> Vec<Image> {
    built
        .iter()
        .map(|b| Image {
            name: b.meta.name.clone(),
            path: b.artifact().display().to_string(),
            sha256: b.meta.disk_sha256.clone(),
        })
        .collect()
}

/// File name of an image on a controller node: its content decides it, so
/// a changed image is uploaded again and an unchanged one never is.
pub fn remote_name(b: &StoredBox) -> String {
    let sha = &b.meta.disk_sha256;
    format!("{}-{}.tar.gz", b.meta.name, &sha[..12.min(sha.len())])
}

/// Upload what the controller node lacks; remove its older copies.
pub fn upload(
    run: &Run,
    ctrl: &Remote,
    sess: &ssh2::Session,
    built: &[StoredBox],
) -> Result<Vec<Image>> {
    let dir = format!("{}/{REMOTE_DIR}", ctrl.home());
    let mut images = Vec::new();
    for b in built {
        let file = remote_name(b);
        let path = format!("{dir}/{file}");
        let present = remote::exec_lines(
            sess,
            &format!("test -s {}", shell_quote(&path)),
            &[],
            &mut |_| {},
        )?;
        if present.success() {
            run.rep.note(&format!(
                "image {}: already on {} ({path})",
                b.meta.name, ctrl.name
            ));
        } else {
            let local = b.artifact();
            let size = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
            run.rep.phase(
                &ctrl.name,
                &format!("uploading image {} ({})", b.meta.name, fmt_bytes(size)),
            );
            let mut f = crate::limits::open_regular(&local)
                .with_context(|| format!("cannot open {}", local.display()))?;
            remote::write_file_from(sess, &path, &mut f, 0o644)
                .with_context(|| format!("cannot upload image {} to {}", b.meta.name, ctrl.name))?;
            run.rep.note(&format!(
                "image {}: uploaded to {} ({path})",
                b.meta.name, ctrl.name
            ));
        }
        let stale = format!(
            "find {} -maxdepth 1 -name {} ! -name {} -delete",
            shell_quote(&dir),
            shell_quote(&format!("{}-*.tar.gz", b.meta.name)),
            shell_quote(&file)
        );
        remote::exec_ok(sess, &stale, &[])?;
        images.push(Image {
            name: b.meta.name.clone(),
            path,
            sha256: b.meta.disk_sha256.clone(),
        });
    }
    Ok(images)
}

/// The `lab_images` variable.
pub fn vars(images: &[Image]) -> Value {
    let map: Map<String, Value> = images
        .iter()
        .map(|i| (i.name.clone(), json!({"path": i.path, "sha256": i.sha256})))
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boxes::BoxMeta;

    fn stored(name: &str, sha: &str) -> StoredBox {
        let meta: BoxMeta = serde_json::from_value(json!({
            "name": name, "version": "1", "format": "rootfs", "recipe_hash": "h",
            "disk_sha256": sha, "disk_gib": 0, "cmdline": "", "user": "",
            "built_at": 0, "build_seconds": 1, "suite": "bookworm",
            "packages": ["python3"], "installed_packages": 90
        }))
        .unwrap();
        StoredBox {
            meta,
            dir: format!("/store/{name}").into(),
        }
    }

    #[test]
    fn remote_name_follows_content() {
        let a = stored("django-base", "0123456789abcdef0123");
        assert_eq!(remote_name(&a), "django-base-0123456789ab.tar.gz");
        assert_ne!(
            remote_name(&a),
            remote_name(&stored("django-base", "ffff456789abcdef0123"))
        );
    }

    #[test]
    fn host_images_are_read_from_the_store_and_become_one_variable() {
        let images = on_host(&[stored("django-base", "abc"), stored("other", "def")]);
        assert_eq!(images[0].path, "/store/django-base/rootfs.tar.gz");
        assert_eq!(
            vars(&images),
            json!({
                "django-base": {"path": "/store/django-base/rootfs.tar.gz", "sha256": "abc"},
                "other": {"path": "/store/other/rootfs.tar.gz", "sha256": "def"}
            })
        );
        assert_eq!(vars(&[]), json!({}));
    }
}
