//! People signed in by the organisation's identity provider: each request's
//! JWT is checked (`auth::verify`), its groups mapped to roles and teams,
//! and the person's user row kept as the directory says.

use std::sync::Arc;

use axum::http::StatusCode;

use super::extract::{ApiError, ApiResult, on_store, unauthenticated};
use crate::auth::OidcSettings;
use crate::auth::verify::{TokenError, Verifier};
use crate::backend::local::writes::{EmailLinking, SignIn};
use crate::backend::local::{LocalBackend, LocalStore};

pub struct SignInGate {
    settings: OidcSettings,
    verifier: Verifier,
    linking: EmailLinking,
}

impl SignInGate {
    pub fn new(settings: OidcSettings) -> Result<SignInGate, String> {
        let verifier = Verifier::new(&settings)?;
        Ok(SignInGate {
            linking: if settings.link_verified_email {
                EmailLinking::Verified
            } else {
                EmailLinking::Never
            },
            verifier,
            settings,
        })
    }

    pub fn issuer(&self) -> &str {
        self.verifier.issuer()
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The person `token` signs in, acting with the roles this token's
    /// groups give them (not whatever they held before).
    pub async fn caller(&self, store: &Arc<LocalStore>, token: &str) -> ApiResult<LocalBackend> {
        let asserted = self.verifier.verify(token).await.map_err(|err| match err {
            TokenError::Rejected(message) => unauthenticated(&message),
            TokenError::ProviderUnreachable(_) => {
                tracing::warn!(%err, "cannot check a token");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    err.to_string(),
                )
            }
        })?;
        let identity = asserted.identity.clone();
        let sign_in = SignIn {
            identity: asserted.identity,
            email_verified: asserted.email_verified,
            name: asserted.name,
            roles: asserted.membership.roles,
            teams: asserted.membership.teams,
            issued_at: asserted.issued_at,
        };
        let linking = self.linking;
        let user = on_store(store, move |store| store.sign_in(&sign_in, linking)).await?;
        Ok(LocalBackend::signed_in(Arc::clone(store), user, identity))
    }
}
