//! An agent version's intake answered in the console: `I` on the step view
//! (and `i` in the obligations overlay) opens the active set's questions in
//! the form the ethics reviews use; drafts are saved as typing pauses, the
//! submission classifies the agent, and a submitted intake changes only by
//! submitting again.

mod common;

use chrono::Duration;
use common::harness::Harness;
use gavel::backend::GovernanceBackend;
use gavel::domain::obligations::IntakeStatus;
use gavel::tui::command::Command;
use gavel::tui::screens::review_form::FormSubject;
use gavel::tui::tab::Tab;
use gavel::tui::theme::Theme;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

/// Adopts the shipped intake and New York's Local Law 144 (proposed by the
/// demo user, approved by a second policy admin), judged at a fixed day.
async fn adopt_intake(h: &Harness) {
    common::harness::adopt_frameworks_on_a_fixed_day(
        &h.store,
        &[
            include_str!("../examples/frameworks/intake.toml"),
            include_str!("../examples/frameworks/nyc-ll144.toml"),
        ],
    )
    .await;
}

/// The intake the store holds for an agent version, if any.
async fn stored_intake(
    h: &Harness,
    agent: &str,
    version: &str,
) -> Option<gavel::domain::obligations::Intake> {
    h.backend.intake(agent, version).await.expect("read")
}

async fn ctrl(h: &mut Harness, c: char) {
    h.key(KeyCode::Char(c), KeyModifiers::CONTROL).await;
}

/// The agent and version of the intake open in the form.
fn open_intake(h: &Harness) -> (String, String) {
    match h.app.reviews.form.as_ref().map(|form| &form.subject) {
        Some(FormSubject::Intake(intake)) => {
            (intake.agent_id.clone(), intake.agent_version.clone())
        }
        other => panic!("an intake form is open, not {other:?}"),
    }
}

/// Answers the shipped intake as an NYC hiring screen used in the EU:
/// deployer, EU use, employment, decides about people at the workplace,
/// talks with people, no prohibited practice, an AEDT in New York.
async fn answer_as_a_hiring_screen(h: &mut Harness) {
    // 1 organisation_role: the first option, deployer.
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Tab).await;
    // 2 eu_use.
    h.keys("y").await;
    h.press(KeyCode::Tab).await;
    // 3 annex_iii_area: none, biometrics, critical_infrastructure,
    // education, employment.
    for _ in 0..4 {
        h.press(KeyCode::Down).await;
    }
    h.keys(" ").await;
    h.press(KeyCode::Tab).await;
    // 4 credit_or_insurance_pricing … 10 generates_deep_fakes.
    for answer in ["n", "n", "y", "y", "y", "n", "n"] {
        h.keys(answer).await;
        h.press(KeyCode::Tab).await;
    }
    // 11 prohibited_practices: none_apply.
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Tab).await;
    // 12 nyc_aedt, 13 colorado_consequential.
    h.keys("y").await;
    h.press(KeyCode::Tab).await;
    h.keys("n").await;
}

#[tokio::test]
async fn i_on_the_step_view_answers_the_intake_saves_drafts_and_submits_it() {
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    adopt_intake(&h).await;
    h.press(KeyCode::Enter).await;
    let agent = h
        .app
        .detail
        .as_ref()
        .and_then(|screen| screen.detail.as_ref())
        .map(|detail| detail.workflow.agent_id.clone())
        .expect("the step view is open");
    h.keys("I").await;
    assert_eq!(h.app.tab, Tab::Reviews, "forms are filled in Reviews");
    let (agent_id, version) = open_intake(&h);
    assert_eq!(agent_id, agent);
    let screen = h.screen();
    assert!(screen.contains("Classification intake"), "{screen}");
    assert!(screen.contains("not started"), "{screen}");
    assert!(
        screen.contains(&format!("{agent}@{version}")),
        "the version it classifies is named: {screen}"
    );

    answer_as_a_hiring_screen(&mut h).await;
    // Typing paused: the answers so far are saved as a draft.
    let later = h.app.now + Duration::seconds(2);
    let (_, commands) = h.app.tick(later);
    assert!(
        commands
            .iter()
            .any(|command| matches!(command, Command::SaveIntake { seq: Some(_), .. })),
        "a draft save is due: {commands:?}"
    );
    h.run(commands).await;
    let draft = stored_intake(&h, &agent, &version)
        .await
        .expect("a draft is stored");
    assert_eq!(draft.status, IntakeStatus::Draft);
    assert_eq!(draft.answers["annex_iii_area"], "employment");
    assert!(h.screen().contains("draft saved"));
    insta::assert_snapshot!("intake_form_120x40", h.screen());

    // ctrl-s shows every answer before submitting; ctrl-s again submits.
    ctrl(&mut h, 's').await;
    let summary = h.screen();
    assert!(summary.contains("Submit this intake?"), "{summary}");
    ctrl(&mut h, 's').await;
    let submitted = stored_intake(&h, &agent, &version).await.expect("stored");
    assert_eq!(submitted.status, IntakeStatus::Submitted);
    assert_eq!(submitted.answers["nyc_aedt"], true);
    let screen = h.screen();
    assert!(
        screen.contains("submitted: it classifies the agent"),
        "{screen}"
    );
    assert!(screen.contains("Submitted the intake of"), "{screen}");

    // Answering New York's question no would stop its duties applying:
    // the change waits for a classification-change decision, read-only,
    // and the earlier answers stand in the store.
    h.press(KeyCode::BackTab).await;
    h.keys("n").await;
    ctrl(&mut h, 's').await;
    ctrl(&mut h, 's').await;
    let waiting = h.screen();
    assert!(
        waiting.contains("wait for a decision: read-only"),
        "{waiting}"
    );
    let stored = stored_intake(&h, &agent, &version).await.expect("stored");
    assert_eq!(
        stored.answers["nyc_aedt"], true,
        "the earlier answers stand"
    );
    assert_eq!(
        stored
            .pending
            .as_ref()
            .map(|pending| pending.answers["nyc_aedt"].clone()),
        Some(serde_json::json!(false))
    );

    // Back returns to the step view it was opened from, whose obligations
    // follow the standing answers: New York's audit duty applies.
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.tab, Tab::Queue);
    assert!(h.app.detail.is_some(), "back on the step view");
    h.keys("O").await;
    let obligations = h.screen();
    assert!(
        obligations.contains("✗ nyc-ll144.bias-audit"),
        "{obligations}"
    );
    assert!(
        !obligations.contains("does not apply: intake"),
        "{obligations}"
    );
    // Opened again, the intake shows the change being decided, read-only.
    h.keys("O").await;
    h.keys("I").await;
    let form = h.app.reviews.form.as_ref().expect("the intake is open");
    assert!(!form.editable);
    assert_eq!(form.answers()["nyc_aedt"], false);
    assert!(h.screen().contains("wait for a decision"));
}

#[tokio::test]
async fn a_submitted_intake_changes_only_by_submitting_again_and_esc_twice_drops_a_change() {
    let mut h = Harness::new(80, 24, Theme::load("default", None).expect("theme")).await;
    adopt_intake(&h).await;
    // From the obligations overlay of an audited agent: `i`.
    h.keys("3").await;
    h.keys("O").await;
    h.keys("i").await;
    assert!(h.app.overlay.is_none(), "the overlay gives way to the form");
    let (agent, version) = open_intake(&h);
    answer_as_a_hiring_screen(&mut h).await;
    ctrl(&mut h, 's').await;
    ctrl(&mut h, 's').await;
    insta::assert_snapshot!("intake_submitted_80x24", h.screen());

    // A change of a submitted intake is not saved as a draft (the store
    // refuses one): it stays here, said so, until submitted again.
    // Focus is on the last question (Colorado): now yes.
    h.keys("y").await;
    let later = h.app.now + Duration::seconds(2);
    let (_, commands) = h.app.tick(later);
    assert!(
        !commands
            .iter()
            .any(|command| matches!(command, Command::SaveIntake { .. })),
        "no draft of a submitted intake: {commands:?}"
    );
    assert!(h.screen().contains("changed here, not saved"));
    // Submitting again says what a lowering change does; esc keeps editing.
    ctrl(&mut h, 's').await;
    let again = h.screen();
    assert!(again.contains("Submit this intake again?"), "{again}");
    assert!(again.contains("classification-change"), "{again}");
    h.press(KeyCode::Esc).await;
    assert!(!h.app.reviews.form.as_ref().expect("open").summary);
    // Esc warns once; the form stays with the change.
    h.press(KeyCode::Esc).await;
    assert!(h.app.reviews.form.is_some(), "one esc keeps the change");
    assert!(
        h.screen().contains("esc again drops them"),
        "{}",
        h.screen()
    );
    // A second esc drops it: the store still holds the submitted answers.
    h.press(KeyCode::Esc).await;
    assert!(h.app.reviews.form.is_none());
    assert_eq!(h.app.tab, Tab::Audits, "back where it was opened");
    let stored = stored_intake(&h, &agent, &version).await.expect("stored");
    assert_eq!(stored.answers["colorado_consequential"], false);
    assert_eq!(
        stored.version, 1,
        "nothing was written by the dropped change"
    );
}

#[tokio::test]
async fn a_read_only_console_shows_the_intake_and_changes_nothing() {
    let mut h = Harness::build(
        120,
        40,
        Theme::load("default", None).expect("theme"),
        true,
        true,
    )
    .await;
    adopt_intake(&h).await;
    h.keys("3").await;
    h.keys("I").await;
    let (agent, version) = open_intake(&h);
    let form = h.app.reviews.form.as_ref().expect("open");
    assert!(!form.editable);
    h.keys("y").await;
    ctrl(&mut h, 's').await;
    assert!(
        stored_intake(&h, &agent, &version).await.is_none(),
        "nothing was saved"
    );
    assert!(h.screen().contains("read-only"));
}

#[tokio::test]
async fn a_set_that_asks_no_intake_says_so() {
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    h.keys("3").await;
    h.keys("I").await;
    assert!(h.app.reviews.form.is_none());
    assert_eq!(h.app.tab, Tab::Audits, "nothing opened");
    let screen = h.screen();
    assert!(screen.contains("asks no intake questions"), "{screen}");
}
