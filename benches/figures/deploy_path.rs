//! The deploy path at scale: an agent version's attestation issued (read,
//! judged, signed with its trail proof), checked offline as a deployment
//! system would, and an admission review answered, on a seeded store.

use std::path::Path;
use std::time::Duration;

use gavel::backend::local::attestations::{Attestation, attest, judge};
use gavel::backend::local::{LocalStore, logkey};
use gavel::domain::admission::{self, Mode, Unannotated};
use gavel::domain::attestation::Attested;
use gavel::domain::attestation::dsse::PublicKey;
use gavel::domain::attestation::verify::{Expect, check};

use crate::report::{Figure, best_of, ms};

/// An agent version that stands in the seeded store.
fn standing_version(store: &LocalStore) -> (String, String) {
    let path = store.path().expect("a file store").to_owned();
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row(
        "SELECT agent_id, version FROM agents WHERE standing_since IS NOT NULL ORDER BY agent_id LIMIT 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .expect("a standing agent version")
}

pub fn figures(large: &Path, label: &str) -> Vec<Figure> {
    let store = LocalStore::open(large).expect("store");
    let key = logkey::load_or_create(&logkey::default_path(large), large).expect("log key");
    store
        .write(|tx| logkey::sign_checkpoint(tx, &key, chrono::Utc::now()))
        .expect("checkpoint");
    let (agent, version) = standing_version(&store);
    let now = chrono::Utc::now();
    let (issuing, answer) = best_of(5, || {
        store
            .read(|conn| attest(conn, &key, &agent, &version, now, None))
            .expect("attest")
    });
    let Attestation::Answered { attested } = answer else {
        panic!("no checkpoint covers {agent} {version}");
    };
    let text = serde_json::to_vec(attested.envelope()).expect("envelope");
    let public = PublicKey::of(&key.attestation.verifying_key());
    let (verifying, report) = best_of(5, || {
        check(
            &text,
            &public,
            &Expect {
                subject_digest: None,
                log_key: Some(&key.verifier_key),
            },
            now,
        )
    });
    let issued = matches!(attested, Attested::Issued(_));
    assert!(!issued || report.holds(), "{:?}", report.problems);

    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": { "uid": "bench", "kind": { "group": "apps", "version": "v1", "kind": "Deployment" },
            "operation": "CREATE", "namespace": "agents", "name": "bench",
            "object": { "metadata": { "annotations": { "gavel/agent": agent, "gavel/version": version } },
                "spec": { "template": { "spec": { "containers": [{ "name": "c", "image": "registry.example.com/x@sha256:00" }] } } } } }
    })
    .to_string();
    let (answering, allowed) = best_of(5, || {
        let parsed = admission::parse(review.as_bytes()).expect("review");
        let workload = parsed.workload.expect("workload");
        let judged = store
            .read(|conn| judge(conn, &agent, &version, now, None))
            .expect("judge");
        let standing = judged.admission_standing();
        admission::judge(Mode::Enforce, Unannotated::Allow, &workload, |_, _| {
            standing.clone()
        })
        .allowed
    });
    vec![
        Figure::new(
            format!("attestation issued for {agent} {version} ({label})"),
            ms(issuing),
        )
        .target("< 100 ms", issuing < Duration::from_millis(100))
        .reference(format!(
            "{} KB envelope, {}",
            text.len().div_ceil(1024),
            if issued { "issued" } else { "revoked" }
        )),
        Figure::new(
            "attestation verified offline (signature, proof)",
            ms(verifying),
        ),
        Figure::new(
            format!("admission review answered ({label})"),
            ms(answering),
        )
        .target("< 50 ms", answering < Duration::from_millis(50))
        .reference(format!(
            "{} (an image outside the manifest's)",
            if allowed { "allowed" } else { "denied" }
        )),
    ]
}

/// A `gavel serve` over TLS on `large`, its certificate from a CA made here.
struct TlsServer {
    child: std::process::Child,
    url: String,
    ca: Vec<u8>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_tls(large: &Path, dir: &Path) -> TlsServer {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use std::io::BufRead;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("key");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("cert");
    let (cert_path, key_path) = (dir.join("bench-tls.pem"), dir.join("bench-tls-key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("key");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
        .arg("--db")
        .arg(large)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert_path)
        .arg("--tls-key")
        .arg(&key_path)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start gavel serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening line");
    let url = line.trim().rsplit(' ').next().expect("url").to_owned();
    TlsServer {
        child,
        url,
        ca: ca.pem().into_bytes(),
    }
}

/// Reviews sent at `rate` a second for `window` over TLS (keep-alive
/// connections, as the API server holds them): their latencies, sorted,
/// and the rate achieved.
pub async fn webhook_latency(
    large: &Path,
    dir: &Path,
    label: &str,
    window: Duration,
) -> Vec<Figure> {
    const WORKERS: u32 = 8;
    const RATE: u32 = 1_000;
    let store = LocalStore::open(large).expect("store");
    let (agent, version) = standing_version(&store);
    let now = chrono::Utc::now();
    let artifacts = store
        .read(|conn| judge(conn, &agent, &version, now, None))
        .expect("judge")
        .request
        .artifacts;
    let image = artifacts.first().map_or_else(
        || "registry.example.com/x@sha256:00".to_owned(),
        |artifact| format!("{}@{}", artifact.name, artifact.digest),
    );
    let body = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": { "uid": "bench", "kind": { "group": "apps", "version": "v1", "kind": "Deployment" },
            "operation": "CREATE", "namespace": "agents", "name": "bench",
            "object": { "metadata": { "annotations": { "gavel/agent": agent, "gavel/version": version } },
                "spec": { "template": { "spec": { "containers": [{ "name": "c", "image": image }] } } } } }
    })
    .to_string();
    drop(store);
    let server = serve_tls(large, dir);
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&server.ca).expect("CA")])
        .build()
        .expect("client");
    let url = format!("{}/v1/admission/enforce", server.url.trim_end_matches('/'));
    // Warm the connections and the server's memory of the version.
    for _ in 0..WORKERS {
        client
            .post(&url)
            .body(body.clone())
            .send()
            .await
            .expect("warm");
    }
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1) * WORKERS / RATE);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut latencies = Vec::new();
                while started.elapsed() < window {
                    tick.tick().await;
                    let sent = std::time::Instant::now();
                    let answer = client
                        .post(&url)
                        .body(body.clone())
                        .send()
                        .await
                        .expect("review");
                    let text = answer.text().await.expect("answer");
                    assert!(text.contains("\"allowed\":true"), "{text}");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("worker"));
    }
    let took = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let (p50, p99) = (at(0.50), at(0.99));
    vec![
        Figure::new(
            format!("admission review over TLS, p99 at {RATE}/s ({label})"),
            ms(p99),
        )
        .target("<= 5 ms", p99 <= Duration::from_millis(5))
        .reference(format!(
            "p50 {}, {} reviews at {:.0}/s achieved",
            ms(p50),
            latencies.len(),
            latencies.len() as f64 / took.as_secs_f64()
        )),
    ]
}
