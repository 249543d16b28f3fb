//! `gavel seed` as a whole process, against a bare batched insert of the
//! same rows.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::types::Value;

use super::report::{Figure, secs};

/// Seeds `path` with `workflows` by running `gavel seed`; its wall time.
pub fn seed(path: &Path, workflows: u64) -> Duration {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .arg("--db")
        .arg(path)
        .args([
            "seed",
            "--workflows",
            &workflows.to_string(),
            "--seed",
            "42",
        ])
        .output()
        .expect("gavel seed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    started.elapsed()
}

/// Copies every row of the seeded store into a fresh file with one
/// prepared insert per table, 10,000 rows per transaction, no indexes.
fn bare_copy(seeded: &Path, target: &Path) -> Duration {
    let conn = rusqlite::Connection::open(target).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "OFF")
        .expect("sync");
    conn.execute("ATTACH DATABASE ?1 AS src", [seeded.to_string_lossy()])
        .expect("attach");
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM src.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .expect("tables")
        .query_map([], |row| row.get(0))
        .expect("tables")
        .collect::<rusqlite::Result<_>>()
        .expect("tables");
    for table in &tables {
        conn.execute_batch(&format!(
            "CREATE TABLE main.\"{table}\" AS SELECT * FROM src.\"{table}\" WHERE 0"
        ))
        .expect("create");
    }
    let started = Instant::now();
    for table in &tables {
        let mut read = conn
            .prepare(&format!("SELECT * FROM src.\"{table}\""))
            .expect("read");
        let columns = read.column_count();
        let placeholders = vec!["?"; columns].join(", ");
        let mut rows = read.query([]).expect("rows");
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(10_000);
        let flush = |batch: &mut Vec<Vec<Value>>| {
            conn.execute_batch("BEGIN").expect("begin");
            {
                let mut insert = conn
                    .prepare_cached(&format!(
                        "INSERT INTO main.\"{table}\" VALUES ({placeholders})"
                    ))
                    .expect("insert");
                for row in batch.drain(..) {
                    insert
                        .execute(rusqlite::params_from_iter(row))
                        .expect("insert row");
                }
            }
            conn.execute_batch("COMMIT").expect("commit");
        };
        while let Some(row) = rows.next().expect("row") {
            let values = (0..columns)
                .map(|index| row.get::<_, Value>(index).expect("value"))
                .collect();
            batch.push(values);
            if batch.len() == 10_000 {
                flush(&mut batch);
            }
        }
        if !batch.is_empty() {
            flush(&mut batch);
        }
    }
    started.elapsed()
}

pub fn figures(seeded: &Path, workflows: u64, took: Duration, scratch: &Path) -> Vec<Figure> {
    let bare = bare_copy(seeded, scratch);
    let rate = workflows as f64 / took.as_secs_f64();
    let bare_rate = workflows as f64 / bare.as_secs_f64();
    let size = std::fs::metadata(seeded).map_or(0, |meta| meta.len());
    vec![
        Figure::new(
            format!(
                "`gavel seed` rate ({} workflows, {:.1} GB, whole process {})",
                gavel::text::thousands(workflows),
                size as f64 / 1e9,
                secs(took)
            ),
            format!("{} workflows/s", gavel::text::thousands(rate as u64)),
        )
        .target(">= 50,000 workflows/s", rate >= 50_000.0)
        .reference(format!(
            "bare batched insert of the same rows: {} workflows/s ({})",
            gavel::text::thousands(bare_rate as u64),
            secs(bare)
        )),
    ]
}
