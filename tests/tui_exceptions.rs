//! Exceptions in the console: `e` lists them (a blocked request's or a
//! step view's agent only), `n` asks for one for the version in view
//! through four prompts, `a` twice approves the selected one's step, `v`
//! revokes it with a reason, `w` changes which are shown; a read-only
//! console decides nothing.

mod common;

use std::sync::Arc;

use common::harness::{Harness, anchor};
use gavel::backend::GovernanceBackend;
use gavel::backend::local::LocalBackend;
use gavel::domain::exception::{ExceptionQuery, ExceptionStatus, NewException};
use gavel::seed::DEMO_USER;
use gavel::tui::theme::Theme;
use ratatui::crossterm::event::KeyCode;

/// Puts the demo user in `team` (keeping every role), so they may ask
/// for exceptions for its agents.
fn join_team(h: &Harness, team: &str) {
    h.store
        .update_user(
            "test@example.com",
            DEMO_USER,
            &gavel::backend::local::writes::UserChange {
                name: None,
                roles: Some(gavel::domain::Role::ALL.to_vec()),
                teams: Some(vec![team.to_owned()]),
                service: false,
            },
        )
        .expect("join the team");
}

/// The store judges at the tests' fixed day, so dates on screen are too.
fn fixed_clock(h: &Harness) {
    h.store.set_clock(gavel::clock::ManualClock::at(anchor()));
}

async fn exceptions_of(h: &Harness, agent: &str) -> Vec<gavel::domain::exception::Exception> {
    h.backend
        .exceptions(&ExceptionQuery {
            agent_id: Some(agent.into()),
            ..Default::default()
        })
        .await
        .expect("list")
}

#[tokio::test]
async fn n_on_a_blocked_request_asks_for_an_exception_and_a_approves_anothers() {
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    fixed_clock(&h);
    h.keys("4").await;
    let blocked = h
        .app
        .blocked
        .selected_item()
        .cloned()
        .expect("a blocked request is selected");
    let policy = blocked
        .triggered_policies
        .iter()
        .find(|policy| policy.blocking)
        .map(|policy| policy.policy_id.clone())
        .expect("what blocks it");
    join_team(&h, &blocked.team);

    h.keys("e").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Exceptions · open · {}", blocked.agent_id)),
        "the blocked request's agent only: {screen}"
    );
    h.keys("n").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("exception to policy (its id): {policy}")),
        "the policy blocking it is offered: {screen}"
    );
    h.press(KeyCode::Enter).await;
    h.keys("2026-06-20").await;
    h.press(KeyCode::Enter).await;
    h.keys("the fix ships with the next release").await;
    h.press(KeyCode::Enter).await;
    h.keys("https://tickets.example.com/GOV-9").await;
    h.press(KeyCode::Enter).await;

    let asked = exceptions_of(&h, &blocked.agent_id).await;
    assert_eq!(asked.len(), 1, "{}", h.screen());
    let mine = &asked[0];
    assert_eq!(
        (
            mine.agent_version.as_str(),
            mine.policy_id.as_str(),
            mine.requested_by.as_str()
        ),
        (blocked.agent_version.as_str(), policy.as_str(), DEMO_USER)
    );
    assert_eq!(
        mine.until,
        "2026-06-21T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        "through the day named"
    );
    assert_eq!(
        mine.ticket.as_deref(),
        Some("https://tickets.example.com/GOV-9")
    );
    let screen = h.screen();
    assert!(screen.contains(&mine.exception_id), "listed: {screen}");
    assert!(screen.contains("step 1/2 technical lead"), "{screen}");
    insta::assert_snapshot!("exceptions_asked_120x40", screen);

    // My own: approving it is refused by the store, and said.
    h.keys("aa").await;
    let screen = h.screen();
    assert!(
        screen.contains("does not decide it"),
        "the refusal is shown: {screen}"
    );
    assert_eq!(
        exceptions_of(&h, &blocked.agent_id).await[0].status,
        ExceptionStatus::Pending
    );

    // Someone of another blocked agent's team asks; I approve its first
    // step from every open exception (`c`), the second `a` confirming.
    let other = h
        .app
        .blocked
        .items
        .iter()
        .find(|item| item.agent_id != blocked.agent_id && item.requested_by != DEMO_USER)
        .cloned()
        .expect("another blocked request");
    let other_policy = other
        .triggered_policies
        .iter()
        .find(|policy| policy.blocking)
        .map(|policy| policy.policy_id.clone())
        .expect("what blocks it");
    let asker = LocalBackend::new(Arc::clone(&h.store), Some(other.requested_by.clone()));
    let theirs = asker
        .request_exception(&NewException {
            agent_id: other.agent_id.clone(),
            agent_version: other.agent_version.clone(),
            policy_id: other_policy,
            until: anchor() + chrono::TimeDelta::days(10),
            reason: "the data steward's review is booked".into(),
            ticket: None,
            controls: Some("a person reads every output".into()),
        })
        .await
        .expect("the requester asks");
    // I am told in my inbox; enter there opens it, selected.
    h.press(KeyCode::Esc).await;
    h.keys("i").await;
    let position = match h.app.overlay.as_ref() {
        Some(gavel::tui::app::Overlay::Inbox(inbox)) => inbox
            .items
            .iter()
            .flatten()
            .position(|item| item.exception_id.as_deref() == Some(&theirs.exception_id)),
        _ => None,
    }
    .expect("the inbox tells me");
    for _ in 0..position {
        h.press(KeyCode::Down).await;
    }
    h.press(KeyCode::Enter).await;
    let chosen = match h.app.overlay.as_ref() {
        Some(gavel::tui::app::Overlay::Exceptions(overlay)) => overlay
            .chosen(h.app.now)
            .map(|exception| exception.exception_id.clone()),
        _ => None,
    };
    assert_eq!(chosen.as_deref(), Some(theirs.exception_id.as_str()));
    h.keys("a").await;
    assert!(h.screen().contains("a again approves"));
    assert_eq!(
        exceptions_of(&h, &other.agent_id).await[0].approvals.len(),
        0,
        "one a only asks"
    );
    h.keys("a").await;
    let after = exceptions_of(&h, &other.agent_id).await;
    assert_eq!(after[0].approvals.len(), 1);
    assert_eq!(after[0].approvals[0].by, DEMO_USER);

    // I revoke my own, saying why (from the open ones).
    h.keys("w").await;
    assert!(h.screen().contains("Exceptions · open"));
    let index = match h.app.overlay.as_ref() {
        Some(gavel::tui::app::Overlay::Exceptions(overlay)) => overlay
            .visible(h.app.now)
            .iter()
            .position(|exception| exception.exception_id == mine.exception_id)
            .expect("mine is open"),
        _ => panic!("the overlay is open"),
    };
    for _ in 0..index {
        h.press(KeyCode::Down).await;
    }
    h.keys("v").await;
    h.press(KeyCode::Enter).await;
    assert!(
        h.screen().contains("say why"),
        "an empty reason changes nothing"
    );
    h.keys("v").await;
    h.keys("the policy is met after all").await;
    h.press(KeyCode::Enter).await;
    let revoked = &exceptions_of(&h, &blocked.agent_id).await[0];
    assert_eq!(revoked.status, ExceptionStatus::Revoked);
    assert_eq!(
        revoked.closing_comment.as_deref(),
        Some("the policy is met after all")
    );
}

#[tokio::test]
async fn the_list_reads_at_80x24_and_a_read_only_console_decides_nothing() {
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
    let asker = LocalBackend::new(Arc::clone(&h.store), Some(blocked.requested_by.clone()));
    let asked = asker
        .request_exception(&NewException {
            agent_id: blocked.agent_id.clone(),
            agent_version: blocked.agent_version.clone(),
            policy_id: blocked
                .triggered_policies
                .iter()
                .find(|policy| policy.blocking)
                .map(|policy| policy.policy_id.clone())
                .expect("what blocks it"),
            until: anchor() + chrono::TimeDelta::days(30),
            reason: "the vendor's review ends this month".into(),
            ticket: Some("https://tickets.example.com/GOV-12".into()),
            controls: Some("every call is logged and read daily".into()),
        })
        .await
        .expect("asked");
    h.keys("e").await;
    let screen = h.screen();
    assert!(screen.contains(&asked.exception_id), "{screen}");
    assert!(screen.contains("vendor's review"), "the detail: {screen}");
    insta::assert_snapshot!("exceptions_80x24", screen);
    h.keys("aa").await;
    assert!(h.screen().contains("read-only"));
    h.keys("n").await;
    assert!(
        !h.screen().contains("exception to policy"),
        "no prompt in a read-only console"
    );
    assert!(
        exceptions_of(&h, &blocked.agent_id).await[0]
            .approvals
            .is_empty()
    );
}

#[tokio::test]
async fn the_blocked_tab_counts_exceptions_in_force() {
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    fixed_clock(&h);
    h.keys("4").await;
    assert!(!h.screen().contains("Exceptions in force"));
    let blocked = h
        .app
        .blocked
        .selected_item()
        .cloned()
        .expect("a blocked request");
    let asker = LocalBackend::new(Arc::clone(&h.store), Some(blocked.requested_by.clone()));
    let asked = asker
        .request_exception(&NewException {
            agent_id: blocked.agent_id.clone(),
            agent_version: blocked.agent_version.clone(),
            policy_id: blocked
                .triggered_policies
                .iter()
                .find(|policy| policy.blocking)
                .map(|policy| policy.policy_id.clone())
                .expect("what blocks it"),
            until: anchor() + chrono::TimeDelta::days(7),
            reason: "a week to ship the fix".into(),
            ticket: None,
            controls: None,
        })
        .await
        .expect("asked");
    // The demo user as technical lead, another compliance officer after.
    let decision = |approve| gavel::domain::exception::ExceptionDecision {
        exception_id: asked.exception_id.clone(),
        approve,
        comment: None,
        version: None,
    };
    h.backend
        .decide_exception(&decision(true))
        .await
        .expect("step 1");
    let officer = h
        .store
        .users()
        .expect("users")
        .into_iter()
        .find(|user| {
            user.holds(gavel::domain::Role::ComplianceOfficer)
                && !user.is(DEMO_USER)
                && !user.is(&blocked.requested_by)
        })
        .expect("another compliance officer");
    LocalBackend::new(Arc::clone(&h.store), Some(officer.email))
        .decide_exception(&decision(true))
        .await
        .expect("step 2");
    h.press(KeyCode::F(5)).await;
    let screen = h.screen();
    assert!(
        screen.contains("Exceptions in force 1  1 ending in 14 days (e)"),
        "{screen}"
    );
}

#[tokio::test]
async fn the_blocked_tab_counts_approvals_due_for_recertification() {
    let mut h = Harness::new(120, 40, Theme::load("default", None).expect("theme")).await;
    fixed_clock(&h);
    common::harness::adopt_frameworks(
        &h.store,
        &["[recertification]\nafter = { high = \"30d\", medium = \"90d\" }\n"],
    )
    .await;
    let dashboard = h.backend.dashboard().await.expect("dashboard");
    assert!(
        dashboard.recertifications_due_soon > 0,
        "seeded records come due within 30 days: {dashboard:?}"
    );
    let listed = h.backend.recertifications_due(30).await.expect("due");
    assert_eq!(
        listed.total,
        dashboard.recertifications_due + dashboard.recertifications_due_soon
    );
    h.keys("4").await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!(
            "Recertify {}  {} more in 30 days",
            gavel::text::thousands(dashboard.recertifications_due),
            gavel::text::thousands(dashboard.recertifications_due_soon)
        )),
        "{screen}"
    );
    // R lists them, most overdue first; w adds those due within 30 days.
    h.keys("R").await;
    let screen = h.screen();
    assert!(
        screen.contains("Approvals to recertify · due now"),
        "{screen}"
    );
    h.keys("w").await;
    let screen = h.screen();
    assert!(screen.contains("due now or within 30 days"), "{screen}");
    let first = &listed.due[0];
    assert!(
        screen.contains(&first.agent.agent_id) && screen.contains(&first.agent.team),
        "the most overdue first: {screen}"
    );
    insta::assert_snapshot!("recertifications_120x40", screen);
}
