//! Which entries of the repository's `boxes/` and `labs/` are not part of
//! the built-in content: a lab's state (`.lab/` holds its keys and
//! secrets), version control, and what editors, Python and Ansible leave
//! behind. Shared by `build.rs` (which embeds the rest) and
//! [`crate::builtin`]'s test that compares the embedded files with the
//! repository.

/// Whether the entry `name` (a file or directory name, not a path) of
/// `boxes/` or `labs/` is left out, with everything below it:
/// `.lab` (of any type: the state directory may be a symbolic link),
/// `.git`, `__pycache__`, `*.pyc`, `*.retry` (Ansible), `*~` and vim's
/// `.*.swp`/`.*.swo`.
pub fn skipped(name: &str) -> bool {
    matches!(name, ".lab" | ".git" | "__pycache__")
        || name.ends_with(".pyc")
        || name.ends_with(".retry")
        || name.ends_with('~')
        || (name.starts_with('.') && (name.ends_with(".swp") || name.ends_with(".swo")))
}
