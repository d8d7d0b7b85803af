//! Inputs past `lab`'s bounds, through the real binary: each is refused
//! (or cut) with its sentence within 5 s of CPU time (60 s of wall-clock time,
//! for a hang) and under 200 MB of memory.
//!
//! Every run is watched: the child's peak resident memory is polled from
//! /proc while it runs (it is killed past the limit or the time) and read
//! exactly from `wait4` once it ends; an address-space limit of 4 GiB is a
//! last safety net. So a broken bound fails the test instead of hanging
//! it or eating the machine.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(5);
/// Wall-clock bound for a hang (the CPU bound [`TIME_LIMIT`] does not see
/// a process that waits); far above it, since a loaded machine (VMs under
/// emulation beside the tests) can give the process a small share of CPU.
const WALL_LIMIT: Duration = Duration::from_secs(60);
const MEMORY_LIMIT_KIB: u64 = 200 * 1024;

/// How a watched run of `lab` ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident memory, KiB.
    peak_kib: u64,
}

/// Runs `lab ARGS` in `dir` with `env`, killed past the time or memory
/// limit (which fails the test).
fn lab(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("lab"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("LAB_FILE")
        .env_remove("LAB_LOG")
        .env("LAB_LIBVIRT_URI", "test:///default")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 4 << 30,
                rlim_max: 4 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Reaped by wait4 below, which also gives its peak memory.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            pipe.read_to_end(&mut out).unwrap();
            String::from_utf8_lossy(&out).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = None;
    loop {
        // SAFETY: pid is our child; status and usage outlive the call.
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            break;
        }
        assert_eq!(got, 0, "wait4 failed");
        let peak = peak_kib(pid);
        let over = if cpu_time(pid) > TIME_LIMIT {
            Some(format!("used more than {TIME_LIMIT:?} of CPU"))
        } else if start.elapsed() > WALL_LIMIT {
            Some(format!("did not finish within {WALL_LIMIT:?}"))
        } else if peak > MEMORY_LIMIT_KIB {
            Some(format!("used {peak} KiB of memory"))
        } else {
            None
        };
        if let Some(why) = over.filter(|_| killed.is_none()) {
            // SAFETY: plain signal to our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = Some(why);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    if let Some(why) = killed {
        panic!(
            "lab {args:?} {why}; killed\nstderr: {}",
            &stderr[..stderr.len().min(2000)]
        );
    }
    let peak_kib = usage.ru_maxrss as u64;
    assert!(
        peak_kib <= MEMORY_LIMIT_KIB,
        "lab {args:?} peaked at {peak_kib} KiB, over {MEMORY_LIMIT_KIB} KiB"
    );
    Run {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout,
        stderr,
        peak_kib,
    }
}

/// VmHWM (peak resident memory) of a running process, KiB; 0 once gone.
/// CPU time (user + system) the running process `pid` used so far, from
/// /proc/PID/stat (fields 14 and 15, in clock ticks: proc(5)).
fn cpu_time(pid: libc::pid_t) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // The command name (field 2) is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

fn peak_kib(pid: libc::pid_t) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// A temp dir with hermetic box lookup (only `debian-12` exists).
struct Env {
    dir: tempfile::TempDir,
    home: PathBuf,
    recipes: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let recipes = dir.path().join("recipes");
    std::fs::create_dir_all(recipes.join("debian-12")).unwrap();
    std::fs::write(recipes.join("debian-12/box.yaml"), "# test recipe\n").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    Env { dir, home, recipes }
}

impl Env {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn lab(&self, args: &[&str]) -> Run {
        lab(
            self.path(),
            args,
            &[("LAB_HOME", &self.home), ("LAB_BOXES_PATH", &self.recipes)],
        )
    }

    /// A valid lab file (the smoke lab) in the temp dir.
    fn smoke(&self) {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
        std::fs::copy(src, self.path().join("lab.yaml")).unwrap();
    }
}

/// Asserts `run` failed with `code` and `sentence` on stderr.
fn refused(run: &Run, code: i32, sentence: &str) {
    assert_eq!(run.code, Some(code), "exit status; stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains(sentence),
        "expected {sentence:?} in:\n{}",
        &run.stderr[..run.stderr.len().min(3000)]
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// Ten lines, each a list of nine aliases of the line before.
fn alias_bomb(first_key: &str) -> String {
    let mut src = format!("{first_key}: &a [{}]\n", ["\"x\""; 9].join(","));
    for (prev, next) in ('a'..='i').zip('b'..='j') {
        src.push_str(&format!(
            "{next}: &{next} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
    }
    src
}

#[test]
fn an_alias_bomb_is_refused_at_the_alias() {
    let e = env();
    e.write("bomb.yaml", alias_bomb("a"));
    let run = e.lab(&["validate", "-f", "bomb.yaml"]);
    refused(&run, 2, "alias *e would expand the file past 100000 values");
    assert!(run.stderr.contains("[bomb.yaml:6:8]"), "{}", run.stderr);
}

#[test]
fn deep_nesting_is_refused_where_it_passes_64_levels() {
    let e = env();
    e.write("deep.yaml", "[".repeat(100_000));
    let run = e.lab(&["validate", "-f", "deep.yaml"]);
    refused(
        &run,
        2,
        "lists and mappings nest more than 64 levels deep here",
    );
    assert!(run.stderr.contains("[deep.yaml:1:65]"), "{}", run.stderr);
    assert!(
        run.stderr.len() < 5000,
        "the 100000-byte line is cut: {} bytes",
        run.stderr.len()
    );
}

#[test]
fn a_huge_scalar_is_refused_and_not_printed_whole() {
    let e = env();
    e.write(
        "long.yaml",
        format!("name: t\nbox: {}\n", "x".repeat(900_000)),
    );
    let run = e.lab(&["validate", "-f", "long.yaml"]);
    refused(
        &run,
        2,
        "this value is 900000 bytes long; values in a lab file may be at most 64 KiB",
    );
    assert!(run.stderr.contains("[long.yaml:2:6]"), "{}", run.stderr);
    assert!(
        run.stderr.len() < 5000,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn an_oversized_lab_file_is_refused_unread() {
    let e = env();
    e.write("big.yaml", format!("name: t\n#{}\n", " ".repeat(2 << 20)));
    let run = e.lab(&["validate", "-f", "big.yaml"]);
    refused(
        &run,
        2,
        "big.yaml is 2097162 bytes, more than the 1 MiB lab reads for lab files",
    );
}

#[test]
fn thousands_of_problems_show_fifty() {
    let e = env();
    let keys: String = (0..5000).map(|i| format!("x{i}: 1\n")).collect();
    e.write("many.yaml", keys);
    let run = e.lab(&["validate", "-f", "many.yaml"]);
    refused(&run, 2, "more errors, not shown; fix these first");
    assert!(
        run.stderr.len() < 100_000,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn box_build_refuses_a_bomb_recipe_before_building() {
    let e = env();
    e.write(
        "recipes/bomb/box.yaml",
        format!("version: '1'\n{}", alias_bomb("packages")),
    );
    let big = "x".repeat(60_000);
    let aliases = vec!["*s"; 200].join(",");
    e.write(
        "recipes/text/box.yaml",
        format!("version: '1'\npackages: [&s {big}]\ncustomize: [{aliases}]\n"),
    );
    let run = e.lab(&["box", "build", "bomb"]);
    // The recipe's types stop it at the first key a recipe does not have.
    refused(&run, 2, "box.yaml:3:1: b: unknown key in a box recipe");
    let run = e.lab(&["box", "build", "text"]);
    refused(
        &run,
        2,
        "text/box.yaml:3:427: customize[138]: the recipe holds more than 8 MiB of text by here",
    );
}

#[test]
fn huge_or_damaged_state_files_are_refused_with_a_sentence() {
    let e = env();
    e.smoke();
    let huge = format!("{{\"lab\": \"{}\"}}", "x".repeat(2 << 20));
    e.write(".lab/state.json", &huge);
    let run = e.lab(&["status"]);
    refused(
        &run,
        1,
        "state.json is 2097163 bytes, more than the 1 MiB lab reads for the files it writes itself",
    );
    e.write(
        ".lab/state.json",
        format!("{{\"x\": {}", "[".repeat(1_000_000)),
    );
    for cmd in ["status", "ssh-config"] {
        let run = e.lab(&[cmd]);
        refused(
            &run,
            1,
            "state.json is damaged; remove it only after `virsh list --all` shows nothing of this lab",
        );
    }
    let secrets = e.write(".lab/secrets.json", &huge);
    // 0600, as lab writes it: secrets others may read are refused first.
    std::fs::set_permissions(
        &secrets,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let run = e.lab(&["secrets"]);
    refused(
        &run,
        1,
        "secrets.json is 2097163 bytes, more than the 1 MiB",
    );
    e.write("home/boxes/big/box.json", &huge);
    let run = e.lab(&["box", "list"]);
    // Listed, with why it cannot be used (other boxes are still shown).
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("box `big` is broken (box.json is 2097163 bytes, over the 1 MiB limit); remove it with `lab box remove big` and build it again"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_console_log_with_a_huge_line_is_cut() {
    let e = env();
    e.smoke();
    let mut log = vec![b'x'; 20 << 20];
    log.extend_from_slice(b"\nlast line\n");
    e.write(".lab/console/node1.log", log);
    let run = e.lab(&["console", "node1", "-n", "2"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].ends_with("x [line cut at 64 KiB]"));
    assert_eq!(lines[1], "last line");
    assert!(run.peak_kib < 50 * 1024, "{} KiB", run.peak_kib);
}

/// A lab file of `count` nodes `n0`, `n1`, ... (each `node` more keys)
/// in 10.77.0.0/16, then `extra`.
fn many_nodes(count: usize, node: &str, extra: &str) -> String {
    let mut src = "name: t\nbox: debian-12\nnetwork: {subnet: 10.77.0.0/16}\nnodes:\n".to_owned();
    for i in 0..count {
        let ip = format!("10.77.{}.{}", i / 250 + 1, i % 250 + 2);
        src.push_str(&format!("  n{i}: {{ip: {ip}{node}}}\n"));
    }
    src + extra
}

/// `[PREFIX0, PREFIX1, ...]`, `count` names.
fn names(prefix: &str, count: usize) -> String {
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}{i}")).collect();
    format!("[{}]", names.join(", "))
}

/// Validates `src` (written to `name`), which must fail with `count` errors.
fn invalid_in_time(e: &Env, name: &str, src: &str, count: usize, sentence: &str) {
    e.write(name, src);
    let run = e.lab(&["validate", "-f", name]);
    refused(&run, 2, sentence);
    assert!(
        run.stderr.contains(&format!("{name}: {count} errors")),
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(300)..]
    );
}

#[test]
fn forty_thousand_roles_are_checked_in_time() {
    let e = env();
    let roles = format!(", roles: {}", names("r", 40_000));
    e.write("roles.yaml", many_nodes(1, &roles, ""));
    let run = e.lab(&["validate", "-f", "roles.yaml"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn thousands_of_unknown_names_among_thousands_of_nodes_are_checked_in_time() {
    let e = env();
    let on = format!(
        "provision:\n  type: shell\n  scripts:\n    - {{inline: 'true', on: {}}}\n",
        names("zz", 2000)
    );
    let src = many_nodes(2000, "", &on);
    invalid_in_time(
        &e,
        "on.yaml",
        &src,
        2000,
        "`zz0` is neither a node nor a role",
    );
    let checks: String = (0..2000)
        .map(|i| format!("  - {{name: c{i}, on: zz{i}, run: 'true'}}\n"))
        .collect();
    let src = many_nodes(2000, "", &format!("checks:\n{checks}"));
    invalid_in_time(&e, "checks.yaml", &src, 2000, "`zz0` is not a node");
    let forwards: String = (0..2000)
        .map(|i| format!("  - {{node: zz{i}, guest: 80, host: {}}}\n", 1000 + i))
        .collect();
    let src = many_nodes(2000, "", &format!("forwards:\n{forwards}"));
    invalid_in_time(&e, "forwards.yaml", &src, 2000, "`zz0` is not a node");
    let src = many_nodes(10_000, ", box: nobox", "");
    invalid_in_time(&e, "boxes.yaml", &src, 10_000, "unknown box `nobox`");
}

#[test]
fn thousands_of_missing_scripts_beside_thousands_of_files_are_checked_in_time() {
    let e = env();
    for i in 0..2000 {
        e.write(&format!("scripts/s{i}.sh"), "");
    }
    let steps: String = (0..2000)
        .map(|i| format!("    - {{on: [n0], script: scripts/m{i}.sh}}\n"))
        .collect();
    let src = many_nodes(
        1,
        "",
        &format!("provision:\n  type: shell\n  scripts:\n{steps}"),
    );
    invalid_in_time(
        &e,
        "scripts.yaml",
        &src,
        2000,
        "scripts/m0.sh does not exist",
    );
}

#[test]
fn forty_thousand_unknown_keys_are_checked_in_time() {
    let e = env();
    let keys: String = (0..40_000).map(|i| format!("x{i}: 1\n")).collect();
    let src = many_nodes(1, "", &keys);
    invalid_in_time(&e, "keys.yaml", &src, 40_000, "unknown key in a lab file");
}

#[test]
fn a_hundred_thousand_anchors_deep_down_are_refused_in_little_memory() {
    let e = env();
    // 99930 anchored values 63 levels deep (500 KB): 93 MB before anchors
    // were bounded.
    let items = vec!["&a x"; 99_930].join(",");
    let src = format!("{}{items}{}\n", "[".repeat(63), "]".repeat(63));
    e.write("anchors.yaml", src);
    let run = e.lab(&["validate", "-f", "anchors.yaml"]);
    refused(
        &run,
        2,
        "the file defines more than 1000 anchors (`&name`) by here",
    );
    assert!(run.peak_kib < 40 * 1024, "{} KiB", run.peak_kib);
}
