//! Step SLAs over time, with a clock the test controls: a step is reminded
//! at its share of the SLA, alerted at its due time, and escalated after
//! it, each once, also across restarts of the store and its worker; the
//! emails go through a real SMTP server (aiosmtpd). Delegates receive
//! their delegator's notifications; a delegate's delegate does not.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{TimeDelta, Utc};
use common::notify::{SmtpSink, free_port, worker};
use common::{REQUESTER, confidential};
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{GovernanceBackend, QueueQuery};
use gavel::domain::Role;
use gavel::domain::delegation::NewDelegation;
use gavel::domain::policy::sla::AlertKind;

const LEAD: &str = "lead@example.com";
const LEAD_AWAY: &str = "away@example.com";
const COVER: &str = "cover@example.com";
const COVER_OF_COVER: &str = "cover2@example.com";
const COMPLIANCE: &str = "compliance@example.com";
const STEWARD: &str = "steward@example.com";
const ADMIN: &str = "admin@example.com";
const ADMIN2: &str = "admin2@example.com";

fn as_user(store: &Arc<LocalStore>, email: &str) -> LocalBackend {
    LocalBackend::new(Arc::clone(store), Some(email.into()))
}

fn open(db: &Path) -> Arc<LocalStore> {
    LocalStore::open(db).expect("open the store")
}

/// A store with its people and the SLA set active.
async fn store_with_people(db: &Path) -> Arc<LocalStore> {
    let store = open(db);
    let people: [(&str, &[Role]); 8] = [
        (REQUESTER, &[Role::TechnicalLead]),
        (LEAD, &[Role::TechnicalLead]),
        (LEAD_AWAY, &[Role::TechnicalLead]),
        (COVER, &[Role::TechnicalLead]),
        (COVER_OF_COVER, &[Role::TechnicalLead]),
        (COMPLIANCE, &[Role::ComplianceOfficer]),
        (STEWARD, &[Role::DataSteward]),
        (ADMIN, &[Role::PolicyAdmin]),
    ];
    for (email, roles) in people {
        store.add_user(email, email, roles).expect("add user");
    }
    store
        .add_user(ADMIN2, ADMIN2, &[Role::PolicyAdmin])
        .expect("add admin");
    let proposed = as_user(&store, ADMIN)
        .propose_policy_set(&common::sla_policy_set())
        .await
        .expect("propose");
    as_user(&store, ADMIN2)
        .decide_policy_set(proposed.version.version, true, Some("SLAs"))
        .await
        .expect("approve");
    store
}

fn subjects_to(messages: &[serde_json::Value], to: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|message| {
            message["to"]
                .as_array()
                .is_some_and(|to_list| to_list.iter().any(|t| t == to))
        })
        .filter_map(|message| message["subject"].as_str().map(str::to_owned))
        .collect()
}

fn alerts(messages: &[serde_json::Value], to: &str, word: &str) -> usize {
    subjects_to(messages, to)
        .iter()
        .filter(|subject| subject.starts_with(word))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_is_reminded_alerted_and_escalated_once_each_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gavel.db");
    let sink = SmtpSink::start(dir.path(), free_port(), None);
    let store = store_with_people(&db).await;
    let requested = as_user(&store, REQUESTER)
        .request_deployment(&confidential("agt-sla"))
        .await
        .expect("request");
    let workflow_id = requested.workflow_ids[0].clone();
    let opened = as_user(&store, LEAD)
        .workflow(&workflow_id)
        .await
        .expect("workflow");
    let start = opened.created_at;
    let clock = Arc::new(Mutex::new(start));
    let at =
        |hours: i64, minutes: i64| start + TimeDelta::hours(hours) + TimeDelta::minutes(minutes);

    // The opening email goes to the leads; nothing else is due yet.
    *clock.lock().unwrap() = at(35, 59);
    let first = worker(&store, &sink, &clock);
    assert_eq!(first.alert_due_steps().await.expect("pass"), 0);
    first.pass().await.expect("pass");
    // Two workflows open (the PII approval, with the SLA, and the
    // medium-risk review, without), each emailing the four other leads.
    assert_eq!(opened.triggered_by_policy, "pii_access_approval");
    // (And the policy set's proposal went to the other admin.)
    let opening = sink.wait_for(9);
    assert_eq!(alerts(&opening, LEAD, "Approval waiting"), 2);
    let with_sla = opening
        .iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.contains(workflow_id.as_str()))
        })
        .expect("the PII approval's email");
    assert!(
        with_sla["text"]
            .as_str()
            .unwrap_or("")
            .contains("SLA: 2 days, so decide by"),
        "{with_sla:#?}"
    );

    // The store and its worker stop before the reminder's time and start
    // again after it: the reminder is sent then, once.
    drop(first);
    drop(store);
    *clock.lock().unwrap() = at(40, 0);
    let store = open(&db);
    let second = worker(&store, &sink, &clock);
    assert_eq!(second.alert_due_steps().await.expect("pass"), 1);
    second.pass().await.expect("pass");
    assert_eq!(second.alert_due_steps().await.expect("again"), 0, "once");
    let messages = sink.wait_for(13);
    assert_eq!(alerts(&messages, LEAD, "Reminder"), 1, "{messages:#?}");
    assert_eq!(
        alerts(&messages, REQUESTER, "Reminder"),
        0,
        "never the requester"
    );
    let reminder = messages
        .iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Reminder"))
        })
        .expect("a reminder");
    let due = at(48, 0).format("%Y-%m-%d %H:%M").to_string();
    assert!(
        reminder["subject"].as_str().unwrap_or("").contains(&due),
        "{reminder}"
    );
    let item = as_user(&store, LEAD)
        .queue(&QueueQuery::first(
            Default::default(),
            Default::default(),
            50,
        ))
        .await
        .expect("queue")
        .items
        .into_iter()
        .find(|item| item.workflow_id == workflow_id)
        .expect("in the lead's queue");
    assert_eq!(item.alert, Some(AlertKind::Reminder));
    assert_eq!(item.due_at, Some(at(48, 0)));

    // Restarted again between the due time and the next pass: the due-time
    // alert comes once, and the reminder is not sent again.
    drop(second);
    drop(store);
    *clock.lock().unwrap() = at(50, 0);
    let store = open(&db);
    let third = worker(&store, &sink, &clock);
    third.pass().await.expect("pass");
    let messages = sink.wait_for(17);
    assert_eq!(alerts(&messages, LEAD, "Overdue"), 1);
    assert_eq!(alerts(&messages, LEAD, "Reminder"), 1);
    let dashboard = store.dashboard_at(at(50, 0)).expect("dashboard");
    assert_eq!(
        dashboard
            .overdue_by_team
            .iter()
            .map(|count| count.count)
            .sum::<u64>(),
        1,
        "{dashboard:?}"
    );
    assert!(
        store
            .dashboard_at(at(47, 0))
            .expect("dashboard")
            .overdue_by_team
            .is_empty(),
        "not overdue before the due time"
    );

    // Twelve hours after the due time: escalated to the compliance officer.
    *clock.lock().unwrap() = at(59, 59);
    assert_eq!(third.alert_due_steps().await.expect("pass"), 0);
    *clock.lock().unwrap() = at(60, 0);
    third.pass().await.expect("pass");
    let messages = sink.wait_for(18);
    assert_eq!(
        alerts(&messages, COMPLIANCE, "Escalated to you"),
        1,
        "{messages:#?}"
    );
    assert_eq!(
        alerts(&messages, LEAD, "Escalated"),
        0,
        "the leads see it in their inbox"
    );
    assert!(
        as_user(&store, LEAD)
            .inbox()
            .await
            .expect("inbox")
            .iter()
            .any(|item| item.summary.starts_with("Escalated to compliance_officer")),
    );
    *clock.lock().unwrap() = at(200, 0);
    assert_eq!(
        third.alert_due_steps().await.expect("pass"),
        0,
        "nothing more"
    );

    let workflow = as_user(&store, LEAD)
        .workflow(&workflow_id)
        .await
        .expect("workflow");
    let kinds: Vec<AlertKind> = workflow.steps[0].alerts.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AlertKind::Reminder,
            AlertKind::Overdue,
            AlertKind::Escalated
        ]
    );
    assert_eq!(
        workflow.steps[0].alerts[2].to.as_deref(),
        Some("compliance_officer")
    );
    let trail = as_user(&store, COMPLIANCE)
        .trail("workflow", &workflow_id)
        .await
        .expect("trail");
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "workflow_opened",
            "step_reminded",
            "step_overdue",
            "step_escalated"
        ]
    );

    // A decision made on the version before the alerts still applies.
    let decided = as_user(&store, LEAD)
        .decide(&common::conformance::decision(
            &opened,
            gavel::domain::Verdict::Approve,
            Some("sorry for the wait"),
        ))
        .await
        .expect("the alerts do not make the decision stale");
    assert_eq!(
        decided.current_step().map(|s| s.role),
        Some(Role::DataSteward)
    );
    let report = as_user(&store, COMPLIANCE)
        .verify_trail()
        .await
        .expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.replay.expect("replay").mismatch, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegates_get_their_delegators_notifications_but_not_their_delegates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_people(&dir.path().join("gavel.db")).await;
    // Only LEAD_AWAY may act on the ethics step, so only delegation tells COVER.
    store
        .add_user("ethics@example.com", "Ethics", &[Role::EthicsReviewer])
        .expect("add");
    store
        .add_user("ethics2@example.com", "Ethics 2", &[Role::EthicsReviewer])
        .expect("add");
    store
        .add_user("ethics3@example.com", "Ethics 3", &[Role::EthicsReviewer])
        .expect("add");
    let now = Utc::now();
    let week = |to: &str| NewDelegation {
        to: to.into(),
        starts_at: now,
        ends_at: now + TimeDelta::days(7),
        role: None,
    };
    as_user(&store, "ethics@example.com")
        .delegate(&week("ethics2@example.com"))
        .await
        .expect("delegate");
    as_user(&store, "ethics2@example.com")
        .delegate(&week("ethics3@example.com"))
        .await
        .expect("passed on");
    let mut high = common::manifest("agt-review");
    high.agent.risk_tier = gavel::domain::RiskTier::High;
    let requested = as_user(&store, REQUESTER)
        .request_deployment(&high)
        .await
        .expect("request");
    let workflow_id = &requested.workflow_ids[0];
    as_user(&store, COMPLIANCE)
        .assign_review(workflow_id, "ethics@example.com")
        .await
        .expect("assign");
    let told = |email: &'static str| {
        let store = Arc::clone(&store);
        async move {
            as_user(&store, email)
                .inbox()
                .await
                .expect("inbox")
                .iter()
                .any(|item| item.summary.contains("ethics review"))
        }
    };
    assert!(told("ethics@example.com").await);
    assert!(told("ethics2@example.com").await, "the delegate is told");
    assert!(
        !told("ethics3@example.com").await,
        "a delegate's delegate is not"
    );
}
