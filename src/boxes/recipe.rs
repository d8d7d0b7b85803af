//! Box recipes: `boxes/NAME/box.yaml` (+ an optional `files/` overlay copied
//! into the root filesystem). The recipe hash decides whether a stored box is
//! still current.

use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// File name of a recipe inside its box directory.
pub const RECIPE_FILE: &str = "box.yaml";

/// What `boxes/NAME/box.yaml` says.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// One line for `lab box list`.
    #[serde(default)]
    pub description: String,
    /// Recipe version; part of the hash, shown in `lab box list`.
    pub version: String,
    /// Debian suite, e.g. `bookworm`.
    pub suite: String,
    /// Debian mirror URL.
    pub mirror: String,
    /// mmdebstrap variant (`apt`, `minbase`, ...).
    #[serde(default = "default_variant")]
    pub variant: String,
    /// Packages installed on top of the variant.
    pub packages: Vec<String>,
    /// Size of the root disk in GiB (the qcow2's virtual size).
    pub disk_gib: u64,
    /// Kernel command line for direct kernel boot.
    pub cmdline: String,
    /// The login user that cloud-init creates on first boot.
    pub user: String,
    /// Shell commands run inside the root filesystem (chroot) after the
    /// overlay is copied, in order.
    #[serde(default)]
    pub customize: Vec<String>,
}

fn default_variant() -> String {
    "apt".to_string()
}

/// A recipe found on disk.
#[derive(Debug, Clone)]
pub struct RecipeSource {
    pub name: String,
    pub dir: PathBuf,
    pub recipe: Recipe,
    /// sha256 over box.yaml and every file of the `files/` overlay.
    pub hash: String,
}

impl RecipeSource {
    /// The `files/` overlay directory, if the recipe has one.
    pub fn overlay_dir(&self) -> Option<PathBuf> {
        let dir = self.dir.join("files");
        dir.is_dir().then_some(dir)
    }
}

#[derive(Debug, Error, Diagnostic)]
pub enum RecipeError {
    #[error("no recipe for box `{name}`: looked for {RECIPE_FILE} in {}", fmt_dirs(searched))]
    #[diagnostic(help("box recipes live in boxes/NAME/box.yaml; set LAB_BOXES_PATH to add a directory"))]
    NotFound { name: String, searched: Vec<PathBuf> },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<InvalidRecipe>),
    #[error("{path}: {message}")]
    Semantic { path: PathBuf, message: String },
}

/// A recipe that is not valid YAML or does not match the recipe format.
#[derive(Debug, Error, Diagnostic)]
#[error("{path}:{line}:{column}: {message}")]
pub struct InvalidRecipe {
    pub path: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("here")]
    pub span: Option<SourceSpan>,
}

fn fmt_dirs(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no recipe directory (none found)".into();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Find `NAME/box.yaml` in the first directory of `dirs` that has it.
pub fn find(name: &str, dirs: &[PathBuf]) -> Result<RecipeSource, RecipeError> {
    for dir in dirs {
        let path = dir.join(name).join(RECIPE_FILE);
        if path.is_file() {
            return load(name, &path);
        }
    }
    Err(RecipeError::NotFound {
        name: name.to_string(),
        searched: dirs.to_vec(),
    })
}

/// Read and check one recipe file.
pub fn load(name: &str, path: &Path) -> Result<RecipeSource, RecipeError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Read {
        path: path.to_owned(),
        source,
    })?;
    let recipe = parse(&text, path)?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
    let hash = hash_recipe(&text, &dir.join("files")).map_err(|source| RecipeError::Read {
        path: dir.join("files"),
        source,
    })?;
    Ok(RecipeSource {
        name: name.to_string(),
        dir,
        recipe,
        hash,
    })
}

/// Parse recipe text; errors carry file:line:column.
pub fn parse(text: &str, path: &Path) -> Result<Recipe, RecipeError> {
    let recipe: Recipe = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column, span) = match e.location() {
            Some(loc) => {
                let offset = loc.span().byte_offset().map(|o| o as usize);
                (loc.line(), loc.column(), offset.map(|o| SourceSpan::from((o, 1))))
            }
            None => (0, 0, None),
        };
        RecipeError::Invalid(Box::new(InvalidRecipe {
            path: path.to_owned(),
            line,
            column,
            message: first_line(&e.to_string()),
            src: NamedSource::new(path.display().to_string(), text.to_string()),
            span,
        }))
    })?;
    let semantic = |message: String| RecipeError::Semantic {
        path: path.to_owned(),
        message,
    };
    if recipe.packages.is_empty() {
        return Err(semantic("`packages` must name at least one package".into()));
    }
    if !(2..=1024).contains(&recipe.disk_gib) {
        return Err(semantic(format!(
            "`disk_gib` is {}; it must be between 2 and 1024",
            recipe.disk_gib
        )));
    }
    if recipe.user.is_empty() || recipe.user == "root" {
        return Err(semantic("`user` must name a non-root login user".into()));
    }
    Ok(recipe)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

/// sha256 of the recipe text and of every file under `overlay` (path, mode,
/// content), in sorted order, so any change forces a rebuild.
pub fn hash_recipe(text: &str, overlay: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    h.update(b"box.yaml\0");
    h.update(text.as_bytes());
    if overlay.is_dir() {
        let mut files = Vec::new();
        collect_files(overlay, &mut files)?;
        files.sort();
        for file in files {
            use std::os::unix::fs::PermissionsExt;
            let rel = file.strip_prefix(overlay).unwrap_or(&file);
            let meta = std::fs::symlink_metadata(&file)?;
            h.update(b"\0file\0");
            h.update(rel.to_string_lossy().as_bytes());
            h.update(format!("\0{:o}\0", meta.permissions().mode()).as_bytes());
            if meta.file_type().is_symlink() {
                h.update(std::fs::read_link(&file)?.to_string_lossy().as_bytes());
            } else {
                h.update(std::fs::read(&file)?);
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "version: '1'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [openssh-server]\ndisk_gib: 8\ncmdline: root=/dev/vda rw\nuser: lab\n";

    #[test]
    fn parses_a_good_recipe_with_defaults() {
        let r = parse(GOOD, Path::new("box.yaml")).unwrap();
        assert_eq!(r.suite, "bookworm");
        assert_eq!(r.variant, "apt");
        assert_eq!(r.packages, vec!["openssh-server"]);
        assert!(r.customize.is_empty());
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let text = format!("{GOOD}colour: blue\n");
        let err = parse(&text, Path::new("boxes/x/box.yaml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("boxes/x/box.yaml:8:1:"), "{msg}");
        assert!(msg.contains("colour"), "{msg}");
    }

    #[test]
    fn missing_field_is_reported() {
        let text = GOOD.replace("user: lab\n", "");
        let msg = parse(&text, Path::new("b.yaml")).unwrap_err().to_string();
        assert!(msg.contains("user"), "{msg}");
    }

    #[test]
    fn semantic_checks() {
        let bad_disk = GOOD.replace("disk_gib: 8", "disk_gib: 1");
        assert!(parse(&bad_disk, Path::new("b")).unwrap_err().to_string().contains("disk_gib"));
        let root = GOOD.replace("user: lab", "user: root");
        assert!(parse(&root, Path::new("b")).unwrap_err().to_string().contains("non-root"));
        let empty = GOOD.replace("[openssh-server]", "[]");
        assert!(parse(&empty, Path::new("b")).unwrap_err().to_string().contains("packages"));
    }

    #[test]
    fn hash_changes_with_recipe_and_overlay() {
        let dir = tempfile::tempdir().unwrap();
        let overlay = dir.path().join("files");
        let h0 = hash_recipe(GOOD, &overlay).unwrap();
        assert_eq!(h0, hash_recipe(GOOD, &overlay).unwrap(), "hash is stable");
        assert_ne!(h0, hash_recipe(&format!("{GOOD}#\n"), &overlay).unwrap());
        std::fs::create_dir_all(overlay.join("etc")).unwrap();
        std::fs::write(overlay.join("etc/motd"), "hi").unwrap();
        let h1 = hash_recipe(GOOD, &overlay).unwrap();
        assert_ne!(h0, h1, "adding an overlay file changes the hash");
        std::fs::write(overlay.join("etc/motd"), "ho").unwrap();
        assert_ne!(h1, hash_recipe(GOOD, &overlay).unwrap(), "content matters");
    }

    #[test]
    fn find_reports_searched_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let err = find("nope", &[dir.path().to_owned()]).unwrap_err();
        assert!(err.to_string().contains(&dir.path().display().to_string()));
        std::fs::create_dir_all(dir.path().join("ok")).unwrap();
        std::fs::write(dir.path().join("ok/box.yaml"), GOOD).unwrap();
        let src = find("ok", &[dir.path().to_owned()]).unwrap();
        assert_eq!(src.name, "ok");
        assert_eq!(src.hash.len(), 64);
    }
}
