//! Attestations as a deployment pipeline uses them: a version naming its
//! image, requested and approved by a technical lead, is attested; the envelope is checked by Gavel and by
//! the reference implementations (securesystemslib's DSSE with the key's
//! keyid, in-toto-attestation's Statement validation); a changed predicate,
//! another store's key or another image's digest fail there too; once the
//! version is suspended the server serves a signed revocation (HTTP 410),
//! `attest verify --online` says so while the offline check still holds,
//! and a deployment check naming other artifacts is a new request.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine;
use common::gavel;
use common::server::Server;
use predicates::prelude::*;

const OWNER: &str = "owner@example.com";
const LEAD: &str = "lead@example.com";
const AGENT: &str = "agt-router";
const VERSION: &str = "3.1.0";
const APPROVAL: &str = "https://gavel.dev/attestation/approval/v1";
const REVOCATION: &str = "https://gavel.dev/attestation/revocation/v1";

fn image_digest() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

/// A store whose agent, naming its image by digest, was requested and
/// approved by a technical lead (the built-in set's medium-risk policy).
fn store(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("attest.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(&db, &[(OWNER, ""), (LEAD, "technical_lead")]);
    let manifest = dir.join("router.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": AGENT,
            "name": "Dispatch router",
            "team": "Operations",
            "owner": OWNER,
            "category": "operations",
            "data_classification": "internal",
            "has_external_tools": false,
            "risk_tier": "medium",
            "version": VERSION,
            "artifacts": [
                { "name": "registry.example.com/ops/router", "digest": image_digest() }
            ]
        })
        .to_string(),
    )
    .expect("manifest");
    let requested = gavel(&db)
        .args(["--user", OWNER, "deploy", "request", "--json"])
        .arg(&manifest)
        .output()
        .expect("request");
    let request: serde_json::Value = serde_json::from_slice(&requested.stdout).expect("json");
    let workflow = request["workflow_ids"][0].as_str().expect("a workflow");
    gavel(&db)
        .args([
            "--user",
            LEAD,
            "approve",
            workflow,
            "--comment",
            "runbook reviewed",
        ])
        .assert()
        .success();
    (db, manifest)
}

/// The reference implementations' verdict on an envelope.
fn reference(envelope: &Path, key: &Path, predicate: &str) -> Output {
    std::process::Command::new(common::notify::python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/verify_attestation.py"))
        .arg(envelope)
        .arg(key)
        .arg(predicate)
        .output()
        .expect("run the reference check")
}

fn verify(db: &Path, file: &Path, key: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    gavel(db)
        .args(["--user", OWNER, "attest", "verify"])
        .arg(file)
        .arg("--key")
        .arg(key)
        .args(extra)
        .assert()
}

/// The statement an envelope carries.
fn statement(envelope: &Path) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(envelope).expect("envelope")).expect("json");
    let payload = base64::engine::general_purpose::STANDARD
        .decode(json["payload"].as_str().expect("payload"))
        .expect("base64");
    serde_json::from_slice(&payload).expect("statement")
}

/// The envelope with its statement's predicate changed, and re-encoded.
fn tampered(envelope: &Path, out: &Path) {
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(envelope).expect("envelope")).expect("json");
    let engine = base64::engine::general_purpose::STANDARD;
    let payload = engine
        .decode(json["payload"].as_str().expect("payload"))
        .expect("base64");
    let mut statement: serde_json::Value = serde_json::from_slice(&payload).expect("statement");
    statement["predicate"]["outcome"] = "allowed".into();
    json["payload"] = engine.encode(statement.to_string()).into();
    std::fs::write(out, json.to_string()).expect("write");
}

#[test]
fn an_approved_version_is_attested_and_the_reference_implementations_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, manifest) = store(dir.path());
    let envelope = dir.path().join("router.att.json");
    let key = dir.path().join("key.json");
    gavel(&db)
        .args(["--user", OWNER, "attest", "show", AGENT, VERSION, "--out"])
        .arg(&envelope)
        .assert()
        .success();
    gavel(&db)
        .args(["--user", OWNER, "attest", "key", "--out"])
        .arg(&key)
        .assert()
        .success();

    // Gavel's own check: signature, subjects, window, inclusion.
    verify(&db, &envelope, &key, &[])
        .success()
        .stdout(predicate::str::contains("✓ signature by key"))
        .stdout(predicate::str::contains(
            "✓ the checkpoint's signature by the log key",
        ))
        .stdout(predicate::str::contains("stands approved"));
    // The predicate names who signed it off, and the request it rests on.
    let predicate = statement(&envelope)["predicate"].clone();
    assert_eq!(predicate["outcome"], "approved", "{predicate}");
    assert_eq!(
        predicate["workflows"][0]["steps"][0]["deciders"][0]["email"], LEAD,
        "{predicate}"
    );
    assert_eq!(predicate["deployment"]["requested_by"], OWNER);
    // Its trail event is the approval that made it stand, not the filing.
    let event = &predicate["trail"]["event"];
    assert_eq!(event["entity_id"], predicate["deployment"]["deployment_id"]);
    assert_ne!(event["action"], "deployment_requested", "{event}");
    verify(&db, &envelope, &key, &["--subject-digest", &image_digest()]).success();
    let manifest_arg = manifest.to_string_lossy().into_owned();
    verify(&db, &envelope, &key, &["--manifest", &manifest_arg]).success();
    let other_image = format!("sha256:{}", "cd".repeat(32));
    verify(&db, &envelope, &key, &["--subject-digest", &other_image])
        .code(1)
        .stdout(predicate::str::contains("no subject has digest"));

    // The reference implementations accept it, subjects and all.
    let accepted = reference(&envelope, &key, APPROVAL);
    let said = String::from_utf8_lossy(&accepted.stdout);
    assert!(
        accepted.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(
        said.contains(&format!("gavel:agent/{AGENT}@{VERSION}")),
        "{said}"
    );
    assert!(said.contains(&"ab".repeat(32)), "{said}");

    // A changed predicate fails both.
    let changed = dir.path().join("changed.json");
    tampered(&envelope, &changed);
    verify(&db, &changed, &key, &[])
        .code(1)
        .stdout(predicate::str::contains("changed after signing"));
    let refused = reference(&changed, &key, APPROVAL);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("DSSE"));

    // Another store's key fails both.
    let other = tempfile::tempdir().expect("tempdir");
    let (other_db, _) = store(other.path());
    let other_key = other.path().join("key.json");
    gavel(&other_db)
        .args(["--user", OWNER, "attest", "key", "--out"])
        .arg(&other_key)
        .assert()
        .success();
    verify(&db, &envelope, &other_key, &[])
        .code(1)
        .stdout(predicate::str::contains("signed by another key"));
    assert!(!reference(&envelope, &other_key, APPROVAL).status.success());
}

#[test]
fn a_suspended_version_is_revoked_over_http_and_online_checks_say_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, manifest) = store(dir.path());
    let token = common::service_token(&db, "deployer@example.com");
    let server = Server::start(&db);
    let remote = |args: &[&str]| {
        let mut command = gavel(&db);
        command
            .env("GAVEL_TOKEN", &token)
            .args(["--url", &server.url])
            .args(args);
        command
    };
    let envelope = dir.path().join("router.att.json");
    let key = dir.path().join("key.json");
    remote(&["attest", "show", AGENT, VERSION, "--out"])
        .arg(&envelope)
        .assert()
        .success();
    remote(&["attest", "key", "--out"])
        .arg(&key)
        .assert()
        .success();
    let accepted = reference(&envelope, &key, APPROVAL);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stdout)
    );
    remote(&["attest", "verify"])
        .arg(&envelope)
        .arg("--key")
        .arg(&key)
        .assert()
        .success()
        .stdout(predicate::str::contains("✓ the server: it still stands"));

    // The same version shipping another image is a new request, not it.
    let mut rebuilt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("manifest")).expect("json");
    rebuilt["artifacts"][0]["digest"] = format!("sha256:{}", "cd".repeat(32)).into();
    let rebuilt_path = dir.path().join("rebuilt.json");
    std::fs::write(&rebuilt_path, rebuilt.to_string()).expect("write");
    let check = gavel(&db)
        .args(["--user", OWNER, "deploy", "check", "--format", "json"])
        .arg(&rebuilt_path)
        .output()
        .expect("check");
    let evaluation: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    assert!(evaluation["standing"].is_null(), "{evaluation}");

    // The owner reports a death: the version is suspended at once.
    common::report_death(&db, OWNER, AGENT).stdout(predicate::str::contains("suspended"));
    let url = format!(
        "{}/v1/attestations/{AGENT}/{VERSION}",
        server.url.trim_end_matches('/')
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (status, body) = runtime.block_on(async {
        let answer = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET the attestation");
        (
            answer.status().as_u16(),
            answer.bytes().await.expect("body"),
        )
    });
    assert_eq!(status, 410, "{}", String::from_utf8_lossy(&body));
    let revocation = dir.path().join("revocation.json");
    std::fs::write(&revocation, &body).expect("write");
    let reference_revocation = reference(&revocation, &key, REVOCATION);
    assert!(
        reference_revocation.status.success(),
        "the revocation is a signed statement too: {}",
        String::from_utf8_lossy(&reference_revocation.stdout)
    );
    verify(&db, &revocation, &key, &[])
        .code(4)
        .stdout(predicate::str::contains("is revoked since"))
        .stdout(predicate::str::contains("suspended"));

    // Offline, the earlier attestation still verifies: the file cannot
    // know. Online it does not.
    verify(&db, &envelope, &key, &[]).success();
    remote(&["attest", "verify"])
        .arg(&envelope)
        .arg("--key")
        .arg(&key)
        .assert()
        .code(4)
        .stdout(predicate::str::contains("no longer stands"));
    remote(&["attest", "show", AGENT, VERSION])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("revoked"));
}
