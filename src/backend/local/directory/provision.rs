//! What a directory user means for Gavel: the Gavel user it provisions
//! (found by the sign-in identity, never by email alone when an identity
//! exists), their name, the roles and teams their groups map to, and
//! whether they may act at all. Every change is the directory's in the
//! trail, with the SCIM request's id.

use serde_json::Value;

use super::super::rows::{roles_to_text, teams_to_text, to_ms};
use super::super::writes::check_email;
use super::kept::{self, DirectoryResource};
use super::request::{DirectoryRequest, DirectorySettings, EmailAttribute, IdentityAttribute};
use crate::backend::{BackendError, Result};
use crate::db::{Connection, OptionalExtension, params};

/// The email a directory user gives their Gavel user, if it has one.
fn email_of(user: &DirectoryResource, settings: &DirectorySettings) -> Option<String> {
    let email = match settings.email {
        EmailAttribute::UserName => user.text("userName").map(str::to_owned),
        EmailAttribute::Emails => {
            let emails = user.attributes.get("emails").and_then(Value::as_array)?;
            let primary = emails
                .iter()
                .find(|email| email.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| emails.first());
            primary
                .and_then(|email| email.get("value"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        }
    }?;
    let email = email.trim().to_lowercase();
    check_email(&email).ok().map(|()| email)
}

/// The identity's subject a directory user carries.
fn subject_of(user: &DirectoryResource, settings: &DirectorySettings) -> Option<String> {
    match settings.identity {
        IdentityAttribute::ExternalId => user.text("externalId"),
        IdentityAttribute::UserName => user.text("userName"),
    }
    .map(str::to_owned)
    .filter(|subject| !subject.is_empty() && subject.len() <= 255)
}

/// The name Gavel shows for a directory user.
fn name_of(user: &DirectoryResource, email: &str) -> String {
    let name = user.attributes.get("name");
    let part = |key: &str| name.and_then(|name| name.get(key)).and_then(Value::as_str);
    user.text("displayName")
        .or_else(|| part("formatted"))
        .map(str::to_owned)
        .or_else(|| match (part("givenName"), part("familyName")) {
            (Some(given), Some(family)) => Some(format!("{given} {family}")),
            (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
            (None, None) => None,
        })
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned())
        .chars()
        .filter(|character| !character.is_control())
        .take(256)
        .collect()
}

/// Links `user` to its Gavel user once it has an email (creating one when
/// none exists), then keeps that user as the directory says. Returns the
/// Gavel email.
pub fn provision(
    conn: &Connection,
    user: &mut DirectoryResource,
    request: &DirectoryRequest<'_>,
) -> Result<Option<String>> {
    let settings = request.settings;
    if user.email.is_none() {
        let Some(email) = email_of(user, settings) else {
            return Ok(None);
        };
        user.email = Some(link(conn, user, &email, request)?);
    }
    let Some(email) = user.email.clone() else {
        return Ok(None);
    };
    let name = name_of(user, &email);
    let asserted = email_of(user, settings);
    conn.prepare_cached("UPDATE users SET name = ?2, asserted_email = ?3 WHERE email = ?1")?
        .execute(params![email, name, asserted])?;
    apply_groups(conn, &user.id, &email, request)?;
    if user.active() {
        reactivate(conn, &email, request)?;
    } else {
        super::deprovision::deprovision(conn, &email, request)?;
    }
    Ok(Some(email))
}

/// The Gavel user a directory user provisions: the one signed in with its
/// identity, else the one with its email (unless another identity holds
/// it), else a new one.
fn link(
    conn: &Connection,
    user: &DirectoryResource,
    email: &str,
    request: &DirectoryRequest<'_>,
) -> Result<String> {
    let settings = request.settings;
    let identity: Option<(String, String)> =
        settings.issuer.clone().zip(subject_of(user, settings));
    let taken: Option<String> = conn
        .prepare_cached("SELECT scim_id FROM directory_users WHERE email = ?1")?
        .query_row(params![email], |row| row.get(0))
        .optional()?;
    let conflict = |why: String| BackendError::Conflict(why);
    if let Some(other) = taken.filter(|other| *other != user.id) {
        return Err(conflict(format!(
            "{email} is already the Gavel user of directory user {other}"
        )));
    }
    if let Some((issuer, subject)) = &identity {
        let signed_in: Option<(String, Option<i64>)> = conn
            .prepare_cached(
                "SELECT email, removed_at FROM users WHERE issuer = ?1 AND subject = ?2",
            )?
            .query_row(params![issuer, subject], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        match signed_in {
            Some((found, Some(_))) => return Err(removed(&found)),
            Some((found, None)) => return Ok(found),
            None => {}
        }
    }
    let existing: Option<(String, Option<String>, i64, Option<i64>)> = conn
        .prepare_cached("SELECT email, subject, service, removed_at FROM users WHERE email = ?1")?
        .query_row(params![email], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    if let Some((found, _, _, Some(_))) = &existing {
        return Err(removed(found));
    }
    let existing = existing.map(|(email, subject, service, _)| (email, subject, service));
    match existing {
        Some((_, _, 1)) => Err(conflict(format!(
            "{email} is a service account in Gavel: the directory provisions people"
        ))),
        Some((_, Some(_), _)) => Err(conflict(format!(
            "{email} belongs to another sign-in in Gavel: an administrator decides (`gavel users link`)"
        ))),
        Some((kept_email, None, _)) => {
            if let Some((issuer, subject)) = &identity {
                conn.execute(
                    "UPDATE users SET issuer = ?2, subject = ?3 WHERE email = ?1",
                    params![kept_email, issuer, subject],
                )?;
            }
            request.append(
                conn,
                "user",
                &kept_email,
                "identity_linked",
                serde_json::json!({ "directory_user": user.id, "identity": identity_json(&identity) }),
            )?;
            Ok(kept_email)
        }
        None => {
            conn.execute(
                "INSERT INTO users (email, name, roles, teams, token_hash, created_at, removed_at, service, issuer, subject)
                 VALUES (?1, ?2, '', '[]', NULL, ?3, NULL, 0, ?4, ?5)",
                params![
                    email,
                    name_of(user, email),
                    to_ms(request.now),
                    identity.as_ref().map(|(issuer, _)| issuer.clone()),
                    identity.as_ref().map(|(_, subject)| subject.clone())
                ],
            )?;
            request.append(
                conn,
                "user",
                email,
                "user_added",
                serde_json::json!({ "directory_user": user.id, "identity": identity_json(&identity) }),
            )?;
            Ok(email.to_owned())
        }
    }
}

/// A removed person never comes back by the directory alone: what they
/// held is gone, and an administrator decides (`gavel users add`).
fn removed(email: &str) -> BackendError {
    BackendError::Conflict(format!(
        "{email} was removed from Gavel; a new directory user cannot bring them back: an administrator decides (`gavel users add {email}`)"
    ))
}

fn identity_json(identity: &Option<(String, String)>) -> serde_json::Value {
    identity.as_ref().map_or(
        serde_json::Value::Null,
        |(issuer, subject)| serde_json::json!({ "issuer": issuer, "subject": subject }),
    )
}

/// Sets a Gavel user's roles and teams to what their directory groups map
/// to (when the mapping maps anything: otherwise they are an
/// administrator's to give).
pub fn apply_groups(
    conn: &Connection,
    user_id: &str,
    email: &str,
    request: &DirectoryRequest<'_>,
) -> Result<()> {
    let mapping = &request.settings.groups;
    if !mapping.maps_anything() {
        return Ok(());
    }
    let Some(before) = super::super::reads::user(conn, email)? else {
        return Ok(());
    };
    let membership = mapping.membership_of(kept::group_names(conn, user_id)?);
    let vocabulary = super::super::reads::vocabulary(conn)?;
    let roles: Vec<_> = membership
        .roles
        .into_iter()
        .filter(|role| vocabulary.check_role("roles", *role).is_ok())
        .collect();
    if roles == before.roles && membership.teams == before.teams {
        return Ok(());
    }
    conn.prepare_cached("UPDATE users SET roles = ?2, teams = ?3 WHERE email = ?1")?
        .execute(params![
            email,
            roles_to_text(&roles),
            teams_to_text(&membership.teams)?
        ])?;
    request.append(
        conn,
        "user",
        email,
        "user_updated",
        serde_json::json!({
            "roles": { "from": before.roles, "to": roles },
            "teams": { "from": before.teams, "to": membership.teams },
            "groups": membership.groups,
        }),
    )
}

/// Lets a user the directory deactivated act again (a new sign-in or a new
/// token: what they held before stays revoked, and their delegations
/// ended).
fn reactivate(conn: &Connection, email: &str, request: &DirectoryRequest<'_>) -> Result<()> {
    let removed_by_directory: Option<i64> = conn
        .prepare_cached("SELECT removed_at FROM users WHERE email = ?1 AND removed_at IS NOT NULL")?
        .query_row(params![email], |row| row.get(0))
        .optional()?;
    if removed_by_directory.is_none() {
        return Ok(());
    }
    conn.prepare_cached("UPDATE users SET removed_at = NULL WHERE email = ?1")?
        .execute(params![email])?;
    request.append(
        conn,
        "user",
        email,
        "user_reactivated",
        serde_json::json!({}),
    )
}
