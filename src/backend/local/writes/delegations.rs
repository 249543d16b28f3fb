//! Delegations: made and ended by the person away, found when their
//! delegate decides for them or when they are to be told something.

use super::checks::check_email;
use super::checks::check_person;
use super::stamps::entry;
use super::stamps::next_id;
use crate::db::{Connection, params};

use super::super::reads::{self, COLUMNS, query};
use super::super::rows::{roles_to_text, to_ms};
use super::super::trail::TrailWriter;
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};

use crate::backend::types::User;
use crate::domain::Role;
use crate::domain::delegation::{Delegation, NewDelegation, covered_roles};

/// Writes a delegation's row (over one of the same id: a cache's copy).
fn insert(conn: &Connection, delegation: &Delegation) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO delegations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (delegation_id) DO UPDATE SET delegator = excluded.delegator,
           delegate = excluded.delegate, role = excluded.role, starts_at = excluded.starts_at,
           ends_at = excluded.ends_at, created_at = excluded.created_at, ended_at = excluded.ended_at,
           roles = excluded.roles"
    ))?
    .execute(params![
        delegation.delegation_id,
        delegation.delegator,
        delegation.delegate,
        delegation.role.map(Role::as_str),
        to_ms(delegation.starts_at),
        to_ms(delegation.ends_at),
        to_ms(delegation.created_at),
        delegation.ended_at.map(to_ms),
        roles_to_text(&delegation.covered_roles()),
    ])?;
    Ok(())
}

/// Records a delegation from `actor` to the person named.
pub fn delegate(
    conn: &Connection,
    actor: &User,
    request: &NewDelegation,
    now: DateTime<Utc>,
) -> Result<Delegation> {
    check_person(actor, "a service account delegates nothing")?;
    check_email(&request.to)?;
    if actor.is(&request.to) {
        return Err(BackendError::Invalid(
            "a delegation goes to someone else".into(),
        ));
    }
    let delegate = reads::user(conn, &request.to)?
        .ok_or_else(|| BackendError::not_found("user", request.to.clone()))?;
    if delegate.service {
        return Err(BackendError::Invalid(format!(
            "{} is a service account: only people decide for people",
            delegate.email
        )));
    }
    let roles = covered_roles(request, &actor.roles, &delegate.roles, now)
        .map_err(BackendError::Invalid)?;
    let delegation = Delegation {
        delegation_id: next_id(conn, "delegations", "dlg")?,
        delegator: actor.email.clone(),
        delegate: delegate.email.clone(),
        role: request.role,
        roles,
        starts_at: request.starts_at.max(now),
        ends_at: request.ends_at,
        created_at: now,
        ended_at: None,
    };
    insert(conn, &delegation)?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "delegation",
            &delegation.delegation_id,
            "delegation_created",
            (None, None),
            serde_json::json!({
                "delegator": delegation.delegator,
                "delegate": delegation.delegate,
                "role": delegation.role,
                "roles": delegation.roles,
                "starts_at": delegation.starts_at,
                "ends_at": delegation.ends_at,
            }),
        ),
    )?;
    Ok(delegation)
}

/// Ends one of `actor`'s delegations now (by its id), or every one they
/// gave that has not ended (`None`). Returns those ended.
pub fn end_delegation(
    conn: &Connection,
    actor: &User,
    delegation_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<Delegation>> {
    let given = match delegation_id {
        Some(id) => {
            let found = query(conn, "delegation_id = ?1", [id])?;
            let delegation = found
                .into_iter()
                .next()
                .ok_or_else(|| BackendError::not_found("delegation", id))?;
            if !actor.is(&delegation.delegator) {
                return Err(BackendError::Forbidden(format!(
                    "{} is {}'s delegation: only the person who gave it ends it",
                    delegation.delegation_id, delegation.delegator
                )));
            }
            if now >= delegation.until() {
                return Err(BackendError::Conflict(format!(
                    "{} has already ended",
                    delegation.delegation_id
                )));
            }
            vec![delegation]
        }
        None => query(
            conn,
            "delegator = ?1 AND ended_at IS NULL AND ends_at > ?2",
            params![actor.email, to_ms(now)],
        )?,
    };
    let mut trail = TrailWriter::resume(conn)?;
    let mut ended = Vec::new();
    for mut delegation in given {
        conn.prepare_cached("UPDATE delegations SET ended_at = ?2 WHERE delegation_id = ?1")?
            .execute(params![delegation.delegation_id, to_ms(now)])?;
        trail.append(
            conn,
            &entry(
                now,
                &actor.email,
                "delegation",
                &delegation.delegation_id,
                "delegation_ended",
                (None, None),
                serde_json::json!({ "delegate": delegation.delegate }),
            ),
        )?;
        delegation.ended_at = Some(now);
        ended.push(delegation);
    }
    Ok(ended)
}

/// Keeps a copy of delegations as the server has them (an offline cache,
/// so its replay checks decisions made for someone as the server will).
pub fn keep_delegations(conn: &Connection, email: &str, delegations: &[Delegation]) -> Result<()> {
    conn.prepare_cached("DELETE FROM delegations WHERE delegator = ?1 OR delegate = ?1")?
        .execute([email])?;
    for delegation in delegations {
        insert(conn, delegation)?;
    }
    Ok(())
}
