//! `type: ansible`: run the lab's playbook with an inventory of the nodes,
//! the lab's secrets and variables.
//!
//! `controller: NODE` (default `control1`): the lab-internal key pair
//! (`.lab/internal_ed25519`, made once per lab) is authorised for the login
//! user on every node and its private half put at `~/.ssh/lab_internal` on
//! the controller, beside `~/.ssh/lab_known_hosts` (the host keys `lab up`
//! pinned, so Ansible checks them there too); the lab directory is copied
//! to `~/lab` there with `.lab-inventory.yml`, `.lab-secrets.json` (0600)
//! and `.lab-vars.json`;
//! Debian's `ansible` (and `python3-pymysql`) is installed when missing
//! (through the apt proxy cloud-init configured); then `ansible-playbook`
//! runs in `~/lab`.
//!
//! `controller: host`: `ansible-playbook` runs on this machine, in the lab
//! directory, with the lab key and the lab's pinned known_hosts; the inventory,
//! secrets and variables are written to `.lab/ansible/`. It needs Ansible
//! installed here (Debian package `ansible`), and must run where the lab
//! network is reachable (inside the sandbox when there is one).
//!
//! Either way the output streams into the provision log, the current
//! `PLAY`/`TASK` is shown, and `PLAY RECAP` (with the time per role) is
//! the result; a failure names the task and host that failed.

use anyhow::{Context, Result, bail};

use super::inventory::{self, CONTROLLER_KEY, CONTROLLER_KNOWN_HOSTS};
use super::recap::{Event, HostRecap, Parser};
use super::remote::{self, Remote};
use super::timing::RoleTime;
use super::upload::{self, Extra};
use super::{Options, Run, clip, guest_lab_dir, secrets};
use super::{images, mitogen};
use crate::process::{Cmd, ProcessError, shell_join, shell_quote};
use crate::spec::{Ansible, Controller};
use crate::state::{ANSIBLE_DIR, INTERNAL_KEY_FILE, write_atomic};

/// The inventory in the copy of the lab directory on a controller node.
pub const INVENTORY_ON_NODE: &str = ".lab-inventory.yml";
/// The inventory in `.lab/ansible/` for `controller: host`.
pub const INVENTORY_ON_HOST: &str = "inventory.yml";
/// Debian packages the controller needs.
pub const CONTROLLER_PACKAGES: &str = "ansible python3-pymysql";
/// How often apt's progress is shown while Ansible is installed.
const APT_SHOW_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Environment of every `ansible-playbook` run: plain, line-buffered
/// output, and host keys checked (against the pinned known_hosts the
/// inventory names) whatever an ansible.cfg says.
const ENV: &[(&str, &str)] = &[
    ("ANSIBLE_HOST_KEY_CHECKING", "True"),
    ("ANSIBLE_FORCE_COLOR", "0"),
    ("ANSIBLE_NOCOLOR", "1"),
    ("ANSIBLE_STDOUT_CALLBACK", "default"),
    ("PYTHONUNBUFFERED", "1"),
];

/// Runs the playbook; its `PLAY RECAP` per host and the seconds per role.
pub fn run(run: &Run, a: &Ansible, opts: &Options) -> Result<Outcome> {
    let playbook = run.lab.dir().join(&a.playbook);
    if !playbook.is_file() {
        bail!("the playbook {} does not exist", playbook.display());
    }
    match &a.controller {
        Controller::Node(name) => on_node(run, a, name, opts),
        Controller::Host => on_host(run, a, opts),
    }
}

/// `ansible-playbook`'s arguments after the inventory and variables.
pub fn playbook_args(a: &Ansible, opts: &Options) -> Vec<String> {
    let mut args = vec![a.playbook.to_string_lossy().into_owned()];
    if let Some(tags) = &opts.tags {
        args.extend(["--tags".into(), tags.clone()]);
    }
    if !opts.nodes.is_empty() {
        args.extend(["--limit".into(), opts.nodes.join(",")]);
    }
    args
}

fn on_node(run: &Run, a: &Ansible, controller: &str, opts: &Options) -> Result<Outcome> {
    let lab = run.lab;
    let secrets = secrets::ensure(run.sd, &secrets::wanted(lab))?;
    let key = run.sd.file(INTERNAL_KEY_FILE);
    let pubkey = crate::ssh::ensure_keypair(&key, &format!("lab-internal@{}", lab.name))?;
    let private = std::fs::read(&key).with_context(|| format!("cannot read {}", key.display()))?;
    let all: Vec<Remote> = lab
        .nodes
        .iter()
        .map(|n| run.remote(&n.name))
        .collect::<Result<_>>()?;
    run.rep
        .note("ansible: authorising the lab-internal key on every node");
    let authorize = format!(
        "set -e; umask 077; mkdir -p ~/.ssh; touch ~/.ssh/authorized_keys; grep -qxF {k} ~/.ssh/authorized_keys || echo {k} >> ~/.ssh/authorized_keys",
        k = shell_quote(&pubkey)
    );
    for (r, res) in all.iter().zip(crate::fanout::each(&all, |r| {
        remote::exec_ok(&r.open()?, &authorize, &[])
    })) {
        res.with_context(|| format!("cannot authorise the lab-internal key on {}", r.name))?;
    }

    let built = images::build(run, &a.images)?;
    let ctrl = run.remote(controller)?;
    let sess = ctrl.open()?;
    let images = images::upload(run, &ctrl, &sess, &built)?;
    let home = ctrl.home();
    let dir = guest_lab_dir(&home);
    run.rep.phase(
        controller,
        &format!("copying {} to {dir}", lab.dir().display()),
    );
    let extras = [
        Extra {
            path: INVENTORY_ON_NODE.into(),
            data: inventory::inventory(lab, run.st, &inventory::controller_access(&home)?)
                .into_bytes(),
            mode: 0o644,
        },
        Extra {
            path: ".lab-secrets.json".into(),
            data: secrets.ansible_vars().into_bytes(),
            mode: 0o600,
        },
        Extra {
            path: ".lab-vars.json".into(),
            data: inventory::vars(lab, lab.guest_proxy().as_deref(), &images).into_bytes(),
            mode: 0o644,
        },
    ];
    upload::upload_dir(&ctrl, &sess, lab.dir(), &dir, &extras)?;
    remote::write_file(&sess, &format!("{home}/{CONTROLLER_KEY}"), &private, 0o600)?;
    remote::write_file(
        &sess,
        &format!("{home}/{CONTROLLER_KEY}.pub"),
        format!("{pubkey}\n").as_bytes(),
        0o644,
    )?;
    let known_hosts = crate::ssh::openssh::known_hosts(run.st, lab.network.domain.as_deref());
    remote::write_file(
        &sess,
        &format!("{home}/{CONTROLLER_KNOWN_HOSTS}"),
        known_hosts.as_bytes(),
        0o644,
    )?;
    ensure_ansible(run, &ctrl, &sess)?;

    let mut env: Vec<String> = ENV.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if let Some(m) = wanted_mitogen(run, a) {
        let on_node = format!("{home}/{}", mitogen::ON_NODE);
        copy_mitogen(run, &ctrl, &sess, &m, &on_node)?;
        env.extend(
            mitogen::Mitogen::env(&on_node)
                .iter()
                .map(|(k, v)| format!("{k}={}", shell_quote(v))),
        );
    }
    let cmd = format!(
        "cd {} && {} ansible-playbook -i {INVENTORY_ON_NODE} -e @.lab-secrets.json -e @.lab-vars.json {}",
        shell_quote(&dir),
        env.join(" "),
        shell_join(playbook_args(a, opts))
    );
    run.rep.note(&format!("ansible: {controller}: {cmd}"));
    let mut parser = Parser::default();
    let exit = remote::exec_lines(&sess, &cmd, &[], &mut |l| {
        show(run, Some(controller), &mut parser, l)
    })?;
    outcome(run, parser, exit.success(), &exit.to_string())
}

/// The Mitogen to run `a` with: none when the lab says `mitogen: false`,
/// or when this machine has none (then a note says how to install it).
fn wanted_mitogen(run: &Run, a: &Ansible) -> Option<mitogen::Mitogen> {
    if !a.mitogen {
        return None;
    }
    let found = mitogen::find();
    match &found {
        Some(m) => run.rep.note(&format!(
            "ansible: with Mitogen {} ({})",
            m.version,
            m.dir.display()
        )),
        None => run.rep.note(&mitogen::missing_note()),
    }
    found
}

/// Copy Mitogen to `dest` on the controller unless the same version is
/// there (its version file says).
fn copy_mitogen(
    run: &Run,
    ctrl: &Remote,
    sess: &ssh2::Session,
    m: &mitogen::Mitogen,
    dest: &str,
) -> Result<()> {
    const VERSION_FILE: &str = ".lab-mitogen-version";
    let probe = format!("cat {}/{VERSION_FILE}", shell_quote(dest));
    let mut have = String::new();
    if remote::exec_lines(sess, &probe, &[], &mut |l| have.push_str(l))?.success()
        && have.trim() == m.version
        && m.version != "unknown"
    {
        return Ok(());
    }
    run.rep.phase(
        &ctrl.name,
        &format!("copying Mitogen {} to {dest}", m.version),
    );
    let version = Extra {
        path: VERSION_FILE.into(),
        data: format!("{}\n", m.version).into_bytes(),
        mode: 0o644,
    };
    upload::upload_dir(ctrl, sess, &m.dir, dest, &[version])?;
    Ok(())
}

/// Install Ansible on the controller unless it is there.
fn ensure_ansible(run: &Run, ctrl: &Remote, sess: &ssh2::Session) -> Result<()> {
    let probe = "command -v ansible-playbook >/dev/null && python3 -c 'import pymysql' 2>/dev/null";
    if remote::exec_lines(sess, probe, &[], &mut |_| {})?.success() {
        return Ok(());
    }
    run.rep.phase(
        &ctrl.name,
        &format!("installing {CONTROLLER_PACKAGES} (apt-get)"),
    );
    run.rep.note(&format!(
        "ansible: installing {CONTROLLER_PACKAGES} on {} (a few minutes under TCG)",
        ctrl.name
    ));
    let cmd = format!(
        "sudo -n env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -q && apt-get install -y -q {CONTROLLER_PACKAGES}'"
    );
    let mut last = Vec::new();
    // apt prints hundreds of lines: show one every few seconds.
    let mut shown = std::time::Instant::now() - APT_SHOW_EVERY;
    let exit = remote::exec_lines(sess, &cmd, &[], &mut |l| {
        run.log.line(&ctrl.name, l);
        if shown.elapsed() >= APT_SHOW_EVERY {
            run.rep.phase(&ctrl.name, &format!("apt: {}", clip(l, 60)));
            shown = std::time::Instant::now();
        }
        remote::push_tail(&mut last, l);
    })?;
    if !exit.success() {
        bail!(
            "installing {CONTROLLER_PACKAGES} on {} failed ({exit}); last output:\n{}\n{}",
            ctrl.name,
            remote::tail(&last, remote::TAIL_LINES),
            run.see_log()
        );
    }
    Ok(())
}

fn on_host(run: &Run, a: &Ansible, opts: &Options) -> Result<Outcome> {
    let lab = run.lab;
    let dir = run.sd.file(ANSIBLE_DIR);
    crate::files::private_dir(&dir)?;
    let images = images::on_host(&images::build(run, &a.images)?);
    let access = crate::ssh::openssh::ClientOptions::for_lab(run.sd)?.through(run.st.jump())?;
    let files = [
        (
            INVENTORY_ON_HOST,
            inventory::inventory(lab, run.st, &access),
        ),
        (
            "secrets.json",
            secrets::ensure(run.sd, &secrets::wanted(run.lab))?.ansible_vars(),
        ),
        (
            "vars.json",
            inventory::vars(lab, lab.guest_proxy().as_deref(), &images),
        ),
    ];
    for (name, text) in &files {
        write_atomic(&dir.join(name), text.as_bytes(), 0o600)?;
    }
    let mut cmd = Cmd::new(&opts.host_ansible)
        .arg("-i")
        .arg(dir.join(INVENTORY_ON_HOST))
        .arg("-e")
        .arg(format!("@{}", dir.join("secrets.json").display()))
        .arg("-e")
        .arg(format!("@{}", dir.join("vars.json").display()))
        .args(playbook_args(a, opts))
        .cwd(lab.dir());
    for (k, v) in ENV {
        cmd = cmd.env(k, v);
    }
    if let Some(m) = wanted_mitogen(run, a) {
        for (k, v) in mitogen::Mitogen::env(&m.dir.display().to_string()) {
            cmd = cmd.env(k, v);
        }
    }
    run.rep.note(&format!("ansible: host: {cmd}"));
    let mut parser = Parser::default();
    let result = cmd.stream(&mut |l| show(run, None, &mut parser, l));
    match result {
        Ok(()) => outcome(run, parser, true, "exit status 0"),
        Err(ProcessError::Failed { status, .. }) => outcome(run, parser, false, &status),
        Err(e) => Err(e.into()),
    }
}

/// Log a line, feed the parser, and show plays, tasks and failures.
fn show(run: &Run, controller: Option<&str>, parser: &mut Parser, line: &str) {
    run.log.line("ansible", line);
    let text = match parser.feed(line) {
        Event::Play(t) | Event::Task(t) => t,
        Event::Failed(t) => format!("FAILED: {t}"),
        Event::Warning(t) => {
            run.rep
                .note(&format!("ansible: WARNING: {}", clip(&t, 200)));
            return;
        }
        Event::Other => return,
    };
    match controller {
        Some(node) => run.rep.phase(node, &clip(&text, 70)),
        None => run.rep.note(&format!("ansible: {}", clip(&text, 100))),
    }
}

/// What a successful `ansible-playbook` run reported.
pub struct Outcome {
    /// `PLAY RECAP`, per host.
    pub hosts: Vec<HostRecap>,
    /// Seconds per role.
    pub roles: Vec<RoleTime>,
    /// Its warnings ([`Parser::warnings`]).
    pub warnings: Vec<String>,
}

/// The recap, role times and warnings on success; on failure an error
/// naming what failed where.
fn outcome(run: &Run, mut parser: Parser, success: bool, exit: &str) -> Result<Outcome> {
    parser.roles.stop(std::time::Instant::now());
    for r in &parser.recap {
        let summary = format!(
            "ok={} changed={} failed={} unreachable={}",
            r.ok, r.changed, r.failed, r.unreachable
        );
        if r.failed + r.unreachable > 0 {
            run.rep.failed(&r.host, &summary);
        } else {
            run.rep.done(&r.host, &summary);
        }
    }
    if success {
        return Ok(Outcome {
            roles: parser.roles.roles().to_vec(),
            hosts: parser.recap,
            warnings: parser.warnings,
        });
    }
    let mut why: Vec<String> = parser.failures.iter().map(|f| format!("  - {f}")).collect();
    why.extend(parser.errors.iter().map(|e| format!("  - ERROR! {e}")));
    if why.is_empty() {
        why.push("  (no failed task in the output)".into());
    }
    bail!(
        "ansible-playbook failed ({exit}):\n{}\n{}",
        why.join("\n"),
        run.see_log()
    )
}
