//! Delegations the caller gave or received.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiResult, body, param};
use super::state::{AppState, caller};
use crate::backend::GovernanceBackend;

#[utoipa::path(get, path = "/v1/delegations", summary = "The delegations the caller gave or received", params(crate::server::params::DelegationParams), responses((status = 200, body = Vec<crate::domain::delegation::Delegation>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn delegations(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let ended = param::<bool>(&query, "ended")?.unwrap_or(false);
    Ok(Json(backend.delegations(ended).await?))
}

#[utoipa::path(post, path = "/v1/delegations", summary = "Let someone already holding the role decide the caller's steps, and receive their notifications, for a time", request_body = crate::domain::delegation::NewDelegation, responses((status = 201, body = crate::domain::delegation::Delegation), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn delegate(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::domain::delegation::NewDelegation = body(&bytes)?;
    Ok((StatusCode::CREATED, Json(backend.delegate(&request).await?)))
}

#[utoipa::path(post, path = "/v1/delegations/end", summary = "End one of the caller's delegations now, or every one they gave", request_body = crate::backend::wire::EndDelegationBody, responses((status = 200, body = Vec<crate::domain::delegation::Delegation>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn end_delegation(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::backend::wire::EndDelegationBody = body(&bytes)?;
    Ok(Json(
        backend
            .end_delegation(request.delegation_id.as_deref())
            .await?,
    ))
}
