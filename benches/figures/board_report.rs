//! The board report at scale: a quarter's figures from the kept weekly
//! counts, for every team and for one, and drawing its PDF, beside what
//! reading the raw rows for the same period costs.

use std::path::Path;
use std::time::Instant;

use chrono::{Duration, Utc};
use gavel::backend::local::{LocalStore, logkey};
use gavel::domain::Role;
use gavel::domain::report::ReportQuery;
use gavel::report::format::{Format, render};

use crate::report::{Figure, best_of, ms};

const OFFICER: &str = "board-bench@example.com";

pub fn figures(path: &Path, label: &str) -> Vec<Figure> {
    let store = LocalStore::open(path).expect("store");
    // Already there when the bench ran on this store before.
    let _ = store.add_user(OFFICER, "Bench", &[Role::ComplianceOfficer]);
    let key = logkey::load(&logkey::default_path(path)).expect("the store's log key");
    let today = Utc::now().date_naive();
    let quarter = |team: Option<String>| ReportQuery {
        from: today - Duration::days(91),
        to: today,
        team,
    };
    let (every_team, signed) = best_of(5, || {
        store
            .board_report(OFFICER, &key, &quarter(None), Utc::now())
            .expect("the report")
    });
    let report = gavel::report::note::read(&signed.note).expect("signed");
    assert!(
        report.figures.headline.requests > 0,
        "a seeded quarter has requests"
    );
    let team = report
        .figures
        .waits_by_team
        .first()
        .map(|waits| waits.name.clone());
    let (one_team, _) = best_of(5, || {
        store
            .board_report(OFFICER, &key, &quarter(team.clone()), Utc::now())
            .expect("a team's report")
    });
    let (pdf, bytes) = best_of(5, || {
        render(Format::Pdf, &report, &signed.note).expect("the PDF")
    });
    // What the kept counts save: reading the quarter's workflows and their
    // steps from the rows.
    let started = Instant::now();
    let (start, end) = report.period.bounds();
    let rows: i64 = store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM workflows WHERE created_at >= ?1 AND created_at < ?2 AND length(steps) > 0",
                gavel::db::params![start.timestamp_millis(), end.timestamp_millis()],
                |row| row.get(0),
            )?)
        })
        .expect("raw rows");
    let raw = started.elapsed();
    vec![
        Figure::new(
            format!(
                "board report, a quarter ({} weeks), every team, {label}",
                report.period.weeks()
            ),
            ms(every_team),
        )
        .target("<= 5 s", every_team.as_secs_f64() <= 5.0)
        .reference(format!("reading its {rows} workflows' rows: {}", ms(raw))),
        Figure::new(format!("the same for one team, {label}"), ms(one_team))
            .target("<= 5 s", one_team.as_secs_f64() <= 5.0),
        Figure::new(
            format!("drawing it as a PDF ({} KB)", bytes.len() / 1024),
            ms(pdf),
        ),
    ]
}
