//! `gavel exception` as its users run it: the owner of a blocked agent
//! asks, a technical lead then a compliance officer approve, `deploy
//! check` names the exception and lets the version through, `audit
//! verify` replays it, and an exception stretched in the store is caught.

mod common;

use std::path::{Path, PathBuf};

use common::gavel;
use predicates::prelude::*;

const DEV: &str = "dev@example.com";
const LEAD: &str = "lead@example.com";
const OFFICER: &str = "officer@example.com";
const AGENT: &str = "agt-scraper";

/// A store with a blocked request of an agent calling an unapproved tool.
fn store(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("exceptions.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(
        &db,
        &[
            (DEV, ""),
            (LEAD, "technical_lead"),
            (OFFICER, "compliance_officer"),
        ],
    );
    let manifest = dir.join("scraper.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": AGENT,
            "name": "Price scraper",
            "team": "Pricing",
            "owner": DEV,
            "category": "operations",
            "data_classification": "internal",
            "has_external_tools": true,
            "external_tools": ["unvetted_scraper"],
            "risk_tier": "low",
            "version": "2.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    gavel(&db)
        .args(["--user", DEV, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains("BLOCKED"));
    (db, manifest)
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn ask(db: &Path, until: &str) -> assert_cmd::assert::Assert {
    gavel(db)
        .args([
            "--user",
            DEV,
            "exception",
            "request",
            "--agent",
            AGENT,
            "--version",
            "2.0.0",
            "--policy",
            "external_api_block",
            "--until",
            until,
            "--reason",
            "the vendor review of the scraper ends this month",
            "--ticket",
            "https://tickets.example.com/GOV-3",
            "--json",
        ])
        .assert()
}

fn granted(db: &Path) {
    ask(db, &in_days(20))
        .success()
        .stdout(predicate::str::contains("\"status\": \"pending\""));
    gavel(db)
        .args(["--user", OFFICER, "exception", "approve", "exc-0000001"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("technical lead"));
    gavel(db)
        .args(["--user", LEAD, "exception", "approve", "exc-0000001"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "step 2 (compliance officer): waiting",
        ));
    gavel(db)
        .args([
            "--user",
            OFFICER,
            "exception",
            "approve",
            "exc-0000001",
            "-c",
            "the logs are read daily",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(": active"));
}

#[test]
fn an_approved_exception_lets_the_version_through_and_replays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, manifest) = store(dir.path());
    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(4);
    ask(&db, &in_days(200))
        .failure()
        .stderr(predicate::str::contains("at most 90 days"));
    granted(&db);

    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("set aside by exception exc-0000001")
                .and(predicate::str::contains(
                    "approved by lead@example.com, officer@example.com",
                ))
                .and(predicate::str::contains("no other policy applies")),
        );
    gavel(&db)
        .args([
            "--user",
            DEV,
            "exception",
            "list",
            "--state",
            "active",
            "--json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("exc-0000001"));
    gavel(&db)
        .args(["--user", OFFICER, "dashboard"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Exceptions in force: 1"));
    gavel(&db)
        .args(["--user", OFFICER, "audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 exceptions and 0 incidents replay",
        ));

    // Revoked: the policy applies again at once.
    gavel(&db)
        .args([
            "--user",
            OFFICER,
            "exception",
            "revoke",
            "exc-0000001",
            "--reason",
            "the tool was approved",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(": revoked"));
    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(4);
}

#[test]
fn an_exception_stretched_in_the_store_is_caught_by_audit_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = store(dir.path());
    granted(&db);
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        let record: String = conn
            .query_row(
                "SELECT record FROM policy_exceptions WHERE exception_id = 'exc-0000001'",
                [],
                |row| row.get(0),
            )
            .expect("stored");
        let mut record: serde_json::Value = serde_json::from_str(&record).expect("json");
        record["until"] = serde_json::json!("2099-01-01T00:00:00Z");
        conn.execute(
            "UPDATE policy_exceptions SET record = ?1, ends_at = 4070908800000",
            [record.to_string()],
        )
        .expect("tamper");
    }
    gavel(&db)
        .args(["--user", OFFICER, "audit", "verify"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("exception exc-0000001 differs"));
}
