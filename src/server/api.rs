//! The `/v1` routes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiError, ApiResult, body, caller, header_text, on_store, param, required};
use super::params::{
    AgentSearchParams, AuditRunParams, CaseParams, ChangeParams, ConsistencyParams,
    DeploymentParams, InclusionParams, QueueFilterParams, QueuePageParams, ReviewParams,
    SnapshotPageParams, SnapshotTableParams, StandingParams, UserParams,
};
use super::{MAX_BODY, ServerState};
use crate::backend::queue::QueueScope;
use crate::backend::wire::{
    AssignBody, CheckpointBody, CountBody, DecisionBody, DraftBody, LogKeyBody, PolicySetBody,
    PolicySetDecisionBody, ProofBody, SubmitBody, ToolDecisionBody, WithdrawBody,
};
use crate::backend::{
    Decision, DeploymentQuery, Direction, GovernanceBackend, QueueCursor, QueueFilter, QueueQuery,
    QueueSort,
};
use crate::domain::bias::AuditSubmission;
use crate::domain::deployment::{DeploymentStatus, Manifest, ManifestError};
use crate::domain::{ReviewStatus, RiskTier, Role, WorkflowStatus};

type AppState = State<Arc<ServerState>>;

/// The API's documentation: paths come from the handlers' annotations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Gavel governance API", description = "The HTTP API of `gavel serve`. Webhook deliveries (`[[notify.webhook]]`) POST an `Event` as their body, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`)."),
    components(schemas(crate::backend::Event, crate::backend::EventKind)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and the OpenAPI document generated from the same handlers.
pub fn router(state: Arc<ServerState>, request_timeout: Duration) -> Router {
    let (api, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me))
        .routes(routes!(auth_config))
        .routes(routes!(queue))
        .routes(routes!(queue_count))
        .routes(routes!(workflow))
        .routes(routes!(decide))
        .routes(routes!(workflow_review, assign_review))
        .routes(routes!(my_reviews))
        .routes(routes!(review))
        .routes(routes!(save_draft))
        .routes(routes!(submit_review))
        .routes(routes!(review_template))
        .routes(routes!(search_agents))
        .routes(routes!(agent))
        .routes(routes!(audits))
        .routes(routes!(audit_standings))
        .routes(routes!(record_audit))
        .routes(routes!(verify_trail))
        .routes(routes!(deployments, request_deployment))
        .routes(routes!(check_deployment))
        .routes(routes!(deployment))
        .routes(routes!(deployment_view))
        .routes(routes!(evidence))
        .routes(routes!(delegations, delegate))
        .routes(routes!(end_delegation))
        .routes(routes!(dashboard))
        .routes(routes!(policies))
        .routes(routes!(policy_reach))
        .routes(routes!(trail))
        .routes(routes!(changes))
        .routes(routes!(snapshot))
        .routes(routes!(withdraw))
        .routes(routes!(policy_sets, propose_policy_set))
        .routes(routes!(plan_policy_set))
        .routes(routes!(policy_set))
        .routes(routes!(approve_policy_set))
        .routes(routes!(reject_policy_set))
        .routes(routes!(audit_runs, start_audit_run))
        .routes(routes!(audit_run))
        .routes(routes!(record_case_outcomes))
        .routes(routes!(audit_run_cases))
        .routes(routes!(finish_audit_run))
        .routes(routes!(users))
        .routes(routes!(tools))
        .routes(routes!(inbox))
        .routes(routes!(mark_read))
        .routes(routes!(decide_tool))
        .routes(routes!(log_public_key))
        .routes(routes!(log_checkpoint))
        .routes(routes!(log_inclusion))
        .routes(routes!(log_consistency))
        .split_for_parts();
    let document = Arc::new(document);
    api.route(
        "/v1/openapi.json",
        get(move || async move { Json(document.as_ref().clone()) }),
    )
    .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
    // Outermost of the two: errors the HTTP stack answers itself (a body
    // over the limit, a method the path does not take) get the API's JSON
    // error body too.
    // A request that takes too long, a body trickling in a byte at a time
    // included, is answered 408 and its connection freed.
    .layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        request_timeout,
    ))
    // Inside the JSON-error layer: a body over the limit declared by its
    // Content-Length is refused here, before the application, and still
    // gets the API's JSON error body.
    .layer(RequestBodyLimitLayer::new(MAX_BODY))
    .layer(axum::middleware::map_response(json_errors))
    // Method, path and status at info; never headers (tokens live there).
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
            .on_response(DefaultOnResponse::new().level(Level::INFO)),
    )
    .with_state(state)
}

/// Gives every error answer the API's JSON body, whoever produced it.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            format!("the request body is larger than {MAX_BODY} bytes"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not take that method".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send JSON with Content-Type: application/json".to_owned(),
        ),
        other => (
            "error",
            other
                .canonical_reason()
                .unwrap_or("the request failed")
                .to_owned(),
        ),
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

#[utoipa::path(get, path = "/v1/me", summary = "The caller and their roles", responses((status = 200, body = crate::backend::User), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn me(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.me().await?))
}

#[utoipa::path(get, path = "/v1/auth/config", summary = "How people sign in to this server: the identity provider's issuer, the client id and scopes a client asks for, and which token to send (no authentication needed)", responses((status = 200, body = crate::auth::AuthConfig), (status = 404, body = crate::backend::wire::ErrorBody)))]
async fn auth_config(State(state): AppState) -> ApiResult<impl IntoResponse> {
    match &state.sign_in {
        Some(gate) => Ok(Json(gate.settings().client_config())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this server signs no one in with an identity provider: use a Gavel token (GAVEL_TOKEN)",
        )),
    }
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

#[utoipa::path(get, path = "/v1/workflows/{id}", summary = "One workflow; the ETag is its version", params(("id" = String, Path)), responses((status = 200, body = crate::domain::Workflow), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(post, path = "/v1/workflows/{id}/steps/{step_id}/decision", summary = "Decide the current step (If-Match and Idempotency-Key headers required)", request_body = crate::backend::wire::DecisionBody, params(("id" = String, Path), ("step_id" = u32, Path, maximum = 4_294_967_295_u64), ("If-Match" = String, Header, description = "the workflow version the decision was made on (its ETag)", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"), ("Idempotency-Key" = String, Header, description = "the same key on every retry of one decision", pattern = "^[A-Za-z0-9._:-]{1,200}$")), responses((status = 200, body = crate::domain::Workflow), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 412, body = crate::backend::wire::ErrorBody), (status = 413, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody), (status = 428, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/workflows/{id}/review", summary = "The workflow's ethics review, or null", params(("id" = String, Path)), responses((status = 200, body = Option<crate::domain::EthicsReview>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn workflow_review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    backend.workflow(&id).await?;
    Ok(Json(backend.review_for_workflow(&id).await?))
}

#[utoipa::path(post, path = "/v1/workflows/{id}/review", summary = "Assign the workflow's ethics review", request_body = crate::backend::wire::AssignBody, params(("id" = String, Path)), responses((status = 201, body = crate::domain::EthicsReview), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/reviews", summary = "The caller's reviews", params(ReviewParams), responses((status = 200, body = Vec<crate::backend::ReviewSummary>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/reviews/{id}", summary = "One review", params(("id" = String, Path)), responses((status = 200, body = crate::domain::EthicsReview), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn review(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.review(&id).await?))
}

#[utoipa::path(put, path = "/v1/reviews/{id}/draft", summary = "Save a draft", request_body = crate::backend::wire::DraftBody, params(("id" = String, Path)), responses((status = 200, body = crate::domain::EthicsReview), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(post, path = "/v1/reviews/{id}/submit", summary = "Submit a review; it is immutable afterwards", request_body = crate::backend::wire::SubmitBody, params(("id" = String, Path)), responses((status = 200, body = crate::domain::EthicsReview), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/review-templates/{id}", summary = "A review template", params(("id" = String, Path)), responses((status = 200, body = crate::domain::ReviewTemplate), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn review_template(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers).await?.review_template(&id).await?,
    ))
}

#[utoipa::path(get, path = "/v1/agents", summary = "Agents whose name, id or team contains the search text", params(AgentSearchParams), responses((status = 200, body = Vec<crate::backend::AgentSummary>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/agents/{id}", summary = "One agent", params(("id" = String, Path)), responses((status = 200, body = crate::domain::Agent), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn agent(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.agent(&id).await?))
}

#[utoipa::path(get, path = "/v1/agents/{id}/audits", summary = "An agent's bias audits, latest first", params(("id" = String, Path)), responses((status = 200, body = Vec<crate::domain::BiasAudit>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn audits(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.audits(&id).await?))
}

#[utoipa::path(post, path = "/v1/audits", summary = "Record a bias audit from group counts", request_body = crate::domain::bias::AuditSubmission, responses((status = 201, body = crate::domain::BiasAudit), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/audits/standings", summary = "Every agent's standing with the bias audits its policies require, most urgent first", params(StandingParams), responses((status = 200, body = Vec<crate::domain::bias::standing::AuditStanding>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn audit_standings(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let hours: u32 = param(&query, "within_hours")?.unwrap_or(24 * 30);
    // Beyond what a duration holds, every expiry is within the window.
    let within = chrono::TimeDelta::try_hours(i64::from(hours)).unwrap_or(chrono::TimeDelta::MAX);
    Ok(Json(backend.audit_standings(within).await?))
}

#[utoipa::path(get, path = "/v1/audits/verify", summary = "Check the audit trail's hash chain", responses((status = 200, body = crate::backend::local::trail::VerifyReport), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn verify_trail(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.verify_trail().await?))
}

#[utoipa::path(post, path = "/v1/workflows/{id}/withdraw", summary = "Withdraw the request a workflow belongs to (its requester, or a compliance officer with a reason)", request_body = crate::backend::wire::WithdrawBody, params(("id" = String, Path)), responses((status = 200, body = crate::domain::Workflow), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn withdraw(
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

#[utoipa::path(get, path = "/v1/audit-runs", summary = "Audit runs, newest first (one agent's with agent_id)", params(AuditRunParams), responses((status = 200, body = Vec<crate::backend::AuditRun>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn audit_runs(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let agent = query.get("agent_id").filter(|agent| !agent.is_empty());
    Ok(Json(backend.audit_runs(agent.map(String::as_str)).await?))
}

#[utoipa::path(post, path = "/v1/audit-runs", summary = "Start a run of the agent over a case file (who may record audits); the caller is who ran it", request_body = crate::backend::AuditRunStart, responses((status = 201, body = crate::backend::AuditRun), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn start_audit_run(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::backend::AuditRunStart = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.start_audit_run(&request).await?),
    ))
}

#[utoipa::path(get, path = "/v1/audit-runs/{run_id}", summary = "One audit run with its settings and counts so far", params(("run_id" = String, Path)), responses((status = 200, body = crate::backend::AuditRun), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn audit_run(
    State(state): AppState,
    headers: HeaderMap,
    Path(run_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers).await?.audit_run(&run_id).await?,
    ))
}

#[utoipa::path(post, path = "/v1/audit-runs/{run_id}/outcomes", summary = "Record case outcomes of a run (its starter; at most 1000; a case recorded before keeps its first outcome)", request_body = crate::backend::wire::OutcomesBody, params(("run_id" = String, Path)), responses((status = 200, body = crate::backend::RecordedOutcomes), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn record_case_outcomes(
    State(state): AppState,
    headers: HeaderMap,
    Path(run_id): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::backend::wire::OutcomesBody = body(&bytes)?;
    Ok(Json(
        backend
            .record_case_outcomes(&run_id, &request.outcomes)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/audit-runs/{run_id}/cases", summary = "A page of a run's case evidence, by case id", params(("run_id" = String, Path), CaseParams), responses((status = 200, body = crate::backend::CasePage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn audit_run_cases(
    State(state): AppState,
    headers: HeaderMap,
    Path(run_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let query = crate::backend::CaseQuery {
        group: query.get("group").filter(|g| !g.is_empty()).cloned(),
        outcome: param::<crate::backend::CaseOutcomeKind>(&query, "outcome")?,
        after: query.get("after").filter(|a| !a.is_empty()).cloned(),
        limit: param::<u32>(&query, "limit")?.unwrap_or(100),
    };
    Ok(Json(backend.audit_run_cases(&run_id, &query).await?))
}

#[utoipa::path(post, path = "/v1/audit-runs/{run_id}/finish", summary = "Turn a run whose every case has an outcome into the agent version's audit (its starter, who may record audits)", params(("run_id" = String, Path)), responses((status = 201, body = crate::domain::BiasAudit), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn finish_audit_run(
    State(state): AppState,
    headers: HeaderMap,
    Path(run_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok((
        StatusCode::CREATED,
        Json(backend.finish_audit_run(&run_id).await?),
    ))
}

#[utoipa::path(get, path = "/v1/policy-sets", summary = "Every policy set version, newest first", responses((status = 200, body = Vec<crate::backend::PolicySetVersion>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn policy_sets(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.policy_sets().await?))
}

#[utoipa::path(post, path = "/v1/policy-sets", summary = "Propose a policy set (policy admins): recorded as a new, immutable version with its plan", request_body = crate::backend::wire::PolicySetBody, responses((status = 201, body = crate::backend::PolicySetDetail), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn propose_policy_set(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: PolicySetBody = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(backend.propose_policy_set(&request.source).await?),
    ))
}

#[utoipa::path(post, path = "/v1/policy-sets/plan", summary = "What a policy set would change against the active one; records nothing", request_body = crate::backend::wire::PolicySetBody, responses((status = 200, body = Object), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn plan_policy_set(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: PolicySetBody = body(&bytes)?;
    Ok(Json(backend.plan_policy_set(&request.source).await?))
}

#[utoipa::path(get, path = "/v1/policy-sets/{version}", summary = "One policy set version with its TOML and plan (`active` for the active one)", params(("version" = String, Path, pattern = "^(active|[0-9]{1,18})$")), responses((status = 200, body = crate::backend::PolicySetDetail), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn policy_set(
    State(state): AppState,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let version = set_version(&version)?;
    Ok(Json(backend.policy_set(version).await?))
}

fn set_version(text: &str) -> ApiResult<Option<i64>> {
    if text == "active" {
        return Ok(None);
    }
    text.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "policy set version {text:?} is not a number or `active`"
        ))
    })
}

#[utoipa::path(post, path = "/v1/policy-sets/{version}/approve", summary = "Approve a proposed version, making it active (a policy admin who did not propose it)", request_body = crate::backend::wire::PolicySetDecisionBody, params(("version" = String, Path, pattern = "^[0-9]{1,18}$")), responses((status = 200, body = crate::backend::PolicySetDetail), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn approve_policy_set(
    State(state): AppState,
    headers: HeaderMap,
    Path(version): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    decide_set(state, headers, &version, true, bytes).await
}

#[utoipa::path(post, path = "/v1/policy-sets/{version}/reject", summary = "Reject a proposed version, saying why (a policy admin who did not propose it)", request_body = crate::backend::wire::PolicySetDecisionBody, params(("version" = String, Path, pattern = "^[0-9]{1,18}$")), responses((status = 200, body = crate::backend::PolicySetDetail), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn reject_policy_set(
    State(state): AppState,
    headers: HeaderMap,
    Path(version): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    decide_set(state, headers, &version, false, bytes).await
}

async fn decide_set(
    state: Arc<ServerState>,
    headers: HeaderMap,
    version: &str,
    approve: bool,
    bytes: Bytes,
) -> ApiResult<Json<crate::backend::PolicySetDetail>> {
    let version = set_version(version)?
        .ok_or_else(|| ApiError::bad_request("name the version to decide, not `active`"))?;
    let backend = caller(&state, &headers).await?;
    let request: PolicySetDecisionBody = if bytes.is_empty() {
        PolicySetDecisionBody { comment: None }
    } else {
        body(&bytes)?
    };
    Ok(Json(
        backend
            .decide_policy_set(version, approve, request.comment.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/users", summary = "The people who may act; with role, those holding it", params(UserParams), responses((status = 200, body = Vec<crate::backend::User>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn users(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(backend.users(param::<Role>(&query, "role")?).await?))
}

#[utoipa::path(get, path = "/v1/tools", summary = "External tools with an approval decision on record", responses((status = 200, body = Vec<crate::backend::ToolRecord>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn tools(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.tools().await?))
}

#[utoipa::path(get, path = "/v1/inbox", summary = "What concerns the caller, newest first: items that entered their queue, reviews assigned to them, decisions on their requests", responses((status = 200, body = Vec<crate::backend::InboxItem>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn inbox(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.inbox().await?))
}

#[utoipa::path(post, path = "/v1/inbox/read", summary = "Mark inbox items read", request_body = crate::backend::wire::InboxReadBody, responses((status = 200, body = Object), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn mark_read(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::backend::wire::InboxReadBody = body(&bytes)?;
    let marked = backend.mark_read(&request.event_ids).await?;
    Ok(Json(serde_json::json!({ "read": marked })))
}

#[utoipa::path(put, path = "/v1/tools/{name}", summary = "Approve or reject an external tool (data stewards and compliance officers)", request_body = crate::backend::wire::ToolDecisionBody, params(("name" = String, Path)), responses((status = 200, body = crate::backend::ToolRecord), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn decide_tool(
    State(state): AppState,
    headers: HeaderMap,
    Path(name): Path<String>,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: ToolDecisionBody = body(&bytes)?;
    Ok(Json(
        backend
            .decide_tool(&name, request.status, &request.comment)
            .await?,
    ))
}

fn log_key(state: &ServerState) -> ApiResult<Arc<crate::backend::local::logkey::LogKey>> {
    state.log_key.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_log_key",
            "this server has no log key loaded",
        )
    })
}

#[utoipa::path(get, path = "/v1/log/key", summary = "The log's public key (signed-note verifier key) to pin", responses((status = 200, body = crate::backend::wire::LogKeyBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn log_public_key(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    caller(&state, &headers).await?;
    Ok(Json(LogKeyBody {
        key: log_key(&state)?.verifier_key.clone(),
    }))
}

#[utoipa::path(get, path = "/v1/log/checkpoint", summary = "A signed checkpoint (C2SP tlog-checkpoint) of the log as it is now", responses((status = 200, body = crate::backend::wire::CheckpointBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn log_checkpoint(
    State(state): AppState,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    caller(&state, &headers).await?;
    let key = log_key(&state)?;
    let checkpoint = on_store(&state.store, move |store| {
        store.write(|tx| {
            crate::backend::local::logkey::sign_checkpoint(tx, &key, chrono::Utc::now())
        })
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
async fn log_inclusion(
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
async fn log_consistency(
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

fn manifest(bytes: &[u8]) -> ApiResult<Manifest> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("the manifest is not UTF-8"))?;
    Manifest::from_json(text).map_err(|err| match err {
        ManifestError::Rule { .. } => ApiError::invalid(err.to_string()),
        ManifestError::TooLarge(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            err.to_string(),
        ),
        ManifestError::Invalid { .. } => ApiError::bad_request(err.to_string()),
    })
}

#[utoipa::path(post, path = "/v1/deployments/check", summary = "What the policies say about a manifest, recording nothing", request_body = crate::domain::deployment::ManifestFields, responses((status = 200, body = crate::domain::Evaluation), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn check_deployment(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    Ok(Json(backend.check_deployment(&manifest(&bytes)?).await?))
}

#[utoipa::path(post, path = "/v1/deployments", summary = "Record a deployment request and open its workflows", request_body = crate::domain::deployment::ManifestFields, responses((status = 201, body = crate::domain::DeploymentRequest), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/deployments/{id}", summary = "One deployment request", params(("id" = String, Path)), responses((status = 200, body = crate::domain::DeploymentRequest), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn deployment(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.deployment(&id).await?))
}

#[utoipa::path(get, path = "/v1/deployments/{id}/view", summary = "A deployment with its workflows and what it changes against the version running now", params(("id" = String, Path)), responses((status = 200, body = crate::backend::DeploymentView), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn deployment_view(
    State(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        caller(&state, &headers).await?.deployment_view(&id).await?,
    ))
}

#[utoipa::path(get, path = "/v1/delegations", summary = "The delegations the caller gave or received", params(crate::server::params::DelegationParams), responses((status = 200, body = Vec<crate::domain::delegation::Delegation>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn delegations(
    State(state): AppState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let ended = param::<bool>(&query, "ended")?.unwrap_or(false);
    Ok(Json(backend.delegations(ended).await?))
}

#[utoipa::path(post, path = "/v1/delegations", summary = "Let someone already holding the role decide the caller's steps, and receive their notifications, for a time", request_body = crate::domain::delegation::NewDelegation, responses((status = 201, body = crate::domain::delegation::Delegation), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn delegate(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::domain::delegation::NewDelegation = body(&bytes)?;
    Ok((StatusCode::CREATED, Json(backend.delegate(&request).await?)))
}

#[utoipa::path(post, path = "/v1/delegations/end", summary = "End one of the caller's delegations now, or every one they gave", request_body = crate::backend::wire::EndDelegationBody, responses((status = 200, body = Vec<crate::domain::delegation::Delegation>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 409, body = crate::backend::wire::ErrorBody), (status = 422, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn end_delegation(
    State(state): AppState,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let backend = caller(&state, &headers).await?;
    let request: crate::backend::wire::EndDelegationBody = body(&bytes)?;
    Ok(Json(
        backend
            .end_delegation(request.delegation_id.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/agents/{id}/evidence", summary = "An agent's evidence pack, a zip signed under the log's key (compliance officers); `gavel evidence verify` checks it offline", params(("id" = String, Path), crate::server::params::EvidenceParams), responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody), (status = 503, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn evidence(
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

#[utoipa::path(get, path = "/v1/deployments", summary = "Deployments, newest first, by cursor", params(DeploymentParams), responses((status = 200, body = crate::backend::DeploymentPage), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/dashboard", summary = "The blocked-deployments figures", responses((status = 200, body = crate::backend::Dashboard), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn dashboard(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.dashboard().await?))
}

#[utoipa::path(get, path = "/v1/policies", summary = "Every policy", responses((status = 200, body = Vec<crate::domain::Policy>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn policies(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.policies().await?))
}

#[utoipa::path(get, path = "/v1/policies/reach", summary = "How many agents each policy triggers on", responses((status = 200, body = Vec<crate::backend::NamedCount>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn policy_reach(State(state): AppState, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    Ok(Json(caller(&state, &headers).await?.policy_reach().await?))
}

#[utoipa::path(get, path = "/v1/trail/{entity_type}/{entity_id}", summary = "One entity's audit trail, oldest first", params(("entity_type" = String, Path), ("entity_id" = String, Path)), responses((status = 200, body = Vec<crate::domain::TrailEvent>), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/changes", summary = "Entity changes after a monotonic cursor, for sync", params(ChangeParams), responses((status = 200, body = crate::backend::local::feed::ChangePage), (status = 410, body = crate::backend::wire::ErrorBody), (status = 400, body = crate::backend::wire::ErrorBody), (status = 401, body = crate::backend::wire::ErrorBody), (status = 403, body = crate::backend::wire::ErrorBody), (status = 404, body = crate::backend::wire::ErrorBody)), security(("bearer" = [])))]
async fn changes(
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
async fn snapshot(
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::backend::local::{LocalBackend, LocalStore};

    /// An error answer with the API's JSON body and content type.
    async fn assert_json_error(response: Response, code: &str) {
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok()),
            Some("application/json")
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: crate::backend::wire::ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body.error, code);
        assert!(!body.message.is_empty());
    }

    #[tokio::test]
    async fn a_duplicate_of_a_decision_still_in_flight_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(&dir.path().join("s.db")).unwrap();
        let token = store
            .add_user("lead@example.com", "Lead", &[Role::TechnicalLead])
            .unwrap();
        let manifest =
            Manifest::from_json(include_str!("../../examples/needs-approval.json")).unwrap();
        store.add_user(&manifest.agent.owner, "Owner", &[]).unwrap();
        let request = LocalBackend::new(Arc::clone(&store), Some(manifest.agent.owner.clone()))
            .request_deployment(&manifest)
            .await
            .unwrap();
        let state = Arc::new(ServerState {
            store,
            in_flight: Mutex::new(HashSet::from(["busy-key".to_owned()])),
            log_key: None,
            sign_in: None,
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
        let response = router(
            Arc::clone(&state),
            crate::server::Limits::default().request_timeout,
        )
        .oneshot(decide("busy-key"))
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let mut oversized = decide("big-key");
        *oversized.body_mut() = Body::from(format!(
            r#"{{"verdict":"approve","comment":"{}"}}"#,
            "x".repeat(MAX_BODY)
        ));
        let response = router(
            Arc::clone(&state),
            crate::server::Limits::default().request_timeout,
        )
        .oneshot(oversized)
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_json_error(response, "payload_too_large").await;
        let wrong_method = Request::delete("/v1/me")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = router(
            Arc::clone(&state),
            crate::server::Limits::default().request_timeout,
        )
        .oneshot(wrong_method)
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(response.headers().contains_key(header::ALLOW));
        assert_json_error(response, "method_not_allowed").await;
        let response = router(
            Arc::clone(&state),
            crate::server::Limits::default().request_timeout,
        )
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

#[cfg(test)]
mod standing_tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;
    use crate::backend::local::LocalStore;

    /// The largest window a client may ask for is every expiry, not a
    /// duration out of range.
    #[tokio::test]
    async fn standings_take_any_window_a_client_may_send() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(&dir.path().join("s.db")).unwrap();
        let token = store
            .add_user("ml@example.com", "ML", &[crate::domain::Role::MlEngineer])
            .unwrap();
        let state = Arc::new(ServerState {
            store,
            in_flight: Mutex::new(HashSet::new()),
            log_key: None,
            sign_in: None,
        });
        for hours in ["0", "720", "4294967295"] {
            let response = router(
                Arc::clone(&state),
                crate::server::Limits::default().request_timeout,
            )
            .oneshot(
                Request::get(format!("/v1/audits/standings?within_hours={hours}"))
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "within_hours={hours}");
        }
    }
}

#[cfg(test)]
mod openapi_tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::{Method, Request};
    use tower::ServiceExt;

    use super::*;
    use crate::backend::local::LocalStore;

    /// Every documented operation is served, and nothing served is missing
    /// from the document (the fallback answers only unknown paths).
    #[tokio::test]
    async fn the_document_and_the_routes_agree() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(&dir.path().join("s.db")).unwrap();
        let state = Arc::new(ServerState {
            store,
            in_flight: Mutex::new(HashSet::new()),
            log_key: None,
            sign_in: None,
        });
        let app = router(state, crate::server::Limits::default().request_timeout);
        let response = app
            .clone()
            .oneshot(
                Request::get("/v1/openapi.json")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let paths = document["paths"].as_object().expect("paths");
        assert!(paths.len() >= 24, "{}", paths.len());
        assert!(
            document["components"]["schemas"]["Workflow"].is_object(),
            "schemas are generated from the types"
        );
        assert!(document["components"]["securitySchemes"]["bearer"].is_object());
        // The webhook payload is documented beside the routes.
        let event = &document["components"]["schemas"]["Event"]["properties"];
        assert!(
            event["type"].is_object() && event["data"].is_object(),
            "{event}"
        );
        // The requester is the caller: the manifest's field says it is
        // deprecated, and so does the audit's threshold.
        let manifest = &document["components"]["schemas"]["Manifest"]["properties"];
        assert_eq!(manifest["requested_by"]["deprecated"], true, "{manifest}");
        assert_eq!(manifest["tools_approved"]["deprecated"], true, "{manifest}");
        let audit = &document["components"]["schemas"]["AuditSubmission"]["properties"];
        assert_eq!(audit["threshold"]["deprecated"], true, "{audit}");
        for (path, operations) in paths {
            for (method, operation) in operations.as_object().expect("operations") {
                assert!(
                    operation["responses"]
                        .as_object()
                        .is_some_and(|r| r.keys().any(|k| k.starts_with('2'))),
                    "{method} {path}"
                );
                let concrete = path
                    .split('/')
                    .map(|part| if part.starts_with('{') { "x" } else { part })
                    .collect::<Vec<_>>()
                    .join("/");
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let request = Request::builder()
                    .method(method.clone())
                    .uri(&concrete)
                    .body(Body::empty())
                    .unwrap();
                let response = app.clone().oneshot(request).await.unwrap();
                if concrete == "/v1/auth/config" {
                    // Needs no authentication: this server has no provider.
                    assert_eq!(response.status(), StatusCode::NOT_FOUND);
                    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                        .await
                        .unwrap();
                    let text = String::from_utf8_lossy(&body);
                    assert!(text.contains("identity provider"), "{text}");
                    continue;
                }
                // Unauthenticated: a served route says 401 (or 400 for a bad path value).
                assert!(
                    matches!(
                        response.status(),
                        StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST
                    ),
                    "{method} {concrete} answered {}",
                    response.status()
                );
            }
        }
    }
}
