//! Tests of the build helpers that need no root: kernel lookup, checksums,
//! the package count.

use super::*;

#[test]
fn finds_newest_kernel_with_initrd() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "vmlinuz-6.1.0-1",
        "initrd.img-6.1.0-1",
        "vmlinuz-6.1.0-2",
        "initrd.img-6.1.0-2",
    ] {
        std::fs::write(dir.path().join(f), "").unwrap();
    }
    let (k, i) = find_kernel(dir.path()).unwrap();
    assert!(k.ends_with("vmlinuz-6.1.0-2"));
    assert!(i.ends_with("initrd.img-6.1.0-2"));
}

#[test]
fn missing_kernel_or_initrd_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let msg = find_kernel(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("no kernel"), "{msg}");
    std::fs::write(dir.path().join("vmlinuz-1"), "").unwrap();
    let msg = find_kernel(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("no initrd"), "{msg}");
}

#[test]
fn a_kernel_linked_out_of_the_image_is_not_copied() {
    let dir = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("secret"), "host file").unwrap();
    std::os::unix::fs::symlink(host.path().join("secret"), dir.path().join("vmlinuz-1")).unwrap();
    std::fs::write(dir.path().join("initrd.img-1"), "").unwrap();
    let msg = find_kernel(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("vmlinuz-1 in the image is not a regular file"),
        "{msg}"
    );
}

#[test]
fn sha256_of_known_content() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x");
    std::fs::write(&f, "abc").unwrap();
    assert_eq!(
        sha256_file(&f).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn counts_installed_packages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
    std::fs::write(
        dir.path().join("var/lib/dpkg/status"),
        "Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: deinstall ok config-files\n\nPackage: c\nStatus: install ok installed\n",
    )
    .unwrap();
    assert_eq!(count_installed(dir.path()).unwrap(), 2);
}

#[test]
fn a_built_in_overlay_is_written_out_as_the_repository_has_it() {
    use std::os::unix::fs::PermissionsExt;
    let overlay = Overlay::BuiltIn("boxes/debian-12/files".into());
    let (tmp, dir) = overlay_dir(&overlay).unwrap();
    let tmp = tmp.expect("a temporary directory");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("boxes/debian-12/files");
    // Hashed as a directory, it is the repository's overlay.
    assert_eq!(
        super::super::hash::hash_recipe("", &dir).unwrap(),
        super::super::hash::hash_recipe("", &repo).unwrap()
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&dir), 0o755, "cp -a gives the image's / this mode");
    assert_eq!(mode(&dir.join("etc/systemd")), 0o755);
    // Gone with the temporary directory; a directory overlay is used as is.
    drop(tmp);
    assert!(!dir.exists());
    let (none, same) = overlay_dir(&Overlay::Dir(repo.clone())).unwrap();
    assert!(none.is_none() && same == repo);
}
