//! The habits people bring from k9s, lazygit and gh-dash, in the real
//! binary in a real terminal (tmux): copying by OSC 52 into tmux's paste
//! buffer, the editor, and the saved view remembered between runs.

mod common;

use std::path::Path;

use common::tmux::Tmux;

const DEMO_USER: &str = gavel::seed::DEMO_USER;

fn seeded(db: &Path) {
    common::gavel(db)
        .args([
            "seed",
            "--workflows",
            "600",
            "--seed",
            "21",
            "--anchor",
            "2026-06-01",
        ])
        .assert()
        .success();
}

/// The console on `db` in a tmux that takes OSC 52 into its buffers.
fn console(db: &Path, width: u16, height: u16) -> Tmux {
    let command = format!(
        "{} --db {} --user {DEMO_USER} --config /dev/null; sleep 60",
        env!("CARGO_BIN_EXE_gavel"),
        db.display()
    );
    let tmux = Tmux::start(&command, width, height);
    assert!(
        tmux.cmd(&["set-option", "-g", "set-clipboard", "on"])
            .status
            .success()
    );
    tmux
}

/// What tmux's newest paste buffer holds.
fn pasted(tmux: &Tmux) -> String {
    let output = tmux.cmd(&["show-buffer"]);
    assert!(output.status.success(), "tmux holds no buffer");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The first word on screen starting with `prefix`.
fn first_word(screen: &str, prefix: &str) -> String {
    screen
        .split(|c: char| c.is_whitespace() || c == '│')
        .find(|word| word.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}… on screen:\n{screen}"))
        .to_owned()
}

#[test]
fn y_copies_the_selected_id_and_shift_y_its_command_into_tmux() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("habits.db");
    seeded(&db);
    let tmux = console(&db, 120, 40);
    // The preview names the selected workflow once the first page is in.
    let workflow = first_word(&tmux.wait_for("wf-"), "wf-");
    tmux.send(&["y"]);
    tmux.wait_for(&format!("Copied workflow id {workflow}"));
    assert_eq!(pasted(&tmux), workflow);
    tmux.send(&["Y"]);
    tmux.wait_for("Copied `gavel show");
    assert_eq!(pasted(&tmux), format!("gavel show {workflow}"));

    // The Audits tab copies the selected agent, at 80x24 too: the one
    // whose audit the pane beside the list shows.
    tmux.cmd(&["resize-window", "-t", "e2e", "-x", "80", "-y", "24"]);
    tmux.send(&["3"]);
    let screen = tmux.wait_for("aud-");
    let audit = first_word(&screen, "aud-");
    tmux.send(&["y"]);
    tmux.wait_for("Copied agent id");
    let agent = pasted(&tmux);
    assert!(agent.starts_with("agt-"), "{agent:?}");
    let audits = common::gavel(&db)
        .args(["--user", DEMO_USER, "audit", "show", &agent, "--json"])
        .output()
        .expect("audit show");
    assert!(
        String::from_utf8_lossy(&audits.stdout).contains(&audit),
        "the copied agent {agent} has the audit on screen ({audit})"
    );
    tmux.send(&["Y"]);
    tmux.wait_for("Copied `gavel audit");
    assert_eq!(pasted(&tmux), format!("gavel audit show {agent}"));
}

#[test]
fn f4_writes_the_comment_in_the_users_editor_and_takes_it_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("editor.db");
    seeded(&db);
    // An editor that fails while a marker file exists, else writes a
    // comment over whatever the file held (as a person would).
    let editor = dir.path().join("editor.sh");
    let failing = dir.path().join("fail");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\nif [ -e {} ]; then exit 3; fi\nprintf 'Read the model card twice.\\nFine to ship.\\n' > \"$1\"\n",
            failing.display()
        ),
    )
    .expect("editor");
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::fs::write(&failing, "").expect("marker");
    let command = format!(
        "env -u VISUAL EDITOR={} {} --db {} --user {DEMO_USER} --config /dev/null; sleep 60",
        editor.display(),
        env!("CARGO_BIN_EXE_gavel"),
        db.display()
    );
    let tmux = Tmux::start(&command, 120, 40);
    let workflow = first_word(&tmux.wait_for("wf-"), "wf-");
    tmux.send(&["a"]);
    tmux.wait_for("You decide step");
    tmux.type_text("draft");
    // A failing editor leaves the comment as it was, and says so.
    tmux.send(&["F4"]);
    let screen = tmux.wait_for("exited with");
    assert!(screen.contains("draft"), "{screen}");
    std::fs::remove_file(&failing).expect("unmark");
    tmux.send(&["F4"]);
    tmux.wait_for("Took the text back");
    tmux.wait_for("Fine to ship.");
    tmux.send(&["C-s"]);
    tmux.wait_for("Approved step");
    let decided = common::step_decided_by(&db, &workflow, DEMO_USER);
    assert_eq!(
        decided["comment"],
        "Read the model card twice.\nFine to ship."
    );
}

#[test]
fn the_console_opens_on_the_saved_view_and_sort_it_was_left_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("views.db");
    seeded(&db);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[[console.views]]\nname = \"Mine\"\n\n[[console.views]]\nname = \"High risk\"\nmine = false\nrisk = \"high\"\n",
    )
    .expect("config");
    let state = dir.path().join("state");
    let command = format!(
        "GAVEL_STATE_DIR={} {} --db {} --user {DEMO_USER} --config {}; echo GAVEL-DONE; sleep 60",
        state.display(),
        env!("CARGO_BIN_EXE_gavel"),
        db.display(),
        config.display()
    );

    let tmux = Tmux::start(&command, 80, 24);
    tmux.wait_for("High risk ");
    tmux.wait_for("waiting on my roles");
    tmux.send(&["]"]);
    tmux.wait_for("every in-progress workflow");
    tmux.send(&["s"]);
    tmux.wait_for("highest risk first");
    tmux.wait_for("filters changed");
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");
    drop(tmux);

    let tmux = Tmux::start(&command, 80, 24);
    let screen = tmux.wait_for("every in-progress workflow · highest risk first · risk high");
    assert!(screen.contains("filters changed"), "{screen}");
}
