//! A real `gavel serve` while hostile policy sets are planned and proposed:
//! conditions past the static limits are refused at once, naming the
//! policy and the limit, and the server keeps answering everyone else.
//! (Runs alone: `.config/nextest.toml`.)

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::Server;
use gavel::backend::local::LocalStore;
use gavel::domain::Role;

/// The set that froze the server: three comprehensions deep over a
/// 45-element list.
fn hostile_set() -> String {
    let list: Vec<String> = (0..45).map(|n| n.to_string()).collect();
    let list = format!("[{}]", list.join(", "));
    format!(
        "{}\n[[policy]]\npolicy_id = \"hostile\"\nname = \"Hostile\"\ndescription = \"Costs what it can.\"\ncondition = '{list}.all(x, {list}.all(y, {list}.all(z, true)))'\naction = \"block\"\n",
        gavel::domain::policy::set::BUILTIN_SET
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_plans_are_refused_at_once_and_the_server_keeps_answering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("served.db");
    let (admin, nobody) = {
        let store = LocalStore::open(&db).expect("store");
        (
            store
                .add_user("admin@example.com", "Admin", &[Role::PolicyAdmin])
                .expect("admin"),
            store
                .add_user("nobody@example.com", "Nobody", &[])
                .expect("nobody"),
        )
    };
    let server = Server::start(&db);
    let http = reqwest::Client::new();
    let body = serde_json::json!({ "source": hostile_set() });

    // Planning and proposing are for policy admins.
    for route in ["policy-sets/plan", "policy-sets"] {
        let answer = http
            .post(format!("{}/v1/{route}", server.url))
            .bearer_auth(&nobody)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(
            answer.status().as_u16(),
            403,
            "{route} by someone with no role"
        );
    }

    // Two hostile plans and two hostile proposals at once, while someone
    // else asks who they are twenty times.
    let hostile = |route: &'static str| {
        let (http, url, token, body) = (
            http.clone(),
            server.url.clone(),
            admin.clone(),
            body.clone(),
        );
        tokio::spawn(async move {
            let started = Instant::now();
            let answer = http
                .post(format!("{url}/v1/{route}"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("send");
            let status = answer.status().as_u16();
            let text = answer.text().await.expect("body");
            (status, text, started.elapsed())
        })
    };
    let attacks = [
        hostile("policy-sets/plan"),
        hostile("policy-sets/plan"),
        hostile("policy-sets"),
        hostile("policy-sets"),
    ];
    let reader = Arc::new(nobody);
    let mut waits = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let me = http
            .get(format!("{}/v1/me", server.url))
            .bearer_auth(reader.as_str())
            .send()
            .await
            .expect("me");
        assert!(me.status().is_success());
        waits.push(started.elapsed());
    }
    waits.sort();
    let p99 = waits[waits.len() - 1];
    assert!(
        p99 < Duration::from_secs(1),
        "GET /v1/me waited {p99:?} while hostile sets were checked"
    );
    for attack in attacks {
        let (status, text, took) = attack.await.expect("attack");
        assert_eq!(status, 422, "{text}");
        assert!(
            text.contains("policy hostile") && text.contains("comprehensions"),
            "the answer names the policy and the limit: {text}"
        );
        assert!(took < Duration::from_secs(5), "refused after {took:?}");
    }
}
