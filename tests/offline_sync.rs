//! The offline cache and its sync against a real `gavel serve` on loopback:
//! a server that goes away and comes back, a client killed mid-replay, a
//! lost answer, two consoles deciding the same step, damaged cache files,
//! and malformed change pages.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::conformance::decision;
use common::server::Server;
use gavel::backend::cache::CachedBackend;
use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::sync::plan::EntryState;
use gavel::backend::{BackendError, GovernanceBackend, QueueFilter, QueueQuery, QueueSort};
use gavel::domain::{Role, Verdict, Workflow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LEAD2: &str = "lead2@example.com";

/// A served store with users and workflows waiting on a technical lead.
struct Org {
    store: Arc<LocalStore>,
    server: Server,
    tokens: std::collections::HashMap<String, String>,
    dir: tempfile::TempDir,
}

impl Org {
    async fn new(workflows: usize) -> Org {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("served.db");
        let store = LocalStore::open(&db).expect("store");
        let mut tokens = std::collections::HashMap::new();
        for (email, roles) in [
            (common::REQUESTER, vec![]),
            (common::LEAD, vec![Role::TechnicalLead]),
            (LEAD2, vec![Role::TechnicalLead]),
            (common::STEWARD, vec![Role::DataSteward]),
        ] {
            let token = store.add_user(email, email, &roles).expect("user");
            tokens.insert(email.to_owned(), token);
        }
        let requester = LocalBackend::new(Arc::clone(&store), Some(common::REQUESTER.into()));
        for n in 0..workflows {
            requester
                .request_deployment(&common::confidential(&format!("agent-{n:04}")))
                .await
                .expect("request");
        }
        let server = Server::start(&db);
        Org {
            store,
            server,
            tokens,
            dir,
        }
    }

    fn token(&self, email: &str) -> &str {
        &self.tokens[email]
    }

    fn cache_dir(&self, email: &str) -> PathBuf {
        self.dir.path().join(format!("cache-{email}"))
    }

    /// The console's backend for `email`, over `url` (the server or a proxy).
    async fn console_at(&self, email: &str, url: &str) -> CachedBackend {
        let token = Token::new(self.token(email).to_owned());
        let fingerprint = token.fingerprint();
        let remote = HttpBackend::new(url, token).expect("client");
        CachedBackend::open(remote, fingerprint, &self.cache_dir(email), true)
            .await
            .expect("open the cache")
    }

    async fn console(&self, email: &str) -> CachedBackend {
        let url = self.server.url.clone();
        self.console_at(email, &url).await
    }

    /// `gavel sync` as its own process.
    fn sync_command(&self, email: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gavel"));
        command
            .args(["--url", &self.server.url, "--cache-dir"])
            .arg(self.cache_dir(email))
            .arg("sync")
            .args(args)
            .env("GAVEL_TOKEN", self.token(email))
            .env("GAVEL_CONFIG", self.dir.path().join("no-config.toml"))
            .env("GAVEL_WITNESS_DIR", self.dir.path().join("witness"))
            .env_remove("GAVEL_URL");
        command
    }

    /// The server's trail: (seq, action, entity, idempotency key) of decisions.
    fn decisions(&self) -> Vec<(i64, String, String, String)> {
        self.store
            .read(|conn| {
                let mut statement = conn.prepare(
                    "SELECT seq, action, entity_id, COALESCE(json_extract(details, '$.idempotency_key'), '')
                     FROM trail WHERE action IN ('step_approved', 'step_rejected') ORDER BY seq",
                )?;
                let rows = statement
                    .query_map(gavel::db::params![], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                    })?
                    .collect::<gavel::db::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .expect("read the trail")
    }
}

/// The config the sync command reads must exist when named.
fn write_empty_config(org: &Org) {
    std::fs::write(org.dir.path().join("no-config.toml"), "").expect("config");
}

async fn waiting(backend: &dyn GovernanceBackend, count: u32) -> Vec<Workflow> {
    let query = QueueQuery::first(
        QueueFilter::for_roles(&[Role::TechnicalLead]),
        QueueSort::Age,
        count,
    );
    let page = backend.queue(&query).await.expect("queue");
    let mut workflows = Vec::new();
    for item in page.items {
        workflows.push(backend.workflow(&item.workflow_id).await.expect("workflow"));
    }
    workflows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_made_while_the_server_is_down_arrive_once_and_in_order() {
    let mut org = Org::new(5).await;
    write_empty_config(&org);
    let console = org.console(common::LEAD).await;
    let syncer = console.syncer().expect("a sync loop");
    let first = syncer.pass().await.expect("first sync");
    assert!(first.full_sync_rows.is_some_and(|rows| rows > 0));
    let workflows = waiting(&console, 3).await;
    assert_eq!(workflows.len(), 3);

    org.server.stop();
    let made_from = chrono::Utc::now();
    let mut keys = Vec::new();
    for workflow in &workflows {
        let decision = decision(workflow, Verdict::Approve, None);
        keys.push(decision.idempotency_key.clone());
        // Saved: the cache moved on at once.
        let saved = console.decide(&decision).await.expect("saved offline");
        assert_eq!(saved.version, workflow.version + 1);
    }
    let made_until = chrono::Utc::now();
    let offline = syncer.pass().await;
    assert!(
        matches!(offline, Err(BackendError::Unavailable(_))),
        "{offline:?}"
    );
    let status = syncer.status();
    assert_eq!(status.online, Some(false));
    assert!(status.offline_since.is_some());
    assert_eq!(status.waiting(), 3);
    assert!(
        status
            .describe(chrono::Utc::now())
            .contains("3 pending sync")
    );
    for workflow in &workflows {
        assert!(status.unconfirmed().contains(&workflow.workflow_id));
    }
    drop(console);

    org.server.restart();
    // Another process replays the outbox.
    let output = org
        .sync_command(common::LEAD, &[])
        .output()
        .expect("gavel sync");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decisions = org.decisions();
    let replayed: Vec<&String> = decisions.iter().map(|(_, _, _, key)| key).collect();
    assert_eq!(
        replayed,
        keys.iter().collect::<Vec<_>>(),
        "once each, in order"
    );
    let ids: Vec<&String> = decisions.iter().map(|(_, _, id, _)| id).collect();
    let expected: Vec<&String> = workflows.iter().map(|w| &w.workflow_id).collect();
    assert_eq!(ids, expected);

    let console = org.console(common::LEAD).await;
    let syncer = console.syncer().expect("a sync loop");
    syncer.pass().await.expect("sync");
    assert!(syncer.status().items.is_empty());
    // The cache holds the server's rows now.
    for workflow in &workflows {
        let cached = console
            .workflow(&workflow.workflow_id)
            .await
            .expect("cached");
        let served = org
            .store
            .read({
                let id = workflow.workflow_id.clone();
                move |conn| gavel::backend::local::reads_workflow(conn, &id)
            })
            .expect("served");
        assert_eq!(cached, served);
        // The time the lead decided, offline, and the later receipt.
        let step = &served.steps[0];
        let made = step.decision_at.expect("decided");
        assert!(made_from <= made && made <= made_until, "{made}");
        let received = step.received_at.expect("received later");
        assert!(received > made_until, "{received}");
        assert_eq!(served.waiting_since(), received);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_client_mid_replay_loses_nothing_and_repeats_nothing() {
    const RUNS: usize = 50;
    // Enough per replay that the sending, not the start-up, fills most of
    // its run, so random kills land inside it.
    const PER_RUN: usize = 8;
    let org = Org::new(RUNS * PER_RUN).await;
    write_empty_config(&org);
    {
        let console = org.console(common::LEAD).await;
        console
            .syncer()
            .expect("sync")
            .pass()
            .await
            .expect("first sync");
    }
    let mut acknowledged = Vec::new();
    let mut killed = 0;
    // Kills that fell inside the replay: some of what waited was on the
    // server, some not yet.
    let mut mid_replay = 0;
    let mut jitter = rand_jitter(7);
    let mut replay_ms = 0;
    for round in 0..RUNS {
        {
            // Each round: decisions saved (acknowledged) in the cache...
            let console = org.console(common::LEAD).await;
            let round = waiting(&console, PER_RUN as u32).await;
            assert_eq!(round.len(), PER_RUN, "more to decide");
            for workflow in round {
                let decision = decision(&workflow, Verdict::Approve, None);
                console.decide(&decision).await.expect("saved");
                acknowledged.push(decision.idempotency_key);
            }
        }
        let before = org.decisions().len();
        let mut child = org
            .sync_command(common::LEAD, &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gavel sync");
        if round == 0 {
            // The first replay runs to the end: how long one takes here.
            let started = std::time::Instant::now();
            assert!(child.wait().expect("wait").success());
            replay_ms = started.elapsed().as_millis() as u64;
            continue;
        }
        // ...then a replay killed at a random point of its run.
        std::thread::sleep(Duration::from_millis(jitter() % (replay_ms + 1)));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().expect("wait");
        if status.code().is_none() {
            killed += 1;
            let applied = org.decisions().len() - before;
            let outstanding = acknowledged.len() - before;
            if applied > 0 && applied < outstanding {
                mid_replay += 1;
            }
        }
    }
    eprintln!(
        "{killed} of {RUNS} replays killed, {mid_replay} mid-replay (a replay takes {replay_ms} ms)"
    );
    assert!(killed > 0, "no run was cut short: the test did not test");
    assert!(mid_replay > 0, "no kill landed inside a replay");
    let output = org
        .sync_command(common::LEAD, &[])
        .output()
        .expect("final sync");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decisions = org.decisions();
    let mut on_server: Vec<String> = decisions.into_iter().map(|(_, _, _, key)| key).collect();
    let count = on_server.len();
    on_server.sort();
    on_server.dedup();
    assert_eq!(on_server.len(), count, "a decision was applied twice");
    acknowledged.sort();
    assert_eq!(acknowledged.len(), RUNS * PER_RUN);
    assert_eq!(
        on_server, acknowledged,
        "every saved decision, exactly once"
    );
}

/// A small deterministic jitter source (the kill points vary, reproducibly).
fn rand_jitter(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// What the test proxy does to the traffic it carries.
#[derive(Clone)]
enum ProxyMode {
    /// Forward the first decision to the server, then drop its answer.
    DropFirstDecisionAnswer,
    /// Forward every decision, and drop every answer.
    DropEveryDecisionAnswer,
    /// Answer `GET /v1/changes` with this body instead of the server.
    ChangesBody(Arc<Vec<u8>>),
}

/// A loopback HTTP/1.1 proxy in front of the server.
struct Proxy {
    url: String,
    dropped: Arc<AtomicUsize>,
}

async fn proxy(server: &str, mode: ProxyMode) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&dropped);
    let upstream = server
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, mode, counter) = (upstream.clone(), mode.clone(), Arc::clone(&counter));
            tokio::spawn(async move {
                let _ = carry(client, &upstream, mode, counter).await;
            });
        }
    });
    Proxy { url, dropped }
}

/// One client connection: requests are read whole (they are small), so each
/// can be forwarded, answered here, or have its answer dropped.
async fn carry(
    mut client: TcpStream,
    upstream: &str,
    mode: ProxyMode,
    dropped: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    let mut request = vec![0u8; 64 * 1024];
    let mut answer = vec![0u8; 256 * 1024];
    loop {
        let n = client.read(&mut request).await?;
        if n == 0 {
            return Ok(());
        }
        let head = String::from_utf8_lossy(&request[..n]).to_string();
        if let ProxyMode::ChangesBody(body) = &mode
            && head.starts_with("GET /v1/changes")
        {
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            client.write_all(reply.as_bytes()).await?;
            client.write_all(body).await?;
            continue;
        }
        server.write_all(&request[..n]).await?;
        let is_decision = head.starts_with("POST ") && head.contains("/decision");
        let drop_answer = is_decision
            && match mode {
                ProxyMode::DropFirstDecisionAnswer => dropped
                    .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok(),
                ProxyMode::DropEveryDecisionAnswer => {
                    dropped.fetch_add(1, Ordering::SeqCst);
                    true
                }
                ProxyMode::ChangesBody(_) => false,
            };
        if drop_answer {
            // The server commits and answers; the answer never arrives.
            let _ = server.read(&mut answer).await?;
            return Ok(());
        }
        // Forward the answer: read until it is complete by its length.
        let mut got = Vec::new();
        loop {
            let n = server.read(&mut answer).await?;
            if n == 0 {
                return Ok(());
            }
            got.extend_from_slice(&answer[..n]);
            if response_complete(&got) {
                break;
            }
        }
        client.write_all(&got).await?;
    }
}

fn response_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok());
    match length {
        Some(length) => bytes.len() >= end + 4 + length,
        // Chunked answers end with an empty chunk.
        None => bytes.ends_with(b"0\r\n\r\n"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_retried_with_the_same_key_and_clears() {
    let org = Org::new(2).await;
    let proxy = proxy(&org.server.url, ProxyMode::DropFirstDecisionAnswer).await;
    let console = org.console_at(common::LEAD, &proxy.url).await;
    let syncer = console.syncer().expect("sync");
    syncer.pass().await.expect("first sync");
    let workflow = waiting(&console, 1).await.remove(0);
    let decision = decision(&workflow, Verdict::Approve, Some("fine"));
    console.decide(&decision).await.expect("saved");
    for _ in 0..3 {
        syncer.make_due().await.expect("due");
        let _ = syncer.pass().await;
        if syncer.status().items.is_empty() {
            break;
        }
    }
    assert_eq!(
        proxy.dropped.load(Ordering::SeqCst),
        1,
        "an answer was dropped"
    );
    assert!(syncer.status().items.is_empty(), "{:?}", syncer.status());
    let decisions = org.decisions();
    assert_eq!(decisions.len(), 1, "applied once: {decisions:?}");
    assert_eq!(decisions[0].3, decision.idempotency_key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offline_consoles_deciding_one_step_one_wins_one_sees_both() {
    let mut org = Org::new(1).await;
    write_empty_config(&org);
    let first = org.console(common::LEAD).await;
    let second = org.console(LEAD2).await;
    first.syncer().expect("sync").pass().await.expect("sync");
    second.syncer().expect("sync").pass().await.expect("sync");
    let workflow = waiting(&first, 1).await.remove(0);

    org.server.stop();
    first
        .decide(&decision(&workflow, Verdict::Approve, Some("looks right")))
        .await
        .expect("saved");
    second
        .decide(&decision(&workflow, Verdict::Reject, Some("needs a DPIA")))
        .await
        .expect("saved");
    org.server.restart();

    first
        .syncer()
        .expect("sync")
        .pass()
        .await
        .expect("first wins");
    let loser = second.syncer().expect("sync");
    let report = loser.pass().await.expect("the pass itself succeeds");
    assert_eq!(report.conflicts, 1);
    let status = loser.status();
    assert_eq!(status.items.len(), 1);
    let item = &status.items[0];
    assert_eq!(item.state, EntryState::Conflict);
    assert!(item.change.contains("reject"), "{}", item.change);
    assert!(item.change.contains("needs a DPIA"), "{}", item.change);
    let server_now = item.server_now.as_deref().unwrap_or_default();
    assert!(
        server_now.contains("approved by lead@example.com") && server_now.contains("looks right"),
        "{server_now}"
    );
    assert!(status.describe(chrono::Utc::now()).contains("1 conflict"));
    // The loser's cache shows the server's state, not the lost decision.
    let cached = second
        .workflow(&workflow.workflow_id)
        .await
        .expect("cached");
    assert_eq!(
        cached.steps[0].approver_email.as_deref(),
        Some(common::LEAD)
    );
    drop((first, second));

    // The same, as a script sees it: exit 5 and both sides in the JSON.
    let output = org
        .sync_command(LEAD2, &["--status", "--json"])
        .output()
        .expect("status");
    assert_eq!(output.status.code(), Some(5));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["items"][0]["state"], "conflict");
    assert!(
        json["items"][0]["server_now"]
            .as_str()
            .unwrap_or_default()
            .contains("approved")
    );
    let id = json["items"][0]["id"].as_i64().expect("id").to_string();
    // Nothing goes silently: discarding is the user's act.
    let output = org
        .sync_command(LEAD2, &["--discard", &id])
        .output()
        .expect("discard");
    assert!(output.status.success());
    let output = org.sync_command(LEAD2, &[]).output().expect("sync");
    assert_eq!(output.status.code(), Some(0));
    let decisions = org.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].1, "step_approved");
}

fn cache_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("cache dir")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "db"))
        .expect("a cache file")
}

/// Saves one decision offline and leaves the cache file checkpointed.
async fn cache_with_a_pending_decision(org: &mut Org) -> (PathBuf, String) {
    let console = org.console(common::LEAD).await;
    console.syncer().expect("sync").pass().await.expect("sync");
    let workflow = waiting(&console, 1).await.remove(0);
    org.server.stop();
    let decision = decision(&workflow, Verdict::Approve, None);
    console.decide(&decision).await.expect("saved");
    console
        .store()
        .with_writer(|conn| {
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
            Ok(())
        })
        .expect("checkpoint");
    drop(console);
    org.server.restart();
    (
        cache_file(&org.cache_dir(common::LEAD)),
        decision.idempotency_key,
    )
}

/// Overwrites the root page of a workflow index: `quick_check` fails, the
/// outbox stays readable.
fn damage_an_index_page(path: &Path, fill: u8) {
    let (page, page_size): (i64, i64) = {
        let conn = rusqlite::Connection::open(path).expect("open");
        let page = conn
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'workflows_team'",
                [],
                |row| row.get(0),
            )
            .expect("index page");
        let size = conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .expect("page size");
        (page, size)
    };
    let mut bytes = std::fs::read(path).expect("read");
    let start = ((page - 1) * page_size) as usize;
    bytes[start..start + page_size as usize].fill(fill);
    std::fs::write(path, &bytes).expect("damage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_cache_is_set_aside_its_outbox_kept_and_rebuilt() {
    let mut org = Org::new(3).await;
    write_empty_config(&org);
    let (path, key) = cache_with_a_pending_decision(&mut org).await;
    damage_an_index_page(&path, 0x5a);

    let output = org.sync_command(common::LEAD, &[]).output().expect("sync");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("was damaged") && stderr.contains("moved to"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 unsent change(s) were saved to"),
        "{stderr}"
    );
    let dir = org.cache_dir(common::LEAD);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|name| name.contains(".damaged-")),
        "{names:?}"
    );
    let export = names
        .iter()
        .find(|name| name.contains(".outbox-") && name.ends_with(".json"))
        .expect("the outbox export");
    let exported = std::fs::read_to_string(dir.join(export)).expect("export");
    assert!(exported.contains(&key));
    // The carried-over decision reached the server, once.
    let decisions = org.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].3, key);
    // And the new cache works: each agent opened two workflows for a lead
    // (confidential data and its medium-risk floor), one is decided.
    let console = org.console(common::LEAD).await;
    assert_eq!(waiting(&console, 10).await.len(), 2 * 3 - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_or_truncated_cache_is_rebuilt_with_a_clear_message() {
    let mut org = Org::new(2).await;
    write_empty_config(&org);
    let (path, _) = cache_with_a_pending_decision(&mut org).await;
    // Truncated: half the file is gone.
    let length = std::fs::metadata(&path).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_len(length / 2))
        .expect("truncate");
    let output = org.sync_command(common::LEAD, &[]).output().expect("sync");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("was damaged"), "{stderr}");

    // Garbage: not a database at all.
    let path = cache_file(&org.cache_dir(common::LEAD));
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::write(&path, vec![0xa7u8; 8192]).expect("garbage");
    let output = org.sync_command(common::LEAD, &[]).output().expect("sync");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("was damaged"), "{stderr}");
    let console = org.console(common::LEAD).await;
    assert!(!waiting(&console, 10).await.is_empty());
    // Nothing was deleted: both damaged files are kept beside the new one.
    let damaged = std::fs::read_dir(org.cache_dir(common::LEAD))
        .expect("dir")
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.contains(".damaged-") && !name.ends_with("-wal") && !name.ends_with("-shm")
        })
        .count();
    assert_eq!(
        damaged, 2,
        "both damaged files are kept, even set aside in one second"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_change_pages_leave_the_cursor_and_say_why() {
    let org = Org::new(2).await;
    // First sync straight from the server, then every later page through a
    // proxy that answers the feed with a broken page.
    let cursor_before = {
        let console = org.console(common::LEAD).await;
        console.syncer().expect("sync").pass().await.expect("sync");
        console.store().sync_cursor().expect("cursor")
    };
    assert!(cursor_before > 0);
    let valid_change = |seq: i64| {
        format!(
            r#"{{"seq":{seq},"at":"2026-01-01T00:00:00Z","entity_type":"workflow","entity_id":"wf-0000001","action":"step_approved"}}"#
        )
    };
    let empty = r#"{"workflows":[],"reviews":[],"deployments":[],"audits":[],"agents":[]}"#;
    let bodies: Vec<(&str, String)> = vec![
        ("truncated JSON", r#"{"changes":[{"seq":"#.to_owned()),
        (
            "wrong types",
            format!(r#"{{"changes":"none","entities":{empty},"next":"x","head":1}}"#),
        ),
        (
            "a cursor that goes backwards",
            format!(
                r#"{{"changes":[],"entities":{empty},"next":{},"head":{}}}"#,
                cursor_before - 1,
                cursor_before
            ),
        ),
        (
            "a change at or before the cursor",
            format!(
                r#"{{"changes":[{}],"entities":{empty},"next":{},"head":{}}}"#,
                valid_change(cursor_before),
                cursor_before + 1,
                cursor_before + 1
            ),
        ),
        (
            "a 10 MB string",
            format!(
                r#"{{"changes":[],"entities":{empty},"next":{cursor_before},"head":{cursor_before},"note":"{}"}}"#,
                "x".repeat(10 << 20)
            ),
        ),
    ];
    for (what, body) in bodies {
        let proxy = proxy(
            &org.server.url,
            ProxyMode::ChangesBody(Arc::new(body.into_bytes())),
        )
        .await;
        // The cache is per URL: copy the synced one under the proxy's URL by
        // syncing it first through the server, then swap the feed.
        let console = org.console_at(common::LEAD, &proxy.url).await;
        let syncer = console.syncer().expect("sync");
        // A first visit through this URL builds the cache from snapshots
        // (not proxied), then follows the (broken) feed.
        let result = syncer.pass().await;
        assert!(result.is_err(), "{what}: {result:?}");
        assert!(
            !matches!(result, Err(BackendError::Unavailable(_))),
            "{what}: a broken page is not an outage: {result:?}"
        );
        let cursor = console.store().sync_cursor().expect("cursor");
        let result = syncer.pass().await;
        assert!(result.is_err(), "{what}: still refused");
        assert_eq!(
            console.store().sync_cursor().expect("cursor"),
            cursor,
            "{what}: the cursor stayed"
        );
        let problem = syncer.status().problem.unwrap_or_default();
        assert!(problem.starts_with("sync failed"), "{what}: {problem}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_server_store_means_a_full_resync_that_keeps_the_outbox() {
    let mut org = Org::new(3).await;
    let console = org.console(common::LEAD).await;
    let syncer = console.syncer().expect("sync");
    syncer.pass().await.expect("first sync");
    let before = console.store().sync_cursor().expect("cursor");

    // The server comes back on a new, smaller store (restored, or rebuilt).
    let address = org.server.address();
    org.server.stop();
    let fresh = org.dir.path().join("replaced.db");
    {
        let store = LocalStore::open(&fresh).expect("store");
        let token = org.token(common::LEAD).to_owned();
        store
            .add_user(common::LEAD, "Lead", &[Role::TechnicalLead])
            .expect("user");
        // The same person, the same token.
        store
            .write(move |tx| {
                tx.execute(
                    "UPDATE users SET token_hash = ?1 WHERE email = ?2",
                    gavel::db::params![gavel::domain::digest::token_hash(&token), common::LEAD],
                )?;
                Ok(())
            })
            .expect("token");
        store.add_user(common::REQUESTER, "Dev", &[]).expect("user");
        LocalBackend::new(Arc::clone(&store), Some(common::REQUESTER.into()))
            .request_deployment(&common::confidential("agent-new"))
            .await
            .expect("request");
    }
    org.server = Server::start_on(&fresh, &address);

    let report = syncer.pass().await.expect("resync");
    assert!(report.full_sync_rows.is_some(), "{report:?}");
    let after = console.store().sync_cursor().expect("cursor");
    assert!(
        after < before,
        "the cursor follows the new store: {after} vs {before}"
    );
    let queue = waiting(&console, 10).await;
    assert_eq!(queue.len(), 2, "the new agent's two workflows");
    assert!(
        queue
            .iter()
            .all(|workflow| workflow.agent_id == "agent-new")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_checks_its_cache_in_the_background_and_rebuilds_on_restart() {
    let mut org = Org::new(2).await;
    let (path, key) = cache_with_a_pending_decision(&mut org).await;
    damage_an_index_page(&path, 0x33);

    // The console opens at once (no full check), then the loop checks.
    let cache_dir = org.cache_dir(common::LEAD);
    let (url, secret) = (org.server.url.clone(), org.token(common::LEAD).to_owned());
    let open = |full_check| {
        let token = Token::new(secret.clone());
        let fingerprint = token.fingerprint();
        let remote = HttpBackend::new(&url, token).expect("client");
        CachedBackend::open(remote, fingerprint, &cache_dir, full_check)
    };
    let console = open(false).await.expect("opens");
    assert!(console.notice().is_none());
    let syncer = console.syncer().expect("sync");
    let mut status = syncer.subscribe();
    let task = tokio::spawn(Arc::clone(&syncer).run());
    let problem = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(problem) = status.borrow_and_update().problem.clone() {
                return problem;
            }
            status.changed().await.expect("status");
        }
    })
    .await
    .expect("the check reports");
    assert!(problem.contains("integrity check"), "{problem}");
    assert!(syncer.pass().await.is_err(), "nothing more is written");
    task.abort();
    drop((console, syncer));

    // The next start sets the file aside and carries the decision over.
    let console = open(false).await.expect("reopens");
    let notice = console.notice().expect("a notice").to_owned();
    assert!(
        notice.contains("was damaged") && notice.contains("1 unsent change"),
        "{notice}"
    );
    console.syncer().expect("sync").pass().await.expect("sync");
    let decisions = org.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].3, key);
}

fn complete_answers() -> gavel::domain::Answers {
    serde_json::from_value(serde_json::json!({
        "use_case_appropriateness": "appropriate_with_safeguards",
        "training_data_ethically_sourced": true,
        "affected_populations": ["job_applicants", "employees"],
        "values_alignment": 4,
        "risks_and_mitigations": "Proxy discrimination through postcode; removed the feature.",
        "recommendation": "approve"
    }))
    .expect("answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_drafted_and_submitted_offline_reaches_the_server_in_order() {
    let mut org = Org::new(0).await;
    let ethics = common::ETHICS;
    let token = org
        .store
        .add_user(ethics, ethics, &[Role::EthicsReviewer])
        .expect("user");
    org.tokens.insert(ethics.to_owned(), token);
    // A high-risk agent's chain has an ethics review step.
    let requester = LocalBackend::new(Arc::clone(&org.store), Some(common::REQUESTER.into()));
    let request = requester
        .request_deployment(&common::with_risk(
            common::manifest("agent-risky"),
            gavel::domain::RiskTier::High,
        ))
        .await
        .expect("request");
    let reviewer = LocalBackend::new(Arc::clone(&org.store), Some(ethics.into()));
    let review = reviewer
        .assign_review(&request.workflow_ids[0], ethics)
        .await
        .expect("self-assign");

    let console = org.console(ethics).await;
    let syncer = console.syncer().expect("sync");
    syncer.pass().await.expect("first sync");
    assert_eq!(console.my_reviews(None).await.expect("mine").len(), 1);
    console
        .review_template(&review.template_id)
        .await
        .expect("the template came with the review");

    org.server.stop();
    let mut draft = complete_answers();
    draft.remove("recommendation");
    let saved = console
        .save_review_draft(
            &review.review_id,
            &draft,
            Some(&serde_json::json!({"field": 3})),
        )
        .await
        .expect("draft saved offline");
    assert_eq!(saved.status, gavel::domain::ReviewStatus::Draft);
    let submitted = console
        .submit_review(&review.review_id, &complete_answers())
        .await
        .expect("submitted offline");
    assert_eq!(submitted.status, gavel::domain::ReviewStatus::Submitted);
    assert_eq!(syncer.status().waiting(), 2);
    assert!(syncer.status().unconfirmed().contains(&review.review_id));

    org.server.restart();
    syncer.pass().await.expect("replay");
    assert!(syncer.status().items.is_empty(), "{:?}", syncer.status());
    let served = reviewer.review(&review.review_id).await.expect("served");
    assert_eq!(served.status, gavel::domain::ReviewStatus::Submitted);
    assert_eq!(served.answers, complete_answers());
    // The draft went first: the trail shows the review started, then submitted.
    let actions: Vec<String> = reviewer
        .trail("review", &review.review_id)
        .await
        .expect("trail")
        .into_iter()
        .map(|event| event.entry.action)
        .collect();
    let started = actions.iter().position(|a| a == "review_started");
    let done = actions.iter().position(|a| a == "review_submitted");
    assert!(started.is_some() && started < done, "{actions:?}");
}

/// The console's sync loop keeps witnessing the server's log: when the
/// server's store loses events while the console runs, the next pass puts
/// the warning on the status line, and it stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_loop_witnesses_the_log_while_the_console_runs() {
    let mut org = Org::new(2).await;
    let console = org.console(common::LEAD).await;
    let syncer = console.syncer().expect("sync");
    syncer.witness_in(org.dir.path().join("witness"));
    syncer.pass().await.expect("first pass pins the log");
    assert_eq!(syncer.status().witness_warning, None);
    org.server.stop();
    {
        let conn = rusqlite::Connection::open(org.dir.path().join("served.db")).expect("open");
        conn.execute_batch(
            "DROP TRIGGER trail_no_delete;
             DELETE FROM trail WHERE seq > (SELECT MAX(seq) - 1 FROM trail);
             DELETE FROM log_hashes; DELETE FROM checkpoints;",
        )
        .expect("truncate");
        gavel::backend::local::log::backfill(&gavel::db::Connection::sqlite(&conn))
            .expect("rebuild the log");
    }
    org.server.restart();
    let _ = syncer.pass().await;
    let warning = syncer.status().witness_warning.expect("a witness warning");
    assert!(warning.contains("the log shrank"), "{warning}");
    let _ = syncer.pass().await;
    assert!(syncer.status().witness_warning.is_some(), "it stays");
}

/// `gavel approve` over `--url` whose answers are all lost: it says the
/// outcome is unknown and how to check, never that the decision failed; the
/// same command again, once the server holds the decision, says it is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approve_whose_answer_is_lost_is_unknown_and_a_rerun_reports_it_done() {
    let org = Org::new(1).await;
    let proxy = proxy(&org.server.url, ProxyMode::DropEveryDecisionAnswer).await;
    let lead = LocalBackend::new(Arc::clone(&org.store), Some(common::LEAD.into()));
    let workflow = waiting(&lead, 1).await.remove(0);
    let approve = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_gavel"))
            .args([
                "--url",
                url,
                "--config",
                "/dev/null",
                "approve",
                &workflow.workflow_id,
            ])
            .env("GAVEL_TOKEN", org.token(common::LEAD))
            .env("GAVEL_WITNESS_DIR", org.dir.path().join("witness"))
            .env_remove("GAVEL_DB")
            .output()
            .expect("run")
    };
    let lost = tokio::task::block_in_place(|| approve(&proxy.url));
    let stderr = String::from_utf8_lossy(&lost.stderr);
    assert_eq!(lost.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the outcome is unknown") && stderr.contains("gavel show"),
        "{stderr}"
    );
    assert!(!stderr.contains("failed"), "{stderr}");
    assert!(proxy.dropped.load(Ordering::SeqCst) >= 1);
    // The rerun finds the decision on record: the workflow moved on to a
    // step this person may not decide, and the rule says why.
    let rerun = tokio::task::block_in_place(|| approve(&org.server.url));
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(rerun.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("your decision of step 1 (technical lead) is on record"),
        "{stderr}"
    );
    let decisions = lead
        .trail("workflow", &workflow.workflow_id)
        .await
        .expect("trail")
        .into_iter()
        .filter(|event| event.entry.action == "step_approved")
        .count();
    assert_eq!(decisions, 1, "one decision, however many attempts");
}

/// A decision made offline for someone while their delegation ran, that
/// reaches the server after it ended, is refused with that reason and
/// kept in the outbox as a conflict: a claimed time never brings back an
/// ended delegation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_for_someone_arriving_after_their_delegation_ended_is_a_conflict() {
    let mut org = Org::new(1).await;
    let away = LocalBackend::new(Arc::clone(&org.store), Some(LEAD2.into()));
    let given = away
        .delegate(&common::conformance::delegation(
            common::LEAD,
            Some(Role::TechnicalLead),
        ))
        .await
        .expect("delegate");
    let console = org.console(common::LEAD).await;
    let syncer = console.syncer().expect("a sync loop");
    syncer.pass().await.expect("first sync");
    let workflow = waiting(&console, 1).await.remove(0);

    org.server.stop();
    let decided = console
        .decide(&common::conformance::for_someone(
            &workflow,
            Verdict::Approve,
            LEAD2,
        ))
        .await
        .expect("saved offline while the delegation runs");
    assert_eq!(decided.steps[0].on_behalf_of.as_deref(), Some(LEAD2));
    away.end_delegation(Some(&given.delegation_id))
        .await
        .expect("ended while the lead was offline");
    org.server.restart();

    let pass = syncer.pass().await.expect("a pass");
    assert_eq!(pass.conflicts, 1, "{pass:?}");
    let status = syncer.status();
    let item = status.items.first().expect("kept in the outbox");
    assert_eq!(item.state, EntryState::Conflict);
    assert!(
        item.server_answer
            .as_deref()
            .is_some_and(|answer| answer.contains("has ended")),
        "{:?}",
        item.server_answer
    );
    assert!(org.decisions().is_empty(), "the server recorded nothing");
}

/// Issue 35 (7): between its passes the console's sync loop follows the
/// server's change feed, so a decision made elsewhere reaches the cache
/// (and the screens, which reload on the generation) well before the next
/// full pass is due (15 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_loop_follows_the_feed_between_passes() {
    let org = Org::new(2).await;
    let console = org.console(common::LEAD).await;
    let syncer = console.syncer().expect("sync");
    let mut status = syncer.subscribe();
    let task = tokio::spawn(Arc::clone(&syncer).run());
    let synced = |status: &gavel::backend::sync::status::SyncStatus| {
        status.last_synced_at.is_some() && !status.syncing
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        while !synced(&status.borrow_and_update()) {
            status.changed().await.expect("status");
        }
    })
    .await
    .expect("the first pass");
    let before = status.borrow().generation;
    let target = waiting(&console, 2).await.remove(0);
    let elsewhere = LocalBackend::new(Arc::clone(&org.store), Some(LEAD2.into()));
    let server_side = elsewhere
        .workflow(&target.workflow_id)
        .await
        .expect("workflow");
    elsewhere
        .decide(&gavel::backend::Decision {
            workflow_id: server_side.workflow_id.clone(),
            step_id: 1,
            verdict: Verdict::Approve,
            comment: None,
            expected_version: server_side.version,
            idempotency_key: gavel::backend::Decision::new_key(),
            decision_at: None,
            on_behalf_of: None,
        })
        .await
        .expect("another lead approves on the server");
    tokio::time::timeout(Duration::from_secs(10), async {
        while status.borrow_and_update().generation == before {
            status.changed().await.expect("status");
        }
    })
    .await
    .expect("the change arrives before the next full pass");
    let cached = console.workflow(&target.workflow_id).await.expect("cached");
    assert_eq!(cached.version, server_side.version + 1);
    task.abort();
}
