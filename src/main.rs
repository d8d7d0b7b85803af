//! The `lab` binary: parse arguments, run the command, map errors to exit codes.

fn main() {
    std::process::exit(lab::cli::main());
}
