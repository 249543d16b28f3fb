//! People as the store keeps them, and the tools they approved.

use crate::db::{Connection, OptionalExtension};

use super::super::rows::{self, from_ms, parse};
use crate::backend::Result;
use crate::backend::types::User;
use std::collections::BTreeSet;

use crate::backend::types::ToolRecord;
use crate::domain::Role;

pub(crate) const USER_COLUMNS: &str =
    "email, name, roles, teams, service, issuer, subject, asserted_email, signed_in_at";

pub(crate) struct RawUser {
    email: String,
    name: String,
    roles: String,
    teams: String,
    service: bool,
    issuer: Option<String>,
    subject: Option<String>,
    asserted_email: Option<String>,
    signed_in_at: Option<i64>,
}

pub(crate) fn parse_user(row: &crate::db::Row<'_>) -> crate::db::Result<RawUser> {
    Ok(RawUser {
        email: row.get(0)?,
        name: row.get(1)?,
        roles: row.get(2)?,
        teams: row.get(3)?,
        service: row.get(4)?,
        issuer: row.get(5)?,
        subject: row.get(6)?,
        asserted_email: row.get(7)?,
        signed_in_at: row.get(8)?,
    })
}

pub(crate) fn user_from(raw: RawUser) -> Result<User> {
    let identity = match (raw.issuer, raw.subject) {
        (Some(issuer), Some(subject)) => Some(crate::backend::Identity {
            issuer,
            subject,
            email: raw.asserted_email,
        }),
        _ => None,
    };
    Ok(User {
        email: raw.email,
        name: raw.name,
        roles: rows::roles_from_text(&raw.roles)?,
        teams: rows::teams_from_text(&raw.teams)?,
        identity,
        service: raw.service,
        last_sign_in: raw.signed_in_at.map(rows::from_ms).transpose()?,
    })
}

/// A user who may act (removed users are no one).
pub fn user(conn: &Connection, email: &str) -> Result<Option<User>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = ?1 AND removed_at IS NULL"
    ))?
    .query_row([email], parse_user)
    .optional()?
    .map(user_from)
    .transpose()
}

/// Whether the email belonged to a user who was removed.
pub fn user_removed(conn: &Connection, email: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE email = ?1 AND removed_at IS NOT NULL")?
        .query_row([email], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Every user who may act, by email; with `role`, only those holding it.
pub fn users(conn: &Connection, role: Option<Role>) -> Result<Vec<User>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE removed_at IS NULL ORDER BY email"
    ))?;
    let raws = statement
        .query_map(crate::db::params![], parse_user)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let users = raws
        .into_iter()
        .map(user_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(users
        .into_iter()
        .filter(|user| role.is_none_or(|role| user.holds(role)))
        .collect())
}

/// External tools with a decision on record, by name.
pub fn tools(conn: &Connection) -> Result<Vec<ToolRecord>> {
    let mut statement = conn.prepare_cached(
        "SELECT name, status, decided_by, decided_at, comment FROM tools ORDER BY name COLLATE NOCASE",
    )?;
    let raws: Vec<(String, String, String, i64, String)> = statement
        .query_map(crate::db::params![], |row| row.try_into())?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(|(name, status, decided_by, decided_at, comment)| {
            Ok(ToolRecord {
                name,
                status: parse("tool status", &status)?,
                decided_by,
                decided_at: from_ms(decided_at)?,
                comment,
            })
        })
        .collect()
}

/// Names (lowercased) of the tools approved now.
pub fn approved_tools(conn: &Connection) -> Result<BTreeSet<String>> {
    let mut statement =
        conn.prepare_cached("SELECT lower(name) FROM tools WHERE status = 'approved'")?;
    let names = statement
        .query_map(crate::db::params![], |row| row.get::<String>(0))?
        .collect::<crate::db::Result<BTreeSet<_>>>()?;
    Ok(names)
}
