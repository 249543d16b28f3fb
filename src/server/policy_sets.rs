//! Policies and policy sets: the active policies, proposals, plans and the four-eyes decisions on them.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiError, ApiResult, body};
use super::state::{AppState, ServerState, caller};
use crate::backend::GovernanceBackend;
use crate::backend::wire::{PolicySetBody, PolicySetDecisionBody};

#[utoipa::path(get, path = "/v1/policy-sets", summary = "Every policy set version, newest first", responses((status = 200, body = Vec<crate::backend::PolicySetVersion>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn policy_sets(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.policy_sets().await?))
}

#[utoipa::path(post, path = "/v1/policy-sets", summary = "Propose a policy set (policy admins): recorded as a new, immutable version with its plan", request_body = crate::backend::wire::PolicySetBody, responses((status = 201, body = crate::backend::PolicySetDetail), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn propose_policy_set(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: PolicySetBody = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.propose_policy_set(&request.source).await?),
    ))
}

#[utoipa::path(post, path = "/v1/policy-sets/plan", summary = "What a policy set would change against the active one; records nothing", request_body = crate::backend::wire::PolicySetBody, responses((status = 200, body = Object), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn plan_policy_set(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: PolicySetBody = body(&bytes)?;
    Ok(Json(backend.plan_policy_set(&request.source).await?))
}

#[utoipa::path(get, path = "/v1/policy-sets/{version}", summary = "One policy set version with its TOML and plan (`active` for the active one)", params(("version" = String, Path, pattern = "^(active|[0-9]{1,18})$")), responses((status = 200, body = crate::backend::PolicySetDetail), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn policy_set(
    State(state): AppState,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let version = set_version(&version)?;
    Ok(Json(backend.policy_set(version).await?))
}

fn set_version(text: &str) -> ApiResult<Option<i64>> {
    if text == "active" {
        return Ok(None);
    }
    text.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "policy set version {text:?} is not a number or `active`"
        ))
    })
}

#[utoipa::path(post, path = "/v1/policy-sets/{version}/approve", summary = "Approve a proposed version, making it active (a policy admin who did not propose it)", request_body = crate::backend::wire::PolicySetDecisionBody, params(("version" = String, Path, pattern = "^[0-9]{1,18}$")), responses((status = 200, body = crate::backend::PolicySetDetail), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn approve_policy_set(
    State(state): AppState,
    headers: HeaderMap,
    Path(version): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    decide_set(state, headers, &version, true, bytes).await
}

#[utoipa::path(post, path = "/v1/policy-sets/{version}/reject", summary = "Reject a proposed version, saying why (a policy admin who did not propose it)", request_body = crate::backend::wire::PolicySetDecisionBody, params(("version" = String, Path, pattern = "^[0-9]{1,18}$")), responses((status = 200, body = crate::backend::PolicySetDetail), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn reject_policy_set(
    State(state): AppState,
    headers: HeaderMap,
    Path(version): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    decide_set(state, headers, &version, false, bytes).await
}

pub(super) async fn decide_set(
    state: Arc<ServerState>,
    headers: HeaderMap,
    version: &str,
    approve: bool,
    bytes: Bytes,
) -> ApiResult<Json<crate::backend::PolicySetDetail>> {
    let version = set_version(version)?
        .ok_or_else(|| ApiError::bad_request("name the version to decide, not `active`"))?;
    let backend = caller(&state, &headers).await?;
    let request: PolicySetDecisionBody = if bytes.is_empty() {
        PolicySetDecisionBody { comment: None }
    } else {
        body(&bytes)?
    };
    Ok(Json(
        backend
            .decide_policy_set(version, approve, request.comment.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/policies", summary = "Every policy", responses((status = 200, body = Vec<crate::domain::Policy>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn policies(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.policies().await?))
}

#[utoipa::path(get, path = "/v1/policies/reach", summary = "How many agents each policy triggers on", responses((status = 200, body = Vec<crate::backend::NamedCount>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn policy_reach(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.policy_reach().await?))
}
