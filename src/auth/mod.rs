//! Signing in with the organisation's identity provider (OpenID Connect).
//!
//! Layer 4, a part (docs/architecture.md): may import the contract (its
//! error type), the rules and the ground; the HTTP client uses `auth`, never
//! the reverse.
//!
//! The server checks each request's token against the provider
//! (`verify`) and learns roles and teams from the directory's groups
//! (`directory`); the CLI and console sign people in (`login`), keep their
//! session (`session`) and renew it.

pub mod directory;
pub mod http_client;
pub mod keeper;
pub mod login;
pub mod session;
pub mod verify;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Clock difference tolerated on `exp` and `nbf` unless configured.
pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;

/// `[auth.oidc]` of `gavel serve`'s config: the provider, the audience its
/// tokens must be for, and how directory groups become roles and teams.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The provider's issuer URL, exactly as its discovery document says.
    pub issuer: String,
    /// The client id people sign in with (a public client: no secret).
    pub client_id: String,
    /// The `aud` tokens must carry (default: the client id).
    pub audience: Option<String>,
    /// Scopes a client asks for.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Which token clients send: `access_token` (a JWT for Gavel's
    /// audience) or `id_token` (for providers whose access tokens are
    /// opaque, such as Google; then the audience is the client id).
    #[serde(default)]
    pub bearer: Bearer,
    /// An RFC 8707 resource indicator clients send, for providers that
    /// pick the access token's audience from it.
    pub resource: Option<String>,
    /// The claim holding the person's groups or roles; a dotted path
    /// reaches into objects (`realm_access.roles`).
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Directory group -> Gavel roles.
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<String>>,
    /// Directory group -> Gavel teams.
    #[serde(default)]
    pub teams: BTreeMap<String, Vec<String>>,
    /// Let a first sign-in join the Gavel user with the same email when
    /// the provider says it is verified (default off: an administrator
    /// links with `gavel users link`).
    #[serde(default)]
    pub link_verified_email: bool,
    /// Clock difference tolerated on `exp` and `nbf` (default 60).
    pub clock_skew_seconds: Option<u64>,
    /// The claim naming the person at the provider (default `sub`; `oid`
    /// for Entra ID, whose `sub` differs per application). What SCIM's
    /// `externalId` carries.
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
}

fn default_subject_claim() -> String {
    "sub".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bearer {
    #[default]
    AccessToken,
    IdToken,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile", "offline_access"]
        .map(str::to_owned)
        .to_vec()
}

fn default_groups_claim() -> String {
    "groups".to_owned()
}

impl OidcSettings {
    pub fn audience(&self) -> &str {
        match self.bearer {
            Bearer::IdToken => &self.client_id,
            Bearer::AccessToken => self.audience.as_deref().unwrap_or(&self.client_id),
        }
    }

    /// What a client needs to sign in (`GET /v1/auth/config`).
    pub fn client_config(&self) -> AuthConfig {
        AuthConfig {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            bearer: self.bearer,
            resource: self.resource.clone(),
        }
    }
}

/// What a client needs to sign people in to a server: its provider, the
/// client id, the scopes, and which token to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthConfig {
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub bearer: Bearer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// An issuer or endpoint URL Gavel will talk to: `https://`, or `http://`
/// on loopback only (a test provider on this machine).
pub fn check_provider_url(what: &str, text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|err| format!("{what} {text:?}: {err}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if crate::net::is_loopback(&url) => Ok(url),
        _ => Err(format!(
            "{what} {text:?} must be https:// (http:// only on loopback)"
        )),
    }
}
