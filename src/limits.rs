//! Bounds on everything `lab` reads: the size of each kind of input file,
//! the shape of YAML documents (nesting, values after alias expansion,
//! scalar length), and the length of one line of output read from a guest
//! or a local program. Every limit is far above what `lab` itself writes or
//! a real lab needs, and low enough that the worst input stays well under
//! 100 MB of memory and a second of work. [`read_to_string`] and
//! [`read_bytes`] refuse an oversized file before reading it.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// What kind of file is read, how large it may be, and what to do when it
/// is larger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// The largest accepted size, in bytes.
    pub bytes: u64,
    /// The kind of file, for sentences: "lab files", "box recipes".
    pub what: &'static str,
    /// What to do about an oversized file.
    pub hint: &'static str,
}

/// A lab file (`lab.yaml`): 1 MiB. The flagship lab is 4 KiB.
pub const LAB_FILE: FileLimit = FileLimit {
    bytes: 1 << 20,
    what: "lab files",
    hint: "check that -f names a lab file",
};

/// A box recipe (`boxes/NAME/box.yaml`): 1 MiB. Shipped recipes are 1 KiB.
pub const RECIPE_FILE: FileLimit = FileLimit {
    bytes: 1 << 20,
    what: "box recipes",
    hint: "keep large files in the recipe's files/ overlay instead",
};

/// A JSON file `lab` writes itself: `.lab/state.json`, `.lab/secrets.json`,
/// a box's `box.json`: 1 MiB (a few KiB in practice). The limit also keeps
/// the decoded form small: a file of a million tiny entries would take
/// hundreds of MB once decoded.
pub const OWN_JSON_FILE: FileLimit = FileLimit {
    bytes: 1 << 20,
    what: "the files it writes itself",
    hint: "lab did not write it this large: look at what it holds, and move it away",
};

/// Deepest nesting of lists and mappings in a YAML file, in levels (the
/// flagship lab uses 4), counted after alias expansion.
pub const YAML_MAX_DEPTH: usize = 64;

/// Most values (scalars, lists and mappings, keys included) in a YAML file
/// after alias expansion; the flagship lab has about 200.
pub const YAML_MAX_VALUES: usize = 100_000;

/// Most anchors (`&name`) defined in a lab file, each definition counted
/// (a name may be defined again); lab files need a handful. The builder
/// remembers where each anchored value sits, so this bounds that memory.
pub const YAML_MAX_ANCHORS: usize = 1000;

/// Longest scalar in a YAML file, in bytes (64 KiB).
pub const YAML_MAX_SCALAR_BYTES: usize = 64 << 10;

/// Most bytes of scalar text in a YAML file after alias expansion (8 MiB).
pub const YAML_MAX_TEXT_BYTES: usize = 8 << 20;

/// Longest line of output kept from a guest or a local program, in bytes
/// (64 KiB); the rest of a longer line is dropped (see [`read_line`]).
pub const MAX_LINE_BYTES: usize = 64 << 10;

/// How much of the end of a log file is read to show its last lines, in
/// bytes (256 KiB).
pub const LOG_TAIL_BYTES: u64 = 256 << 10;

/// Why a bounded read failed.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    /// The file is larger than its limit; nothing was read.
    #[error(
        "{} is {}, more than the {} lab reads for {}; {}",
        path.display(),
        Bytes(*size),
        Bytes(limit.bytes),
        limit.what,
        limit.hint
    )]
    TooLarge {
        path: PathBuf,
        /// The size found (at least `limit.bytes + 1` when the file grew
        /// while it was read or has no size, like a pipe).
        size: u64,
        limit: FileLimit,
    },
}

impl ReadError {
    /// The file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { err, .. } if err.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Reads the whole file at `path`, refusing one over `limit.bytes`.
pub fn read_bytes(path: &Path, limit: FileLimit) -> Result<Vec<u8>, ReadError> {
    let io = |err| ReadError::Io {
        path: path.to_owned(),
        err,
    };
    let too_large = |size| ReadError::TooLarge {
        path: path.to_owned(),
        size,
        limit,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limit.bytes {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit.bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_bytes`] for a text file; not UTF-8 is an [`ReadError::Io`] of
/// kind `InvalidData`.
pub fn read_to_string(path: &Path, limit: FileLimit) -> Result<String, ReadError> {
    let bytes = read_bytes(path, limit)?;
    String::from_utf8(bytes).map_err(|_| ReadError::Io {
        path: path.to_owned(),
        err: std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"),
    })
}

/// The last `bytes` bytes of the file at `path` (all of a smaller file),
/// starting at a line start unless the first line is longer than that.
pub fn read_tail(path: &Path, bytes: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let start = size.saturating_sub(bytes);
    file.seek(SeekFrom::Start(start))?;
    let mut out = Vec::with_capacity((size - start) as usize);
    file.take(bytes).read_to_end(&mut out)?;
    if start > 0
        && let Some(nl) = out.iter().position(|b| *b == b'\n')
    {
        out.drain(..=nl);
    }
    Ok(out)
}

/// Reads one line of at most `max` bytes into `buf` (cleared first), the
/// newline and a carriage return before it removed. A longer line is cut:
/// the rest up to its newline is read and dropped, and `true` says so.
/// `None` at end of input.
pub fn read_line(
    reader: &mut impl std::io::BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut cut = false;
    let mut any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (used, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(nl) => (nl + 1, true),
            None => (chunk.len(), false),
        };
        let line = &chunk[..if done { used - 1 } else { used }];
        let room = max.saturating_sub(buf.len());
        if line.len() > room {
            cut = true;
        }
        buf.extend_from_slice(&line[..line.len().min(room)]);
        reader.consume(used);
        if done {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(cut))
}

/// [`read_line`] with [`MAX_LINE_BYTES`], as text (invalid UTF-8 replaced);
/// a cut line ends with ` [line cut at 64 KiB]`. `None` at end of input.
pub fn read_text_line(reader: &mut impl std::io::BufRead) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    Ok(read_line(reader, &mut buf, MAX_LINE_BYTES)?.map(|cut| {
        let mut line = String::from_utf8_lossy(&buf).into_owned();
        if cut {
            line.push_str(&format!(" [line cut at {}]", Bytes(MAX_LINE_BYTES as u64)));
        }
        line
    }))
}

/// Reads `reader` to its end, keeping the first `max` bytes as text
/// (invalid UTF-8 replaced) and dropping the rest.
pub fn read_capped(mut reader: impl Read, max: usize) -> std::io::Result<String> {
    let mut kept = Vec::new();
    (&mut reader).take(max as u64).read_to_end(&mut kept)?;
    std::io::copy(&mut reader, &mut std::io::sink())?;
    Ok(String::from_utf8_lossy(&kept).into_owned())
}

/// A byte count for sentences: `1 MiB`, `64 KiB`, or `1048577 bytes`.
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{} MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => write!(f, "{} KiB", n >> 10),
            n => write!(f, "{n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn a_file_without_a_size_is_cut_at_the_limit() {
        // /dev/zero reports size 0 and never ends.
        let err = read_bytes(Path::new("/dev/zero"), SMALL).unwrap_err();
        assert!(
            matches!(err, ReadError::TooLarge { size: 11, .. }),
            "{err:?}"
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
}
