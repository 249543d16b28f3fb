//! The organisation's directory, as SCIM provisions it (`gavel serve`'s
//! `/scim/v2`): its users and groups kept (`kept`), each user made the Gavel
//! user it names (`provision`), and taken out at once when the directory
//! deactivates or deletes them (`deprovision`). The directory authenticates
//! with a token of its own, kept as its hash.

mod deprovision;
mod kept;
mod provision;
mod request;

pub use kept::DirectoryResource;
pub use request::{
    DIRECTORY_SCIM, DirectoryRequest, DirectorySettings, EmailAttribute, IdentityAttribute,
};

use serde_json::{Map, Value};

use super::LocalStore;
use super::rows::to_ms;
use crate::backend::{BackendError, Result};
use crate::db::{Connection, OptionalExtension, params};
use crate::domain::scim::filter::Condition;
use crate::domain::scim::schema::Kind;

/// The name of the directory's credential.
const CREDENTIAL: &str = "scim";

/// Why a change was not made (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unchanged<E> {
    /// The request named a version the resource no longer has
    /// (`If-Match`); it is at this one.
    Stale { version: i64 },
    /// The change itself refused the resource as it is (a PATCH's path
    /// that names nothing, say).
    Refused(E),
}

impl LocalStore {
    /// A new token for the directory; the one before stops working.
    pub fn rotate_directory_token(&self, actor: &str) -> Result<String> {
        let token = super::writes::new_token();
        let now = self.now();
        self.write(|conn| {
            conn.execute(
                "DELETE FROM directory_credentials WHERE name = ?1",
                params![CREDENTIAL],
            )?;
            conn.execute(
                "INSERT INTO directory_credentials (name, token_hash, created_at) VALUES (?1, ?2, ?3)",
                params![CREDENTIAL, crate::domain::digest::token_hash(&token), to_ms(now)],
            )?;
            let mut trail = super::trail::TrailWriter::resume(conn)?;
            trail.append(
                conn,
                &super::writes::entry(
                    now,
                    actor,
                    "directory",
                    CREDENTIAL,
                    "token_rotated",
                    (None, None),
                    serde_json::json!({}),
                ),
            )
        })?;
        Ok(token)
    }

    /// Whether `token` is the directory's.
    pub fn is_directory_token(&self, token: &str) -> Result<bool> {
        let hash = crate::domain::digest::token_hash(token);
        self.read(|conn| {
            let found: Option<i64> = conn
                .prepare_cached(
                    "SELECT 1 FROM directory_credentials WHERE name = ?1 AND token_hash = ?2",
                )?
                .query_row(params![CREDENTIAL, hash], |row| row.get(0))
                .optional()?;
            Ok(found.is_some())
        })
    }

    pub fn directory_resource(&self, kind: Kind, id: &str) -> Result<DirectoryResource> {
        self.read(|conn| kept::load(conn, kind, id))?
            .ok_or_else(|| BackendError::not_found(kind.name(), id))
    }

    pub fn directory_list(
        &self,
        kind: Kind,
        conditions: &[Condition],
        start_index: usize,
        count: usize,
    ) -> Result<(u64, Vec<DirectoryResource>)> {
        self.read(|conn| kept::list(conn, kind, conditions, start_index, count))
    }

    /// Creates a user or group from its checked attributes.
    pub fn directory_create(
        &self,
        kind: Kind,
        attributes: Map<String, Value>,
        request: &DirectoryRequest<'_>,
    ) -> Result<DirectoryResource> {
        self.write(|conn| {
            let mut resource = DirectoryResource {
                kind,
                id: uuid::Uuid::new_v4().to_string(),
                attributes,
                email: None,
                created: request.now,
                updated: request.now,
                version: 1,
            };
            check_unique(conn, &resource)?;
            check_members(conn, &resource, None)?;
            kept::store(conn, &resource, true)?;
            settle(conn, &mut resource, None, request, "created")?;
            Ok(resource)
        })
    }

    /// Replaces a resource's attributes with what `change` makes of them
    /// (a PUT's, or a PATCH's applied), when its version is still
    /// `if_match` (if given).
    pub fn directory_change<E>(
        &self,
        kind: Kind,
        id: &str,
        if_match: Option<i64>,
        change: impl FnOnce(&Map<String, Value>) -> std::result::Result<Map<String, Value>, E>,
        request: &DirectoryRequest<'_>,
    ) -> Result<std::result::Result<DirectoryResource, Unchanged<E>>> {
        self.write(|conn| {
            let mut resource = kept::load(conn, kind, id)?
                .ok_or_else(|| BackendError::not_found(kind.name(), id))?;
            if if_match.is_some_and(|version| version != resource.version) {
                return Ok(Err(Unchanged::Stale {
                    version: resource.version,
                }));
            }
            let before = resource.clone();
            let attributes = match change(&resource.attributes) {
                Ok(attributes) => attributes,
                Err(refused) => return Ok(Err(Unchanged::Refused(refused))),
            };
            if attributes == resource.attributes {
                return Ok(Ok(resource));
            }
            resource.attributes = attributes;
            resource.updated = request.now;
            resource.version += 1;
            check_unique(conn, &resource)?;
            check_members(conn, &resource, Some(&before))?;
            kept::store(conn, &resource, false)?;
            settle(conn, &mut resource, Some(&before), request, "changed")?;
            Ok(Ok(resource))
        })
    }

    /// Deletes a user (taking them out of Gavel for good) or a group (its
    /// members' roles recomputed).
    pub fn directory_delete(
        &self,
        kind: Kind,
        id: &str,
        request: &DirectoryRequest<'_>,
    ) -> Result<()> {
        self.write(|conn| {
            let resource = kept::load(conn, kind, id)?
                .ok_or_else(|| BackendError::not_found(kind.name(), id))?;
            kept::delete(conn, kind, id)?;
            request.append(
                conn,
                entity(kind),
                id,
                "deleted",
                serde_json::json!({ "email": resource.email }),
            )?;
            match kind {
                Kind::User => {
                    if let Some(email) = &resource.email {
                        deprovision::deprovision(conn, email, request)?;
                    }
                    Ok(())
                }
                Kind::Group => regroup(conn, &resource.member_ids(), request),
            }
        })
    }
}

fn entity(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "directory_user",
        Kind::Group => "directory_group",
    }
}

fn check_unique(conn: &Connection, resource: &DirectoryResource) -> Result<()> {
    if resource.kind == Kind::User
        && kept::user_name_taken(conn, &resource.attributes, Some(&resource.id))?
    {
        return Err(BackendError::Conflict(format!(
            "a user named {:?} exists",
            resource.text("userName").unwrap_or_default()
        )));
    }
    Ok(())
}

/// A group's members must be users or groups the directory provisioned
/// (those it had before were checked then).
fn check_members(
    conn: &Connection,
    resource: &DirectoryResource,
    before: Option<&DirectoryResource>,
) -> Result<()> {
    let had: std::collections::HashSet<String> = before
        .map(DirectoryResource::member_ids)
        .unwrap_or_default()
        .into_iter()
        .collect();
    for member in resource
        .member_ids()
        .into_iter()
        .filter(|id| !had.contains(id))
    {
        if member == resource.id || !kept::exists(conn, &member)? {
            return Err(BackendError::Invalid(format!(
                "member {member:?} is no user or group of the directory"
            )));
        }
    }
    Ok(())
}

/// After a resource was written: the trail, and what it means for Gavel
/// users (a user provisioned; a group's old and new members regrouped).
fn settle(
    conn: &Connection,
    resource: &mut DirectoryResource,
    before: Option<&DirectoryResource>,
    request: &DirectoryRequest<'_>,
    action: &str,
) -> Result<()> {
    match resource.kind {
        Kind::User => {
            let email = provision::provision(conn, resource, request)?;
            // The link found now is kept with the row.
            kept::store(conn, resource, false)?;
            request.append(
                conn,
                entity(Kind::User),
                &resource.id,
                action,
                serde_json::json!({
                    "userName": resource.text("userName"),
                    "externalId": resource.text("externalId"),
                    "active": resource.active(),
                    "email": email,
                }),
            )
        }
        Kind::Group => {
            request.append(
                conn,
                entity(Kind::Group),
                &resource.id,
                action,
                serde_json::json!({
                    "displayName": resource.text("displayName"),
                    "externalId": resource.text("externalId"),
                    "members": resource.member_ids().len(),
                }),
            )?;
            regroup(conn, &touched(resource, before), request)
        }
    }
}

/// The members whose roles a group's change may change: those who joined
/// or left; every member when the group is new or renamed (its name is
/// what maps to roles). A member added to a group of 10,000 recomputes one
/// person, not 10,000.
fn touched(group: &DirectoryResource, before: Option<&DirectoryResource>) -> Vec<String> {
    use std::collections::BTreeSet;
    let now: BTreeSet<String> = group.member_ids().into_iter().collect();
    let Some(before) = before else {
        return now.into_iter().collect();
    };
    let then: BTreeSet<String> = before.member_ids().into_iter().collect();
    if before.text("displayName") != group.text("displayName") {
        return now.union(&then).cloned().collect();
    }
    now.symmetric_difference(&then).cloned().collect()
}

/// Recomputes the roles and teams of these directory users.
fn regroup(conn: &Connection, user_ids: &[String], request: &DirectoryRequest<'_>) -> Result<()> {
    for id in user_ids {
        if let Some(user) = kept::load(conn, Kind::User, id)?
            && let Some(email) = &user.email
        {
            provision::apply_groups(conn, id, email, request)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, members: &[&str]) -> DirectoryResource {
        let members: Vec<Value> = members
            .iter()
            .map(|id| serde_json::json!({ "value": id }))
            .collect();
        let attributes = serde_json::json!({ "displayName": name, "members": members });
        DirectoryResource {
            kind: Kind::Group,
            id: "g".into(),
            attributes: attributes.as_object().cloned().unwrap_or_default(),
            email: None,
            created: chrono::Utc::now(),
            updated: chrono::Utc::now(),
            version: 1,
        }
    }

    #[test]
    fn a_membership_change_touches_who_joined_or_left_and_a_rename_touches_everyone() {
        let before = group("reviewers", &["a", "b", "c"]);
        assert_eq!(
            touched(&group("reviewers", &["a", "b", "c", "d"]), Some(&before)),
            ["d"]
        );
        assert_eq!(
            touched(&group("reviewers", &["a", "c"]), Some(&before)),
            ["b"]
        );
        assert_eq!(
            touched(&group("auditors", &["a", "b"]), Some(&before)),
            ["a", "b", "c"]
        );
        assert_eq!(touched(&before, None), ["a", "b", "c"]);
    }
}
