//! The change feed on a PostgreSQL store shared by two servers never
//! skips: eight writers at a time, through both servers, while a reader
//! follows `GET /v1/changes`; after every round the reader's mirror equals
//! the database, row for row.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::common;
use common::conformance::decision;
use common::postgres::Cluster;
use gavel::backend::GovernanceBackend;
use gavel::backend::http::{FeedAnswer, HttpBackend, Token};
use gavel::backend::local::LocalStore;
use gavel::domain::{Role, Verdict, Workflow};
use tokio::sync::Mutex;

const ROUNDS: usize = 200;
const WRITERS: usize = 8;

/// What the reader has seen: workflows, and deployments' statuses.
#[derive(Default)]
struct Mirror {
    cursor: i64,
    workflows: BTreeMap<String, Workflow>,
    deployments: BTreeMap<String, String>,
}

impl Mirror {
    /// Reads one page from `server`; whether it had changes.
    async fn follow(&mut self, server: &HttpBackend) -> bool {
        let page = match server.changes(self.cursor, 200).await.expect("changes") {
            FeedAnswer::Page(page) => page,
            FeedAnswer::Resync => panic!("the feed asked for a resync"),
        };
        for workflow in page.entities.workflows {
            self.workflows
                .insert(workflow.workflow_id.clone(), workflow);
        }
        for deployment in page.entities.deployments {
            self.deployments.insert(
                deployment.deployment_id,
                deployment.status.as_str().to_owned(),
            );
        }
        let moved = page.next > self.cursor;
        self.cursor = self.cursor.max(page.next);
        moved
    }
}

/// (workflow id -> (version, status)), (deployment id -> status), head.
type Rows = (
    BTreeMap<String, (i64, String)>,
    BTreeMap<String, String>,
    i64,
);

fn database_rows(store: &LocalStore) -> Rows {
    store
        .read(|conn| {
            let workflows = conn
                .query_map(
                    "SELECT workflow_id, version, status FROM workflows",
                    gavel::db::params![],
                    |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))),
                )?
                .into_iter()
                .collect();
            let deployments = conn
                .query_map(
                    "SELECT deployment_id, status FROM deployments",
                    gavel::db::params![],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?
                .into_iter()
                .collect();
            let head = conn.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM trail",
                gavel::db::params![],
                |row| row.get(0),
            )?;
            Ok((workflows, deployments, head))
        })
        .expect("database rows")
}

fn client(url: &str, token: &str) -> HttpBackend {
    HttpBackend::new(url, Token::new(token.to_owned())).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_feed_never_skips_a_change_under_concurrent_writers_on_two_servers() {
    let cluster = Cluster::start();
    let url = cluster.url("gavel");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::postgres::shared_server_config(dir.path(), "");
    let store = LocalStore::connect(&url).await.expect("connect");
    let servers = [
        common::server::Server::start_on_database(&url, &config),
        common::server::Server::start_on_database(&url, &config),
    ];
    let requester = store
        .add_user(common::REQUESTER, "Dev", &[Role::TechnicalLead])
        .expect("user");
    let lead = store
        .add_user(common::LEAD, "Lead", &[Role::TechnicalLead])
        .expect("user");
    let reader = store
        .add_user(common::COMPLIANCE, "Compliance", &[Role::ComplianceOfficer])
        .expect("user");
    // Writer i talks to server i % 2; the reader alternates.
    let writers: Vec<(HttpBackend, HttpBackend)> = (0..WRITERS)
        .map(|i| {
            let url = &servers[i % 2].url;
            (client(url, &requester), client(url, &lead))
        })
        .collect();
    let writers = Arc::new(writers);
    let readers = [
        client(&servers[0].url, &reader),
        client(&servers[1].url, &reader),
    ];

    let mirror = Arc::new(Mutex::new(Mirror::default()));
    let mut previous: Vec<Option<String>> = vec![None; WRITERS];
    for round in 0..ROUNDS {
        let writing = Arc::new(AtomicBool::new(true));
        // The reader follows while the round's writes commit.
        let following = {
            let (mirror, writing) = (Arc::clone(&mirror), Arc::clone(&writing));
            let readers = readers.clone();
            tokio::spawn(async move {
                let mut turn = 0;
                while writing.load(Ordering::Acquire) {
                    let mut mirror = mirror.lock().await;
                    mirror.follow(&readers[turn % 2]).await;
                    turn += 1;
                }
            })
        };
        let tasks: Vec<_> = (0..WRITERS)
            .map(|i| {
                let writers = Arc::clone(&writers);
                let approve = previous[i].clone();
                tokio::spawn(async move {
                    let (requesting, deciding) = &writers[i];
                    let requested = requesting
                        .request_deployment(&common::confidential(&format!("agt-{round}-{i}")))
                        .await
                        .expect("request");
                    // Half the writers also decide last round's workflow.
                    if let Some(workflow_id) = approve.filter(|_| i % 2 == round % 2) {
                        let workflow = deciding.workflow(&workflow_id).await.expect("workflow");
                        deciding
                            .decide(&decision(&workflow, Verdict::Approve, None))
                            .await
                            .expect("decide");
                    }
                    requested.workflow_ids.first().cloned()
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            previous[i] = task.await.expect("writer");
        }
        writing.store(false, Ordering::Release);
        following.await.expect("reader");

        // Every write of the round is committed: the reader catches up.
        let (workflows, deployments, head) = database_rows(&store);
        let mut mirror = mirror.lock().await;
        let mut turn = round;
        while mirror.cursor < head {
            mirror.follow(&readers[turn % 2]).await;
            turn += 1;
        }
        let mirrored_workflows: BTreeMap<String, (i64, String)> = mirror
            .workflows
            .iter()
            .map(|(id, workflow)| {
                (
                    id.clone(),
                    (workflow.version, workflow.status.as_str().to_owned()),
                )
            })
            .collect();
        assert_eq!(mirrored_workflows, workflows, "round {round}: workflows");
        assert_eq!(
            mirror.deployments, deployments,
            "round {round}: deployments"
        );
    }
    let mirror = mirror.lock().await;
    assert_eq!(mirror.deployments.len(), ROUNDS * WRITERS);
    assert!(mirror.workflows.len() >= ROUNDS * WRITERS);
}
