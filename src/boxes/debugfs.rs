//! Reading and changing files inside an ext4 image file without mounting
//! it (no loop device, no root), through e2fsprogs' debugfs(8): `stat`
//! and `dump` to read, `mkdir`, `write`, `rm` and `set_inode_field` to
//! change, each file given its owner and mode explicitly.
//!
//! debugfs exits 0 whatever its commands did and reports their failures
//! on stderr, so every run here is a failure when stderr holds anything
//! but its version banner. Paths inside the image are refused unless they
//! are plain absolute paths ([`guest_path`]): debugfs splits its command
//! lines at blanks and takes `"` as a quote.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::process::Cmd;

/// What a path in the image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// An inode of the image, as `stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inode {
    pub kind: Kind,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Bytes.
    pub size: u64,
}

/// A file's permission bits, owner uid and group gid.
pub type Owner = (u32, u32, u32);

/// An ext4 image file and a directory for debugfs's local copies.
#[derive(Debug)]
pub struct Image<'a> {
    image: &'a Path,
    scratch: &'a Path,
    log: &'a Path,
}

/// Changes for [`Image::apply`], made in one debugfs run, in order.
#[derive(Debug, Default)]
pub struct Edits {
    commands: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
}

impl Edits {
    /// Make directory `path` (its parent must exist) with `mode`, owned by
    /// `uid`:`gid`.
    pub fn mkdir(&mut self, path: &str, mode: u32, uid: u32, gid: u32) -> Result<()> {
        guest_path(path)?;
        self.commands.push(format!("mkdir {path}"));
        self.owner_mode(path, 0o040000 | mode, uid, gid);
        Ok(())
    }

    /// Write `data` to `path` with `mode`, owned by `uid`:`gid`; a file
    /// there already (`exists`) is removed first.
    pub fn write(
        &mut self,
        path: &str,
        data: &[u8],
        exists: bool,
        (mode, uid, gid): Owner,
    ) -> Result<()> {
        guest_path(path)?;
        if exists {
            self.commands.push(format!("rm {path}"));
        }
        let local = format!("file{}", self.files.len());
        self.commands.push(format!("write {local} {path}"));
        self.files.push((local, data.to_vec()));
        self.owner_mode(path, 0o100000 | mode, uid, gid);
        Ok(())
    }

    /// Give the regular file `path` `mode`, owned by `uid`:`gid` (tests
    /// make images as a Debian build makes them).
    #[cfg(test)]
    pub fn set_file_owner(&mut self, path: &str, (mode, uid, gid): Owner) {
        self.owner_mode(path, 0o100000 | mode, uid, gid);
    }

    fn owner_mode(&mut self, path: &str, mode: u32, uid: u32, gid: u32) {
        self.commands.push(format!("sif {path} mode 0{mode:o}"));
        self.commands.push(format!("sif {path} uid {uid}"));
        self.commands.push(format!("sif {path} gid {gid}"));
    }
}

impl<'a> Image<'a> {
    /// The ext4 file system in the file `image`; local copies go to the
    /// directory `scratch`, debugfs's output to the end of `log`.
    pub fn new(image: &'a Path, scratch: &'a Path, log: &'a Path) -> Image<'a> {
        Image {
            image,
            scratch,
            log,
        }
    }

    /// The inode at `path` (links on the way followed, not the last one),
    /// or `None` when there is nothing there.
    pub fn stat(&self, path: &str) -> Result<Option<Inode>> {
        guest_path(path)?;
        let out = match self.run(&[format!("stat {path}")], false) {
            Ok(out) => out,
            Err(Failed(stderr)) if stderr.contains("File not found by ext2_lookup") => {
                return Ok(None);
            }
            Err(Failed(stderr)) => bail!(self.failed(&stderr)),
        };
        parse_stat(&out).map(Some).with_context(|| {
            format!(
                "debugfs showed {path} in {} as {out:?}",
                self.image.display()
            )
        })
    }

    /// The content of the regular file at `path`, `None` when there is
    /// nothing there; refused when it is something else or larger than
    /// `max` bytes.
    pub fn read(&self, path: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let Some(inode) = self.stat(path)? else {
            return Ok(None);
        };
        if inode.kind != Kind::File {
            bail!(
                "{path} in the box's image is not a regular file ({:?})",
                inode.kind
            );
        }
        if inode.size > max {
            bail!(
                "{path} in the box's image is {} bytes, more than the {max} lab reads",
                inode.size
            );
        }
        let local = self.scratch.join("dumped");
        let _ = std::fs::remove_file(&local);
        self.run(&[format!("dump {path} dumped")], false)
            .map_err(|Failed(e)| anyhow::anyhow!(self.failed(&e)))?;
        let data = std::fs::read(&local)
            .with_context(|| format!("cannot read {} (dumped from the image)", local.display()))?;
        let _ = std::fs::remove_file(&local);
        Ok(Some(data))
    }

    /// The names in directory `dir` (without `.` and `..`).
    pub fn list(&self, dir: &str) -> Result<Vec<String>> {
        guest_path(dir)?;
        let out = self
            .run(&[format!("ls -p {dir}")], false)
            .map_err(|Failed(e)| anyhow::anyhow!(self.failed(&e)))?;
        Ok(parse_ls(&out))
    }

    /// Make `edits` in one debugfs run (writing to the image).
    pub fn apply(&self, edits: &Edits) -> Result<()> {
        for (name, data) in &edits.files {
            let local = self.scratch.join(name);
            std::fs::write(&local, data)
                .with_context(|| format!("cannot write {}", local.display()))?;
        }
        let result = self.run(&edits.commands, true);
        for (name, _) in &edits.files {
            let _ = std::fs::remove_file(self.scratch.join(name));
        }
        result
            .map(drop)
            .map_err(|Failed(e)| anyhow::anyhow!(self.failed(&e)))
    }

    /// Run `commands` (`-w`: may write), from `scratch`; stdout, or
    /// `Failed` with what debugfs said on stderr.
    fn run(&self, commands: &[String], write: bool) -> Result<String, Failed> {
        let script = self.scratch.join("debugfs.cmds");
        std::fs::write(&script, commands.join("\n") + "\n")
            .map_err(|e| Failed(format!("cannot write {}: {e}", script.display())))?;
        let mut cmd = Cmd::new("debugfs");
        if write {
            cmd = cmd.arg("-w");
        }
        let cmd = cmd
            .args(["-f", "debugfs.cmds"])
            .arg(absolute(self.image))
            .cwd(self.scratch)
            .env("DEBUGFS_PAGER", "__none__");
        let out = cmd.run().map_err(|e| Failed(e.to_string()))?;
        self.append_log(&cmd.cmdline(), &out.stdout, &out.stderr);
        let complaints: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !is_banner(l))
            .collect();
        if complaints.is_empty() {
            Ok(out.stdout)
        } else {
            Err(Failed(complaints.join("\n")))
        }
    }

    fn failed(&self, stderr: &str) -> String {
        format!(
            "debugfs could not change or read {}:\n{stderr}\nfull log: {}",
            self.image.display(),
            self.log.display()
        )
    }

    fn append_log(&self, cmdline: &str, stdout: &str, stderr: &str) {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.log);
        if let Ok(mut file) = file {
            let _ = write!(file, "$ {cmdline}\n{stdout}{stderr}");
        }
    }
}

/// debugfs's complaints (stderr), for [`Image::run`].
struct Failed(String);

/// The first line debugfs always writes on stderr:
/// `debugfs 1.47.0 (5-Feb-2023)`.
fn is_banner(line: &str) -> bool {
    line.starts_with("debugfs ") && line.trim_end().ends_with(')')
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Refuse a path in the image debugfs could take for something else: it
/// must be absolute, of `A-Z a-z 0-9 . _ - + @` and `/` only, with no
/// empty, `.` or `..` part.
pub fn guest_path(path: &str) -> Result<()> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-+@".contains(c);
    let ok = path.len() > 1
        && path.starts_with('/')
        && path[1..]
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && part.chars().all(plain));
    if !ok {
        bail!(
            "{} is not a path lab changes in an image (absolute, of letters, digits, `._-+@` and `/` only)",
            crate::names::quoted(path)
        );
    }
    Ok(())
}

/// The names `ls -p` lists, one `/inode/mode/uid/gid/name/size/` a line
/// (the command echoed by `-f`, `debugfs: ls -p DIR`, is no entry).
fn parse_ls(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('/').collect();
            (f.len() == 8 && f[0].is_empty()).then(|| f[5].to_string())
        })
        .filter(|n| n != "." && n != "..")
        .collect()
}

/// The inode `stat` describes: `Type: regular    Mode:  0644`, then
/// `User:     0   Group:    42 ... Size: 580` (e2fsprogs 1.47's format).
fn parse_stat(out: &str) -> Option<Inode> {
    let after = |key: &str| -> Option<&str> {
        let at = out.find(key)? + key.len();
        out[at..].split_whitespace().next()
    };
    let kind = match after("Type:")? {
        "regular" => Kind::File,
        "directory" => Kind::Dir,
        "symlink" => Kind::Symlink,
        _ => Kind::Other,
    };
    Some(Inode {
        kind,
        mode: u32::from_str_radix(after("Mode:")?, 8).ok()? & 0o7777,
        uid: after("User:")?.parse().ok()?,
        gid: after("Group:")?.parse().ok()?,
        size: after("Size:")?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_output_of_e2fsprogs_1_47_is_read() {
        let out = "Inode: 370   Type: regular    Mode:  0640   Flags: 0x80000\n\
                   Generation: 0    Version: 0x00000000:00000000\n\
                   User:     0   Group:    42   Project:     0   Size: 580\n";
        assert_eq!(
            parse_stat(out),
            Some(Inode {
                kind: Kind::File,
                mode: 0o640,
                uid: 0,
                gid: 42,
                size: 580
            })
        );
        let dir = out.replace("regular", "directory").replace("0640", "2775");
        assert_eq!(parse_stat(&dir).unwrap().kind, Kind::Dir);
        assert_eq!(parse_stat(&dir).unwrap().mode, 0o2775);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn only_plain_absolute_paths_reach_debugfs() {
        for good in [
            "/etc/passwd",
            "/home/vagrant/.ssh/authorized_keys",
            "/a+b@c",
        ] {
            assert!(guest_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/",
            "etc/passwd",
            "/home//x",
            "/home/../etc",
            "/a b",
            "/a\"b",
            "/x/",
            "/a\nb",
            "/./x",
        ] {
            let msg = guest_path(bad).unwrap_err().to_string();
            assert!(
                msg.contains("is not a path lab changes in an image"),
                "{msg}"
            );
        }
    }

    #[test]
    fn edits_give_every_file_its_owner_and_mode() {
        let mut e = Edits::default();
        e.mkdir("/home/vagrant", 0o700, 1000, 1000).unwrap();
        e.write("/etc/passwd", b"x", true, (0o644, 0, 0)).unwrap();
        assert_eq!(
            e.commands,
            [
                "mkdir /home/vagrant",
                "sif /home/vagrant mode 040700",
                "sif /home/vagrant uid 1000",
                "sif /home/vagrant gid 1000",
                "rm /etc/passwd",
                "write file0 /etc/passwd",
                "sif /etc/passwd mode 0100644",
                "sif /etc/passwd uid 0",
                "sif /etc/passwd gid 0",
            ]
        );
        assert!(e.write("/a b", b"", false, (0o644, 0, 0)).is_err());
    }

    #[test]
    fn ls_p_lists_names() {
        let out = "debugfs: ls -p /boot\n/13/040755/0/0/.//\n/2/040755/0/0/..//\n\
                   /17/100644/0/0/vmlinuz-6.1.0-50-cloud-amd64/14149568/\n/18/120777/0/0/a b/3/\n";
        assert_eq!(parse_ls(out), ["vmlinuz-6.1.0-50-cloud-amd64", "a b"]);
    }

    #[test]
    fn only_the_banner_is_not_a_complaint() {
        assert!(is_banner("debugfs 1.47.0 (5-Feb-2023)"));
        assert!(!is_banner("/x: File not found by ext2_lookup "));
    }
}
