//! The embedded store's migrations 16 to 20: the figures it keeps so that
//! leadership's views read a few rows (standings, blocked counts, outcomes,
//! decision times), beside the record's own schema (`schema`).

use rusqlite::Transaction;

/// 20: totals the dashboard reads a row per day or team of: standings
/// counted per kind, day of first expiry and day a failing verdict ends
/// (`reads::standing_days`; an index on `failing_until` finds the few
/// whose verdict ends today), and blocked deployments per team and per
/// day of request (`writes::figures`).
pub(super) fn create_kept_totals(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(KEPT_TOTALS)
}

/// The tables, their index and first fill, in the SQL both engines read
/// (PostgreSQL's migration 7 is this file).
const KEPT_TOTALS: &str = include_str!("../../../migrations/postgres/0007_kept_totals.sql");

/// 19: leadership's figures kept as counts (`writes::figures`): workflow
/// outcomes per week, team and status; decided steps' waits per week,
/// team, role and histogram bucket (and the same over every team, which
/// the dashboard reads); requests per week, team and outcome;
/// blocked deployments per day of request and team. Filled when the store
/// opens (counting reads each workflow's steps).
pub(super) fn create_kept_figures(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE workflow_outcomes (
            week   INTEGER NOT NULL,
            team   TEXT NOT NULL,
            status TEXT NOT NULL,
            n      INTEGER NOT NULL,
            PRIMARY KEY (week, team, status)
        ) WITHOUT ROWID;
        CREATE TABLE decision_times (
            week   INTEGER NOT NULL,
            team   TEXT NOT NULL,
            role   TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            n      INTEGER NOT NULL,
            PRIMARY KEY (week, team, role, bucket)
        ) WITHOUT ROWID;
        CREATE TABLE role_decision_times (
            week   INTEGER NOT NULL,
            role   TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            n      INTEGER NOT NULL,
            PRIMARY KEY (week, role, bucket)
        ) WITHOUT ROWID;
        CREATE TABLE request_weeks (
            week    INTEGER NOT NULL,
            team    TEXT NOT NULL,
            outcome TEXT NOT NULL,
            n       INTEGER NOT NULL,
            PRIMARY KEY (week, team, outcome)
        ) WITHOUT ROWID;
        CREATE TABLE blocked_days (
            day  INTEGER NOT NULL,
            team TEXT NOT NULL,
            n    INTEGER NOT NULL,
            PRIMARY KEY (day, team)
        ) WITHOUT ROWID;",
    )
}

/// 18: standings read a page at a time, most urgent first: each kind of
/// attention is one range of an index in display order (first expiry,
/// lowercased name, id), so no expiry is stored as NULL (`i64::MAX`:
/// none) and the name's sort key is kept. The table is refilled when the
/// store opens (judging needs the compiled policy set).
pub(super) fn order_agent_standings(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP TABLE agent_standings;
        CREATE TABLE agent_standings (
            agent_id      TEXT PRIMARY KEY,
            team          TEXT NOT NULL,
            name_key      TEXT NOT NULL,
            base          TEXT NOT NULL,
            expires_at    INTEGER NOT NULL,
            failing_until INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX agent_standings_by_base
            ON agent_standings (base, expires_at, name_key, agent_id, team, failing_until);
        CREATE INDEX agent_standings_by_expiry
            ON agent_standings (expires_at, name_key, agent_id, team, failing_until);",
    )
}

/// 17: how many blocked deployments each policy blocks, kept with each
/// status change (`writes::blocked`) so the dashboard reads a few rows.
pub(super) fn create_blocked_policy_counts(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE blocked_policy_counts (
            policy_id TEXT PRIMARY KEY,
            n         INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO blocked_policy_counts (policy_id, n)
        SELECT p.policy_id, COUNT(*) FROM deployments d
          JOIN deployment_policies p ON p.deployment_id = d.deployment_id AND p.blocking = 1
        WHERE d.status = 'blocked' GROUP BY p.policy_id;",
    )
}

/// 16: every agent's audit standing with the clock taken out, so counting
/// standings reads one small table (`writes::standings`). Filled when the
/// store opens (judging needs the compiled policy set).
pub(super) fn create_agent_standings(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE agent_standings (
            agent_id      TEXT PRIMARY KEY,
            team          TEXT NOT NULL,
            base          TEXT NOT NULL,
            expires_at    INTEGER,
            failing_until INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX agent_standings_by_base ON agent_standings (base, expires_at);
        CREATE INDEX agent_standings_by_expiry ON agent_standings (expires_at, failing_until);",
    )
}
