//! What watching the server costs a request: the same calls through a
//! server with metrics off and its log at `warn` (nothing per request), and
//! through one counting every request and logging each as JSON at `info`
//! into a file, both on one store, their requests interleaved so that the
//! machine's noise falls on both alike.

use std::path::Path;
use std::time::{Duration, Instant};

use super::report::{Figure, ms, percentiles};
use super::sync::{Server, listening};

/// A `gavel serve` on `large`: unwatched (metrics off, log at `warn`) or
/// watched (metrics on, JSON at `info` into a file). Its URL, without the
/// trailing slash.
fn serve(large: &Path, dir: &Path, watched: bool) -> (Server, String) {
    let config = dir.join(if watched {
        "watched.toml"
    } else {
        "unwatched.toml"
    });
    let settings = if watched {
        ""
    } else {
        "[server]\nmetrics = false\n"
    };
    std::fs::write(&config, settings).expect("config");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"));
    command.arg("--config").arg(&config).arg("--db").arg(large);
    if watched {
        let log = std::fs::File::create(dir.join("watched.log")).expect("log file");
        command
            .env("GAVEL_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stderr(log);
    } else {
        command
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null());
    }
    let server = listening(command);
    let url = server.1.trim_end_matches('/').to_owned();
    (server, url)
}

/// One call's latency, its answer read to the end.
async fn timed(client: &reqwest::Client, url: &str, token: &str) -> Duration {
    let sent = Instant::now();
    let answer = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert!(answer.status().is_success(), "{url}: {}", answer.status());
    answer.bytes().await.expect("body");
    sent.elapsed()
}

/// `GET /v1/me` (the cheapest authenticated call, where a per-request
/// cost shows most) and a queue page of 50, `rounds` rounds of 100 each
/// per server.
pub async fn figures(large: &Path, dir: &Path, label: &str, rounds: usize) -> Vec<Figure> {
    let store = gavel::backend::local::LocalStore::open(large).expect("store");
    let token = super::user_token(&store);
    drop(store);
    let (_unwatched, unwatched) = serve(large, dir, false);
    let (_watched, watched) = serve(large, dir, true);
    let client = reqwest::Client::new();
    let mut figures = Vec::new();
    for (call, path) in [
        ("GET /v1/me", "/v1/me"),
        (
            "a queue page of 50",
            "/v1/queue?roles=technical_lead,data_steward,ml_engineer,ethics_reviewer,compliance_officer&limit=50",
        ),
    ] {
        let (mut off, mut on) = (Vec::new(), Vec::new());
        // Warm both: connections, caches, the token's lookup.
        for server in [&unwatched, &watched] {
            for _ in 0..20 {
                timed(&client, &format!("{server}{path}"), &token).await;
            }
        }
        for _ in 0..rounds {
            for _ in 0..100 {
                off.push(timed(&client, &format!("{unwatched}{path}"), &token).await);
                on.push(timed(&client, &format!("{watched}{path}"), &token).await);
            }
        }
        let (off_p50, off_p99) = percentiles(&off);
        let (on_p50, on_p99) = percentiles(&on);
        // Unchanged: within a tenth, or 50 µs (a loopback call's jitter).
        let allowed = off_p50
            .mul_f64(1.1)
            .max(off_p50 + Duration::from_micros(50));
        figures.push(
            Figure::new(
                format!("{call} p50 with metrics and JSON logs ({label})"),
                ms(on_p50),
            )
            .target("unchanged (≤ +10% or +50 µs)", on_p50 <= allowed)
            .reference(format!(
                "without: p50 {}, p99 {}; with: p99 {}; {} calls each, interleaved",
                ms(off_p50),
                ms(off_p99),
                ms(on_p99),
                off.len()
            )),
        );
    }
    figures
}
