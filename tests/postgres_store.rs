//! The store on PostgreSQL: the same conformance suite the embedded store
//! passes, run against a throwaway cluster, with the trail verified after.

mod common;
#[path = "postgres/feed.rs"]
mod feed;
#[path = "postgres/notify.rs"]
mod notify;

use std::sync::Arc;

use common::postgres::Cluster;
use gavel::backend::GovernanceBackend;
use gavel::backend::local::{LocalBackend, LocalStore};

/// The store's trail, verified (off the runtime: a read on PostgreSQL
/// awaits its queries) and found unbroken.
async fn intact_trail(store: &Arc<LocalStore>) -> gavel::backend::VerifyReport {
    let store = Arc::clone(store);
    let report = tokio::task::spawn_blocking(move || store.verify_trail())
        .await
        .expect("task")
        .expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
    report
}

struct PostgresFixture {
    store: Arc<LocalStore>,
}

impl common::conformance::Fixture for PostgresFixture {
    fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    fn backend_as(&self, email: &str) -> Box<dyn GovernanceBackend> {
        Box::new(LocalBackend::new(
            Arc::clone(&self.store),
            Some(email.to_owned()),
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_conforms() {
    let cluster = Cluster::start();
    let store = LocalStore::connect(&cluster.url("gavel"))
        .await
        .expect("connect");
    assert!(store.is_postgres());
    let fixture = PostgresFixture { store };
    common::conformance::run(&fixture).await;
    let report = intact_trail(&fixture.store).await;
    assert!(report.events > 50, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_database_starts_as_a_new_embedded_store_does() {
    let cluster = Cluster::start();
    let url = cluster.url("gavel");
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded = LocalStore::open(&dir.path().join("fresh.db")).expect("sqlite");
    // Two servers starting together: one migrates, both find the defaults.
    let (first, second) = tokio::join!(LocalStore::connect(&url), LocalStore::connect(&url));
    let (first, second) = (first.expect("first"), second.expect("second"));
    let expected = LocalBackend::new(embedded, None);
    for store in [first, second] {
        let backend = LocalBackend::new(store, None);
        assert_eq!(
            backend.policies().await.expect("policies"),
            expected.policies().await.expect("policies")
        );
        let active = backend.policy_set(None).await.expect("policy set");
        let embedded_active = expected.policy_set(None).await.expect("policy set");
        assert_eq!(active.version.version, 1);
        assert_eq!(active.source, embedded_active.source);
        assert_eq!(active.version.state, embedded_active.version.state);
    }
}

/// Two `gavel serve` processes on one database, each client handed to
/// them in turn: the suite sees one server.
struct TwoServers {
    store: Arc<LocalStore>,
    servers: [common::server::Server; 2],
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
    next: std::sync::atomic::AtomicUsize,
    _dir: tempfile::TempDir,
}

impl TwoServers {
    async fn start(cluster: &Cluster) -> TwoServers {
        let url = cluster.url("gavel");
        let dir = tempfile::tempdir().expect("tempdir");
        let config = common::postgres::shared_server_config(dir.path(), "");
        let store = LocalStore::connect(&url).await.expect("connect");
        let servers = [
            common::server::Server::start_on_database(&url, &config),
            common::server::Server::start_on_database(&url, &config),
        ];
        TwoServers {
            store,
            servers,
            tokens: std::sync::Mutex::new(std::collections::HashMap::new()),
            next: std::sync::atomic::AtomicUsize::new(0),
            _dir: dir,
        }
    }

    /// A client of `email`'s on server `index` (0 or 1).
    fn client_on(&self, index: usize, email: &str) -> gavel::backend::http::HttpBackend {
        let token = self.tokens.lock().expect("tokens")[email].clone();
        self.client(index, token)
    }

    fn client(&self, index: usize, token: String) -> gavel::backend::http::HttpBackend {
        gavel::backend::http::HttpBackend::new(
            &self.servers[index].url,
            gavel::backend::http::Token::new(token),
        )
        .expect("client")
    }
}

impl common::conformance::Fixture for TwoServers {
    fn shares_the_clock(&self) -> bool {
        // The servers run in their own processes, on their own clocks.
        false
    }

    fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    fn backend_as(&self, email: &str) -> Box<dyn GovernanceBackend> {
        let token = self
            .tokens
            .lock()
            .expect("tokens")
            .get(email)
            .cloned()
            .unwrap_or_else(|| "gvl_not_a_real_token".into());
        let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::new(self.client(turn % 2, token))
    }

    fn add_user(&self, email: &str, roles: &[gavel::domain::Role]) {
        let token = self.store.add_user(email, email, roles).expect("add user");
        self.tokens
            .lock()
            .expect("tokens")
            .insert(email.to_owned(), token);
    }

    fn add_service(&self, email: &str, roles: &[gavel::domain::Role]) {
        let token = common::conformance::service_on_store(&self.store, email, roles);
        self.tokens
            .lock()
            .expect("tokens")
            .insert(email.to_owned(), token);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_conform_as_one() {
    let cluster = Cluster::start();
    let fixture = TwoServers::start(&cluster).await;
    common::conformance::run(&fixture).await;
    for server in &fixture.servers {
        let log = server.log();
        assert!(log.contains("/v1/queue"), "both servers answered: {log}");
    }
    intact_trail(&fixture.store).await;

    // The gauges /metrics shows read the same rows on PostgreSQL: the
    // queue by the roles steps name (not the session's database role).
    let gauges = fixture
        .store
        .gauges(chrono::Utc::now())
        .expect("the store's gauges");
    let in_progress = fixture
        .store
        .read(|conn| {
            Ok(conn
                .prepare_cached("SELECT COUNT(*) FROM workflows WHERE status = 'in_progress'")?
                .query_row(gavel::db::params![], |row| row.get::<i64>(0))?)
        })
        .expect("count");
    assert!(in_progress > 0, "the suite leaves workflows waiting");
    let queued: u64 = gauges.queue_by_role.iter().map(|(_, n)| n).sum();
    assert_eq!(queued, in_progress as u64, "{gauges:?}");
    for (role, _) in &gauges.queue_by_role {
        assert!(
            gavel::domain::Role::ALL
                .iter()
                .any(|named| named.as_str() == role),
            "{role} is no role a step names"
        );
    }
    assert!(
        gauges.log_size > 0 && gauges.connections.max >= 1,
        "{gauges:?}"
    );
    let text = reqwest::get(format!(
        "{}/metrics",
        fixture.servers[0].url.trim_end_matches('/')
    ))
    .await
    .expect("scrape")
    .text()
    .await
    .expect("text");
    assert!(
        text.contains("gavel_queue_depth{role=\"technical_lead\"}"),
        "{text}"
    );
    assert!(text.contains("gavel_db_connections_max "), "{text}");
}

/// GET `path` on `server` as the holder of `token`: the status.
async fn status_of(server: &common::server::Server, token: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}{path}", server.url.trim_end_matches('/')))
        .bearer_auth(token)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map(|answer| answer.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_is_a_clean_503_and_loses_nothing_acknowledged() {
    use common::conformance::decision;
    use gavel::domain::{Role, StepStatus, Verdict};

    let cluster = Cluster::start();
    let fixture = TwoServers::start(&cluster).await;
    use common::conformance::Fixture as _;
    fixture.add_user(common::REQUESTER, &[Role::TechnicalLead]);
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    fixture.add_user(common::STEWARD, &[Role::DataSteward]);
    let requested = fixture
        .backend_as(common::REQUESTER)
        .request_deployment(&common::confidential("agt-outage"))
        .await
        .expect("request");
    let workflow_id = requested.workflow_ids.first().cloned().expect("a workflow");
    let lead = fixture.backend_as(common::LEAD);
    let opened = lead.workflow(&workflow_id).await.expect("workflow");
    // Acknowledged before the outage.
    lead.decide(&decision(&opened, Verdict::Approve, Some("before")))
        .await
        .expect("first step");

    cluster.stop();
    let token = fixture.tokens.lock().expect("tokens")[common::STEWARD].clone();
    for server in &fixture.servers {
        assert_eq!(
            status_of(server, &token, "/v1/queue").await,
            503,
            "a server whose database is away answers 503: {}",
            server.log()
        );
    }

    cluster.restart();
    for server in &fixture.servers {
        let mut status = 0;
        for _ in 0..60 {
            status = status_of(server, &token, "/v1/queue").await;
            if status == 200 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert_eq!(status, 200, "answers again: {}", server.log());
    }
    let steward = fixture.backend_as(common::STEWARD);
    let after = steward.workflow(&workflow_id).await.expect("workflow");
    assert_eq!(
        after.steps[0].status,
        StepStatus::Approved,
        "the decision acknowledged before the outage is kept"
    );
    let done = steward
        .decide(&decision(&after, Verdict::Approve, Some("after")))
        .await
        .expect("a decision after the outage");
    assert!(
        done.steps
            .iter()
            .all(|step| step.status == StepStatus::Approved)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_decisions_keeps_every_acknowledged_one_once() {
    use common::conformance::decision;
    use gavel::domain::{Role, Verdict};

    let cluster = Cluster::start();
    let mut fixture = TwoServers::start(&cluster).await;
    use common::conformance::Fixture as _;
    fixture.add_user(common::REQUESTER, &[Role::TechnicalLead]);
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    let requester = fixture.backend_as(common::REQUESTER);
    let mut workflow_ids = Vec::new();
    for i in 0..30 {
        let requested = requester
            .request_deployment(&common::confidential(&format!("agt-kill-{i}")))
            .await
            .expect("request");
        workflow_ids.extend(requested.workflow_ids);
    }
    let lead = fixture.client_on(0, common::LEAD);
    // Decide through the first server, killed once ten are acknowledged.
    let total = workflow_ids.len();
    let (tenth, acknowledged_ten) = tokio::sync::oneshot::channel::<()>();
    let deciding = tokio::spawn(async move {
        let mut tenth = Some(tenth);
        let mut acknowledged = Vec::new();
        for workflow_id in workflow_ids {
            if acknowledged.len() == 10
                && let Some(tenth) = tenth.take()
            {
                let _ = tenth.send(());
            }
            let Ok(workflow) = lead.workflow(&workflow_id).await else {
                break;
            };
            match lead
                .decide(&decision(&workflow, Verdict::Approve, None))
                .await
            {
                Ok(_) => acknowledged.push(workflow_id),
                Err(_) => break,
            }
        }
        acknowledged
    });
    acknowledged_ten
        .await
        .expect("ten decisions before the kill");
    fixture.servers[0].stop();
    let acknowledged = deciding.await.expect("decisions");
    assert!(
        acknowledged.len() >= 10 && acknowledged.len() < total,
        "the kill came part way: {} of {total}",
        acknowledged.len()
    );
    fixture.servers[0].restart();

    let store = Arc::clone(&fixture.store);
    let approvals: std::collections::BTreeMap<String, i64> =
        tokio::task::spawn_blocking(move || {
            store.read(|conn| {
                Ok(conn
                    .query_map(
                        "SELECT entity_id, COUNT(*) FROM trail WHERE action = 'step_approved'
                         GROUP BY entity_id",
                        gavel::db::params![],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )?
                    .into_iter()
                    .collect())
            })
        })
        .await
        .expect("task")
        .expect("trail");
    for workflow_id in &acknowledged {
        assert_eq!(
            approvals.get(workflow_id),
            Some(&1),
            "{workflow_id} was acknowledged: it is in the trail once"
        );
    }
    assert!(
        approvals.values().all(|count| *count == 1),
        "no decision twice: {approvals:?}"
    );
    // The restarted server answers on the same database.
    let restarted = fixture.client_on(0, common::LEAD);
    let decided = restarted
        .workflow(&acknowledged[0])
        .await
        .expect("a workflow after the restart");
    assert_eq!(decided.steps[0].status, gavel::domain::StepStatus::Approved);
}

/// A decision sent again through the other server (its idempotency key
/// the same) gets the first answer and decides nothing more; sent through
/// both servers at once, one of them decides and both answer alike; the
/// key reused for another decision is refused by either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_through_the_other_server_returns_the_first_answer() {
    use common::conformance::Fixture as _;
    use common::conformance::decision;
    use gavel::backend::BackendError;
    use gavel::domain::{Role, Verdict};

    let cluster = Cluster::start();
    let fixture = TwoServers::start(&cluster).await;
    fixture.add_user(common::REQUESTER, &[Role::TechnicalLead]);
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    let requester = fixture.backend_as(common::REQUESTER);
    let leads = [
        fixture.client_on(0, common::LEAD),
        fixture.client_on(1, common::LEAD),
    ];
    let mut workflow_ids = Vec::new();
    for i in 0..9 {
        let requested = requester
            .request_deployment(&common::confidential(&format!("agt-replay-{i}")))
            .await
            .expect("request");
        workflow_ids.extend(requested.workflow_ids);
    }
    let approvals_of = |workflow_id: &str| {
        let store = Arc::clone(&fixture.store);
        let workflow_id = workflow_id.to_owned();
        tokio::task::spawn_blocking(move || {
            store
                .read(|conn| {
                    Ok(conn.query_row(
                        "SELECT COUNT(*) FROM trail WHERE action = 'step_approved' AND entity_id = ?1",
                        gavel::db::params![workflow_id],
                        |row| row.get::<i64>(0),
                    )?)
                })
                .expect("trail")
        })
    };

    // One after the other: through the first, then again through the second.
    let workflow = leads[0].workflow(&workflow_ids[0]).await.expect("workflow");
    let first = decision(&workflow, Verdict::Approve, Some("ok"));
    let answer = leads[0].decide(&first).await.expect("approve");
    let replay = leads[1].decide(&first).await.expect("replay");
    assert_eq!(answer, replay, "the other server gives the first answer");
    assert_eq!(approvals_of(&workflow_ids[0]).await.expect("task"), 1);
    let mut changed = first.clone();
    changed.comment = Some("different".into());
    for lead in &leads {
        assert!(
            matches!(
                lead.decide(&changed).await,
                Err(BackendError::IdempotencyMismatch(_))
            ),
            "the key reused for another decision is refused"
        );
    }

    // At once, through both.
    for workflow_id in &workflow_ids[1..] {
        let workflow = leads[0].workflow(workflow_id).await.expect("workflow");
        let same = decision(&workflow, Verdict::Approve, None);
        let (through_first, through_second) =
            tokio::join!(leads[0].decide(&same), leads[1].decide(&same));
        let (through_first, through_second) = (
            through_first.expect("first server"),
            through_second.expect("second server"),
        );
        assert_eq!(through_first, through_second, "{workflow_id}: one answer");
        assert_eq!(
            approvals_of(workflow_id).await.expect("task"),
            1,
            "{workflow_id}: decided once"
        );
    }
    intact_trail(&fixture.store).await;
}

/// Two people deciding one step at the same moment, each through a
/// different server: exactly one decision wins, the other is refused as
/// made on a version that is no longer current, and the trail holds the
/// winner's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_decisions_on_one_step_through_two_servers_have_one_winner() {
    use common::conformance::Fixture as _;
    use common::conformance::decision;
    use gavel::backend::BackendError;
    use gavel::domain::decision::DecisionError;
    use gavel::domain::{Role, StepStatus, Verdict};

    const OTHER_LEAD: &str = "other.lead@example.com";
    let cluster = Cluster::start();
    let fixture = TwoServers::start(&cluster).await;
    fixture.add_user(common::REQUESTER, &[Role::TechnicalLead]);
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    fixture.add_user(OTHER_LEAD, &[Role::TechnicalLead]);
    let requester = fixture.backend_as(common::REQUESTER);
    let (first, second) = (
        fixture.client_on(0, common::LEAD),
        fixture.client_on(1, OTHER_LEAD),
    );
    for i in 0..12 {
        let requested = requester
            .request_deployment(&common::confidential(&format!("agt-race-{i}")))
            .await
            .expect("request");
        let workflow_id = &requested.workflow_ids[0];
        let workflow = first.workflow(workflow_id).await.expect("workflow");
        let approve = decision(&workflow, Verdict::Approve, None);
        let reject = decision(&workflow, Verdict::Reject, Some("not yet"));
        let (approved, rejected) = tokio::join!(first.decide(&approve), second.decide(&reject));
        let outcomes = [approved.is_ok(), rejected.is_ok()];
        assert_eq!(
            outcomes.iter().filter(|won| **won).count(),
            1,
            "{workflow_id}: one winner ({approved:?} / {rejected:?})"
        );
        let loser = if outcomes[0] { rejected } else { approved };
        assert!(
            matches!(
                loser,
                Err(BackendError::Refused(DecisionError::StaleVersion {
                    expected: 1,
                    actual: 2
                }))
            ),
            "{workflow_id}: the other is told it changed: {loser:?}"
        );
        let after = second.workflow(workflow_id).await.expect("workflow");
        let stands = if outcomes[0] {
            StepStatus::Approved
        } else {
            StepStatus::Rejected
        };
        assert_eq!(
            after.steps[0].status, stands,
            "{workflow_id}: the winner's decision stands"
        );
        let trail = second.trail("workflow", workflow_id).await.expect("trail");
        assert_eq!(trail.len(), 2, "{workflow_id}: opened, then one decision");
    }
    intact_trail(&fixture.store).await;
}

/// `gavel store copy` with `args`: its output, and whether it succeeded.
fn store_copy(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["store", "copy"])
        .args(args)
        .env("GAVEL_CONFIG", "/dev/null")
        .output()
        .expect("gavel store copy");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_copies_into_postgres_and_back_and_checks_out() {
    let cluster = Cluster::start();
    let url = cluster.url("gavel");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("seeded.db");
    let original = LocalStore::open(&file).expect("store");
    let anchor = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 1, 0, 0, 0).unwrap();
    gavel::seed::seed(
        &original,
        &gavel::seed::SeedOptions {
            workflows: 300,
            seed: 21,
            anchor,
        },
        &mut |_| {},
    )
    .expect("seed");
    let token = original
        .add_user(
            "copied@example.com",
            "Copied",
            &[gavel::domain::Role::ComplianceOfficer],
        )
        .expect("user");
    let key = gavel::backend::local::logkey::load_or_create(&dir.path().join("log.key"), &file)
        .expect("key");
    let checkpoint = original
        .write(|tx| gavel::backend::local::logkey::sign_checkpoint(tx, &key, chrono::Utc::now()))
        .expect("checkpoint");
    let now = chrono::Utc::now();
    let dashboard = original.dashboard_at(now).expect("dashboard");
    // The board report reads the same kept counts on both engines.
    let quarter = gavel::domain::report::ReportQuery {
        from: anchor.date_naive() - chrono::Duration::days(91),
        to: anchor.date_naive(),
        team: None,
    };
    let figures_of = |note: gavel::domain::report::SignedReport| {
        gavel::report::note::read(&note.note)
            .expect("a report")
            .figures
    };
    let report = figures_of(
        original
            .board_report("copied@example.com", &key, &quarter, now)
            .expect("the report on SQLite"),
    );
    assert!(report.headline.requests > 0 && report.headline.audits > 0);
    drop(original);

    let (copied, output) = store_copy(&["--from", &file.display().to_string(), "--to", &url]);
    assert!(copied, "{output}");
    assert!(output.contains("checked:"), "{output}");

    let database = LocalStore::connect(&url).await.expect("connect");
    let on_postgres = Arc::clone(&database);
    let (user, latest, copied_dashboard, copied_report) = tokio::task::spawn_blocking(move || {
        (
            on_postgres.user_by_token(&token).expect("token lookup"),
            on_postgres
                .read(gavel::backend::local::logkey::latest_checkpoint)
                .expect("checkpoint"),
            on_postgres.dashboard_at(now).expect("dashboard"),
            on_postgres
                .board_report("copied@example.com", &key, &quarter, now)
                .expect("the report on PostgreSQL"),
        )
    })
    .await
    .expect("task");
    assert_eq!(figures_of(copied_report), report);
    assert_eq!(
        user.map(|user| user.email),
        Some("copied@example.com".into())
    );
    assert_eq!(latest.map(|(_, note)| note), Some(checkpoint));
    assert_eq!(copied_dashboard, dashboard);

    // A record is never mixed into another.
    let (refused, output) = store_copy(&["--from", &file.display().to_string(), "--to", &url]);
    assert!(!refused, "{output}");
    assert!(
        output.contains("already holds a governance record"),
        "{output}"
    );
    let (replaced, output) = store_copy(&[
        "--from",
        &file.display().to_string(),
        "--to",
        &url,
        "--replace",
    ]);
    assert!(replaced, "{output}");

    // And back, into a new file.
    let back = dir.path().join("back.db");
    let (copied_back, output) = store_copy(&[
        "--from",
        &url,
        "--to",
        &back.display().to_string(),
        "--json",
    ]);
    assert!(copied_back, "{output}");
    let report: serde_json::Value = serde_json::from_str(&output).expect("json report");
    assert!(
        report["tables"]["workflows"].as_u64() >= Some(300),
        "{report}"
    );
    let returned = LocalStore::open_existing(&back).expect("copied back");
    assert_eq!(returned.dashboard_at(now).expect("dashboard"), dashboard);
    assert!(returned.verify_trail().expect("verify").broken.is_none());
}

/// SCIM on PostgreSQL: the directory's token, user names unique in any
/// case, filters, groups and deactivation read and write the same rows as
/// on the embedded store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_provisions_and_deprovisions_on_postgres() {
    let cluster = Cluster::start();
    let url = cluster.url("gavel");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::postgres::shared_server_config(dir.path(), "[scim]\n");
    let store = LocalStore::connect(&url).await.expect("connect");
    let token = store.rotate_directory_token("owner").expect("token");
    let server = common::server::Server::start_on_database(&url, &config);
    let base = format!("{}/scim/v2", server.url.trim_end_matches('/'));
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token)
            .header("x-request-id", "req-pg");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        async move {
            let answer = request.send().await.expect("send");
            let status = answer.status().as_u16();
            (
                status,
                answer.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let user = |name: &str| {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "emails": [{ "value": format!("{}@example.com", name.to_lowercase()), "primary": true }],
        })
    };
    let (status, ada) = call(reqwest::Method::POST, "/Users", Some(user("Ada"))).await;
    assert_eq!(status, 201, "{ada}");
    let ada_id = ada["id"].as_str().expect("id").to_owned();
    let (status, body) = call(reqwest::Method::POST, "/Users", Some(user("ADA"))).await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    let (status, found) = call(
        reqwest::Method::GET,
        "/Users?filter=userName%20eq%20%22aDa%22",
        None,
    )
    .await;
    assert_eq!(
        (status, found["totalResults"].as_u64()),
        (200, Some(1)),
        "{found}"
    );
    let (status, group) = call(
        reqwest::Method::POST,
        "/Groups",
        Some(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Reviewers", "members": [{ "value": ada_id }],
        })),
    )
    .await;
    assert_eq!(status, 201, "{group}");

    // Ada delegates to Bob, Bob to Ada; a review is assigned to Ada.
    let (status, bob) = call(reqwest::Method::POST, "/Users", Some(user("Bob"))).await;
    assert_eq!(status, 201, "{bob}");
    let gavel_pg = |args: &[&str]| -> String {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
            .arg("--config")
            .arg(&config)
            .args(["--database-url", &url])
            .args(args)
            .output()
            .expect("gavel");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    for email in ["ada@example.com", "bob@example.com"] {
        gavel_pg(&[
            "users",
            "update",
            email,
            "--roles",
            "technical_lead,ethics_reviewer",
        ]);
    }
    gavel_pg(&[
        "users",
        "add",
        "cora@example.com",
        "--roles",
        "compliance_officer",
    ]);
    gavel_pg(&["users", "add", "dev@example.com"]);
    let until = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    for (from, to) in [
        ("ada@example.com", "bob@example.com"),
        ("bob@example.com", "ada@example.com"),
    ] {
        gavel_pg(&[
            "--user",
            from,
            "delegate",
            "--to",
            to,
            "--until",
            &until,
            "--role",
            "technical_lead",
        ]);
    }
    let manifest = dir.path().join("router.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": "router", "name": "Router", "team": "Ops", "owner": "dev@example.com",
            "category": "operations", "data_classification": "internal",
            "has_external_tools": false, "risk_tier": "high", "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    let requested = gavel_pg(&[
        "--user",
        "dev@example.com",
        "deploy",
        "request",
        &manifest.display().to_string(),
    ]);
    let workflow = requested
        .split_whitespace()
        .find(|word| word.starts_with("wf-"))
        .expect("a workflow")
        .to_owned();
    gavel_pg(&[
        "--user",
        "cora@example.com",
        "review",
        "assign",
        &workflow,
        "--to",
        "ada@example.com",
    ]);

    let person = store
        .rotate_token("owner", "ada@example.com")
        .expect("a token");
    let me = |token: String| {
        let url = format!("{}/v1/me", server.url.trim_end_matches('/'));
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("me")
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(person.clone()).await, 200);
    let (status, _) = call(
        reqwest::Method::PATCH,
        &format!("/Users/{ada_id}"),
        Some(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "active", "value": false }],
        })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me(person).await, 401);
    let removed = store
        .read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM trail WHERE actor = 'directory (SCIM)' AND action = 'user_removed' AND details LIKE '%req-pg%'",
                )?
                .query_row(gavel::db::params![], |row| row.get::<i64>(0))?)
        })
        .expect("trail");
    assert_eq!(removed, 1);
    // Her delegations ended both ways; her review waits to be reassigned,
    // and the compliance officer was told.
    let count = |sql: &'static str| {
        store
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(sql)?
                    .query_row(gavel::db::params![], |row| row.get::<i64>(0))?)
            })
            .expect("count")
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM delegations WHERE ended_at IS NULL"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM reviews WHERE reassign_since IS NOT NULL"),
        1
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM inbox i JOIN notification_events e ON e.event_id = i.event_id
             WHERE i.user_email = 'cora@example.com' AND e.kind = 'review.reviewer_removed'"
        ),
        1
    );
    intact_trail(&store).await;
}
