//! Exceptions: listed for people, and those in force for an evaluation.

use chrono::{DateTime, TimeDelta, Utc};

use crate::backend::Result;
use crate::db::{Connection, params};
use crate::domain::exception::{
    EXPIRING_WITHIN_DAYS, Exception, ExceptionQuery, ExceptionState, LIST_LIMIT,
};
use crate::domain::policy::exceptions::AppliedException;
use crate::domain::role::Role;

use super::super::rows::{Bound, bind, bind_roles, json_records, to_ms};

fn records(conn: &Connection, filter: &str, values: &[Bound]) -> Result<Vec<Exception>> {
    json_records(
        conn,
        ("policy_exceptions", "exception_id", "exception"),
        filter,
        values,
        LIST_LIMIT,
    )
}

/// One exception by its id.
pub fn exception(conn: &Connection, exception_id: &str) -> Result<Exception> {
    records(
        conn,
        "exception_id = ?1",
        &[Box::new(exception_id.to_owned())],
    )?
    .into_iter()
    .next()
    .ok_or_else(|| crate::backend::BackendError::not_found("exception", exception_id))
}

/// Exceptions matching `query` at `now`, newest first (at most
/// `LIST_LIMIT`); `roles` are the caller's, for `awaiting_me`.
pub fn exceptions(
    conn: &Connection,
    query: &ExceptionQuery,
    roles: &[Role],
    now: DateTime<Utc>,
) -> Result<Vec<Exception>> {
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut values: Vec<Bound> = Vec::new();
    if let Some(agent) = &query.agent_id {
        let slot = bind(&mut values, agent.clone());
        clauses.push(format!("agent_id = {slot}"));
    }
    let now_ms = to_ms(now);
    match query.state {
        None => {}
        Some(ExceptionState::Active) => {
            let slot = bind(&mut values, now_ms);
            clauses.push(format!("status = 'active' AND ends_at > {slot}"));
        }
        Some(ExceptionState::Lapsed) => {
            let slot = bind(&mut values, now_ms);
            clauses.push(format!("status = 'active' AND ends_at <= {slot}"));
        }
        Some(state) => {
            let slot = bind(&mut values, state.as_str().to_owned());
            clauses.push(format!("status = {slot}"));
        }
    }
    if query.awaiting_me {
        if roles.is_empty() {
            return Ok(Vec::new());
        }
        let slots = bind_roles(&mut values, roles);
        clauses.push(format!("status = 'pending' AND next_role IN ({slots})"));
    }
    records(conn, &clauses.join(" AND "), &values)
}

/// The exceptions in force for an agent version at `now`.
pub fn applied_exceptions(
    conn: &Connection,
    agent_id: &str,
    agent_version: &str,
    now: DateTime<Utc>,
) -> Result<Vec<AppliedException>> {
    Ok(records(
        conn,
        "agent_id = ?1 AND agent_version = ?2 AND status = 'active' AND ends_at > ?3",
        &[
            Box::new(agent_id.to_owned()),
            Box::new(agent_version.to_owned()),
            Box::new(to_ms(now)),
        ],
    )?
    .iter()
    .filter_map(|exception| exception.applied(now))
    .collect())
}

/// The exception waiting or in force for a version and policy, if any.
pub fn open_exception(
    conn: &Connection,
    agent_id: &str,
    agent_version: &str,
    policy_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Exception>> {
    Ok(records(
        conn,
        "agent_id = ?1 AND agent_version = ?2 AND policy_id = ?3
           AND (status = 'pending' OR (status = 'active' AND ends_at > ?4))",
        &[
            Box::new(agent_id.to_owned()),
            Box::new(agent_version.to_owned()),
            Box::new(policy_id.to_owned()),
            Box::new(to_ms(now)),
        ],
    )?
    .into_iter()
    .next())
}

/// Exceptions in force at `now`, and how many of them end within
/// `EXPIRING_WITHIN_DAYS`.
pub fn exception_counts(conn: &Connection, now: DateTime<Utc>) -> Result<(u64, u64)> {
    let soon = now + TimeDelta::days(EXPIRING_WITHIN_DAYS);
    let count = |until: i64| -> Result<u64> {
        let found: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM policy_exceptions
                 WHERE status = 'active' AND ends_at > ?1 AND ends_at <= ?2",
            )?
            .query_row(params![to_ms(now), until], |row| row.get(0))?;
        Ok(u64::try_from(found).unwrap_or(0))
    };
    Ok((count(i64::MAX)?, count(to_ms(soon))?))
}

/// How many exceptions `email` asked for wait for approval now.
pub fn pending_exceptions_of(conn: &Connection, email: &str) -> Result<u64> {
    let found: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM policy_exceptions WHERE status = 'pending' AND lower(requested_by) = lower(?1)",
        )?
        .query_row([email], |row| row.get(0))?;
    Ok(u64::try_from(found).unwrap_or(0))
}
