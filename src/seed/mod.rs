//! The data generator behind `gavel seed` and `gavel demo`.
//!
//! Layer 5, a service (docs/architecture.md): may import the parts (it
//! writes through the embedded store), the contract, the rules and the
//! ground. `options` and `generator` sit below the histories they drive.
//!
//! It builds a plausible organisation and runs its history through the real
//! policy engine and workflow state machine, one agent at a time, writing as
//! it goes: memory stays flat however many workflows are asked for. The same
//! seed and anchor date always give the same store.

mod agents;
mod frameworks;
mod generator;
mod history;
mod incidents;
mod names;
mod options;
mod people;
mod reviews;
mod trail_pipe;

use std::time::Instant;

use chrono::Utc;

use crate::backend::local::LocalStore;
use crate::backend::{BackendError, Result};
pub use frameworks::{SHIPPED_FRAMEWORKS, adopt_shipped_frameworks};
use generator::Generator;
pub use incidents::report_demo_incidents;
pub use options::{DEMO_USER, SeedOptions, SeedReport};
pub use people::POLICY_ADMINS;
use people::*;

/// Fills an empty store. `progress` hears the number of workflows written so far.
pub fn seed(
    store: &LocalStore,
    options: &SeedOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<SeedReport> {
    store.with_writer(|conn| fill(conn, &store.log_name(), options, progress))
}

/// Seeds the store file at `path` (created if missing, and empty) without
/// a journal: a seeded store is written once, and a crash mid-seed leaves a
/// file to throw away anyway, so every page is written once instead of
/// twice (WAL, then checkpoint). The file is left in WAL mode, as every
/// store is.
pub fn seed_file(
    path: &std::path::Path,
    options: &SeedOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<SeedReport> {
    // Creates and migrates the file; closing it folds the WAL back in.
    drop(LocalStore::open(path)?);
    let mut conn = rusqlite::Connection::open(path)?;
    conn.set_prepared_statement_cache_capacity(crate::backend::local::STATEMENT_CACHE);
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = OFF", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("off") {
        return Err(BackendError::Storage(format!(
            "store {} is in use by another process",
            path.display()
        )));
    }
    let report = fill(&mut conn, path, options, progress);
    conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
        row.get::<_, String>(0)
    })?;
    report
}

/// Indexes whose keys the seed writes in ascending order (agents, their
/// deployments and workflows, and each kind of trail entity, are made one
/// after another): each row lands at the end of its range, a page already
/// in the cache, cheaper than a pass over the table afterwards.
const GROWING_INDEXES: &[&str] = &[
    "trail_entity",
    "workflows_deployment",
    "workflows_agent",
    "deployments_agent",
    "audits_agent",
    "audits_agent_version",
];

fn fill(
    conn: &mut rusqlite::Connection,
    path: &std::path::Path,
    options: &SeedOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<SeedReport> {
    let started = Instant::now();
    {
        let existing: i64 =
            conn.query_row("SELECT COUNT(*) FROM deployments", [], |row| row.get(0))?;
        if existing > 0 {
            return Err(BackendError::Invalid(format!(
                "store {} already holds {existing} deployments: seed a new file",
                path.display()
            )));
        }
        // A crash mid-seed leaves a half-filled store that is simply thrown
        // away, so durability is not worth the fsyncs here.
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -256_000)?;
        // Building an index once, sorted, beats updating it row by row at
        // random places (those the seed fills in order stay); the
        // definitions come from the schema itself, so none is lost.
        let indexes: Vec<(String, String)> = conn
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                 AND tbl_name IN ('workflows', 'deployments', 'deployment_policies', 'trail', 'audits', 'reviews', 'agents')",
            )?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .filter(|index: &rusqlite::Result<(String, String)>| {
                !matches!(index, Ok((name, _)) if GROWING_INDEXES.contains(&name.as_str()))
            })
            .collect::<rusqlite::Result<_>>()?;
        for (name, _) in &indexes {
            conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
        }
        let result =
            Generator::new(conn, options).and_then(|generator| generator.run(conn, progress));
        // Both cores sort the index entries.
        conn.pragma_update(None, "threads", 2)?;
        for (_, sql) in &indexes {
            conn.execute_batch(sql)?;
        }
        let finished = result.and_then(|mut report| {
            // One transaction: approving a set rebuilds every agent's
            // standing, and a commit per row (autocommit) costs a pass
            // over the whole page cache each.
            conn.execute_batch("BEGIN")?;
            crate::backend::local::writes::refresh_standing_since(
                &crate::db::Connection::sqlite(conn),
                None,
            )?;
            record_checks(conn, options)?;
            record_organisation_sets(conn, options)?;
            conn.execute_batch("COMMIT")?;
            // Sampled statistics (SQLite's advice for large stores): the
            // planner needs proportions, not a pass over the whole file.
            conn.execute_batch("PRAGMA analysis_limit = 2000; ANALYZE")?;
            report.seconds = started.elapsed().as_secs_f64();
            Ok(report)
        });
        // Durable from here on, as every store is; nothing before this was
        // worth an fsync (a crash leaves a file to throw away).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -16_000)?;
        finished
    }
}

/// The pipelines' deployment checks: most records were checked within the
/// last three weeks; one in twelve not since it stood, so the oldest of
/// those are dormant. Spread by row, so a seed gives the same store.
fn record_checks(conn: &rusqlite::Connection, options: &SeedOptions) -> Result<()> {
    conn.execute(
        "INSERT INTO version_checks (agent_id, agent_version, last_checked_at)
         SELECT agent_id, version, MAX(standing_since, ?1 - (rowid * 7919) % (21 * 86400000))
         FROM agents WHERE standing_since IS NOT NULL AND rowid % 12 <> 0",
        [options.anchor.timestamp_millis()],
    )?;
    Ok(())
}

/// The organisation's own rules, recorded as a second policy set version
/// (after version 1, which the store was created with): proposed by one
/// policy admin, approved by another. A third version waits for a second
/// policy admin (the demo user is one), so the console shows a proposal
/// to decide.
fn record_organisation_sets(conn: &rusqlite::Connection, options: &SeedOptions) -> Result<()> {
    let at = Utc::now().max(options.anchor);
    let (proposer, approver) = (POLICY_ADMINS[0].0, POLICY_ADMINS[1].0);
    let record = crate::backend::local::record_policy_set;
    let store = crate::db::Connection::sqlite(conn);
    record(&store, proposer, Some(approver), &seeded_policy_set(), at)?;
    record(
        &store,
        proposer,
        None,
        &proposed_policy_set(),
        at + chrono::TimeDelta::minutes(2),
    )?;
    Ok(())
}
