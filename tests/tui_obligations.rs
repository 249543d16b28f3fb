//! An agent's obligations in the console: `O` opens them from the Audits
//! tab, the step view and the Blocked tab, at 120x40 and 80x24, after the
//! organisation adopted the shipped frameworks.

mod common;

use common::harness::Harness;
use gavel::tui::tab::Tab;
use gavel::tui::theme::Theme;
use ratatui::crossterm::event::KeyCode;

/// Adopts the shipped intake, NYC Local Law 144 and EU AI Act frameworks
/// (proposed by the demo user, approved by a second policy admin).
async fn adopt_frameworks(h: &Harness) {
    common::harness::adopt_frameworks_on_a_fixed_day(
        &h.store,
        &[
            include_str!("../examples/frameworks/intake.toml"),
            include_str!("../examples/frameworks/nyc-ll144.toml"),
            include_str!("../examples/frameworks/eu-ai-act.toml"),
        ],
    )
    .await;
}

/// What moves with the day the tests run: the posture's date, and the
/// Blocked tab's figures relative to today behind the overlay.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"as of \d{4}-\d{2}-\d{2}", "as of [DATE]"),
        (
            r"this week \d+ . \(last week \d+\)",
            "this week [N] (last week [N])",
        ),
        (
            r"median time blocked [^ ]+( days)?",
            "median time blocked [T]",
        ),
    ]
}

#[tokio::test]
async fn o_shows_the_agents_obligations_from_the_audits_tab_and_the_step_view() {
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    adopt_frameworks(&h).await;
    h.keys("3").await;
    assert_eq!(h.app.tab, Tab::Audits);
    let agent = h.app.audits.agents[h.app.audits.selected].agent_id.clone();
    h.keys("O").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Obligations of {agent}")),
        "{screen}"
    );
    // No intake answered: the duties an answer would decide apply (failing
    // closed), unmet, New York's and the EU's transparency duties in effect.
    assert!(screen.contains("nyc-ll144"), "{screen}");
    assert!(screen.contains("✗ nyc-ll144.bias-audit"), "{screen}");
    assert!(screen.contains("eu-ai-act"), "{screen}");
    // The selected (first) duty's detail says what is missing.
    assert!(screen.contains("missing:"), "{screen}");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("obligations_120x40", screen);
    });
    // j moves the selection and its detail with it; G goes to the last
    // (a duty that does not apply, saying why), g back to the first.
    let first = h.screen();
    h.keys("j").await;
    assert_ne!(h.screen(), first, "the selection moved");
    h.keys("G").await;
    let last = h.screen();
    assert!(last.contains("does not apply:"), "{last}");
    h.keys("4").await;
    assert_eq!(
        h.app.tab,
        Tab::Audits,
        "the overlay keeps its keys while open"
    );
    h.keys("g").await;
    assert_eq!(h.screen(), first);
    h.press(KeyCode::Esc).await;
    assert!(h.app.overlay.is_none(), "esc closes it");

    // From the step view: the workflow's agent.
    h.keys("1").await;
    h.press(KeyCode::Enter).await;
    let workflow_agent = h
        .app
        .detail
        .as_ref()
        .and_then(|screen| screen.detail.as_ref())
        .map(|detail| detail.workflow.agent_id.clone())
        .expect("the step view is open");
    h.keys("O").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Obligations of {workflow_agent}")),
        "{screen}"
    );
    h.keys("O").await;
    assert!(h.app.overlay.is_none(), "O again closes it");
}

#[tokio::test]
async fn the_obligations_fit_80x24_from_the_blocked_tab() {
    let mut h = Harness::new(80, 24, Theme::load("default", None).expect("theme")).await;
    adopt_frameworks(&h).await;
    h.keys("4").await;
    let agent = h
        .app
        .blocked
        .selected_item()
        .map(|deployment| deployment.agent_id.clone())
        .expect("a blocked request is selected");
    h.keys("O").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Obligations of {agent}")),
        "{screen}"
    );
    assert!(screen.contains("unmet"), "{screen}");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("obligations_80x24", screen);
    });
    // Behind it, leadership's coverage: per framework adopted, the agents
    // with a duty in effect and unmet, of those it applies to.
    h.press(KeyCode::Esc).await;
    let blocked = h.screen();
    let coverage = blocked
        .lines()
        .find(|line| line.contains("Obligations unmet"))
        .unwrap_or_else(|| panic!("a coverage line: {blocked}"));
    assert!(coverage.contains("nyc-ll144"), "{coverage}");
    assert!(coverage.contains('/'), "{coverage}");
}
