//! `gavel audit run` against a loopback agent that answers at once, beside
//! a bare reqwest loop posting the same requests at the same concurrency:
//! what the runner's classification, evidence and batched commits cost.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::report::Figure;

const CONCURRENCY: usize = 32;
const ANSWER: &str = r#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Recommended. Proceed to interview."},"finish_reason":"stop"}]}"#;

/// An agent answering every chat completion at once; its base URL.
pub async fn agent() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                ANSWER,
            )
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/v1")
}

/// Requests per second of a plain reqwest loop (post, read the answer) in
/// a process of its own, timed from outside like `gavel audit run`: both
/// pay for starting a process and for sharing the cores with the agent.
async fn bare(url: &str, n: usize) -> f64 {
    let (url, count) = (url.to_owned(), n.to_string());
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(std::env::current_exe().expect("this benchmark"))
            .args(["--bare-loop", &url, &count])
            .output()
            .expect("bare loop")
    })
    .await
    .expect("bare loop");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    n as f64 / started.elapsed().as_secs_f64()
}

/// The loop itself (`--bare-loop URL N`).
pub async fn bare_loop(url: &str, n: usize) {
    let client = reqwest::Client::new();
    let url = format!("{url}/chat/completions");
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = Arc::clone(&permits).acquire_owned().await.expect("permit");
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let body = serde_json::json!({
                "model": "bench",
                "messages": [{"role": "user", "content": format!("Case {i}: recommended or not?")}],
            });
            let answer = client.post(&url).json(&body).send().await.expect("answer");
            let _ = answer.bytes().await.expect("body");
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

fn gavel(db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gavel"));
    command
        .arg("--db")
        .arg(db)
        .env("GAVEL_CONFIG", "/dev/null")
        .env_remove("GAVEL_USER");
    command
}

fn ok(command: &mut Command) {
    let output = command.output().expect("gavel");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub async fn figures(dir: &Path, n: usize) -> Vec<Figure> {
    let url = agent().await;
    let db = dir.join("audit-bench.db");
    ok(gavel(&db).args(["store", "init"]));
    ok(gavel(&db).args(["users", "add", "ml@bench.example", "--roles", "ml_engineer"]));
    ok(gavel(&db).args(["users", "add", "dev@bench.example"]));
    let manifest = dir.join("audit-bench-agent.json");
    std::fs::write(
        &manifest,
        r#"{"agent_id": "agt-bench", "name": "Bench", "team": "People", "owner": "dev@bench.example",
            "category": "human_resources", "data_classification": "internal",
            "has_external_tools": false, "risk_tier": "low", "version": "1.0.0"}"#,
    )
    .expect("manifest");
    ok(gavel(&db)
        .args(["--user", "dev@bench.example", "deploy", "request"])
        .arg(&manifest));
    let cases = dir.join("audit-bench-cases.jsonl");
    let lines: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({
                "prompt": format!("Case {i}: recommended or not?"),
                "group": if i % 2 == 0 { "a" } else { "b" },
            })
            .to_string()
        })
        .collect();
    std::fs::write(&cases, lines.join("\n")).expect("cases");

    // Warm the agent once; then the best of three of each, interleaved,
    // so a noisy moment on a shared machine hurts neither alone.
    bare(&url, 200).await;
    let mut bare_rate: f64 = 0.0;
    let mut gavel_rate: f64 = 0.0;
    for round in 0..3 {
        bare_rate = bare_rate.max(bare(&url, n).await);
        gavel_rate = gavel_rate.max(audit_run(&db, &url, &cases, n, round).await);
    }
    let share = gavel_rate / bare_rate.max(1e-9);
    vec![
        Figure::new(
            format!(
                "`gavel audit run`, {} cases at concurrency {CONCURRENCY} against a loopback agent (whole process: read, ask, classify, commit evidence, record the audit; best of 3)",
                gavel::text::thousands(n as u64)
            ),
            format!("{gavel_rate:.0} cases/s ({:.0}% of bare)", share * 100.0),
        )
        .target(">= 80% of the bare rate", share >= 0.8)
        .reference(format!(
            "bare reqwest loop, same concurrency, best of 3: {bare_rate:.0} requests/s"
        )),
    ]
}

/// Cases per second of one whole `gavel audit run` (a new agent version
/// each round, so each records its own audit).
async fn audit_run(db: &Path, url: &str, cases: &Path, n: usize, round: usize) -> f64 {
    let started = Instant::now();
    let run = {
        let (url, db, cases) = (url.to_owned(), db.to_owned(), cases.to_owned());
        let version = format!("1.0.{round}");
        tokio::task::spawn_blocking(move || {
            gavel(&db)
                .args(["--user", "ml@bench.example", "audit", "run"])
                .args(["--agent", "agt-bench", "--agent-version", &version])
                .args(["--endpoint", &url])
                .arg("--cases")
                .arg(&cases)
                .args(["--concurrency", &CONCURRENCY.to_string()])
                .output()
                .expect("gavel audit run")
        })
        .await
        .expect("run")
    };
    let took = started.elapsed().max(Duration::from_millis(1));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    n as f64 / took.as_secs_f64()
}
