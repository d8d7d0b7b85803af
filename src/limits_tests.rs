//! Tests of the bounded readers.

use super::*;

const SMALL: FileLimit = FileLimit {
    bytes: 10,
    what: "test files",
    hint: "make it smaller",
};

#[test]
fn a_file_at_the_limit_is_read_one_byte_more_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "0123456789").unwrap();
    assert_eq!(read_to_string(&path, SMALL).unwrap(), "0123456789");
    std::fs::write(&path, "0123456789a").unwrap();
    let err = read_to_string(&path, SMALL).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is 11 bytes, more than the 10 bytes lab reads for test files; make it smaller",
            path.display()
        )
    );
}

/// Runs `f` on another thread; `None` when it has not returned within
/// five seconds (a read that blocks fails the test instead of hanging it).
pub(crate) fn within_5s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(5)).ok()
}

/// Makes a FIFO (named pipe) at `path`.
pub(crate) fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo(3) only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn a_fifo_or_device_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("state.json");
    mkfifo(&fifo);
    let path = fifo.clone();
    let err = within_5s(move || read_to_string(&path, SMALL))
        .expect("reading a FIFO blocked")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read {}: it is a FIFO (named pipe), not a regular file; lab reads only regular files, so put the file itself there",
            fifo.display()
        )
    );
    let path = fifo.clone();
    let err = within_5s(move || read_tail(&path, 10))
        .expect("reading a FIFO blocked")
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    // /dev/zero has no size and never ends: not read at all.
    let err = read_bytes(Path::new("/dev/zero"), SMALL).unwrap_err();
    assert!(err.to_string().ends_with(": it is a device, not a regular file; lab reads only regular files, so put the file itself there"), "{err}");
    let err = read_bytes(dir.path(), SMALL).unwrap_err();
    assert!(
        err.to_string()
            .contains("it is a directory, not a regular file"),
        "{err}"
    );
}

#[test]
fn missing_and_binary_files_are_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_to_string(&dir.path().join("nope"), SMALL).unwrap_err();
    assert!(err.is_not_found());
    std::fs::write(dir.path().join("bin"), [0xff, 0xfe]).unwrap();
    let err = read_to_string(&dir.path().join("bin"), SMALL).unwrap_err();
    assert!(!err.is_not_found());
    assert!(
        err.to_string().ends_with("bin: it is not UTF-8 text"),
        "{err}"
    );
}

#[test]
fn sizes_read_as_units() {
    assert_eq!(Bytes(1 << 20).to_string(), "1 MiB");
    assert_eq!(Bytes(64 << 10).to_string(), "64 KiB");
    assert_eq!(Bytes((1 << 20) + 1).to_string(), "1048577 bytes");
}

#[test]
fn tail_starts_at_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    std::fs::write(&path, "first line\nsecond\nthird\n").unwrap();
    assert_eq!(
        read_tail(&path, 100).unwrap(),
        b"first line\nsecond\nthird\n"
    );
    assert_eq!(read_tail(&path, 10).unwrap(), b"third\n");
}

#[test]
fn text_lines_say_where_they_were_cut() {
    let text = format!("{}\nnext\n", "é".repeat(MAX_LINE_BYTES));
    let mut reader = std::io::BufReader::new(text.as_bytes());
    let first = read_text_line(&mut reader).unwrap().unwrap();
    assert!(
        first.ends_with("é [line cut at 64 KiB]"),
        "{}",
        &first[first.len() - 40..]
    );
    assert_eq!(first.len(), MAX_LINE_BYTES + " [line cut at 64 KiB]".len());
    assert_eq!(
        read_text_line(&mut reader).unwrap().as_deref(),
        Some("next")
    );
    assert_eq!(read_text_line(&mut reader).unwrap(), None);
}

#[test]
fn capped_reads_keep_the_start_and_read_to_the_end() {
    let mut input = std::io::Cursor::new(vec![b'a'; 100_000]);
    assert_eq!(read_capped(&mut input, 10).unwrap(), "aaaaaaaaaa");
    assert_eq!(input.position(), 100_000);
}

#[test]
fn long_lines_are_cut_and_the_rest_dropped() {
    let text = format!("short\r\n{}\nlast", "x".repeat(100));
    let mut reader = std::io::BufReader::with_capacity(7, text.as_bytes());
    let mut buf = Vec::new();
    let mut lines = Vec::new();
    while let Some(cut) = read_line(&mut reader, &mut buf, 10).unwrap() {
        lines.push((String::from_utf8(buf.clone()).unwrap(), cut));
    }
    assert_eq!(
        lines,
        [
            ("short".to_string(), false),
            ("x".repeat(10), true),
            ("last".to_string(), false)
        ]
    );
}
