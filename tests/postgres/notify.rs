//! Notifications from two servers on one PostgreSQL store: every email
//! is sent by exactly one of them, once; every step's reminder is fired
//! once by two instances alerting at the same moment.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::TimeDelta;

use super::common;
use common::notify::{SmtpSink, free_port};
use common::postgres::Cluster;
use gavel::backend::GovernanceBackend;
use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::domain::Role;
use gavel::notify::settings::NotifySettings;
use gavel::notify::worker::Worker;

const REQUESTS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_send_each_email_once() {
    let cluster = Cluster::start();
    let url = cluster.url("gavel");
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp_port = free_port();
    let smtp = SmtpSink::start(dir.path(), smtp_port, None);
    let config = common::postgres::shared_server_config(
        dir.path(),
        &format!(
            "[notify]\nsmtp_url = \"smtp://127.0.0.1:{smtp_port}\"\nfrom = \"Gavel <gavel@example.com>\"\nclaim_seconds = 2\n"
        ),
    );
    let store = LocalStore::connect(&url).await.expect("connect");
    let requester = store
        .add_user(common::REQUESTER, "Dev", &[Role::TechnicalLead])
        .expect("user");
    store
        .add_user(common::LEAD, "Lead", &[Role::TechnicalLead])
        .expect("user");
    let servers = [
        common::server::Server::start_on_database(&url, &config),
        common::server::Server::start_on_database(&url, &config),
    ];
    for i in 0..REQUESTS {
        let client =
            HttpBackend::new(&servers[i % 2].url, Token::new(requester.clone())).expect("client");
        client
            .request_deployment(&common::confidential(&format!("agt-mail-{i}")))
            .await
            .expect("request");
    }
    // Wait until every event is fanned out and every delivery settled.
    let mut settled = false;
    for _ in 0..120 {
        if waiting(&store).await == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(settled, "the outbox empties");
    let recorded = count(&store, EMAILS).await;
    assert!(recorded >= REQUESTS, "each request tells its approver");
    let messages = every_message(smtp, recorded).await;
    assert_eq!(messages.len(), recorded, "each email once: {messages:#?}");
    let ids: HashSet<&str> = messages
        .iter()
        .filter_map(|message| message["message_id"].as_str())
        .collect();
    assert_eq!(ids.len(), recorded, "no message twice");
}

const ADMIN: &str = "admin@example.com";
const ADMIN2: &str = "admin2@example.com";
const SLA_STEPS: usize = 6;

/// The emails the outbox recorded.
const EMAILS: &str = "SELECT COUNT(*) FROM deliveries WHERE channel = 'email'";

/// Events not yet fanned out and deliveries not yet settled.
async fn waiting(store: &Arc<LocalStore>) -> usize {
    count(
        store,
        "SELECT COUNT(*) FROM notification_events WHERE fanned_out = 0",
    )
    .await
        + count(
            store,
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
        )
        .await
}

/// What `sink` received once `expected` messages arrived, after time for
/// a second sending of any of them, were there one.
async fn every_message(sink: SmtpSink, expected: usize) -> Vec<serde_json::Value> {
    tokio::task::spawn_blocking(move || {
        sink.wait_for(expected);
        std::thread::sleep(std::time::Duration::from_secs(3));
        sink.messages()
    })
    .await
    .expect("smtp")
}

/// Rows counted by `sql` in `store`.
async fn count(store: &Arc<LocalStore>, sql: &'static str) -> usize {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        store
            .read(|conn| Ok(conn.query_row(sql, gavel::db::params![], |row| row.get::<i64>(0))?))
            .expect("count") as usize
    })
    .await
    .expect("task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_alerting_at_once_remind_each_step_once() {
    let cluster = Cluster::start();
    let url = cluster.url("gavel");
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = SmtpSink::start(dir.path(), free_port(), None);
    // Two instances: two stores on the database, each its own pool.
    let stores = [
        LocalStore::connect(&url).await.expect("connect"),
        LocalStore::connect(&url).await.expect("connect"),
    ];
    let people: [(&str, &[Role]); 4] = [
        (common::REQUESTER, &[Role::TechnicalLead]),
        (common::LEAD, &[Role::TechnicalLead]),
        (ADMIN, &[Role::PolicyAdmin]),
        (ADMIN2, &[Role::PolicyAdmin]),
    ];
    for (email, roles) in people {
        stores[0].add_user(email, email, roles).expect("add user");
    }
    let as_user = |email: &str| LocalBackend::new(Arc::clone(&stores[1]), Some(email.into()));
    let proposed = as_user(ADMIN)
        .propose_policy_set(&common::sla_policy_set())
        .await
        .expect("propose");
    as_user(ADMIN2)
        .decide_policy_set(proposed.version.version, true, Some("SLAs"))
        .await
        .expect("approve");
    let mut opened_at = None;
    for i in 0..SLA_STEPS {
        let requested = as_user(common::REQUESTER)
            .request_deployment(&common::confidential(&format!("agt-sla-{i}")))
            .await
            .expect("request");
        let workflow = as_user(common::LEAD)
            .workflow(&requested.workflow_ids[0])
            .await
            .expect("workflow");
        opened_at.get_or_insert(workflow.created_at);
    }
    // Forty hours in: past the reminder (three quarters of 48 hours),
    // before the due time, for every step with the SLA.
    let now = opened_at.expect("opened") + TimeDelta::hours(40);
    let clock = Arc::new(Mutex::new(now));
    let settings = NotifySettings {
        smtp_url: Some(format!("smtp://127.0.0.1:{}", sink.port)),
        from: Some("Gavel <gavel@example.com>".into()),
        ..NotifySettings::default()
    };
    let workers = stores.each_ref().map(|store| {
        let clock = Arc::clone(&clock);
        Worker::new(Arc::clone(store), settings.clone(), 5)
            .expect("worker")
            .with_clock(Arc::new(move || *clock.lock().expect("clock")))
    });

    let (first, second) = tokio::join!(workers[0].alert_due_steps(), workers[1].alert_due_steps());
    let (first, second) = (first.expect("alert"), second.expect("alert"));
    assert_eq!(
        first + second,
        SLA_STEPS,
        "each step reminded by one instance"
    );
    let (first, second) = tokio::join!(workers[0].alert_due_steps(), workers[1].alert_due_steps());
    assert_eq!(
        first.expect("alert") + second.expect("alert"),
        0,
        "and once"
    );

    let (first, second) = tokio::join!(workers[0].pass(), workers[1].pass());
    first.expect("pass");
    second.expect("pass");
    assert_eq!(
        waiting(&stores[0]).await,
        0,
        "both passes together deliver everything"
    );
    let recorded = count(&stores[0], EMAILS).await;
    let messages = every_message(sink, recorded).await;
    assert_eq!(messages.len(), recorded, "each email once: {messages:#?}");
    let reminders: Vec<&str> = messages
        .iter()
        .filter_map(|message| message["subject"].as_str())
        .filter(|subject| subject.starts_with("Reminder"))
        .collect();
    assert_eq!(reminders.len(), SLA_STEPS, "{reminders:#?}");
    let distinct: HashSet<&&str> = reminders.iter().collect();
    assert_eq!(
        distinct.len(),
        SLA_STEPS,
        "one reminder per step: {reminders:#?}"
    );
}
