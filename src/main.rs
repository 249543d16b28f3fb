use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = gavel::cli::Cli::parse();
    // Rust ignores SIGPIPE, so printing to a closed pipe (`gavel queue
    // --json | head`) panics. Commands end quietly instead, like other Unix
    // tools; the server keeps ignoring it (a client going away is an error
    // to handle, not a reason to stop).
    #[cfg(unix)]
    if !matches!(cli.command, Some(gavel::cli::Command::Serve { .. })) {
        // SAFETY: first thing in main, before any thread exists; it only
        // restores the signal's default disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // Everything Gavel creates (stores and their -wal and -shm, offline
    // caches, keys, tokens, what a client witnessed) is private to the user,
    // whatever the umask it was started with.
    #[cfg(unix)]
    // SAFETY: first thing in main, before any thread exists.
    unsafe {
        libc::umask(0o077);
    }
    if let Err(err) = color_eyre::install() {
        eprintln!("warning: cannot install error reporting: {err}");
    }
    gavel::cli::run(cli)
}
