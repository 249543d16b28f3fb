//! Evidence packs.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use super::extract::{ApiResult, param};
use super::state::{AppState, caller, log_key};
use crate::backend::GovernanceBackend;

#[utoipa::path(get, path = "/v1/agents/{id}/evidence", summary = "An agent's evidence pack, a zip signed under the log's key (compliance officers); `gavel evidence verify` checks it offline", params(("id" = String, Path), crate::server::params::EvidenceParams), responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 503, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn evidence(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    // Who asks first: an unauthenticated caller learns nothing of the key.
    let backend = caller(&state, &headers).await?;
    let backend = backend.with_log_key(log_key(&state)?);
    let request = crate::backend::EvidenceQuery {
        agent_id: id,
        agent_version: param::<String>(&query, "version")?,
        from: param::<chrono::DateTime<chrono::Utc>>(&query, "from")?,
        to: param::<chrono::DateTime<chrono::Utc>>(&query, "to")?,
    };
    let bytes = backend.evidence_pack(&request).await?;
    let name = format!(
        "attachment; filename=\"evidence-{}.zip\"",
        crate::evidence::slug(&request.agent_id)
    );
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
