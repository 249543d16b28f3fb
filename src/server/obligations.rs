//! Obligations: an agent version's posture, its intake, and confirmations
//! of what is in place outside Gavel. Who acts comes from the bearer token.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiResult, body, param};
use super::state::{AppState, caller};
use crate::backend::BackendError;
use crate::backend::GovernanceBackend;

#[utoipa::path(get, path = "/v1/agents/{id}/obligations", summary = "Each obligation the active policy set adopts, judged for an agent version (its current one unless `version`) at the server's clock: not applicable, not yet in effect, met, expiring or unmet, with its evidence or what is missing", params(("id" = String, Path), ("version" = Option<String>, Query)), responses((status = 200, body = crate::domain::obligations::Posture), (status = 401, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn obligations(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(
        backend
            .obligations(&id, query.get("version").map(String::as_str))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/obligations", summary = "Agents' postures (their current versions), in agent id order, a page at a time: each with its counts and the obligations in effect and unmet", params(("after" = Option<String>, Query), ("limit" = Option<u32>, Query), ("unmet" = Option<bool>, Query)), responses((status = 200, body = crate::domain::obligations::PosturePage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn postures(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let query = crate::domain::obligations::PostureQuery {
        after: query.get("after").cloned(),
        limit: param::<u32>(&query, "limit")?.unwrap_or(50),
        unmet: param::<bool>(&query, "unmet")?.unwrap_or(false),
    };
    Ok(Json(backend.postures(&query).await?))
}

#[utoipa::path(get, path = "/v1/agents/{id}/intake", summary = "The intake of an agent version (null when none was saved)", params(("id" = String, Path), ("version" = String, Query)), responses((status = 200, body = Option<crate::domain::obligations::Intake>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn intake(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let Some(version) = query.get("version") else {
        return Err(BackendError::Invalid("version is required".into()).into());
    };
    Ok(Json(backend.intake(&id, version).await?))
}

#[utoipa::path(put, path = "/v1/agents/{id}/intake", summary = "Save (or, with submit, submit) an agent version's intake: its owner, someone who requested a deployment of it, or a compliance officer", params(("id" = String, Path)), request_body = crate::domain::obligations::IntakeSave, responses((status = 200, body = crate::domain::obligations::Intake), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn save_intake(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let mut save: crate::domain::obligations::IntakeSave = body(&bytes)?;
    // The agent is the one the path names.
    save.agent_id = id;
    Ok(Json(backend.save_intake(&save).await?))
}

#[utoipa::path(post, path = "/v1/agents/{id}/intake/decision", summary = "Approve or reject a pending intake change (answers that would stop a policy, an obligation or a risk floor from applying): a role of the set's classification_change chain, not the person who proposed it", params(("id" = String, Path)), request_body = crate::domain::obligations::IntakeDecision, responses((status = 200, body = crate::domain::obligations::Intake), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn decide_intake_change(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let mut decision: crate::domain::obligations::IntakeDecision = body(&bytes)?;
    decision.agent_id = id;
    Ok(Json(backend.decide_intake_change(&decision).await?))
}

#[utoipa::path(post, path = "/v1/obligations/confirmations", summary = "Record that what an obligation names is in place outside Gavel (a link or a document's SHA-256, until a date), by a role its confirmation evidence names", request_body = crate::domain::obligations::NewConfirmation, responses((status = 201, body = crate::domain::obligations::Confirmation), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn confirm(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::domain::obligations::NewConfirmation = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.confirm_obligation(&request).await?),
    ))
}
