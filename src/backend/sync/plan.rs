//! The sync plan as pure functions over plain data.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::BackendError;
use crate::domain::decision::DecisionError;

/// The first wait after a failed push, and the most any wait grows to.
pub const FIRST_RETRY: Duration = Duration::seconds(2);
pub const MAX_RETRY: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Waiting to reach the server.
    Pending,
    /// The server holds something else now; the user must choose.
    Conflict,
    /// Can never succeed as written (kept, never dropped, for the user).
    Failed,
}

impl EntryState {
    pub const ALL: [EntryState; 3] = [
        EntryState::Pending,
        EntryState::Conflict,
        EntryState::Failed,
    ];

    /// The name stored in the outbox and shown by `gavel sync --status`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Pending => "pending",
            EntryState::Conflict => "conflict",
            EntryState::Failed => "failed",
        }
    }
}

/// One change made offline, in the order it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Increases with every entry: the order changes were made in.
    pub id: i64,
    /// The entity the change applies to ("workflow wf-1", "review rev-2");
    /// changes to one entity replay strictly in order.
    pub entity: String,
    pub state: EntryState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    /// What the server said, for conflicts and failures.
    pub server_answer: Option<String>,
}

/// The entries to send now: per entity only the oldest unfinished entry,
/// and nothing for an entity whose oldest entry is in conflict or failed
/// (a later change must not overtake the one the user has to resolve).
pub fn next_to_push(entries: &[OutboxEntry], now: DateTime<Utc>) -> Vec<i64> {
    let mut ordered: Vec<&OutboxEntry> = entries.iter().collect();
    ordered.sort_by_key(|entry| entry.id);
    let mut seen = HashSet::new();
    let mut due = Vec::new();
    for entry in ordered {
        if !seen.insert(entry.entity.as_str()) {
            continue;
        }
        if entry.state == EntryState::Pending && entry.next_attempt_at <= now {
            due.push(entry.id);
        }
    }
    due
}

/// What a push's answer means for its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored on the server (or already was: a replay of the same key).
    Applied,
    /// Someone changed the entity first, or a rule now refuses it.
    Conflict(String),
    /// Try again later (the server is away, busy, or the token needs fixing).
    Retry(String),
    /// The request itself is wrong and will never succeed.
    Failed(String),
}

pub fn classify(result: &Result<(), BackendError>) -> Outcome {
    let Err(err) = result else {
        return Outcome::Applied;
    };
    let text = err.to_string();
    match err {
        BackendError::Refused(
            DecisionError::EmptyRejectionComment
            | DecisionError::CommentTooLong { .. }
            | DecisionError::UnknownStep { .. },
        ) => Outcome::Failed(text),
        BackendError::Refused(_) | BackendError::Conflict(_) | BackendError::Forbidden(_) => {
            Outcome::Conflict(text)
        }
        BackendError::NotFound { .. }
        | BackendError::Invalid(_)
        | BackendError::InvalidReview(_)
        | BackendError::IdempotencyMismatch(_) => Outcome::Failed(text),
        BackendError::Unavailable(_)
        | BackendError::InFlight(_)
        | BackendError::Unauthenticated(_)
        | BackendError::Storage(_) => Outcome::Retry(text),
    }
}

/// The wait before attempt `attempts + 1`: doubling from `FIRST_RETRY`,
/// capped at `MAX_RETRY`.
pub fn retry_delay(attempts: u32) -> Duration {
    let factor = 2i64.saturating_pow(attempts.min(20));
    let wait = FIRST_RETRY.num_milliseconds().saturating_mul(factor);
    Duration::milliseconds(wait.min(MAX_RETRY.num_milliseconds()))
}

/// The entry after a push; `None` when it is done and leaves the outbox.
pub fn after_push(
    entry: &OutboxEntry,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Option<OutboxEntry> {
    let mut next = entry.clone();
    match outcome {
        Outcome::Applied => return None,
        Outcome::Conflict(answer) => {
            next.state = EntryState::Conflict;
            next.server_answer = Some(answer.clone());
        }
        Outcome::Failed(answer) => {
            next.state = EntryState::Failed;
            next.server_answer = Some(answer.clone());
        }
        Outcome::Retry(answer) => {
            next.attempts += 1;
            next.next_attempt_at = now + retry_delay(next.attempts);
            next.server_answer = Some(answer.clone());
        }
    }
    Some(next)
}

/// Why a page of changes was refused (the cursor stays where it was).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("the server's change cursor went backwards: from {from} to {to}")]
    CursorBackwards { from: i64, to: i64 },
    #[error("change {seq} is not after the cursor {cursor}")]
    StaleChange { seq: i64, cursor: i64 },
    #[error("changes are out of order at {seq}")]
    OutOfOrder { seq: i64 },
}

/// Checks a page of change sequence numbers against the cursor it was asked
/// for; returns the cursor to store with the page.
pub fn accept_page(cursor: i64, sequence: &[i64], next: i64) -> Result<i64, PageError> {
    if next < cursor {
        return Err(PageError::CursorBackwards {
            from: cursor,
            to: next,
        });
    }
    let mut previous = cursor;
    for &seq in sequence {
        if seq <= cursor {
            return Err(PageError::StaleChange { seq, cursor });
        }
        if seq <= previous {
            return Err(PageError::OutOfOrder { seq });
        }
        previous = seq;
    }
    if previous > next {
        return Err(PageError::CursorBackwards {
            from: previous,
            to: next,
        });
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn entry(id: i64, entity: &str) -> OutboxEntry {
        OutboxEntry {
            id,
            entity: entity.into(),
            state: EntryState::Pending,
            attempts: 0,
            next_attempt_at: at(0),
            server_answer: None,
        }
    }

    #[test]
    fn one_entry_per_entity_oldest_first() {
        let entries = [
            entry(3, "workflow a"),
            entry(1, "workflow a"),
            entry(2, "workflow b"),
        ];
        assert_eq!(next_to_push(&entries, at(0)), [1, 2]);
    }

    #[test]
    fn a_conflict_holds_back_later_changes_to_the_same_entity_only() {
        let mut first = entry(1, "workflow a");
        first.state = EntryState::Conflict;
        let entries = [first, entry(2, "workflow a"), entry(3, "workflow b")];
        assert_eq!(next_to_push(&entries, at(0)), [3]);
    }

    #[test]
    fn entries_wait_for_their_retry_time() {
        let mut later = entry(1, "workflow a");
        later.next_attempt_at = at(5);
        assert!(next_to_push(&[later.clone()], at(4)).is_empty());
        assert_eq!(next_to_push(&[later], at(5)), [1]);
    }

    #[test]
    fn answers_sort_into_applied_conflict_retry_and_failed() {
        assert_eq!(classify(&Ok(())), Outcome::Applied);
        let stale = BackendError::Refused(DecisionError::StaleVersion {
            expected: 1,
            actual: 2,
        });
        assert!(matches!(classify(&Err(stale)), Outcome::Conflict(_)));
        let revoked = BackendError::Refused(DecisionError::WrongRole {
            step_id: 1,
            required: crate::domain::Role::DataSteward,
        });
        assert!(matches!(classify(&Err(revoked)), Outcome::Conflict(_)));
        assert!(matches!(
            classify(&Err(BackendError::Unavailable("down".into()))),
            Outcome::Retry(_)
        ));
        assert!(matches!(
            classify(&Err(BackendError::IdempotencyMismatch("k".into()))),
            Outcome::Failed(_)
        ));
        assert!(matches!(
            classify(&Err(BackendError::Refused(
                DecisionError::EmptyRejectionComment
            ))),
            Outcome::Failed(_)
        ));
    }

    #[test]
    fn retries_back_off_to_a_cap_and_nothing_is_dropped() {
        assert_eq!(retry_delay(0), FIRST_RETRY);
        assert_eq!(retry_delay(1), FIRST_RETRY * 2);
        assert_eq!(retry_delay(30), MAX_RETRY);
        let pending = entry(1, "workflow a");
        let retried = after_push(&pending, &Outcome::Retry("down".into()), at(0)).unwrap();
        assert_eq!(
            (retried.attempts, retried.next_attempt_at),
            (1, at(0) + FIRST_RETRY * 2)
        );
        let conflict = after_push(&pending, &Outcome::Conflict("stale".into()), at(0)).unwrap();
        assert_eq!(conflict.state, EntryState::Conflict);
        assert_eq!(conflict.server_answer.as_deref(), Some("stale"));
        assert_eq!(after_push(&pending, &Outcome::Applied, at(0)), None);
    }

    #[test]
    fn malformed_pages_leave_the_cursor_alone() {
        assert_eq!(accept_page(10, &[11, 12, 15], 15), Ok(15));
        assert_eq!(accept_page(10, &[], 10), Ok(10));
        assert!(matches!(
            accept_page(10, &[11], 9),
            Err(PageError::CursorBackwards { .. })
        ));
        assert!(matches!(
            accept_page(10, &[9], 12),
            Err(PageError::StaleChange { .. })
        ));
        assert!(matches!(
            accept_page(10, &[12, 11], 12),
            Err(PageError::OutOfOrder { .. })
        ));
        assert!(matches!(
            accept_page(10, &[11, 20], 15),
            Err(PageError::CursorBackwards { .. })
        ));
    }
}
