//! The options against the real `ssh`: `ssh -G` prints the configuration
//! it resolved without connecting; `ssh -v` against a listener on
//! 127.0.0.1 that hangs up shows which key file it loaded.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::state::NodeState;

/// A lab state directory under a path with a space, quotes, `#`, `%h`,
/// a backslash and a non-ASCII letter, holding a real key pair and a
/// known_hosts file.
fn odd_dir() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x/my lab/it's \"#1\" %h \\ ü/.lab");
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("id_ed25519");
    crate::ssh::ensure_keypair(&key, "lab@test").unwrap();
    let kh = dir.join("known_hosts");
    std::fs::write(&kh, "").unwrap();
    (tmp, key, kh)
}

/// `ssh ARGS` → (success, stdout, stderr).
fn ssh(args: &[String]) -> (bool, String, String) {
    let out = Command::new("ssh")
        .args(args)
        .output()
        .expect("ssh is installed");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The values of `keyword` in `ssh -G` output.
fn resolved(out: &str, keyword: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .map(str::to_string)
        .collect()
}

/// Run `ssh ARGS DEST true` against a listener on 127.0.0.1 (DEST must
/// lead there) that accepts and hangs up; its `-v` output.
fn ssh_to_loopback(args: &[String], dest: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accept = std::thread::spawn(move || drop(listener.accept()));
    let mut all: Vec<String> = args.to_vec();
    all.extend(
        [
            "-v",
            "-p",
            &port.to_string(),
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
        ]
        .map(String::from),
    );
    all.extend([dest.to_string(), "true".to_string()]);
    let (_, _, stderr) = ssh(&all);
    accept.join().unwrap();
    stderr
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A path as ssh's log shows it (`strnvis`: `\` doubled, bytes outside
/// printable ASCII in octal).
fn as_logged(p: &Path) -> String {
    p.to_str()
        .unwrap()
        .bytes()
        .map(|b| match b {
            b'\\' => "\\\\".to_string(),
            b' '..=b'~' => (b as char).to_string(),
            _ => format!("\\{b:03o}"),
        })
        .collect()
}

#[test]
fn paths_are_double_quoted_with_escapes_and_percent_doubled() {
    assert_eq!(
        quote_path("/a b/it's \"#1\" %h \\ ü"),
        r##""/a b/it's \"#1\" %%h \\ ü""##
    );
    let o = ClientOptions::new(Path::new("/l/%k"), Path::new("/l/kh")).unwrap();
    assert_eq!(
        o.args(),
        [
            "-o",
            "IdentityFile=\"/l/%%k\"",
            "-o",
            "UserKnownHostsFile=\"/l/kh\"",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=30",
            "-o",
            "ServerAliveInterval=30",
            "-o",
            "ServerAliveCountMax=4",
        ]
    );
    assert_eq!(
        o.host_block("node1", "10.0.0.2", "lab").unwrap(),
        "Host node1\n  HostName 10.0.0.2\n  User lab\n  IdentityFile \"/l/%%k\"\n  UserKnownHostsFile \"/l/kh\"\n  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n  LogLevel ERROR\n  ConnectTimeout 30\n  ServerAliveInterval 30\n  ServerAliveCountMax 4\n\n"
    );
}

#[test]
fn paths_ssh_cannot_take_are_refused() {
    let msg = ClientOptions::new(Path::new("/a/${HOME}/k"), Path::new("/kh"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("the SSH key path /a/${HOME}/k contains `${`"),
        "{msg}"
    );
    let msg = ClientOptions::new(Path::new("/k"), Path::new("/a\nb/kh"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("the known_hosts path \"/a\\nb/kh\" contains a newline"),
        "{msg}"
    );
}

#[test]
fn command_line_options_resolve_to_the_exact_paths() {
    let (_tmp, key, kh) = odd_dir();
    let o = ClientOptions::new(&key, &kh).unwrap();
    let mut args: Vec<String> = ["-G", "-F", "/dev/null"].map(String::from).to_vec();
    args.extend(o.args());
    args.push("lab@node1".into());
    let (ok, out, err) = ssh(&args);
    assert!(ok, "ssh -G failed: {err}");
    assert_eq!(resolved(&out, "userknownhostsfile"), [path_str(&kh)]);
    assert_eq!(resolved(&out, "stricthostkeychecking"), ["true"]);
    assert_eq!(resolved(&out, "identitiesonly"), ["yes"]);
    // -G prints IdentityFile before `%` expansion; the key ssh then loads
    // is the file itself (type 3: ed25519).
    assert_eq!(
        resolved(&out, "identityfile"),
        [path_str(&key).replace('%', "%%")]
    );
    let mut args: Vec<String> = vec!["-F".into(), "/dev/null".into()];
    args.extend(o.args());
    let verbose = ssh_to_loopback(&args, "lab@127.0.0.1");
    assert!(
        verbose.contains(&format!("identity file {} type 3", as_logged(&key))),
        "{verbose}"
    );
}

#[test]
fn ssh_config_block_resolves_to_the_exact_paths() {
    let (tmp, key, kh) = odd_dir();
    let o = ClientOptions::new(&key, &kh).unwrap();
    let cfg = tmp.path().join("ssh_config");
    std::fs::write(&cfg, o.host_block("node1", "127.0.0.1", "lab").unwrap()).unwrap();
    let cfg_arg = path_str(&cfg).to_string();
    let (ok, out, err) = ssh(&["-G".into(), "-F".into(), cfg_arg.clone(), "node1".into()]);
    assert!(ok, "ssh -G -F failed: {err}");
    assert_eq!(resolved(&out, "hostname"), ["127.0.0.1"]);
    assert_eq!(resolved(&out, "user"), ["lab"]);
    assert_eq!(resolved(&out, "userknownhostsfile"), [path_str(&kh)]);
    assert_eq!(
        resolved(&out, "identityfile"),
        [path_str(&key).replace('%', "%%")]
    );
    let verbose = ssh_to_loopback(&["-F".into(), cfg_arg], "node1");
    assert!(
        verbose.contains(&format!("identity file {} type 3", as_logged(&key))),
        "{verbose}"
    );
}

#[test]
fn known_hosts_pin_each_key_under_address_name_and_domain_name() {
    let mut st = State::default();
    for (name, ip, key) in [
        ("node2", "10.0.0.3", Some("ssh-ed25519 BBBB")),
        ("node1", "10.0.0.2", Some("ssh-ed25519 AAAA")),
        ("spare", "10.0.0.4", None),
    ] {
        st.nodes.insert(
            name.into(),
            NodeState {
                ip: ip.into(),
                host_key: key.map(str::to_string),
                ..Default::default()
            },
        );
    }
    assert_eq!(
        known_hosts(&st, Some("ha.lab")),
        "10.0.0.2,node1,node1.ha.lab ssh-ed25519 AAAA\n10.0.0.3,node2,node2.ha.lab ssh-ed25519 BBBB\n"
    );
    assert_eq!(
        known_hosts(&st, None),
        "10.0.0.2,node1 ssh-ed25519 AAAA\n10.0.0.3,node2 ssh-ed25519 BBBB\n"
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn host_key_checking_is_never_turned_off() {
    // Spelled in pieces so this file does not match itself.
    let off = ["no", "off", concat!("accept", "-new")];
    let mut forbidden: Vec<String> = vec![concat!("accept", "-new").into()];
    for v in off {
        forbidden.push(format!("stricthostkeychecking={v}"));
        forbidden.push(format!("stricthostkeychecking{v}"));
    }
    for v in ["=false", ":false", "=0", "=no"] {
        forbidden.push(format!("host_key_checking{v}"));
    }
    forbidden.push(format!("userknownhostsfile={}", "/dev/null"));
    forbidden.push(format!("userknownhostsfile{}", "/dev/null"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "labs", "scripts", "tests", "boxes"] {
        files_under(&root.join(dir), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let flat: String = text
            .to_lowercase()
            .chars()
            .filter(|c| !matches!(c, ' ' | '\t' | '"' | '\'' | '\\'))
            .collect();
        for f in &forbidden {
            if flat.contains(f.as_str()) {
                found.push(format!(
                    "{}: {f}",
                    file.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "host key checking turned off in: {found:#?}"
    );
}

#[test]
fn the_user_and_address_are_never_taken_for_options() {
    let g = |user: &str, host: &str| {
        let mut args: Vec<String> = ["-G", "-F", "/dev/null"].map(String::from).to_vec();
        args.extend(login(user, host));
        ssh(&args)
    };
    let (ok, out, err) = g("lab", "10.0.0.2");
    assert!(ok, "ssh -G failed: {err}");
    assert_eq!(resolved(&out, "user"), ["lab"]);
    assert_eq!(resolved(&out, "hostname"), ["10.0.0.2"]);
    // Values lab would refuse (the state check stops them first) reach ssh
    // as a user name and a host name, which OpenSSH 9 refuses itself.
    for user in ["-oProxyCommand=touch /tmp/lab-test-pwned", "-lroot"] {
        let (ok, out, err) = g(user, "10.0.0.2");
        assert!(
            !ok && err.contains("remote username contains invalid characters"),
            "{err}"
        );
        assert!(resolved(&out, "proxycommand").is_empty(), "{out}");
    }
    let (ok, _, err) = g("lab", "-oProxyCommand=touch /tmp/lab-test-pwned");
    assert!(
        !ok && err.contains("hostname contains invalid characters"),
        "{err}"
    );
    // `USER@HOST`, as before, made ssh take the user for an option.
    let (_, out, _) = ssh(&[
        "-G",
        "-F",
        "/dev/null",
        "-oProxyCommand=touch /tmp/lab-test-pwned@10.0.0.2",
        "--",
        "echo",
        "hi",
    ]
    .map(String::from));
    assert_eq!(
        resolved(&out, "proxycommand"),
        ["touch /tmp/lab-test-pwned@10.0.0.2"],
        "the old form was unsafe"
    );
}

#[test]
fn an_ssh_config_block_never_gets_a_second_line_or_an_option() {
    let (_tmp, key, kh) = odd_dir();
    let o = ClientOptions::new(&key, &kh).unwrap();
    for (alias, host, user) in [
        ("node1", "10.0.0.2", "lab\nProxyCommand touch /tmp/x"),
        ("node1", "10.0.0.2 ProxyCommand=x", "lab"),
        ("node1\n  ProxyCommand x", "10.0.0.2", "lab"),
        ("node1", "10.0.0.2", "-lab"),
        ("node1", "10.0.0.2", ""),
    ] {
        let msg = o.host_block(alias, host, user).unwrap_err().to_string();
        assert!(
            msg.contains("cannot be written into an ssh_config block"),
            "{msg}"
        );
    }
}

#[test]
fn a_guest_behind_a_host_is_reached_by_proxyjump_in_every_form() {
    let o = ClientOptions::new(
        "/l/.lab/id_ed25519".as_ref(),
        "/l/.lab/known_hosts".as_ref(),
    )
    .unwrap()
    .through(Some("root@lab-host-b"))
    .unwrap();
    insta::assert_snapshot!(o.args().join(" "), @r#"-o IdentityFile="/l/.lab/id_ed25519" -o UserKnownHostsFile="/l/.lab/known_hosts" -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o LogLevel=ERROR -o ConnectTimeout=30 -o ServerAliveInterval=30 -o ServerAliveCountMax=4 -o ProxyJump=root@lab-host-b"#);
    insta::assert_snapshot!(o.host_block("node1", "10.77.10.21", "lab").unwrap(), @r#"
    Host node1
      HostName 10.77.10.21
      User lab
      IdentityFile "/l/.lab/id_ed25519"
      UserKnownHostsFile "/l/.lab/known_hosts"
      StrictHostKeyChecking yes
      IdentitiesOnly yes
      LogLevel ERROR
      ConnectTimeout 30
      ServerAliveInterval 30
      ServerAliveCountMax 4
      ProxyJump root@lab-host-b
    "#);
    // ssh itself reads it so, from the command line and from a block.
    let mut args: Vec<String> = ["-G", "-F", "/dev/null"].map(String::from).to_vec();
    args.extend(o.args());
    args.extend(login("lab", "10.77.10.21"));
    let (ok, out, err) = ssh(&args);
    assert!(ok, "ssh -G failed: {err}");
    assert_eq!(resolved(&out, "proxyjump"), ["root@lab-host-b"]);
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("ssh_config");
    std::fs::write(&cfg, o.host_block("node1", "10.77.10.21", "lab").unwrap()).unwrap();
    let cfg = path_str(&cfg).to_string();
    let (ok, out, err) = ssh(&["-G".into(), "-F".into(), cfg, "node1".into()]);
    assert!(ok, "ssh -G -F failed: {err}");
    assert_eq!(resolved(&out, "proxyjump"), ["root@lab-host-b"]);
    // Directly: no ProxyJump at all.
    let direct = ClientOptions::new("/k".as_ref(), "/h".as_ref())
        .unwrap()
        .through(None)
        .unwrap();
    assert!(!direct.args().join(" ").contains("ProxyJump"));
}

#[test]
fn a_host_login_ssh_could_misread_is_refused() {
    let o = ClientOptions::new("/k".as_ref(), "/h".as_ref()).unwrap();
    for bad in [
        "-oProxyCommand=x@h",
        "root@h\nProxyCommand x",
        "root@h h",
        "host",
    ] {
        let err = o.clone().through(Some(bad)).unwrap_err().to_string();
        assert!(err.starts_with("the host login "), "{bad:?}: {err}");
    }
}
