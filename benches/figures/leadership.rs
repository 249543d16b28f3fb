//! Leadership's views at scale: the dashboard, the audit standings and the
//! console's Blocked and Audits tabs on the large store, each beside the
//! same figure on a store a tenth its size (cost that does not grow with
//! the record) and the full recount the kept figures save.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{GovernanceBackend, StandingQuery};

use crate::console::{Driver, test_terminal};
use crate::report::{Figure, best_of, ms};

/// One store's timings.
struct Timings {
    dashboard: Duration,
    standings_page: Duration,
    blocked_tab: Duration,
    audits_tab: Duration,
    dashboard_process: Duration,
    audit_due_process: Duration,
}

async fn timings(path: &Path) -> Timings {
    let store = LocalStore::open(path).expect("store");
    let backend = LocalBackend::new(Arc::clone(&store), None);
    let (dashboard, ()) = best_of(15, || {
        store.dashboard_at(chrono::Utc::now()).expect("dashboard");
    });
    let mut standings_page = Duration::MAX;
    for _ in 0..15 {
        let started = Instant::now();
        let page = backend
            .audit_standings(&StandingQuery::first(100))
            .await
            .expect("standings");
        standings_page = standings_page.min(started.elapsed());
        assert!(!page.standings.is_empty(), "a seeded store has agents");
    }
    Timings {
        dashboard,
        standings_page,
        blocked_tab: first_visit(&store, '4').await,
        audits_tab: first_visit(&store, '3').await,
        dashboard_process: process(path, &["dashboard", "--json"]),
        audit_due_process: process(path, &["audit", "due", "--json"]),
    }
}

/// A tab's key to the frame showing what it loaded (everything its first
/// visit asks of the store), best of seven consoles: the growth figures
/// compare two minima a millisecond apart, where three left ±10% noise.
async fn first_visit(store: &Arc<LocalStore>, key: char) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..7 {
        let mut driver = Driver::open(store, test_terminal()).await;
        best = best.min(driver.key(KeyCode::Char(key)).await);
    }
    best
}

/// A whole `gavel` process on the store, best of five.
fn process(path: &Path, args: &[&str]) -> Duration {
    let (took, ()) = best_of(5, || {
        let output = Command::new(env!("CARGO_BIN_EXE_gavel"))
            .arg("--db")
            .arg(path)
            .args(args)
            .env("GAVEL_CONFIG", "/dev/null")
            .output()
            .expect("gavel");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
    took
}

pub async fn figures(
    large: &Path,
    large_label: &str,
    small: &Path,
    small_label: &str,
) -> Vec<Figure> {
    let (at_large, at_small) = (timings(large).await, timings(small).await);
    let store = LocalStore::open(large).expect("store");
    let started = Instant::now();
    let differ = store.kept_figures_that_differ().expect("recount");
    let recount = started.elapsed();
    assert!(differ.is_empty(), "kept figures differ: {differ:?}");
    let growth = |name: &str, large: Duration, small: Duration, target: Duration| {
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
        vec![
            Figure::new(format!("{name} ({large_label})"), ms(large))
                .target(format!("<= {}", ms(target)), large <= target)
                .reference(format!("full recount of the kept figures: {}", ms(recount))),
            Figure::new(
                format!("{name}: {large_label} against {small_label}"),
                format!("{ratio:.2}x ({} vs {})", ms(large), ms(small)),
            )
            // Under a millisecond, timer noise outweighs any growth.
            .target("<= 1.2x", ratio <= 1.2 || large < Duration::from_millis(1)),
        ]
    };
    let mut figures = Vec::new();
    figures.extend(growth(
        "dashboard handler",
        at_large.dashboard,
        at_small.dashboard,
        Duration::from_millis(100),
    ));
    figures.extend(growth(
        "audit standings, first page of 100",
        at_large.standings_page,
        at_small.standings_page,
        Duration::from_millis(100),
    ));
    figures.extend(growth(
        "console: 4 (Blocked) to its figures",
        at_large.blocked_tab,
        at_small.blocked_tab,
        Duration::from_millis(200),
    ));
    figures.extend(growth(
        "console: 3 (Audits) to its list and chart",
        at_large.audits_tab,
        at_small.audits_tab,
        Duration::from_millis(200),
    ));
    figures.extend(growth(
        "`gavel dashboard --json`, whole process",
        at_large.dashboard_process,
        at_small.dashboard_process,
        Duration::from_millis(150),
    ));
    // Every agent due is listed, so this one grows with how many are due.
    figures.push(
        Figure::new(
            format!("`gavel audit due --json`, whole process ({large_label})"),
            ms(at_large.audit_due_process),
        )
        .target(
            "<= 150 ms",
            at_large.audit_due_process <= Duration::from_millis(150),
        )
        .reference(format!(
            "{small_label}: {} (the list grows with the agents due)",
            ms(at_small.audit_due_process)
        )),
    );
    figures
}
