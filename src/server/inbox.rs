//! The caller's inbox.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;

use super::extract::{ApiResult, body};
use super::state::{AppState, caller};
use crate::backend::GovernanceBackend;

#[utoipa::path(get, path = "/v1/inbox", summary = "What concerns the caller, newest first: items that entered their queue, reviews assigned to them, decisions on their requests", responses((status = 200, body = Vec<crate::backend::InboxItem>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn inbox(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.inbox().await?))
}

#[utoipa::path(post, path = "/v1/inbox/read", summary = "Mark inbox items read", request_body = crate::backend::wire::InboxReadBody, responses((status = 200, body = Object), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn mark_read(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::backend::wire::InboxReadBody = body(&bytes)?;
    let marked = backend.mark_read(&request.event_ids).await?;
    Ok(Json(serde_json::json!({ "read": marked })))
}
