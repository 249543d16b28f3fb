//! Signing in with a real, certified OpenID provider (`oidc-provider`, run
//! by Node.js on loopback): the CLI through the whole device flow and the
//! browser flow with PKCE, roles from the directory's groups, a removed
//! group losing its role at the next token, sign-out revoking at the
//! provider, identities linked so separation of duties holds across them,
//! and a session that cannot be renewed keeping the outbox until the
//! person signs in again.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::oidc::{Provider, group_of};
use common::server::Server;
use gavel::auth::keeper::SessionKeeper;
use gavel::auth::session::CredentialStore;
use gavel::backend::cache::CachedBackend;
use gavel::backend::http::{Credentials, HttpBackend, Token};
use gavel::backend::{BackendError, GovernanceBackend, QueueFilter, QueueQuery, QueueSort};
use gavel::domain::Verdict;

/// How long the short-lived access tokens live, in seconds.
const SHORT_TTL: u64 = 4;

/// Longer than a short token's renewable life (three quarters of it):
/// the next request renews it.
const PAST_RENEWAL: Duration = Duration::from_millis(3500);

/// A provider, a server trusting it, and a client's directories.
struct Setup {
    provider: Provider,
    server: Server,
    db: PathBuf,
    dir: tempfile::TempDir,
}

impl Setup {
    /// `accounts`: (account id = subject, email, groups).
    fn start(
        accounts: &[(&str, &str, &[&str])],
        access_ttl: u64,
        prepare: impl FnOnce(&Path),
    ) -> Setup {
        Setup::start_with(
            accounts,
            &[("GAVEL_TEST_ACCESS_TTL", &access_ttl.to_string())],
            prepare,
        )
    }

    /// As `start`, with the provider's environment given whole.
    fn start_with(
        accounts: &[(&str, &str, &[&str])],
        provider_env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let directory: serde_json::Map<String, serde_json::Value> = accounts
            .iter()
            .map(|(id, email, groups)| {
                (
                    (*id).to_owned(),
                    serde_json::json!({ "email": email, "name": id, "groups": groups }),
                )
            })
            .collect();
        let provider = Provider::start_with(dir.path(), directory.into(), provider_env);
        let db = dir.path().join("served.db");
        common::gavel(&db)
            .args(["store", "init"])
            .assert()
            .success();
        prepare(&db);
        let config = dir.path().join("server.toml");
        std::fs::write(&config, provider.server_config()).expect("config");
        let server = Server::start_with_config(&db, &config);
        Setup {
            provider,
            server,
            db,
            dir,
        }
    }

    /// Erin, a technical lead of team People at the provider (tokens of
    /// 4 s, renewed a second before they run out), and a step waiting for
    /// her.
    fn with_a_step_for_erin() -> Setup {
        let lead = group_of("technical_lead");
        let manifests = tempfile::tempdir().expect("tempdir");
        Setup::start(
            &[("erin", "erin@example.com", &[lead.as_str(), "team-people"])],
            SHORT_TTL,
            |db| {
                common::gavel(db)
                    .args([
                        "users",
                        "add",
                        "owner@example.com",
                        "--roles",
                        "ml_engineer",
                    ])
                    .args(["--teams", "People"])
                    .assert()
                    .success();
                request_confidential_agent(db, manifests.path(), "owner@example.com");
            },
        )
    }

    fn sessions(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    fn credential_store(&self) -> CredentialStore {
        CredentialStore::Files(self.sessions())
    }

    /// The CLI as a person on this machine runs it against the server.
    fn cli(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gavel"));
        command
            .args(["--url", &self.server.url])
            .env("GAVEL_CONFIG", "/dev/null")
            .env("GAVEL_SESSION_DIR", self.sessions())
            .env("GAVEL_CREDENTIALS", "file")
            .env("GAVEL_CACHE_DIR", self.dir.path().join("cache"))
            .env("GAVEL_WITNESS_DIR", self.dir.path().join("witness"))
            .env_remove("GAVEL_TOKEN")
            .env_remove("GAVEL_URL")
            .env_remove("GAVEL_DB")
            .env_remove("GAVEL_USER");
        command
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.cli().args(args).output().expect("run gavel")
    }

    /// `gavel auth login`, acting at the provider as `account` when the
    /// CLI shows the code or the URL; the CLI's exit status and stderr.
    async fn login(&self, args: &[&str], account: &str, abort: bool) -> (i32, String) {
        let mut child = self
            .cli()
            .args(["auth", "login"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gavel auth login");
        let stderr = child.stderr.take().expect("stderr");
        let (lines, mut seen) = (std::sync::mpsc::channel::<String>(), String::new());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.0.send(line).is_err() {
                    break;
                }
            }
        });
        let mut acted = false;
        loop {
            let line =
                tokio::task::block_in_place(|| lines.1.recv_timeout(Duration::from_secs(30)));
            let Ok(line) = line else { break };
            seen.push_str(&line);
            seen.push('\n');
            if acted {
                continue;
            }
            if let Some(rest) = line.strip_prefix("and enter the code ") {
                let code = rest.split(' ').next().unwrap_or_default().to_owned();
                self.provider.approve(&code, account, abort).await;
                acted = true;
            } else if let Some(url) = line.strip_prefix("Sign in in your browser: ") {
                self.provider.authorize(url, account).await;
                acted = true;
            }
        }
        let status = tokio::task::block_in_place(|| child.wait()).expect("wait");
        (status.code().unwrap_or(-1), seen)
    }

    fn trail(&self) -> Vec<(String, String, serde_json::Value)> {
        let conn = rusqlite::Connection::open(&self.db).expect("store");
        let mut statement = conn
            .prepare("SELECT actor, action, details FROM trail ORDER BY seq")
            .expect("trail");
        statement
            .query_map([], |row| {
                let details: String = row.get(2)?;
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    serde_json::from_str(&details).unwrap_or_default(),
                ))
            })
            .expect("rows")
            .map(|row| row.expect("row"))
            .collect()
    }

    async fn signed_in(&self, account: &str) -> HttpBackend {
        let session = self.provider.sign_in(&self.server.url, account).await;
        let keeper = SessionKeeper::new(session, self.credential_store()).expect("keeper");
        HttpBackend::with_credentials(&self.server.url, Credentials::SignIn(keeper))
            .expect("client")
    }
}

/// Requests an agent of team People that reads confidential data (a
/// technical lead, then a data steward, must sign off) as `owner`, on the
/// embedded store.
fn request_confidential_agent(db: &Path, dir: &Path, owner: &str) {
    let manifest = dir.join("support.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": "agt-support", "name": "Support", "team": "People", "owner": owner,
            "category": "customer_service", "data_classification": "confidential",
            "has_external_tools": false, "risk_tier": "low", "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    common::gavel(db)
        .args(["--user", owner, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn status_json(setup: &Setup) -> serde_json::Value {
    let output = setup.run(&["auth", "status", "--json"]);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", text(&output)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_the_device_flow_and_the_directory_decides_their_roles() {
    // Access tokens live 4 s: the client renews them in their last second,
    // so a command more than 3 s after the last renewal asks for a new one.
    let compliance = group_of("compliance_officer");
    let setup = Setup::start(
        &[(
            "alice",
            "alice@example.com",
            &[compliance.as_str(), "team-people"],
        )],
        SHORT_TTL,
        |_| {},
    );
    let (code, stderr) = setup.login(&[], "alice", false).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("To sign in, open "), "{stderr}");
    assert!(
        stderr.contains("as alice <alice@example.com>: roles compliance_officer; teams People"),
        "{stderr}"
    );
    // The sign-in is kept where only its owner can read it.
    let kept: Vec<_> = std::fs::read_dir(setup.sessions())
        .expect("sessions")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(kept.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept[0])
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let status = status_json(&setup);
    assert_eq!(
        status["user"]["roles"],
        serde_json::json!(["compliance_officer"])
    );
    assert_eq!(status["user"]["identity"]["subject"], "alice");
    assert_eq!(status["renewable"], true);

    // A decision records the identity as the provider asserted it.
    let approved = setup.run(&["tools", "approve", "web-search", "--comment", "reviewed"]);
    assert!(approved.status.success(), "{}", text(&approved));
    let trail = setup.trail();
    let (actor, _, details) = trail
        .iter()
        .find(|(_, action, _)| action == "tool_approved")
        .expect("the decision is in the trail");
    assert_eq!(actor, "alice@example.com");
    assert_eq!(
        details["identity"]["issuer"],
        setup.provider.issuer.as_str()
    );
    assert_eq!(details["identity"]["subject"], "alice");
    assert_eq!(details["identity"]["email"], "alice@example.com");

    // The directory takes the group away: at her next token she no longer
    // holds the role (the window is the access token's lifetime).
    setup.provider.set_groups("alice", &["team-people"]).await;
    tokio::time::sleep(PAST_RENEWAL).await;
    let refused = setup.run(&["tools", "approve", "code-runner", "--comment", "reviewed"]);
    assert_eq!(refused.status.code(), Some(5), "{}", text(&refused));
    assert_eq!(status_json(&setup)["user"]["roles"], serde_json::json!([]));
    assert!(
        setup
            .trail()
            .iter()
            .any(|(actor, action, details)| actor.starts_with("directory")
                && action == "user_updated"
                && details["roles"]["to"] == serde_json::json!([])),
        "the directory's change is in the trail"
    );

    // Signing out revokes at the provider and deletes the kept copy.
    let kept_session: gavel::auth::session::Session =
        serde_json::from_str(&std::fs::read_to_string(&kept[0]).expect("session")).expect("json");
    let logout = setup.run(&["auth", "logout"]);
    assert!(
        text(&logout).contains("the identity provider revoked the sign-in"),
        "{}",
        text(&logout)
    );
    assert!(!kept[0].exists());
    let after = setup.run(&["auth", "status"]);
    assert_eq!(after.status.code(), Some(1));
    assert!(text(&after).contains("not signed in"), "{}", text(&after));
    let refresh = kept_session.refresh_token.expect("a refresh token");
    assert!(
        !setup.provider.refreshes(&refresh).await,
        "the provider revoked it"
    );
    // Commands now say how to sign in.
    let queue = setup.run(&["queue"]);
    assert!(
        text(&queue).contains("gavel auth login"),
        "{}",
        text(&queue)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_flow_with_pkce_signs_in_when_asked() {
    let lead = group_of("technical_lead");
    let setup = Setup::start(&[("bob", "bob@example.com", &[lead.as_str()])], 300, |_| {});
    let (code, stderr) = setup.login(&["--browser"], "bob", false).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("code_challenge_method=S256"),
        "PKCE: {stderr}"
    );
    assert!(stderr.contains("roles technical_lead"), "{stderr}");
    assert_eq!(status_json(&setup)["user"]["email"], "bob@example.com");
}

/// The saved session's access token.
fn kept_access_token(setup: &Setup) -> String {
    let kept: Vec<_> = std::fs::read_dir(setup.sessions())
        .expect("sessions")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(kept.len(), 1, "one kept sign-in");
    let session: gavel::auth::session::Session =
        serde_json::from_str(&std::fs::read_to_string(&kept[0]).expect("session")).expect("json");
    session.access_token
}

/// A standards-following provider gives a browser sign-in a refresh token
/// only when it asked for consent; tokens shorter than a minute are
/// renewed late in their life, not at every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_sign_in_asks_consent_and_short_tokens_renew_late() {
    let lead = group_of("technical_lead");
    let setup = Setup::start(
        &[("bob", "bob@example.com", &[lead.as_str()])],
        SHORT_TTL,
        |_| {},
    );
    let (code, stderr) = setup.login(&["--browser"], "bob", false).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("prompt=consent"), "{stderr}");
    let status = status_json(&setup);
    assert_eq!(status["signed_in"], true, "{status}");
    assert_eq!(status["renewable"], true, "a refresh token came back");
    let first = kept_access_token(&setup);
    assert_eq!(status_json(&setup)["signed_in"], true);
    assert_eq!(
        kept_access_token(&setup),
        first,
        "a fresh 4 s token is not renewed at every request"
    );
    tokio::time::sleep(PAST_RENEWAL).await;
    assert_eq!(status_json(&setup)["signed_in"], true);
    assert_ne!(kept_access_token(&setup), first, "renewed late in its life");
}

/// Without a refresh token a sign-in holds until its token runs out, then
/// asks the person to sign in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_without_a_refresh_token_lasts_until_its_token_runs_out() {
    let lead = group_of("technical_lead");
    let ttl = SHORT_TTL.to_string();
    let setup = Setup::start_with(
        &[("bob", "bob@example.com", &[lead.as_str()])],
        &[
            ("GAVEL_TEST_ACCESS_TTL", ttl.as_str()),
            ("GAVEL_TEST_REFRESH", "never"),
        ],
        |_| {},
    );
    let (code, stderr) = setup.login(&["--browser"], "bob", false).await;
    assert_eq!(code, 0, "{stderr}");
    let status = status_json(&setup);
    assert_eq!(status["signed_in"], true, "{status}");
    assert_eq!(status["renewable"], false);
    tokio::time::sleep(Duration::from_secs(SHORT_TTL) + Duration::from_millis(500)).await;
    let output = setup.run(&["auth", "status", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(status["signed_in"], false);
    assert!(
        status["error"]
            .as_str()
            .is_some_and(|error| error.contains("gavel auth login")),
        "{status}"
    );
}

/// A sign-in the server refuses (here: an identity claiming a service
/// account's email) leaves no session behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_the_server_refuses_keeps_nothing() {
    let setup = Setup::start(&[("gate", "gate@example.com", &[])], 300, |db| {
        common::gavel(db)
            .args([
                "users",
                "add",
                "gate@example.com",
                "--service",
                "--roles",
                "technical_lead",
            ])
            .assert()
            .success();
    });
    let (code, stderr) = setup.login(&["--browser"], "gate", false).await;
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("refuses"), "{stderr}");
    assert!(
        !setup.sessions().exists()
            || std::fs::read_dir(setup.sessions())
                .expect("dir")
                .next()
                .is_none(),
        "no session is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_sign_in_is_said_plainly_and_keeps_nothing() {
    let setup = Setup::start(&[("carol", "carol@example.com", &[])], 300, |_| {});
    let (code, stderr) = setup.login(&[], "carol", true).await;
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("declined"), "{stderr}");
    assert!(
        !setup.sessions().exists()
            || std::fs::read_dir(setup.sessions())
                .expect("dir")
                .next()
                .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separation_of_duties_holds_across_a_gavel_token_and_the_providers_identity() {
    let lead = group_of("technical_lead");
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = Setup::start(
        &[
            (
                "dana-subject",
                "dana@example.com",
                &[lead.as_str(), "team-people"],
            ),
            // Someone else at the provider whose email claim is Dana's.
            ("mallory", "dana@example.com", &[lead.as_str()]),
        ],
        300,
        |db| {
            // Before the provider: Dana has a Gavel user and requests an
            // agent of her team's.
            common::gavel(db)
                .args([
                    "users",
                    "add",
                    "dana@example.com",
                    "--roles",
                    "technical_lead",
                    "--teams",
                    "People",
                ])
                .assert()
                .success();
            request_confidential_agent(db, dir.path(), "dana@example.com");
        },
    );
    // Not yet linked: Gavel never joins people by email alone.
    let unlinked = setup.signed_in("dana-subject").await.me().await;
    assert!(
        matches!(&unlinked, Err(BackendError::Unauthenticated(message)) if message.contains("not linked to this sign-in")),
        "{unlinked:?}"
    );
    let linked = common::gavel(&setup.db)
        .args([
            "users",
            "link",
            "dana@example.com",
            "--subject",
            "dana-subject",
            "--issuer",
            &setup.provider.issuer,
        ])
        .output()
        .expect("link");
    assert!(linked.status.success(), "{}", text(&linked));

    let dana = setup.signed_in("dana-subject").await;
    let me = dana.me().await.expect("Dana, linked");
    assert_eq!(me.email, "dana@example.com");
    let workflow_id: String = rusqlite::Connection::open(&setup.db)
        .expect("store")
        .query_row("SELECT workflow_id FROM workflows LIMIT 1", [], |row| {
            row.get(0)
        })
        .expect("Dana's request opened a workflow");
    let workflow = dana.workflow(&workflow_id).await.expect("workflow");
    let decided = dana
        .decide(&common::conformance::decision(
            &workflow,
            Verdict::Approve,
            None,
        ))
        .await;
    assert!(
        matches!(&decided, Err(BackendError::Refused(rule)) if rule.to_string().contains("request")),
        "the requester, signed in, may not approve what she requested with her token: {decided:?}"
    );

    // The other account claiming Dana's email is not Dana.
    let mallory = setup.signed_in("mallory").await.me().await;
    assert!(
        matches!(&mallory, Err(BackendError::Unauthenticated(message)) if message.contains("belongs to another sign-in")),
        "{mallory:?}"
    );
    // Dana's old Gavel token no longer acts for her.
    let token =
        HttpBackend::new(&setup.server.url, Token::new("gvl_unknown".into())).expect("client");
    assert!(token.me().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_cannot_be_renewed_keeps_the_outbox_until_the_person_signs_in_again() {
    let setup = Setup::with_a_step_for_erin();
    let session = setup.provider.sign_in(&setup.server.url, "erin").await;
    let store = setup.credential_store();
    store.save(&session).await.expect("keep the sign-in");
    let keeper = SessionKeeper::new(session.clone(), store.clone()).expect("keeper");
    let remote =
        HttpBackend::with_credentials(&setup.server.url, Credentials::SignIn(keeper.clone()))
            .expect("client");
    let cache = CachedBackend::open(
        remote,
        keeper.fingerprint().to_owned(),
        &setup.dir.path().join("cache"),
        true,
    )
    .await
    .expect("the offline cache");
    let syncer = cache.syncer().expect("a sync loop");
    syncer.pass().await.expect("the first sync");
    let page = cache
        .queue(&QueueQuery::first(
            QueueFilter::default(),
            QueueSort::Age,
            50,
        ))
        .await
        .expect("queue");
    let item = page
        .items
        .first()
        .expect("a step waits for a technical lead")
        .clone();
    let workflow = cache.workflow(&item.workflow_id).await.expect("workflow");

    // An administrator ends Erin's sessions at the provider; her access
    // token is about to run out.
    setup
        .provider
        .revoke(session.refresh_token.as_deref().expect("refresh token"))
        .await;
    tokio::time::sleep(PAST_RENEWAL).await;
    cache
        .decide(&common::conformance::decision(
            &workflow,
            Verdict::Approve,
            Some("fine"),
        ))
        .await
        .expect("decided offline");
    let pass = syncer.pass().await;
    assert!(
        matches!(&pass, Err(BackendError::Unauthenticated(message)) if message.contains("gavel auth login") && message.contains("outbox")),
        "{pass:?}"
    );
    let decided_on_server = || {
        let steps: String = rusqlite::Connection::open(&setup.db)
            .expect("store")
            .query_row(
                "SELECT steps FROM workflows WHERE workflow_id = ?1",
                [&workflow.workflow_id],
                |row| row.get(0),
            )
            .expect("workflow");
        steps.contains("erin@example.com")
    };
    assert!(!decided_on_server(), "nothing reached the server");
    // Still saved in her name while she is away.
    assert!(cache.me().await.is_ok());

    // Erin signs in again (in another terminal): the next pass sends what
    // waited.
    let again = setup.provider.sign_in(&setup.server.url, "erin").await;
    store.save(&again).await.expect("keep");
    syncer.pass().await.expect("a pass after signing in again");
    assert!(
        decided_on_server(),
        "the approval waited in the outbox and reached the server"
    );
}

/// The console, signed in: when the provider ends the sign-in, the status
/// line says to sign in again and decisions wait in the outbox; once the
/// person signs in again (elsewhere), they go.
#[test]
fn the_console_asks_to_sign_in_again_and_keeps_the_outbox_meanwhile() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let setup = Setup::with_a_step_for_erin();
    let store = setup.credential_store();
    let session = runtime.block_on(async {
        let session = setup.provider.sign_in(&setup.server.url, "erin").await;
        store.save(&session).await.expect("keep the sign-in");
        session
    });
    let script = format!(
        "GAVEL_SESSION_DIR={} GAVEL_CREDENTIALS=file GAVEL_WITNESS_DIR={} {} --url {} --cache-dir {} --config /dev/null; echo GAVEL-DONE; sleep 60",
        setup.sessions().display(),
        setup.dir.path().join("witness").display(),
        env!("CARGO_BIN_EXE_gavel"),
        setup.server.url,
        setup.dir.path().join("cache").display()
    );
    let tmux = common::tmux::Tmux::start(&script, 230, 40);
    tmux.wait_for("synced");
    tmux.wait_for("wf-");

    runtime.block_on(
        setup
            .provider
            .revoke(session.refresh_token.as_deref().expect("refresh token")),
    );
    std::thread::sleep(PAST_RENEWAL);
    tmux.send(&["a"]);
    tmux.wait_for("You decide step");
    tmux.send(&["C-s"]);
    tmux.wait_for("Saved; pending sync.");
    tmux.send(&["S"]);
    // The status line says it (and the sync answer, when it comes, in the
    // same few words), keeping the pending count in view.
    tmux.wait_for("signed out: run `gavel auth login");
    tmux.wait_for("1 pending sync");

    runtime.block_on(async {
        let again = setup.provider.sign_in(&setup.server.url, "erin").await;
        store.save(&again).await.expect("keep");
    });
    tmux.send(&["S"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let screen = tmux.screen();
        if screen.contains("synced")
            && !screen.contains("pending sync")
            && !screen.contains("signed out")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never synced:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");
    let approved = setup
        .trail()
        .into_iter()
        .find(|(_, action, _)| action == "step_approved")
        .expect("the approval reached the server");
    assert_eq!(approved.0, "erin@example.com");
    assert_eq!(approved.2["identity"]["subject"], "erin");
}
