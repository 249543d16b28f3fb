//! Offline-cache sync against a real `gavel serve` on loopback.
//!
//! `cargo bench --bench sync -- --workflows 100000` prints, beside targets
//! and a reference measured in the same run:
//! - a full first sync (and fetching the same pages with a bare HTTP client),
//! - an empty incremental sync (p50/p99 of 200 passes),
//! - a delta of about 1,000 changes into the synced cache,
//! - the durable outbox commit of an offline decision (p50/p99).
//!
//! Under `cargo test` (no `--bench` argument) it runs once at a small size
//! as a smoke test: the figures are printed, nothing is timed against them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel::backend::cache::CachedBackend;
use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::local::feed::SNAPSHOT_TABLES;
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{Decision, GovernanceBackend, QueueFilter, QueueQuery, QueueSort, User};
use gavel::domain::{Role, Verdict};

struct Args {
    workflows: u64,
    smoke: bool,
}

fn args() -> Args {
    let mut workflows = None;
    let mut bench = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--workflows" => workflows = args.next().and_then(|n| n.parse().ok()),
            _ => {}
        }
    }
    Args {
        workflows: workflows.unwrap_or(if bench { 100_000 } else { 300 }),
        smoke: !bench,
    }
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gavel serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening line");
    let url = line.trim().rsplit(' ').next().expect("url").to_owned();
    Server(child, url)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// Fetches every snapshot page with a bare client, reading only the cursor.
async fn bare_fetch(url: &str, token: &str) -> (Duration, usize) {
    #[derive(serde::Deserialize)]
    struct Next {
        next: Option<String>,
    }
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut bytes = 0;
    for table in SNAPSHOT_TABLES {
        let mut after = String::new();
        loop {
            let mut page = url::Url::parse(&format!(
                "{}/v1/snapshot/{table}",
                url.trim_end_matches('/')
            ))
            .expect("url");
            page.query_pairs_mut()
                .append_pair("after", &after)
                .append_pair("limit", "5000");
            let body = client
                .get(page)
                .bearer_auth(token)
                .send()
                .await
                .expect("snapshot page")
                .bytes()
                .await
                .expect("body");
            bytes += body.len();
            let next: Next = serde_json::from_slice(&body).expect("page");
            match next.next {
                Some(next) => after = next,
                None => break,
            }
        }
    }
    (started.elapsed(), bytes)
}

/// Decides up to `count` current steps on the server's store directly (as
/// other people would, elsewhere); returns how many were decided.
async fn decide_on_server(store: &Arc<LocalStore>, count: usize) -> usize {
    let deciders: Vec<User> = store
        .users()
        .expect("users")
        .into_iter()
        .filter(|user| !user.roles.is_empty())
        .collect();
    let all = QueueQuery::first(QueueFilter::default(), QueueSort::Age, 500);
    let reader = LocalBackend::new(Arc::clone(store), None);
    let mut decided = 0;
    let mut cursor_query = all;
    while decided < count {
        let page = reader.queue(&cursor_query).await.expect("queue");
        for item in &page.items {
            let Some(step) = item.current_step else {
                continue;
            };
            let Some(user) = deciders.iter().find(|user| {
                user.roles.contains(&step.role)
                    && !user.email.eq_ignore_ascii_case(&item.requested_by)
            }) else {
                continue;
            };
            let backend = LocalBackend::new(Arc::clone(store), Some(user.email.clone()));
            let decision = Decision {
                workflow_id: item.workflow_id.clone(),
                step_id: step.step_id,
                verdict: Verdict::Approve,
                comment: None,
                expected_version: item.version,
                idempotency_key: Decision::new_key(),
            };
            if backend.decide(&decision).await.is_ok() {
                decided += 1;
                if decided == count {
                    break;
                }
            }
        }
        if !page.more_after {
            break;
        }
        cursor_query.cursor = page.last_cursor(QueueSort::Age);
    }
    decided
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("served.db");
    let store = LocalStore::open(&db).expect("store");
    let seeding = Instant::now();
    gavel::seed::seed(
        &store,
        &gavel::seed::SeedOptions {
            workflows: args.workflows,
            seed: 42,
            anchor: chrono::Utc::now(),
        },
        &mut |_| {},
    )
    .expect("seed");
    eprintln!(
        "seeded {} workflows in {:.1} s",
        args.workflows,
        seeding.elapsed().as_secs_f64()
    );
    let token = store
        .add_user(gavel::seed::DEMO_USER, "Dana", &Role::ALL)
        .expect("user");
    let server = serve(&db);
    let url = server.1.clone();

    let (bare, bytes) = bare_fetch(&url, &token).await;

    let secret = Token::new(token.clone());
    let fingerprint = secret.fingerprint();
    let remote = HttpBackend::new(&url, secret).expect("client");
    let cache_dir = dir.path().join("cache");
    let console = CachedBackend::open(remote, fingerprint, &cache_dir, true)
        .await
        .expect("cache");
    let syncer = console.syncer().expect("sync");
    let started = Instant::now();
    let first = syncer.pass().await.expect("first sync");
    let first_sync = started.elapsed();
    let rows = first.full_sync_rows.unwrap_or_default();

    let mut empty = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let report = syncer.pass().await.expect("empty sync");
        empty.push(started.elapsed());
        assert_eq!(report.pulled_changes, 0, "nothing changed on the server");
    }

    let wanted = if args.smoke { 20 } else { 1_000 };
    let decided = decide_on_server(&store, wanted).await;
    let started = Instant::now();
    let delta = syncer.pass().await.expect("delta");
    let delta_time = started.elapsed();

    // Offline decisions: each commits the cached change and its outbox row.
    let query = QueueQuery::first(QueueFilter::for_roles(&Role::ALL), QueueSort::Age, 200);
    let page = console.queue(&query).await.expect("queue");
    let mut commits = Vec::new();
    for item in page.items.iter().take(if args.smoke { 20 } else { 200 }) {
        let Some(step) = item.current_step else {
            continue;
        };
        let decision = Decision {
            workflow_id: item.workflow_id.clone(),
            step_id: step.step_id,
            verdict: Verdict::Approve,
            comment: None,
            expected_version: item.version,
            idempotency_key: Decision::new_key(),
        };
        let started = Instant::now();
        if console.decide(&decision).await.is_ok() {
            commits.push(started.elapsed());
        }
    }
    assert!(!commits.is_empty(), "some offline decisions were saved");

    let n = gavel::text::thousands(args.workflows);
    println!(
        "\nsync benchmark: {n} workflows, loopback, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| figure | measured | target | reference (same run) |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| full first sync ({} rows) | {:.2} s | <= 5 s at 100,000 | bare HTTP fetch of the same pages ({:.0} MB): {:.2} s |",
        gavel::text::thousands(rows),
        first_sync.as_secs_f64(),
        bytes as f64 / 1e6,
        bare.as_secs_f64()
    );
    println!(
        "| empty incremental sync p50 / p99 | {} / {} | p99 <= 5 ms | — |",
        ms(percentile(&mut empty, 0.5)),
        ms(percentile(&mut empty, 0.99))
    );
    println!(
        "| delta of {} decisions ({} changes) into a {n}-workflow cache | {} | <= 200 ms for 1,000 changes into 1,000,000 | — |",
        decided,
        delta.pulled_changes,
        ms(delta_time)
    );
    println!(
        "| durable outbox commit p50 / p99 ({} decisions) | {} / {} | p99 <= 10 ms | — |",
        commits.len(),
        ms(percentile(&mut commits, 0.5)),
        ms(percentile(&mut commits, 0.99))
    );
    drop(server);
}
