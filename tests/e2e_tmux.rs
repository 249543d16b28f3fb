//! The real binary in a real terminal (tmux): open the console on a seeded
//! store, approve an item with the keyboard, quit, and check that the
//! decision was stored and the terminal given back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const DEMO_USER: &str = gavel::seed::DEMO_USER;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            socket: format!("gavel-e2e-{}-{}", std::process::id(), width),
        };
        let status = tmux
            .cmd(&[
                "new-session",
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

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .expect("run tmux")
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend(keys);
        assert!(self.cmd(&args).status.success());
    }

    fn type_text(&self, text: &str) {
        assert!(
            self.cmd(&["send-keys", "-t", "e2e", "-l", text])
                .status
                .success()
        );
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    /// Waits until the screen shows `needle` (an event, polled), or fails
    /// with what the screen showed.
    fn wait_for(&self, needle: &str) -> String {
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

fn gavel() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gavel"))
}

fn seed(db: &Path) {
    let output = Command::new(gavel())
        .arg("--db")
        .arg(db)
        .args([
            "seed",
            "--workflows",
            "800",
            "--seed",
            "11",
            "--anchor",
            "2026-06-01",
        ])
        .output()
        .expect("seed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn approve_an_item_in_the_console_and_quit_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    seed(&db);
    let marker = dir.path().join("after.txt");
    // After the console exits, record its exit code and whether the
    // terminal is back in cooked mode with echo.
    let script = format!(
        "{} --db {} --user {DEMO_USER} --config /dev/null; echo \"exit=$?\" > {}; stty -a >> {}; echo GAVEL-DONE; sleep 60",
        gavel().display(),
        db.display(),
        marker.display(),
        marker.display()
    );
    let tmux = Tmux::start(&script, 150, 40);
    let screen = tmux.wait_for("waiting on my roles");
    let workflow_id = screen
        .split(|c: char| c.is_whitespace() || c == '│')
        .find(|word| word.starts_with("wf-"))
        .expect("the preview names the selected workflow")
        .to_owned();

    tmux.send(&["a"]);
    tmux.wait_for("You decide step");
    tmux.type_text("Reviewed in tmux");
    tmux.send(&["C-s"]);
    tmux.wait_for("Approved step 1");
    tmux.send(&["q"]);
    let after = tmux.wait_for("GAVEL-DONE");
    assert!(
        !after.contains("waiting on my roles"),
        "the alternate screen is gone:\n{after}"
    );

    let report = std::fs::read_to_string(&marker).expect("marker");
    assert!(report.starts_with("exit=0"), "{report}");
    assert!(
        report.contains(" icanon") && report.contains(" echo"),
        "raw mode was not undone:\n{report}"
    );

    let shown = Command::new(gavel())
        .arg("--db")
        .arg(&db)
        .args(["show", &workflow_id, "--json"])
        .output()
        .expect("show");
    let workflow: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    let decided = workflow["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|step| step["approver_email"] == DEMO_USER)
        .unwrap_or_else(|| panic!("no step decided by the demo user: {workflow}"));
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["comment"], "Reviewed in tmux");
}

#[test]
fn a_bad_theme_is_a_clear_error_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "theme = \"no-such-theme\"\n").expect("write");
    let output = Command::new(gavel())
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["--user", "a@example.com", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no theme named \"no-such-theme\""),
        "{stderr}"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("term.db");
    seed(&db);
    let marker = dir.path().join("after.txt");
    let script = format!(
        "{} --db {} --user {DEMO_USER} --config /dev/null; echo \"exit=$?\" > {}; stty -a >> {}; echo GAVEL-DONE; sleep 60",
        gavel().display(),
        db.display(),
        marker.display(),
        marker.display()
    );
    let tmux = Tmux::start(&script, 100, 30);
    tmux.wait_for("waiting on my roles");
    let shell = String::from_utf8_lossy(
        &tmux
            .cmd(&["list-panes", "-t", "e2e", "-F", "#{pane_pid}"])
            .stdout,
    )
    .trim()
    .to_owned();
    let pid = child_of(&shell).expect("the console's pid");
    // The shell's builtin kill: no procps needed.
    assert!(
        Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .expect("kill")
            .success()
    );
    tmux.wait_for("GAVEL-DONE");
    let report = std::fs::read_to_string(&marker).expect("marker");
    assert!(report.starts_with("exit=0"), "{report}");
    assert!(
        report.contains(" icanon") && report.contains(" echo"),
        "raw mode was not undone:\n{report}"
    );
}

/// A child process of `parent`, from /proc.
fn child_of(parent: &str) -> Option<String> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid = after.split_whitespace().nth(1)?;
            (ppid == parent).then(|| entry.file_name().to_string_lossy().into_owned())
        })
}
