//! The demo answers to the shipped frameworks, walked in a real terminal
//! (tmux) at 80x24: the Blocked tab's coverage, `O` for the selected
//! request's agent, `i` for its intake (answered by the demo), and back.

mod common;

use std::path::PathBuf;

use common::tmux::Tmux;

fn gavel() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gavel"))
}

#[test]
fn the_demo_shows_coverage_obligations_and_the_intake_at_80x24() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo.db");
    let script = format!(
        "cd {} && {} demo --db {} --workflows 400 --config /dev/null; echo GAVEL-DONE; sleep 60",
        dir.path().display(),
        gavel().display(),
        db.display()
    );
    let tmux = Tmux::start(&script, 80, 24);
    tmux.wait_for("wf-");
    tmux.send(&["4"]);
    let blocked = tmux.wait_for("Obligations unmet");
    assert!(blocked.contains("eu-ai-act"), "{blocked}");
    // The headline can arrive before the list: O needs a selected request.
    tmux.wait_for("requested by");
    tmux.send(&["O"]);
    // Its posture, judged at the store's clock, once it arrives: the
    // overlay opens saying "Loading…", then its summary line names the
    // version (the Blocked list's title says "as of" too, never "version").
    tmux.wait_for("Obligations of agt-");
    let obligations = tmux.wait_for(" · as of ");
    assert!(obligations.contains("Obligations of agt-"), "{obligations}");
    assert!(obligations.contains(" version "), "{obligations}");
    tmux.send(&["i"]);
    let intake = tmux.wait_for("Classification intake");
    // The demo submitted every agent's intake: it classifies the agent and
    // may be answered again.
    assert!(
        intake.contains("submitted: it classifies the agent"),
        "{intake}"
    );
    tmux.send(&["Escape"]);
    tmux.wait_for("Blocked now");
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");
}
