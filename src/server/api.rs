//! The `/v1` routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::extract::{ApiError, ApiResult, body, caller, header_text, param};
use super::{MAX_BODY, ServerState};
use crate::backend::wire::{AssignBody, CountBody, DecisionBody, DraftBody, SubmitBody};
use crate::backend::{
    Decision, DeploymentQuery, Direction, GovernanceBackend, QueueCursor, QueueFilter, QueueQuery,
    QueueSort,
};
use crate::domain::bias::AuditSubmission;
use crate::domain::deployment::{DeploymentStatus, Manifest};
use crate::domain::{ReviewStatus, RiskTier, Role, WorkflowStatus};

type AppState = State<Arc<ServerState>>;

pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/v1/me", get(me))
        .route("/v1/queue", get(queue))
        .route("/v1/queue/count", get(queue_count))
        .route("/v1/workflows/{id}", get(workflow))
        .route("/v1/workflows/{id}/steps/{step_id}/decision", post(decide))
        .route(
            "/v1/workflows/{id}/review",
            get(workflow_review).post(assign_review),
        )
        .route("/v1/reviews", get(my_reviews))
        .route("/v1/reviews/{id}", get(review))
        .route("/v1/reviews/{id}/draft", put(save_draft))
        .route("/v1/reviews/{id}/submit", post(submit_review))
        .route("/v1/review-templates/{id}", get(review_template))
        .route("/v1/agents", get(search_agents))
        .route("/v1/agents/{id}", get(agent))
        .route("/v1/agents/{id}/audits", get(audits))
        .route("/v1/audits", post(record_audit))
        .route("/v1/audits/verify", get(verify_trail))
        .route("/v1/deployments", get(deployments).post(request_deployment))
        .route("/v1/deployments/check", post(check_deployment))
        .route("/v1/deployments/{id}", get(deployment))
        .route("/v1/dashboard", get(dashboard))
        .route("/v1/policies", get(policies))
        .route("/v1/policies/reach", get(policy_reach))
        .route("/v1/trail/{entity_type}/{entity_id}", get(trail))
        .route("/v1/changes", get(changes))
        .route("/v1/openapi.json", get(openapi))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        // Method, path and status at info; never headers (tokens live there).
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn me(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.me().await?))
}

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
    Ok(QueueFilter {
        roles,
        status: param::<WorkflowStatus>(query, "status")?.unwrap_or(WorkflowStatus::InProgress),
        risk: param::<RiskTier>(query, "risk")?,
        team: query.get("team").filter(|t| !t.is_empty()).cloned(),
        search: query.get("search").filter(|t| !t.is_empty()).cloned(),
    })
}

async fn queue(
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
                .map_err(|err| ApiError::bad_request(format!("query parameter cursor: {err}")))?,
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

async fn queue_count(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(CountBody {
        count: backend.queue_count(&queue_filter(&query)?).await?,
    }))
}

async fn workflow(
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

async fn decide(
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
    };
    let decided = backend.decide(&decision).await?;
    let etag = format!("\"{}\"", decided.version);
    let mut response = Json(decided).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

async fn workflow_review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    backend.workflow(&id).await?;
    Ok(Json(backend.review_for_workflow(&id).await?))
}

async fn assign_review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: AssignBody = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.assign_review(&id, &request.reviewer).await?),
    ))
}

async fn my_reviews(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(
        backend
            .my_reviews(param::<ReviewStatus>(&query, "status")?)
            .await?,
    ))
}

async fn review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.review(&id).await?))
}

async fn save_draft(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: DraftBody = body(&bytes)?;
    Ok(Json(
        backend
            .save_review_draft(&id, &request.answers, request.form_state.as_ref())
            .await?,
    ))
}

async fn submit_review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: SubmitBody = body(&bytes)?;
    Ok(Json(backend.submit_review(&id, &request.answers).await?))
}

async fn review_template(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers).await?.review_template(&id).await?,
    ))
}

async fn search_agents(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let text = query.get("search").cloned().unwrap_or_default();
    let limit = param::<u32>(&query, "limit")?.unwrap_or(50);
    Ok(Json(backend.search_agents(&text, limit).await?))
}

async fn agent(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.agent(&id).await?))
}

async fn audits(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.audits(&id).await?))
}

async fn record_audit(
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

async fn verify_trail(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.verify_trail().await?))
}

fn manifest(bytes: &[u8]) -> ApiResult<Manifest> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("the manifest is not UTF-8"))?;
    Manifest::from_json(text).map_err(|err| ApiError::bad_request(err.to_string()))
}

async fn check_deployment(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(backend.check_deployment(&manifest(&bytes)?).await?))
}

async fn request_deployment(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok((
        StatusCode::CREATED,
        Json(backend.request_deployment(&manifest(&bytes)?).await?),
    ))
}

async fn deployment(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.deployment(&id).await?))
}

async fn deployments(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request = DeploymentQuery {
        status: param::<DeploymentStatus>(&query, "status")?,
        cursor: query.get("cursor").filter(|c| !c.is_empty()).cloned(),
        limit: param::<u32>(&query, "limit")?.unwrap_or(50),
    };
    Ok(Json(backend.deployments(&request).await?))
}

async fn dashboard(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.dashboard().await?))
}

async fn policies(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.policies().await?))
}

async fn policy_reach(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.policy_reach().await?))
}

async fn trail(
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

async fn changes(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    caller(&state, &headers).await?;
    let since = param::<i64>(&query, "since")?.unwrap_or(0).max(0);
    let limit = param::<u32>(&query, "limit")?.unwrap_or(1000);
    let store = Arc::clone(&state.store);
    let changes = tokio::task::spawn_blocking(move || store.changes_since(since, limit))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "changes task failed",
            )
        })??;
    let next = changes.last().map_or(since, |change| change.seq);
    Ok(Json(
        serde_json::json!({ "changes": changes, "next": next }),
    ))
}

async fn openapi() -> impl IntoResponse {
    Json(super::openapi::document())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::backend::local::{LocalBackend, LocalStore};

    #[tokio::test]
    async fn a_duplicate_of_a_decision_still_in_flight_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(&dir.path().join("s.db")).unwrap();
        let token = store
            .add_user("lead@example.com", "Lead", &[Role::TechnicalLead])
            .unwrap();
        let manifest =
            Manifest::from_json(include_str!("../../examples/needs-approval.json")).unwrap();
        let request = LocalBackend::new(Arc::clone(&store), None)
            .request_deployment(&manifest)
            .await
            .unwrap();
        let state = Arc::new(ServerState {
            store,
            in_flight: Mutex::new(HashSet::from(["busy-key".to_owned()])),
        });
        let decide = |key: &str| {
            Request::post(format!(
                "/v1/workflows/{}/steps/1/decision",
                request.workflow_ids[0]
            ))
            .header("authorization", format!("Bearer {token}"))
            .header("if-match", "\"1\"")
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"verdict":"approve"}"#))
            .unwrap()
        };
        let response = router(Arc::clone(&state))
            .oneshot(decide("busy-key"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let response = router(Arc::clone(&state))
            .oneshot(decide("free-key"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            state.in_flight.lock().unwrap().len() == 1,
            "a finished request releases its key"
        );
    }
}
