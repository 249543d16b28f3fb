//! `gavel deploy check` in CI systems' own formats, and the GitHub Action
//! and GitLab template scripts run as those systems run them: the
//! environment they provide, a real `gavel serve`, a service account's
//! token. JUnit XML is read by Python's own XML parser, not ours.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::gavel;

const OWNER: &str = "dev@example.com";
const STEWARD: &str = "steward@example.com";

/// A store whose agent calls an unapproved tool (blocked until a data
/// steward approves it); the manifest's path.
fn store(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("ci.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(&db, &[(OWNER, ""), (STEWARD, "data_steward")]);
    let manifest = dir.join("scraper.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": "agt-scraper",
            "name": "Price scraper",
            "team": "Pricing",
            "owner": OWNER,
            "category": "operations",
            "data_classification": "internal",
            "has_external_tools": true,
            "external_tools": ["shadow_scraper"],
            "risk_tier": "low",
            "version": "2.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    (db, manifest)
}

/// A data steward approves the tool that blocks the manifest.
fn approve_the_scraper(db: &Path) {
    gavel(db)
        .args(["--user", STEWARD, "tools", "approve", "shadow_scraper"])
        .args(["-c", "reviewed"])
        .assert()
        .success();
}

/// A service account's token (the CI gate's).
fn gate_token(db: &Path) -> String {
    common::service_token(db, "gate@example.com")
}

fn check(db: &Path, manifest: &Path, format: &str) -> std::process::Output {
    gavel(db)
        .args(["--user", OWNER, "deploy", "check"])
        .arg(manifest)
        .args(["--format", format])
        .output()
        .expect("run")
}

/// Whether Python's XML parser reads `path`, and the counts JUnit readers
/// take: (tests, failures, failure types).
fn junit_read_by_python(path: &Path) -> (String, String, Vec<String>) {
    let script = "import sys, xml.etree.ElementTree as E\n\
        root = E.parse(sys.argv[1]).getroot()\n\
        print(root.get('tests')); print(root.get('failures'))\n\
        for failure in root.iter('failure'): print(failure.get('type'))\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "Python could not read the XML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines().map(str::to_owned);
    (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
        lines.collect(),
    )
}

#[test]
fn each_format_says_what_blocks_on_the_manifest_and_keeps_the_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, manifest) = store(dir.path());
    let shown = manifest.display().to_string();

    let summary = dir.path().join("summary.md");
    let github = gavel(&db)
        .args(["--user", OWNER, "deploy", "check"])
        .arg(&manifest)
        .args(["--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("run");
    assert_eq!(github.status.code(), Some(4));
    let commands = String::from_utf8_lossy(&github.stdout);
    let file = shown.replace(':', "%3A").replace(',', "%2C");
    assert!(
        commands.contains(&format!(
            "::error file={file},title=Gavel external_api_block%3A Unapproved external tools::"
        )),
        "{commands}"
    );
    assert!(commands.contains("shadow_scraper"), "{commands}");
    let written = std::fs::read_to_string(&summary).expect("the step summary");
    assert!(
        written.starts_with("## Gavel: agt-scraper 2.0.0 is blocked"),
        "{written}"
    );
    assert!(written.contains("| ✗ | external_api_block |"), "{written}");

    let gitlab = check(&db, &manifest, "gitlab");
    assert_eq!(gitlab.status.code(), Some(4));
    let issues: serde_json::Value = serde_json::from_slice(&gitlab.stdout).expect("JSON");
    let issue = &issues[0];
    assert_eq!(issue["check_name"], "gavel/external_api_block");
    assert_eq!(issue["severity"], "blocker");
    assert_eq!(issue["location"]["path"], shown.as_str());
    assert_eq!(issue["location"]["lines"]["begin"], 1);
    assert_eq!(issue["fingerprint"].as_str().map(str::len), Some(64));

    let xml = dir.path().join("junit.xml");
    let junit = gavel(&db)
        .args(["--user", OWNER, "deploy", "check"])
        .arg(&manifest)
        .args(["--format", "junit", "--out"])
        .arg(&xml)
        .output()
        .expect("run");
    assert_eq!(junit.status.code(), Some(4));
    assert!(junit.stdout.is_empty(), "the report went to the file");
    assert_eq!(
        junit_read_by_python(&xml),
        ("1".into(), "1".into(), vec!["blocked".to_owned()])
    );

    // Approved, the same manifest passes in every format.
    approve_the_scraper(&db);
    assert_eq!(check(&db, &manifest, "junit").status.code(), Some(0));
    let xml = dir.path().join("passing.xml");
    std::fs::write(&xml, check(&db, &manifest, "junit").stdout).expect("write");
    assert_eq!(junit_read_by_python(&xml), ("1".into(), "0".into(), vec![]));
    let gitlab = check(&db, &manifest, "gitlab");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&gitlab.stdout).expect("JSON"),
        serde_json::json!([])
    );
}

/// The composite action's step, as GitHub runs it: the action's
/// directory in GITHUB_ACTION_PATH, inputs as environment variables, the
/// step's output and summary files given.
#[test]
fn the_github_action_gates_on_a_real_server_with_a_service_token() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let action = std::fs::read_to_string(root.join("action.yml")).expect("action.yml");
    assert!(action.contains("using: composite"));
    let run_line = action
        .lines()
        .find(|line| line.trim_start().starts_with("run:"))
        .expect("a run step");
    assert!(
        !run_line.contains("${{"),
        "inputs reach the script as environment, never pasted in: {run_line}"
    );
    for input in ["gavel-path", "manifest", "url", "token"] {
        assert!(
            action.contains(&format!("${{{{ inputs.{input} }}}}")),
            "{input} is passed on"
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let (db, manifest) = store(dir.path());
    let token = gate_token(&db);
    let server = common::server::Server::start(&db);
    let attestation = dir.path().join("gavel-attestation.json");
    let run = |name: &str| {
        let output = dir.path().join(format!("{name}.output"));
        let summary = dir.path().join(format!("{name}.summary"));
        let out = Command::new(root.join("scripts/ci/github-check.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GITHUB_ACTION_PATH", root)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GAVEL_PATH", env!("CARGO_BIN_EXE_gavel"))
            .env("GAVEL_MANIFEST", &manifest)
            .env("GAVEL_URL", &server.url)
            .env("GAVEL_TOKEN", &token)
            .env("GAVEL_ATTESTATION", &attestation)
            .env("HOME", dir.path())
            .output()
            .expect("the action's script runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            std::fs::read_to_string(&output).unwrap_or_default(),
            std::fs::read_to_string(&summary).unwrap_or_default(),
        )
    };
    let (code, log, output, summary) = run("blocked");
    assert_eq!(code, Some(4), "{log}");
    assert!(log.contains("::error file="), "{log}");
    assert!(!log.contains(&token), "the token is never printed");
    assert_eq!(output.trim(), "status=blocked");
    assert!(summary.contains("is blocked"), "{summary}");

    approve_the_scraper(&db);
    // Allowed, but never requested: nothing on record to attest.
    let (code, log, output, _) = run("checked");
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("::warning title=Gavel::"), "{log}");
    assert_eq!(output.trim(), "status=allowed");
    gavel(&db)
        .args(["--user", OWNER, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
    let (code, log, output, _) = run("allowed");
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("signed approval written"), "{log}");
    // Allowed: the signed approval is fetched and named for upload.
    assert_eq!(
        output.trim(),
        format!("status=allowed\nattestation={}", attestation.display())
    );
    let envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&attestation).expect("the attestation"))
            .expect("JSON");
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    assert!(
        action.contains("actions/upload-artifact@v4"),
        "the action uploads it"
    );

    // Without a token, it says what is missing and fails.
    let out = Command::new(root.join("scripts/ci/github-check.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GAVEL_MANIFEST", &manifest)
        .env("GAVEL_URL", &server.url)
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("token"));
}

/// The GitLab template's script, as a job runs it: CI_PROJECT_DIR and the
/// CI/CD variables; both reports land where the template's artifacts say.
#[test]
fn the_gitlab_template_writes_its_reports_and_fails_the_job_when_blocked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let template =
        std::fs::read_to_string(root.join("docs/ci/gitlab-ci.yml")).expect("the template");
    assert!(template.contains("codequality: gl-code-quality-report.json"));
    assert!(template.contains("junit: gavel-junit.xml"));
    assert!(template.contains("scripts/ci/gitlab-check.sh"));

    let dir = tempfile::tempdir().expect("tempdir");
    let (db, manifest) = store(dir.path());
    let token = gate_token(&db);
    let server = common::server::Server::start(&db);
    let project = dir.path().join("project");
    std::fs::create_dir(&project).expect("project dir");
    let out = Command::new(root.join("scripts/ci/gitlab-check.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("CI_PROJECT_DIR", &project)
        .env("HOME", dir.path())
        .env("GAVEL_PATH", env!("CARGO_BIN_EXE_gavel"))
        .env("GAVEL_MANIFEST", &manifest)
        .env("GAVEL_URL", &server.url)
        .env("GAVEL_TOKEN", &token)
        .output()
        .expect("the template's script runs");
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{log}");
    assert!(log.contains("BLOCKED"), "the log reads as text: {log}");
    let quality: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.join("gl-code-quality-report.json")).expect("code quality"),
    )
    .expect("JSON");
    assert_eq!(quality[0]["severity"], "blocker");
    assert_eq!(
        junit_read_by_python(&project.join("gavel-junit.xml")).1,
        "1",
        "one failure"
    );
}
