//! Which paths the programs `lab` hands paths to (ssh, libvirt, Ansible)
//! cannot take at all, refused with a sentence before anything is created.
//! Everything else (spaces, quotes, `#`, `%`, non-ASCII) each program gets
//! quoted its own way (see [`crate::ssh::openssh`]).

use std::path::Path;

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
        let msg = check_lab_path(Path::new("/tmp/a\nb"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "the lab directory \"/tmp/a\\nb\" contains a newline (U+000A), which OpenSSH's config lines and libvirt's XML cannot carry; rename or move it"
        );
        let msg = check_lab_path(Path::new("/tmp/a\u{1b}b"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("contains the control character U+001B, which"),
            "{msg}"
        );
        let msg = check_lab_path(Path::new("/tmp/${HOME}"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "the lab directory /tmp/${HOME} contains `${`, which OpenSSH reads as an environment variable in key and known_hosts paths (it has no escape for it); rename or move it"
        );
        let bad = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9"));
        let msg = check_lab_path(bad).unwrap_err().to_string();
        assert!(
            msg.starts_with("the lab directory /tmp/caf\u{fffd} is not valid UTF-8"),
            "{msg}"
        );
    }
}
