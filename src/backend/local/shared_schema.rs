//! The embedded store's later migrations (21 on), whose SQL is
//! PostgreSQL's file for the same change, run by SQLite as written (or,
//! where a clock is read, each one's way).

use rusqlite::Transaction;

/// 27: when each incident's next deadline alert falls (PostgreSQL's
/// migration 14 is the same text).
/// 29: the organisation's directory, as SCIM provisions it (PostgreSQL's
/// migration 15, the same text).
pub(super) fn create_directory(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!(
        "../../../migrations/postgres/0015_directory.sql"
    ))
}

/// 30: the board report's weekly counts the other kept figures lack
/// (steps' alerts, bias audits), per team, and its schedules (PostgreSQL's
/// migration 16, the same text).
pub(super) fn create_report_weeks(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!(
        "../../../migrations/postgres/0016_board_report.sql"
    ))
}

pub(super) fn add_incident_alerts(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!(
        "../../../migrations/postgres/0014_incident_alerts.sql"
    ))
}

/// 26: when a check last found each agent version in use (PostgreSQL's
/// migration 13 makes the same table; the clock is written each one's
/// way): what stands now counts as in use from the upgrade.
pub(super) fn create_version_checks(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE version_checks (
            agent_id        TEXT NOT NULL,
            agent_version   TEXT NOT NULL,
            last_checked_at BIGINT NOT NULL,
            PRIMARY KEY (agent_id, agent_version)
        );
        INSERT INTO version_checks (agent_id, agent_version, last_checked_at)
        SELECT agent_id, version, CAST(strftime('%s', 'now') AS INTEGER) * 1000
        FROM agents WHERE standing_since IS NOT NULL;",
    )
}

/// 25: incidents with agent versions, and the suspensions they hold
/// (PostgreSQL's migration 12 is the same text).
pub(super) fn create_incidents(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!(
        "../../../migrations/postgres/0012_incidents.sql"
    ))
}

/// 24: agents by risk tier and since when their record stands, for the
/// approvals due for recertification (PostgreSQL's migration 11 is the
/// same text).
pub(super) fn index_agents_by_standing(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!(
        "../../../migrations/postgres/0011_recertification.sql"
    ))
}

/// 23: time-bound exceptions to one policy for one agent version
/// (PostgreSQL's migration 10 is the same text).
pub(super) fn create_policy_exceptions(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!(
        "../../../migrations/postgres/0010_policy_exceptions.sql"
    ))
}

/// 22: from when each agent has an unmet duty under each framework, kept
/// for leadership's coverage figures (PostgreSQL's migration 9 is the
/// same text).
pub(super) fn create_obligation_coverage(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!(
        "../../../migrations/postgres/0009_obligation_coverage.sql"
    ))
}

/// 21: intake answers per agent version and confirmations of what is in
/// place outside Gavel, for the obligations a set adopts (PostgreSQL's
/// migration 8 is the same text).
pub(super) fn create_obligations(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!(
        "../../../migrations/postgres/0008_obligations.sql"
    ))
}
