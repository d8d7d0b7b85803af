//! `lab completions SHELL`: print the shell's completion script
//! (clap_complete), and [`public`], the command tree users are offered.

use std::io::Write;

use clap::{Command, CommandFactory};
use clap_complete::Shell;

/// Where each shell reads completions from, shown by `lab completions --help`.
const INSTALL_HELP: &str = "\
Install (the Debian package does this for bash, zsh and fish):
  bash:  lab completions bash > ~/.local/share/bash-completion/completions/lab
  zsh:   lab completions zsh > ~/.zfunc/_lab   (with fpath+=(~/.zfunc) before compinit in ~/.zshrc)
  fish:  lab completions fish > ~/.config/fish/completions/lab.fish";

#[derive(Debug, clap::Args)]
#[command(after_long_help = INSTALL_HELP)]
pub struct Args {
    /// The shell to print the script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script of `shell` to stdout; a closed pipe
/// (`lab completions bash | head`) ends lab quietly (see closed_stdout).
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut cmd = public(&super::Cli::command());
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "lab", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(())
}

/// `root` (the unbuilt `lab` command) without its hidden subcommands
/// (`__probe`, `__forward`, `__man`: internal, not for users), which
/// clap_complete would otherwise offer. clap cannot remove a subcommand,
/// so the root is made anew from what it declares: name and version (the
/// constants: clap takes no other strings without its `string` feature),
/// texts (about, long about, the text after the long help), the settings the derive sets, its arguments, and the visible
/// subcommands as they are (none of them has hidden subcommands of its
/// own; a test checks the help and manual page are unchanged).
pub fn public(root: &Command) -> Command {
    let mut cmd = Command::new("lab").version(super::VERSION);
    if let Some(about) = root.get_about() {
        cmd = cmd.about(about.clone());
    }
    if let Some(long_about) = root.get_long_about() {
        cmd = cmd.long_about(long_about.clone());
    }
    if let Some(after) = root.get_after_long_help() {
        cmd = cmd.after_long_help(after.clone());
    }
    cmd.propagate_version(root.is_propagate_version_set())
        .subcommand_required(root.is_subcommand_required_set())
        .arg_required_else_help(root.is_arg_required_else_help_set())
        .args(root.get_arguments().cloned())
        .subcommands(root.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::public;
    use crate::cli::Cli;

    fn man(cmd: clap::Command) -> String {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page).unwrap();
        String::from_utf8(page).unwrap()
    }

    #[test]
    fn the_public_command_is_the_root_without_its_hidden_subcommands() {
        let root = Cli::command();
        let mut cmd = public(&root);
        let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
        assert!(
            names.contains(&"up") && names.contains(&"completions"),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n.starts_with("__")), "{names:?}");
        assert!(root.get_subcommands().any(|s| s.is_hide_set()));
        // What users read is the same: help, long help, manual page.
        assert_eq!(
            cmd.render_help().to_string(),
            Cli::command().render_help().to_string()
        );
        assert_eq!(
            cmd.render_long_help().to_string(),
            Cli::command().render_long_help().to_string()
        );
        assert_eq!(man(public(&root)), man(Cli::command()));
        // No visible subcommand hides one of its own (public keeps them).
        for sub in cmd.get_subcommands() {
            assert!(
                !sub.get_subcommands().any(|s| s.is_hide_set()),
                "{}",
                sub.get_name()
            );
        }
        cmd.build();
    }
}
