//! Ethics reviews: assigning, drafting, submitting, and their templates.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiResult, body, param};
use super::params::ReviewParams;
use super::state::{AppState, caller};
use crate::backend::GovernanceBackend;
use crate::backend::wire::{AssignBody, DraftBody, SubmitBody};
use crate::domain::ReviewStatus;

#[utoipa::path(get, path = "/v1/workflows/{id}/review", summary = "The workflow's ethics review, or null", params(("id" = String, Path)), responses((status = 200, body = Option<crate::domain::EthicsReview>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn workflow_review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    backend.workflow(&id).await?;
    Ok(Json(backend.review_for_workflow(&id).await?))
}

#[utoipa::path(post, path = "/v1/workflows/{id}/review", summary = "Assign the workflow's ethics review", request_body = crate::backend::wire::AssignBody, params(("id" = String, Path)), responses((status = 201, body = crate::domain::EthicsReview), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn assign_review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: AssignBody = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.assign_review(&id, &request.reviewer).await?),
    ))
}

#[utoipa::path(get, path = "/v1/reviews", summary = "The caller's reviews", params(ReviewParams), responses((status = 200, body = Vec<crate::backend::ReviewSummary>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn my_reviews(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(
        backend
            .my_reviews(param::<ReviewStatus>(&query, "status")?)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/reviews/{id}", summary = "One review", params(("id" = String, Path)), responses((status = 200, body = crate::domain::EthicsReview), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.review(&id).await?))
}

#[utoipa::path(put, path = "/v1/reviews/{id}/draft", summary = "Save a draft", request_body = crate::backend::wire::DraftBody, params(("id" = String, Path)), responses((status = 200, body = crate::domain::EthicsReview), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn save_draft(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: DraftBody = body(&bytes)?;
    Ok(Json(
        backend
            .save_review_draft(&id, &request.answers, request.form_state.as_ref())
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/reviews/{id}/submit", summary = "Submit a review; it is immutable afterwards", request_body = crate::backend::wire::SubmitBody, params(("id" = String, Path)), responses((status = 200, body = crate::domain::EthicsReview), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn submit_review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: SubmitBody = body(&bytes)?;
    Ok(Json(backend.submit_review(&id, &request.answers).await?))
}

#[utoipa::path(get, path = "/v1/review-templates/{id}", summary = "A review template", params(("id" = String, Path)), responses((status = 200, body = crate::domain::ReviewTemplate), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn review_template(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers).await?.review_template(&id).await?,
    ))
}
