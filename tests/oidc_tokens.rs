//! The token checks of `gavel serve` against a fake identity provider on
//! loopback, for the faults a real provider will not produce on request:
//! tokens signed by another key, expired, not yet valid, for another
//! audience or issuer, `alg: none`, an algorithm other than the key's, an
//! unknown key id, keys rotated while the server runs, a provider away;
//! and a device flow asked to slow down or whose code expires.
//! (Signing in end to end is `tests/oidc_sign_in.rs`, with a real provider.)

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::routing::get;
use base64::Engine;
use common::server::Server;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

struct FakeIssuer {
    url: String,
    keys: Arc<Mutex<Vec<serde_json::Value>>>,
    fetches: Arc<AtomicUsize>,
}

fn key_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/oidc/keys/{name}"))
}

fn public_jwk(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(key_file(&format!("{name}.jwk.json"))).expect("jwk");
    serde_json::from_str(&text).expect("jwk json")
}

impl FakeIssuer {
    /// Publishes the keys named (files in tests/oidc/keys).
    async fn start(published: &[&str]) -> FakeIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let keys = Arc::new(Mutex::new(
            published
                .iter()
                .map(|name| public_jwk(name))
                .collect::<Vec<_>>(),
        ));
        let fetches = Arc::new(AtomicUsize::new(0));
        let discovery = serde_json::json!({ "issuer": url, "jwks_uri": format!("{url}/jwks") });
        let (served_keys, counted) = (Arc::clone(&keys), Arc::clone(&fetches));
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route(
                "/jwks",
                get(move || async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let keys = served_keys.lock().expect("keys").clone();
                    Json(serde_json::json!({ "keys": keys }))
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeIssuer { url, keys, fetches }
    }

    fn publish(&self, names: &[&str]) {
        *self.keys.lock().expect("keys") = names.iter().map(|name| public_jwk(name)).collect();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Claims a good token for this issuer carries, with `changes` merged.
    fn claims(&self, changes: serde_json::Value) -> serde_json::Value {
        let now = chrono::Utc::now().timestamp();
        let mut claims = serde_json::json!({
            "iss": self.url,
            "aud": "gavel",
            "sub": "alice-subject",
            "email": "alice@example.com",
            "name": "Alice",
            "groups": ["gavel-compliance"],
            "iat": now,
            "exp": now + 300,
        });
        if let (Some(claims), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
            for (name, value) in changes {
                if value.is_null() {
                    claims.remove(name);
                } else {
                    claims.insert(name.clone(), value.clone());
                }
            }
        }
        claims
    }
}

/// A token signed with the named key, its header naming `kid`.
fn sign(key: &str, kid: Option<&str>, claims: &serde_json::Value) -> String {
    let der = std::fs::read(key_file(&format!("{key}.der"))).expect("key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_rsa_der(&der);
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn serve(dir: &Path, issuer: &str) -> Server {
    let db = dir.join("served.db");
    if !db.exists() {
        common::gavel(&db)
            .args(["store", "init"])
            .assert()
            .success();
    }
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[auth.oidc]\nissuer = \"{issuer}\"\nclient_id = \"gavel-cli\"\naudience = \"gavel\"\n[auth.oidc.roles]\n\"gavel-compliance\" = [\"compliance_officer\"]\n"
        ),
    )
    .expect("config");
    Server::start_with_config(&db, &config)
}

/// `GET /v1/me` with the token: the status and the answer's JSON.
async fn me(server: &Server, token: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!(
            "{}v1/me",
            server.url.trim_end_matches('/').to_owned() + "/"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn accepted(server: &Server, token: &str) {
    let (status, body) = me(server, token).await;
    assert_eq!(status, 200, "{body}");
}

async fn refused(server: &Server, token: &str, reason: &str) {
    let (status, body) = me(server, token).await;
    assert_eq!(status, 401, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(reason),
        "expected {reason:?} in {message:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_the_provider_did_not_sign_for_gavel_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer = FakeIssuer::start(&["provider-a"]).await;
    let server = serve(dir.path(), &issuer.url);
    let kid = Some("provider-a");

    let good = sign("provider-a", kid, &issuer.claims(serde_json::json!({})));
    let (status, user) = me(&server, &good).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["roles"], serde_json::json!(["compliance_officer"]));
    assert_eq!(user["identity"]["subject"], "alice-subject");
    assert_eq!(user["identity"]["issuer"], issuer.url.as_str());

    let now = chrono::Utc::now().timestamp();
    let forged = sign("attacker", kid, &issuer.claims(serde_json::json!({})));
    refused(&server, &forged, "signature does not verify").await;
    let expired = issuer.claims(serde_json::json!({ "iat": now - 600, "exp": now - 120 }));
    refused(&server, &sign("provider-a", kid, &expired), "expired").await;
    // A clock a little behind the provider's is allowed for.
    let just_expired = issuer.claims(serde_json::json!({ "exp": now - 20 }));
    assert_eq!(
        me(&server, &sign("provider-a", kid, &just_expired)).await.0,
        200
    );
    let early = issuer.claims(serde_json::json!({ "nbf": now + 600 }));
    refused(&server, &sign("provider-a", kid, &early), "not valid yet").await;
    let elsewhere = issuer.claims(serde_json::json!({ "aud": "another-api" }));
    refused(
        &server,
        &sign("provider-a", kid, &elsewhere),
        "another audience",
    )
    .await;
    let other_issuer = issuer.claims(serde_json::json!({ "iss": "https://evil.example.com" }));
    refused(
        &server,
        &sign("provider-a", kid, &other_issuer),
        "another provider",
    )
    .await;
    let nobody = issuer.claims(serde_json::json!({ "sub": null }));
    refused(&server, &sign("provider-a", kid, &nobody), "no sub claim").await;

    // `alg: none`, unsigned.
    let header = base64url(br#"{"alg":"none","typ":"JWT","kid":"provider-a"}"#);
    let payload = base64url(issuer.claims(serde_json::json!({})).to_string().as_bytes());
    refused(
        &server,
        &format!("{header}.{payload}."),
        "`alg: none` never is",
    )
    .await;
    // HS256 "signed" with the provider's public key as the secret: the
    // algorithm comes from the key, never from the token.
    let public = public_jwk("provider-a");
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("provider-a".into());
    let confused = jsonwebtoken::encode(
        &hs,
        &issuer.claims(serde_json::json!({})),
        &EncodingKey::from_secret(public["n"].as_str().unwrap_or_default().as_bytes())
            .expect("a secret"),
    )
    .expect("sign");
    refused(&server, &confused, "its key is for RS256").await;

    assert_eq!(
        issuer.fetches(),
        1,
        "the provider's keys are fetched once, not per request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotated_while_the_server_runs_are_fetched_and_unknown_keys_cost_one_fetch_a_minute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer = FakeIssuer::start(&["provider-a"]).await;
    let server = serve(dir.path(), &issuer.url);
    let claims = issuer.claims(serde_json::json!({}));

    accepted(&server, &sign("provider-a", Some("provider-a"), &claims)).await;
    assert_eq!(issuer.fetches(), 1);
    // The provider rotates to a new key: a token with its id sends the
    // server back for the keys, once.
    issuer.publish(&["provider-a", "provider-b"]);
    accepted(&server, &sign("provider-b", Some("provider-b"), &claims)).await;
    assert_eq!(issuer.fetches(), 2);
    accepted(&server, &sign("provider-b", Some("provider-b"), &claims)).await;
    assert_eq!(issuer.fetches(), 2, "a known key needs no fetch");
    // Forged key ids within the minute are refused without asking again.
    for kid in ["forged-1", "forged-2", "forged-3"] {
        refused(
            &server,
            &sign("attacker", Some(kid), &claims),
            "does not publish",
        )
        .await;
    }
    assert_eq!(
        issuer.fetches(),
        2,
        "unknown key ids cost one fetch a minute"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_asked_for_once_then_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer = FakeIssuer::start(&["provider-a"]).await;
    let server = serve(dir.path(), &issuer.url);
    let claims = issuer.claims(serde_json::json!({}));
    accepted(&server, &sign("provider-a", Some("provider-a"), &claims)).await;
    refused(
        &server,
        &sign("attacker", Some("attacker"), &claims),
        "does not publish",
    )
    .await;
    assert_eq!(
        issuer.fetches(),
        2,
        "the unknown key sent the server back once"
    );
    refused(
        &server,
        &sign("attacker", Some("attacker"), &claims),
        "does not publish",
    )
    .await;
    assert_eq!(issuer.fetches(), 2, "and not again within the minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_cannot_be_reached_is_a_503_not_a_refusal() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let server = serve(dir.path(), &url);
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({ "iss": url, "aud": "gavel", "sub": "s", "exp": now + 300 });
    let (status, body) = me(&server, &sign("provider-a", Some("provider-a"), &claims)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_provider_gavel_tokens_are_for_service_accounts_and_carry_no_roles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer = FakeIssuer::start(&["provider-a"]).await;
    let db = dir.path().join("served.db");
    let token_of = |args: &[&str]| {
        let output = common::gavel(&db).args(args).output().expect("users add");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let ci = token_of(&[
        "users",
        "add",
        "ci@example.com",
        "--service",
        "--roles",
        "technical_lead",
    ]);
    let person = token_of(&[
        "users",
        "add",
        "carol@example.com",
        "--roles",
        "technical_lead",
    ]);
    let server = serve(dir.path(), &issuer.url);
    let (status, user) = me(&server, &ci).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        user["roles"],
        serde_json::json!([]),
        "no human roles on a Gavel token"
    );
    assert_eq!(user["service"], true);
    refused(
        &server,
        &person,
        "people sign in with the identity provider",
    )
    .await;
}

/// A device-flow provider that answers polls from a script: what the
/// real provider does not do on request (ask to slow down, let the code
/// expire at once).
async fn scripted_device_provider(
    answers: Vec<(u16, serde_json::Value)>,
) -> (String, Arc<Mutex<Vec<std::time::Instant>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let polls = Arc::new(Mutex::new(Vec::new()));
    let discovery = serde_json::json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/auth"),
        "token_endpoint": format!("{url}/token"),
        "device_authorization_endpoint": format!("{url}/device/auth"),
        "jwks_uri": format!("{url}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let script = Arc::new(Mutex::new(answers.into_iter()));
    let seen = Arc::clone(&polls);
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route(
            "/jwks",
            get(|| async { Json(serde_json::json!({ "keys": [public_jwk("provider-a")] })) }),
        )
        .route(
            "/device/auth",
            axum::routing::post(|| async {
                Json(serde_json::json!({
                    "device_code": "device-code",
                    "user_code": "ABCD-EFGH",
                    "verification_uri": "http://127.0.0.1/device",
                    "expires_in": 600,
                    "interval": 1,
                }))
            }),
        )
        .route(
            "/token",
            axum::routing::post(move || async move {
                seen.lock().expect("polls").push(std::time::Instant::now());
                let (status, body) = script
                    .lock()
                    .expect("script")
                    .next()
                    .unwrap_or((400, serde_json::json!({ "error": "expired_token" })));
                (
                    axum::http::StatusCode::from_u16(status).expect("status"),
                    Json(body),
                )
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, polls)
}

fn device_config(issuer: &str) -> gavel::auth::AuthConfig {
    gavel::auth::AuthConfig {
        issuer: issuer.to_owned(),
        client_id: "gavel-cli".into(),
        scopes: vec!["openid".into()],
        bearer: gavel::auth::Bearer::AccessToken,
        resource: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_flow_slows_down_when_asked_and_says_when_the_code_expired() {
    use gavel::auth::http_client::ProviderClient;
    use gavel::auth::login::{LoginError, device_login};
    let http = ProviderClient::new().expect("client");
    let now = chrono::Utc::now().timestamp();
    let token = sign(
        "provider-a",
        Some("provider-a"),
        &serde_json::json!({ "sub": "dev", "aud": "gavel", "exp": now + 300 }),
    );
    let (issuer, polls) = scripted_device_provider(vec![
        (400, serde_json::json!({ "error": "slow_down" })),
        (400, serde_json::json!({ "error": "authorization_pending" })),
        (
            200,
            serde_json::json!({ "access_token": token, "token_type": "Bearer", "expires_in": 300 }),
        ),
    ])
    .await;
    let session = device_login(
        "http://127.0.0.1:1/",
        &device_config(&issuer),
        &http,
        |_| {},
    )
    .await
    .expect("signed in after slowing down");
    assert_eq!(session.subject, "dev");
    let polls = polls.lock().expect("polls").clone();
    assert_eq!(polls.len(), 3);
    // The interval was 1 s; `slow_down` adds 5 s to it for every later poll.
    assert!(polls[1] - polls[0] >= std::time::Duration::from_secs(6));
    assert!(polls[2] - polls[1] >= std::time::Duration::from_secs(6));

    let (issuer, _) =
        scripted_device_provider(vec![(400, serde_json::json!({ "error": "expired_token" }))])
            .await;
    let expired = device_login(
        "http://127.0.0.1:1/",
        &device_config(&issuer),
        &http,
        |_| {},
    )
    .await;
    assert!(
        matches!(&expired, Err(LoginError::Expired(message)) if message.contains("expired")),
        "{expired:?}"
    );
}
