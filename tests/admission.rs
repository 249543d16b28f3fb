//! The admission webhook as a cluster's API server calls it, over mutual
//! TLS: reviews built and answers read with kube-rs's own AdmissionReview
//! types (kube-core). A Deployment naming an allowed agent version and its
//! manifest's image digest is admitted; an image by tag or another digest
//! is denied in enforce (403 and Gavel's reason), warned in warn, let
//! through in audit; a suspended version is denied; a review Gavel cannot
//! parse is 400. Uses are recorded only from a caller that proved itself
//! (the API server's certificate) and never for dry runs; with
//! `require_client_cert` a caller without one is refused.

mod common;

use std::path::{Path, PathBuf};

use common::certs::Authority;
use common::gavel;
use common::server::Server;
use kube_core::DynamicObject;
use kube_core::admission::AdmissionReview;
use predicates::prelude::*;

const OWNER: &str = "owner@example.com";
const AGENT: &str = "agt-router";
const VERSION: &str = "3.1.0";
const IMAGE: &str = "registry.example.com/ops/router";

fn digest() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

/// A store whose agent, naming its image by digest, was allowed.
fn store(dir: &Path) -> PathBuf {
    let db = dir.join("admission.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(&db, &[(OWNER, "")]);
    let manifest = dir.join("router.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": AGENT, "name": "Dispatch router", "team": "Operations", "owner": OWNER,
            "category": "operations", "data_classification": "internal",
            "has_external_tools": false, "risk_tier": "low", "version": VERSION,
            "artifacts": [{ "name": IMAGE, "digest": digest() }]
        })
        .to_string(),
    )
    .expect("manifest");
    gavel(&db)
        .args(["--user", OWNER, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains("ALLOWED"));
    db
}

/// An AdmissionReview of a Deployment running `image`, as kube-core reads
/// and writes one.
fn review(uid: &str, image: &str, dry_run: bool) -> Vec<u8> {
    review_of("Deployment", uid, image, dry_run, true)
}

/// A review of a `kind` running `image`, annotated or not, its Pod spec
/// where that kind keeps it.
fn review_of(kind: &str, uid: &str, image: &str, dry_run: bool, annotated: bool) -> Vec<u8> {
    let pod_spec = serde_json::json!({ "containers": [{ "name": "router", "image": image }] });
    let spec = match kind {
        "Pod" => pod_spec,
        "CronJob" => {
            serde_json::json!({ "schedule": "@hourly", "jobTemplate": { "spec": { "template": { "spec": pod_spec } } } })
        }
        _ => serde_json::json!({ "template": { "spec": pod_spec } }),
    };
    let (group, resource) = match kind {
        "Pod" => ("", "pods"),
        "Job" | "CronJob" => ("batch", "jobs"),
        _ => ("apps", "deployments"),
    };
    let annotations = if annotated {
        serde_json::json!({ "gavel/agent": AGENT, "gavel/version": VERSION })
    } else {
        serde_json::json!({})
    };
    let review: AdmissionReview<DynamicObject> = serde_json::from_value(serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": { "group": group, "version": "v1", "kind": kind },
            "resource": { "group": group, "version": "v1", "resource": resource },
            "requestKind": { "group": group, "version": "v1", "kind": kind },
            "requestResource": { "group": group, "version": "v1", "resource": resource },
            "name": "router",
            "namespace": "agents",
            "operation": "CREATE",
            "userInfo": { "username": "system:serviceaccount:ci:deployer" },
            "object": {
                "apiVersion": if group.is_empty() { "v1".to_owned() } else { format!("{group}/v1") },
                "kind": kind,
                "metadata": { "name": "router", "namespace": "agents", "annotations": annotations },
                "spec": spec
            },
            "oldObject": null,
            "dryRun": dry_run,
            "options": { "apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" }
        }
    }))
    .expect("kube-core reads the review");
    serde_json::to_vec(&review).expect("kube-core writes it")
}

struct Answer {
    status: u16,
    allowed: bool,
    uid: String,
    code: u16,
    message: String,
    warnings: Vec<String>,
}

struct Caller {
    client: reqwest::Client,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl Caller {
    fn new(server: &Server, ca: &Path, identity: Option<(&Path, &Path)>) -> Caller {
        let mut builder =
            reqwest::Client::builder().tls_certs_only([reqwest::Certificate::from_pem(
                &std::fs::read(ca).expect("CA"),
            )
            .expect("CA pem")]);
        if let Some((cert, key)) = identity {
            let mut pem = std::fs::read(cert).expect("cert");
            pem.extend(std::fs::read(key).expect("key"));
            builder = builder.identity(reqwest::Identity::from_pem(&pem).expect("identity"));
        }
        Caller {
            client: builder.build().expect("client"),
            url: server.url.trim_end_matches('/').to_owned(),
            runtime: tokio::runtime::Runtime::new().expect("runtime"),
        }
    }

    fn send(&self, mode: &str, body: Vec<u8>) -> Answer {
        let url = format!("{}/v1/admission/{mode}", self.url);
        let (status, bytes) = self.runtime.block_on(async {
            let answer = self
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("POST the review");
            (
                answer.status().as_u16(),
                answer.bytes().await.expect("body"),
            )
        });
        if status != 200 {
            return Answer {
                status,
                allowed: false,
                uid: String::new(),
                code: 0,
                message: String::from_utf8_lossy(&bytes).into_owned(),
                warnings: Vec::new(),
            };
        }
        let review: AdmissionReview<DynamicObject> =
            serde_json::from_slice(&bytes).expect("kube-core reads the answer");
        let response = review.response.expect("a response");
        Answer {
            status,
            allowed: response.allowed,
            uid: response.uid,
            code: response.result.code,
            message: response.result.message,
            warnings: response.warnings.unwrap_or_default(),
        }
    }
}

fn uses(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open the store");
    conn.query_row(
        "SELECT COUNT(*) FROM version_checks WHERE agent_id = ?1",
        [AGENT],
        |row| row.get(0),
    )
    .expect("count uses")
}

#[test]
fn reviews_are_judged_by_standing_and_digest_and_only_proven_callers_record_uses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = store(dir.path());
    let authority = Authority::new(dir.path(), "server");
    let (cert, key) = authority.issue(dir.path(), "server", &["127.0.0.1"]);
    let clients = Authority::new(dir.path(), "clients");
    let (api_cert, api_key) = clients.issue(dir.path(), "apiserver", &["kube-apiserver"]);
    let config = dir.path().join("config.toml");
    let write_config = |require: bool| {
        std::fs::write(
            &config,
            format!(
                "[server]\ntls_cert = {cert:?}\ntls_key = {key:?}\ntls_client_ca = {:?}\n\n[admission]\nrequire_client_cert = {require}\n",
                clients.pem
            ),
        )
        .expect("config");
    };
    write_config(false);
    let mut server = Server::start_with_config(&db, &config);
    let anonymous = Caller::new(&server, &authority.pem, None);
    let apiserver = Caller::new(&server, &authority.pem, Some((&api_cert, &api_key)));
    let pinned = format!("{IMAGE}@{}", digest());

    // Admitted, by anyone; recorded only for the API server, not dry.
    let answer = anonymous.send("enforce", review("uid-1", &pinned, false));
    assert!(
        answer.allowed && answer.uid == "uid-1",
        "{}",
        answer.message
    );
    assert_eq!(uses(&db), 0, "an anonymous review records no use");
    let answer = apiserver.send("enforce", review("uid-2", &pinned, true));
    assert!(answer.allowed);
    assert_eq!(uses(&db), 0, "a dry run records no use");
    let answer = apiserver.send("enforce", review("uid-3", &pinned, false));
    assert!(answer.allowed);
    assert_eq!(uses(&db), 1, "the API server's review is a use");

    // Every kind that runs Pods is judged from where it keeps its Pod spec.
    let tag = format!("{IMAGE}:3.1");
    for kind in [
        "Pod",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
    ] {
        let admitted = anonymous.send("enforce", review_of(kind, "uid-k", &pinned, false, true));
        assert!(admitted.allowed, "{kind}: {}", admitted.message);
        let refused = anonymous.send("enforce", review_of(kind, "uid-k", &tag, false, true));
        assert!(!refused.allowed, "{kind} by tag was admitted");
    }
    // A workload naming no agent is not Gavel's (the default).
    let nameless = anonymous.send(
        "enforce",
        review_of("Deployment", "uid-n", &tag, false, false),
    );
    assert!(nameless.allowed && nameless.warnings.is_empty());

    // An image by tag, or another digest: enforce denies, warn warns,
    // audit lets it through.
    let tagged = anonymous.send("enforce", review("uid-4", &format!("{IMAGE}:3.1"), false));
    assert!(!tagged.allowed && tagged.code == 403, "{}", tagged.message);
    assert!(tagged.message.contains("by tag"), "{}", tagged.message);
    let other = format!("{IMAGE}@sha256:{}", "cd".repeat(32));
    let denied = anonymous.send("enforce", review("uid-5", &other, false));
    assert!(!denied.allowed && denied.message.contains("not one of the artifacts"));
    let warned = anonymous.send("warn", review("uid-6", &other, false));
    assert!(warned.allowed && warned.warnings.iter().any(|w| w.contains("not one of")));
    let audited = anonymous.send("audit", review("uid-7", &other, false));
    assert!(audited.allowed && audited.warnings.is_empty());

    // What is not a review, and a mode that does not exist.
    let garbage = anonymous.send("enforce", b"{\"kind\": \"Pod\"}".to_vec());
    assert_eq!(garbage.status, 400, "{}", garbage.message);
    assert_eq!(
        anonymous
            .send("permissive", review("uid-8", &pinned, false))
            .status,
        404
    );

    // Suspended: denied, naming the incident.
    common::report_death(&db, OWNER, AGENT);
    // The server holds standings in memory and drops them when the store
    // changes: within a moment, the same review is denied.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let suspended = loop {
        let answer = anonymous.send("enforce", review("uid-9", &pinned, false));
        if !answer.allowed || std::time::Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(!suspended.allowed, "a suspended version was admitted");
    assert!(
        suspended.message.contains("suspended"),
        "{}",
        suspended.message
    );
    // The rule, never what people wrote: anyone may call the webhook.
    assert!(
        !suspended.message.contains("ambulance"),
        "{}",
        suspended.message
    );
    assert!(!suspended.message.contains(OWNER), "{}", suspended.message);

    // Requiring the API server's certificate.
    server.stop();
    write_config(true);
    let server = Server::start_with_config(&db, &config);
    let anonymous = Caller::new(&server, &authority.pem, None);
    let apiserver = Caller::new(&server, &authority.pem, Some((&api_cert, &api_key)));
    assert_eq!(
        anonymous
            .send("enforce", review("uid-10", &pinned, false))
            .status,
        401
    );
    assert_eq!(
        apiserver
            .send("audit", review("uid-11", &pinned, false))
            .status,
        200
    );
}
