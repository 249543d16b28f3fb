//! The audit trail and its log: the hash chain, the signed checkpoint, and proofs of inclusion and consistency.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;

use super::extract::{ApiResult, on_store, required};
use super::params::{ConsistencyParams, InclusionParams};
use super::state::{AppState, caller, log_key};
use crate::backend::GovernanceBackend;
use crate::backend::wire::{CheckpointBody, LogKeyBody, ProofBody};

#[utoipa::path(get, path = "/v1/audits/verify", summary = "Check the audit trail's hash chain", responses((status = 200, body = crate::backend::VerifyReport), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn verify_trail(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.verify_trail().await?))
}

#[utoipa::path(get, path = "/v1/log/key", summary = "The log's public key (signed-note verifier key) to pin", responses((status = 200, body = crate::backend::wire::LogKeyBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn log_public_key(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    caller(&state, &headers).await?;
    Ok(Json(LogKeyBody {
        key: log_key(&state)?.verifier_key.clone(),
    }))
}

#[utoipa::path(get, path = "/v1/log/checkpoint", summary = "A signed checkpoint (C2SP tlog-checkpoint) of the log as it is now", responses((status = 200, body = crate::backend::wire::CheckpointBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn log_checkpoint(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    caller(&state, &headers).await?;
    let key = log_key(&state)?;
    let checkpoint = on_store(&state.store, move |store| {
        store.write(|tx| crate::backend::local::logkey::sign_checkpoint(tx, &key, store.now()))
    })
    .await?;
    Ok(Json(CheckpointBody { checkpoint }))
}

fn proof_body(hashes: Vec<tlog_tiles::tlog::Hash>) -> ProofBody {
    ProofBody {
        hashes: hashes.iter().map(crate::domain::merkle::hex).collect(),
    }
}

#[utoipa::path(get, path = "/v1/log/proof/inclusion", summary = "The proof that event `index` (0-based) is in the log of `size` events", params(InclusionParams), responses((status = 200, body = crate::backend::wire::ProofBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn log_inclusion(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    caller(&state, &headers).await?;
    let index = required::<u64>(&query, "index")?;
    let size = required::<u64>(&query, "size")?;
    let hashes = on_store(&state.store, move |store| {
        store.read(|conn| crate::backend::local::log::inclusion_proof(conn, index, size))
    })
    .await?;
    Ok(Json(proof_body(hashes)))
}

#[utoipa::path(get, path = "/v1/log/proof/consistency", summary = "The proof that the log of `old` events is a prefix of the log of `new`", params(ConsistencyParams), responses((status = 200, body = crate::backend::wire::ProofBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn log_consistency(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    caller(&state, &headers).await?;
    let old = required::<u64>(&query, "old")?;
    let new = required::<u64>(&query, "new")?;
    let hashes = on_store(&state.store, move |store| {
        store.read(|conn| crate::backend::local::log::consistency_proof(conn, old, new))
    })
    .await?;
    Ok(Json(proof_body(hashes)))
}

#[utoipa::path(get, path = "/v1/trail/{entity_type}/{entity_id}", summary = "One entity's audit trail, oldest first", params(("entity_type" = String, Path), ("entity_id" = String, Path)), responses((status = 200, body = Vec<crate::domain::TrailEvent>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn trail(
    State(state): AppState,
    headers: HeaderMap,
    Path((entity_type, entity_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers)
            .await?
            .trail(&entity_type, &entity_id)
            .await?,
    ))
}
