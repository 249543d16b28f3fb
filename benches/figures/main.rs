//! Gavel's performance figures, each beside its target (DESIGN.md) and a
//! reference measured in the same run, so a result reads the same on a
//! slow or a fast machine.
//!
//! `cargo bench --bench figures` runs everything at full size (a
//! 1,000,000-workflow store, a 100,000-workflow server) and prints Markdown
//! tables; about six minutes on 2 cores and 12 GB of scratch space in the
//! temp directory. `-- --large N --server N` picks other sizes.
//!
//! Under `cargo test` (no `--bench` argument) everything runs once at a small
//! size as a smoke test that the benchmarks still work; nothing is timed
//! against a target there. `-- --console STORE` measures only the console,
//! on an existing store; `-- --audit` only the audit run against a loopback
//! agent; `-- --slas` only the step-SLA figures; `-- --postgres` only the
//! PostgreSQL figures (a throwaway cluster, as the tests start one);
//! `-- --deploy-path` only attestations and admission reviews;
//! `-- --observability` only what metrics and JSON logs cost a request.

mod audit;
mod board_report;
mod console;
mod deploy_path;
mod evidence;
mod leadership;
mod policy;
mod postgres;
// The tests' throwaway cluster; the benchmarks use part of it.
mod observability;
#[allow(dead_code)]
#[path = "../../tests/common/postgres.rs"]
mod postgres_cluster;
mod report;
mod seeding;
mod server;
mod slas;
mod sync;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gavel::backend::local::LocalStore;
use gavel::domain::Role;
use report::Figure;

struct Args {
    large: u64,
    server: u64,
    smoke: bool,
    browse: Option<PathBuf>,
    /// Only the console figures, on an existing store.
    console: Option<PathBuf>,
    /// Only the audit-run figure.
    audit_only: bool,
    /// Only the SLA figures.
    slas_only: bool,
    /// Only the evidence-pack figures.
    evidence_only: bool,
    /// Only the PostgreSQL figures.
    postgres_only: bool,
    /// Only leadership's views (dashboard, standings, their tabs).
    leadership_only: bool,
    /// Browse every tab too (`--browse`).
    every_tab: bool,
    /// Only the deploy path (attestations, admission).
    deploy_path_only: bool,
    /// Only what watching the server costs (`--observability`).
    observability_only: bool,
    /// Only the board report, on a store already seeded (`--report PATH`).
    report_store: Option<PathBuf>,
}

fn args() -> Args {
    let (mut large, mut server, mut bench, mut browse, mut console, mut audit_only) =
        (None, None, false, None, None, false);
    let (mut slas_only, mut evidence_only, mut postgres_only) = (false, false, false);
    let (mut leadership_only, mut every_tab, mut deploy_path_only) = (false, false, false);
    let mut observability_only = false;
    let mut report_store = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--large" => large = args.next().and_then(|n| n.parse().ok()),
            "--server" => server = args.next().and_then(|n| n.parse().ok()),
            "--browse" => browse = args.next().map(PathBuf::from),
            "--console" => console = args.next().map(PathBuf::from),
            "--report" => report_store = args.next().map(PathBuf::from),
            "--audit" => audit_only = true,
            "--slas" => slas_only = true,
            "--evidence" => evidence_only = true,
            "--postgres" => postgres_only = true,
            "--leadership" => leadership_only = true,
            "--every-tab" => every_tab = true,
            "--deploy-path" => deploy_path_only = true,
            "--observability" => observability_only = true,
            _ => {}
        }
    }
    Args {
        large: large.unwrap_or(if bench { 1_000_000 } else { 2_000 }),
        server: server.unwrap_or(if bench { 100_000 } else { 500 }),
        smoke: !bench,
        browse,
        console,
        audit_only,
        slas_only,
        evidence_only,
        postgres_only,
        leadership_only,
        every_tab,
        deploy_path_only,
        observability_only,
        report_store,
    }
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(path) = &args.browse {
        runtime.block_on(console::browse(path, args.every_tab));
        println!("{}", peak_rss_kb());
        return;
    }
    if let Some(path) = &args.console {
        let run = runtime.block_on(console::figures(
            path,
            &path.display().to_string(),
            console::Presses::Measure,
        ));
        report::print("Console", &run.figures);
        return;
    }
    let mut raw = std::env::args()
        .skip_while(|arg| arg != "--bare-loop")
        .skip(1);
    if let (Some(url), Some(n)) = (raw.next(), raw.next().and_then(|n| n.parse().ok())) {
        runtime.block_on(audit::bare_loop(&url, n));
        return;
    }
    if std::env::args().any(|arg| arg == "--serve-agent") {
        // For looking at the runner by hand: the loopback agent, until killed.
        runtime.block_on(async {
            println!("{}", audit::agent().await);
            std::future::pending::<()>().await;
        });
        return;
    }
    if let Some(path) = &args.report_store {
        let started = std::time::Instant::now();
        drop(gavel::backend::local::LocalStore::open(path).expect("open (and migrate)"));
        let opened = started.elapsed();
        let label = path.display().to_string();
        let mut figures = vec![Figure::new(
            format!("opening {label} (migrating it, the first time)"),
            report::secs(opened),
        )];
        figures.extend(board_report::figures(path, &label));
        report::print("The board report", &figures);
        return;
    }
    if args.audit_only {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = if args.smoke { 300 } else { 20_000 };
        let figures = runtime.block_on(audit::figures(dir.path(), cases));
        report::print("Audit runs", &figures);
        return;
    }
    if args.slas_only {
        let dir = tempfile::tempdir().expect("tempdir");
        let large = dir.path().join("large.db");
        seeding::seed(&large, args.large);
        let label = format!("{} workflows", gavel::text::thousands(args.large));
        let steps = if args.smoke { 40 } else { 2_000 };
        let figures = runtime.block_on(slas::figures(&large, &label, dir.path(), steps));
        report::print("Step SLAs", &figures);
        return;
    }
    if args.evidence_only {
        let dir = tempfile::tempdir().expect("tempdir");
        let large = dir.path().join("large.db");
        seeding::seed(&large, args.large);
        let label = format!("beside {} workflows", gavel::text::thousands(args.large));
        let workflows = if args.smoke { 50 } else { 1_000 };
        let figures = runtime.block_on(evidence::figures(&large, &label, workflows));
        report::print("Evidence packs", &figures);
        return;
    }
    if args.deploy_path_only {
        let dir = tempfile::tempdir().expect("tempdir");
        let large = dir.path().join("large.db");
        seeding::seed(&large, args.large);
        let label = format!("{} workflows", gavel::text::thousands(args.large));
        let mut figures = deploy_path::figures(&large, &label);
        let window = Duration::from_secs(if args.smoke { 1 } else { 10 });
        figures.extend(runtime.block_on(deploy_path::webhook_latency(
            &large,
            dir.path(),
            &label,
            window,
        )));
        report::print("The deploy path", &figures);
        return;
    }
    if args.observability_only {
        let dir = tempfile::tempdir().expect("tempdir");
        let large = dir.path().join("large.db");
        seeding::seed(&large, args.large);
        let label = format!("{} workflows", gavel::text::thousands(args.large));
        let rounds = if args.smoke { 1 } else { 20 };
        let figures = runtime.block_on(observability::figures(&large, dir.path(), &label, rounds));
        report::print("Watching the server", &figures);
        return;
    }
    if args.leadership_only {
        let dir = tempfile::tempdir().expect("tempdir");
        let figures = runtime.block_on(leadership(&args, dir.path(), None));
        report::print("Leadership's views", &figures);
        return;
    }
    if args.postgres_only {
        let dir = tempfile::tempdir().expect("tempdir");
        let (large, served) = (dir.path().join("large.db"), dir.path().join("served.db"));
        seeding::seed(&large, args.large);
        seeding::seed(&served, args.server);
        let figures = runtime.block_on(on_postgres(&args, &large, &served, dir.path()));
        report::print("PostgreSQL", &figures);
        return;
    }
    runtime.block_on(run(args));
}

/// The PostgreSQL figures on the seeded `large` and `served` files.
async fn on_postgres(args: &Args, large: &Path, served: &Path, dir: &Path) -> Vec<Figure> {
    let large_label = format!("{} workflows", gavel::text::thousands(args.large));
    let served_label = format!("{} workflows", gavel::text::thousands(args.server));
    let stores = postgres::Stores {
        large,
        large_label: &large_label,
        served,
        served_label: &served_label,
        dir,
    };
    postgres::figures(&stores, args.smoke).await
}

/// Leadership's views on the large store (seeded here unless given) beside
/// a store a tenth its size, and the console's peak after every tab.
async fn leadership(args: &Args, dir: &Path, seeded: Option<&Path>) -> Vec<Figure> {
    let large = match seeded {
        Some(path) => path.to_owned(),
        None => {
            let path = dir.join("large.db");
            seeding::seed(&path, args.large);
            path
        }
    };
    let tenth = (args.large / 10).max(1_000);
    let small = dir.join("tenth.db");
    seeding::seed(&small, tenth);
    let large_label = format!("{} workflows", gavel::text::thousands(args.large));
    let small_label = format!("{} workflows", gavel::text::thousands(tenth));
    let mut figures = leadership::figures(&large, &large_label, &small, &small_label).await;
    figures.extend(board_report::figures(&large, &large_label));
    let rss = browsing_rss(&large, true);
    figures.push(
        Figure::new(
            format!("peak RSS after browsing every tab, {large_label}"),
            format!("{:.0} MB", rss as f64 / 1024.0),
        )
        .target("<= 150 MB", rss <= 150 * 1024),
    );
    figures
}

/// This process's peak resident set, in KB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

/// Browses `path` (the queue, or `every_tab`) in a process of its own;
/// its peak RSS in KB.
fn browsing_rss(path: &Path, every_tab: bool) -> u64 {
    let output = Command::new(std::env::current_exe().expect("this benchmark"))
        .arg("--browse")
        .arg(path)
        .args(every_tab.then_some("--every-tab"))
        .output()
        .expect("browse");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("RSS")
}

/// The demo user, holding every role, and a fresh token of theirs.
fn user_token(store: &LocalStore) -> String {
    let every_role = gavel::backend::local::writes::UserChange {
        roles: Some(Role::ALL.to_vec()),
        ..Default::default()
    };
    store
        .update_user("benchmark", gavel::seed::DEMO_USER, &every_role)
        .expect("user");
    store
        .rotate_token("benchmark", gavel::seed::DEMO_USER)
        .expect("token")
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let large = dir.path().join("large.db");
    let label = gavel::text::thousands(args.large);
    eprintln!("seeding {label} workflows…");
    let took = seeding::seed(&large, args.large);
    let store_figures =
        seeding::figures(&large, args.large, took, &dir.path().join("bare-copy.db"));
    let _ = std::fs::remove_file(dir.path().join("bare-copy.db"));
    let mut store_figures = store_figures;
    store_figures.extend(policy::figures(&large, &format!("{label} workflows")));
    store_figures.extend(deploy_path::figures(&large, &format!("{label} workflows")));
    let window = Duration::from_secs(if args.smoke { 1 } else { 10 });
    store_figures.extend(
        deploy_path::webhook_latency(&large, dir.path(), &format!("{label} workflows"), window)
            .await,
    );

    eprintln!("driving the console…");
    let small = dir.path().join("small.db");
    seeding::seed(&small, 1_000);
    let presses = console::Presses::of(args.smoke);
    let on_large = console::figures(&large, &format!("{label} workflows"), presses).await;
    let on_small = console::figures(&small, "1,000 workflows", presses).await;
    let mut console_figures = on_large.figures;
    let ratio = on_large.frame.as_secs_f64() / on_small.frame.as_secs_f64().max(1e-9);
    console_figures.push(
        Figure::new(
            format!("frame cost at {label} vs 1,000 workflows"),
            format!(
                "{ratio:.2}x ({} vs {})",
                report::ms(on_large.frame),
                report::ms(on_small.frame)
            ),
        )
        .target("<= 1.5x", ratio <= 1.5),
    );
    let bytes = console::bytes_for_one_row_move(&large).await;
    console_figures.push(
        Figure::new(
            "bytes written to the terminal for a one-row move",
            format!("{} B", gavel::text::thousands(bytes as u64)),
        )
        .target("<= 8 KB", bytes <= 8 * 1024),
    );
    let rss = browsing_rss(&large, false);
    console_figures.push(
        Figure::new(
            format!("peak RSS while browsing {label} workflows"),
            format!("{:.0} MB", rss as f64 / 1024.0),
        )
        .target("<= 100 MB", rss <= 100 * 1024),
    );

    eprintln!("leadership's views…");
    let leadership_figures = leadership(&args, dir.path(), Some(&large)).await;

    eprintln!("syncing and serving…");
    let served = dir.path().join("served.db");
    seeding::seed(&served, args.server);
    let server_store = LocalStore::open(&served).expect("store");
    let token = user_token(&server_store);
    let server = sync::serve(&served);
    let server_label = gavel::text::thousands(args.server);
    let mut sync_figures = sync::figures(
        &server_store,
        &server.1,
        &token,
        &dir.path().join("cache-server"),
        args.server,
        args.smoke,
    )
    .await;
    let seconds = if args.smoke { 1 } else { 5 };
    let mut server_figures = server::figures(
        &server.1,
        &token,
        &format!("{server_label} workflows"),
        seconds,
    )
    .await;
    drop(server);

    // A delta into a cache as large as the large store.
    let large_store = LocalStore::open(&large).expect("store");
    let token = user_token(&large_store);
    let server = sync::serve(&large);
    let synced = sync::first_sync(&server.1, &token, &dir.path().join("cache-large")).await;
    sync_figures.push(Figure::new(
        format!(
            "full sync of {label} workflows ({} rows), for scale",
            gavel::text::thousands(synced.rows)
        ),
        report::secs(synced.first_sync),
    ));
    sync_figures.push(
        sync::delta(
            &large_store,
            &synced.console,
            &label,
            if args.smoke { 20 } else { 1_000 },
        )
        .await,
    );
    drop(server);
    server_figures.extend(
        observability::figures(
            &large,
            dir.path(),
            &format!("{label} workflows"),
            if args.smoke { 1 } else { 20 },
        )
        .await,
    );

    eprintln!("alerting steps with an SLA…");
    let sla_figures = slas::figures(
        &large,
        &format!("{label} workflows"),
        dir.path(),
        if args.smoke { 40 } else { 2_000 },
    )
    .await;

    eprintln!("running an audit against a loopback agent…");
    let audit_figures = audit::figures(dir.path(), if args.smoke { 300 } else { 20_000 }).await;

    eprintln!("on PostgreSQL…");
    let served = dir.path().join("served-postgres.db");
    seeding::seed(&served, args.server);
    let postgres_figures = on_postgres(&args, &large, &served, dir.path()).await;

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\nGavel figures, {} on {cores} cores{}",
        chrono::Local::now().format("%Y-%m-%d"),
        if args.smoke {
            " (smoke run: small sizes, targets do not apply)"
        } else {
            ""
        }
    );
    report::print("Store", &store_figures);
    report::print("Console", &console_figures);
    report::print("Leadership's views", &leadership_figures);
    report::print("Offline cache and sync", &sync_figures);
    report::print("Server", &server_figures);
    report::print("Audit runs", &audit_figures);
    report::print("Step SLAs", &sla_figures);
    report::print("PostgreSQL", &postgres_figures);
}
