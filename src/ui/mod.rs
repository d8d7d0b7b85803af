//! Everything drawn for the user: logging setup, progress, tables.

pub mod nodes;
pub mod progress;
pub mod table;

/// Log to stderr. `LAB_LOG` (an env-filter such as `debug` or `lab=trace`)
/// wins; otherwise `-v` raises the level from warnings to info/debug/trace.
pub fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var("LAB_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
