//! Who provisions, how, and when: the settings that make directory users
//! Gavel users, and one SCIM request's id and time, which every trail
//! event it causes carries.

use chrono::{DateTime, Utc};

use super::super::trail::TrailWriter;
use super::super::writes;
use crate::auth::directory::Directory;
use crate::backend::Result;
use crate::db::Connection;

/// The trail's actor for what the directory provisions through SCIM.
pub const DIRECTORY_SCIM: &str = "directory (SCIM)";

/// Which of a directory user's attributes says who signs in as them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentityAttribute {
    /// The directory's own id for the person, which the provider sends as
    /// the configured claim (`sub`, or `oid` for Entra ID).
    #[default]
    ExternalId,
    UserName,
}

/// Which attribute becomes the person's Gavel email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EmailAttribute {
    /// `emails[primary eq true].value`, else the first email.
    #[default]
    Emails,
    UserName,
}

/// How directory users become Gavel users.
#[derive(Debug, Clone, Default)]
pub struct DirectorySettings {
    /// The provider people sign in with (`[auth.oidc] issuer`), whose
    /// identities directory users carry.
    pub issuer: Option<String>,
    pub identity: IdentityAttribute,
    pub email: EmailAttribute,
    /// Groups to roles and teams, as sign-in maps them.
    pub groups: Directory,
}

/// Who asks, and when.
#[derive(Debug, Clone)]
pub struct DirectoryRequest<'a> {
    pub settings: &'a DirectorySettings,
    /// The request's id (its `x-request-id`), in every trail event.
    pub request_id: &'a str,
    pub now: DateTime<Utc>,
}

impl DirectoryRequest<'_> {
    pub(super) fn append(
        &self,
        conn: &Connection,
        entity_type: &str,
        entity_id: &str,
        action: &str,
        mut details: serde_json::Value,
    ) -> Result<()> {
        details["scim_request"] = self.request_id.into();
        let mut trail = TrailWriter::resume(conn)?;
        trail
            .append(
                conn,
                &writes::entry(
                    self.now,
                    DIRECTORY_SCIM,
                    entity_type,
                    entity_id,
                    action,
                    (None, None),
                    details,
                ),
            )
            .map(|_| ())
    }
}
