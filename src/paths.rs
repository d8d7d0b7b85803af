//! Where `lab` keeps things on the host: `$LAB_HOME` (boxes) and the box
//! recipes shipped with the project.

use std::path::{Path, PathBuf};

/// `$LAB_HOME`, else `$XDG_DATA_HOME/lab`, else `~/.local/share/lab`.
pub fn lab_home() -> PathBuf {
    if let Some(home) = std::env::var_os("LAB_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(data).join("lab");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| "/".into());
    home.join(".local/share/lab")
}

/// The box store: `$LAB_HOME/boxes`.
pub fn boxes_dir() -> PathBuf {
    lab_home().join("boxes")
}

/// Directories searched for box recipes (`NAME/box.yaml`), in order:
/// `$LAB_BOXES_PATH` (colon-separated), `boxes/` in `start` or any ancestor,
/// then `boxes/` beside the `lab` executable or any of its ancestors (so a
/// binary in `target/debug` finds the repository's recipes).
pub fn recipe_dirs(start: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = std::env::var_os("LAB_BOXES_PATH") {
        dirs.extend(std::env::split_paths(&p).filter(|p| !p.as_os_str().is_empty()));
    }
    let mut push_ancestors = |from: &Path| {
        for dir in from.ancestors() {
            let candidate = dir.join("boxes");
            if candidate.is_dir() && !dirs.contains(&candidate) {
                dirs.push(candidate);
                break;
            }
        }
    };
    if let Ok(abs) = std::path::absolute(start) {
        push_ancestors(&abs);
    }
    if let Ok(exe) = std::env::current_exe() {
        push_ancestors(&exe);
    }
    dirs
}
