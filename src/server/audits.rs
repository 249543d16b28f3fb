//! Bias audits: recorded audits, standings, and runs against the agent with their case evidence.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiError, ApiResult, body, param};
use super::params::{AuditRunParams, CaseParams, StandingParams};
use super::state::{AppState, caller};
use crate::backend::{GovernanceBackend, StandingCursor, StandingQuery};
use crate::domain::bias::AuditSubmission;
use crate::domain::bias::standing::Attention;

/// Longer than any agent name, id or team a person would search for.
const MAX_SEARCH_CHARS: usize = 200;

#[utoipa::path(get, path = "/v1/agents/{id}/audits", summary = "An agent's bias audits, latest first", params(("id" = String, Path)), responses((status = 200, body = Vec<crate::domain::BiasAudit>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn audits(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.audits(&id).await?))
}

#[utoipa::path(post, path = "/v1/audits", summary = "Record a bias audit from group counts", request_body = crate::domain::bias::AuditSubmission, responses((status = 201, body = crate::domain::BiasAudit), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn record_audit(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let submission: AuditSubmission = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.record_audit(&submission).await?),
    ))
}

#[utoipa::path(post, path = "/v1/audits/{id}/independence", summary = "A compliance officer confirms an imported audit's auditor is independent, naming the auditor (not the audit's recorder)", params(("id" = String, Path)), request_body = crate::domain::bias::IndependenceConfirmation, responses((status = 200, body = crate::domain::BiasAudit), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn confirm_audit_independence(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let mut request: crate::domain::bias::IndependenceConfirmation = body(&bytes)?;
    // The path names the audit.
    request.audit_id = id;
    Ok(Json(backend.confirm_audit_independence(&request).await?))
}

#[utoipa::path(get, path = "/v1/audits/standings", summary = "A page of agents' standings with the bias audits their policies require, most urgent first", params(StandingParams), responses((status = 200, body = crate::backend::StandingPage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn audit_standings(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let hours: u32 = param(&query, "within_hours")?.unwrap_or(24 * 30);
    // Beyond what a duration holds, every expiry is within the window.
    let within = chrono::TimeDelta::try_hours(i64::from(hours)).unwrap_or(chrono::TimeDelta::MAX);
    let kinds = match query.get("attention").filter(|text| !text.is_empty()) {
        None => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|kind| kind.trim().parse::<Attention>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| ApiError::bad_request(format!("query parameter attention: {err}")))?,
    };
    let search = query.get("search").filter(|text| !text.trim().is_empty());
    if search.is_some_and(|text| text.chars().count() > MAX_SEARCH_CHARS) {
        return Err(ApiError::bad_request(format!(
            "query parameter search: at most {MAX_SEARCH_CHARS} characters"
        )));
    }
    let after = query
        .get("after")
        .filter(|text| !text.is_empty())
        .map(|text| StandingCursor::decode(text))
        .transpose()
        .map_err(|err| ApiError::invalid(format!("query parameter after: {err}")))?;
    let query = StandingQuery {
        due_within: within,
        kinds,
        search: search.cloned(),
        after,
        limit: param::<u32>(&query, "limit")?.unwrap_or(100),
    };
    Ok(Json(backend.audit_standings(&query).await?))
}

#[utoipa::path(get, path = "/v1/audit-runs", summary = "Audit runs, newest first (one agent's with agent_id)", params(AuditRunParams), responses((status = 200, body = Vec<crate::backend::AuditRun>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn audit_runs(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let agent = query.get("agent_id").filter(|agent| !agent.is_empty());
    Ok(Json(backend.audit_runs(agent.map(String::as_str)).await?))
}

#[utoipa::path(post, path = "/v1/audit-runs", summary = "Start a run of the agent over a case file (who may record audits); the caller is who ran it", request_body = crate::backend::AuditRunStart, responses((status = 201, body = crate::backend::AuditRun), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn start_audit_run(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::backend::AuditRunStart = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.start_audit_run(&request).await?),
    ))
}

#[utoipa::path(get, path = "/v1/audit-runs/{run_id}", summary = "One audit run with its settings and counts so far", params(("run_id" = String, Path)), responses((status = 200, body = crate::backend::AuditRun), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn audit_run(
    State(state): AppState,
    headers: HeaderMap,
    Path(run_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers).await?.audit_run(&run_id).await?,
    ))
}

#[utoipa::path(post, path = "/v1/audit-runs/{run_id}/outcomes", summary = "Record case outcomes of a run (its starter; at most 1000; a case recorded before keeps its first outcome)", request_body = crate::backend::wire::OutcomesBody, params(("run_id" = String, Path)), responses((status = 200, body = crate::backend::RecordedOutcomes), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn record_case_outcomes(
    State(state): AppState,
    headers: HeaderMap,
    Path(run_id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::backend::wire::OutcomesBody = body(&bytes)?;
    Ok(Json(
        backend
            .record_case_outcomes(&run_id, &request.outcomes)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/audit-runs/{run_id}/cases", summary = "A page of a run's case evidence, by case id", params(("run_id" = String, Path), CaseParams), responses((status = 200, body = crate::backend::CasePage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn audit_run_cases(
    State(state): AppState,
    headers: HeaderMap,
    Path(run_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let categories = match query.get("categories").filter(|text| !text.is_empty()) {
        None => Vec::new(),
        Some(text) => case_categories(text)?,
    };
    let query = crate::backend::CaseQuery {
        group: query.get("group").filter(|g| !g.is_empty()).cloned(),
        categories,
        outcome: param::<crate::backend::CaseOutcomeKind>(&query, "outcome")?,
        after: query.get("after").filter(|a| !a.is_empty()).cloned(),
        limit: param::<u32>(&query, "limit")?.unwrap_or(100),
    };
    Ok(Json(backend.audit_run_cases(&run_id, &query).await?))
}

/// The `categories` parameter: a JSON object of attribute to category,
/// as many as a case may carry and no longer than a case's own.
fn case_categories(text: &str) -> ApiResult<Vec<(String, String)>> {
    // Any text is what the schema allows; one that is not such an object
    // breaks a rule it cannot state.
    let bad = |why: &str| ApiError::invalid(format!("query parameter categories: {why}"));
    let categories: std::collections::BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|_| bad("a JSON object of attribute to category"))?;
    if !crate::backend::case_attributes_fit(&categories) {
        return Err(bad(crate::backend::CASE_ATTRIBUTE_LIMITS));
    }
    Ok(categories.into_iter().collect())
}

#[utoipa::path(post, path = "/v1/audit-runs/{run_id}/finish", summary = "Turn a run whose every case has an outcome into the agent version's audit (its starter, who may record audits)", params(("run_id" = String, Path)), responses((status = 201, body = crate::domain::BiasAudit), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn finish_audit_run(
    State(state): AppState,
    headers: HeaderMap,
    Path(run_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok((
        StatusCode::CREATED,
        Json(backend.finish_audit_run(&run_id).await?),
    ))
}
