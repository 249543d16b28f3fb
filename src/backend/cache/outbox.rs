//! The outbox: changes made against the cache that the server has not
//! confirmed yet. A row is written in the same transaction as the cached
//! change it stands for, so "saved" always means "will reach the server".

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::backend::local::rows::{from_json, from_ms, to_json, to_ms};
use crate::backend::sync::plan::{EntryState, OutboxEntry};
use crate::backend::{BackendError, Decision, Result};
use crate::domain::Answers;

/// A change waiting for the server, as the user made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Decision(Decision),
    ReviewDraft {
        review_id: String,
        answers: Answers,
        form_state: Option<serde_json::Value>,
    },
    ReviewSubmit {
        review_id: String,
        answers: Answers,
    },
}

impl Change {
    /// The entity the change applies to; changes to one entity replay in
    /// the order they were made.
    pub fn entity(&self) -> String {
        match self {
            Change::Decision(decision) => format!("workflow {}", decision.workflow_id),
            Change::ReviewDraft { review_id, .. } | Change::ReviewSubmit { review_id, .. } => {
                format!("review {review_id}")
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Change::Decision(_) => "decision",
            Change::ReviewDraft { .. } => "review_draft",
            Change::ReviewSubmit { .. } => "review_submit",
        }
    }

    /// What the user did, in words, for lists and conflict dialogs.
    pub fn describe(&self) -> String {
        match self {
            Change::Decision(decision) => {
                let verdict = match decision.verdict {
                    crate::domain::Verdict::Approve => "approve",
                    crate::domain::Verdict::Reject => "reject",
                };
                let comment = decision
                    .comment
                    .as_deref()
                    .filter(|comment| !comment.trim().is_empty())
                    .map(|comment| format!(": \"{comment}\""))
                    .unwrap_or_default();
                format!(
                    "{verdict} step {} of {}{comment}",
                    decision.step_id, decision.workflow_id
                )
            }
            Change::ReviewDraft { review_id, .. } => format!("draft of review {review_id}"),
            Change::ReviewSubmit { review_id, .. } => format!("submit review {review_id}"),
        }
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEntry {
    pub entry: OutboxEntry,
    pub change: Change,
    pub idempotency_key: String,
    /// The version of the entity the change was made on.
    pub base_version: Option<i64>,
    pub created_at: DateTime<Utc>,
}

fn state_text(state: EntryState) -> &'static str {
    match state {
        EntryState::Pending => "pending",
        EntryState::Conflict => "conflict",
        EntryState::Failed => "failed",
    }
}

fn state_from(text: &str) -> Result<EntryState> {
    match text {
        "pending" => Ok(EntryState::Pending),
        "conflict" => Ok(EntryState::Conflict),
        "failed" => Ok(EntryState::Failed),
        other => Err(BackendError::Storage(format!(
            "outbox entry in unknown state {other:?}"
        ))),
    }
}

/// Adds a change (a repeat of a key already queued adds nothing); a newer draft of the same review replaces drafts that
/// have not been sent yet (autosaves would otherwise pile up offline).
pub fn add(
    tx: &Connection,
    change: &Change,
    idempotency_key: &str,
    base_version: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    let entity = change.entity();
    if matches!(change, Change::ReviewDraft { .. }) {
        tx.execute(
            "DELETE FROM outbox WHERE entity = ?1 AND kind = 'review_draft' AND state = 'pending' AND attempts = 0",
            [&entity],
        )?;
    }
    tx.prepare_cached(
        "INSERT INTO outbox (entity, kind, payload, idempotency_key, base_version, state, attempts, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6)
         ON CONFLICT(idempotency_key) DO NOTHING",
    )?
    .execute(params![
        entity,
        change.kind(),
        to_json(change)?,
        idempotency_key,
        base_version,
        to_ms(now),
    ])?;
    Ok(())
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: row.get(0)?,
        entity: row.get(1)?,
        payload: row.get(2)?,
        idempotency_key: row.get(3)?,
        base_version: row.get(4)?,
        state: row.get(5)?,
        attempts: row.get(6)?,
        next_attempt_at: row.get(7)?,
        server_answer: row.get(8)?,
        created_at: row.get(9)?,
    })
}

struct RawRow {
    id: i64,
    entity: String,
    payload: String,
    idempotency_key: String,
    base_version: Option<i64>,
    state: String,
    attempts: u32,
    next_attempt_at: i64,
    server_answer: Option<String>,
    created_at: i64,
}

impl RawRow {
    fn into_entry(self) -> Result<StoredEntry> {
        Ok(StoredEntry {
            entry: OutboxEntry {
                id: self.id,
                entity: self.entity,
                state: state_from(&self.state)?,
                attempts: self.attempts,
                next_attempt_at: from_ms(self.next_attempt_at)?,
                server_answer: self.server_answer,
            },
            change: from_json("outbox change", &self.payload)?,
            idempotency_key: self.idempotency_key,
            base_version: self.base_version,
            created_at: from_ms(self.created_at)?,
        })
    }
}

const COLUMNS: &str = "id, entity, payload, idempotency_key, base_version, state, attempts, next_attempt_at, server_answer, created_at";

/// Every entry still waiting or needing the user, oldest first.
pub fn entries(conn: &Connection) -> Result<Vec<StoredEntry>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE state != 'discarded' ORDER BY id"
    ))?
    .query_map([], read_row)?
    .collect::<rusqlite::Result<Vec<_>>>()?
    .into_iter()
    .map(RawRow::into_entry)
    .collect()
}

pub fn entry(conn: &Connection, id: i64) -> Result<Option<StoredEntry>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE id = ?1 AND state != 'discarded'"
    ))?
    .query_row([id], read_row)
    .optional()?
    .map(RawRow::into_entry)
    .transpose()
}

/// Stores what a push left of an entry; `None` means it reached the server.
pub fn settle(tx: &Connection, id: i64, after: Option<&OutboxEntry>) -> Result<()> {
    match after {
        None => {
            tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?
                .execute([id])?;
        }
        Some(entry) => {
            tx.prepare_cached(
                "UPDATE outbox SET state = ?2, attempts = ?3, next_attempt_at = ?4, server_answer = ?5 WHERE id = ?1",
            )?
            .execute(params![
                id,
                state_text(entry.state),
                entry.attempts,
                to_ms(entry.next_attempt_at),
                entry.server_answer,
            ])?;
        }
    }
    Ok(())
}

/// The user gave up an entry in conflict or failed. It is kept, marked, so
/// the cache still shows what was discarded and when.
pub fn discard(tx: &Connection, id: i64, now: DateTime<Utc>) -> Result<StoredEntry> {
    let stored = entry(tx, id)?.ok_or_else(|| BackendError::not_found("outbox entry", id.to_string()))?;
    if stored.entry.state == EntryState::Pending {
        return Err(BackendError::Conflict(format!(
            "entry {id} is still waiting to be sent; only conflicts and failures can be discarded"
        )));
    }
    tx.execute(
        "UPDATE outbox SET state = 'discarded', next_attempt_at = ?2 WHERE id = ?1",
        params![id, to_ms(now)],
    )?;
    Ok(stored)
}

/// Makes every waiting entry due now (the server is back; no need to wait
/// out a backoff that began while it was away).
pub fn make_due(tx: &Connection, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET next_attempt_at = ?1 WHERE state = 'pending' AND next_attempt_at > ?1",
        [to_ms(now)],
    )?;
    Ok(())
}

/// Puts an entry read from another cache file back, as it was (same key,
/// same state), unless this outbox already holds its key.
pub fn restore(tx: &Connection, stored: &StoredEntry) -> Result<()> {
    tx.execute(
        "INSERT INTO outbox (entity, kind, payload, idempotency_key, base_version, state, attempts, next_attempt_at, server_answer, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(idempotency_key) DO NOTHING",
        params![
            stored.entry.entity,
            stored.change.kind(),
            to_json(&stored.change)?,
            stored.idempotency_key,
            stored.base_version,
            state_text(stored.entry.state),
            stored.entry.attempts,
            to_ms(stored.entry.next_attempt_at),
            stored.entry.server_answer,
            to_ms(stored.created_at),
        ],
    )?;
    Ok(())
}
