//! What the Debian package ships, from the real binary: `lab --version`
//! naming the git commit, `lab completions SHELL` scripts that complete in
//! their shell, and `lab __man DIR` writing one manual page per command.
//! (`scripts/package --test` checks the installed package itself.)

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command as Std;

use assert_cmd::Command;
use clap::CommandFactory;

fn lab(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("lab").unwrap();
    cmd.args(args).env("NO_COLOR", "1");
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{:?}: {out:?}", cmd);
    String::from_utf8(out.stdout).unwrap()
}

/// `git ARGS` in the repository: its trimmed stdout, or `None` when git is
/// missing or fails (no checkout: a crate tarball).
fn git(args: &[&str]) -> Option<String> {
    let out = Std::new("git")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

/// What `--version` must print after the command's name, asking git
/// independently of build.rs: the version from Cargo.toml, and in a git
/// checkout the commit (`+dirty` when the sources compiled in differ from
/// it, untracked files aside) and its date.
fn expected_version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join(".git").exists() {
        return version.to_owned();
    }
    let hash = git(&["rev-parse", "--short", "HEAD"]).expect("git rev-parse --short HEAD");
    let date = git(&["show", "-s", "--format=%cd", "--date=short", "HEAD"]).unwrap();
    let sources = [
        "src",
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
        "boxes",
        "labs",
    ];
    let mut diff = vec!["diff", "--quiet", "HEAD", "--"];
    diff.extend(sources);
    let dirty = if git(&diff).is_some() { "" } else { "+dirty" };
    format!("{version} ({hash}{dirty} {date})")
}

#[test]
fn version_names_the_package_version_and_the_git_commit() {
    let expected = expected_version();
    assert!(expected.starts_with(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        stdout(&mut lab(&["--version"])),
        format!("lab {expected}\n")
    );
    assert_eq!(stdout(&mut lab(&["-V"])), format!("lab {expected}\n"));
    // Subcommands print the same version.
    assert_eq!(
        stdout(&mut lab(&["up", "--version"])),
        format!("lab-up {expected}\n")
    );
}

/// The completions bash offers for the command line `words` (the last one
/// being completed), from the script of `lab completions bash` sourced in
/// a bash without startup files; the first line is `complete -p lab`.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let words_list: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let program = format!(
        r#"source "$1" || exit
complete -p lab || exit
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
_lab lab "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        words = words_list.join(" "),
    );
    let out = Std::new("bash")
        .args(["--norc", "--noprofile", "-c", &program, "bash"])
        .arg(script)
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completion_offers_subcommands_and_options_but_no_hidden_command() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("lab.bash");
    std::fs::write(&script, stdout(&mut lab(&["completions", "bash"]))).unwrap();

    let offered = bash_complete(&script, &["lab", "de"]);
    assert!(
        offered[0].starts_with("complete ") && offered[0].ends_with(" -F _lab lab"),
        "complete -p lab: {offered:?}"
    );
    assert_eq!(offered[1..], ["destroy"]);
    assert_eq!(
        bash_complete(&script, &["lab", "ss"])[1..],
        ["ssh", "ssh-config"]
    );
    assert_eq!(
        bash_complete(&script, &["lab", "box", ""])[1..],
        [
            "-v",
            "-h",
            "-V",
            "--verbose",
            "--help",
            "--version",
            "build",
            "list",
            "import",
            "remove",
            "export",
            "help"
        ]
    );
    assert_eq!(
        bash_complete(&script, &["lab", "up", "--no"])[1..],
        ["--no-provision"]
    );
    assert_eq!(
        bash_complete(&script, &["lab", "completions", "f"])[1..],
        ["fish"]
    );
    // Internal commands (`__probe`, `__forward`, `__man`) are not offered.
    assert_eq!(bash_complete(&script, &["lab", "__"]).len(), 1);
    let all = bash_complete(&script, &["lab", ""]);
    assert!(all.contains(&"up".to_owned()), "{all:?}");
    assert!(!all.iter().any(|w| w.starts_with("__")), "{all:?}");
}

#[test]
fn every_shell_gets_a_script_its_shell_parses() {
    let dir = tempfile::tempdir().unwrap();
    // (shell, how it checks a script's syntax without running it)
    let shells: [(&str, &[&str]); 5] = [
        ("bash", &["bash", "-n"]),
        ("zsh", &["zsh", "-n"]),
        ("fish", &["fish", "--no-execute"]),
        ("elvish", &[]),
        ("powershell", &[]),
    ];
    for (shell, check) in shells {
        let script = stdout(&mut lab(&["completions", shell]));
        assert!(
            script.contains("lab") && script.contains("destroy"),
            "{shell}"
        );
        assert!(!script.contains("__probe"), "{shell}: a hidden command");
        let Some((program, args)) = check.split_first() else {
            continue;
        };
        let path = dir.path().join(shell);
        std::fs::write(&path, &script).unwrap();
        match Std::new(program).args(args).arg(&path).output() {
            Ok(out) => assert!(out.status.success(), "{shell} -n: {out:?}"),
            // Not installed here: scripts/package --test runs with all three.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("{program} is not installed: its script's syntax is not checked");
            }
            Err(e) => panic!("{program}: {e}"),
        }
    }
    lab(&["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid value 'tcsh'"));
}

/// `lab-box-build` for `lab box build`: the page names of every visible
/// command of `cmd`, `prefix` being its parents' joined by `-`.
fn page_names(cmd: &clap::Command, prefix: &str, out: &mut BTreeSet<String>) {
    let name = if prefix.is_empty() {
        cmd.get_name().to_owned()
    } else {
        format!("{prefix}-{}", cmd.get_name())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        page_names(sub, &name, out);
    }
    out.insert(format!("{name}.1"));
}

#[test]
fn man_writes_one_page_per_visible_command() {
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man/man1");
    let listed = stdout(&mut lab(&["__man", man.to_str().unwrap()]));
    let files: BTreeSet<String> = std::fs::read_dir(&man)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut expected = BTreeSet::new();
    page_names(&lab::cli::Cli::command(), "", &mut expected);
    assert_eq!(files, expected);
    for page in [
        "lab.1",
        "lab-up.1",
        "lab-box.1",
        "lab-box-build.1",
        "lab-completions.1",
    ] {
        assert!(files.contains(page), "{page}: {files:?}");
    }
    assert!(
        !files.iter().any(|f| f.contains("__") || f.contains("help")),
        "{files:?}"
    );
    assert_eq!(listed.lines().count(), files.len(), "{listed}");

    let page = std::fs::read_to_string(man.join("lab-box-build.1")).unwrap();
    let version = format!("lab {}", expected_version());
    let header = page.lines().find(|l| l.starts_with(".TH ")).unwrap();
    assert!(
        header.starts_with(".TH lab-box-build 1 ")
            && header.contains(&format!("\"{version}\" \"lab manual\"")),
        "{header}"
    );
    assert!(page.contains("lab box build"), "{page}");
    assert!(page.contains("\\-\\-force"), "{page}");
}

#[test]
fn man_into_a_directory_it_cannot_make_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let target = file.join("man1");
    let out = lab(&["__man", target.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "error: cannot make the directory {} for the manual pages\n",
            target.display()
        )),
        "{stderr}"
    );
}

#[test]
fn help_and_man_page_name_every_environment_variable() {
    let help = stdout(&mut lab(&["--help"]));
    let dir = tempfile::tempdir().unwrap();
    stdout(&mut lab(&["__man", dir.path().to_str().unwrap()]));
    let page = std::fs::read_to_string(dir.path().join("lab.1")).unwrap();
    assert!(help.contains("\nEnvironment:\n"), "{help}");
    for var in [
        "LAB_HOME",
        "LAB_BOXES_PATH",
        "LAB_FILE",
        "LAB_LIBVIRT_URI",
        "LAB_GUEST_PROXY",
        "LAB_LOG",
    ] {
        assert!(help.contains(&format!("\n  {var} ")), "{var}: {help}");
        assert!(page.contains(var), "{var} in lab.1");
    }
}
