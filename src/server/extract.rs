//! Turning requests into typed values with clear 400s, and errors into
//! JSON answers.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::backend::BackendError;
use crate::backend::wire::{ErrorBody, error_response};

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

pub fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// Parses a JSON body; errors name the field and what is wrong with it.
/// A number written with a fraction of zero (`3.0`) counts as the integer
/// it is, as JSON Schema's `integer` says.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request(format!("malformed JSON body: {err}")))?;
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." || path == "?" || path.is_empty() {
            ApiError::bad_request(format!("malformed JSON body: {inner}"))
        } else {
            ApiError::bad_request(format!("field {path}: {inner}"))
        }
    })
}

/// Turns each number with a zero fraction into the integer it is.
fn integral_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64()
                && float.fract() == 0.0
                && float.abs() < 9.0e15
            {
                // Exact below 2^53.
                *value = serde_json::Value::from(float as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
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
