//! Criterion timings of the console's in-process work, at two store sizes,
//! beside a bare ratatui table of the same rows: one frame of the queue, a
//! one-row move (key, store, redraw), and the queue's first page.
//!
//! `cargo bench --bench console_frames` (100,000 vs 1,000 workflows). The
//! figures table with targets is `cargo bench --bench figures`.

#[allow(dead_code)]
#[path = "figures/console.rs"]
mod console;
#[allow(dead_code)]
#[path = "figures/report.rs"]
mod report;

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{GovernanceBackend, QueueFilter, QueueQuery, QueueSort};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;

fn seeded(dir: &std::path::Path, workflows: u64) -> Arc<LocalStore> {
    let path = dir.join(format!("{workflows}.db"));
    gavel::seed::seed_file(
        &path,
        &gavel::seed::SeedOptions {
            workflows,
            seed: 42,
            anchor: chrono::Utc::now(),
        },
        &mut |_| {},
    )
    .expect("seed");
    LocalStore::open(&path).expect("store")
}

fn sizes() -> [u64; 2] {
    // Under `cargo test` the benchmark runs once, small.
    if std::env::args().any(|arg| arg == "--bench") {
        [1_000, 100_000]
    } else {
        [300, 1_000]
    }
}

fn console_work(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut frames = c.benchmark_group("queue frame");
    for workflows in sizes() {
        let store = seeded(dir.path(), workflows);
        let terminal =
            Terminal::new(TestBackend::new(console::WIDTH, console::HEIGHT)).expect("terminal");
        let mut driver = runtime.block_on(console::Driver::open(&store, terminal));
        frames.bench_with_input(
            BenchmarkId::new("console", workflows),
            &workflows,
            |b, _| b.iter(|| driver.draw()),
        );
        frames.bench_with_input(
            BenchmarkId::new("move one row", workflows),
            &workflows,
            |b, _| b.iter(|| runtime.block_on(driver.key(KeyCode::Char('j')))),
        );
        let visible: Vec<gavel::backend::QueueItem> =
            driver.app.queue.rows.iter().take(36).cloned().collect();
        let mut bare =
            Terminal::new(TestBackend::new(console::WIDTH, console::HEIGHT)).expect("terminal");
        frames.bench_with_input(
            BenchmarkId::new("bare table", workflows),
            &workflows,
            |b, _| b.iter(|| console::bare_table(&mut bare, &visible, 0)),
        );
        // The demo user's own queue: their roles, less their requests and
        // the workflows they decided a step of.
        let reader = LocalBackend::new(Arc::clone(&store), Some(gavel::seed::DEMO_USER.into()));
        let query = QueueQuery::first(QueueFilter::default(), QueueSort::Age, 100);
        frames.bench_with_input(
            BenchmarkId::new("first page read", workflows),
            &workflows,
            |b, _| b.iter(|| runtime.block_on(reader.queue(&query)).expect("page")),
        );
    }
    frames.finish();
}

criterion_group!(benches, console_work);
criterion_main!(benches);
