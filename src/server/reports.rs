//! The board report (signed under the log's key) and its schedules.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiResult, body, param};
use super::state::{AppState, caller, log_key};
use crate::backend::GovernanceBackend;

#[utoipa::path(get, path = "/v1/reports/board", summary = "The board report over whole weeks, its figures signed under the log's key (compliance officers, or the roles the set's `permissions.read_reports` names); `gavel report` draws it and `gavel report verify` checks it", params(crate::server::params::ReportParams), responses((status = 200, body = crate::domain::report::SignedReport), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 503, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn board_report(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let backend = backend.with_log_key(log_key(&state)?);
    let required = |name: &str| -> ApiResult<chrono::NaiveDate> {
        param::<chrono::NaiveDate>(&query, name)?.ok_or_else(|| {
            crate::backend::BackendError::Invalid(format!("{name} (YYYY-MM-DD) is required")).into()
        })
    };
    let request = crate::domain::report::ReportQuery {
        from: required("from")?,
        to: required("to")?,
        team: param::<String>(&query, "team")?,
    };
    Ok(Json(backend.board_report(&request).await?))
}

#[utoipa::path(get, path = "/v1/reports/schedules", summary = "Every schedule of the board report, newest first (those who may read reports)", responses((status = 200, body = Vec<crate::domain::report::Schedule>), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn schedules(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers).await?.report_schedules().await?,
    ))
}

#[utoipa::path(post, path = "/v1/reports/schedules", summary = "Send the board report to Gavel users every week, month or quarter, made by the notifier at 06:00 UTC on the period's first day (in the trail)", request_body = crate::domain::report::NewSchedule, responses((status = 201, body = crate::domain::report::Schedule), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn schedule(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let asked: crate::domain::report::NewSchedule = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.schedule_report(&asked).await?),
    ))
}

#[utoipa::path(post, path = "/v1/reports/schedules/{id}/stop", summary = "Stop a schedule of the board report (in the trail)", params(("id" = String, Path)), responses((status = 200, body = crate::domain::report::Schedule), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn stop_schedule(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(backend.stop_report_schedule(&id).await?))
}
