//! The client's retries against a flaky server written here: capped backoff,
//! Retry-After honoured, one idempotency key for every attempt.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::{Decision, GovernanceBackend};
use gavel::domain::{Role, Verdict};

#[derive(Default)]
struct Seen {
    me_calls: u32,
    keys: Vec<String>,
}

async fn flaky_server() -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let me_seen = Arc::clone(&seen);
    let decide_seen = Arc::clone(&seen);
    let app = Router::new()
        .route(
            "/v1/me",
            get(move || {
                let seen = Arc::clone(&me_seen);
                async move {
                    let calls = {
                        let mut seen = seen.lock().unwrap();
                        seen.me_calls += 1;
                        seen.me_calls
                    };
                    if calls < 3 {
                        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "0")], "busy").into_response();
                    }
                    axum::Json(serde_json::json!({ "email": "a@example.com", "name": "A", "roles": ["data_steward"] })).into_response()
                }
            }),
        )
        .route(
            "/v1/workflows/{id}/steps/{step}/decision",
            post(move |headers: HeaderMap| {
                let seen = Arc::clone(&decide_seen);
                async move {
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                    let attempt = {
                        let mut seen = seen.lock().unwrap();
                        seen.keys.push(key);
                        seen.keys.len()
                    };
                    if attempt == 1 {
                        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "slow down").into_response();
                    }
                    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "error": "unavailable", "message": "still busy" }))).into_response()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

#[tokio::test]
async fn reads_are_retried_through_503s_and_decisions_keep_their_key() {
    let (url, seen) = flaky_server().await;
    let client = HttpBackend::new(&url, Token::new("gvl_t".into())).unwrap();
    let me = client.me().await.expect("the third attempt answers");
    assert_eq!(me.roles, [Role::DataSteward]);
    assert_eq!(seen.lock().unwrap().me_calls, 3);

    let decision = Decision {
        workflow_id: "wf-1".into(),
        step_id: 1,
        verdict: Verdict::Approve,
        comment: None,
        expected_version: 1,
        idempotency_key: "the-one-key".into(),
        decision_at: None,
        on_behalf_of: None,
    };
    let result = client.decide(&decision).await;
    assert!(
        matches!(result, Err(gavel::backend::BackendError::Unavailable(_))),
        "{result:?}"
    );
    let keys = seen.lock().unwrap().keys.clone();
    assert_eq!(keys.len(), 4, "capped at four attempts");
    assert!(keys.iter().all(|key| key == "the-one-key"), "{keys:?}");
}

#[tokio::test]
async fn a_dead_server_is_unavailable_not_a_hang() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = HttpBackend::new(&url, Token::new("gvl_secret_value".into())).unwrap();
    let err = client.me().await.unwrap_err().to_string();
    assert!(
        err.contains("cannot reach") && !err.contains("gvl_secret_value"),
        "{err}"
    );
}
