//! Plain aligned text tables for command output.

/// Render rows under a header, columns padded to their widest cell.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `512 MiB`, `1.4 GiB`; under a MiB `4 KiB` (`0 KiB` for nothing).
pub fn fmt_bytes(bytes: u64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else if b >= MIB {
        format!("{:.0} MiB", b / MIB)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

/// `just now`, `5 min ago`, `3 h ago`, `2 days ago`.
pub fn fmt_age(secs: u64) -> String {
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let out = render(
            &["NAME", "SIZE"],
            &[
                vec!["debian-12".into(), "1 GiB".into()],
                vec!["x".into(), "2".into()],
            ],
        );
        assert_eq!(out, "NAME       SIZE\ndebian-12  1 GiB\nx          2\n");
    }

    #[test]
    fn sizes_and_ages() {
        assert_eq!(fmt_bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(fmt_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
        assert_eq!(fmt_bytes(4096), "4 KiB");
        assert_eq!(fmt_age(5), "just now");
        assert_eq!(fmt_age(300), "5 min ago");
        assert_eq!(fmt_age(7200), "2 h ago");
        assert_eq!(fmt_age(3 * 86400), "3 days ago");
    }
}
