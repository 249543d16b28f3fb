//! Incidents in the console: `!` lists them (a blocked request's or a
//! step view's agent only), `n` reports one for the version in view, `l`
//! asks to lift its suspension, `a` twice signs a lifting's step, `t`
//! triages, `p` records the report, `x` closes; the inbox opens one; the
//! list reads at 80x24 and a read-only console changes nothing.

mod common;

use std::sync::Arc;

use common::harness::{Harness, anchor};
use gavel::backend::GovernanceBackend;
use gavel::backend::local::LocalBackend;
use gavel::domain::Role;
use gavel::domain::incident::{IncidentQuery, IncidentStatus, NewIncident};
use gavel::seed::DEMO_USER;
use gavel::tui::theme::Theme;
use ratatui::crossterm::event::KeyCode;

/// The store judges at the tests' fixed day, so dates on screen are too.
fn fixed_clock(h: &Harness) {
    h.store.set_clock(gavel::clock::ManualClock::at(anchor()));
}

async fn incidents_of(h: &Harness, agent: &str) -> Vec<gavel::domain::incident::Incident> {
    h.backend
        .incidents(&IncidentQuery {
            agent_id: Some(agent.into()),
            ..Default::default()
        })
        .await
        .expect("list")
}

/// Someone besides the demo user holding `role`.
async fn another(h: &Harness, role: Role) -> LocalBackend {
    let holder = h
        .backend
        .users(Some(role))
        .await
        .expect("users")
        .into_iter()
        .find(|user| user.email != DEMO_USER && !user.service)
        .expect("another holder of the role");
    LocalBackend::new(Arc::clone(&h.store), Some(holder.email))
}

#[tokio::test]
async fn bang_on_a_blocked_request_reports_an_incident_that_a_chain_lifts() {
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    fixed_clock(&h);
    h.keys("4").await;
    let blocked = h
        .app
        .blocked
        .selected_item()
        .cloned()
        .expect("a blocked request is selected");

    h.keys("!").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Incidents · open · {}", blocked.agent_id)),
        "the blocked request's agent only: {screen}"
    );
    assert!(screen.contains("No open incident"), "{screen}");
    h.keys("n").await;
    assert!(
        h.screen().contains("incident severity"),
        "the severity is asked first"
    );
    for _ in 0.."serious".len() {
        h.press(KeyCode::Backspace).await;
    }
    h.keys("death").await;
    h.press(KeyCode::Enter).await;
    h.keys("a patient was triaged as low priority by the agent and died")
        .await;
    h.press(KeyCode::Enter).await;

    let reported = incidents_of(&h, &blocked.agent_id).await;
    assert_eq!(reported.len(), 1, "{}", h.screen());
    let incident = &reported[0];
    assert_eq!(
        (
            incident.agent_version.as_str(),
            incident.severity.as_str(),
            incident.reported_by.as_str()
        ),
        (blocked.agent_version.as_str(), "death", DEMO_USER)
    );
    assert!(incident.suspends(), "death suspends at once");
    assert_eq!(
        incident.report_due,
        Some(anchor() + chrono::TimeDelta::days(10)),
        "ten days from becoming aware (now, by the store's clock)"
    );
    let screen = h.screen();
    assert!(screen.contains(&incident.incident_id), "listed: {screen}");
    assert!(screen.contains("SUSPENDED"), "{screen}");
    insta::assert_snapshot!("incidents_reported_120x40", screen);

    // The agent's obligations say what stands beside its duties.
    h.press(KeyCode::Esc).await;
    h.keys("O").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!(
            "after approval: incident {} (death): open, suspended",
            incident.incident_id
        )),
        "{screen}"
    );
    h.press(KeyCode::Esc).await;
    h.keys("!").await;

    // I ask to lift it: I may not sign it myself, and am told so.
    h.keys("l").await;
    h.keys("the triage threshold is fixed and re-tested").await;
    h.press(KeyCode::Enter).await;
    h.keys("aa").await;
    let screen = h.screen();
    assert!(
        screen.contains("does not sign it off"),
        "the refusal is shown: {screen}"
    );
    // A technical lead signs, then I am not the one who asked... but I
    // asked: another compliance officer signs the last step.
    let lead = another(&h, Role::TechnicalLead).await;
    lead.change_incident(&gavel::domain::incident::IncidentChange {
        incident_id: incident.incident_id.clone(),
        action: gavel::domain::incident::IncidentAction::DecideLift {
            approve: true,
            comment: None,
        },
        version: None,
    })
    .await
    .expect("a technical lead signs");
    let officer = another(&h, Role::ComplianceOfficer).await;
    officer
        .change_incident(&gavel::domain::incident::IncidentChange {
            incident_id: incident.incident_id.clone(),
            action: gavel::domain::incident::IncidentAction::DecideLift {
                approve: true,
                comment: Some("re-test read".into()),
            },
            version: None,
        })
        .await
        .expect("a compliance officer signs");

    // Triage, the report made, and closing, from the console.
    h.keys("w").await; // suspending: now none
    h.keys("wwwww").await; // back round to open
    assert!(h.screen().contains("Incidents · open"), "{}", h.screen());
    h.keys("t").await;
    h.press(KeyCode::Enter).await; // the severity offered: death
    h.keys("confirmed by the ward's review").await;
    h.press(KeyCode::Enter).await;
    h.keys("p").await;
    h.keys("MSA-2026-0042").await;
    h.press(KeyCode::Enter).await;
    h.keys("x").await;
    h.keys("a threshold tuned on adult data").await;
    h.press(KeyCode::Enter).await;
    h.keys("thresholds per age band, reviewed monthly").await;
    h.press(KeyCode::Enter).await;
    let closed = &incidents_of(&h, &blocked.agent_id).await[0];
    assert_eq!(closed.status, IncidentStatus::Closed, "{}", h.screen());
    assert_eq!(
        closed
            .report
            .as_ref()
            .map(|report| report.reference.as_str()),
        Some("MSA-2026-0042")
    );
    assert_eq!(
        closed
            .closure
            .as_ref()
            .map(|closure| closure.cause.as_str()),
        Some("a threshold tuned on adult data")
    );
}

#[tokio::test]
async fn the_inbox_opens_an_incident_and_the_list_reads_at_80x24_read_only() {
    let mut h = Harness::build(
        80,
        24,
        Theme::load("default", None).expect("theme"),
        true,
        true,
    )
    .await;
    fixed_clock(&h);
    h.keys("4").await;
    let blocked = h
        .app
        .blocked
        .selected_item()
        .cloned()
        .expect("a blocked request");
    let reporter = another(&h, Role::TechnicalLead).await;
    let reported = reporter
        .report_incident(&NewIncident {
            agent_id: blocked.agent_id.clone(),
            agent_version: Some(blocked.agent_version.clone()),
            severity: "serious".into(),
            summary: "applicants from one postcode were scored lower".into(),
            became_aware_at: Some(anchor() - chrono::TimeDelta::days(20)),
            occurred_at: None,
        })
        .await
        .expect("reported");
    // Compliance officers are told; enter in the inbox opens it.
    h.keys("i").await;
    let position = match h.app.overlay.as_ref() {
        Some(gavel::tui::app::Overlay::Inbox(inbox)) => inbox
            .items
            .iter()
            .flatten()
            .position(|item| item.incident_id.as_deref() == Some(&reported.incident_id)),
        _ => None,
    }
    .expect("the inbox tells me");
    for _ in 0..position {
        h.press(KeyCode::Down).await;
    }
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(screen.contains("Incidents · all"), "{screen}");
    assert!(
        screen.contains("OVERDUE"),
        "aware 20 days ago, 15 to report: {screen}"
    );
    insta::assert_snapshot!("incidents_80x24", screen);

    // Read-only: a suspension is not made from here.
    h.keys("s").await;
    assert!(h.screen().contains("read-only"), "{}", h.screen());
    assert!(!incidents_of(&h, &blocked.agent_id).await[0].suspends());
}
