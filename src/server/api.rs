//! The `/v1` routes.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiError;
use super::state::{MAX_BODY, ServerState};
use super::{
    admission, attestations, audits, delegations, deployments, evidence, exceptions, health, inbox,
    incidents, log, obligations, policy_sets, reports, reviews, scim, scrape, sync, users,
    workflows,
};

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
        .routes(routes!(users::me))
        .routes(routes!(users::auth_config))
        .routes(routes!(workflows::queue))
        .routes(routes!(workflows::queue_count))
        .routes(routes!(workflows::workflow))
        .routes(routes!(workflows::decide))
        .routes(routes!(reviews::workflow_review, reviews::assign_review))
        .routes(routes!(reviews::my_reviews))
        .routes(routes!(reviews::review))
        .routes(routes!(reviews::save_draft))
        .routes(routes!(reviews::submit_review))
        .routes(routes!(reviews::review_template))
        .routes(routes!(deployments::search_agents))
        .routes(routes!(deployments::agent))
        .routes(routes!(audits::audits))
        .routes(routes!(audits::audit_standings))
        .routes(routes!(audits::record_audit))
        .routes(routes!(audits::confirm_audit_independence))
        .routes(routes!(log::verify_trail))
        .routes(routes!(
            deployments::deployments,
            deployments::request_deployment
        ))
        .routes(routes!(deployments::check_deployment))
        .routes(routes!(deployments::deployment))
        .routes(routes!(deployments::deployment_view))
        .routes(routes!(evidence::evidence))
        .routes(routes!(reports::board_report))
        .routes(routes!(reports::schedules, reports::schedule))
        .routes(routes!(reports::stop_schedule))
        .routes(routes!(attestations::attestation_key))
        .routes(routes!(attestations::attestation))
        .routes(routes!(admission::admission))
        .routes(routes!(delegations::delegations, delegations::delegate))
        .routes(routes!(delegations::end_delegation))
        .routes(routes!(obligations::obligations))
        .routes(routes!(obligations::postures))
        .routes(routes!(obligations::intake, obligations::save_intake))
        .routes(routes!(obligations::confirm))
        .routes(routes!(obligations::decide_intake_change))
        .routes(routes!(
            exceptions::exceptions,
            exceptions::request_exception
        ))
        .routes(routes!(exceptions::exception))
        .routes(routes!(exceptions::recertifications))
        .routes(routes!(exceptions::decide_exception))
        .routes(routes!(exceptions::revoke_exception))
        .routes(routes!(incidents::incidents, incidents::report_incident))
        .routes(routes!(incidents::incident))
        .routes(routes!(incidents::change_incident))
        .routes(routes!(deployments::dashboard))
        .routes(routes!(policy_sets::policies))
        .routes(routes!(policy_sets::policy_reach))
        .routes(routes!(log::trail))
        .routes(routes!(sync::changes))
        .routes(routes!(sync::snapshot))
        .routes(routes!(workflows::withdraw))
        .routes(routes!(
            policy_sets::policy_sets,
            policy_sets::propose_policy_set
        ))
        .routes(routes!(policy_sets::plan_policy_set))
        .routes(routes!(policy_sets::policy_set))
        .routes(routes!(policy_sets::approve_policy_set))
        .routes(routes!(policy_sets::reject_policy_set))
        .routes(routes!(audits::audit_runs, audits::start_audit_run))
        .routes(routes!(audits::audit_run))
        .routes(routes!(audits::record_case_outcomes))
        .routes(routes!(audits::audit_run_cases))
        .routes(routes!(audits::finish_audit_run))
        .routes(routes!(users::users))
        .routes(routes!(users::tools))
        .routes(routes!(inbox::inbox))
        .routes(routes!(inbox::mark_read))
        .routes(routes!(users::decide_tool))
        .routes(routes!(log::log_public_key))
        .routes(routes!(log::log_checkpoint))
        .routes(routes!(log::log_inclusion))
        .routes(routes!(log::log_consistency))
        .split_for_parts();
    let document = Arc::new(document);
    let mut api = api
        .nest("/scim/v2", scim::routes())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let counting = state.metrics.is_some();
    if counting {
        api = api.route("/metrics", get(scrape::metrics));
    }
    let mut api = api
        .route(
            "/v1/openapi.json",
            get(move || async move { Json(document.as_ref().clone()) }),
        )
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
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
        .layer(axum::middleware::map_response(json_errors));
    // Requests counted (unless `[server] metrics = false`) outside the error
    // bodies and the deadline: a 408 or a 413 as the caller saw it.
    if counting {
        api = api.layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            scrape::record,
        ));
    }
    api
        // A span per request: its id, method, route and (once known) the
        // acting user; status and latency at info when it is answered.
        // Never headers or bodies: tokens and drafts live there.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        // The caller's `x-request-id` (or a new one) on the request for the
        // span, and on the answer.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The span a request is served in: its id (at most 128 characters of the
/// caller's), method and route (the matched pattern, never the query), and
/// an empty `user` the authentication fills.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id: String = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(128)
        .collect();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| request.uri().path(), |path| path.as_str());
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = %route,
        user = tracing::field::Empty,
    )
}

/// Gives every error answer the API's JSON body, whoever produced it.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value.starts_with("application/json") || value.starts_with("application/scim+json")
        });
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::backend::GovernanceBackend;
    use crate::backend::local::{LocalBackend, LocalStore};
    use crate::domain::Role;
    use crate::domain::manifest::Manifest;

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
            admission: Default::default(),
            standings: Default::default(),
            notifier_alive: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            metrics: None,
            scim: None,
            scim_base: None,
            tls: false,
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
            admission: Default::default(),
            standings: Default::default(),
            notifier_alive: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            metrics: None,
            scim: None,
            scim_base: None,
            tls: false,
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
            admission: Default::default(),
            standings: Default::default(),
            notifier_alive: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            metrics: None,
            scim: None,
            scim_base: None,
            tls: false,
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
                if concrete == "/v1/admission/x" {
                    // Needs no token (the API server calls it): an unknown
                    // mode is not found, whoever asks.
                    assert_eq!(response.status(), StatusCode::NOT_FOUND);
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
