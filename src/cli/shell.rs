//! `gavel completions` and `gavel man`: the shell's completions and the
//! manual pages, generated from the same definitions the parser uses, so
//! they never drift from the commands.

use std::path::Path;

use clap::CommandFactory;

use super::args::Cli;
use super::exit::{self, Failure, Outcome};

/// Prints the completion script for `shell` to standard output.
pub fn completions(shell: clap_complete::Shell) -> Outcome {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "gavel", &mut std::io::stdout());
    Ok(exit::OK)
}

/// Writes a manual page per command into `out` (gavel.1, gavel-attest.1,
/// gavel-attest-show.1, ...), each file replaced whole.
pub fn man(out: &Path) -> Outcome {
    std::fs::create_dir_all(out)
        .map_err(|err| Failure::BadInput(format!("cannot create {}: {err}", out.display())))?;
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut written = 0;
    write_pages(&command, out, &mut written)?;
    println!(
        "wrote {written} manual pages to {} (man -M {} gavel)",
        out.display(),
        out.display()
    );
    Ok(exit::OK)
}

fn write_pages(command: &clap::Command, out: &Path, written: &mut usize) -> Result<(), Failure> {
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(sub, out, written)?;
    }
    let name = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_owned();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(|err| Failure::Other(color_eyre::eyre::eyre!("rendering {name}.1: {err}")))?;
    let path = out.join(format!("{name}.1"));
    crate::files::write(&path, &page, crate::files::Existing::Replace)
        .map_err(|err| Failure::BadInput(format!("cannot write {}: {err}", path.display())))?;
    *written += 1;
    Ok(())
}
