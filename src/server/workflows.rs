//! The approvals queue, workflows and decisions on their steps.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::extract::{ApiError, ApiResult, body, header_text, param};
use super::params::{QueueFilterParams, QueuePageParams};
use super::state::{AppState, ServerState, caller};
use crate::backend::queue::QueueScope;
use crate::backend::wire::{CountBody, DecisionBody, WithdrawBody};
use crate::backend::{
    Decision, Direction, GovernanceBackend, QueueCursor, QueueFilter, QueueQuery, QueueSort,
};
use crate::domain::{RiskTier, Role, WorkflowStatus};

fn queue_filter(query: &HashMap<String, String>) -> ApiResult<QueueFilter> {
    let roles = match query.get("roles").filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => Some(
            text.split(',')
                .map(|role| {
                    role.parse::<Role>().map_err(|err| {
                        ApiError::bad_request(format!("query parameter roles: {err}"))
                    })
                })
                .collect::<ApiResult<Vec<Role>>>()?,
        ),
    };
    let scope = match query.get("scope").map(String::as_str) {
        None | Some("") | Some("actionable") => QueueScope::Actionable,
        Some("all") => QueueScope::Everything,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query parameter scope: {other:?} is not actionable or all"
            )));
        }
    };
    Ok(QueueFilter {
        scope,
        roles,
        status: param::<WorkflowStatus>(query, "status")?.unwrap_or(WorkflowStatus::InProgress),
        risk: param::<RiskTier>(query, "risk")?,
        team: query.get("team").filter(|t| !t.is_empty()).cloned(),
        search: query.get("search").filter(|t| !t.is_empty()).cloned(),
    })
}

#[utoipa::path(get, path = "/v1/queue", summary = "A page of the approvals queue", params(QueueFilterParams, QueuePageParams), responses((status = 200, body = crate::backend::QueuePage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn queue(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let sort = match query.get("sort").map(String::as_str) {
        None | Some("") | Some("age") => QueueSort::Age,
        Some("risk") => QueueSort::Risk,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query parameter sort: {other:?} is not age or risk"
            )));
        }
    };
    let direction = match query.get("direction").map(String::as_str) {
        None | Some("") | Some("forward") => Direction::Forward,
        Some("backward") => Direction::Backward,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query parameter direction: {other:?} is not forward or backward"
            )));
        }
    };
    let cursor = match query.get("cursor").filter(|c| !c.is_empty()) {
        Some(text) => Some(
            QueueCursor::decode(text)
                .map_err(|err| ApiError::invalid(format!("query parameter cursor: {err}")))?,
        ),
        None => None,
    };
    let limit = param::<u32>(&query, "limit")?.unwrap_or(50);
    let request = QueueQuery {
        filter: queue_filter(&query)?,
        sort,
        cursor,
        direction,
        limit,
    };
    Ok(Json(backend.queue(&request).await?))
}

#[utoipa::path(get, path = "/v1/queue/count", summary = "How many items match a queue filter", params(QueueFilterParams), responses((status = 200, body = crate::backend::wire::CountBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn queue_count(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(CountBody {
        count: backend.queue_count(&queue_filter(&query)?).await?,
    }))
}

#[utoipa::path(get, path = "/v1/workflows/{id}", summary = "One workflow; the ETag is its version", params(("id" = String, Path)), responses((status = 200, body = crate::domain::Workflow), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn workflow(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let workflow = caller(&state, &headers).await?.workflow(&id).await?;
    let etag = format!("\"{}\"", workflow.version);
    let mut response = Json(workflow).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// Removes an idempotency key from the in-flight set when the request ends,
/// however it ends.
struct InFlight<'a> {
    state: &'a ServerState,
    key: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut keys) = self.state.in_flight.lock() {
            keys.remove(&self.key);
        }
    }
}

#[utoipa::path(post, path = "/v1/workflows/{id}/steps/{step_id}/decision", summary = "Decide the current step (If-Match and Idempotency-Key headers required)", request_body = crate::backend::wire::DecisionBody, params(("id" = String, Path), ("step_id" = u32, Path, maximum = 4_294_967_295_u64), ("If-Match" = String, Header, description = "the workflow version the decision was made on (its ETag)", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"), ("Idempotency-Key" = String, Header, description = "the same key on every retry of one decision", pattern = "^[A-Za-z0-9._:-]{1,200}$")), responses((status = 200, body = crate::domain::Workflow), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 412, body = crate::backend::wire::ErrorBody), (status = 413, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody), (status = 428, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn decide(
    State(state): AppState,
    headers: HeaderMap,
    Path((id, step_id)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let step_id: u32 = step_id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("step id {step_id:?} is not a number")))?;
    let if_match = header_text(&headers, "if-match")?.ok_or_else(|| {
        ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if_match_required",
            "If-Match with the workflow version (its ETag) is required",
        )
    })?;
    let expected_version: i64 = if_match
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| {
            ApiError::bad_request(format!("If-Match {if_match:?} is not a workflow version"))
        })?;
    let key = header_text(&headers, "idempotency-key")?
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("an Idempotency-Key header is required for decisions")
        })?
        .to_owned();
    let request: DecisionBody = body(&bytes)?;
    {
        let mut keys = state.in_flight.lock().map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "lock poisoned",
            )
        })?;
        if !keys.insert(key.clone()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "duplicate_in_flight",
                "the same Idempotency-Key is being processed; retry later",
            ));
        }
    }
    let _guard = InFlight {
        state: &state,
        key: key.clone(),
    };
    let decision = Decision {
        workflow_id: id,
        step_id,
        verdict: request.verdict,
        comment: request.comment,
        expected_version,
        idempotency_key: key,
        decision_at: request.decision_at,
        on_behalf_of: request.on_behalf_of,
    };
    let decided = backend.decide(&decision).await?;
    let etag = format!("\"{}\"", decided.version);
    let mut response = Json(decided).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

#[utoipa::path(post, path = "/v1/workflows/{id}/withdraw", summary = "Withdraw the request a workflow belongs to (its requester, or a compliance officer with a reason)", request_body = crate::backend::wire::WithdrawBody, params(("id" = String, Path)), responses((status = 200, body = crate::domain::Workflow), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn withdraw(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: WithdrawBody = body(&bytes)?;
    Ok(Json(
        backend.withdraw(&id, request.reason.as_deref()).await?,
    ))
}
