//! Who the caller is and how people sign in; the people who may act; external tools.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiError, ApiResult, body, param};
use super::params::UserParams;
use super::state::{AppState, caller};
use crate::backend::GovernanceBackend;
use crate::backend::wire::ToolDecisionBody;
use crate::domain::Role;

#[utoipa::path(get, path = "/v1/me", summary = "The caller and their roles", responses((status = 200, body = crate::backend::User), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn me(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.me().await?))
}

#[utoipa::path(get, path = "/v1/auth/config", summary = "How people sign in to this server: the identity provider's issuer, the client id and scopes a client asks for, and which token to send (no authentication needed)", responses((status = 200, body = crate::auth::AuthConfig), (status = 404, body = crate::backend::wire::ErrorBody)))]
pub(super) async fn auth_config(State(state): AppState) -> ApiResult<impl IntoResponse> {
    match &state.sign_in {
        Some(gate) => Ok(Json(gate.settings().client_config())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this server signs no one in with an identity provider: use a Gavel token (GAVEL_TOKEN)",
        )),
    }
}

#[utoipa::path(get, path = "/v1/users", summary = "The people who may act; with role, those holding it", params(UserParams), responses((status = 200, body = Vec<crate::backend::User>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn users(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(backend.users(param::<Role>(&query, "role")?).await?))
}

#[utoipa::path(get, path = "/v1/tools", summary = "External tools with an approval decision on record", responses((status = 200, body = Vec<crate::backend::ToolRecord>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn tools(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.tools().await?))
}

#[utoipa::path(put, path = "/v1/tools/{name}", summary = "Approve or reject an external tool (data stewards and compliance officers)", request_body = crate::backend::wire::ToolDecisionBody, params(("name" = String, Path)), responses((status = 200, body = crate::backend::ToolRecord), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn decide_tool(
    State(state): AppState,
    headers: HeaderMap,
    Path(name): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: ToolDecisionBody = body(&bytes)?;
    Ok(Json(
        backend
            .decide_tool(&name, request.status, &request.comment)
            .await?,
    ))
}
