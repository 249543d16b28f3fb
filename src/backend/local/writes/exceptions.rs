//! Exceptions: asked for by a person, approved step by step by the chain
//! the active set gave, revoked by the person who asked or a compliance
//! officer. Who acts is the signed-in user; every change is a trail event
//! carrying what replay needs to rebuild the record.

use chrono::{DateTime, Utc};

use super::checks::check_person;
use super::stamps::{entry, next_id};
use crate::backend::events::EventKind;
use crate::backend::types::User;
use crate::backend::{BackendError, Result};
use crate::db::{Connection, params};
use crate::domain::Role;
use crate::domain::exception::{
    Exception, ExceptionDecision, ExceptionStatus, MAX_PENDING_PER_PERSON, NewException, Refusal,
    check_request,
};

use super::super::notifications::{NewEvent, record};
use super::super::reads;
use super::super::rows::{as_kept, to_json, to_ms};
use super::super::trail::TrailWriter;

impl From<Refusal> for BackendError {
    fn from(refusal: Refusal) -> BackendError {
        match refusal {
            Refusal::Forbidden(why) => BackendError::Forbidden(why),
            Refusal::Conflict(why) => BackendError::Conflict(why),
            Refusal::Invalid(why) => BackendError::Invalid(why),
        }
    }
}

fn write(conn: &Connection, exception: &Exception) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO policy_exceptions (exception_id, agent_id, agent_version, policy_id, status,
           ends_at, requested_by, next_role, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (exception_id) DO UPDATE SET status = excluded.status,
           next_role = excluded.next_role, record = excluded.record",
    )?
    .execute(params![
        exception.exception_id,
        exception.agent_id,
        exception.agent_version,
        exception.policy_id,
        exception.status.as_str(),
        to_ms(exception.until),
        exception.requested_by,
        exception.next_role().map(Role::as_str),
        to_json(exception)?,
    ])?;
    Ok(())
}

/// Records an exception `actor` asks for, under the active set's rules.
pub fn request_exception(
    conn: &Connection,
    actor: &User,
    request: &NewException,
    now: DateTime<Utc>,
) -> Result<Exception> {
    check_person(actor, "an exception is asked for by a person")?;
    let now = as_kept(now);
    let (set_version, set) = reads::active_set(conn)?;
    let rules = &set.file.exceptions;
    let Some(policy) = set
        .policies()
        .iter()
        .find(|policy| policy.policy_id == request.policy_id)
    else {
        return Err(BackendError::not_found("policy", request.policy_id.clone()));
    };
    let Some(agent) = reads::agent_row(conn, &request.agent_id)? else {
        return Err(BackendError::Invalid(format!(
            "agent {:?} is not known to Gavel: file a deployment request for it first (a blocked request is recorded too)",
            request.agent_id
        )));
    };
    // Those who may request the agent's deployments may ask to set a
    // policy aside for them; nobody else.
    super::check_may_request(actor, &agent)?;
    super::check_permission(
        actor,
        &set.permissions().request_deployments,
        "asking for an exception",
    )?;
    check_request(request, rules, now)?;
    if let Some(open) = reads::open_exception(
        conn,
        &agent.agent_id,
        &request.agent_version,
        &policy.policy_id,
        now,
    )? {
        return Err(BackendError::Conflict(format!(
            "{} already excepts {} for {} {} ({}): revoke it first, or let it end",
            open.exception_id,
            policy.policy_id,
            agent.agent_id,
            request.agent_version,
            open.state(now)
        )));
    }
    if reads::pending_exceptions_of(conn, &actor.email)? >= MAX_PENDING_PER_PERSON {
        return Err(BackendError::Conflict(format!(
            "you have {MAX_PENDING_PER_PERSON} exceptions waiting for approval: wait for them, or revoke some"
        )));
    }
    let exception = Exception {
        exception_id: next_id(conn, "policy_exceptions", "exc")?,
        agent_id: agent.agent_id.clone(),
        agent_version: request.agent_version.clone(),
        policy_id: policy.policy_id.clone(),
        reason: request.reason.trim().to_owned(),
        ticket: request.ticket.clone(),
        controls: request
            .controls
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned),
        until: as_kept(request.until),
        requested_by: actor.email.clone(),
        requested_at: now,
        chain: rules.chain.clone(),
        approvals: Vec::new(),
        status: ExceptionStatus::Pending,
        closed_by: None,
        closed_at: None,
        closing_comment: None,
        policy_set_version: set_version,
        version: 1,
        state: None,
    };
    write(conn, &exception)?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "exception",
            &exception.exception_id,
            "exception_requested",
            (None, Some(exception.version)),
            serde_json::to_value(&exception)
                .map_err(|err| BackendError::Storage(err.to_string()))?,
        ),
    )?;
    tell_next_step(conn, &exception, now)?;
    Ok(exception)
}

/// Approves or rejects the next step of an exception, as `actor`.
pub fn decide_exception(
    conn: &Connection,
    actor: &User,
    decision: &ExceptionDecision,
    now: DateTime<Utc>,
) -> Result<Exception> {
    check_person(actor, "an exception is decided by a person")?;
    let now = as_kept(now);
    let mut exception = reads::exception(conn, &decision.exception_id)?;
    if let Some(version) = decision.version
        && version != exception.version
    {
        return Err(BackendError::Conflict(format!(
            "{} changed since you saw it (version {version}, now {}): look again",
            exception.exception_id, exception.version
        )));
    }
    let before = exception.version;
    let role = exception.next_role();
    exception.decide(
        &actor.email,
        &actor.roles,
        decision.approve,
        decision.comment.as_deref(),
        now,
    )?;
    write(conn, &exception)?;
    let comment = decision
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty());
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "exception",
            &exception.exception_id,
            if decision.approve {
                "exception_approved"
            } else {
                "exception_rejected"
            },
            (Some(before), Some(exception.version)),
            serde_json::json!({ "role": role, "at": now, "comment": comment, "status": exception.status }),
        ),
    )?;
    if exception.status == ExceptionStatus::Pending {
        tell_next_step(conn, &exception, now)?;
    } else {
        tell_decided(conn, &exception, &actor.email, now)?;
    }
    Ok(exception)
}

/// Ends a pending or active exception now, as `actor`.
pub fn revoke_exception(
    conn: &Connection,
    actor: &User,
    exception_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Exception> {
    check_person(actor, "an exception is revoked by a person")?;
    let now = as_kept(now);
    let mut exception = reads::exception(conn, exception_id)?;
    let before = exception.version;
    exception.revoke(&actor.email, &actor.roles, reason, now)?;
    write(conn, &exception)?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "exception",
            &exception.exception_id,
            "exception_revoked",
            (Some(before), Some(exception.version)),
            serde_json::json!({ "at": now, "reason": reason.trim() }),
        ),
    )?;
    tell_decided(conn, &exception, &actor.email, now)?;
    Ok(exception)
}

fn event_data(exception: &Exception, now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "exception_id": exception.exception_id,
        "agent_id": exception.agent_id,
        "agent_version": exception.agent_version,
        "policy_id": exception.policy_id,
        "requested_by": exception.requested_by,
        "until": exception.until,
        "next_role": exception.next_role(),
        "state": exception.state(now),
    })
}

/// Tells the holders of the next step's role, but never the people who
/// could not decide it (who asked, who approved a step).
fn tell_next_step(conn: &Connection, exception: &Exception, now: DateTime<Utc>) -> Result<()> {
    let Some(role) = exception.next_role() else {
        return Ok(());
    };
    let involved = |email: &str| {
        exception.requested_by.eq_ignore_ascii_case(email)
            || exception
                .approvals
                .iter()
                .any(|approval| approval.by.eq_ignore_ascii_case(email))
    };
    let tell = reads::users(conn, Some(role))?
        .into_iter()
        .filter(|user| !user.service && !involved(&user.email))
        .map(|user| user.email)
        .collect();
    record(
        conn,
        NewEvent {
            kind: EventKind::ExceptionRequested,
            subject: exception.exception_id.clone(),
            data: event_data(exception, now),
            tell,
            inbox: Vec::new(),
            at: now,
        },
    )
}

/// Tells who asked and who approved what became of it.
fn tell_decided(
    conn: &Connection,
    exception: &Exception,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let tell = std::iter::once(exception.requested_by.clone())
        .chain(
            exception
                .approvals
                .iter()
                .map(|approval| approval.by.clone()),
        )
        .filter(|email| !email.eq_ignore_ascii_case(actor))
        .collect();
    let mut data = event_data(exception, now);
    data["actor"] = serde_json::Value::String(actor.to_owned());
    record(
        conn,
        NewEvent {
            kind: EventKind::ExceptionDecided,
            subject: exception.exception_id.clone(),
            data,
            tell,
            inbox: Vec::new(),
            at: now,
        },
    )
}
