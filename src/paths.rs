//! Where `lab` keeps things on the host: `$LAB_HOME` (boxes) and the box
//! recipes shipped with the project; and which paths the programs `lab`
//! hands paths to (ssh, libvirt, Ansible) cannot take at all.

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

/// Refuse a path that one of the programs `lab` hands paths to cannot
/// take at all, before anything is created. `what` names the path in the
/// message (`the lab directory`). What is refused, and why:
/// - bytes that are not UTF-8: libvirt's XML (console log paths) and
///   Ansible's inventory are text;
/// - control characters (newline, tab, ...): OpenSSH's config is read line
///   by line and XML 1.0 cannot carry most of them;
/// - `${`: OpenSSH expands `${NAME}` from the environment in IdentityFile
///   and UserKnownHostsFile and has no escape for it (`%` has one, `%%`).
///
/// Spaces, quotes, `#`, `%`, `\` and non-ASCII letters are fine: each
/// program gets them quoted its own way.
pub fn check_for_programs(what: &str, path: &Path) -> anyhow::Result<()> {
    let Some(text) = path.to_str() else {
        anyhow::bail!(
            "{what} {} is not valid UTF-8, which libvirt's XML and Ansible's files cannot carry; rename or move it to a path of UTF-8 characters",
            path.display()
        );
    };
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        anyhow::bail!(
            "{what} {text:?} contains {}, which OpenSSH's config lines and libvirt's XML cannot carry; rename or move it",
            char_name(c)
        );
    }
    if text.contains("${") {
        anyhow::bail!(
            "{what} {text} contains `${{`, which OpenSSH reads as an environment variable in key and known_hosts paths (it has no escape for it); rename or move it"
        );
    }
    Ok(())
}

/// [`check_for_programs`] for the directory of a lab file, made absolute
/// as ssh, libvirt and Ansible are given the paths under it (the key,
/// known_hosts, console logs, inventory).
pub fn check_lab_path(lab_dir: &Path) -> anyhow::Result<()> {
    let dir = std::path::absolute(lab_dir).unwrap_or_else(|_| lab_dir.to_path_buf());
    check_for_programs("the lab directory", &dir)
}

/// `a newline (U+000A)`, `the control character U+001B`.
fn char_name(c: char) -> String {
    let code = format!("U+{:04X}", c as u32);
    match c {
        '\n' => format!("a newline ({code})"),
        '\r' => format!("a carriage return ({code})"),
        '\t' => format!("a tab ({code})"),
        _ => format!("the control character {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn odd_but_quotable_paths_pass() {
        check_lab_path(Path::new("/tmp/x/my lab/it's #1 %h ü \"q\" \\ $HOME {}")).unwrap();
    }

    #[test]
    fn paths_no_program_can_take_are_refused_naming_path_and_character() {
        let msg = check_lab_path(Path::new("/tmp/a\nb")).unwrap_err().to_string();
        assert_eq!(
            msg,
            "the lab directory \"/tmp/a\\nb\" contains a newline (U+000A), which OpenSSH's config lines and libvirt's XML cannot carry; rename or move it"
        );
        let msg = check_lab_path(Path::new("/tmp/a\u{1b}b")).unwrap_err().to_string();
        assert!(msg.contains("contains the control character U+001B, which"), "{msg}");
        let msg = check_lab_path(Path::new("/tmp/${HOME}")).unwrap_err().to_string();
        assert_eq!(
            msg,
            "the lab directory /tmp/${HOME} contains `${`, which OpenSSH reads as an environment variable in key and known_hosts paths (it has no escape for it); rename or move it"
        );
        let bad = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9"));
        let msg = check_lab_path(bad).unwrap_err().to_string();
        assert!(msg.starts_with("the lab directory /tmp/caf\u{fffd} is not valid UTF-8"), "{msg}");
    }
}
