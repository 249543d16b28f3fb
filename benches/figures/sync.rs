//! Offline-cache sync against a real `gavel serve` on loopback: a full
//! first sync (beside fetching the same pages with a bare HTTP client), an
//! empty incremental sync, a delta of about 1,000 changes, and the durable
//! outbox commit of an offline decision.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel::backend::cache::CachedBackend;
use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::local::feed::SNAPSHOT_TABLES;
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{
    Decision, GovernanceBackend, QueueFilter, QueueItem, QueueQuery, QueueSort, User,
};
use gavel::domain::{Role, Verdict};

use super::report::{Figure, ms, percentiles, secs};

pub struct Server(Child, pub String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn serve(db: &Path) -> Server {
    let key = gavel::backend::local::logkey::default_path(db);
    gavel::backend::local::logkey::load_or_create(&key, db).expect("log key");
    let mut command = Command::new(env!("CARGO_BIN_EXE_gavel"));
    command.arg("--db").arg(db).stderr(Stdio::null());
    listening(command)
}

/// A server on the PostgreSQL store at `url`, signing with the log key
/// `config` names (every server on the database shares it).
pub fn serve_on_database(url: &str, config: &Path) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gavel"));
    command
        .arg("--config")
        .arg(config)
        .args(["--database-url", url])
        .stderr(Stdio::null());
    listening(command)
}

/// `command` (the store and options before `serve`, its stderr set) serving
/// on a free loopback port, once it says where.
pub fn listening(mut command: Command) -> Server {
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start gavel serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening line");
    let url = line.trim().rsplit(' ').next().expect("url").to_owned();
    Server(child, url)
}

/// Fetches every snapshot page with a bare client, reading only the cursor.
pub async fn bare_fetch(url: &str, token: &str) -> (Duration, usize) {
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

/// An approval of an item's current step, on the version the queue showed.
pub fn approval(item: &QueueItem, comment: Option<&str>) -> Option<Decision> {
    item.current_step.map(|step| Decision {
        workflow_id: item.workflow_id.clone(),
        step_id: step.step_id,
        verdict: Verdict::Approve,
        comment: comment.map(str::to_owned),
        expected_version: item.version,
        idempotency_key: Decision::new_key(),
        decision_at: None,
        on_behalf_of: None,
    })
}

/// Decides up to `count` current steps on the server's store directly (as
/// other people would, elsewhere); returns how many were decided.
pub async fn decide_on_server(store: &Arc<LocalStore>, count: usize) -> usize {
    let deciders: Vec<User> = store
        .users()
        .expect("users")
        .into_iter()
        .filter(|user| !user.roles.is_empty())
        .collect();
    let all = QueueQuery::first(QueueFilter::everything(), QueueSort::Age, 500);
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
            let Some(decision) = approval(item, None) else {
                continue;
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

pub struct Synced {
    pub console: CachedBackend,
    pub first_sync: Duration,
    pub rows: u64,
}

/// The offline cache of the server at `url` in `cache_dir`, as the console
/// opens it (`full_check`: on its first open).
pub async fn open_cache(
    url: &str,
    token: &str,
    cache_dir: &Path,
    full_check: bool,
) -> CachedBackend {
    let secret = Token::new(token.to_owned());
    let fingerprint = secret.fingerprint();
    let remote = HttpBackend::new(url, secret).expect("client");
    CachedBackend::open(remote, fingerprint, cache_dir, full_check)
        .await
        .expect("cache")
}

/// A new offline cache of the server at `url`, filled by a first sync.
pub async fn first_sync(url: &str, token: &str, cache_dir: &Path) -> Synced {
    let console = open_cache(url, token, cache_dir, true).await;
    let syncer = console.syncer().expect("sync");
    let started = Instant::now();
    let report = syncer.pass().await.expect("first sync");
    Synced {
        first_sync: started.elapsed(),
        rows: report.full_sync_rows.unwrap_or_default(),
        console,
    }
}

/// The figures on a server of `workflows` (`store` is its file, open here
/// too so other people's decisions can be made in it).
pub async fn figures(
    store: &Arc<LocalStore>,
    url: &str,
    token: &str,
    cache_dir: &Path,
    workflows: u64,
    smoke: bool,
) -> Vec<Figure> {
    let (bare, bytes) = bare_fetch(url, token).await;
    let synced = first_sync(url, token, cache_dir).await;
    let syncer = synced.console.syncer().expect("sync");
    let mut empty = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let report = syncer.pass().await.expect("empty sync");
        empty.push(started.elapsed());
        assert_eq!(report.pulled_changes, 0, "nothing changed on the server");
    }
    let (empty_p50, empty_p99) = percentiles(&empty);
    let n = gavel::text::thousands(workflows);
    // Before any offline decision: the delta pass must not also push.
    let delta = delta(store, &synced.console, &n, if smoke { 20 } else { 1_000 }).await;
    let commits = outbox_commits(&synced.console, if smoke { 20 } else { 200 }).await;
    let (commit_p50, commit_p99) = percentiles(&commits);
    vec![
        Figure::new(
            format!(
                "full sync of {n} workflows over loopback ({} rows)",
                gavel::text::thousands(synced.rows)
            ),
            secs(synced.first_sync),
        )
        .target("<= 5 s", synced.first_sync <= Duration::from_secs(5))
        .reference(format!(
            "bare HTTP fetch of the same pages ({:.0} MB): {}",
            bytes as f64 / 1e6,
            secs(bare)
        )),
        Figure::new(
            format!("empty incremental sync ({n}) p50 / p99"),
            format!("{} / {}", ms(empty_p50), ms(empty_p99)),
        )
        .target("p99 <= 5 ms", empty_p99 <= Duration::from_millis(5)),
        Figure::new(
            format!(
                "durable outbox commit, p50 / p99 ({} offline decisions)",
                commits.len()
            ),
            format!("{} / {}", ms(commit_p50), ms(commit_p99)),
        )
        .target("p99 <= 10 ms", commit_p99 <= Duration::from_millis(10)),
    ]
    .into_iter()
    .chain(std::iter::once(delta))
    .collect()
}

/// About 1,000 changes made on the server, then one sync pass.
pub async fn delta(
    store: &Arc<LocalStore>,
    console: &CachedBackend,
    label: &str,
    decisions: usize,
) -> Figure {
    let syncer = console.syncer().expect("sync");
    let decided = decide_on_server(store, decisions).await;
    let started = Instant::now();
    let report = syncer.pass().await.expect("delta");
    let took = started.elapsed();
    let target_applies = decisions >= 1_000 && label.starts_with("1,000,000");
    let figure = Figure::new(
        format!(
            "delta of {decided} decisions ({} changes) into a {label}-workflow cache",
            gavel::text::thousands(report.pulled_changes as u64)
        ),
        ms(took),
    );
    if target_applies {
        figure.target(
            "<= 200 ms (1,000 changes, 1,000,000 rows)",
            took <= Duration::from_millis(200),
        )
    } else {
        figure
    }
}

/// Offline decisions: each commits the cached change and its outbox row.
async fn outbox_commits(console: &CachedBackend, count: usize) -> Vec<Duration> {
    let query = QueueQuery::first(QueueFilter::for_roles(&Role::ALL), QueueSort::Age, 500);
    let page = console.queue(&query).await.expect("queue");
    let mut commits = Vec::new();
    for item in &page.items {
        if commits.len() == count {
            break;
        }
        let Some(decision) = approval(item, None) else {
            continue;
        };
        let started = Instant::now();
        if console.decide(&decision).await.is_ok() {
            commits.push(started.elapsed());
        }
    }
    assert!(!commits.is_empty(), "some offline decisions were saved");
    commits
}
