//! What every handler shares: the store, the log key, the sign-in gate and
//! the decisions in flight; and who the caller of a request is.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};

use super::extract::{ApiError, ApiResult, on_store, unauthenticated};
use super::sign_in::SignInGate;
use crate::backend::local::logkey::LogKey;
use crate::backend::local::{LocalBackend, LocalStore};

/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

pub struct ServerState {
    pub store: Arc<LocalStore>,
    /// Idempotency keys of decisions being processed right now.
    pub(super) in_flight: Mutex<HashSet<String>>,
    /// The log's signing key (`serve` refuses to start without it).
    pub(super) log_key: Option<Arc<LogKey>>,
    /// The identity provider people sign in with, when configured.
    pub(super) sign_in: Option<Arc<SignInGate>>,
    /// How the admission webhook answers.
    pub(super) admission: crate::config::AdmissionSection,
    /// The versions' standing as the webhook last judged them.
    pub(super) standings: Arc<super::standing_cache::StandingCache>,
    /// Whether the notification worker still runs (`/readyz`).
    pub(super) notifier_alive: Arc<std::sync::atomic::AtomicBool>,
    /// How the directory provisions people through `/scim/v2`; none: the
    /// server takes no SCIM.
    pub(super) scim: Option<Arc<crate::backend::local::directory::DirectorySettings>>,
    /// The SCIM base URL resources' locations use (`[scim] base_url`);
    /// none: as the request's Host names it.
    pub(super) scim_base: Option<String>,
    /// Whether the server speaks TLS (for the locations it writes).
    pub(super) tls: bool,
    /// The series `/metrics` exposes; none when `[server] metrics = false`.
    pub(super) metrics: Option<Arc<super::metrics::Metrics>>,
}

/// The state as handlers take it.
pub(super) type AppState = State<Arc<ServerState>>;

/// The caller, from the bearer token: a person the identity provider
/// signed in (a JWT, when the server has `[auth.oidc]`), or the holder of a
/// Gavel token. With a provider configured, Gavel tokens are for service
/// accounts only and carry no roles: roles come from the directory, so a
/// person who leaves cannot keep acting through an old token.
pub async fn caller(state: &ServerState, headers: &HeaderMap) -> ApiResult<LocalBackend> {
    let backend = authenticate(state, headers).await?;
    // The request's span names who acts (its log lines then do).
    if let Some(email) = backend.acting_user() {
        tracing::Span::current().record("user", email);
    }
    Ok(backend)
}

async fn authenticate(state: &ServerState, headers: &HeaderMap) -> ApiResult<LocalBackend> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("missing Authorization: Bearer <token> header"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty() && token.len() <= crate::auth::verify::MAX_TOKEN_BYTES)
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))?
        .to_owned();
    if let Some(gate) = &state.sign_in
        && crate::auth::verify::Verifier::looks_like_jwt(&token)
    {
        return gate.caller(&state.store, &token).await;
    }
    if token.len() > 256 {
        return Err(unauthenticated("unknown or revoked token"));
    }
    let user = on_store(&state.store, move |store| store.user_by_token(&token)).await?;
    let mut user = user.ok_or_else(|| unauthenticated("unknown or revoked token"))?;
    if let Some(gate) = &state.sign_in {
        if !user.service {
            return Err(unauthenticated(&format!(
                "people sign in with the identity provider ({}): run `gavel auth login --url URL`; Gavel tokens are for service accounts",
                gate.issuer()
            )));
        }
        user.roles.clear();
    }
    Ok(LocalBackend::authenticated(
        std::sync::Arc::clone(&state.store),
        user,
    ))
}

pub(super) fn log_key(
    state: &ServerState,
) -> ApiResult<Arc<crate::backend::local::logkey::LogKey>> {
    state.log_key.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_log_key",
            "this server has no log key loaded",
        )
    })
}
