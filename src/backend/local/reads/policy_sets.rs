//! Policy set versions as recorded.

use crate::db::{Connection, OptionalExtension, Row};

use super::super::rows::{from_ms, parse};
use crate::backend::types::{PolicySetDetail, PolicySetVersion};
use crate::backend::{BackendError, Result};

const COLUMNS: &str = "version, state, description, source_hash, based_on, proposed_by, proposed_at, decided_by, decided_at, comment";

type RawVersion = (
    i64,
    String,
    String,
    String,
    Option<i64>,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn raw(row: &Row<'_>) -> crate::db::Result<RawVersion> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

fn version(raw: RawVersion) -> Result<PolicySetVersion> {
    let (
        version,
        state,
        description,
        hash,
        based_on,
        proposed_by,
        proposed_at,
        decided_by,
        decided_at,
        comment,
    ) = raw;
    Ok(PolicySetVersion {
        version,
        state: parse("policy set state", &state)?,
        description,
        source_sha256: hash,
        based_on,
        proposed_by,
        proposed_at: from_ms(proposed_at)?,
        decided_by,
        decided_at: decided_at.map(from_ms).transpose()?,
        comment,
    })
}

/// Every version, newest first.
pub fn policy_sets(conn: &Connection) -> Result<Vec<PolicySetVersion>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM policy_sets ORDER BY version DESC"
    ))?;
    let raws = statement
        .query_map(crate::db::params![], raw)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter().map(version).collect()
}

/// One version, without its text and plan.
pub fn policy_set_version(conn: &Connection, number: i64) -> Result<PolicySetVersion> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM policy_sets WHERE version = ?1"
        ))?
        .query_row([number], raw)
        .optional()?;
    version(found.ok_or_else(|| BackendError::not_found("policy set version", number.to_string()))?)
}

/// One version with its text and plan; the active one when `number` is none.
pub fn policy_set_detail(conn: &Connection, number: i64) -> Result<PolicySetDetail> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, source, plan FROM policy_sets WHERE version = ?1"
        ))?
        .query_row([number], |row| {
            Ok((raw(row)?, row.get::<String>(10)?, row.get::<String>(11)?))
        })
        .optional()?;
    let (raw, source, plan) =
        found.ok_or_else(|| BackendError::not_found("policy set version", number.to_string()))?;
    Ok(PolicySetDetail {
        version: version(raw)?,
        source,
        plan: serde_json::from_str(&plan).unwrap_or(serde_json::Value::Null),
    })
}

/// The active version's number.
pub fn active_policy_set(conn: &Connection) -> Result<i64> {
    conn.prepare_cached("SELECT version FROM policy_sets WHERE state = 'active'")?
        .query_row(crate::db::params![], |row| row.get(0))
        .optional()?
        .ok_or_else(|| BackendError::Storage("no policy set version is active".into()))
}
