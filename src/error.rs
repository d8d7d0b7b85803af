//! Errors that decide the exit code of `lab`.
//!
//! Most failures travel as `anyhow::Error` up to [`crate::cli::main`]; the
//! ones here carry a specific exit status or a rendered diagnostic.

use thiserror::Error;

/// Exit status for a lab file (or other user input) that failed validation.
pub const EXIT_INVALID: i32 = 2;
/// Exit status for every other failure.
pub const EXIT_FAILURE: i32 = 1;

/// The user's input was rejected; the diagnostics were already printed.
#[derive(Debug, Error)]
#[error("{summary}")]
pub struct InvalidInput {
    pub summary: String,
}
