//! `GET /metrics` as the people who run `gavel serve` use it: Prometheus'
//! own `promtool` accepts the text, a real Prometheus (Debian's, installed
//! by scripts/test) scrapes it with the metrics token and answers a query
//! for a series Gavel exposed; the token guards it; no label carries what a
//! caller made up.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::gavel;
use common::notify::free_port;
use common::server::Server;

const OWNER: &str = "owner@example.com";
const METRICS_TOKEN: &str = "scraper-secret-4f1d0c";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

/// `GET url` with an optional bearer token: (status, body).
fn get(url: &str, token: Option<&str>) -> (u16, String) {
    runtime().block_on(async {
        let mut request = reqwest::Client::new().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await.expect("GET");
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap_or_default())
    })
}

fn post_json(url: &str, body: serde_json::Value) -> u16 {
    runtime().block_on(async {
        reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("POST")
            .status()
            .as_u16()
    })
}

/// The value of the sample `name{labels}` exactly as written in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A store with one request waiting on a technical lead, and a server on
/// it whose `/metrics` asks for `METRICS_TOKEN`.
fn serve_with_token(dir: &Path) -> Server {
    let db = dir.join("metrics.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(&db, &[(OWNER, "")]);
    let manifest = dir.join("router.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": "router", "name": "Router", "team": "Operations", "owner": OWNER,
            "category": "operations", "data_classification": "internal",
            "has_external_tools": false, "risk_tier": "high", "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    gavel(&db)
        .args(["--user", OWNER, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicates::str::contains("opened workflow"));
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[server]\nmetrics_token_env = \"GAVEL_TEST_METRICS_TOKEN\"\n",
    )
    .expect("config");
    Server::start_with(
        &db,
        "127.0.0.1:0",
        &config,
        &[("GAVEL_TEST_METRICS_TOKEN", METRICS_TOKEN)],
    )
}

fn promtool() -> &'static str {
    assert!(
        Command::new("promtool").arg("--version").output().is_ok(),
        "promtool is missing: run the tests with scripts/test, which installs Debian's prometheus"
    );
    "promtool"
}

#[test]
fn metrics_are_prometheus_text_behind_their_token_with_labels_from_closed_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve_with_token(dir.path());
    let base = server.url.trim_end_matches('/').to_owned();
    let metrics = format!("{base}/metrics");

    // The token guards it: none, or another, is refused; no series leaks.
    let (status, body) = get(&metrics, None);
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("gavel_"), "{body}");
    let (status, _) = get(&metrics, Some("not-the-token"));
    assert_eq!(status, 401);

    // Traffic: a route with an id, a path no route has, an admission review
    // of an agent never requested (denied), and one of a kind not judged.
    assert_eq!(
        get(&format!("{base}/v1/workflows/wf-made-up-7731"), None).0,
        401
    );
    assert_eq!(get(&format!("{base}/no/such/path-19238"), None).0, 404);
    let pod = |uid: &str, kind: &str| {
        serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": uid, "operation": "CREATE", "name": "p", "namespace": "agents",
                "kind": { "group": "", "version": "v1", "kind": kind },
                "resource": { "group": "", "version": "v1", "resource": "pods" },
                "userInfo": { "username": "system:serviceaccount:ci:deployer" },
                "object": {
                    "apiVersion": "v1", "kind": kind,
                    "metadata": { "name": "p", "annotations": { "gavel/agent": "ghost", "gavel/version": "9.9.9" } },
                    "spec": { "containers": [{ "name": "c", "image": "registry.example/ghost:1" }] }
                }
            }
        })
    };
    assert_eq!(
        post_json(&format!("{base}/v1/admission/enforce"), pod("u-1", "Pod")),
        200
    );
    assert_eq!(
        post_json(
            &format!("{base}/v1/admission/audit"),
            pod("u-2", "ConfigMap")
        ),
        200
    );

    let (status, text) = get(&metrics, Some(METRICS_TOKEN));
    assert_eq!(status, 200, "{text}");
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, &text).expect("write");
    let checked = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("open"))
        .output()
        .expect("promtool");
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    // Routes by their pattern, never the path a caller made up.
    let status_401 =
        "gavel_http_requests_total{method=\"GET\",route=\"/v1/workflows/{id}\",status=\"401\"}";
    assert_eq!(sample(&text, status_401), Some(1.0), "{text}");
    let unmatched = "gavel_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}";
    assert_eq!(sample(&text, unmatched), Some(1.0), "{text}");
    assert!(!text.contains("wf-made-up-7731") && !text.contains("path-19238"));
    // The refused scrapes are counted too.
    assert_eq!(
        sample(
            &text,
            "gavel_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert!(text.contains("gavel_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/workflows/{id}\",le=\"0.001\"}"));

    // The admission reviews by mode and outcome.
    let review = |mode: &str, outcome: &str| {
        sample(
            &text,
            &format!("gavel_admission_reviews_total{{mode=\"{mode}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(review("enforce", "denied"), Some(1.0), "{text}");
    assert_eq!(review("audit", "not_judged"), Some(1.0), "{text}");
    assert_eq!(review("warn", "admitted"), Some(0.0), "{text}");

    // The store's gauges: the request waits on a technical lead; the log
    // holds its events; every other role reads 0.
    assert_eq!(
        sample(&text, "gavel_queue_depth{role=\"technical_lead\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "gavel_queue_depth{role=\"ethics_reviewer\"}"),
        Some(0.0)
    );
    assert!(sample(&text, "gavel_log_entries").is_some_and(|n| n >= 2.0));
    assert!(sample(&text, "gavel_db_connections_max").is_some_and(|n| n >= 2.0));
    assert!(sample(&text, "gavel_http_connections_open").is_some_and(|n| n >= 1.0));
    for series in [
        "gavel_steps_overdue",
        "gavel_outbox_deliveries{state=\"dead\"}",
        "gavel_sla_alerts_total",
        "gavel_notification_deliveries_total{outcome=\"sent\"}",
        "gavel_http_connections_refused_total{reason=\"server_full\"}",
    ] {
        assert!(sample(&text, series).is_some(), "{series} missing:\n{text}");
    }
    // No secret in the text.
    assert!(!text.contains(METRICS_TOKEN));
}

#[test]
fn a_metrics_token_variable_without_a_token_stops_the_server_rather_than_serve_openly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("open.db");
    gavel(&db).args(["store", "init"]).assert().success();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[server]\nmetrics_token_env = \"GAVEL_UNSET_TOKEN\"\n",
    )
    .expect("config");
    let key = gavel::backend::local::logkey::default_path(&db);
    gavel::backend::local::logkey::load_or_create(&key, &db).expect("log key");
    gavel(&db)
        .env("GAVEL_CONFIG", &config)
        .env_remove("GAVEL_UNSET_TOKEN")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("GAVEL_UNSET_TOKEN"));
}

/// A Prometheus server on loopback, stopped when dropped.
struct Prometheus {
    child: Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Scraping `target` (host:port) every second with the metrics token.
    fn scraping(dir: &Path, target: &str) -> Prometheus {
        assert!(
            Command::new("prometheus").arg("--version").output().is_ok(),
            "prometheus is missing: run the tests with scripts/test, which installs Debian's prometheus"
        );
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: gavel\n    metrics_path: /metrics\n    authorization:\n      type: Bearer\n      credentials: {METRICS_TOKEN}\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("prometheus.yml");
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The query's result vector, once it has one (or after a minute).
    fn query(&self, query: &str) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url =
            url::Url::parse_with_params(&format!("{}/api/v1/query", self.url), [("query", query)])
                .expect("query URL");
        loop {
            let found = runtime().block_on(async {
                let answer = reqwest::Client::new().get(url.clone()).send().await.ok()?;
                let body: serde_json::Value = answer.json().await.ok()?;
                body["data"]["result"]
                    .as_array()
                    .filter(|result| !result.is_empty())
                    .cloned()
            });
            if let Some(found) = found {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never answered {query}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

#[test]
fn a_real_prometheus_scrapes_the_server_with_its_token_and_answers_for_gavels_series() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve_with_token(dir.path());
    let prometheus = Prometheus::scraping(dir.path(), &server.address());

    // The scrape succeeded (the token was accepted)...
    let up = prometheus.query("up{job=\"gavel\"} == 1");
    assert_eq!(up[0]["value"][1], "1", "{up:?}");
    // ...and the queue Gavel exposed is what Prometheus holds.
    let depth = prometheus.query("gavel_queue_depth{role=\"technical_lead\"}");
    assert_eq!(depth.len(), 1, "{depth:?}");
    assert_eq!(depth[0]["metric"]["job"], "gavel");
    assert_eq!(depth[0]["value"][1], "1", "{depth:?}");
    let scrapes = prometheus.query("gavel_http_requests_total{route=\"/metrics\",status=\"200\"}");
    assert!(!scrapes.is_empty());
}
