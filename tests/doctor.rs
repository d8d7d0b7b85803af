//! `lab doctor` from the real binary: libvirt that does not answer (no
//! socket, or a socket nobody serves) FAILs quickly with a fix and exit
//! status 1; libvirt's `test:///default` driver PASSes; the lab's checks
//! are skipped without a lab file and run with one. No test needs the
//! host's libvirtd: every URI is set.

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// A temp dir for the lab and a private HOME and LAB_HOME.
struct Env {
    dir: tempfile::TempDir,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    std::fs::create_dir_all(dir.path().join("work")).unwrap();
    Env { dir }
}

/// What a run gave: exit code, stdout, stderr (temp paths replaced),
/// and how long it took.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Env {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `lab ARGS` in `work/` (or `cwd` under the temp dir) with `uri`.
    fn lab(&self, cwd: &str, uri: &str, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = Command::cargo_bin("lab").unwrap();
        cmd.args(args)
            .current_dir(self.path().join(cwd))
            .env("HOME", self.path().join("home"))
            .env("LAB_HOME", self.path().join("home/lab"))
            .env("LAB_LIBVIRT_URI", uri)
            .env("LAB_BOXES_PATH", RECIPES)
            .env("NO_COLOR", "1")
            .env_remove("LAB_FILE")
            .env_remove("LAB_GUEST_PROXY")
            .env_remove("LAB_LOG")
            .timeout(Duration::from_secs(60));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd.output().unwrap();
        let clean = |b: &[u8]| {
            String::from_utf8_lossy(b).replace(&self.path().display().to_string(), "[TMP]")
        };
        Run {
            code: out
                .status
                .code()
                .expect("lab doctor did not finish within 60 s"),
            stdout: clean(&out.stdout),
            stderr: clean(&out.stderr),
            took: started.elapsed(),
        }
    }
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// The check named `name` of `--json`.
    fn check(&self, name: &str) -> Value {
        self.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {}", self.stdout))
            .clone()
    }

    /// The checks named `names`, as pretty JSON, for a snapshot.
    fn checks(&self, names: &[&str]) -> String {
        let picked: Vec<Value> = names.iter().map(|n| self.check(n)).collect();
        serde_json::to_string_pretty(&picked).unwrap()
    }
}

const ORDER: [&str; 15] = [
    "lab-file",
    "libvirt",
    "libvirt-socket",
    "qemu",
    "kvm",
    "pool",
    "box-tools",
    "ssh-keygen",
    "ssh",
    "ansible",
    "names",
    "memory",
    "disk",
    "subnet",
    "proxy",
];

#[test]
fn libvirt_without_a_socket_fails_with_a_fix() {
    let e = env();
    let uri = "qemu+unix:///system?socket=/nonexistent/lab-doctor.sock";
    let run = e.lab("work", uri, &["doctor", "--json"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["ok"], false);
    let names: Vec<String> = run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ORDER);
    insta::assert_snapshot!(run.checks(&["libvirt", "libvirt-socket"]));
    let pool = run.check("pool");
    assert!(
        pool["detail"]
            .as_str()
            .unwrap()
            .contains("not looked up: libvirt not reachable"),
        "{pool}"
    );
    assert_ne!(pool["status"], "pass", "{pool}");
    assert!(
        run.stderr
            .contains("checks failed: libvirt, libvirt-socket"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_socket_nobody_answers_on_fails_within_the_timeout() {
    let e = env();
    // Bound and listening, never accepted: the kernel takes the connection
    // and libvirt's client waits for an answer that never comes.
    let sock = e.path().join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let uri = format!("qemu+unix:///system?socket={}", sock.display());
    let run = e.lab("work", &uri, &["doctor", "--json", "--timeout", "2"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
    insta::assert_snapshot!(run.checks(&["libvirt", "libvirt-socket"]));
}

#[test]
fn the_test_driver_passes_and_the_lab_checks_are_skipped_without_a_lab() {
    let e = env();
    let run = e.lab("work", "test:///default", &["doctor", "--json"], &[]);
    let libvirt = run.check("libvirt");
    assert_eq!(libvirt["status"], "pass", "{libvirt}");
    let detail = libvirt["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("test:///default (LAB_LIBVIRT_URI), libvirt ")
            && detail.ends_with(", TEST 0.0.2"),
        "{detail}"
    );
    assert_eq!(run.check("libvirt-socket")["status"], "skip");
    let lab_file = run.check("lab-file");
    assert_eq!(lab_file["status"], "skip");
    // work/ is not inside HOME: the search goes up to the root.
    assert_eq!(
        lab_file["detail"],
        "no lab file found (no lab.yaml in [TMP]/work or any parent directory)"
    );
    for name in ["memory", "disk", "subnet", "proxy"] {
        let c = run.check(name);
        assert_eq!(c["status"], "skip", "{c}");
        assert_eq!(c["detail"], "no lab file found", "{c}");
        assert_eq!(c["fix"], Value::Null);
    }
    // `ok` and the exit status agree, whatever this host lacks.
    assert_eq!(run.json()["ok"] == true, run.code == 0, "{}", run.stdout);
}

/// labs/smoke in `work/`, with `proxy:` on `proxy` and its box's recipe.
fn smoke_lab(e: &Env, proxy: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    let text = std::fs::read_to_string(src).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("proxy:") || l.starts_with("# proxy:") {
                format!("proxy: {proxy}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains(&format!("proxy: {proxy}")),
        "labs/smoke has a proxy line"
    );
    std::fs::write(e.path().join("work/lab.yaml"), text).unwrap();
}

/// The repository's box recipes (debian-12 for the smoke lab).
const RECIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/boxes");

#[test]
fn with_a_lab_its_needs_and_proxy_are_checked() {
    use std::io::{Read, Write};
    let e = env();
    // A port that takes connections and never answers is no proxy.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    smoke_lab(&e, &format!("http://127.0.0.1:{silent_port}"));
    let run = e.lab(
        "work",
        "test:///default",
        &["doctor", "--json", "--timeout", "1"],
        &[],
    );
    let proxy = run.check("proxy");
    assert_eq!(proxy["status"], "fail", "{proxy}");
    assert!(
        proxy["detail"].as_str().unwrap().contains("no HTTP answer"),
        "{proxy}"
    );
    drop(silent);
    // A proxy answers with a status line (tinyproxy: 503 without upstream).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut req = [0u8; 512];
        let n = conn.read(&mut req).unwrap();
        conn.write_all(b"HTTP/1.0 503 Service Unavailable\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&req[..n]).into_owned()
    });
    smoke_lab(&e, &format!("http://127.0.0.1:{port}"));
    let run = e.lab("work", "test:///default", &["doctor", "--json"], &[]);
    let request = server.join().unwrap();
    assert!(request.starts_with("HEAD http://"), "{request}");
    let lab_file = run.check("lab-file");
    assert_eq!(lab_file["status"], "pass", "{lab_file}");
    assert_eq!(
        lab_file["detail"],
        "lab.yaml: lab smoke, 2 nodes; to build first: debian-12"
    );
    let memory = run.check("memory");
    assert!(
        memory["detail"]
            .as_str()
            .unwrap()
            .contains("2 VM(s) to start need 2048 MiB"),
        "{memory}"
    );
    assert!(
        run.check("disk")["detail"]
            .as_str()
            .unwrap()
            .contains("MiB needed")
    );
    let subnet = run.check("subnet");
    assert_eq!(subnet["status"], "pass", "{subnet}");
    let proxy = run.check("proxy");
    assert_eq!(proxy["status"], "pass", "{proxy}");
    assert_eq!(
        proxy["detail"],
        format!(
            "http://127.0.0.1:{port} (`proxy:` in the lab file) answers from this host (HTTP/1.0 503 Service Unavailable)"
        )
    );
    // LAB_GUEST_PROXY wins over the lab file, as for `lab up` (nothing
    // listens on the port any more).
    let run = e.lab(
        "work",
        "test:///default",
        &["doctor", "--json"],
        &[("LAB_GUEST_PROXY", &format!("http://127.0.0.1:{port}"))],
    );
    let proxy = run.check("proxy");
    assert_eq!(proxy["status"], "fail", "{proxy}");
    assert!(
        proxy["detail"]
            .as_str()
            .unwrap()
            .contains("(LAB_GUEST_PROXY) does not answer"),
        "{proxy}"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn an_invalid_lab_file_fails_at_its_first_error_and_the_host_is_still_checked() {
    let e = env();
    smoke_lab(&e, "http://gateway:8888");
    let path = e.path().join("work/lab.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("10.77.10.21", "10.77.10.999");
    std::fs::write(&path, text).unwrap();
    let run = e.lab("work", "test:///default", &["doctor", "--json"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.checks(&["lab-file", "libvirt-socket", "memory", "proxy"]));
    assert_eq!(run.check("libvirt")["status"], "pass");
}

#[test]
fn human_output_is_one_aligned_line_per_check_with_its_fix_below() {
    let e = env();
    let uri = "qemu+unix:///system?socket=/nonexistent/lab-doctor.sock";
    let run = e.lab("work", uri, &["doctor"], &[]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let checks: Vec<&&str> = lines.iter().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(checks.len(), ORDER.len(), "{}", run.stdout);
    for (line, name) in checks.iter().zip(ORDER) {
        let status = &line[..4];
        assert!(["PASS", "WARN", "FAIL", "SKIP"].contains(&status), "{line}");
        // STATUS, two spaces, the name padded to the longest (14), two spaces.
        assert_eq!(&line[6..6 + name.len()], name, "{line}");
        assert_eq!(line.chars().nth(6 + 14 + 1), Some(' '), "{line}");
        assert_ne!(line.chars().nth(6 + 14 + 2), Some(' '), "{line}");
    }
    let libvirt = lines
        .iter()
        .position(|l| l.starts_with("FAIL  libvirt "))
        .unwrap();
    assert!(
        lines[libvirt + 1].starts_with(&format!("{:22}fix: Is libvirtd running?", "")),
        "{}",
        run.stdout
    );
}

#[test]
fn help_documents_the_json_shape() {
    let e = env();
    let run = e.lab("work", "test:///default", &["doctor", "--help"], &[]);
    assert_eq!(run.code, 0);
    for part in [
        "\"checks\"",
        "\"status\": \"pass|warn|fail|skip\"",
        "\"fix\"",
        "\"ok\"",
        "Exit status 1",
    ] {
        assert!(run.stdout.contains(part), "{part}: {}", run.stdout);
    }
}

#[test]
fn box_tools_in_the_system_directories_are_found_without_them_on_path() {
    if !Path::new("/usr/sbin/mkfs.ext4").exists() || !Path::new("/usr/sbin/chroot").exists() {
        eprintln!("skipped: mkfs.ext4 and chroot are not in /usr/sbin here");
        return;
    }
    let e = env();
    let path = "/usr/local/bin:/usr/bin:/bin";
    let run = e.lab(
        "work",
        "test:///default",
        &["doctor", "--json"],
        &[("PATH", path)],
    );
    let tools = run.check("box-tools");
    let detail = tools["detail"].as_str().unwrap();
    let missing = detail.split(" not installed").next().unwrap();
    assert!(
        !detail.contains(" not installed")
            || !(missing.contains("mkfs.ext4") || missing.contains("chroot")),
        "{tools}"
    );
}

#[test]
fn each_other_host_of_a_lab_over_several_hosts_is_checked_within_the_timeout() {
    let e = env();
    // c's socket does not exist; d's takes connections and never answers.
    let silent = e.path().join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    let lab = format!(
        "name: split\nbox: debian-12\nhosts:\n  a: {{uri: 'test:///default'}}\n  b: {{uri: 'test:///default'}}\n  \
         c: {{uri: 'qemu+unix:///system?socket=/nonexistent/lab-c.sock'}}\n  \
         d: {{uri: 'qemu+unix:///system?socket={}'}}\n  e: {{uri: 'test:///default'}}\n\
         network: {{subnet: 10.88.9.0/24}}\nnodes:\n  n1: {{host: a, ip: 10.88.9.21}}\n  \
         n2: {{host: b, ip: 10.88.9.22}}\n  n3: {{host: c, ip: 10.88.9.23}}\n  n4: {{host: d, ip: 10.88.9.24}}\n",
        silent.display()
    );
    std::fs::write(e.path().join("work/lab.yaml"), lab).unwrap();
    let run = e.lab(
        "work",
        "test:///default",
        &["doctor", "--json", "--timeout", "2"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
    // The primary (a) is the `libvirt` check; e has no node, so no check.
    let hosts: Vec<Value> = run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("host-"))
        .cloned()
        .collect();
    let said: Vec<(&str, &str, &str)> = hosts
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
                c["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(said.len(), 3, "{said:?}");
    assert_eq!(said[0].0, "host-b", "{said:?}");
    assert_eq!(said[0].1, "pass", "{said:?}");
    assert!(
        said[0].2.starts_with("b (test:///default): libvirt "),
        "{said:?}"
    );
    assert_eq!((said[1].0, said[1].1), ("host-c", "fail"), "{said:?}");
    assert!(
        said[1].2.contains(
            "c (qemu+unix:///system?socket=/nonexistent/lab-c.sock): Failed to connect socket"
        ),
        "{said:?}"
    );
    assert_eq!((said[2].0, said[2].1), ("host-d", "fail"), "{said:?}");
    assert!(
        said[2].2.contains("libvirt did not answer within 2 s"),
        "{said:?}"
    );
    assert!(
        hosts[1]["fix"].as_str().unwrap().contains(
            "`virsh -c 'qemu+unix:///system?socket=/nonexistent/lab-c.sock' list` must work"
        ),
        "{:?}",
        hosts[1]
    );
    assert!(
        run.stderr.contains("checks failed: host-c, host-d"),
        "{}",
        run.stderr
    );
    // Every host here is this machine (no ssh): its memory counts them all.
    let memory = run.check("memory");
    assert!(
        memory["detail"]
            .as_str()
            .unwrap()
            .starts_with("4 VM(s) to start need 4096 MiB"),
        "{memory}"
    );
}

#[test]
fn a_lab_on_another_machine_is_checked_there_not_here() {
    let e = env();
    // Nobody logs in as nobody over ssh here (nor does libvirt), so the
    // host's check fails, within the timeout, naming the login.
    let lab = "name: far\nbox: debian-12\nhosts:\n  b: {uri: 'qemu+ssh://nobody@127.0.0.1/system'}\n\
               network: {subnet: 10.88.9.0/24}\nnodes:\n  n1: {ip: 10.88.9.21, memory: 65536}\n";
    std::fs::write(e.path().join("work/lab.yaml"), lab).unwrap();
    let mut cmd = Command::cargo_bin("lab").unwrap();
    let out = cmd
        .args(["doctor", "--json", "--timeout", "3"])
        .current_dir(e.path().join("work"))
        .env("HOME", e.path().join("home"))
        .env("LAB_HOME", e.path().join("home/lab"))
        .env("LAB_BOXES_PATH", RECIPES)
        .env_remove("LAB_LIBVIRT_URI")
        .env_remove("LAB_FILE")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = |name: &str| {
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no check {name}: {json}"))
    };
    let host = check("host-b");
    assert_eq!(host["status"], "fail", "{host}");
    assert!(
        host["detail"]
            .as_str()
            .unwrap()
            .starts_with("b: cannot read its memory and routes over `ssh nobody@127.0.0.1`: "),
        "{host}"
    );
    // 65536 MiB is not asked of this machine, nor are its routes.
    let memory = check("memory");
    assert_eq!(memory["status"], "skip", "{memory}");
    let subnet = check("subnet");
    assert!(
        subnet["detail"]
            .as_str()
            .unwrap()
            .contains("the routes are host b's (its host-b check)"),
        "{subnet}"
    );
}
