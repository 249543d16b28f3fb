//! Incidents: reported by any signed-in person, listed, and changed
//! (triage, suspension, the report's confirmation, a lifting and its
//! sign-offs, closure). Who acts comes from the bearer token; severities,
//! deadlines and the lift chain come from the active policy set, never
//! from the request.

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
use crate::domain::incident::{
    Incident, IncidentChange, IncidentFilter, IncidentQuery, NewIncident,
};

#[utoipa::path(get, path = "/v1/incidents", summary = "Incidents, newest first (at most 200): one agent's with `agent`; open, suspended, overdue or closed ones with `state`; those whose suspension's lifting waits for the caller's roles with `awaiting_me`", params(("agent" = Option<String>, Query), ("state" = Option<String>, Query), ("awaiting_me" = Option<bool>, Query)), responses((status = 200, body = Vec<Incident>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn incidents(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let state = query
        .get("state")
        .map(|text| text.parse::<IncidentFilter>())
        .transpose()
        .map_err(|err| BackendError::Invalid(err.to_string()))?;
    let query = IncidentQuery {
        agent_id: query.get("agent").cloned(),
        state,
        awaiting_me: param::<bool>(&query, "awaiting_me")?.unwrap_or(false),
    };
    Ok(Json(backend.incidents(&query).await?))
}

#[utoipa::path(post, path = "/v1/incidents", summary = "Report an incident with an agent version (any signed-in person): its severity must be one of the active set's, which gives the report's deadline from became_aware_at and may suspend the version at once when the reporter is concerned with the agent", request_body = NewIncident, responses((status = 201, body = Incident), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn report_incident(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let report: NewIncident = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.report_incident(&report).await?),
    ))
}

#[utoipa::path(get, path = "/v1/incidents/{id}", summary = "One incident with its triage, report, suspension and liftings", params(("id" = String, Path)), responses((status = 200, body = Incident), (status = 401, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn incident(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(backend.incident(&id).await?))
}

#[utoipa::path(post, path = "/v1/incidents/{id}/actions", summary = "Act on an incident: triage, suspend, confirm_report and close (a compliance officer); request_lift (a compliance officer, or the agent's owner or a team member holding a role); decide_lift (the holder of the lifting's next role, never the person who asked nor one who signed before)", params(("id" = String, Path)), request_body = IncidentChange, responses((status = 200, body = Incident), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn change_incident(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let mut change: IncidentChange = body(&bytes)?;
    // The incident is the one the path names.
    change.incident_id = id;
    Ok(Json(backend.change_incident(&change).await?))
}
