//! Turning requests into typed values with clear 400s, and errors into
//! JSON answers.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::backend::BackendError;
use crate::backend::local::LocalBackend;
use crate::backend::wire::{ErrorBody, error_response};

use super::ServerState;

/// An error answer.
pub struct ApiError(pub StatusCode, pub ErrorBody);

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError(status, ErrorBody::new(code, message))
    }

    /// The request is not what the API's schema describes.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// The request is what the schema describes, but breaks a rule it
    /// cannot state (a cursor this server never issued, say).
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }
}

impl From<BackendError> for ApiError {
    fn from(err: BackendError) -> Self {
        if let BackendError::Storage(detail) = &err {
            tracing::error!(%detail, "store failure");
        }
        let (status, body) = error_response(&err);
        ApiError(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The caller, from the bearer token: a person the identity provider
/// signed in (a JWT, when the server has `[auth.oidc]`), or the holder of a
/// Gavel token. With a provider configured, Gavel tokens are for service
/// accounts only and carry no roles: roles come from the directory, so a
/// person who leaves cannot keep acting through an old token.
pub async fn caller(state: &ServerState, headers: &HeaderMap) -> ApiResult<LocalBackend> {
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

pub fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// Parses a JSON body; errors name the field and what is wrong with it.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let malformed = matches!(
            inner.classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        );
        if malformed || path == "." || path == "?" || path.is_empty() {
            ApiError::bad_request(format!("malformed JSON body: {inner}"))
        } else {
            ApiError::bad_request(format!("field {path}: {inner}"))
        }
    })?;
    deserializer.end().map_err(|err| {
        ApiError::bad_request(format!("trailing data after the JSON body: {err}"))
    })?;
    Ok(value)
}

/// A query parameter parsed with `FromStr`, with its name in any error.
pub fn param<T: std::str::FromStr>(
    query: &HashMap<String, String>,
    name: &str,
) -> ApiResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    query
        .get(name)
        .filter(|value| !value.is_empty())
        .map(|value| {
            value
                .parse::<T>()
                .map_err(|err| ApiError::bad_request(format!("query parameter {name}: {err}")))
        })
        .transpose()
}

/// A query parameter that must be there.
pub fn required<T: std::str::FromStr>(query: &HashMap<String, String>, name: &str) -> ApiResult<T>
where
    T::Err: std::fmt::Display,
{
    param(query, name)?
        .ok_or_else(|| ApiError::bad_request(format!("query parameter {name} is required")))
}

/// A header as text, if present and readable.
pub fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> ApiResult<Option<&'a str>> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| ApiError::bad_request(format!("header {name} is not text")))
        })
        .transpose()
}

/// Runs blocking store work off the async threads.
pub async fn on_store<T: Send + 'static>(
    store: &std::sync::Arc<crate::backend::local::LocalStore>,
    work: impl FnOnce(&crate::backend::local::LocalStore) -> crate::backend::Result<T> + Send + 'static,
) -> ApiResult<T> {
    let store = std::sync::Arc::clone(store);
    let result = tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "a store task failed",
            )
        })?;
    Ok(result?)
}
