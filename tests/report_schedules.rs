//! The board report on a schedule: a compliance officer schedules it for
//! users; at the month's turn the notifier makes it, signed, and emails it
//! as a PDF through a real SMTP server (aiosmtpd); the attachment verifies
//! offline; it is sent once; it stops when its maker may no longer read
//! reports; every step is in the trail.

mod common;

use std::sync::{Arc, Mutex};

use base64::Engine;
use chrono::{TimeDelta, Utc};
use common::notify::{SmtpSink, free_port};
use common::{COMPLIANCE, LEAD, gavel};
use gavel::backend::local::{LocalBackend, LocalStore, logkey};
use gavel::backend::{BackendError, GovernanceBackend};
use gavel::domain::Role;
use gavel::domain::report::{Every, NewSchedule};

const BOARD: &str = "board@example.com";

fn as_user(store: &Arc<LocalStore>, email: &str) -> LocalBackend {
    LocalBackend::new(Arc::clone(store), Some(email.into()))
}

/// The reports among the messages received (the seeded store has its own
/// notifications waiting too).
fn reports(sink: &SmtpSink) -> Vec<serde_json::Value> {
    sink.messages()
        .into_iter()
        .filter(|message| {
            message["subject"]
                .as_str()
                .is_some_and(|subject| subject.starts_with("Governance report"))
        })
        .collect()
}

fn reports_received(sink: &SmtpSink, count: usize) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let received = reports(sink);
        if received.len() >= count {
            return received;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never {count} reports: {:#?}",
            sink.messages()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn trail_actions(db: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.prepare("SELECT action FROM trail WHERE entity_type = 'report_schedule' ORDER BY seq")
        .expect("trail")
        .query_map([], |row| row.get(0))
        .expect("trail")
        .map(|action| action.expect("action"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_report_is_made_signed_and_mailed_once_at_the_months_turn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("scheduled.db");
    gavel(&db)
        .args(["seed", "--workflows", "300", "--seed", "11"])
        .assert()
        .success();
    let store = LocalStore::open(&db).expect("open");
    store
        .add_user(COMPLIANCE, COMPLIANCE, &[Role::ComplianceOfficer])
        .expect("officer");
    store
        .add_user(LEAD, LEAD, &[Role::TechnicalLead])
        .expect("lead");
    store.add_user(BOARD, "The board", &[]).expect("board");
    let asked = |recipients: &[&str]| NewSchedule {
        every: Every::Month,
        recipients: recipients.iter().map(|email| (*email).to_owned()).collect(),
        team: None,
        format: "pdf".into(),
    };

    // Who may schedule, and to whom.
    let refused = as_user(&store, LEAD)
        .schedule_report(&asked(&[BOARD]))
        .await
        .expect_err("a technical lead may not read reports");
    assert!(matches!(refused, BackendError::Forbidden(_)), "{refused:?}");
    let outsider = as_user(&store, COMPLIANCE)
        .schedule_report(&asked(&["someone@elsewhere.example"]))
        .await
        .expect_err("reports go only to users");
    assert!(
        outsider.to_string().contains("not a Gavel user"),
        "{outsider}"
    );
    let schedule = as_user(&store, COMPLIANCE)
        .schedule_report(&asked(&[BOARD, COMPLIANCE]))
        .await
        .expect("schedule");
    assert_eq!(schedule.next_at, Every::Month.next_after(Utc::now()));

    // Due: the notifier makes it and mails it, once.
    let sink = SmtpSink::start(dir.path(), free_port(), None);
    let clock = Arc::new(Mutex::new(schedule.next_at + TimeDelta::minutes(1)));
    let key = logkey::load(&logkey::default_path(&db)).expect("the store's log key");
    let notifier = common::notify::worker(&store, &sink, &clock).with_log_key(Arc::new(key));
    notifier.pass().await.expect("pass");
    let messages = reports_received(&sink, 2);
    notifier.pass().await.expect("again");
    let (from, to) = Every::Month.period_before(schedule.next_at);
    for message in &messages {
        assert_eq!(
            message["subject"],
            format!("Governance report, {} to {}", monday(from), sunday(to)),
            "{message:#}"
        );
        let attachment = &message["attachments"][0];
        assert_eq!(attachment["content_type"], "application/pdf");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(attachment["base64"].as_str().expect("base64"))
            .expect("decode");
        let file = dir
            .path()
            .join(attachment["filename"].as_str().expect("name"));
        std::fs::write(&file, bytes).expect("write");
        let key = String::from_utf8(
            gavel(&db)
                .args(["trail", "key"])
                .output()
                .expect("key")
                .stdout,
        )
        .expect("UTF-8");
        gavel(&db)
            .args(["report", "verify"])
            .arg(&file)
            .args(["--key", key.trim()])
            .assert()
            .success();
    }
    let mut recipients: Vec<String> = messages
        .iter()
        .map(|message| message["to"][0].as_str().unwrap_or("").to_owned())
        .collect();
    recipients.sort();
    assert_eq!(recipients, vec![BOARD.to_owned(), COMPLIANCE.to_owned()]);
    assert_eq!(reports(&sink).len(), 2, "sent once");
    let listed = as_user(&store, COMPLIANCE)
        .report_schedules()
        .await
        .expect("schedules");
    assert_eq!(
        listed[0].next_at,
        Every::Month.next_after(schedule.next_at + TimeDelta::minutes(1)),
        "next month's"
    );

    // Its maker leaves: at the next turn it stops instead of sending.
    store
        .remove_user("admin@example.com", COMPLIANCE)
        .expect("remove");
    *clock.lock().expect("clock") = listed[0].next_at + TimeDelta::minutes(1);
    notifier.pass().await.expect("pass");
    assert_eq!(reports(&sink).len(), 2, "nothing more was sent");
    let stopped = as_user(&store, "dana.whitfield@northwind.example")
        .report_schedules()
        .await
        .expect("schedules");
    assert!(stopped[0].stopped_at.is_some(), "{stopped:?}");
    assert_eq!(
        trail_actions(&db),
        vec![
            "report_scheduled",
            "report_issued",
            "report_schedule_stopped"
        ]
    );
}

/// The Monday on or before a day, and the Sunday on or after it: a report
/// covers whole weeks.
fn monday(day: chrono::NaiveDate) -> chrono::NaiveDate {
    gavel::domain::report::Period::covering(day, day)
        .expect("period")
        .from
}

fn sunday(day: chrono::NaiveDate) -> chrono::NaiveDate {
    gavel::domain::report::Period::covering(day, day)
        .expect("period")
        .to
}
