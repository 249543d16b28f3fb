//! People and external tools: who may act, with which roles and teams, and
//! which tools an agent may call. Removing a user revokes their token at
//! once; their past decisions stay in the trail.

use super::checks::check_email;
use super::checks::check_permission;
use super::checks::check_person;
use super::stamps::entry;
use super::stamps::new_token;
use crate::db::{Connection, params};

use super::super::reads;
use super::super::rows::{roles_to_text, teams_to_text, to_ms};
use super::super::trail;
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};
use crate::domain::TrailEntry;

use crate::backend::types::{Identity, ToolRecord, ToolStatus, User};
use crate::domain::Role;

/// The trail's actor for changes the identity provider's directory made
/// (a person's roles and teams at sign-in).
pub const DIRECTORY: &str = "directory (identity provider)";

/// What `users add` and `users update` set.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub name: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub teams: Option<Vec<String>>,
    /// `users add --service`: a service account, which never signs in with
    /// the identity provider.
    pub service: bool,
}

/// A sign-in as the identity provider asserted it, with the roles and
/// teams its directory groups map to.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub identity: Identity,
    pub email_verified: bool,
    pub name: Option<String>,
    pub roles: Vec<Role>,
    pub teams: Vec<String>,
    /// When the provider issued the token (a newer token is a new sign-in).
    pub issued_at: DateTime<Utc>,
}

/// Whether a first sign-in may join the Gavel user with the same email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailLinking {
    /// Only an administrator links (`gavel users link`).
    Never,
    /// Also when the provider says the email is verified (for a
    /// single-tenant provider the organisation runs).
    Verified,
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
        "INSERT INTO users (email, name, roles, teams, token_hash, created_at, removed_at, service) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)
         ON CONFLICT(email) DO UPDATE SET name = excluded.name, roles = excluded.roles, teams = excluded.teams,
           token_hash = excluded.token_hash, removed_at = NULL, service = excluded.service",
        params![email, name, roles_to_text(&roles), teams_to_text(&teams)?, crate::domain::digest::token_hash(&token), to_ms(now), change.service],
    )?;
    trail::append(
        conn,
        &user_entry(
            actor,
            email,
            "user_added",
            serde_json::json!({ "roles": roles, "teams": teams, "service": change.service }),
            now,
        ),
    )?;
    Ok(token)
}

/// A user row as sign-in needs it, removed ones included.
struct Known {
    email: String,
    removed: bool,
    service: bool,
    subject: Option<String>,
    signed_in_at: Option<i64>,
}

fn known(
    conn: &Connection,
    condition: &str,
    values: &[&dyn crate::db::ToSql],
) -> Result<Option<Known>> {
    use crate::db::OptionalExtension;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT email, removed_at IS NOT NULL, service, subject, signed_in_at FROM users WHERE {condition}"
        ))?
        .query_row(values, |row| {
            Ok(Known {
                email: row.get(0)?,
                removed: row.get(1)?,
                service: row.get(2)?,
                subject: row.get(3)?,
                signed_in_at: row.get(4)?,
            })
        })
        .optional()?)
}

/// The user as this sign-in leaves them: the directory's roles (those of
/// the policy vocabulary), teams and name over what `before` holds.
fn as_asserted(conn: &Connection, sign_in: &SignIn, before: &User) -> Result<User> {
    let vocabulary = reads::vocabulary(conn)?;
    let roles = sign_in
        .roles
        .iter()
        .copied()
        .filter(|role| vocabulary.check_role("roles", *role).is_ok())
        .collect();
    let teams = sign_in
        .teams
        .iter()
        .filter(|team| check_team(team).is_ok())
        .cloned()
        .collect();
    let name = sign_in
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| crate::text::has_visible_text(name) && name.len() <= 256)
        .map_or(before.name.clone(), str::to_owned);
    Ok(User {
        name,
        roles,
        teams,
        identity: Some(sign_in.identity.clone()),
        ..before.clone()
    })
}

/// The person a sign-in names when it changes nothing: a token already
/// seen (not newer than their last sign-in) asserting what the store
/// holds. A read, so requests with one token never wait for the writer;
/// `None` sends the caller to `sign_in`.
pub fn unchanged_sign_in(conn: &Connection, sign_in: &SignIn) -> Result<Option<User>> {
    let identity = &sign_in.identity;
    let Some(row) = known(
        conn,
        "issuer = ?1 AND subject = ?2",
        &[&identity.issuer, &identity.subject],
    )?
    else {
        return Ok(None);
    };
    let fresh = row
        .signed_in_at
        .is_some_and(|at| at >= to_ms(sign_in.issued_at));
    if row.removed || !fresh {
        return Ok(None);
    }
    let Some(before) = reads::user(conn, &row.email)? else {
        return Ok(None);
    };
    let after = as_asserted(conn, sign_in, &before)?;
    Ok((after == before).then_some(after))
}

/// A person signing in with the identity provider: finds their user by
/// issuer and subject (never by email alone), creates one at their first
/// sign-in, and keeps name, roles, teams and the asserted email as the
/// directory says, with the time of this sign-in.
pub fn sign_in(
    conn: &Connection,
    sign_in: &SignIn,
    linking: EmailLinking,
    now: DateTime<Utc>,
) -> Result<User> {
    let identity = &sign_in.identity;
    let by_identity = known(
        conn,
        "issuer = ?1 AND subject = ?2",
        &[&identity.issuer, &identity.subject],
    )?;
    let (email, first) = match by_identity {
        Some(row) if row.removed => {
            return Err(BackendError::Unauthenticated(format!(
                "user {} was removed from Gavel by an administrator",
                row.email
            )));
        }
        Some(row) => (row.email, None),
        None => {
            let (email, first) = first_sign_in(conn, sign_in, linking, now)?;
            (email, Some(first))
        }
    };
    let before =
        reads::user(conn, &email)?.ok_or_else(|| BackendError::not_found("user", &email))?;
    let mut after = as_asserted(conn, sign_in, &before)?;
    let (roles, teams) = (after.roles.clone(), after.teams.clone());
    after.last_sign_in = Some(now);
    conn.execute(
        "UPDATE users SET name = ?2, roles = ?3, teams = ?4, issuer = ?5, subject = ?6,
           asserted_email = ?7, signed_in_at = ?8 WHERE email = ?1",
        params![
            email,
            after.name,
            roles_to_text(&roles),
            teams_to_text(&teams)?,
            identity.issuer,
            identity.subject,
            identity.email,
            to_ms(now),
        ],
    )?;
    match first {
        Some(FirstSignIn::NewUser) => {
            trail::append(
                conn,
                &user_entry(
                    DIRECTORY,
                    &email,
                    "user_added",
                    serde_json::json!({ "roles": roles, "teams": teams, "identity": identity }),
                    now,
                ),
            )?;
            return Ok(after);
        }
        Some(FirstSignIn::LinkedByVerifiedEmail) => {
            trail::append(
                conn,
                &user_entry(
                    DIRECTORY,
                    &email,
                    "identity_linked",
                    serde_json::json!({ "identity": identity, "by": "verified email" }),
                    now,
                ),
            )?;
        }
        None => {}
    }
    if before.roles != after.roles || before.teams != after.teams {
        trail::append(
            conn,
            &user_entry(
                DIRECTORY,
                &email,
                "user_updated",
                serde_json::json!({
                    "roles": { "from": before.roles, "to": after.roles },
                    "teams": { "from": before.teams, "to": after.teams },
                    "identity": identity,
                }),
                now,
            ),
        )?;
    }
    Ok(after)
}

/// How a person's first sign-in found their user.
enum FirstSignIn {
    NewUser,
    LinkedByVerifiedEmail,
}

/// The user a first sign-in belongs to: a new one, or (when linking by
/// verified email is on) an unlinked person with the asserted email.
/// Returns their email.
fn first_sign_in(
    conn: &Connection,
    sign_in: &SignIn,
    linking: EmailLinking,
    now: DateTime<Utc>,
) -> Result<(String, FirstSignIn)> {
    let identity = &sign_in.identity;
    let email = identity.email.as_deref().map(str::trim).ok_or_else(|| {
        BackendError::Unauthenticated(
            "the identity provider sent no email for this person: ask for the `email` scope".into(),
        )
    })?;
    check_email(email)?;
    let link_command = format!(
        "gavel users link {email} --issuer {} --subject {}",
        identity.issuer, identity.subject
    );
    match known(conn, "email = ?1", &[&email])? {
        None => {
            conn.execute(
                "INSERT INTO users (email, name, roles, teams, token_hash, created_at, removed_at, service, issuer, subject)
                 VALUES (?1, ?2, '', '[]', NULL, ?3, NULL, 0, ?4, ?5)",
                params![
                    email,
                    email.split('@').next().unwrap_or(email),
                    to_ms(now),
                    identity.issuer,
                    identity.subject
                ],
            )?;
            Ok((email.to_owned(), FirstSignIn::NewUser))
        }
        Some(row) if row.removed => Err(BackendError::Unauthenticated(format!(
            "user {} was removed from Gavel by an administrator",
            row.email
        ))),
        Some(row) if row.service => Err(BackendError::Unauthenticated(format!(
            "{} is a service account: it acts with its Gavel token and never signs in",
            row.email
        ))),
        Some(row) if row.subject.is_some() => Err(BackendError::Unauthenticated(format!(
            "the email {} belongs to another sign-in in Gavel; Gavel never joins people by email alone: an administrator decides (`{link_command}` moves it)",
            row.email
        ))),
        Some(row) if linking == EmailLinking::Verified && sign_in.email_verified => {
            conn.execute(
                "UPDATE users SET issuer = ?2, subject = ?3 WHERE email = ?1",
                params![row.email, identity.issuer, identity.subject],
            )?;
            Ok((row.email, FirstSignIn::LinkedByVerifiedEmail))
        }
        Some(row) => Err(BackendError::Unauthenticated(format!(
            "user {} exists in Gavel but is not linked to this sign-in: an administrator links it with `{link_command}`",
            row.email
        ))),
    }
}

/// Joins a person's identity at the provider to their Gavel user, so what
/// they did with a Gavel token and what they do signed in is one person's.
/// Moves the identity from whoever held it (the administrator decides).
pub fn link_identity(
    conn: &Connection,
    actor: &str,
    email: &str,
    issuer: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<User> {
    let user = reads::user(conn, email)?.ok_or_else(|| BackendError::not_found("user", email))?;
    if user.service {
        return Err(BackendError::Invalid(format!(
            "{} is a service account: service accounts never sign in",
            user.email
        )));
    }
    if !crate::text::has_visible_text(subject) || subject.len() > 255 || issuer.len() > 2048 {
        return Err(BackendError::Invalid(
            "the subject must be 1 to 255 bytes, as the provider's `sub` claim".into(),
        ));
    }
    let holder = known(conn, "issuer = ?1 AND subject = ?2", &[&issuer, &subject])?;
    if let Some(holder) = holder.filter(|holder| !holder.email.eq_ignore_ascii_case(&user.email)) {
        conn.execute(
            "UPDATE users SET issuer = NULL, subject = NULL WHERE email = ?1",
            [&holder.email],
        )?;
        trail::append(
            conn,
            &user_entry(
                actor,
                &holder.email,
                "identity_unlinked",
                serde_json::json!({ "issuer": issuer, "subject": subject, "moved_to": user.email }),
                now,
            ),
        )?;
    }
    conn.execute(
        "UPDATE users SET issuer = ?2, subject = ?3 WHERE email = ?1",
        params![user.email, issuer, subject],
    )?;
    trail::append(
        conn,
        &user_entry(
            actor,
            &user.email,
            "identity_linked",
            serde_json::json!({ "identity": { "issuer": issuer, "subject": subject } }),
            now,
        ),
    )?;
    reads::user(conn, email)?.ok_or_else(|| BackendError::not_found("user", email))
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
        params![user.email, crate::domain::digest::token_hash(&token)],
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
    check_person(actor, "approving or rejecting an external tool")?;
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
    if status == ToolStatus::Approved {
        super::super::notifications::tool_approved(
            conn,
            &record.name,
            &actor.email,
            &record.comment,
            now,
        )?;
    }
    Ok(record)
}
