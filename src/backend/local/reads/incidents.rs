//! Incidents: listed for people, the suspensions a check obeys, and the
//! counts leadership reads.

use chrono::{DateTime, Utc};

use crate::backend::Result;
use crate::db::{Connection, ToSql, params};
use crate::domain::incident::{Incident, IncidentFilter, IncidentQuery, LIST_LIMIT};
use crate::domain::role::Role;

use super::super::rows::{Bound, bind, bind_roles, json_records, to_ms};

fn records(conn: &Connection, filter: &str, values: &[Bound], limit: u32) -> Result<Vec<Incident>> {
    json_records(
        conn,
        ("incidents", "incident_id", "incident"),
        filter,
        values,
        limit,
    )
}

/// One incident by its id.
pub fn incident(conn: &Connection, incident_id: &str) -> Result<Incident> {
    records(
        conn,
        "incident_id = ?1",
        &[Box::new(incident_id.to_owned())],
        1,
    )?
    .into_iter()
    .next()
    .ok_or_else(|| crate::backend::BackendError::not_found("incident", incident_id))
}

/// Incidents matching `query` at `now`, newest first (at most
/// `LIST_LIMIT`); `roles` are the caller's, for `awaiting_me`.
pub fn incidents(
    conn: &Connection,
    query: &IncidentQuery,
    roles: &[Role],
    now: DateTime<Utc>,
) -> Result<Vec<Incident>> {
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut values: Vec<Bound> = Vec::new();
    if let Some(agent) = &query.agent_id {
        let slot = bind(&mut values, agent.clone());
        clauses.push(format!("agent_id = {slot}"));
    }
    match query.state {
        None => {}
        Some(IncidentFilter::Open) => clauses.push("status <> 'closed'".into()),
        Some(IncidentFilter::Closed) => clauses.push("status = 'closed'".into()),
        Some(IncidentFilter::Suspended) => clauses.push("suspended = 1".into()),
        Some(IncidentFilter::Overdue) => {
            let slot = bind(&mut values, to_ms(now));
            clauses.push(format!(
                "status <> 'closed' AND report_due IS NOT NULL AND report_due < {slot}"
            ));
        }
    }
    if query.awaiting_me {
        if roles.is_empty() {
            return Ok(Vec::new());
        }
        let slots = bind_roles(&mut values, roles);
        clauses.push(format!("suspended = 1 AND next_role IN ({slots})"));
    }
    records(conn, &clauses.join(" AND "), &values, LIST_LIMIT)
}

/// The incidents holding an agent version suspended.
pub fn suspending_incidents(
    conn: &Connection,
    agent_id: &str,
    agent_version: &str,
) -> Result<Vec<Incident>> {
    records(
        conn,
        "agent_id = ?1 AND agent_version = ?2 AND suspended = 1",
        &[
            Box::new(agent_id.to_owned()),
            Box::new(agent_version.to_owned()),
        ],
        LIST_LIMIT,
    )
}

/// An agent's incidents, newest first (at most `LIST_LIMIT`): what its
/// obligations and evidence read.
pub fn incidents_of_agent(conn: &Connection, agent_id: &str) -> Result<Vec<Incident>> {
    records(
        conn,
        "agent_id = ?1",
        &[Box::new(agent_id.to_owned())],
        LIST_LIMIT,
    )
}

/// Incidents not closed, those owing a report past due at `now`, and the
/// agent versions held suspended.
pub fn incident_counts(conn: &Connection, now: DateTime<Utc>) -> Result<(u64, u64, u64)> {
    let count = |sql: &str, values: &[&dyn ToSql]| -> Result<u64> {
        let found: i64 = conn
            .prepare_cached(sql)?
            .query_row(values, |row| row.get(0))?;
        Ok(u64::try_from(found).unwrap_or(0))
    };
    let now_ms = to_ms(now);
    Ok((
        count(
            "SELECT COUNT(*) FROM incidents WHERE status IN ('open', 'triaged')",
            &[],
        )?,
        count(
            "SELECT COUNT(*) FROM incidents WHERE status IN ('open', 'triaged')
               AND report_due IS NOT NULL AND report_due < ?1",
            params![now_ms],
        )?,
        count(
            "SELECT COUNT(*) FROM (SELECT DISTINCT agent_id, agent_version FROM incidents
               WHERE suspended = 1) AS held",
            &[],
        )?,
    ))
}

/// How many incidents `email` reported wait for triage.
pub fn untriaged_incidents_of(conn: &Connection, email: &str) -> Result<u64> {
    let found: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM incidents WHERE status = 'open' AND lower(reported_by) = lower(?1)",
        )?
        .query_row([email], |row| row.get(0))?;
    Ok(u64::try_from(found).unwrap_or(0))
}

/// Whether a deployment of this agent version was ever requested.
pub fn version_requested(conn: &Connection, agent_id: &str, agent_version: &str) -> Result<bool> {
    use crate::db::OptionalExtension;
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM deployments WHERE agent_id = ?1 AND agent_version = ?2 LIMIT 1",
        )?
        .query_row(params![agent_id, agent_version], |_| Ok(()))
        .optional()?
        .is_some())
}
