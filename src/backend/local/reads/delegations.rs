//! Delegations: who gave whom which roles, and who decides for whom now.

use crate::db::{Connection, OptionalExtension, Row, params};

use super::super::rows::{from_ms, parse, roles_from_text, to_ms};
use chrono::{DateTime, Utc};

use crate::backend::Result;

use crate::domain::Role;
use crate::domain::delegation::Delegation;

pub(crate) const COLUMNS: &str =
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

pub(crate) fn query(
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

/// Whether any delegation exists (the fast path of notifications).
pub fn any_delegations(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM delegations LIMIT 1")?
        .query_row(crate::db::params![], |_| Ok(()))
        .optional()?
        .is_some())
}
