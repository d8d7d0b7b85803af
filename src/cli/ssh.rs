//! `lab ssh NODE [-- CMD...]`, `lab ssh-config`, `lab console NODE`.

use anyhow::{Context, Result, bail};

use crate::cli::Global;
use crate::process::Cmd;
use crate::spec::Lab;
use crate::ssh::openssh::ClientOptions;
use crate::state::{State, StateDir};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Node to log in to.
    pub node: String,
    /// Command to run instead of a login shell (after `--`).
    #[arg(last = true)]
    pub command: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
}

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Node whose serial console log to print.
    pub node: String,
    /// Only the last N lines.
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<usize>,
}

/// The lab file, its state and the ssh options for it, without connecting
/// to libvirt (ssh must cost nothing beyond one `ssh`). A lab path ssh
/// cannot be given is refused here.
fn load(global: &Global) -> Result<(Lab, ClientOptions, State)> {
    let lab = crate::spec::load_reported_lenient(&global.file)?;
    crate::paths::check_lab_path(lab.dir())?;
    let sd = StateDir::for_lab_dir(lab.dir());
    let st = sd.load()?;
    Ok((lab, ClientOptions::for_lab(&sd)?, st))
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let (lab, options, st) = load(global)?;
    lab.node(&args.node)
        .with_context(|| format!("lab {} has no node `{}`", lab.name, args.node))?;
    let Some(ns) = st.nodes.get(&args.node).filter(|n| n.host_key.is_some()) else {
        bail!(
            "node {} has not been up yet (no pinned host key); run `lab up {}` first",
            args.node,
            args.node
        );
    };
    let options = options.through(ns.jump.as_deref())?;
    let mut cmd = Cmd::new("ssh").args(options.args());
    if !args.command.is_empty() {
        cmd = cmd.arg("-T");
    }
    cmd = cmd
        .args(crate::ssh::openssh::login(&ns.user, &ns.ip))
        .args(&args.command);
    Err(cmd.exec().into())
}

pub fn run_config(global: &Global, _args: ConfigArgs) -> Result<()> {
    let (lab, options, st) = load(global)?;
    // Only nodes with a pinned host key: ssh would refuse the others.
    let up: Vec<_> = lab
        .nodes
        .iter()
        .filter_map(|n| Some((n, st.nodes.get(&n.name).filter(|ns| ns.host_key.is_some())?)))
        .collect();
    if up.is_empty() {
        bail!(
            "no node of lab {} has been up yet (no pinned host key); run `lab up` first",
            lab.name
        );
    }
    for (node, ns) in up {
        let options = options.clone().through(ns.jump.as_deref())?;
        print!("{}", options.host_block(&node.name, &ns.ip, &ns.user)?);
    }
    Ok(())
}

pub fn run_console(global: &Global, args: ConsoleArgs) -> Result<()> {
    let ctx_lab = crate::spec::load_reported_lenient(&global.file)?;
    ctx_lab
        .node(&args.node)
        .with_context(|| format!("lab {} has no node `{}`", ctx_lab.name, args.node))?;
    let sd = StateDir::for_lab_dir(ctx_lab.dir());
    // Lines over MAX_LINE_BYTES are cut (by the readers); `-n N` keeps
    // only N of them at a time: the log grows as long as the VM runs.
    let mut last = std::collections::VecDeque::new();
    let mut emit = |line: &str| {
        let line = crate::ops::up::strip_control(line);
        match args.lines {
            None => println!("{line}"),
            Some(n) => {
                last.push_back(line);
                if last.len() > n {
                    last.pop_front();
                }
            }
        }
    };
    // The node's own host's login (a lab over several hosts), else the
    // jump of a state that records no host (the only host).
    let remote = match sd.exists() {
        true => sd.load()?.nodes.remove(&args.node).and_then(|ns| {
            let login = ns
                .host_ssh
                .clone()
                .or_else(|| ns.host.is_none().then(|| ns.jump.clone()).flatten())?;
            Some((ns, login))
        }),
        false => None,
    };
    match remote {
        Some((ns, login)) => console_through_host(&args.node, &ns, &login, &mut emit)?,
        None => console_here(&args.node, &sd.console_log(&args.node), &mut emit)?,
    }
    for line in last {
        println!("{line}");
    }
    Ok(())
}

/// Hands each line of the console log at `path` on this machine to `emit`.
fn console_here(node: &str, path: &std::path::Path, emit: &mut dyn FnMut(&str)) -> Result<()> {
    // One sentence either way: the cause is in it, not a second line.
    let file = match crate::limits::open_regular(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "node {node} has no console log yet ({} does not exist); it is written from the node's first start: run `lab up {node}`",
            path.display(),
        ),
        Err(e) => bail!("cannot read the console log {}: {e}", path.display()),
    };
    let mut reader = std::io::BufReader::new(file);
    while let Some(line) = crate::limits::read_text_line(&mut reader)? {
        emit(&line);
    }
    Ok(())
}

/// Hands each line of the console log of the node whose host is another
/// machine (it stays there: [`crate::ops::names::remote_console_log`]) to
/// `emit`, read by `ssh USER@HOST cat` with the user's ssh config for
/// the host, as the other logins to it.
fn console_through_host(
    node: &str,
    ns: &crate::state::NodeState,
    jump: &str,
    emit: &mut dyn FnMut(&str),
) -> Result<()> {
    let (user, address) = crate::names::ssh_login(jump)
        .map_err(|why| anyhow::anyhow!("the host login of node {node} in the state {why}"))?;
    let path = crate::ops::names::remote_console_log(&ns.domain);
    // The remote shell reads the command: the path is one quoted word.
    let remote = format!(
        "test -e {0} || exit 3; exec cat -- {0}",
        crate::process::shell_quote(&path)
    );
    let cmd = Cmd::new("ssh")
        .args(["-o", "BatchMode=yes"])
        .args(crate::ssh::openssh::login(user, address))
        .arg(remote);
    match cmd.stream(&mut |line| emit(line)) {
        Ok(()) => Ok(()),
        Err(crate::process::ProcessError::Failed { status, .. }) if status == "exit status 3" => bail!(
            "node {node} has no console log yet ({path} does not exist on host {address}); it is written from the node's first start: run `lab up {node}`"
        ),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot read node {node}'s console log {path} on host {address}; check that `ssh {jump}` logs in without a prompt"
        ))),
    }
}
