use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if let Err(err) = color_eyre::install() {
        eprintln!("warning: cannot install error reporting: {err}");
    }
    gavel::cli::run(gavel::cli::Cli::parse())
}
