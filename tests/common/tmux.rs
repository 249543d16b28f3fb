//! A real terminal for the real binary: one tmux server per use, read
//! with `capture-pane`.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    /// What the console remembers between runs goes here, not to the
    /// home of whoever runs the tests (a script may name its own).
    state_dir: tempfile::TempDir,
}

impl Tmux {
    pub fn start(command: &str, width: u16, height: u16) -> Tmux {
        // One tmux server per test: tests run in parallel.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tmux = Tmux {
            socket: format!("gavel-e2e-{}-{n}", std::process::id()),
            state_dir: tempfile::tempdir().expect("tempdir"),
        };
        let state = format!("GAVEL_STATE_DIR={}", tmux.state_dir.path().display());
        let status = tmux
            .cmd(&[
                "new-session",
                "-e",
                &state,
                "-d",
                "-s",
                "e2e",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                command,
            ])
            .status
            .success();
        assert!(status, "tmux could not start (is tmux installed?)");
        tmux
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .expect("run tmux")
    }

    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend(keys);
        assert!(self.cmd(&args).status.success());
    }

    pub fn type_text(&self, text: &str) {
        assert!(
            self.cmd(&["send-keys", "-t", "e2e", "-l", text])
                .status
                .success()
        );
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    /// Waits until the screen shows `needle` (an event, polled), or fails
    /// with what the screen showed.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; the screen was:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}
