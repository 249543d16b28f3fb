//! The terminal's lifecycle, owned in one place: raw mode, the alternate
//! screen, mouse and paste capture go on together and always come off
//! together — on quit, on error, on panic (before the report prints) and
//! around a suspend.

use std::io::{Stdout, Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

pub type Tty = Terminal<CrosstermBackend<Stdout>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);

fn enter_modes() -> std::io::Result<()> {
    enable_raw_mode()?;
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste,
        Hide
    )?;
    ACTIVE.store(true, Ordering::SeqCst);
    Ok(())
}

/// Puts the terminal back as the shell left it. Safe to call twice, and
/// from a panic hook: it never panics and ignores what it cannot undo.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(
            stdout(),
            DisableBracketedPaste,
            DisableMouseCapture,
            LeaveAlternateScreen,
            Show
        );
        let _ = disable_raw_mode();
        let _ = stdout().flush();
    }
}

/// Restores the terminal when dropped, whatever path leaves the console.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Enters the console's terminal modes. Install color-eyre before this: the
/// hook set here restores the terminal, then hands over to the previous one.
pub fn enter() -> color_eyre::Result<(Tty, Guard)> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enter_modes()?;
    let guard = Guard;
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    Ok((terminal, guard))
}

/// Ctrl-Z: hand the terminal back to the shell, stop, and take it again
/// when resumed (`fg`).
pub fn suspend(terminal: &mut Tty) -> color_eyre::Result<()> {
    restore();
    #[cfg(unix)]
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    enter_modes()?;
    terminal.clear()?;
    Ok(())
}

/// Puts `text` on the clipboard of the terminal the user sits at, by OSC 52
/// (crossterm's `CopyToClipboard`): it travels over SSH, and tmux with
/// `set-clipboard on` takes it into its paste buffer and passes it on.
pub fn copy_to_clipboard(terminal: &mut Tty, text: &str) -> std::io::Result<()> {
    use ratatui::crossterm::clipboard::CopyToClipboard;
    execute!(
        terminal.backend_mut(),
        CopyToClipboard::to_clipboard_from(text)
    )
}

/// Hands the terminal to the user's editor on a private copy of `text`
/// (`$VISUAL`, else `$EDITOR`, else `vi`, run by the shell as git runs it,
/// so `EDITOR="code --wait"` works) and takes it back. The outer result
/// fails only when the terminal cannot be taken back; the inner one says
/// why no text came back (the editor failed or could not start).
pub fn edit_externally(
    terminal: &mut Tty,
    text: &str,
) -> color_eyre::Result<Result<String, String>> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    // Created 0600 under an unpredictable name, removed when dropped.
    let file = tempfile::Builder::new()
        .prefix("gavel-text-")
        .suffix(".md")
        .tempfile();
    let outcome = match file {
        Err(err) => Err(format!("cannot make a file for the editor: {err}")),
        Ok(mut file) => {
            use std::io::Write as _;
            match file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
                Err(err) => Err(format!("cannot write the file for the editor: {err}")),
                Ok(()) => {
                    restore();
                    let status = std::process::Command::new("sh")
                        .arg("-c")
                        .arg(format!("{editor} \"$1\""))
                        .arg("gavel-editor")
                        .arg(file.path())
                        .status();
                    enter_modes()?;
                    terminal.clear()?;
                    match status {
                        Err(err) => Err(format!("cannot start {editor}: {err}")),
                        Ok(status) if !status.success() => Err(format!(
                            "{editor} exited with {status}; the text is as it was"
                        )),
                        Ok(_) => std::fs::read_to_string(file.path())
                            .map_err(|err| format!("cannot read back the editor's file: {err}")),
                    }
                }
            }
        }
    };
    Ok(outcome)
}
