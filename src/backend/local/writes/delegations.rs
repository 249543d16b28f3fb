//! Delegations: made and ended by the person away, found when their
//! delegate decides for them or when they are to be told something.

use crate::db::{Connection, OptionalExtension, Row, params};
use chrono::{DateTime, Utc};

use super::super::reads;
use super::super::rows::{from_ms, parse, roles_from_text, roles_to_text, to_ms};
use super::super::trail::TrailWriter;
use super::*;
use crate::backend::types::User;
use crate::domain::Role;
use crate::domain::delegation::{Delegation, NewDelegation, covered_roles};

const COLUMNS: &str =
    "delegation_id, delegator, delegate, role, starts_at, ends_at, created_at, ended_at, roles";

fn delegation_row(row: &Row<'_>) -> crate::db::Result<RawDelegation> {
    Ok(RawDelegation {
        delegation_id: row.get(0)?,
        delegator: row.get(1)?,
        delegate: row.get(2)?,
        role: row.get(3)?,
        starts_at: row.get(4)?,
        ends_at: row.get(5)?,
        created_at: row.get(6)?,
        ended_at: row.get(7)?,
        roles: row.get(8)?,
    })
}

struct RawDelegation {
    delegation_id: String,
    delegator: String,
    delegate: String,
    role: Option<String>,
    starts_at: i64,
    ends_at: i64,
    created_at: i64,
    ended_at: Option<i64>,
    roles: String,
}

impl RawDelegation {
    fn parse(self) -> Result<Delegation> {
        Ok(Delegation {
            delegation_id: self.delegation_id,
            delegator: self.delegator,
            delegate: self.delegate,
            role: self.role.map(|role| parse("role", &role)).transpose()?,
            roles: roles_from_text(&self.roles)?,
            starts_at: from_ms(self.starts_at)?,
            ends_at: from_ms(self.ends_at)?,
            created_at: from_ms(self.created_at)?,
            ended_at: self.ended_at.map(from_ms).transpose()?,
        })
    }
}

fn query(
    conn: &Connection,
    filter: &str,
    values: impl crate::db::Params,
) -> Result<Vec<Delegation>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM delegations WHERE {filter} ORDER BY starts_at, delegation_id"
    ))?
    .query_map(values, delegation_row)?
    .collect::<crate::db::Result<Vec<_>>>()?
    .into_iter()
    .map(RawDelegation::parse)
    .collect()
}

/// The delegations `email` gave or received that have not ended by `now`
/// (and, with `ended`, those that have).
pub fn delegations(
    conn: &Connection,
    email: &str,
    now: DateTime<Utc>,
    ended: bool,
) -> Result<Vec<Delegation>> {
    let mut found = query(conn, "delegator = ?1 OR delegate = ?1", params![email])?;
    found.retain(|delegation| ended || now < delegation.until());
    Ok(found)
}

/// The delegation from `delegator` to `delegate` covering `role` at `at`.
pub fn covering(
    conn: &Connection,
    delegator: &str,
    delegate: &str,
    role: Role,
    at: DateTime<Utc>,
) -> Result<Option<Delegation>> {
    Ok(query(
        conn,
        "delegator = ?1 AND delegate = ?2 AND ends_at > ?3 AND starts_at <= ?3",
        params![delegator, delegate, to_ms(at)],
    )?
    .into_iter()
    .find(|delegation| delegation.covers(role, at)))
}

/// Who decides for `delegator` in `role` (any role: none) at `at`: never
/// passed on, so a delegate's own delegates are not among them.
pub fn delegates_of(
    conn: &Connection,
    delegator: &str,
    role: Option<Role>,
    at: DateTime<Utc>,
) -> Result<Vec<String>> {
    Ok(query(
        conn,
        "delegator = ?1 AND ends_at > ?2 AND starts_at <= ?2",
        params![delegator, to_ms(at)],
    )?
    .into_iter()
    .filter(|delegation| match role {
        Some(role) => delegation.covers(role, at),
        None => delegation.active_at(at),
    })
    .map(|delegation| delegation.delegate)
    .collect())
}

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

/// Whether any delegation exists (the fast path of notifications).
pub fn any_delegations(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM delegations LIMIT 1")?
        .query_row(crate::db::params![], |_| Ok(()))
        .optional()?
        .is_some())
}
