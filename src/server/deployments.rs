//! Agents and their deployment requests: checking and filing a manifest, the requests, and leadership's figures.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiError, ApiResult, param};
use super::params::{AgentSearchParams, DeploymentParams};
use super::state::{AppState, caller};
use crate::backend::{DeploymentQuery, GovernanceBackend};
use crate::domain::manifest::{Manifest, ManifestError};
use crate::domain::policy::evaluation::DeploymentStatus;

#[utoipa::path(get, path = "/v1/agents", summary = "Agents whose name, id or team contains the search text", params(AgentSearchParams), responses((status = 200, body = Vec<crate::backend::AgentSummary>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn search_agents(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let text = query.get("search").cloned().unwrap_or_default();
    let limit = param::<u32>(&query, "limit")?.unwrap_or(50);
    Ok(Json(backend.search_agents(&text, limit).await?))
}

#[utoipa::path(get, path = "/v1/agents/{id}", summary = "One agent", params(("id" = String, Path)), responses((status = 200, body = crate::domain::Agent), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn agent(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.agent(&id).await?))
}

fn manifest(bytes: &[u8]) -> ApiResult<Manifest> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("the manifest is not UTF-8"))?;
    Manifest::from_json(text).map_err(|err| match err {
        ManifestError::Rule { .. } => ApiError::invalid(err.to_string()),
        ManifestError::TooLarge(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            err.to_string(),
        ),
        ManifestError::Invalid { .. } => ApiError::bad_request(err.to_string()),
    })
}

#[utoipa::path(post, path = "/v1/deployments/check", summary = "What the policies say about a manifest, recording nothing", request_body = crate::domain::manifest::ManifestFields, responses((status = 200, body = crate::domain::Evaluation), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn check_deployment(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(backend.check_deployment(&manifest(&bytes)?).await?))
}

#[utoipa::path(post, path = "/v1/deployments", summary = "Record a deployment request and open its workflows", request_body = crate::domain::manifest::ManifestFields, responses((status = 201, body = crate::domain::DeploymentRequest), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn request_deployment(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok((
        StatusCode::CREATED,
        Json(backend.request_deployment(&manifest(&bytes)?).await?),
    ))
}

#[utoipa::path(get, path = "/v1/deployments/{id}", summary = "One deployment request", params(("id" = String, Path)), responses((status = 200, body = crate::domain::DeploymentRequest), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn deployment(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.deployment(&id).await?))
}

#[utoipa::path(get, path = "/v1/deployments/{id}/view", summary = "A deployment with its workflows and what it changes against the version running now", params(("id" = String, Path)), responses((status = 200, body = crate::backend::DeploymentView), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn deployment_view(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers).await?.deployment_view(&id).await?,
    ))
}

#[utoipa::path(get, path = "/v1/deployments", summary = "Deployments by cursor: newest first, or (blocked ones) oldest, by team or by policy, narrowed by agent, team, policy or text", params(DeploymentParams), responses((status = 200, body = crate::backend::DeploymentPage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn deployments(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let text = |name: &str| query.get(name).filter(|value| !value.is_empty()).cloned();
    let request = DeploymentQuery {
        status: param::<DeploymentStatus>(&query, "status")?,
        cursor: text("cursor"),
        limit: param::<u32>(&query, "limit")?.unwrap_or(50),
        agent_id: text("agent"),
        team: text("team"),
        policy: text("policy"),
        search: text("search"),
        sort: param::<crate::backend::DeploymentSort>(&query, "sort")?.unwrap_or_default(),
    };
    Ok(Json(backend.deployments(&request).await?))
}

#[utoipa::path(get, path = "/v1/dashboard", summary = "The blocked-deployments figures", responses((status = 200, body = crate::backend::Dashboard), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn dashboard(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.dashboard().await?))
}
