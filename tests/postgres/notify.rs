//! Notifications from two servers on one PostgreSQL store: every email
//! is sent by exactly one of them, once.

use std::collections::HashSet;

use super::common;
use common::notify::{SmtpSink, free_port};
use common::postgres::Cluster;
use gavel::backend::GovernanceBackend;
use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::local::LocalStore;
use gavel::domain::Role;

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
    let count = |sql: &'static str| {
        store
            .read(|conn| Ok(conn.query_row(sql, gavel::db::params![], |row| row.get::<i64>(0))?))
            .expect("count") as usize
    };
    let mut settled = false;
    for _ in 0..120 {
        let waiting = count("SELECT COUNT(*) FROM notification_events WHERE fanned_out = 0")
            + count("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'");
        if waiting == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(settled, "the outbox empties");
    let recorded = count("SELECT COUNT(*) FROM deliveries WHERE channel = 'email'");
    assert!(recorded >= REQUESTS, "each request tells its approver");
    let messages = tokio::task::spawn_blocking(move || {
        smtp.wait_for(recorded);
        // Time for a second sending of any of them, were there one.
        std::thread::sleep(std::time::Duration::from_secs(3));
        smtp.messages()
    })
    .await
    .expect("smtp");
    assert_eq!(messages.len(), recorded, "each email once: {messages:#?}");
    let ids: HashSet<&str> = messages
        .iter()
        .filter_map(|message| message["message_id"].as_str())
        .collect();
    assert_eq!(ids.len(), recorded, "no message twice");
}
