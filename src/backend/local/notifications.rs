//! The notification outbox in the store. A change that should tell someone
//! (a workflow opened, a step decided, a review assigned...) records its
//! event here in its own transaction, so a committed change always has its
//! notification and a rolled-back one never does. The delivery worker
//! (`notify::worker`) fans each event out to its deliveries, claims due
//! deliveries for a lease (one statement, so several workers may share a
//! store), and marks each sent, retried later, or dead.

use crate::db::{Connection, OptionalExtension, params};
use chrono::{DateTime, Utc};

use super::reads;
use super::rows::{from_ms, to_ms};
use crate::backend::{BackendError, Result};
use crate::backend::{Event, EventKind};
use crate::domain::{Role, Step, Workflow};

/// An event to record: what it is about, who must act (told by email), and
/// whose inbox shows it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub subject: String,
    pub data: serde_json::Value,
    pub tell: Vec<String>,
    pub inbox: Vec<String>,
    pub at: DateTime<Utc>,
}

/// An offline cache mirrors its server, whose own store notifies: a
/// mirror records nothing.
pub fn is_mirror(conn: &Connection) -> Result<bool> {
    // Offline caches are SQLite files: a database is never one, and the
    // question would cost a round trip inside every write.
    if conn.is_postgres() {
        return Ok(false);
    }
    Ok(conn
        .prepare_cached("SELECT 1 FROM cache_meta WHERE key = 'server_url'")?
        .query_row(crate::db::params![], |_| Ok(()))
        .optional()?
        .is_some())
}

thread_local! {
    /// Whether the write under way on this thread recorded an event (the
    /// store wakes the delivery worker once it commits).
    static RECORDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether events were recorded since the last call (and forgets it).
pub fn take_recorded() -> bool {
    RECORDED.with(|recorded| recorded.replace(false))
}

/// Inbox rows written by one statement.
const INBOX_ROWS_PER_INSERT: usize = 500;

/// Records an event with the change that causes it (call inside its
/// transaction).
pub fn record(conn: &Connection, event: NewEvent) -> Result<()> {
    if is_mirror(conn)? {
        return Ok(());
    }
    RECORDED.with(|recorded| recorded.set(true));
    // A removed person (the directory deprovisioned them, or an
    // administrator) is told nothing more: their inbox and email stop.
    let present = |emails: Vec<String>| -> Result<Vec<String>> {
        let mut kept = Vec::with_capacity(emails.len());
        for email in emails {
            if !super::reads::user_removed(conn, &email)? {
                kept.push(email);
            }
        }
        Ok(kept)
    };
    let mut tell = present(event.tell)?;
    tell.sort_by_key(|email| email.to_lowercase());
    tell.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let event_id: i64 = conn.prepare_cached(
        "INSERT INTO notification_events (kind, subject, data, tell, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING event_id",
    )?
    .query_row(params![
        event.kind.as_str(),
        event.subject,
        event.data.to_string(),
        serde_json::to_string(&tell).map_err(|err| BackendError::Storage(err.to_string()))?,
        to_ms(event.at),
    ], |row| row.get(0))?;
    let mut inbox = present(event.inbox)?;
    inbox.extend(tell);
    // A role with hundreds of holders is one statement per few hundred.
    for people in inbox.chunks(INBOX_ROWS_PER_INSERT) {
        let values: Vec<&dyn crate::db::ToSql> = people
            .iter()
            .flat_map(|email| [email as &dyn crate::db::ToSql, &event_id])
            .collect();
        conn.insert_rows(
            "INSERT INTO inbox (user_email, event_id)",
            2,
            &values,
            "ON CONFLICT DO NOTHING",
        )?;
    }
    Ok(())
}

/// Who may act on a workflow's current step: the step's assignee when one
/// is assigned, else the holders of its role; never the requester, nor
/// anyone who decided another step of it or approved this one (they could
/// not act), nor a removed user. The delegates of each (whom they delegated
/// the role to, now) are told too, never their delegates in turn.
fn whose_turn(conn: &Connection, workflow: &Workflow, at: DateTime<Utc>) -> Result<Vec<String>> {
    let Some(step) = workflow.current_step() else {
        return Ok(Vec::new());
    };
    let review = reads::review_for_workflow(conn, &workflow.workflow_id)?;
    // The review's author decides the ethics step and no other.
    let reviews_elsewhere = |email: &str| {
        step.role != Role::EthicsReviewer
            && review
                .as_ref()
                .is_some_and(|review| review.reviewer.eq_ignore_ascii_case(email))
    };
    let may_act = |email: &str| {
        !email.eq_ignore_ascii_case(&workflow.requested_by)
            && !workflow.steps.iter().any(|step| step.involves(email))
            && !reviews_elsewhere(email)
    };
    let mut people: Vec<String> = if step.role == Role::EthicsReviewer
        && let Some(review) = &review
    {
        reads::user(conn, &review.reviewer)?
            .map(|user| user.email)
            .into_iter()
            .collect()
    } else {
        reads::users(conn, Some(step.role))?
            .into_iter()
            .map(|user| user.email)
            .collect()
    };
    people.retain(|email| may_act(email));
    if reads::any_delegations(conn)? {
        let mut delegates = Vec::new();
        for person in &people {
            for delegate in reads::delegates_of(conn, person, Some(step.role), at)? {
                if may_act(&delegate) && reads::user(conn, &delegate)?.is_some() {
                    delegates.push(delegate);
                }
            }
        }
        people.extend(delegates);
    }
    Ok(people)
}

/// The people an escalation goes to: the holders of a role, or a person.
fn escalation_targets(conn: &Connection, to: &str) -> Result<Vec<String>> {
    match crate::domain::policy::sla::EscalateTo::parse(to) {
        Ok(crate::domain::policy::sla::EscalateTo::Role(role)) => {
            Ok(reads::users(conn, Some(role))?
                .into_iter()
                .map(|user| user.email)
                .collect())
        }
        Ok(crate::domain::policy::sla::EscalateTo::Person(email)) => Ok(reads::user(conn, &email)?
            .map(|user| user.email)
            .into_iter()
            .collect()),
        Err(_) => Ok(Vec::new()),
    }
}

fn step_json(step: &Step, of: usize) -> serde_json::Value {
    serde_json::json!({
        "step_id": step.step_id,
        "of": of,
        "role": step.role,
        "status": step.status,
        "decided_by": step.approver_email,
        "on_behalf_of": step.on_behalf_of,
        "comment": step.comment,
        "quorum": step.quorum,
        "approvals": step.approvals.len(),
    })
}

/// What every event about a workflow says of it.
fn workflow_data(
    conn: &Connection,
    workflow: &Workflow,
    actor: &str,
    decided: Option<&Step>,
) -> Result<serde_json::Value> {
    let (agent_name, team): (String, String) = conn
        .prepare_cached("SELECT agent_name, team FROM workflows WHERE workflow_id = ?1")?
        .query_row([&workflow.workflow_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    let steps = workflow.steps.len();
    let current = workflow.current_step();
    let waiting_since = workflow.waiting_since();
    Ok(serde_json::json!({
        "workflow_id": workflow.workflow_id,
        "deployment_id": workflow.deployment_id,
        "agent_id": workflow.agent_id,
        "agent_name": agent_name,
        "team": team,
        "requested_by": workflow.requested_by,
        "triggered_by_policy": workflow.triggered_by_policy,
        "status": workflow.status,
        "actor": actor,
        "current_step": current.map(|step| step_json(step, steps)),
        "decided_step": decided.map(|step| step_json(step, steps)),
        "waiting_since": waiting_since,
        "due_at": current.and_then(|step| step.sla.as_ref()).map(|sla| sla.due(waiting_since)),
    }))
}

/// A step's reminder, due-time alert or escalation: the people whose turn
/// it is are told of a reminder or the due time; the escalation target of
/// an escalation (and the deciders see it in their inbox). `scheduler` is
/// who the event says acted.
pub fn step_alert(
    conn: &Connection,
    scheduler: &str,
    kind: crate::domain::policy::sla::AlertKind,
    workflow: &Workflow,
    escalated_to: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut data = workflow_data(conn, workflow, scheduler, None)?;
    data["escalated_to"] = serde_json::json!(escalated_to);
    let deciders = whose_turn(conn, workflow, at)?;
    let (tell, inbox) = match escalated_to {
        Some(to) => (escalation_targets(conn, to)?, deciders),
        None => (deciders, Vec::new()),
    };
    record(
        conn,
        NewEvent {
            kind: EventKind::of_alert(kind),
            subject: workflow.workflow_id.clone(),
            data,
            tell,
            inbox,
            at,
        },
    )
}

/// An event about a workflow: its agent, requester, status and current
/// step (and the step just decided); the people whose turn it now is are
/// told.
pub fn workflow_event(
    conn: &Connection,
    kind: EventKind,
    workflow: &Workflow,
    actor: &str,
    decided: Option<&Step>,
    at: DateTime<Utc>,
) -> Result<()> {
    let tell = match kind {
        EventKind::WorkflowOpened | EventKind::StepDecided => whose_turn(conn, workflow, at)?,
        _ => Vec::new(),
    };
    // The requester sees what happens to their request, but never by the
    // email that asks someone to act.
    let inbox = match kind {
        EventKind::WorkflowOpened => Vec::new(),
        _ if workflow.requested_by.eq_ignore_ascii_case(actor) => Vec::new(),
        _ => vec![workflow.requested_by.clone()],
    };
    record(
        conn,
        NewEvent {
            kind,
            subject: workflow.workflow_id.clone(),
            data: workflow_data(conn, workflow, actor, decided)?,
            tell,
            inbox,
            at,
        },
    )
}

/// The agent (id, name) a workflow is about; empty when it is unknown.
fn agent_of(conn: &Connection, workflow_id: &str) -> Result<(String, String)> {
    let agent: Option<(String, String)> = conn
        .prepare_cached("SELECT agent_id, agent_name FROM workflows WHERE workflow_id = ?1")?
        .query_row([workflow_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(agent.unwrap_or_default())
}

/// A review whose reviewer the directory removed: the compliance officers
/// are told to reassign it.
pub fn reviewer_removed(
    conn: &Connection,
    review_id: &str,
    workflow_id: &str,
    reviewer: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let (agent_id, agent_name) = agent_of(conn, workflow_id)?;
    let tell = reads::users(conn, Some(Role::ComplianceOfficer))?
        .into_iter()
        .map(|user| user.email)
        .collect();
    record(
        conn,
        NewEvent {
            kind: EventKind::ReviewerRemoved,
            subject: review_id.to_owned(),
            data: serde_json::json!({
                "review_id": review_id,
                "workflow_id": workflow_id,
                "agent_id": agent_id,
                "agent_name": agent_name,
                "reviewer": reviewer,
            }),
            tell,
            inbox: Vec::new(),
            at,
        },
    )
}

/// A review assigned (or reassigned): the reviewer is told.
pub fn review_assigned(
    conn: &Connection,
    review_id: &str,
    workflow_id: &str,
    reviewer: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let (agent_id, agent_name) = agent_of(conn, workflow_id)?;
    let mut tell = if reviewer.eq_ignore_ascii_case(actor) {
        Vec::new()
    } else {
        vec![reviewer.to_owned()]
    };
    // Whom the reviewer delegated the role to is told too.
    if reads::any_delegations(conn)? {
        tell.extend(
            reads::delegates_of(conn, reviewer, Some(Role::EthicsReviewer), at)?
                .into_iter()
                .filter(|delegate| !delegate.eq_ignore_ascii_case(actor)),
        );
    }
    record(
        conn,
        NewEvent {
            kind: EventKind::ReviewAssigned,
            subject: review_id.to_owned(),
            data: serde_json::json!({
                "review_id": review_id,
                "workflow_id": workflow_id,
                "agent_id": agent_id,
                "agent_name": agent_name,
                "reviewer": reviewer,
                "actor": actor,
            }),
            tell,
            inbox: Vec::new(),
            at,
        },
    )
}

/// A tool approved: for webhooks (nobody must act).
pub fn tool_approved(
    conn: &Connection,
    name: &str,
    actor: &str,
    comment: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    record(
        conn,
        NewEvent {
            kind: EventKind::ToolApproved,
            subject: name.to_owned(),
            data: serde_json::json!({ "tool": name, "actor": actor, "comment": comment }),
            tell: Vec::new(),
            inbox: Vec::new(),
            at,
        },
    )
}

/// A policy set proposed: the other policy administrators are told (a set
/// takes effect once one of them approves).
pub fn policy_set_proposed(
    conn: &Connection,
    version: i64,
    proposer: &str,
    description: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let tell = reads::users(conn, Some(Role::PolicyAdmin))?
        .into_iter()
        .map(|user| user.email)
        .filter(|email| !email.eq_ignore_ascii_case(proposer))
        .collect();
    record(
        conn,
        NewEvent {
            kind: EventKind::PolicySetProposed,
            subject: version.to_string(),
            data: serde_json::json!({ "version": version, "proposed_by": proposer, "description": description }),
            tell,
            inbox: Vec::new(),
            at,
        },
    )
}

/// Where deliveries go: email to the people told, and each webhook
/// endpoint subscribed to the event's kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Routes {
    pub email: bool,
    /// (endpoint URL, the kinds it wants; empty: all).
    pub webhooks: Vec<(String, Vec<EventKind>)>,
}

/// Events fanned out per call of `fan_out`.
pub const FAN_OUT_BATCH: usize = 500;

/// Fans up to `FAN_OUT_BATCH` waiting events out to their deliveries, once
/// each (an event and its deliveries in one transaction). Returns how many
/// events it took.
pub fn fan_out(conn: &Connection, routes: &Routes, now: DateTime<Utc>) -> Result<usize> {
    let waiting: Vec<(i64, String, String)> = conn
        .prepare_cached(
            "SELECT event_id, kind, tell FROM notification_events WHERE fanned_out = 0 ORDER BY event_id LIMIT ?1",
        )?
        .query_map([FAN_OUT_BATCH as i64], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<crate::db::Result<_>>()?;
    let taken = waiting.len();
    let mut added = 0;
    for (event_id, kind, tell) in waiting {
        let kind: Option<EventKind> = kind.parse().ok();
        let mut insert = |channel: &str, target: &str| -> Result<()> {
            added += conn
                .prepare_cached(
                    "INSERT INTO deliveries (event_id, channel, target, state, next_attempt_at)
                     VALUES (?1, ?2, ?3, 'pending', ?4) ON CONFLICT DO NOTHING",
                )?
                .execute(params![event_id, channel, target, to_ms(now)])?;
            Ok(())
        };
        if routes.email {
            let tell: Vec<String> = serde_json::from_str(&tell).unwrap_or_default();
            for email in tell {
                // Someone removed since is told nothing.
                if reads::user(conn, &email)?.is_some() {
                    insert("email", &email)?;
                }
            }
        }
        if let Some(kind) = kind {
            for (url, kinds) in &routes.webhooks {
                if kinds.is_empty() || kinds.contains(&kind) {
                    insert("webhook", url)?;
                }
            }
        }
        conn.prepare_cached("UPDATE notification_events SET fanned_out = 1 WHERE event_id = ?1")?
            .execute([event_id])?;
    }
    tracing::debug!(
        events = taken,
        deliveries = added,
        "fanned out notifications"
    );
    Ok(taken)
}

/// A delivery a worker holds for a lease.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub delivery_id: i64,
    pub channel: String,
    pub target: String,
    /// Including this one.
    pub attempts: u32,
    pub event: Event,
}

/// Claims up to `limit` due deliveries for `lease` (one statement: a
/// delivery is never held by two workers at once). A worker killed while
/// holding one leaves it to be claimed again when the lease runs out.
pub fn claim(
    conn: &Connection,
    now: DateTime<Utc>,
    lease: chrono::TimeDelta,
    limit: u32,
) -> Result<Vec<Claimed>> {
    let rows: Vec<(i64, i64, String, String, u32)> = conn
        .prepare_cached(&format!(
            "UPDATE deliveries SET claimed_until = ?2, attempts = attempts + 1
             WHERE delivery_id IN (
                 SELECT delivery_id FROM deliveries
                 WHERE state = 'pending' AND next_attempt_at <= ?1
                   AND (claimed_until IS NULL OR claimed_until <= ?1)
                 ORDER BY next_attempt_at, delivery_id LIMIT ?3{})
             RETURNING delivery_id, event_id, channel, target, attempts",
            conn.dialect().skip_locked()
        ))?
        .query_map(params![to_ms(now), to_ms(now + lease), limit], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<crate::db::Result<_>>()?;
    rows.into_iter()
        .map(|(delivery_id, event_id, channel, target, attempts)| {
            Ok(Claimed {
                delivery_id,
                channel,
                target,
                attempts,
                event: event(conn, event_id)?,
            })
        })
        .collect()
}

/// An event as webhooks carry it.
pub fn event(conn: &Connection, event_id: i64) -> Result<Event> {
    let (kind, data, at): (String, String, i64) = conn
        .prepare_cached(
            "SELECT kind, data, created_at FROM notification_events WHERE event_id = ?1",
        )?
        .query_row([event_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    Ok(Event {
        event_id,
        kind: kind
            .parse()
            .map_err(|err: String| BackendError::Storage(err))?,
        timestamp: from_ms(at)?,
        data: serde_json::from_str(&data).map_err(|err| BackendError::Storage(err.to_string()))?,
    })
}

/// The delivery reached its receiver.
pub fn mark_sent(conn: &Connection, delivery_id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE deliveries SET state = 'sent', sent_at = ?2, claimed_until = NULL, last_error = NULL WHERE delivery_id = ?1",
    )?
    .execute(params![delivery_id, to_ms(now)])?;
    Ok(())
}

/// The delivery failed: tried again at `retry_at`, or dead when `None`.
pub fn mark_failed(
    conn: &Connection,
    delivery_id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let error: String = error.chars().take(1000).collect();
    match retry_at {
        Some(at) => conn
            .prepare_cached(
                "UPDATE deliveries SET next_attempt_at = ?2, claimed_until = NULL, last_error = ?3 WHERE delivery_id = ?1",
            )?
            .execute(params![delivery_id, to_ms(at), error])?,
        None => conn
            .prepare_cached(
                "UPDATE deliveries SET state = 'dead', claimed_until = NULL, last_error = ?2 WHERE delivery_id = ?1",
            )?
            .execute(params![delivery_id, error])?,
    };
    Ok(())
}

/// A dead (or waiting) delivery goes again now, with its attempts reset.
pub fn retry(conn: &Connection, delivery_id: i64, now: DateTime<Utc>) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2, claimed_until = NULL
             WHERE delivery_id = ?1 AND state != 'sent'",
        )?
        .execute(params![delivery_id, to_ms(now)])?;
    if changed == 0 {
        return Err(BackendError::NotFound {
            entity: "undelivered notification",
            id: delivery_id.to_string(),
        });
    }
    Ok(())
}

/// A delivery as `gavel notify status` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeliveryRow {
    pub delivery_id: i64,
    pub event_id: i64,
    pub kind: String,
    pub subject: String,
    pub channel: String,
    pub target: String,
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The outbox at a glance: counts, and the deliveries not yet sent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutboxStatus {
    pub events_waiting: u64,
    pub pending: u64,
    pub sent: u64,
    pub dead: u64,
    pub undelivered: Vec<DeliveryRow>,
}

pub fn status(conn: &Connection) -> Result<OutboxStatus> {
    let count = |sql: &str| -> Result<u64> {
        Ok(conn.query_row(sql, crate::db::params![], |row| row.get::<i64>(0))? as u64)
    };
    let undelivered = conn
        .prepare_cached(
            "SELECT d.delivery_id, d.event_id, e.kind, e.subject, d.channel, d.target, d.state, d.attempts,
                    d.next_attempt_at, d.last_error, d.sent_at
             FROM deliveries d JOIN notification_events e ON e.event_id = d.event_id
             WHERE d.state != 'sent' ORDER BY d.state, d.delivery_id LIMIT 1000",
        )?
        .query_map(crate::db::params![], |row| {
            Ok((
                row.get::<i64>(0)?,
                row.get::<i64>(1)?,
                row.get::<String>(2)?,
                row.get::<String>(3)?,
                row.get::<String>(4)?,
                row.get::<String>(5)?,
                row.get::<String>(6)?,
                row.get::<u32>(7)?,
                row.get::<i64>(8)?,
                row.get::<Option<String>>(9)?,
                row.get::<Option<i64>>(10)?,
            ))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?
        .into_iter()
        .map(|raw| {
            Ok(DeliveryRow {
                delivery_id: raw.0,
                event_id: raw.1,
                kind: raw.2,
                subject: raw.3,
                channel: raw.4,
                target: raw.5,
                state: raw.6,
                attempts: raw.7,
                next_attempt_at: from_ms(raw.8)?,
                last_error: raw.9,
                sent_at: raw.10.map(from_ms).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(OutboxStatus {
        events_waiting: count("SELECT COUNT(*) FROM notification_events WHERE fanned_out = 0")?,
        pending: count("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")?,
        sent: count("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")?,
        dead: count("SELECT COUNT(*) FROM deliveries WHERE state = 'dead'")?,
        undelivered,
    })
}
