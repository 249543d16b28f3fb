//! A person's inbox: what asks them to act ("your turn") and news of
//! their requests, read and marked read; an item whose action someone has
//! taken since says so. An offline cache keeps a copy of its server's.

use crate::db::{Connection, params};
use chrono::{DateTime, Utc};

use super::reads;
use super::rows::{from_ms, to_ms};
use crate::backend::{BackendError, Result};
use crate::backend::{Event, EventKind};
use crate::domain::{ReviewStatus, WorkflowStatus};

/// Inbox items a person sees at most.
pub const INBOX_LIMIT: u32 = 200;
/// Items one `mark_read` may name.
pub const MAX_MARKED: usize = 1000;

/// A person's inbox, newest first: "your turn" for what asks them to act,
/// what happened otherwise.
pub fn inbox(conn: &Connection, email: &str) -> Result<Vec<crate::backend::InboxItem>> {
    let rows: Vec<(i64, String, String, String, i64, Option<i64>)> = conn
        .prepare_cached(
            "SELECT e.event_id, e.kind, e.data, e.tell, e.created_at, i.read_at
             FROM inbox i JOIN notification_events e ON e.event_id = i.event_id
             WHERE i.user_email = ?1 ORDER BY i.event_id DESC LIMIT ?2",
        )?
        .query_map(params![email, INBOX_LIMIT], |row| row.try_into())?
        .collect::<crate::db::Result<_>>()?;
    rows.into_iter()
        .filter_map(|(event_id, kind, data, tell, at, read_at)| {
            let kind: EventKind = kind.parse().ok()?;
            Some((event_id, kind, data, tell, at, read_at))
        })
        .map(|(event_id, kind, data, tell, at, read_at)| {
            let data: serde_json::Value = serde_json::from_str(&data)
                .map_err(|err| BackendError::Storage(err.to_string()))?;
            let tell: Vec<String> = serde_json::from_str(&tell).unwrap_or_default();
            let event = Event {
                event_id,
                kind,
                timestamp: from_ms(at)?,
                data,
            };
            // A copy kept by an offline cache carries its summary, and
            // what its server said of the action since.
            let copy = event.data.get("summary").and_then(|s| s.as_str());
            let yours = tell.iter().any(|who| who.eq_ignore_ascii_case(email));
            let (summary, settled) = match copy {
                Some(summary) => (
                    summary.to_owned(),
                    event
                        .data
                        .get("settled")
                        .and_then(|s| s.as_str())
                        .map(str::to_owned),
                ),
                None if yours => (
                    crate::backend::events::your_turn(&event),
                    settled(conn, &event)?,
                ),
                None => (crate::backend::events::summary(&event), None),
            };
            Ok(crate::backend::InboxItem {
                event_id,
                kind,
                at: event.timestamp,
                summary,
                workflow_id: event
                    .data
                    .get("workflow_id")
                    .and_then(|id| id.as_str())
                    .map(str::to_owned),
                read: read_at.is_some(),
                policy_set_version: (kind == EventKind::PolicySetProposed)
                    .then(|| event.data.get("version").and_then(|v| v.as_i64()))
                    .flatten(),
                exception_id: matches!(
                    kind,
                    EventKind::ExceptionRequested | EventKind::ExceptionDecided
                )
                .then(|| {
                    event
                        .data
                        .get("exception_id")
                        .and_then(|id| id.as_str())
                        .map(str::to_owned)
                })
                .flatten(),
                incident_id: matches!(
                    kind,
                    EventKind::IncidentReported
                        | EventKind::IncidentChanged
                        | EventKind::LiftRequested
                        | EventKind::IncidentDeadline
                )
                .then(|| {
                    event
                        .data
                        .get("incident_id")
                        .and_then(|id| id.as_str())
                        .map(str::to_owned)
                })
                .flatten(),
                settled,
            })
        })
        .collect()
}

/// Whether the action a "your turn" item asked for has been taken since,
/// by anyone, in words ("done: step 1 was decided; now at step 2").
fn settled(conn: &Connection, event: &Event) -> Result<Option<String>> {
    let data = &event.data;
    let text = |name: &str| data.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    match event.kind {
        EventKind::WorkflowOpened
        | EventKind::StepDecided
        | EventKind::StepReminder
        | EventKind::StepOverdue
        | EventKind::StepEscalated => {
            let asked = data
                .get("current_step")
                .and_then(|step| step.get("step_id"))
                .or_else(|| data.get("step_id"))
                .and_then(|n| n.as_u64());
            let Ok(workflow) = reads::workflow(conn, text("workflow_id")) else {
                return Ok(None);
            };
            if workflow.status != WorkflowStatus::InProgress {
                return Ok(Some(format!("done: the workflow is {}", workflow.status)));
            }
            let now = workflow.current_step().map(|step| u64::from(step.step_id));
            Ok(match (asked, now) {
                (Some(asked), Some(now)) if asked != now => {
                    Some(format!("done: step {asked} was decided; now at step {now}"))
                }
                _ => None,
            })
        }
        EventKind::ReviewerRemoved => {
            let Ok(review) = reads::review(conn, text("review_id")) else {
                return Ok(None);
            };
            Ok(if review.status == ReviewStatus::Submitted {
                Some(format!("done: submitted by {}", review.reviewer))
            } else if !review.reviewer.eq_ignore_ascii_case(text("reviewer")) {
                Some(format!("done: reassigned to {}", review.reviewer))
            } else {
                None
            })
        }
        EventKind::ReviewAssigned => {
            let Ok(review) = reads::review(conn, text("review_id")) else {
                return Ok(None);
            };
            Ok(if review.status == ReviewStatus::Submitted {
                Some(format!("done: submitted by {}", review.reviewer))
            } else if !review.reviewer.eq_ignore_ascii_case(text("reviewer")) {
                Some(format!("reassigned to {}", review.reviewer))
            } else {
                None
            })
        }
        EventKind::ExceptionRequested => {
            let Ok(exception) = reads::exception(conn, text("exception_id")) else {
                return Ok(None);
            };
            let asked_of = text("next_role");
            Ok(match exception.next_role() {
                Some(role) if role.as_str() == asked_of => None,
                Some(role) => Some(format!(
                    "done: that step was decided; now waiting for {}",
                    role.with_article()
                )),
                None => Some(format!("done: the exception is {}", exception.status)),
            })
        }
        EventKind::LiftRequested => {
            let Ok(incident) = reads::incident(conn, text("incident_id")) else {
                return Ok(None);
            };
            let asked_of = text("next_role");
            Ok(match incident.next_role() {
                Some(role) if role.as_str() == asked_of => None,
                Some(role) => Some(format!(
                    "done: that step was signed; now waiting for {}",
                    role.with_article()
                )),
                None if incident.suspends() => Some("done: the lifting was refused".into()),
                None => Some("done: the suspension is lifted".into()),
            })
        }
        EventKind::PolicySetProposed => {
            let Some(version) = data.get("version").and_then(|v| v.as_i64()) else {
                return Ok(None);
            };
            let Ok(detail) = reads::policy_set_version(conn, version) else {
                return Ok(None);
            };
            let verb = match detail.state {
                crate::backend::PolicySetState::Proposed => return Ok(None),
                crate::backend::PolicySetState::Rejected => "rejected",
                _ => "approved",
            };
            let by = detail.decided_by.unwrap_or_default();
            Ok(Some(format!("done: version {version} was {verb} by {by}")))
        }
        _ => Ok(None),
    }
}

/// Marks a person's inbox items read: how many were unread and theirs.
pub fn mark_read(
    conn: &Connection,
    email: &str,
    event_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64> {
    if event_ids.len() > MAX_MARKED {
        return Err(BackendError::Invalid(format!(
            "at most {MAX_MARKED} inbox items at once"
        )));
    }
    let mut marked = 0;
    for event_id in event_ids {
        marked += conn
            .prepare_cached(
                "UPDATE inbox SET read_at = ?3 WHERE user_email = ?1 AND event_id = ?2 AND read_at IS NULL",
            )?
            .execute(params![email, event_id, to_ms(now)])?;
    }
    Ok(marked as u64)
}

/// The items a person has read, in this store.
fn read_here(conn: &Connection, email: &str) -> Result<std::collections::HashSet<i64>> {
    Ok(conn
        .prepare_cached("SELECT event_id FROM inbox WHERE user_email = ?1 AND read_at IS NOT NULL")?
        .query_map([email], |row| row.get(0))?
        .collect::<crate::db::Result<_>>()?)
}

/// An offline cache's copy of its person's inbox, replaced by what the
/// server said; an item read here stays read (reading only goes one way).
pub fn keep_inbox_copy(
    conn: &Connection,
    email: &str,
    items: &[crate::backend::InboxItem],
) -> Result<()> {
    let read_here = read_here(conn, email)?;
    conn.prepare_cached("DELETE FROM inbox WHERE user_email = ?1")?
        .execute([email])?;
    for item in items {
        let data = serde_json::json!({
            "summary": item.summary,
            "workflow_id": item.workflow_id,
            "version": item.policy_set_version,
            "settled": item.settled,
            "exception_id": item.exception_id,
            "incident_id": item.incident_id,
        });
        conn.prepare_cached(
            "INSERT INTO notification_events (event_id, kind, subject, data, tell, created_at, fanned_out)
             VALUES (?1, ?2, ?3, ?4, '[]', ?5, 1)
             ON CONFLICT (event_id) DO UPDATE SET kind = excluded.kind, subject = excluded.subject,
               data = excluded.data, tell = excluded.tell, created_at = excluded.created_at,
               fanned_out = excluded.fanned_out",
        )?
        .execute(params![
            item.event_id,
            item.kind.as_str(),
            item.workflow_id.clone().unwrap_or_default(),
            data.to_string(),
            to_ms(item.at),
        ])?;
        let read = item.read || read_here.contains(&item.event_id);
        conn.prepare_cached(
            "INSERT INTO inbox (user_email, event_id, read_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![email, item.event_id, read.then(|| to_ms(item.at))])?;
    }
    Ok(())
}

/// The items read in a cache that its server still shows unread.
pub fn read_here_not_there(
    conn: &Connection,
    email: &str,
    items: &[crate::backend::InboxItem],
) -> Result<Vec<i64>> {
    let read_here = read_here(conn, email)?;
    Ok(items
        .iter()
        .filter(|item| !item.read && read_here.contains(&item.event_id))
        .map(|item| item.event_id)
        .collect())
}
