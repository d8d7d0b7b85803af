//! `lab init [TEMPLATE] [DIR] [--force]`, `lab init --list`: write a lab
//! from a template built into `lab`, then say what was written and what
//! to run next. `lab init --from-vagrantfile PATH [DIR] [--force]`: the
//! same for a lab converted from a Vagrantfile, with a line on stderr for
//! each thing not carried over.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::Result;

use crate::error::InvalidInput;
use crate::ops::init::{self, InitError, Written};
use crate::ops::vagrantfile;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The template: one of the labs built into lab (`lab init --list`;
    /// default: smoke). With --from-vagrantfile: the directory.
    pub template: Option<String>,
    /// Where to write it; created if missing (default: the current
    /// directory).
    pub dir: Option<PathBuf>,
    /// Replace files of the template that exist already (without it, lab
    /// init writes nothing when one does). Directories and symbolic links
    /// are never replaced.
    #[arg(long)]
    pub force: bool,
    /// List the templates, one line each, and write nothing.
    #[arg(long, conflicts_with_all = ["force", "template", "dir", "from_vagrantfile"])]
    pub list: bool,
    /// Convert the multi-machine Vagrantfile at PATH into DIR/lab.yaml
    /// (DIR, the only positional argument then, defaults to the current
    /// directory): machines, private addresses, memory and cpus, forwarded
    /// ports, shell and Ansible provisioners; everything else is named on
    /// stderr and in the file's header. This RUNS THE VAGRANTFILE'S RUBY
    /// CODE (with `ruby`, against a stand-in for Vagrant's API), as
    /// Vagrant does: convert only Vagrantfiles you would run.
    #[arg(long, value_name = "PATH")]
    pub from_vagrantfile: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    if args.list {
        let templates = init::templates();
        let width = templates.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for t in templates {
            let default = if t.name == init::DEFAULT_TEMPLATE {
                " (default)"
            } else {
                ""
            };
            println!("{:<width$}  {}{default}", t.name, t.summary);
        }
        return Ok(());
    }
    if let Some(path) = &args.from_vagrantfile {
        return from_vagrantfile(path, &args);
    }
    let template = args.template.as_deref().unwrap_or(init::DEFAULT_TEMPLATE);
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let written = match init::init(template, &dir, args.force) {
        Ok(w) => w,
        Err(e @ InitError::UnknownTemplate { .. }) => {
            return Err(InvalidInput {
                summary: e.to_string(),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    print!("{}", report(&written));
    Ok(())
}

/// `--from-vagrantfile PATH [DIR]`: the one positional argument then is
/// DIR (clap puts it in `template`).
fn from_vagrantfile(path: &Path, args: &Args) -> Result<()> {
    if let (Some(first), Some(second)) = (&args.template, &args.dir) {
        return Err(InvalidInput {
            summary: format!(
                "with --from-vagrantfile, lab init takes one directory, not two ({first} and {}): the lab is converted, not taken from a template",
                second.display()
            ),
        }
        .into());
    }
    let dir = PathBuf::from(args.template.as_deref().unwrap_or("."));
    let converted = match vagrantfile::convert(path, &dir, args.force) {
        Ok(c) => c,
        Err(e) if e.is_invalid_input() => {
            return Err(InvalidInput {
                summary: e.to_string(),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    for note in &converted.notes {
        eprintln!(
            "note: {}",
            vagrantfile::note_line(&path.display().to_string(), note)
        );
    }
    let report = report(&converted.written).replacen(
        &format!("wrote lab template {} into", converted.written.template),
        &format!("converted {} into", converted.written.template),
        1,
    );
    print!("{report}");
    Ok(())
}

/// What was written (the top-level files, and each directory with its
/// number of files) and the commands to run next.
fn report(w: &Written) -> String {
    let mut top: BTreeMap<String, usize> = BTreeMap::new();
    for file in &w.files {
        let mut parts = file.components();
        let first = parts
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let key = match (first, parts.next()) {
            (Some(dir), Some(_)) => format!("{dir}/"),
            (Some(name), None) => name,
            _ => continue,
        };
        *top.entry(key).or_default() += 1;
    }
    let shown: Vec<String> = top
        .iter()
        .map(|(name, n)| match (name.ends_with('/'), n) {
            (false, _) => name.clone(),
            (true, n) => format!("{name} ({})", count(*n)),
        })
        .collect();
    let here = is_current_dir(&w.dir);
    let mut out = format!(
        "wrote lab template {} into {} ({}): {}\n",
        w.template,
        if here {
            "the current directory".to_string()
        } else {
            w.dir.display().to_string()
        },
        count(w.files.len()),
        shown.join(", ")
    );
    if !w.replaced.is_empty() {
        out += &format!(
            "replaced {} that existed (--force)\n",
            count(w.replaced.len())
        );
    }
    out += "next:\n";
    let cd = if here {
        String::new()
    } else {
        // `cd -dash` would be an option of cd: `cd ./-dash`.
        let dir = w.dir.display().to_string();
        let dir = if dir.starts_with('-') {
            format!("./{dir}")
        } else {
            dir
        };
        format!("cd {} && ", crate::process::shell_quote(&dir))
    };
    out += &format!("  {cd}lab up        # build the boxes it needs, boot and provision the lab\n");
    if w.files.iter().any(|f| f == Path::new("README.md")) {
        out += "  then read README.md there: what the lab is and how to use it\n";
    }
    out
}

/// `1 file`, `N files`.
fn count(n: usize) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

/// Whether `dir` names the current directory (`.`, `./`, `./.`).
fn is_current_dir(dir: &Path) -> bool {
    dir.components().all(|c| c == Component::CurDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_groups_directories_and_says_what_to_run() {
        let w = Written {
            template: "t".into(),
            dir: "my lab".into(),
            files: ["README.md", "app/a.py", "app/b/c.py", "lab.yaml", "tests/x"]
                .map(PathBuf::from)
                .to_vec(),
            replaced: vec![],
        };
        assert_eq!(
            report(&w),
            "wrote lab template t into my lab (5 files): README.md, app/ (2 files), lab.yaml, tests/ (1 file)\n\
             next:\n  cd 'my lab' && lab up        # build the boxes it needs, boot and provision the lab\n  then read README.md there: what the lab is and how to use it\n"
        );
        let w = Written {
            dir: ".".into(),
            files: vec!["lab.yaml".into()],
            replaced: vec!["lab.yaml".into()],
            ..w
        };
        assert_eq!(
            report(&w),
            "wrote lab template t into the current directory (1 file): lab.yaml\nreplaced 1 file that existed (--force)\nnext:\n  lab up        # build the boxes it needs, boot and provision the lab\n"
        );
        // A directory named like an option is not taken for one by cd.
        for (dir, cd) in [
            ("-dash", "cd ./-dash && lab up"),
            ("-a b", "cd './-a b' && lab up"),
        ] {
            let w = Written {
                dir: dir.into(),
                ..w.clone()
            };
            assert!(report(&w).contains(&format!("\n  {cd} ")), "{}", report(&w));
        }
    }
}
