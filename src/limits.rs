//! Bounds on everything `lab` reads: the size of each kind of input file,
//! the shape of YAML documents (nesting, values after alias expansion,
//! scalar length), and the length of one line of output read from a guest
//! or a local program. Every limit is far above what `lab` itself writes or
//! a real lab needs, and low enough that the worst input stays well under
//! 100 MB of memory and a second of work. [`read_to_string`] and
//! [`read_bytes`] refuse an oversized file before reading it, and, like
//! every reader of input files, anything but a regular file without
//! blocking on it ([`open_regular`]: a FIFO would hang a command forever).

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

/// A check's script (`checks[].script`), sent to its node on every try:
/// 1 MiB.
pub const CHECK_SCRIPT: FileLimit = FileLimit {
    bytes: 1 << 20,
    what: "check scripts",
    hint: "a check script is sent to the node on every try; keep it short and let it call what it needs",
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
        /// while it was read).
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

/// Reads the whole file at `path`, refusing one over `limit.bytes` and
/// anything but a regular file ([`open_regular`]).
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
    let file = open_regular(path).map_err(io)?;
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

/// Opens `path` (a symbolic link is followed) for reading, refusing
/// anything but a regular file without blocking: the open is non-blocking,
/// so a FIFO without a writer or a device that waits cannot hang `lab`, and
/// the opened file is checked with fstat(2). A refusal is an error of kind
/// `InvalidInput` whose text is a sentence ("it is a FIFO (named pipe), not
/// a regular file; ..."), to follow "cannot read PATH: ". `O_NONBLOCK`
/// stays set; reads of a regular file never block anyway.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = crate::files::kind_of(kind);
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "it is {what}, not a regular file; lab reads only regular files, so put the file itself there"
        ),
    ))
}

/// The last `bytes` bytes of the file at `path` (all of a smaller file),
/// starting at a line start unless the first line is longer than that.
/// Only a regular file is read ([`open_regular`]).
pub fn read_tail(path: &Path, bytes: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let mut file = open_regular(path)?;
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
#[path = "limits_tests.rs"]
pub(crate) mod tests;
