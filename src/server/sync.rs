//! What offline caches read to catch up: changes since a cursor, and snapshots of the store.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::{ApiError, ApiResult, on_store, param};
use super::params::{ChangeParams, SnapshotPageParams, SnapshotTableParams};
use super::state::{AppState, caller};
use crate::backend::GovernanceBackend;

#[utoipa::path(get, path = "/v1/changes", summary = "Entity changes after a monotonic cursor, for sync", params(ChangeParams), responses((status = 200, body = crate::backend::local::feed::ChangePage), (status = 410, body = crate::backend::wire::ErrorBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn changes(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let reader = caller(&state, &headers).await?.me().await?;
    let since = param::<i64>(&query, "since")?.unwrap_or(0);
    if since < 0 {
        return Err(ApiError::bad_request(
            "query parameter since: must not be negative",
        ));
    }
    let limit = param::<u32>(&query, "limit")?.unwrap_or(1000);
    let page = on_store(&state.store, move |store| {
        store.change_page(since, limit, Some(&reader))
    })
    .await?;
    if since > page.head {
        // A cursor this store never issued: it was replaced or restored.
        return Err(ApiError::new(
            StatusCode::GONE,
            "cursor_unknown",
            format!(
                "cursor {since} is ahead of this server's newest change {}: start again from a snapshot",
                page.head
            ),
        ));
    }
    Ok(Json(page))
}

#[utoipa::path(get, path = "/v1/snapshot/{table}", summary = "One keyset page of a table (agents, workflows, reviews, deployments, audits) for a first sync", params(SnapshotTableParams, SnapshotPageParams), responses((status = 200, body = crate::backend::local::feed::SnapshotPage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn snapshot(
    State(state): AppState,
    headers: HeaderMap,
    Path(table): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let reader = caller(&state, &headers).await?.me().await?;
    let after = query.get("after").cloned().unwrap_or_default();
    let limit = param::<u32>(&query, "limit")?.unwrap_or(1000);
    let page = on_store(&state.store, move |store| {
        store.snapshot_page(&table, &after, limit, Some(&reader))
    })
    .await?;
    Ok(Json(page))
}
