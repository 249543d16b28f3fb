//! The directory's users and groups as the store keeps them: one row each,
//! their attributes as JSON, and the memberships as rows.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::super::rows::{from_ms, to_ms};
use crate::backend::{BackendError, Result};
use crate::db::{Connection, OptionalExtension, params};
use crate::domain::scim::filter::Condition;
use crate::domain::scim::schema::Kind;

/// One user or group of the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryResource {
    pub kind: Kind,
    pub id: String,
    /// The attributes Gavel keeps (`resource::normalise`).
    pub attributes: Map<String, Value>,
    /// The Gavel user a directory user provisions (none until it has an
    /// email).
    pub email: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub version: i64,
}

impl DirectoryResource {
    pub fn text(&self, attribute: &str) -> Option<&str> {
        self.attributes.get(attribute).and_then(Value::as_str)
    }

    /// A user's `active` (true when the directory did not say).
    pub fn active(&self) -> bool {
        self.attributes.get("active") != Some(&Value::Bool(false))
    }

    /// A group's members' ids.
    pub fn member_ids(&self) -> Vec<String> {
        self.attributes
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|member| member.get("value").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }
}

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "directory_users",
        Kind::Group => "directory_groups",
    }
}

/// The column a filter's attribute is found by, and its value as kept
/// (names are kept lower-cased: they match in any case).
fn column(kind: Kind, condition: &Condition) -> (&'static str, String) {
    match (kind, condition.attribute) {
        (_, "id") => ("scim_id", condition.value.clone()),
        (_, "externalId") => ("external_id", condition.value.clone()),
        (Kind::User, _) => ("user_name_key", condition.value.to_lowercase()),
        (Kind::Group, _) => ("display_name_key", condition.value.to_lowercase()),
    }
}

fn columns(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "scim_id, resource, email, created_at, updated_at, version",
        Kind::Group => "scim_id, resource, NULL, created_at, updated_at, version",
    }
}

fn from_row(
    kind: Kind,
    row: &crate::db::Row<'_>,
) -> crate::db::Result<(String, String, Option<String>, i64, i64, i64)> {
    let _ = kind;
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn resource(
    kind: Kind,
    raw: (String, String, Option<String>, i64, i64, i64),
) -> Result<DirectoryResource> {
    let (id, json, email, created, updated, version) = raw;
    let attributes = serde_json::from_str(&json)
        .map_err(|err| BackendError::Storage(format!("directory {} {id}: {err}", kind.name())))?;
    Ok(DirectoryResource {
        kind,
        id,
        attributes,
        email,
        created: from_ms(created)?,
        updated: from_ms(updated)?,
        version,
    })
}

/// The resource `id` names, if any.
pub fn load(conn: &Connection, kind: Kind, id: &str) -> Result<Option<DirectoryResource>> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {} FROM {} WHERE scim_id = ?1",
            columns(kind),
            table(kind)
        ))?
        .query_row(params![id], |row| from_row(kind, row))
        .optional()?;
    raw.map(|raw| resource(kind, raw)).transpose()
}

/// The resources meeting every condition, `count` from the 1-based
/// `start_index`, oldest first; and how many meet them.
pub fn list(
    conn: &Connection,
    kind: Kind,
    conditions: &[Condition],
    start_index: usize,
    count: usize,
) -> Result<(u64, Vec<DirectoryResource>)> {
    let mut clauses = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for condition in conditions {
        let (column, value) = column(kind, condition);
        values.push(value);
        clauses.push(format!("{column} = ?{}", values.len()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let bound: Vec<&dyn crate::db::ToSql> = values
        .iter()
        .map(|value| value as &dyn crate::db::ToSql)
        .collect();
    let total: i64 = conn
        .prepare(&format!("SELECT COUNT(*) FROM {} {filter}", table(kind)))?
        .query_row(&bound[..], |row| row.get(0))?;
    let (limit, offset) = (count as i64, start_index.saturating_sub(1) as i64);
    let mut paged = bound.clone();
    paged.push(&limit);
    paged.push(&offset);
    let raws = conn
        .prepare(&format!(
            "SELECT {} FROM {} {filter} ORDER BY created_at, scim_id LIMIT ?{} OFFSET ?{}",
            columns(kind),
            table(kind),
            values.len() + 1,
            values.len() + 2
        ))?
        .query_map(&paged[..], |row| from_row(kind, row))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let resources = raws
        .into_iter()
        .map(|raw| resource(kind, raw))
        .collect::<Result<Vec<_>>>()?;
    Ok((total.max(0) as u64, resources))
}

fn key_of(kind: Kind, attributes: &Map<String, Value>) -> String {
    let name = match kind {
        Kind::User => "userName",
        Kind::Group => "displayName",
    };
    attributes
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase()
}

/// Whether another user than `except` has this user name (in any case).
pub fn user_name_taken(
    conn: &Connection,
    attributes: &Map<String, Value>,
    except: Option<&str>,
) -> Result<bool> {
    let found: Option<String> = conn
        .prepare_cached("SELECT scim_id FROM directory_users WHERE user_name_key = ?1")?
        .query_row(params![key_of(Kind::User, attributes)], |row| row.get(0))
        .optional()?;
    Ok(found.is_some_and(|id| Some(id.as_str()) != except))
}

/// Writes `resource` (new, or over its row), and a group's memberships.
pub fn store(conn: &Connection, resource: &DirectoryResource, new: bool) -> Result<()> {
    let json = Value::Object(resource.attributes.clone()).to_string();
    let external = resource.text("externalId").map(str::to_owned);
    let key = key_of(resource.kind, &resource.attributes);
    let (created, updated) = (to_ms(resource.created), to_ms(resource.updated));
    match (resource.kind, new) {
        (Kind::User, true) => conn.execute(
            "INSERT INTO directory_users (scim_id, user_name_key, external_id, email, active, resource, created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![resource.id, key, external, resource.email, i64::from(resource.active()), json, created, updated, resource.version],
        )?,
        (Kind::User, false) => conn.execute(
            "UPDATE directory_users SET user_name_key = ?2, external_id = ?3, email = ?4, active = ?5, resource = ?6, updated_at = ?7, version = ?8
             WHERE scim_id = ?1",
            params![resource.id, key, external, resource.email, i64::from(resource.active()), json, updated, resource.version],
        )?,
        (Kind::Group, true) => conn.execute(
            "INSERT INTO directory_groups (scim_id, display_name_key, external_id, resource, created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![resource.id, key, external, json, created, updated, resource.version],
        )?,
        (Kind::Group, false) => conn.execute(
            "UPDATE directory_groups SET display_name_key = ?2, external_id = ?3, resource = ?4, updated_at = ?5, version = ?6
             WHERE scim_id = ?1",
            params![resource.id, key, external, json, updated, resource.version],
        )?,
    };
    if resource.kind == Kind::Group {
        // Only the memberships that changed are written.
        let kept: std::collections::BTreeSet<String> = conn
            .prepare_cached("SELECT member_id FROM directory_members WHERE group_id = ?1")?
            .query_map(params![resource.id], |row| row.get(0))?
            .collect::<crate::db::Result<_>>()?;
        let wanted: std::collections::BTreeSet<String> =
            resource.member_ids().into_iter().collect();
        for gone in kept.difference(&wanted) {
            conn.prepare_cached(
                "DELETE FROM directory_members WHERE group_id = ?1 AND member_id = ?2",
            )?
            .execute(params![resource.id, gone])?;
        }
        for added in wanted.difference(&kept) {
            conn.prepare_cached(
                "INSERT INTO directory_members (group_id, member_id) VALUES (?1, ?2)",
            )?
            .execute(params![resource.id, added])?;
        }
    }
    Ok(())
}

/// Removes a resource's row and the memberships it is part of.
pub fn delete(conn: &Connection, kind: Kind, id: &str) -> Result<()> {
    conn.prepare_cached(&format!("DELETE FROM {} WHERE scim_id = ?1", table(kind)))?
        .execute(params![id])?;
    let column = match kind {
        Kind::User => "member_id",
        Kind::Group => "group_id",
    };
    conn.prepare_cached(&format!(
        "DELETE FROM directory_members WHERE {column} = ?1"
    ))?
    .execute(params![id])?;
    Ok(())
}

/// The names of the groups `user_id` is a member of.
pub fn group_names(conn: &Connection, user_id: &str) -> Result<Vec<String>> {
    let raws = conn
        .prepare_cached(
            "SELECT g.resource FROM directory_members m JOIN directory_groups g ON g.scim_id = m.group_id
             WHERE m.member_id = ?1 ORDER BY g.display_name_key",
        )?
        .query_map(params![user_id], |row| row.get::<String>(0))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    Ok(raws
        .iter()
        .filter_map(|json| serde_json::from_str::<Value>(json).ok())
        .filter_map(|group| {
            group
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect())
}

/// Whether a user or group with this id exists.
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM directory_users WHERE scim_id = ?1 UNION ALL SELECT 1 FROM directory_groups WHERE scim_id = ?1",
        )?
        .query_row(params![id], |row| row.get(0))
        .optional()?;
    Ok(found.is_some())
}
