//! The Kubernetes admission webhook: `POST /v1/admission/{mode}` answers an
//! AdmissionReview v1 with whether the workload's agent version stands and
//! runs only the images its manifest named. No bearer token is needed (the
//! answer reveals only the decision); mutual TLS may be required. A review
//! that is not a dry run, from a caller that authenticated, records the
//! version as in use. A denial names the rules that hold the version back,
//! never their reasons' text (people, incidents): `gavel deploy check` and
//! `gavel attest show` tell a signed-in person the rest.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;

use super::extract::{ApiError, ApiResult, on_store};
use super::state::{AppState, caller};
use super::tls::ClientCertificate;
use crate::backend::BackendError;
use crate::backend::local::LocalBackend;
use crate::backend::local::attestations::judge;
use crate::domain::admission::{self, Mode, Standing};

#[utoipa::path(post, path = "/v1/admission/{mode}", summary = "A Kubernetes validating webhook (AdmissionReview admission.k8s.io/v1): enforce denies, warn allows with warnings, audit allows and records, a workload whose gavel/agent and gavel/version do not stand or whose images are not its manifest's", params(("mode" = String, Path, description = "enforce, warn or audit")), request_body(content = Object, description = "An AdmissionReview v1"), responses((status = 200, description = "The AdmissionReview answered", body = Object), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)))]
pub(super) async fn admission(
    State(state): AppState,
    Path(mode): Path<String>,
    certificate: Option<axum::Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    let mode = Mode::parse(&mode).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such admission mode: enforce, warn or audit",
        )
    })?;
    let certified =
        certificate.is_some_and(|axum::Extension(ClientCertificate(cert))| cert.is_some());
    if state.admission.require_client_cert && !certified {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "this server answers admission reviews only from a client certificate its CA signed",
        ));
    }
    let review = admission::parse(&body)
        .map_err(|why| ApiError::new(StatusCode::BAD_REQUEST, "invalid", &why))?;
    let Some(workload) = &review.workload else {
        if let Some(metrics) = &state.metrics {
            metrics.admission_review(mode.as_str(), "not_judged");
        }
        return Ok(Json(admission::answer(
            &review.uid,
            &admission::Verdict::allow(),
        )));
    };
    let store = std::sync::Arc::clone(&state.store);
    let now = store.now();
    let standing = match (&workload.agent, &workload.version) {
        (Some(agent), Some(version)) => Some(standing_of(&state, agent, version, now).await?),
        _ => None,
    };
    let verdict = admission::judge(mode, state.admission.unannotated, workload, |_, _| {
        standing.clone().unwrap_or(Standing::DoesNot {
            reasons: Vec::new(),
        })
    });
    let outcome = match (verdict.problems.is_empty(), verdict.allowed) {
        (true, _) => "admitted",
        (false, true) => "would_deny",
        (false, false) => "denied",
    };
    if let Some(metrics) = &state.metrics {
        metrics.admission_review(mode.as_str(), outcome);
    }
    tracing::info!(
        mode = mode.as_str(),
        uid = %review.uid,
        kind = %review.kind,
        namespace = %review.namespace,
        name = %review.name,
        agent = workload.agent.as_deref().unwrap_or_default(),
        version = workload.version.as_deref().unwrap_or_default(),
        allowed = verdict.allowed,
        problems = verdict.problems.len(),
        dry_run = review.dry_run,
        "admission review"
    );
    // A use: the version was let run, by a caller that proved who it is
    // (anyone could otherwise keep a dormant approval awake).
    let used = matches!(standing, Some(Standing::Stands { .. })) && verdict.problems.is_empty();
    if used && !review.dry_run {
        let authenticated = certified
            || (headers.contains_key(header::AUTHORIZATION)
                && caller(&state, &headers).await.is_ok());
        if let (true, Some(agent), Some(version)) =
            (authenticated, &workload.agent, &workload.version)
        {
            LocalBackend::new(store, None)
                .note_use(agent, version, now)
                .await;
        }
    }
    Ok(Json(admission::answer(&review.uid, &verdict)))
}

/// The version's standing: from memory when judged since the store last
/// changed, else judged now (one read) and remembered.
async fn standing_of(
    state: &super::state::ServerState,
    agent: &str,
    version: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Standing> {
    if let Some(standing) = state.standings.get(agent, version, now) {
        return Ok(standing);
    }
    let (agent_id, version_id) = (agent.to_owned(), version.to_owned());
    let recent = state.store.version_use.recent(agent, version);
    let (standing, until) = on_store(&state.store, move |store| {
        store.read(
            |conn| match judge(conn, &agent_id, &version_id, now, recent) {
                // Time changes only what stands; a change in the store
                // clears the rest.
                Ok(judged) => Ok((
                    judged.admission_standing(),
                    judged.changes_at().filter(|_| judged.stands()),
                )),
                Err(BackendError::NotFound { .. }) => Ok((
                    Standing::DoesNot {
                        reasons: vec![
                            "no request of it was allowed or approved: `gavel deploy request` it"
                                .into(),
                        ],
                    },
                    None,
                )),
                Err(err) => Err(err),
            },
        )
    })
    .await?;
    state
        .standings
        .put(agent, version, standing.clone(), now, until);
    Ok(standing)
}
