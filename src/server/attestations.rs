//! Attestations: the signed approval of an agent version, or its signed
//! revocation, and the key they are signed with.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::extract::ApiResult;
use super::state::{AppState, caller, log_key};
use crate::backend::GovernanceBackend;
use crate::domain::attestation::Attested;

#[utoipa::path(get, path = "/v1/attestations/key", summary = "The key attestations are signed with (securesystemslib's form, with its PEM and the log's verifier key)", responses((status = 200, body = crate::domain::attestation::dsse::KeyDocument), (status = 401, body = crate::backend::wire::ErrorBody), (status = 503, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn attestation_key(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let backend = backend.with_log_key(log_key(&state)?);
    Ok(Json(backend.attestation_key().await?))
}

#[utoipa::path(get, path = "/v1/attestations/{agent}/{version}", summary = "An agent version's attestation: an in-toto Statement v1 in a DSSE envelope while it stands (200), its signed revocation once it no longer does (410)", params(("agent" = String, Path), ("version" = String, Path)), responses((status = 200, body = crate::domain::attestation::dsse::Envelope), (status = 410, description = "The version no longer stands: the body is the signed revocation", body = crate::domain::attestation::dsse::Envelope), (status = 401, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 503, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn attestation(
    State(state): AppState,
    headers: HeaderMap,
    Path((agent, version)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let backend = backend.with_log_key(log_key(&state)?);
    Ok(match backend.attestation(&agent, &version).await? {
        Attested::Issued(envelope) => (StatusCode::OK, Json(envelope)),
        Attested::Revoked(envelope) => (StatusCode::GONE, Json(envelope)),
    })
}
