//! `lab __man DIR` (hidden): write a manual page per command (clap_mangen),
//! for `scripts/package`. A hidden command rather than a separate program:
//! the pages come from the very binary they describe, with its version.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Command, CommandFactory};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write the pages into (made when missing; pages of the
    /// same names are replaced).
    pub dir: PathBuf,
}

/// Writes `lab.1`, `lab-up.1`, `lab-box.1`, `lab-box-build.1`, ... (roff,
/// section 1; the date is the commit's) into `args.dir` and prints each
/// path written, one a line. Hidden commands and `help` get no page.
pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| {
        format!(
            "cannot make the directory {} for the manual pages",
            args.dir.display()
        )
    })?;
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    for path in write_pages(cmd, &args.dir)? {
        println!("{}", path.display());
    }
    Ok(())
}

/// The page of `cmd` and of each of its visible subcommands, depth first;
/// `cmd` must be built (its subcommands then carry `lab-box-build` as
/// their display name, which names the page).
fn write_pages(cmd: Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.extend(write_pages(sub.clone(), dir)?);
    }
    let man = clap_mangen::Man::new(cmd)
        .date(env!("LAB_COMMIT_DATE"))
        .source(format!("lab {}", super::VERSION))
        .manual("lab manual");
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)?;
    std::fs::write(&path, page)
        .with_context(|| format!("cannot write the manual page {}", path.display()))?;
    written.push(path);
    Ok(written)
}
