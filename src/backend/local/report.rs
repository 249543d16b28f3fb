//! The board report, as the store makes it: who may ask, the figures read
//! in one snapshot, the log's checkpoint at that snapshot, and the whole
//! signed under the log's key.

use chrono::{DateTime, Utc};

use super::logkey::LogKey;
use super::{LocalStore, log, logkey, reads, writes};
use crate::backend::{BackendError, Result};
use crate::db::{Connection, Dialect};
use crate::domain::report::{BoardReport, Period, ReportQuery, SignedReport, team_name};

/// Runs `work` in one snapshot: a SQLite reader sees each statement's own
/// otherwise (PostgreSQL's read session is a transaction already).
fn in_snapshot<T>(conn: &Connection, work: impl FnOnce() -> Result<T>) -> Result<T> {
    if conn.dialect() != Dialect::Sqlite {
        return work();
    }
    conn.execute_batch("BEGIN")?;
    let value = work();
    conn.execute_batch(if value.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    value
}

/// A checkpoint of the log at `size` entries: the one kept, or signed now
/// (a log of that size has one root, whenever it is signed).
fn checkpoint_at(conn: &Connection, key: &LogKey, size: u64, now: DateTime<Utc>) -> Result<String> {
    if let Some(note) = logkey::checkpoint_of_size(conn, size)? {
        return Ok(note);
    }
    if size == log::size(conn)? {
        return logkey::sign_checkpoint(conn, key, now);
    }
    let root = log::root(conn, size)?;
    let note = crate::domain::checkpoint::sign(&key.signer, size, root)
        .map_err(|err| BackendError::Storage(format!("cannot sign a checkpoint: {err}")))?;
    logkey::keep_checkpoint(conn, size, &note, now)?;
    Ok(note)
}

impl LocalStore {
    /// The board report over `query`'s weeks, made by `actor` at `now`.
    pub fn board_report(
        &self,
        actor: &str,
        key: &LogKey,
        query: &ReportQuery,
        now: DateTime<Utc>,
    ) -> Result<SignedReport> {
        let user = self
            .read(|conn| reads::user(conn, actor))?
            .ok_or_else(|| BackendError::Unauthenticated(format!("user {actor:?} is not known")))?;
        let period = Period::covering(query.from, query.to).map_err(BackendError::Invalid)?;
        let team = team_name(query.team.as_deref()).map_err(BackendError::Invalid)?;
        let (figures, size) = self.read(|conn| {
            let (_, set) = reads::active_set(conn)?;
            writes::check_permission(
                &user,
                &set.permissions().read_reports,
                "making the board report",
            )?;
            in_snapshot(conn, || {
                let figures = reads::board_figures(conn, &period, team.as_deref(), &set, now)?;
                Ok((figures, log::size(conn)?))
            })
        })?;
        let checkpoint = self.write(|conn| checkpoint_at(conn, key, size, now))?;
        let report = BoardReport::new(
            key.origin.clone(),
            period,
            team,
            (now, user.email),
            checkpoint,
            figures,
        );
        let note = crate::report::note::sign(&report, &key.signer)
            .map_err(|err| BackendError::Storage(err.to_string()))?;
        Ok(SignedReport { note })
    }
}
