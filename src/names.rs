//! The rules for the names `lab` takes from its inputs (the lab file, box
//! recipes, the command line, and what it reads back from `.lab/state.json`
//! and the box store) before they reach the file system or another
//! program: DNS labels (lab, node and role names), box names (a directory
//! under a recipe directory and in the box store), login names (OpenSSH's
//! `-l`, cloud-init's `users:`, Ansible's `ansible_user`). Each check
//! returns `Err(reason)`, a sentence fragment to follow the quoted name
//! (`"../x" contains '/'; ...`).

/// A DNS label (RFC 1123): 1-63 of `a-z`, `0-9`, `-`, not starting or
/// ending with `-`.
pub fn dns_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "is {} characters long; at most 63 are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        let hint = if c.is_ascii_uppercase() {
            " (use lowercase)"
        } else {
            ""
        };
        return Err(format!(
            "contains {c:?}; only lowercase letters, digits and '-' are allowed{hint}"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("starts or ends with '-'".into());
    }
    Ok(())
}

/// A box name: a directory name under `boxes/` and in the box store, so no
/// `/` and no `..`: 1-63 of `a-z`, `0-9`, `-`, `.`, `_`, starting with a
/// letter or digit.
pub fn box_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c);
    if name.is_empty() || name.len() > 63 {
        return Err("must be 1 to 63 characters long".into());
    }
    if let Some(c) = name.chars().find(|c| !ok(*c)) {
        return Err(format!(
            "contains {c:?}; only lowercase letters, digits, '-', '.' and '_' are allowed"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or digit".into());
    }
    Ok(())
}

/// The longest login name, in bytes (Linux's `LOGIN_NAME_MAX` is 256, but
/// useradd(8) and utmp keep 32).
pub const LOGIN_NAME_MAX: usize = 32;

/// A login name for the user `lab` logs in as: `[a-z_][a-z0-9_-]*`, at
/// most [`LOGIN_NAME_MAX`] characters (useradd(8)'s portable rule), and
/// not `root` (`lab` logs in as an ordinary user that uses sudo). Such a
/// name can neither start an option of ssh(1) nor a new line of
/// ssh_config(5) or YAML.
pub fn login_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if let Some(c) = name
        .chars()
        .next()
        .filter(|c| !c.is_ascii_lowercase() && *c != '_')
    {
        return Err(format!(
            "starts with {c:?}; a login name starts with a lowercase letter or '_'"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(*c)))
    {
        return Err(format!(
            "contains {c:?}; a login name has only lowercase letters, digits, '_' and '-'"
        ));
    }
    if name.len() > LOGIN_NAME_MAX {
        return Err(format!(
            "is {} characters long; a login name has at most {LOGIN_NAME_MAX}",
            name.len()
        ));
    }
    if name == "root" {
        return Err(
            "is root; lab logs in as an ordinary user (cloud-init creates it, with sudo)".into(),
        );
    }
    Ok(())
}

/// `USER@ADDRESS` as ssh(1) takes it for the login to a lab's host (a
/// jump host): a login name as [`login_name`] has it, `root` allowed,
/// and a DNS name (dot-separated [`dns_label`]s, at most 253
/// characters) or an IPv4 address. Neither part can start an option of
/// ssh(1) or break an ssh_config(5) line. Returns (user, address).
pub fn ssh_login(text: &str) -> Result<(&str, &str), String> {
    let Some((user, address)) = text.split_once('@') else {
        return Err("is not USER@ADDRESS (e.g. root@server)".into());
    };
    match login_name(user) {
        Err(_) if user == "root" => {}
        Err(why) => return Err(format!("has the user {} that {why}", quoted(user))),
        Ok(()) => {}
    }
    if address.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok((user, address));
    }
    if address.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "has the address {}, which is not a valid IPv4 address",
            quoted(address)
        ));
    }
    let why = if address.len() > 253 {
        Some(format!(
            "is {} characters long; at most 253 are allowed",
            address.len()
        ))
    } else {
        address.split('.').find_map(|label| {
            dns_label(label)
                .err()
                .map(|why| format!("has a label {} that {why}", quoted(label)))
        })
    };
    match why {
        Some(why) => Err(format!(
            "has the address {} that {why}; give a DNS name or an IPv4 address",
            quoted(address)
        )),
        None => Ok((user, address)),
    }
}

/// `value` for a message: quoted with Rust's escapes (a newline shows as
/// `\n`), cut after 60 characters with `…`, so a hostile or huge value
/// reads as one short word.
pub fn quoted(value: &str) -> String {
    match value.char_indices().nth(60) {
        Some((at, _)) => format!("{:?}…", &value[..at]),
        None => format!("{value:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_follow_useradd_and_are_never_options_or_lines() {
        for good in ["lab", "_svc", "a", "deploy-user_2", &"a".repeat(32)] {
            assert_eq!(login_name(good), Ok(()), "{good:?}");
        }
        let why = |name: &str| login_name(name).unwrap_err();
        assert_eq!(
            why("-oProxyCommand=touch /tmp/pwned"),
            "starts with '-'; a login name starts with a lowercase letter or '_'"
        );
        assert_eq!(
            why("-l"),
            "starts with '-'; a login name starts with a lowercase letter or '_'"
        );
        assert_eq!(
            why("lab\nProxyCommand touch x"),
            "contains '\\n'; a login name has only lowercase letters, digits, '_' and '-'"
        );
        assert_eq!(
            why("1lab"),
            "starts with '1'; a login name starts with a lowercase letter or '_'"
        );
        assert_eq!(why("lAb").split(';').next(), Some("contains 'A'"));
        assert_eq!(why("lab user").split(';').next(), Some("contains ' '"));
        assert_eq!(why(""), "is empty");
        assert_eq!(
            why(&"a".repeat(33)),
            "is 33 characters long; a login name has at most 32"
        );
        assert!(why("root").starts_with("is root"));
    }

    #[test]
    fn box_names_stay_inside_their_directory() {
        assert!(box_name("ubuntu-24.04").is_ok());
        for bad in [
            "../x",
            "..",
            ".hidden",
            "a/b",
            "/abs",
            "",
            "x\n",
            &"a".repeat(64),
        ] {
            assert!(box_name(bad).is_err(), "{bad:?}");
        }
    }
}
