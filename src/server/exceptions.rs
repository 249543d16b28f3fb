//! Exceptions (asked for, listed, decided and revoked) and the approvals
//! due for recertification. Who acts comes from
//! the bearer token; the chain and the longest run come from the active
//! policy set, never from the request.

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
use crate::domain::exception::{
    Exception, ExceptionDecision, ExceptionQuery, ExceptionState, NewException,
};

#[utoipa::path(get, path = "/v1/exceptions", summary = "Exceptions, newest first (at most 200): one agent's with `agent`, in one state (pending, active, lapsed, rejected, revoked) with `state`, or those whose next step the caller's roles approve with `awaiting_me`", params(("agent" = Option<String>, Query), ("state" = Option<String>, Query), ("awaiting_me" = Option<bool>, Query)), responses((status = 200, body = Vec<Exception>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn exceptions(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let state = query
        .get("state")
        .map(|text| text.parse::<ExceptionState>())
        .transpose()
        .map_err(|err| BackendError::Invalid(err.to_string()))?;
    let query = ExceptionQuery {
        agent_id: query.get("agent").cloned(),
        state,
        awaiting_me: param::<bool>(&query, "awaiting_me")?.unwrap_or(false),
    };
    Ok(Json(backend.exceptions(&query).await?))
}

#[utoipa::path(get, path = "/v1/recertifications", summary = "Agents whose approval is due for recertification within `within` days (0, the default: due now; at most 366), most overdue first (at most 500), with how many there are", params(("within" = Option<u32>, Query)), responses((status = 200, body = crate::backend::RecertificationPage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn recertifications(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let within = param::<u32>(&query, "within")?.unwrap_or(0);
    if within > 366 {
        return Err(BackendError::Invalid("within is at most 366 days".into()).into());
    }
    Ok(Json(backend.recertifications_due(within).await?))
}

#[utoipa::path(post, path = "/v1/exceptions", summary = "Ask for a time-bound exception to one policy for one agent version: the active set's [exceptions] chain approves it (never the person asking), for at most its max_days", request_body = NewException, responses((status = 201, body = Exception), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn request_exception(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: NewException = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.request_exception(&request).await?),
    ))
}

#[utoipa::path(get, path = "/v1/exceptions/{id}", summary = "One exception with its chain and approvals", params(("id" = String, Path)), responses((status = 200, body = Exception), (status = 401, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn exception(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(backend.exception(&id).await?))
}

#[utoipa::path(post, path = "/v1/exceptions/{id}/decision", summary = "Approve or reject an exception's next step: a holder of its role who neither asked for it nor approved an earlier step; a rejection needs a comment", params(("id" = String, Path)), request_body = ExceptionDecision, responses((status = 200, body = Exception), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn decide_exception(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let mut decision: ExceptionDecision = body(&bytes)?;
    // The exception is the one the path names.
    decision.exception_id = id;
    Ok(Json(backend.decide_exception(&decision).await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub(super) struct Revocation {
    reason: String,
}

#[utoipa::path(post, path = "/v1/exceptions/{id}/revoke", summary = "End a pending or active exception now, saying why: the person who asked for it, or a compliance officer", params(("id" = String, Path)), request_body = Revocation, responses((status = 200, body = Exception), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn revoke_exception(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let revocation: Revocation = body(&bytes)?;
    Ok(Json(
        backend.revoke_exception(&id, &revocation.reason).await?,
    ))
}
