//! The outbox: changes made against the cache that the server has not
//! confirmed yet. A row is written in the same transaction as the cached
//! change it stands for, so "saved" always means "will reach the server".

use crate::db::{Connection, OptionalExtension, params};
use chrono::{DateTime, Utc};
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

fn state_from(text: &str) -> Result<EntryState> {
    EntryState::ALL
        .into_iter()
        .find(|state| state.as_str() == text)
        .ok_or_else(|| BackendError::Storage(format!("outbox entry in unknown state {text:?}")))
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

fn read_row(row: &crate::db::Row<'_>) -> crate::db::Result<RawRow> {
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
    .query_map(params![], read_row)?
    .collect::<crate::db::Result<Vec<_>>>()?
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
                entry.state.as_str(),
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
    let stored =
        entry(tx, id)?.ok_or_else(|| BackendError::not_found("outbox entry", id.to_string()))?;
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
            stored.entry.state.as_str(),
            stored.entry.attempts,
            to_ms(stored.entry.next_attempt_at),
            stored.entry.server_answer,
            to_ms(stored.created_at),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::local::LocalStore;
    use crate::domain::Verdict;

    fn decision(workflow: &str, key: &str) -> Change {
        Change::Decision(Decision {
            workflow_id: workflow.into(),
            step_id: 1,
            verdict: Verdict::Reject,
            comment: Some("no".into()),
            expected_version: 3,
            idempotency_key: key.into(),
            decision_at: None,
            on_behalf_of: None,
        })
    }

    fn draft(review: &str, text: &str) -> Change {
        let mut answers = Answers::new();
        answers.insert("summary".into(), serde_json::json!(text));
        Change::ReviewDraft {
            review_id: review.into(),
            answers,
            form_state: None,
        }
    }

    #[test]
    fn entries_keep_order_keys_and_coalesce_unsent_drafts() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(&dir.path().join("cache.db")).unwrap();
        let now = Utc::now();
        store
            .write(|tx| {
                add(tx, &decision("wf-1", "k1"), "k1", Some(3), now)?;
                add(tx, &draft("rev-1", "first"), "d1", Some(1), now)?;
                add(tx, &draft("rev-1", "second"), "d2", Some(2), now)?;
                // The same key again (a retried save) adds nothing.
                add(tx, &decision("wf-1", "k1"), "k1", Some(3), now)?;
                Ok(())
            })
            .unwrap();
        let all = store.read(entries).unwrap();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[0].idempotency_key, "k1");
        assert_eq!(all[0].entry.entity, "workflow wf-1");
        assert_eq!(all[0].base_version, Some(3));
        assert_eq!(all[1].change, draft("rev-1", "second"), "the newest draft");
        assert_eq!(all[0].change.describe(), "reject step 1 of wf-1: \"no\"");
    }

    #[test]
    fn only_refused_entries_can_be_discarded_and_stay_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(&dir.path().join("cache.db")).unwrap();
        let now = Utc::now();
        store
            .write(|tx| add(tx, &decision("wf-1", "k1"), "k1", Some(3), now))
            .unwrap();
        let id = store.read(entries).unwrap()[0].entry.id;
        let refused = store.write(|tx| discard(tx, id, now));
        assert!(matches!(refused, Err(BackendError::Conflict(_))));
        let mut entry = store.read(entries).unwrap()[0].entry.clone();
        entry.state = EntryState::Conflict;
        entry.server_answer = Some("stale".into());
        store.write(|tx| settle(tx, id, Some(&entry))).unwrap();
        let gone = store.write(|tx| discard(tx, id, now)).unwrap();
        assert_eq!(gone.entry.state, EntryState::Conflict);
        assert!(store.read(entries).unwrap().is_empty());
        let kept: i64 = store
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT COUNT(*) FROM outbox WHERE state = 'discarded'",
                    params![],
                    |row| row.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(kept, 1, "a discarded change is kept, marked");
        // Restoring into another outbox keeps the key, once.
        let other = LocalStore::open(&dir.path().join("other.db")).unwrap();
        other
            .write(|tx| {
                restore(tx, &gone)?;
                restore(tx, &gone)
            })
            .unwrap();
        let restored = other.read(entries).unwrap();
        assert_eq!(restored.len(), 1);
        assert_eq!(restored[0].idempotency_key, "k1");
        assert_eq!(restored[0].entry.state, EntryState::Conflict);
    }
}
