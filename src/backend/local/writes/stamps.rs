//! What every change carries: its id, who made it and when, its trail
//! entry; and new tokens.

use crate::db::{Connection, OptionalExtension};
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};
use crate::domain::TrailEntry;

/// A new random API token.
pub fn new_token() -> String {
    format!("gvl_{}", uuid::Uuid::new_v4().simple())
}

/// The next id of a table, as `prefix-0000001`. Ids follow insertion order.
pub fn next_id(conn: &Connection, table: &str, prefix: &str) -> Result<String> {
    Ok(format_id(prefix, next_number(conn, table)?))
}

/// One past the number of a table's newest id. SQLite's row ids follow
/// insertion; PostgreSQL has none, so it reads the newest id itself (an
/// index on the id's length and text makes that one probe).
pub fn next_number(conn: &Connection, table: &str) -> Result<i64> {
    let column = match table {
        "deployments" => "deployment_id",
        "workflows" => "workflow_id",
        "reviews" => "review_id",
        "audits" => "audit_id",
        "audit_runs" => "run_id",
        "delegations" => "delegation_id",
        "obligation_confirmations" => "confirmation_id",
        "policy_exceptions" => "exception_id",
        "incidents" => "incident_id",
        other => {
            return Err(BackendError::Storage(format!(
                "the store assigns no ids to {other}"
            )));
        }
    };
    match conn.dialect() {
        crate::db::Dialect::Sqlite => Ok(conn
            .prepare_cached(&format!("SELECT COALESCE(MAX(rowid), 0) + 1 FROM {table}"))?
            .query_row(crate::db::params![], |row| row.get(0))?),
        crate::db::Dialect::Postgres => {
            let newest: Option<String> = conn
                .prepare_cached(&format!(
                    "SELECT {column} FROM {table} ORDER BY length({column}) DESC, {column} DESC LIMIT 1"
                ))?
                .query_row(crate::db::params![], |row| row.get(0))
                .optional()?;
            match newest {
                None => Ok(1),
                Some(id) => id
                    .rsplit('-')
                    .next()
                    .and_then(|number| number.parse::<i64>().ok())
                    .map(|number| number + 1)
                    .ok_or_else(|| super::super::rows::corrupt(column, &id)),
            }
        }
    }
}

pub fn format_id(prefix: &str, n: i64) -> String {
    format!("{prefix}-{n:07}")
}

pub fn entry(
    at: DateTime<Utc>,
    actor: &str,
    entity_type: &str,
    entity_id: &str,
    action: &str,
    versions: (Option<i64>, Option<i64>),
    details: serde_json::Value,
) -> TrailEntry {
    TrailEntry {
        at,
        actor: actor.to_owned(),
        entity_type: entity_type.to_owned(),
        entity_id: entity_id.to_owned(),
        action: action.to_owned(),
        before_version: versions.0,
        after_version: versions.1,
        details: details.to_string(),
    }
}

/// Who made a change, and when.
#[derive(Clone, Copy)]
pub(crate) struct Stamp<'a> {
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}
