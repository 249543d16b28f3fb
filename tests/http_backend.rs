//! `HttpBackend` against a real `gavel serve` on a loopback port: the
//! conformance suite, every error status on raw HTTP, concurrent decisions,
//! and tokens kept secret.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::server::Server;

use gavel::auth::keeper::SessionKeeper;
use gavel::backend::http::{Credentials, HttpBackend, Token};
use gavel::backend::local::LocalStore;
use gavel::backend::{BackendError, Decision, GovernanceBackend};
use gavel::domain::decision::DecisionError;
use gavel::domain::{Role, Verdict};

struct HttpFixture {
    store: Arc<LocalStore>,
    server: Server,
    tokens: Mutex<HashMap<String, String>>,
    /// With an identity provider: people sign in with it instead.
    provider: Option<common::oidc::Provider>,
    sign_ins: Mutex<HashMap<String, Arc<SessionKeeper>>>,
    _dir: tempfile::TempDir,
}

impl HttpFixture {
    fn new() -> HttpFixture {
        HttpFixture::seeded(0)
    }

    /// A server logging everything (`RUST_LOG=trace`, as JSON): what the
    /// suite's secrets are grepped for.
    fn tracing() -> HttpFixture {
        HttpFixture::build(0, |_, db| {
            let server = Server::start_with(db, "127.0.0.1:0", Path::new("/dev/null"), &TRACE);
            (None, server)
        })
    }

    /// A server on a store holding a generated organisation.
    fn seeded(workflows: u64) -> HttpFixture {
        HttpFixture::build(workflows, |_, db| (None, Server::start(db)))
    }

    /// A server whose people sign in with a real OpenID provider; each
    /// user the suite adds is an account there, their roles directory
    /// groups.
    fn signed_in() -> HttpFixture {
        HttpFixture::build(0, |dir, db| {
            let (provider, server) = common::oidc::Provider::with_server_env(dir, db, &TRACE);
            (Some(provider), server)
        })
    }

    /// A store (with `workflows` generated first) and the server `start`
    /// begins on it, with the provider it brings, if any.
    fn build(
        workflows: u64,
        start: impl FnOnce(&Path, &Path) -> (Option<common::oidc::Provider>, Server),
    ) -> HttpFixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("served.db");
        let store = LocalStore::open(&db).expect("store");
        if workflows > 0 {
            let anchor =
                chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 1, 0, 0, 0).unwrap();
            gavel::seed::seed(
                &store,
                &gavel::seed::SeedOptions {
                    workflows,
                    seed: 21,
                    anchor,
                },
                &mut |_| {},
            )
            .expect("seed");
        }
        let (provider, server) = start(dir.path(), &db);
        HttpFixture {
            store,
            server,
            tokens: Mutex::new(HashMap::new()),
            provider,
            sign_ins: Mutex::new(HashMap::new()),
            _dir: dir,
        }
    }

    /// Every Gavel token the suite's users were given.
    fn tokens(&self) -> Vec<String> {
        self.tokens
            .lock()
            .expect("tokens")
            .values()
            .cloned()
            .collect()
    }

    fn token(&self, email: &str) -> String {
        self.tokens
            .lock()
            .expect("tokens")
            .get(email)
            .cloned()
            .unwrap_or_else(|| "gvl_not_a_real_token".into())
    }

    fn client(&self, email: &str) -> HttpBackend {
        if let Some(keeper) = self.sign_ins.lock().expect("sign-ins").get(email) {
            let credentials = Credentials::SignIn(Arc::clone(keeper));
            return HttpBackend::with_credentials(&self.server.url, credentials).expect("client");
        }
        HttpBackend::new(&self.server.url, Token::new(self.token(email))).expect("client")
    }
}

impl common::conformance::Fixture for HttpFixture {
    fn shares_the_clock(&self) -> bool {
        // The server runs in its own process, on its own clock.
        false
    }

    fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    fn backend_as(&self, email: &str) -> Box<dyn GovernanceBackend> {
        Box::new(self.client(email))
    }

    fn add_user(&self, email: &str, roles: &[Role]) {
        let Some(provider) = &self.provider else {
            let token = self.store.add_user(email, email, roles).expect("add user");
            self.tokens
                .lock()
                .expect("tokens")
                .insert(email.to_owned(), token);
            return;
        };
        let keeper = common::oidc::block_on(provider.sign_in_new(&self.server.url, email, roles));
        self.sign_ins
            .lock()
            .expect("sign-ins")
            .insert(email.to_owned(), keeper);
    }

    fn change_user(&self, email: &str, roles: &[Role], team: Option<&str>) {
        let Some(provider) = &self.provider else {
            common::conformance::change_on_store(&self.store, email, roles, team);
            return;
        };
        let keeper =
            common::oidc::block_on(provider.sign_in_changed(&self.server.url, email, roles, team));
        self.sign_ins
            .lock()
            .expect("sign-ins")
            .insert(email.to_owned(), keeper);
    }

    fn add_service(&self, email: &str, roles: &[Role]) {
        let token = common::conformance::service_on_store(&self.store, email, roles);
        self.tokens
            .lock()
            .expect("tokens")
            .insert(email.to_owned(), token);
    }
}

/// The servers whose logs are grepped log everything, as JSON.
const TRACE: [(&str, &str); 2] = [("RUST_LOG", "trace"), ("GAVEL_LOG_FORMAT", "json")];

/// No secret the suite used reaches the server's log, at the most verbose
/// level: no token, and no draft answer.
fn assert_no_secret_in(log: &str, secrets: &[String]) {
    assert!(
        log.contains("\"route\":\"/v1/queue\""),
        "requests are logged, as JSON at trace: {}",
        &log[..log.len().min(2000)]
    );
    assert!(log.contains("TRACE"), "the log is at trace level");
    for secret in secrets
        .iter()
        .map(String::as_str)
        .chain(common::conformance::DRAFT_ANSWERS)
    {
        assert!(
            !log.contains(secret),
            "a secret leaked into the server log: {secret}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_backend_conforms() {
    let fixture = HttpFixture::tracing();
    common::conformance::run(&fixture).await;
    let tokens = fixture.tokens();
    assert!(tokens.len() >= 5, "the suite's users have tokens");
    assert_no_secret_in(&fixture.server.log(), &tokens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_backend_conforms_with_people_signed_in_by_the_identity_provider() {
    let fixture = HttpFixture::signed_in();
    common::conformance::run(&fixture).await;
    let keepers: Vec<_> = fixture
        .sign_ins
        .lock()
        .expect("sign-ins")
        .values()
        .cloned()
        .collect();
    let mut secrets = fixture.tokens();
    for keeper in keepers {
        // The access token the session holds now (its earlier ones were
        // sent too, and are as absent: the log names no header).
        secrets.push(keeper.bearer().await.expect("a token"));
    }
    assert_no_secret_in(&fixture.server.log(), &secrets);
}

/// Raw HTTP, as any client of the API would speak it.
async fn raw(
    fixture: &HttpFixture,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let client = reqwest::Client::new();
    let mut request = client.request(method, format!("{}{path}", fixture.server.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// A workflow waiting on a technical lead, requested by the test agents'
/// owner.
async fn pending_workflow(fixture: &HttpFixture, agent: &str) -> gavel::domain::Workflow {
    use common::conformance::Fixture;
    if !fixture
        .tokens
        .lock()
        .expect("tokens")
        .contains_key(common::REQUESTER)
    {
        fixture.add_user(common::REQUESTER, &[]);
    }
    let client = fixture.client(common::REQUESTER);
    let request = client
        .request_deployment(&common::confidential(agent))
        .await
        .expect("request");
    client
        .workflow(&request.workflow_ids[0])
        .await
        .expect("workflow")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_status_on_raw_http() {
    use common::conformance::Fixture;
    use reqwest::Method;
    let fixture = HttpFixture::new();
    fixture.add_user(common::REQUESTER, &[Role::TechnicalLead]);
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    fixture.add_user(common::STEWARD, &[Role::DataSteward]);
    fixture.add_user(common::ALL_ROLES, &Role::ALL);
    let workflow = pending_workflow(&fixture, "agt-raw").await;
    let path = format!("/v1/workflows/{}/steps/1/decision", workflow.workflow_id);
    let lead = fixture.token(common::LEAD);
    let approve = r#"{"verdict":"approve"}"#;
    let v1 = [("if-match", "\"1\""), ("idempotency-key", "k-1")];

    // A policy set version is never edited or deleted over HTTP either.
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let (status, body) = raw(
            &fixture,
            method.clone(),
            "/v1/policy-sets/1",
            Some(&lead),
            &[],
            Some(r#"{"source":"description = \"mine\""}"#),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (405, Some("method_not_allowed")),
            "{method}"
        );
    }

    // A standings page asked for with an unknown kind or a search longer
    // than any name: a clear 400; with a cursor this server never issued:
    // 422. Nothing is read.
    for (query, expected) in [
        ("attention=failing,sometimes", (400, "bad_request")),
        (&format!("search={}", "a".repeat(201)), (400, "bad_request")),
        ("limit=-1", (400, "bad_request")),
        ("after=not-a-cursor", (422, "invalid")),
        ("after=ZmFpbGluZwB4AGEAYg", (422, "invalid")),
    ] {
        let (status, body) = raw(
            &fixture,
            Method::GET,
            &format!("/v1/audits/standings?{query}"),
            Some(&lead),
            &[],
            None,
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (expected.0, Some(expected.1)),
            "{query}: {body}"
        );
    }
    let (status, body) = raw(
        &fixture,
        Method::GET,
        "/v1/audits/standings?attention=missing,failing&limit=100000",
        Some(&lead),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["standings"].is_array(), "{body}");

    // 400: not what the document allows; 422: allowed, but breaking a rule.
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/needs-approval.json"
    ))
    .expect("example manifest");
    let mut fields: serde_json::Value = serde_json::from_str(&manifest).expect("json");
    fields["name"] = serde_json::json!(5);
    let (status, body) = raw(
        &fixture,
        Method::POST,
        "/v1/deployments/check",
        Some(&lead),
        &[],
        Some(&fields.to_string()),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    // A field given twice is refused, whichever the parser would keep.
    for route in ["/v1/deployments/check", "/v1/deployments"] {
        let twice = manifest.trim_end().trim_end_matches('}').to_owned()
            + r#", "risk_tier": "low", "risk_tier": "high"}"#;
        let (status, body) = raw(
            &fixture,
            Method::POST,
            route,
            Some(&lead),
            &[],
            Some(&twice),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("bad_request")),
            "{route}: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("given twice")),
            "{body}"
        );
    }
    fields["name"] = serde_json::json!("   ");
    let (status, body) = raw(
        &fixture,
        Method::POST,
        "/v1/deployments/check",
        Some(&lead),
        &[],
        Some(&fields.to_string()),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid")),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("name")),
        "{body}"
    );

    assert_eq!(
        raw(&fixture, Method::GET, "/v1/me", None, &[], None)
            .await
            .0,
        401
    );
    let (status, body) = raw(
        &fixture,
        Method::GET,
        "/v1/me",
        Some("gvl_wrong"),
        &[],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthenticated"))
    );

    let (status, body) = raw(
        &fixture,
        Method::POST,
        &path,
        Some(&fixture.token(common::STEWARD)),
        &v1,
        Some(approve),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_role")),
        "{body}"
    );
    let (status, body) = raw(
        &fixture,
        Method::POST,
        &path,
        Some(&fixture.token(common::REQUESTER)),
        &[("if-match", "\"1\""), ("idempotency-key", "k-2")],
        Some(approve),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("separation_of_duties")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("separation of duties"))
    );

    assert_eq!(
        raw(
            &fixture,
            Method::GET,
            "/v1/workflows/wf-none",
            Some(&lead),
            &[],
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        raw(
            &fixture,
            Method::POST,
            &path,
            Some(&lead),
            &[("idempotency-key", "k-3")],
            Some(approve)
        )
        .await
        .0,
        428
    );
    let (status, body) = raw(
        &fixture,
        Method::POST,
        &path,
        Some(&lead),
        &[("if-match", "\"1\"")],
        Some(approve),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    for (bad, field) in [
        ("{not json", "malformed"),
        (r#"{"verdict":"maybe"}"#, "verdict"),
        (r#"{"verdict":"approve","comment":5}"#, "comment"),
        (r#"{"verdict":"approve","extra":1}"#, "extra"),
    ] {
        let (status, body) = raw(
            &fixture,
            Method::POST,
            &path,
            Some(&lead),
            &[("if-match", "\"1\""), ("idempotency-key", "k-bad")],
            Some(bad),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(field)),
            "{bad}: {body}"
        );
    }
    let huge = format!(
        r#"{{"verdict":"approve","comment":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    // The server answers 413 as soon as it sees the length; it may close the
    // connection before the client has finished writing, which the client
    // sees as a failed send. Either way nothing is decided.
    let oversized = reqwest::Client::new()
        .post(format!("{}{path}", fixture.server.url))
        .bearer_auth(&lead)
        .header("if-match", "\"1\"")
        .header("idempotency-key", "k-huge")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await;
    match oversized {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(err) => assert!(err.is_request(), "{err}"),
    }
    let untouched = fixture
        .client(common::LEAD)
        .workflow(&workflow.workflow_id)
        .await
        .expect("workflow");
    assert_eq!(
        untouched.version, 1,
        "the oversized request decided nothing"
    );

    // The first decision, then its replay: the same answer, byte for byte.
    let client = reqwest::Client::new();
    let send = |key: &'static str, body: &'static str, version: &'static str| {
        client
            .post(format!("{}{path}", fixture.server.url))
            .bearer_auth(&lead)
            .header("if-match", version)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let first = send("k-ok", approve, "\"1\"").await.expect("send");
    assert_eq!(first.status().as_u16(), 200);
    let first = first.bytes().await.expect("bytes");
    let replay = send("k-ok", approve, "\"1\"").await.expect("send");
    assert_eq!(replay.status().as_u16(), 200);
    assert_eq!(replay.bytes().await.expect("bytes"), first);
    let other_body = send(
        "k-ok",
        r#"{"verdict":"approve","comment":"different"}"#,
        "\"1\"",
    )
    .await
    .expect("send");
    assert_eq!(other_body.status().as_u16(), 422);
    let stale = send("k-stale", approve, "\"1\"").await.expect("send");
    assert_eq!(stale.status().as_u16(), 412);
    let (status, body) = raw(
        &fixture,
        Method::POST,
        &format!("/v1/workflows/{}/steps/2/decision", workflow.workflow_id),
        Some(&lead),
        &[("if-match", "\"2\""), ("idempotency-key", "k-twice")],
        Some(approve),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_role")),
        "{body}"
    );
    let all = fixture.token(common::ALL_ROLES);
    let second = pending_workflow(&fixture, "agt-raw-2").await;
    let path2 = format!("/v1/workflows/{}/steps/1/decision", second.workflow_id);
    assert_eq!(
        raw(
            &fixture,
            Method::POST,
            &path2,
            Some(&all),
            &[("if-match", "\"1\""), ("idempotency-key", "a-1")],
            Some(approve)
        )
        .await
        .0,
        200
    );
    let path2b = format!("/v1/workflows/{}/steps/2/decision", second.workflow_id);
    let (status, body) = raw(
        &fixture,
        Method::POST,
        &path2b,
        Some(&all),
        &[("if-match", "\"2\""), ("idempotency-key", "a-2")],
        Some(approve),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("already_decided_a_step")),
        "{body}"
    );

    let (status, body) = raw(&fixture, Method::GET, "/v1/openapi.json", None, &[], None).await;
    assert_eq!(status, 200);
    assert!(
        body["paths"]["/v1/workflows/{id}/steps/{step_id}/decision"]["post"].is_object(),
        "{body}"
    );
    assert_eq!(
        raw(&fixture, Method::GET, "/v1/nowhere", Some(&lead), &[], None)
            .await
            .0,
        404
    );
    let (status, body) = raw(
        &fixture,
        Method::GET,
        "/v1/queue?risk=extreme",
        Some(&lead),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("risk")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_deciding_the_same_step_one_wins() {
    use common::conformance::Fixture;
    let fixture = HttpFixture::new();
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    fixture.add_user("lead2@example.com", &[Role::TechnicalLead]);
    let workflow = pending_workflow(&fixture, "agt-race").await;
    let decide = |email: &str| {
        let client = fixture.client(email);
        let decision = Decision {
            workflow_id: workflow.workflow_id.clone(),
            step_id: 1,
            verdict: Verdict::Approve,
            comment: Some(format!("by {email}")),
            expected_version: workflow.version,
            idempotency_key: Decision::new_key(),
            decision_at: None,
            on_behalf_of: None,
        };
        async move { client.decide(&decision).await }
    };
    let (a, b) = tokio::join!(decide(common::LEAD), decide("lead2@example.com"));
    let wins = [&a, &b].iter().filter(|result| result.is_ok()).count();
    assert_eq!(wins, 1, "{a:?} / {b:?}");
    let loser = if a.is_err() { a } else { b };
    assert!(
        matches!(
            loser,
            Err(BackendError::Refused(DecisionError::StaleVersion { .. }))
        ),
        "{loser:?}"
    );
    let trail = fixture
        .client(common::LEAD)
        .trail("workflow", &workflow.workflow_id)
        .await
        .expect("trail");
    assert_eq!(
        trail
            .iter()
            .filter(|event| event.entry.action == "step_approved")
            .count(),
        1
    );
}

#[test]
fn the_cli_works_over_url_and_keeps_the_token_out_of_errors() {
    let fixture = HttpFixture::new();
    let token = fixture
        .store
        .add_user(common::LEAD, "Lead", &[Role::TechnicalLead])
        .expect("user");
    let owner = fixture
        .store
        .add_user("maya.rossi@northwind.example", "Maya", &[])
        .expect("user");
    let witness_dir = fixture._dir.path().join("witness");
    let gavel = || {
        let mut command = assert_cmd::Command::cargo_bin("gavel").expect("binary");
        command
            .arg("--url")
            .arg(&fixture.server.url)
            .env("GAVEL_WITNESS_DIR", &witness_dir)
            .env_remove("GAVEL_DB")
            .arg("--config")
            .arg("/dev/null");
        command
    };
    let output = gavel()
        .env("GAVEL_TOKEN", &owner)
        .args(["deploy", "request", "--json"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/needs-approval.json"
        ))
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let queue = gavel()
        .env("GAVEL_TOKEN", &token)
        .args(["queue", "--json"])
        .output()
        .expect("run");
    let items: serde_json::Value = serde_json::from_slice(&queue.stdout).expect("json");
    assert!(!items.as_array().expect("array").is_empty());
    let wrong = gavel()
        .env("GAVEL_TOKEN", "gvl_secret_wrong_token")
        .args(["queue"])
        .output()
        .expect("run");
    assert_eq!(wrong.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("unknown or revoked token") && !stderr.contains("gvl_secret_wrong_token"),
        "{stderr}"
    );
    let plain = assert_cmd::Command::cargo_bin("gavel")
        .expect("binary")
        .args([
            "--url",
            "http://example.com",
            "--config",
            "/dev/null",
            "queue",
        ])
        .env("GAVEL_TOKEN", &token)
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&plain.stderr).contains("use https://"));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let fixture = HttpFixture::new();
    let mut fixture = fixture;
    let pid = fixture.server.child.id();
    assert!(
        Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .expect("kill")
            .success()
    );
    // Killed by the signal's default action it would not exit 0.
    let status = fixture.server.child.wait().expect("wait");
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_pages_by_cursor_with_the_rows_it_touched() {
    use common::conformance::Fixture;
    use gavel::backend::local::feed::ChangePage;
    let fixture = HttpFixture::new();
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    let workflow = pending_workflow(&fixture, "agt-feed").await;
    let lead = fixture.client(common::LEAD);
    let decided = lead
        .decide(&Decision {
            workflow_id: workflow.workflow_id.clone(),
            step_id: 1,
            verdict: Verdict::Approve,
            comment: None,
            expected_version: workflow.version,
            idempotency_key: Decision::new_key(),
            decision_at: None,
            on_behalf_of: None,
        })
        .await
        .expect("decide");
    let token = fixture.token(common::LEAD);
    let page = |since: i64, limit: u32| {
        let url = format!(
            "{}/v1/changes?since={since}&limit={limit}",
            fixture.server.url
        );
        let token = token.clone();
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status().as_u16(), 200);
            response.json::<ChangePage>().await.expect("a change page")
        }
    };
    let all = page(0, 10_000).await;
    assert!(all.changes.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(all.next, all.changes.last().expect("changes").seq);
    assert_eq!(all.head, all.next);
    let row = all
        .entities
        .workflows
        .iter()
        .find(|w| w.workflow_id == workflow.workflow_id)
        .expect("the workflow's row");
    assert_eq!(
        row.version, decided.version,
        "rows are current, not as of the change"
    );
    assert!(
        all.entities
            .agents
            .iter()
            .any(|agent| agent.agent_id == "agt-feed")
    );
    assert!(
        all.entities
            .deployments
            .iter()
            .any(|d| d.workflow_ids.contains(&workflow.workflow_id))
    );

    // Page by page, the cursor walks every change exactly once.
    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let next = page(cursor, 2).await;
        if next.changes.is_empty() {
            assert_eq!(next.next, cursor, "an empty page keeps the cursor");
            break;
        }
        seen.extend(next.changes.iter().map(|change| change.seq));
        cursor = next.next;
    }
    assert_eq!(
        seen,
        all.changes
            .iter()
            .map(|change| change.seq)
            .collect::<Vec<_>>()
    );
    let (status, _) = raw(
        &fixture,
        reqwest::Method::GET,
        "/v1/changes?since=-5",
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_built_from_snapshot_pages_then_the_feed_matches_the_server() {
    use common::conformance::Fixture;
    use gavel::backend::local::LocalBackend;
    use gavel::backend::local::feed::{ChangePage, SNAPSHOT_TABLES, SnapshotPage};
    use gavel::backend::{QueueFilter, QueueQuery, QueueSort};
    let fixture = HttpFixture::seeded(600);
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    let token = fixture.token(common::LEAD);
    let get = |path: String| {
        let url = format!("{}{path}", fixture.server.url);
        let token = token.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("send")
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mirror = LocalStore::open(&dir.path().join("mirror.db")).expect("mirror");
    let mut head = None;
    for table in SNAPSHOT_TABLES {
        let mut after = String::new();
        loop {
            let page: SnapshotPage = get(format!("/v1/snapshot/{table}?after={after}&limit=100"))
                .await
                .json()
                .await
                .expect("page");
            head.get_or_insert(page.head);
            mirror.apply_snapshot(&page).expect("apply");
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
    }
    mirror
        .set_sync_cursor(head.expect("a head"))
        .expect("cursor");

    // Work goes on on the server; the mirror follows the feed.
    fixture.add_user(common::REQUESTER, &[]);
    let request = fixture
        .client(common::REQUESTER)
        .request_deployment(&common::confidential("agt-after-snapshot"))
        .await
        .expect("request");
    let cursor = mirror.sync_cursor().expect("cursor");
    let page: ChangePage = get(format!("/v1/changes?since={cursor}&limit=1000"))
        .await
        .json()
        .await
        .expect("changes");
    mirror.apply_changes(&page).expect("apply changes");

    let everyone = QueueQuery::first(QueueFilter::everything(), QueueSort::Risk, 500);
    let on_server = LocalBackend::new(Arc::clone(&fixture.store), None)
        .queue(&everyone)
        .await
        .expect("queue");
    let on_mirror = LocalBackend::new(Arc::clone(&mirror), None)
        .queue(&everyone)
        .await
        .expect("queue");
    assert!(
        on_mirror
            .items
            .iter()
            .any(|item| item.workflow_id == request.workflow_ids[0])
    );
    assert_eq!(on_mirror, on_server);
    assert_eq!(
        get("/v1/snapshot/users".into()).await.status().as_u16(),
        422
    );
}

/// A draft's answers travel to its reviewer only: the review routes, the
/// change feed and the snapshot pages give every other token holder what
/// that holder may read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_never_leave_the_server_for_anyone_but_their_reviewer() {
    use common::conformance::Fixture;
    use reqwest::Method;
    let fixture = HttpFixture::new();
    for (email, roles) in [
        (common::REQUESTER, vec![]),
        (common::LEAD, vec![Role::TechnicalLead]),
        (common::ML, vec![Role::MlEngineer]),
        (common::ETHICS, vec![Role::EthicsReviewer]),
        (common::COMPLIANCE, vec![Role::ComplianceOfficer]),
    ] {
        fixture.add_user(email, &roles);
    }
    let requester = fixture.client(common::REQUESTER);
    requester
        .request_deployment(&common::hr("agt-secret"))
        .await
        .expect("blocked first");
    fixture
        .client(common::ML)
        .record_audit(&gavel::domain::bias::AuditSubmission {
            agent_id: "agt-secret".into(),
            agent_version: "1.0.0".into(),
            tested_at: None,
            groups: vec![
                gavel::domain::GroupCounts {
                    group: "a".into(),
                    positive: 50,
                    total: 100,
                },
                gavel::domain::GroupCounts {
                    group: "b".into(),
                    positive: 48,
                    total: 100,
                },
            ],
            attributes: Vec::new(),
            mode: Default::default(),
            source: None,
            threshold: None,
        })
        .await
        .expect("audit");
    let request = requester
        .request_deployment(&common::hr("agt-secret"))
        .await
        .expect("request");
    let review = fixture
        .client(common::COMPLIANCE)
        .assign_review(&request.workflow_ids[0], common::ETHICS)
        .await
        .expect("assign");
    let mut answers = gavel::domain::Answers::new();
    answers.insert(
        "risks_and_mitigations".into(),
        serde_json::json!("SECRET-DRAFT-TEXT"),
    );
    fixture
        .client(common::ETHICS)
        .save_review_draft(&review.review_id, &answers, None)
        .await
        .expect("draft");
    let read = |email: &str, path: String| {
        let token = fixture.token(email);
        let fixture = &fixture;
        async move {
            let (status, body) = raw(fixture, Method::GET, &path, Some(&token), &[], None).await;
            (status, body.to_string())
        }
    };
    let routes = [
        format!("/v1/reviews/{}", review.review_id),
        format!("/v1/workflows/{}/review", request.workflow_ids[0]),
        "/v1/changes?since=0&limit=5000".to_owned(),
        "/v1/snapshot/reviews?limit=5000".to_owned(),
    ];
    for route in &routes {
        let (status, body) = read(common::ETHICS, route.clone()).await;
        assert_eq!(status, 200, "{route}");
        assert!(
            body.contains("SECRET-DRAFT-TEXT"),
            "the reviewer reads it: {route}"
        );
        for other in [common::LEAD, common::COMPLIANCE, common::REQUESTER] {
            let (status, body) = read(other, route.clone()).await;
            assert!(
                !body.contains("SECRET-DRAFT-TEXT"),
                "{other} read a draft through {route}"
            );
            // Who holds the review and its state are no secret.
            assert_eq!(status, 200, "{other} {route}");
        }
    }
    let (_, officer) = read(common::COMPLIANCE, routes[0].clone()).await;
    assert!(officer.contains("\"status\":\"draft\""), "{officer}");
    let (_, lead) = read(common::LEAD, routes[1].clone()).await;
    assert!(
        lead.contains("\"status\":\"draft\"") && lead.contains(common::ETHICS),
        "{lead}"
    );
}

/// A removed user's token, and a rotated-away token, stop at the door.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_and_rotated_tokens_are_refused_at_once() {
    use common::conformance::Fixture;
    use reqwest::Method;
    let fixture = HttpFixture::new();
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    fixture.add_user(common::STEWARD, &[Role::DataSteward]);
    let old = fixture.token(common::LEAD);
    assert_eq!(
        raw(&fixture, Method::GET, "/v1/me", Some(&old), &[], None)
            .await
            .0,
        200
    );
    let new = fixture
        .store
        .rotate_token("admin", common::LEAD)
        .expect("rotate");
    assert_eq!(
        raw(&fixture, Method::GET, "/v1/me", Some(&old), &[], None)
            .await
            .0,
        401
    );
    assert_eq!(
        raw(&fixture, Method::GET, "/v1/me", Some(&new), &[], None)
            .await
            .0,
        200
    );
    let steward = fixture.token(common::STEWARD);
    fixture.remove_user(common::STEWARD);
    let (status, body) = raw(
        &fixture,
        Method::GET,
        "/v1/queue",
        Some(&steward),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 401, "{body}");
}

/// The log's routes: the pinned key opens the server's checkpoints, a
/// later checkpoint comes with a consistency proof from an earlier one, and
/// an event's inclusion proof checks against the root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_proofs_over_http_verify_with_the_pinned_key() {
    use common::conformance::Fixture;
    use gavel::domain::checkpoint;
    use tlog_tiles::tlog;
    let fixture = HttpFixture::new();
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    let client = fixture.client(common::LEAD);
    let key = client.log_key().await.expect("key");
    let first = pending_workflow(&fixture, "agt-log").await;
    let earlier = checkpoint::open(&client.log_checkpoint().await.expect("checkpoint"), &key)
        .expect("signed by the pinned key");
    client
        .decide(&Decision {
            workflow_id: first.workflow_id.clone(),
            step_id: 1,
            verdict: Verdict::Approve,
            comment: None,
            expected_version: first.version,
            idempotency_key: Decision::new_key(),
            decision_at: None,
            on_behalf_of: None,
        })
        .await
        .expect("decide");
    let later = checkpoint::open(&client.log_checkpoint().await.expect("checkpoint"), &key)
        .expect("signed");
    assert!(
        later.size > earlier.size,
        "{} vs {}",
        later.size,
        earlier.size
    );
    let hex = |hashes: Vec<String>| -> Vec<tlog::Hash> {
        hashes
            .iter()
            .map(|text| gavel::domain::merkle::from_hex(text).expect("a hash"))
            .collect()
    };
    let proof = hex(client
        .log_consistency(earlier.size, later.size)
        .await
        .expect("proof"));
    checkpoint::check_consistent(&earlier, &later, &proof).expect("consistent");
    // A proof for the wrong pair does not pass.
    let wrong = hex(client.log_consistency(1, later.size).await.expect("proof"));
    assert!(checkpoint::check_consistent(&earlier, &later, &wrong).is_err());
    // Another key does not open the server's checkpoint.
    let (_, stranger) = checkpoint::generate_key(&later.origin);
    assert!(checkpoint::open(&later.note, &stranger).is_err());
}

/// Every client is a witness: the CLI pins the server's log key and
/// remembers the last checkpoint; a log truncated between two runs, or a
/// replaced key, stops it with exit 6; the console shows the same warning
/// on its status line; `trail trust --reset` re-pins after a person checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_witness_the_log_and_warn_when_it_does_not_hold() {
    use common::conformance::Fixture;
    let mut fixture = HttpFixture::new();
    fixture.add_user(common::LEAD, &[Role::TechnicalLead]);
    let witness_dir = fixture._dir.path().join("witness");
    let token = fixture.token(common::LEAD);
    let gavel = |url: &str, args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
            .args(["--url", url, "--config", "/dev/null"])
            .args(args)
            .env("GAVEL_TOKEN", &token)
            .env("GAVEL_WITNESS_DIR", &witness_dir)
            .env_remove("GAVEL_DB")
            .output()
            .expect("run");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let url = fixture.server.url.clone();
    // First contact pins; growth with a consistency proof is accepted.
    let workflow = pending_workflow(&fixture, "agt-witness").await;
    assert_eq!(gavel(&url, &["queue", "--json"]).0, Some(0));
    fixture
        .client(common::LEAD)
        .decide(&Decision {
            workflow_id: workflow.workflow_id.clone(),
            step_id: 1,
            verdict: Verdict::Approve,
            comment: None,
            expected_version: workflow.version,
            idempotency_key: Decision::new_key(),
            decision_at: None,
            on_behalf_of: None,
        })
        .await
        .expect("decide");
    assert_eq!(gavel(&url, &["queue", "--json"]).0, Some(0));

    // The server's store loses its newest events between two runs.
    fixture.server.stop();
    {
        let conn = rusqlite::Connection::open(&fixture.server.db).expect("open");
        conn.execute_batch(
            "DROP TRIGGER trail_no_delete;
             DELETE FROM trail WHERE seq > (SELECT MAX(seq) - 2 FROM trail);
             DELETE FROM log_hashes; DELETE FROM checkpoints;",
        )
        .expect("truncate");
        gavel::backend::local::log::backfill(&gavel::db::Connection::sqlite(&conn))
            .expect("rebuild the log");
    }
    fixture.server.restart();
    let (code, stderr) = gavel(&url, &["queue", "--json"]);
    assert_eq!(code, Some(6), "{stderr}");
    assert!(
        stderr.contains("WITNESS WARNING") && stderr.contains("the log shrank"),
        "{stderr}"
    );
    // The console opens, and says so on its status line for as long as it runs.
    let warning =
        match gavel::backend::witness::witness(&fixture.client(common::LEAD), &witness_dir).await {
            Err(err) => err.to_string(),
            Ok(_) => panic!("the witness must refuse a shrunk log"),
        };
    let mut harness = common::harness::Harness::build(
        110,
        12,
        gavel::tui::theme::Theme::load("default", None).expect("theme"),
        false,
        false,
    )
    .await;
    harness.app.config.witness_warning = Some(warning);
    let screen = harness.screen();
    let status = screen.lines().last().expect("status line").to_owned();
    assert!(status.contains("⚠ LOG NOT VERIFIED"), "{screen}");
    insta::assert_snapshot!("witness_warning_status_line", status);

    // A replaced key is a witness error too, never a silent re-pin.
    gavel(&url, &["trail", "trust", "--reset", &url]);
    assert_eq!(gavel(&url, &["queue", "--json"]).0, Some(0), "re-pinned");
    fixture.server.stop();
    let key = gavel::backend::local::logkey::default_path(&fixture.server.db);
    std::fs::remove_file(&key).expect("remove key");
    gavel::backend::local::logkey::create(&key, &fixture.server.db).expect("new key");
    rusqlite::Connection::open(&fixture.server.db)
        .expect("open")
        .execute("DELETE FROM checkpoints", [])
        .expect("forget checkpoints");
    fixture.server.restart();
    let (code, stderr) = gavel(&url, &["queue", "--json"]);
    assert_eq!(code, Some(6), "{stderr}");
    assert!(stderr.contains("log key changed"), "{stderr}");
    assert!(stderr.contains("gavel trail trust --reset"), "{stderr}");
    let (code, _) = gavel(&url, &["trail", "trust", "--reset", &url]);
    assert_eq!(code, Some(0));
    assert_eq!(gavel(&url, &["queue", "--json"]).0, Some(0));
}

/// The server signs checkpoints by itself, as `[log]` in its config says:
/// here within a second of a change, without anyone asking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_signs_checkpoints_as_its_config_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("signed.db");
    let store = LocalStore::open(&db).expect("store");
    let token = store.add_user(common::REQUESTER, "Dev", &[]).expect("user");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[log]\ncheckpoint_every_events = 100000\ncheckpoint_every_seconds = 1\n",
    )
    .expect("config");
    let server = Server::start_with_config(&db, &config);
    let client = HttpBackend::new(&server.url, Token::new(token)).expect("client");
    client
        .request_deployment(&common::confidential("agt-signed"))
        .await
        .expect("request");
    let head: i64 = store
        .read(|conn| {
            Ok(
                conn.query_row("SELECT MAX(seq) FROM trail", gavel::db::params![], |row| {
                    row.get(0)
                })?,
            )
        })
        .expect("head");
    let mut signed = 0;
    for _ in 0..100 {
        signed = store
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT COALESCE(MAX(size), 0) FROM checkpoints",
                    gavel::db::params![],
                    |row| row.get::<i64>(0),
                )?)
            })
            .expect("checkpoints");
        if signed == head {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        signed, head,
        "a checkpoint of the whole log, signed unasked"
    );
}
