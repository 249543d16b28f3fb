//! `gavel incident` as its users run it: the owner of an agent in use
//! reports a death, `deploy check` blocks the version naming the incident,
//! a technical lead and a compliance officer lift the suspension (never
//! the person who asked), the compliance officer triages, records the
//! report and closes it; `audit verify` replays it, an evidence pack
//! carries and verifies it, and a suspension lifted in the store is caught.

mod common;

use std::path::{Path, PathBuf};

use common::gavel;
use predicates::prelude::*;

const DEV: &str = "dev@example.com";
const LEAD: &str = "lead@example.com";
const OFFICER: &str = "officer@example.com";
const STRANGER: &str = "stranger@example.com";
const AGENT: &str = "agt-router";

/// A store with an allowed agent in use.
fn store(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("incidents.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(
        &db,
        &[
            (DEV, ""),
            (LEAD, "technical_lead"),
            (OFFICER, "compliance_officer"),
            (STRANGER, ""),
        ],
    );
    let manifest = dir.join("router.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": AGENT,
            "name": "Dispatch router",
            "team": "Operations",
            "owner": DEV,
            "category": "operations",
            "data_classification": "internal",
            "has_external_tools": false,
            "risk_tier": "low",
            "version": "3.1.0"
        })
        .to_string(),
    )
    .expect("manifest");
    gavel(&db)
        .args(["--user", DEV, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains("ALLOWED"));
    (db, manifest)
}

fn incident(db: &Path, user: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    gavel(db)
        .args(["--user", user, "incident"])
        .args(args)
        .assert()
}

/// The owner reports a death: the version is suspended at once (the
/// incident is `id`).
fn reported(db: &Path, id: &str) {
    incident(
        db,
        DEV,
        &[
            "report",
            "--agent",
            AGENT,
            "--severity",
            "death",
            "--summary",
            "an ambulance was routed to the wrong town",
            "--became-aware-at",
            &chrono::Utc::now().format("%Y-%m-%d").to_string(),
        ],
    )
    .success()
    .stdout(predicate::str::contains(format!(
        "{id}: death incident with agt-router 3.1.0: open, suspended"
    )));
}

#[test]
fn a_suspension_blocks_the_gate_until_its_chain_lifts_it_and_the_incident_replays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, manifest) = store(dir.path());
    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(0);
    // A stranger's report suspends nothing until a compliance officer
    // triages it.
    incident(
        &db,
        STRANGER,
        &[
            "report",
            "--agent",
            AGENT,
            "--severity",
            "widespread",
            "--summary",
            "it looked wrong to me",
        ],
    )
    .success()
    .stdout(predicate::str::contains(": open\n"));
    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(0);

    reported(&db, "inc-0000002");
    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(4)
        .stdout(predicate::str::contains("suspended").and(predicate::str::contains("inc-0000002")));
    // The version's posture says what stands for it beside its duties.
    gavel(&db)
        .args(["--user", DEV, "obligations", "--agent", AGENT])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("after approval").and(predicate::str::contains(
                "incident inc-0000002 (death): open, suspended",
            )),
        );
    incident(&db, OFFICER, &["list", "--state", "suspended"])
        .success()
        .stdout(
            predicate::str::contains("inc-0000002")
                .and(predicate::str::contains("inc-0000001").not()),
        );

    incident(
        &db,
        DEV,
        &["lift", "inc-0000002", "--reason", "the map data is fixed"],
    )
    .success();
    incident(&db, DEV, &["approve-lift", "inc-0000002"])
        .failure()
        .stderr(predicate::str::contains(
            "lifting waits for a technical lead",
        ));
    incident(
        &db,
        LEAD,
        &["approve-lift", "inc-0000002", "-c", "fix reviewed"],
    )
    .success();
    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(4);
    incident(&db, OFFICER, &["approve-lift", "inc-0000002"])
        .success()
        .stdout(predicate::str::contains("lifted    at"));
    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(0);

    incident(
        &db,
        OFFICER,
        &[
            "close",
            "inc-0000002",
            "--cause",
            "c",
            "--corrective-action",
            "a",
        ],
    )
    .failure()
    .stderr(predicate::str::contains("triage it first"));
    incident(
        &db,
        OFFICER,
        &[
            "triage",
            "inc-0000002",
            "--severity",
            "death",
            "-c",
            "confirmed",
        ],
    )
    .success();
    incident(
        &db,
        OFFICER,
        &["confirm-report", "inc-0000002", "--reference", "PRV-2291"],
    )
    .success()
    .stdout(predicate::str::contains("reported").and(predicate::str::contains("PRV-2291")));
    incident(
        &db,
        OFFICER,
        &[
            "close",
            "inc-0000002",
            "--cause",
            "a stale map tile",
            "--corrective-action",
            "tiles refreshed nightly, with a check",
        ],
    )
    .success()
    .stdout(predicate::str::contains("closed    by officer@example.com"));

    gavel(&db)
        .args(["--user", OFFICER, "audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 incidents replay"));

    // The evidence pack carries both and verifies offline.
    let pack = dir.path().join("pack.zip");
    gavel(&db)
        .args([
            "--user", OFFICER, "evidence", "export", "--agent", AGENT, "--out",
        ])
        .arg(&pack)
        .assert()
        .success();
    let key = gavel(&db)
        .args(["--user", OFFICER, "trail", "key"])
        .output()
        .expect("key");
    let key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
    let verified = gavel(&dir.path().join("elsewhere.db"))
        .args(["evidence", "verify"])
        .arg(&pack)
        .args(["--key", &key, "--json"])
        .output()
        .expect("verify");
    let report: serde_json::Value = serde_json::from_slice(&verified.stdout).expect("a report");
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    let files = gavel::evidence::pack::unzip(&std::fs::read(&pack).expect("pack")).expect("unzip");
    let html = files
        .iter()
        .find(|file| file.path == "index.html")
        .map(|file| String::from_utf8_lossy(&file.bytes).into_owned())
        .expect("index.html");
    assert!(html.contains("<h2 id=\"incidents\">Incidents</h2>"));
    assert!(html.contains("a stale map tile"));
    assert!(
        files
            .iter()
            .any(|file| file.path == "incidents/inc-0000002.json")
    );
}

#[test]
fn a_suspension_lifted_in_the_store_is_caught_by_audit_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, manifest) = store(dir.path());
    reported(&db, "inc-0000001");
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        let record: String = conn
            .query_row(
                "SELECT record FROM incidents WHERE incident_id = 'inc-0000001'",
                [],
                |row| row.get(0),
            )
            .expect("stored");
        let mut record: serde_json::Value = serde_json::from_str(&record).expect("json");
        record["suspension"]["lifted_at"] = serde_json::json!("2026-12-01T00:00:00Z");
        conn.execute(
            "UPDATE incidents SET record = ?1, suspended = 0",
            [record.to_string()],
        )
        .expect("tamper");
    }
    // The forged lifting lets the version through the gate...
    gavel(&db)
        .args(["--user", DEV, "deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(0);
    // ...and the trail says it never happened.
    gavel(&db)
        .args(["--user", OFFICER, "audit", "verify"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("incident inc-0000001 differs"));
}

/// A report's deadline passes: the scheduler's pass tells the compliance
/// officers and the team once, the trail records it, replay accepts it.
#[test]
fn an_overdue_report_is_alerted_once_by_the_notification_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = store(dir.path());
    let aware = (chrono::Utc::now() - chrono::TimeDelta::days(20))
        .format("%Y-%m-%d")
        .to_string();
    incident(
        &db,
        DEV,
        &[
            "report",
            "--agent",
            AGENT,
            "--severity",
            "serious",
            "--summary",
            "dispatch times doubled for one district",
            "--became-aware-at",
            &aware,
        ],
    )
    .success()
    .stdout(predicate::str::contains("overdue since"));
    gavel(&db)
        .args(["notify", "run", "--once"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "1 steps or incident deadlines reminded or escalated",
        ));
    gavel(&db)
        .args(["notify", "run", "--once"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "0 steps or incident deadlines reminded or escalated",
        ));
    incident(&db, OFFICER, &["show", "inc-0000001", "--json"])
        .success()
        .stdout(predicate::str::contains("\"kind\": \"overdue\""));
    gavel(&db)
        .args(["--user", OFFICER, "audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 incidents replay"));
}
