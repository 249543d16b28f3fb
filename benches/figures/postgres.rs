//! The store on PostgreSQL beside the embedded store, on the same generated
//! record in the same run: copying a large store in, queue pages at that
//! size, the console on the database and against servers on it, and
//! decisions per second through one and two `gavel serve` on one database,
//! with what the writers' advisory lock costs a bare commit.
//!
//! The cluster is a throwaway one (tests/common/postgres.rs) with `fsync`
//! on, as production runs it: a decision is durable on both engines.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{GovernanceBackend, QueueFilter, QueueQuery, QueueSort};
use gavel::domain::{RiskTier, Role};
use gavel::seed::DEMO_USER;
use sqlx_core::executor::Executor as _;
use sqlx_core::sql_str::AssertSqlSafe;

use super::console::{self, ConsoleRun};
use super::postgres_cluster::{Cluster, shared_server_config};
use super::report::{Figure, ms, percentiles, secs};
use super::server::{CLIENTS, throughput};
use super::sync::{Server, first_sync, open_cache, serve, serve_on_database};

/// Where the figures run: the two seeded files and a scratch directory.
pub struct Stores<'a> {
    /// The large store (`large_label` workflows): copy, pages, console.
    pub large: &'a Path,
    pub large_label: &'a str,
    /// The served store: throughput and the console's offline cache.
    pub served: &'a Path,
    pub served_label: &'a str,
    pub dir: &'a Path,
}

/// Every PostgreSQL figure; `smoke` runs each briefly, only to prove it
/// still works.
pub async fn figures(stores: &Stores<'_>, smoke: bool) -> Vec<Figure> {
    let seconds = if smoke { 1 } else { 5 };
    let presses = console::Presses::of(smoke);
    let cluster = Cluster::start_durable();
    let config = shared_server_config(stores.dir, "");
    let mut figures = Vec::new();

    eprintln!("copying {} into PostgreSQL…", stores.large_label);
    let large_url = cluster.create_database("large");
    figures.push(copy_into(stores.large, &large_url, stores.large_label));

    eprintln!("reading queue pages from both stores…");
    let sqlite = LocalStore::open(stores.large).expect("store");
    let postgres = LocalStore::connect(&large_url).await.expect("connect");
    let runs = if smoke { 10 } else { 100 };
    figures.extend(queue_pages(&sqlite, &postgres, stores.large_label, runs).await);
    drop((sqlite, postgres));

    eprintln!("driving the console on PostgreSQL…");
    let on_file = console::figures(stores.large, stores.large_label, presses).await;
    let bare = bare_first_page(&large_url).await;
    let on_database = console::measure(
        async { console::local(&LocalStore::connect(&large_url).await.expect("connect")) },
        &format!("`gavel --database-url`, {}", stores.large_label),
        String::new(),
        presses,
    )
    .await;
    figures.extend(beside(
        on_database,
        &on_file,
        &format!("bare PostgreSQL read of the page: {}", ms(bare)),
    ));

    let served_url = cluster.create_database("served");
    copy_into(stores.served, &served_url, stores.served_label);
    let servers = Servers {
        large_url: &large_url,
        served_url: &served_url,
        config: &config,
    };
    eprintln!("driving the console against servers on both stores…");
    figures.extend(consoles_online(stores, &servers, presses).await);
    eprintln!("deciding through one and two servers…");
    figures.extend(decisions(stores, &servers, seconds).await);
    figures.push(lock_cost(&cluster.create_database("bare"), seconds).await);
    figures
}

/// The databases the servers run on, and their shared config (log key).
struct Servers<'a> {
    large_url: &'a str,
    served_url: &'a str,
    config: &'a Path,
}

/// A server on the SQLite file and one on its copy in PostgreSQL, with a
/// fresh token of the demo user's for each.
struct Pair {
    on_file: (Server, String),
    on_database: (Server, String),
}

impl Pair {
    async fn start(file: &Path, url: &str, config: &Path) -> Pair {
        let file_store = LocalStore::open(file).expect("store");
        let database_store = LocalStore::connect(url).await.expect("connect");
        let tokens = tokio::task::spawn_blocking(move || {
            (
                super::user_token(&file_store),
                super::user_token(&database_store),
            )
        })
        .await
        .expect("tokens");
        Pair {
            on_file: (serve(file), tokens.0),
            on_database: (serve_on_database(url, config), tokens.1),
        }
    }
}

fn online((server, token): &(Server, String)) -> Arc<dyn GovernanceBackend> {
    Arc::new(HttpBackend::new(&server.1, Token::new(token.clone())).expect("client"))
}

/// The console against a server on each store: without an offline cache
/// (every key asks the server) on the large store, and the offline cache's
/// first frame, new and warm, on the served one.
async fn consoles_online(
    stores: &Stores<'_>,
    servers: &Servers<'_>,
    presses: console::Presses,
) -> Vec<Figure> {
    let large = Pair::start(stores.large, servers.large_url, servers.config).await;
    let label = format!(
        "through `gavel serve`, no offline cache, {}",
        stores.large_label
    );
    // A console opened before, as servers that have run a while have
    // warm connections (to their database, too) and a warm cache.
    for server in [&large.on_file, &large.on_database] {
        console::Driver::open_on(online(server), console::test_terminal()).await;
    }
    let file_run = console::measure(
        async { online(&large.on_file) },
        &label,
        String::new(),
        presses,
    )
    .await;
    let database_run = console::measure(
        async { online(&large.on_database) },
        &label,
        String::new(),
        presses,
    )
    .await;
    let mut figures = beside(database_run, &file_run, "");
    drop(large);

    let served = Pair::start(stores.served, servers.served_url, servers.config).await;
    let on_file = cached_first_frames(&served.on_file, &stores.dir.join("cache-file")).await;
    let on_database =
        cached_first_frames(&served.on_database, &stores.dir.join("cache-database")).await;
    let label = stores.served_label;
    figures.push(
        Figure::new(
            format!("console with a new offline cache: first sync and first frame ({label})"),
            secs(on_database.0),
        )
        .reference(format!("SQLite server: {}", secs(on_file.0))),
    );
    figures.push(
        Figure::new(
            format!("console with its offline cache: first frame on reopening ({label})"),
            ms(on_database.1),
        )
        .target("<= 200 ms", on_database.1 <= Duration::from_millis(200))
        .reference(format!("SQLite server: {}", ms(on_file.1))),
    );
    figures
}

/// Decisions per second through one server on the served SQLite file, one
/// server on its copy in PostgreSQL, and two servers on that database.
async fn decisions(stores: &Stores<'_>, servers: &Servers<'_>, seconds: u64) -> Vec<Figure> {
    let pair = Pair::start(stores.served, servers.served_url, servers.config).await;
    let file = throughput(
        std::slice::from_ref(&pair.on_file.0.1),
        &pair.on_file.1,
        seconds,
        0,
    )
    .await;
    let first = &pair.on_database.0;
    let token = &pair.on_database.1;
    let one = throughput(std::slice::from_ref(&first.1), token, seconds, 1).await;
    let second = serve_on_database(servers.served_url, servers.config);
    let two = throughput(&[first.1.clone(), second.1.clone()], token, seconds, 0).await;
    drop((second, pair));

    let label = stores.served_label;
    vec![
        Figure::new(
            format!("server on PostgreSQL: decisions/s ({label}, {CLIENTS} clients, each a durable commit)"),
            format!("{:.0}/s", one.decisions),
        )
        .reference(format!("SQLite server: {:.0}/s", file.decisions)),
        Figure::new(
            format!("two servers on one PostgreSQL database: decisions/s ({label}, {CLIENTS} clients dealt over both)"),
            format!("{:.0}/s", two.decisions),
        )
        .reference(format!("one server: {:.0}/s", one.decisions)),
        Figure::new(
            format!("server on PostgreSQL: queue pages/s ({label}, {CLIENTS} clients, 50 rows, 4 roles)"),
            format!("{:.0}/s", one.reads),
        )
        .reference(format!("SQLite server: {:.0}/s", file.reads)),
        Figure::new(
            format!("two servers on one PostgreSQL database: queue pages/s ({label})"),
            format!("{:.0}/s", two.reads),
        )
        .reference(format!("one server: {:.0}/s", one.reads)),
    ]
}

/// `gavel store copy` of the file at `from` into the database at `to`.
fn copy_into(from: &Path, to: &str, label: &str) -> Figure {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["store", "copy", "--json", "--from"])
        .arg(from)
        .args(["--to", to])
        .output()
        .expect("gavel store copy");
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("report");
    let rows: u64 = report["tables"]
        .as_object()
        .map(|tables| tables.values().filter_map(|rows| rows.as_u64()).sum())
        .unwrap_or_default();
    Figure::new(
        format!(
            "`gavel store copy` of {label} into PostgreSQL ({} rows, counts and log root checked)",
            gavel::text::thousands(rows)
        ),
        secs(took),
    )
    .reference(format!(
        "{} rows/s",
        gavel::text::thousands((rows as f64 / took.as_secs_f64()) as u64)
    ))
}

/// p50/p99 of `runs` queue reads on each store, PostgreSQL measured and
/// SQLite as the reference.
async fn queue_pages(
    sqlite: &Arc<LocalStore>,
    postgres: &Arc<LocalStore>,
    label: &str,
    runs: usize,
) -> Vec<Figure> {
    let on_file = LocalBackend::new(Arc::clone(sqlite), Some(DEMO_USER.into()));
    let on_database = LocalBackend::new(Arc::clone(postgres), Some(DEMO_USER.into()));
    let mine = QueueFilter::for_roles(&Role::ALL);
    let high_risk = QueueFilter {
        risk: Some(RiskTier::High),
        ..mine.clone()
    };
    // A word of a waiting agent's name, so the search finds rows however
    // small the store (a fixed word may name no agent of a smoke run's).
    let word = on_file
        .queue(&QueueQuery::first(
            QueueFilter::everything(),
            QueueSort::Age,
            1,
        ))
        .await
        .expect("a queue page")
        .items
        .first()
        .and_then(|item| {
            item.agent_name
                .split_whitespace()
                .next()
                .map(str::to_lowercase)
        })
        .unwrap_or_else(|| "credit".into());
    let searched = QueueFilter {
        search: Some(word),
        ..QueueFilter::everything()
    };
    let twentieth = twentieth_page(&on_database, &mine).await;
    assert_eq!(
        twentieth.cursor,
        twentieth_page(&on_file, &mine).await.cursor,
        "both stores hold the same queue"
    );
    let reads: [(&str, Read); 5] = [
        (
            "first page, 4 roles, by age",
            Read::Page(QueueQuery::first(mine.clone(), QueueSort::Age, 50)),
        ),
        ("page 20 by cursor", Read::Page(twentieth)),
        (
            "first page, high risk first",
            Read::Page(QueueQuery::first(high_risk, QueueSort::Risk, 50)),
        ),
        (
            "first page of a search (a word of an agent's name, every workflow)",
            Read::Page(QueueQuery::first(searched, QueueSort::Age, 50)),
        ),
        ("count of the queue, 4 roles", Read::Count(mine)),
    ];
    let mut figures = Vec::new();
    for (what, read) in reads {
        // A count reads the whole queue: fewer of them.
        let runs = if matches!(read, Read::Count(_)) {
            (runs / 5).max(2)
        } else {
            runs
        };
        let (file_p50, file_p99) = percentiles(&read.timed(&on_file, runs).await);
        let (p50, p99) = percentiles(&read.timed(&on_database, runs).await);
        figures.push(
            Figure::new(
                format!("queue read on PostgreSQL: {what} ({label}, 50 rows) p50 / p99"),
                format!("{} / {}", ms(p50), ms(p99)),
            )
            .reference(format!("SQLite: {} / {}", ms(file_p50), ms(file_p99))),
        );
    }
    figures
}

enum Read {
    Page(QueueQuery),
    Count(QueueFilter),
}

impl Read {
    async fn timed(&self, backend: &LocalBackend, runs: usize) -> Vec<Duration> {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            match self {
                Read::Page(query) => {
                    let page = backend.queue(query).await.expect("page");
                    assert!(!page.items.is_empty(), "a page with rows");
                }
                Read::Count(filter) => {
                    backend.queue_count(filter).await.expect("count");
                }
            }
            samples.push(started.elapsed());
        }
        samples
    }
}

/// The query for the 20th page of 50 of `filter`, by age.
/// The query of the twentieth page of 50, or of the last page a smaller
/// store has (a page read by cursor must have rows to measure).
async fn twentieth_page(backend: &LocalBackend, filter: &QueueFilter) -> QueueQuery {
    let mut query = QueueQuery::first(filter.clone(), QueueSort::Age, 50);
    for _ in 1..20 {
        let page = backend.queue(&query).await.expect("page");
        if !page.more_after {
            break;
        }
        query.cursor = page.last_cursor(QueueSort::Age);
    }
    query
}

/// The first page of the demo user's queue, read with one bare query over
/// one connection (the reference for the console's first frame).
async fn bare_first_page(url: &str) -> Duration {
    let started = Instant::now();
    let pool = gavel::db::postgres::connect(url, 1).await.expect("connect");
    let rows = pool
        .fetch_all(AssertSqlSafe(
            "SELECT workflow_id, agent_name, team, current_step, \"current_role\", urgency, waiting_since
             FROM workflows WHERE status = 'in_progress'
               AND \"current_role\" IN ('technical_lead', 'data_steward', 'ethics_reviewer', 'compliance_officer')
             ORDER BY waiting_since, workflow_id LIMIT 100",
        ))
        .await
        .expect("query");
    assert!(!rows.is_empty());
    let took = started.elapsed();
    pool.close().await;
    took
}

/// The console's figures on PostgreSQL, each beside the same figure on the
/// SQLite file; the first frame's beside `first_frame_reference` too.
fn beside(
    on_database: ConsoleRun,
    on_file: &ConsoleRun,
    first_frame_reference: &str,
) -> Vec<Figure> {
    on_database
        .figures
        .into_iter()
        .zip(&on_file.figures)
        .enumerate()
        .map(|(index, (figure, file))| {
            let reference = format!("SQLite: {}", file.measured);
            if index == 0 && !first_frame_reference.is_empty() {
                figure.reference(format!("{reference}; {first_frame_reference}"))
            } else {
                figure.reference(reference)
            }
        })
        .collect()
}

/// Bare commits per second from [`CLIENTS`] connections, each a one-row
/// insert, with and without the advisory lock every store write takes: the
/// price of serializing writers (a commit waits for the one before it to
/// reach the disk, so commits no longer share a flush).
async fn lock_cost(url: &str, seconds: u64) -> Figure {
    let pool = gavel::db::postgres::connect(url, CLIENTS as u32)
        .await
        .expect("connect");
    pool.execute("CREATE TABLE bare_commits (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body TEXT NOT NULL)")
        .await
        .expect("table");
    let window = Duration::from_secs(seconds);
    let mut rates = Vec::new();
    // Locked, each transaction begins as the store's writes do.
    for begin in [None, Some(gavel::db::postgres::begin_write())] {
        let done = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (pool, done, begin) = (pool.clone(), Arc::clone(&done), begin.clone());
                tokio::spawn(async move {
                    while started.elapsed() < window {
                        let mut transaction = match &begin {
                            Some(begin) => pool.begin_with(AssertSqlSafe(begin.clone())).await,
                            None => pool.begin().await,
                        }
                        .expect("begin");
                        (&mut *transaction)
                            .execute("INSERT INTO bare_commits (body) VALUES ('a decision''s worth of text')")
                            .await
                            .expect("insert");
                        transaction.commit().await.expect("commit");
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("committer");
        }
        rates.push(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64());
    }
    pool.close().await;
    Figure::new(
        format!("what the writers' lock costs: bare one-row commits/s, {CLIENTS} connections, with the lock"),
        format!("{:.0}/s", rates[1]),
    )
    .reference(format!("without it: {:.0}/s", rates[0]))
}

/// The offline cache's first frame against a server: new (a first sync,
/// then the frame) and warm (reopened, the frame from the cache).
async fn cached_first_frames(
    (server, token): &(Server, String),
    cache_dir: &Path,
) -> (Duration, Duration) {
    let started = Instant::now();
    let synced = first_sync(&server.1, token, cache_dir).await;
    let driver = console::Driver::open_on(Arc::new(synced.console), console::test_terminal()).await;
    assert!(
        !driver.app.queue.rows.is_empty(),
        "rows after the first sync"
    );
    let new = started.elapsed();
    drop(driver);
    let started = Instant::now();
    let cache = open_cache(&server.1, token, cache_dir, false).await;
    let driver = console::Driver::open_on(Arc::new(cache), console::test_terminal()).await;
    assert!(!driver.app.queue.rows.is_empty(), "rows from the cache");
    (new, started.elapsed())
}
