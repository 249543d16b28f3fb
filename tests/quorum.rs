//! A two-person step decided by both people at the same moment, through
//! two clients of a real `gavel serve`: both approvals are recorded, neither
//! is refused as stale, and the step completes once.

mod common;

use std::sync::Arc;

use common::server::Server;
use common::{REQUESTER, confidential};
use gavel::backend::GovernanceBackend;
use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::domain::{Role, StepStatus, Verdict};

const FIRST: &str = "first@example.com";
const SECOND: &str = "second@example.com";
const ROUNDS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_approvers_deciding_at_once_both_count_and_the_step_completes_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gavel.db");
    let store = LocalStore::open(&db).expect("store");
    let mut tokens = std::collections::HashMap::new();
    for (email, roles) in [
        (REQUESTER, vec![Role::TechnicalLead]),
        (FIRST, vec![Role::TechnicalLead]),
        (SECOND, vec![Role::TechnicalLead]),
        ("admin@example.com", vec![Role::PolicyAdmin]),
        ("admin2@example.com", vec![Role::PolicyAdmin]),
    ] {
        tokens.insert(email, store.add_user(email, email, &roles).expect("add"));
    }
    let set = gavel::domain::policy::set::BUILTIN_SET.replace(
        r#"approval_chain = ["technical_lead", "data_steward"]"#,
        r#"approval_chain = [{ role = "technical_lead", quorum = 2 }, "data_steward"]"#,
    );
    let admin = |email: &str| LocalBackend::new(Arc::clone(&store), Some(email.into()));
    let proposed = admin("admin@example.com")
        .propose_policy_set(&set)
        .await
        .expect("propose");
    admin("admin2@example.com")
        .decide_policy_set(proposed.version.version, true, Some("two leads"))
        .await
        .expect("approve");

    let server = Server::start(&db);
    let client = |email: &str| {
        HttpBackend::new(&server.url, Token::new(tokens[email].clone())).expect("client")
    };
    let (requester, first, second) = (client(REQUESTER), client(FIRST), client(SECOND));
    for round in 0..ROUNDS {
        let requested = requester
            .request_deployment(&confidential(&format!("agt-quorum-{round}")))
            .await
            .expect("request");
        let workflow_id = requested.workflow_ids[0].clone();
        let opened = first.workflow(&workflow_id).await.expect("workflow");
        assert_eq!(opened.steps[0].quorum, 2);
        let by_first = common::conformance::decision(&opened, Verdict::Approve, Some("first"));
        let by_second = common::conformance::decision(&opened, Verdict::Approve, Some("second"));
        let (a, b) = tokio::join!(first.decide(&by_first), second.decide(&by_second));
        let (a, b) = (a.expect("first approver"), b.expect("second approver"));
        // One of the two answers completes the step; the other saw it waiting.
        let completed = [&a, &b]
            .iter()
            .filter(|w| {
                w.steps[0].status == StepStatus::Approved && w.steps[0].approvals.len() == 2
            })
            .count();
        assert_eq!(completed, 1, "round {round}: {a:?} / {b:?}");
        let now = first.workflow(&workflow_id).await.expect("workflow");
        let step = &now.steps[0];
        assert_eq!(step.status, StepStatus::Approved);
        let mut approvers: Vec<&str> = step
            .approvals
            .iter()
            .map(|approval| approval.approver_email.as_str())
            .collect();
        approvers.sort();
        assert_eq!(approvers, [FIRST, SECOND]);
        assert_eq!(now.current_step().map(|s| s.role), Some(Role::DataSteward));
        assert_eq!(now.version, opened.version + 2);
        let completions: i64 = store
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT COUNT(*) FROM notification_events WHERE kind = 'step.decided' AND subject = ?1",
                    [&workflow_id],
                    |row| row.get(0),
                )?)
            })
            .expect("count");
        assert_eq!(completions, 1, "the step completes once");
    }
}
