//! The recipe hash: sha256 over a recipe's text and its `files/` overlay
//! (path, mode and content of every file, in sorted order), so any change
//! to either forces a rebuild of the box.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::limits::ReadError;
use std::io::Read;

/// sha256 of the recipe text and of every file under `overlay` (path, mode,
/// content), in sorted order, so any change forces a rebuild. The overlay
/// may hold directories, regular files and symbolic links (hashed by their
/// target, never followed); anything else (a FIFO, a socket, a device) is
/// refused without being opened. The error names the file.
pub fn hash_recipe(text: &str, overlay: &Path) -> Result<String, ReadError> {
    let mut h = Sha256::new();
    h.update(b"box.yaml\0");
    h.update(text.as_bytes());
    if overlay.is_dir() {
        let mut files = Vec::new();
        collect_files(overlay, &mut files)?;
        files.sort();
        for file in files {
            hash_file(&mut h, overlay, &file).map_err(|err| ReadError::Io { path: file, err })?;
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn hash_file(h: &mut Sha256, overlay: &Path, file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let rel = file.strip_prefix(overlay).unwrap_or(file);
    let meta = std::fs::symlink_metadata(file)?;
    h.update(b"\0file\0");
    h.update(rel.to_string_lossy().as_bytes());
    h.update(format!("\0{:o}\0", meta.permissions().mode()).as_bytes());
    if meta.file_type().is_symlink() {
        h.update(std::fs::read_link(file)?.to_string_lossy().as_bytes());
        return Ok(());
    }
    // Streamed: an overlay may hold large files. A FIFO or device is
    // refused here, unopened for reading content.
    let mut f = crate::limits::open_regular(file)?;
    let mut buf = vec![0; 64 << 10];
    loop {
        match f.read(&mut buf)? {
            0 => return Ok(()),
            n => h.update(&buf[..n]),
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ReadError> {
    let io = |err| ReadError::Io {
        path: dir.to_owned(),
        err,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if entry.file_type().map_err(io)?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
