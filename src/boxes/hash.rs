//! The recipe hash: sha256 over a recipe's text and its `files/` overlay
//! (path, mode and content of every file, in sorted order), so any change
//! to either forces a rebuild of the box.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// sha256 of the recipe text and of every file under `overlay` (path, mode,
/// content), in sorted order, so any change forces a rebuild.
pub fn hash_recipe(text: &str, overlay: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    h.update(b"box.yaml\0");
    h.update(text.as_bytes());
    if overlay.is_dir() {
        let mut files = Vec::new();
        collect_files(overlay, &mut files)?;
        files.sort();
        for file in files {
            use std::os::unix::fs::PermissionsExt;
            let rel = file.strip_prefix(overlay).unwrap_or(&file);
            let meta = std::fs::symlink_metadata(&file)?;
            h.update(b"\0file\0");
            h.update(rel.to_string_lossy().as_bytes());
            h.update(format!("\0{:o}\0", meta.permissions().mode()).as_bytes());
            if meta.file_type().is_symlink() {
                h.update(std::fs::read_link(&file)?.to_string_lossy().as_bytes());
            } else {
                // Streamed: an overlay may hold large files.
                use std::io::Read;
                let mut f = std::fs::File::open(&file)?;
                let mut buf = vec![0; 64 << 10];
                loop {
                    match f.read(&mut buf)? {
                        0 => break,
                        n => h.update(&buf[..n]),
                    }
                }
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
