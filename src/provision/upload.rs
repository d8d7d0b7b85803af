//! Copy a local directory to a node: a tar stream (the `tar` crate, so the
//! host needs no `tar` process) written straight into `tar -x` on an SSH
//! channel. The copy replaces the destination as a whole, so files removed
//! locally disappear on the node too. `.lab/` (keys, secrets, state) and
//! `.git/` are never copied; generated files can be added to the stream.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::remote::{self, Remote};
use crate::process::shell_quote;

/// Directory names left out wherever they appear.
pub const EXCLUDED: &[&str] = &[crate::state::STATE_DIR, ".git"];

/// A generated file added to an upload.
#[derive(Debug, Clone)]
pub struct Extra {
    /// Relative to the destination directory.
    pub path: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

/// What an upload sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    pub files: u64,
    pub bytes: u64,
}

/// Write `src` (minus [`EXCLUDED`]) and `extras` as a tar stream to `out`.
pub fn archive(src: &Path, extras: &[Extra], out: impl Write) -> Result<Sent> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let mut sent = Sent::default();
    add_dir(&mut tar, src, Path::new(""), &mut sent)?;
    for e in extras {
        let mut header = tar::Header::new_gnu();
        header.set_size(e.data.len() as u64);
        header.set_mode(e.mode);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        header.set_cksum();
        tar.append_data(&mut header, &e.path, e.data.as_slice())?;
        sent.files += 1;
        sent.bytes += e.data.len() as u64;
    }
    tar.into_inner()?.flush()?;
    Ok(sent)
}

fn add_dir<W: Write>(
    tar: &mut tar::Builder<W>,
    dir: &Path,
    rel: &Path,
    sent: &mut Sent,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let path = entry.path();
        let rel = rel.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if EXCLUDED.iter().any(|x| name == *x) {
                continue;
            }
            tar.append_dir(&rel, &path)
                .with_context(|| format!("cannot add {}", path.display()))?;
            add_dir(tar, &path, &rel, sent)?;
        } else if kind.is_file() || kind.is_symlink() {
            tar.append_path_with_name(&path, &rel)
                .with_context(|| format!("cannot add {}", path.display()))?;
            sent.files += 1;
            if kind.is_file() {
                sent.bytes += entry.metadata()?.len();
            }
        }
        // Sockets, FIFOs and devices are left out.
    }
    Ok(())
}

/// Replace `dest` on `node` with a copy of `src` plus `extras`.
pub fn upload_dir(
    node: &Remote,
    sess: &ssh2::Session,
    src: &Path,
    dest: &str,
    extras: &[Extra],
) -> Result<Sent> {
    let (d, new) = (shell_quote(dest), shell_quote(&format!("{dest}.lab-new")));
    let cmd =
        format!("set -e; rm -rf {new}; mkdir -p {new}; tar -x -C {new}; rm -rf {d}; mv {new} {d}");
    let mut ch = sess.channel_session()?;
    ch.handle_extended_data(ssh2::ExtendedData::Merge)?;
    ch.exec(&cmd)?;
    let written = archive(src, extras, &mut ch);
    // Whatever happened, collect what the node said.
    let _ = ch.send_eof();
    let mut output = Vec::new();
    let _ = remote::read_lines(&mut ch, &mut |l| remote::push_tail(&mut output, l));
    let exit = remote::finish(ch)?;
    if !exit.success() {
        bail!(
            "copying {} to {}:{dest} failed ({exit}):\n{}",
            src.display(),
            node.name,
            remote::tail(&output, remote::TAIL_LINES)
        );
    }
    written.with_context(|| format!("copying {} to {}:{dest} failed", src.display(), node.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    fn unpack(bytes: &[u8]) -> BTreeMap<String, (u32, String)> {
        let mut ar = tar::Archive::new(bytes);
        let mut out = BTreeMap::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let mode = e.header().mode().unwrap() & 0o777;
            let mut text = String::new();
            if e.header().entry_type().is_symlink() {
                text = format!("-> {}", e.link_name().unwrap().unwrap().display());
            } else {
                e.read_to_string(&mut text).unwrap();
            }
            out.insert(path, (mode, text));
        }
        out
    }

    #[test]
    fn archive_copies_the_tree_without_state_and_adds_extras() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("roles/web/tasks")).unwrap();
        std::fs::write(root.join("lab.yaml"), "name: x\n").unwrap();
        std::fs::write(root.join("roles/web/tasks/main.yml"), "- ping:\n").unwrap();
        std::fs::write(root.join("setup.sh"), "echo hi\n").unwrap();
        std::fs::set_permissions(
            root.join("setup.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("setup.sh", root.join("link.sh")).unwrap();
        for hidden in [".lab", ".git", "roles/.lab"] {
            std::fs::create_dir_all(root.join(hidden)).unwrap();
            std::fs::write(root.join(hidden).join("secret"), "x").unwrap();
        }
        let extras = [Extra {
            path: ".lab-secrets.json".into(),
            data: b"{}".to_vec(),
            mode: 0o600,
        }];
        let mut bytes = Vec::new();
        let sent = archive(root, &extras, &mut bytes).unwrap();
        let files = unpack(&bytes);
        assert_eq!(sent.files, 5, "{files:?}");
        assert_eq!(files["lab.yaml"].1, "name: x\n");
        assert_eq!(files["roles/web/tasks/main.yml"].1, "- ping:\n");
        assert_eq!(files["setup.sh"].0, 0o755);
        assert_eq!(files["link.sh"].1, "-> setup.sh");
        assert_eq!(files[".lab-secrets.json"], (0o600, "{}".into()));
        assert!(
            !files
                .keys()
                .any(|k| k.contains(".lab/") || k.contains(".git")),
            "{files:?}"
        );
    }
}
