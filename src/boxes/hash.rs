//! The recipe hash: sha256 over the generation of lab's own image hygiene
//! ([`super::hygiene::GENERATION`]), a recipe's text and its `files/`
//! overlay (path, mode and content of every file, in sorted order), so any
//! change to either forces a rebuild of the box. A built-in recipe
//! ([`hash_builtin_recipe`]) hashes to the same value as the same files
//! in a directory ([`hash_recipe`]): a box built from the repository's
//! `boxes/` is current for an installed `lab`, and the other way round.

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
    let mut h = start(text);
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

/// [`hash_recipe`] of a built-in recipe: its text and the built-in files
/// below `overlay` (`boxes/NAME/files`, see [`crate::builtin`]), each a
/// regular file with the permission bits it had in the repository.
pub fn hash_builtin_recipe(text: &str, overlay: &str) -> String {
    let mut h = start(text);
    for (rel, f) in crate::builtin::under(overlay) {
        file_header(&mut h, rel, S_IFREG | f.mode);
        h.update(f.data);
    }
    hex::encode(h.finalize())
}

/// The file type bits of a regular file in `st_mode` (stat(2)).
const S_IFREG: u32 = 0o100000;

/// The hash of the recipe text, before its files.
fn start(text: &str) -> Sha256 {
    start_with(super::hygiene::GENERATION, text)
}

/// [`start`] for a given generation of the hygiene.
fn start_with(generation: &str, text: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(b"hygiene\0");
    h.update(generation.as_bytes());
    h.update(b"\0box.yaml\0");
    h.update(text.as_bytes());
    h
}

/// What comes before a file's content: its path relative to the overlay
/// and its whole `st_mode` (type and permission bits) in octal.
fn file_header(h: &mut Sha256, rel: &str, st_mode: u32) {
    h.update(b"\0file\0");
    h.update(rel.as_bytes());
    h.update(format!("\0{st_mode:o}\0").as_bytes());
}

fn hash_file(h: &mut Sha256, overlay: &Path, file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let rel = file.strip_prefix(overlay).unwrap_or(file);
    let meta = std::fs::symlink_metadata(file)?;
    // `mode()` is the whole st_mode: 0o100644 for a regular file.
    file_header(h, &rel.to_string_lossy(), meta.permissions().mode());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_generation_of_the_hygiene_changes_every_recipe_hash() {
        let text = "suite: bookworm\n";
        let now = hex::encode(start(text).finalize());
        let next = format!("{}+1", super::super::hygiene::GENERATION);
        assert_ne!(now, hex::encode(start_with(&next, text).finalize()));
        assert_eq!(
            now,
            hex::encode(start_with(super::super::hygiene::GENERATION, text).finalize())
        );
    }
}
