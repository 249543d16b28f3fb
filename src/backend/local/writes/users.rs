//! People and external tools: who may act, with which roles and teams, and
//! which tools an agent may call. Removing a user revokes their token at
//! once; their past decisions stay in the trail.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::super::reads;
use super::super::rows::{roles_to_text, teams_to_text, to_ms};
use super::super::trail;
use super::*;
use crate::backend::types::{ToolRecord, ToolStatus, User};
use crate::domain::Role;

/// What `users add` and `users update` set.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub name: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub teams: Option<Vec<String>>,
}

fn check_team(team: &str) -> Result<()> {
    if !crate::text::has_visible_text(team)
        || team.len() > 256
        || team.chars().any(char::is_control)
    {
        return Err(BackendError::Invalid(format!(
            "team {team:?} must be 1 to 256 bytes of visible text"
        )));
    }
    Ok(())
}

/// Roles a person may hold: those of the active policy set's vocabulary.
fn check_roles(conn: &Connection, roles: &[Role]) -> Result<()> {
    let vocabulary = reads::vocabulary(conn)?;
    roles
        .iter()
        .try_for_each(|role| vocabulary.check_role("roles", *role))
        .map_err(|err| BackendError::Invalid(err.to_string()))
}

fn user_entry(
    actor: &str,
    email: &str,
    action: &str,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> TrailEntry {
    entry(
        at,
        actor,
        "user",
        &email.to_lowercase(),
        action,
        (None, None),
        details,
    )
}

/// Creates a user (or brings back a removed one) with a new token; refuses
/// a user who exists.
pub fn add_user(
    conn: &Connection,
    actor: &str,
    email: &str,
    change: &UserChange,
    now: DateTime<Utc>,
) -> Result<String> {
    check_email(email)?;
    if reads::user(conn, email)?.is_some() {
        return Err(BackendError::Conflict(format!(
            "user {email} exists: change them with `gavel users update {email}`"
        )));
    }
    let name = change
        .name
        .clone()
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
    let roles = change.roles.clone().unwrap_or_default();
    check_roles(conn, &roles)?;
    let teams = change.teams.clone().unwrap_or_default();
    teams.iter().try_for_each(|team| check_team(team))?;
    let token = new_token();
    conn.execute(
        "INSERT INTO users (email, name, roles, teams, token_hash, created_at, removed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)
         ON CONFLICT(email) DO UPDATE SET name = excluded.name, roles = excluded.roles, teams = excluded.teams,
           token_hash = excluded.token_hash, removed_at = NULL",
        params![email, name, roles_to_text(&roles), teams_to_text(&teams)?, token_hash(&token), to_ms(now)],
    )?;
    trail::append(
        conn,
        &user_entry(
            actor,
            email,
            "user_added",
            serde_json::json!({ "roles": roles, "teams": teams }),
            now,
        ),
    )?;
    Ok(token)
}

/// Changes a user's name, roles or teams.
pub fn update_user(
    conn: &Connection,
    actor: &str,
    email: &str,
    change: &UserChange,
    now: DateTime<Utc>,
) -> Result<User> {
    let user = reads::user(conn, email)?.ok_or_else(|| BackendError::not_found("user", email))?;
    if let Some(teams) = &change.teams {
        teams.iter().try_for_each(|team| check_team(team))?;
    }
    if let Some(roles) = &change.roles {
        check_roles(conn, roles)?;
    }
    let next = User {
        name: change.name.clone().unwrap_or(user.name.clone()),
        roles: change.roles.clone().unwrap_or(user.roles.clone()),
        teams: change.teams.clone().unwrap_or(user.teams.clone()),
        ..user.clone()
    };
    conn.execute(
        "UPDATE users SET name = ?2, roles = ?3, teams = ?4 WHERE email = ?1",
        params![
            user.email,
            next.name,
            roles_to_text(&next.roles),
            teams_to_text(&next.teams)?
        ],
    )?;
    trail::append(
        conn,
        &user_entry(
            actor,
            email,
            "user_updated",
            serde_json::json!({
                "roles": { "from": user.roles, "to": next.roles },
                "teams": { "from": user.teams, "to": next.teams },
            }),
            now,
        ),
    )?;
    Ok(next)
}

/// Removes a user: their token stops working at once, and no path (the
/// server, the embedded store, an offline cache's replay) lets them act.
pub fn remove_user(conn: &Connection, actor: &str, email: &str, now: DateTime<Utc>) -> Result<()> {
    let user = reads::user(conn, email)?.ok_or_else(|| BackendError::not_found("user", email))?;
    conn.execute(
        "UPDATE users SET token_hash = NULL, removed_at = ?2 WHERE email = ?1",
        params![user.email, to_ms(now)],
    )?;
    trail::append(
        conn,
        &user_entry(actor, email, "user_removed", serde_json::json!({}), now),
    )?;
    Ok(())
}

/// A new token for a user; the old one stops working.
pub fn rotate_token(
    conn: &Connection,
    actor: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let user = reads::user(conn, email)?.ok_or_else(|| BackendError::not_found("user", email))?;
    let token = new_token();
    conn.execute(
        "UPDATE users SET token_hash = ?2 WHERE email = ?1",
        params![user.email, token_hash(&token)],
    )?;
    trail::append(
        conn,
        &user_entry(actor, email, "token_rotated", serde_json::json!({}), now),
    )?;
    Ok(token)
}

/// Approves or rejects an external tool: a data steward's or compliance
/// officer's record, in the trail.
pub fn decide_tool(
    conn: &Connection,
    actor: &User,
    name: &str,
    status: ToolStatus,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<ToolRecord> {
    let set = reads::policy_set(conn)?;
    check_permission(
        actor,
        &set.permissions().approve_tools,
        "approving or rejecting an external tool",
    )?;
    let name = name.trim();
    if !crate::text::has_visible_text(name)
        || name.len() > 256
        || name.chars().any(char::is_control)
    {
        return Err(BackendError::Invalid(format!(
            "tool name {name:?} must be 1 to 256 bytes of visible text"
        )));
    }
    if !crate::text::has_visible_text(comment) || comment.len() > 8 * 1024 {
        return Err(BackendError::Invalid(
            "a tool decision needs a comment saying why (at most 8 KB)".into(),
        ));
    }
    let record = ToolRecord {
        name: name.to_owned(),
        status,
        decided_by: actor.email.clone(),
        decided_at: now,
        comment: comment.trim().to_owned(),
    };
    conn.execute(
        "INSERT INTO tools (name, status, decided_by, decided_at, comment) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(name) DO UPDATE SET status = excluded.status, decided_by = excluded.decided_by,
           decided_at = excluded.decided_at, comment = excluded.comment",
        params![record.name, status.as_str(), record.decided_by, to_ms(now), record.comment],
    )?;
    trail::append(
        conn,
        &entry(
            now,
            &actor.email,
            "tool",
            &name.to_lowercase(),
            match status {
                ToolStatus::Approved => "tool_approved",
                ToolStatus::Rejected => "tool_rejected",
            },
            (None, None),
            serde_json::json!({ "comment": record.comment }),
        ),
    )?;
    Ok(record)
}
