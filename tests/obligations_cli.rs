//! `gavel intake` and `gavel obligations` as their users run them: the
//! requester answers the intake from a file, a compliance officer confirms
//! what is in place, everyone reads the posture, and `audit verify`
//! replays both.

mod common;

use std::path::{Path, PathBuf};

use common::gavel;
use predicates::prelude::*;

const DEV: &str = "dev@example.com";
const OFFICER: &str = "officer@example.com";
const AGENT: &str = "agt-hiring";

/// Half a year from today: within the three years a confirmation may hold,
/// whenever the tests run.
fn until() -> String {
    (chrono::Utc::now() + chrono::Duration::days(180))
        .format("%Y-%m-%d")
        .to_string()
}

fn store(dir: &Path) -> PathBuf {
    let db = dir.join("obligations.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(
        &db,
        &[
            (DEV, ""),
            (OFFICER, "compliance_officer"),
            ("pat@example.com", "policy_admin"),
            ("sam@example.com", "policy_admin"),
        ],
    );
    common::adopt_set(
        &db,
        &format!(
            "{}\n{}",
            gavel::domain::policy::set::BUILTIN_SET,
            common::obligations::FRAMEWORK
        ),
    );
    common::request_hiring_agent(&db, dir, AGENT, DEV);
    db
}

#[test]
fn the_requester_answers_the_intake_an_officer_confirms_and_the_posture_follows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = store(dir.path());

    gavel(&db)
        .args(["--user", OFFICER, "obligations", "--agent", AGENT])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("✗ obl.notice")
                .and(predicate::str::contains(
                    "missing: an intake answer to public_facing",
                ))
                .and(predicate::str::contains("… obl.later"))
                .and(predicate::str::contains("applies from 2099-01-01")),
        );

    let answers = dir.path().join("answers.toml");
    std::fs::write(&answers, "public_facing = true\n").expect("answers");
    gavel(&db)
        .args([
            "--user",
            DEV,
            "intake",
            "fill",
            AGENT,
            "--submit",
            "--answers",
        ])
        .arg(&answers)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "intake of agt-hiring@1.0.0 submitted",
        ));
    gavel(&db)
        .args(["--user", OFFICER, "intake", "show", AGENT])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Does it talk to the public? (public_facing): yes",
        ));

    // A wrong answers file is a clear error, not a panic.
    std::fs::write(&answers, "public_facing = \"perhaps\"\n").expect("answers");
    gavel(&db)
        .args([
            "--user",
            DEV,
            "intake",
            "fill",
            AGENT,
            "--submit",
            "--answers",
        ])
        .arg(&answers)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("public_facing"));

    let notice = dir.path().join("notice.pdf");
    std::fs::write(&notice, b"%PDF notice").expect("notice");
    gavel(&db)
        .args([
            "--user",
            DEV,
            "obligations",
            "confirm",
            "obl.notice",
            "--agent",
            AGENT,
        ])
        .args([
            "--link",
            "https://example.org/notice",
            "--until",
            "2099-01-01",
        ])
        .args(["--comment", "on the first screen"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "confirmed by a compliance officer",
        ));
    gavel(&db)
        .args([
            "--user",
            OFFICER,
            "obligations",
            "confirm",
            "obl.notice",
            "--agent",
            AGENT,
        ])
        .arg("--file")
        .arg(&notice)
        .args(["--until", &until(), "--comment", "on the first screen"])
        .assert()
        .success()
        .stdout(predicate::str::contains("cnf-0000001 confirmed obl.notice"));

    let posture = gavel(&db)
        .args(["--user", OFFICER, "obligations", "--agent", AGENT, "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let posture: serde_json::Value = serde_json::from_slice(&posture).expect("json");
    let notice = posture["obligations"]
        .as_array()
        .expect("obligations")
        .iter()
        .find(|obligation| obligation["obligation"] == "obl.notice")
        .expect("notice");
    assert_eq!(notice["state"], "met", "{notice}");
    assert!(
        notice["evidence"][0]["what"]
            .as_str()
            .expect("what")
            .contains(&format!(
                "sha256:{}",
                gavel::domain::digest::sha256_hex(b"%PDF notice")
            )),
        "{notice}"
    );
    gavel(&db)
        .args([
            "--user",
            OFFICER,
            "obligations",
            "--agent",
            AGENT,
            "--unmet",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("obl.review")
                .and(predicate::str::contains("obl.notice").not()),
        );

    gavel(&db)
        .args(["--user", OFFICER, "obligations", "--unmet"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "agt-hiring  Hiring screen@1.0.0  People  1 met, 0 expiring, 1 unmet: obl.review",
        ));

    gavel(&db)
        .args(["--user", OFFICER, "audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 intakes, 1 confirmations, 0 exceptions and 0 incidents replay",
        ));

    // The evidence pack carries the posture, judged from its own records,
    // and verifies offline; a posture its records do not give is caught.
    let pack = dir.path().join("pack.zip");
    gavel(&db)
        .args([
            "--user", OFFICER, "evidence", "export", "--agent", AGENT, "--out",
        ])
        .arg(&pack)
        .assert()
        .success();
    gavel(&db)
        .args(["evidence", "verify", "--trust-pack-key"])
        .arg(&pack)
        .assert()
        .success();
    let mut files =
        gavel::evidence::pack::unzip(&std::fs::read(&pack).expect("pack")).expect("unzip");
    let posture = files
        .iter_mut()
        .find(|file| file.path == gavel::evidence::obligations::POSTURE)
        .expect("obligations/posture.json is in the pack");
    let mut packed: gavel::evidence::obligations::PackedPosture =
        serde_json::from_slice(&posture.bytes).expect("posture");
    let carried = packed
        .posture
        .obligations
        .iter_mut()
        .find(|obligation| obligation.obligation == "obl.review")
        .expect("obl.review");
    assert!(matches!(
        carried.state,
        gavel::domain::obligations::State::Unmet { .. }
    ));
    assert!(gavel::evidence::obligations::check(&files).is_empty());
    carried.state = gavel::domain::obligations::State::Met;
    let posture = files
        .iter_mut()
        .find(|file| file.path == gavel::evidence::obligations::POSTURE)
        .expect("posture");
    posture.bytes = serde_json::to_vec(&packed).expect("json");
    let problems = gavel::evidence::obligations::check(&files);
    assert!(
        problems.iter().any(|problem| problem
            .contains("obl.review is unmet judged from the pack's records, met as carried")),
        "{problems:?}"
    );
}

#[test]
fn a_tampered_confirmation_is_caught_by_audit_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = store(dir.path());
    gavel(&db)
        .args([
            "--user",
            OFFICER,
            "obligations",
            "confirm",
            "obl.notice",
            "--agent",
            AGENT,
        ])
        .args(["--link", "https://example.org/notice", "--until", &until()])
        .args(["--comment", "on the first screen"])
        .assert()
        .success();
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute(
            "UPDATE obligation_confirmations SET valid_until = valid_until + 86400000 * 3650",
            [],
        )
        .expect("tamper");
    }
    gavel(&db)
        .args(["--user", OFFICER, "audit", "verify"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("confirmation cnf-0000001 differs"));
}

/// The agents `gavel audit due --json` lists, with the policies requiring
/// each one's audit.
fn due(db: &Path) -> Vec<(String, Vec<String>)> {
    let out = gavel(db)
        .args(["--user", OFFICER, "audit", "due", "--json"])
        .output()
        .expect("audit due");
    assert!(out.status.success(), "{out:?}");
    let standings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    standings
        .iter()
        .map(|standing| {
            (
                standing["agent_id"].as_str().unwrap_or_default().to_owned(),
                serde_json::from_value(standing["required_by"].clone()).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_bias_audit_policy_reading_the_intake_holds_the_agents_its_answers_say() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("due.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(
        &db,
        &[
            (DEV, ""),
            (OFFICER, "compliance_officer"),
            ("steward@example.com", "data_steward"),
            ("pat@example.com", "policy_admin"),
            ("sam@example.com", "policy_admin"),
        ],
    );
    common::adopt_set(
        &db,
        &format!(
            "{}\n{}\n{}",
            gavel::domain::policy::set::BUILTIN_SET,
            common::obligations::FRAMEWORK,
            r#"
[[policy]]
policy_id = "public_facing_audit"
name = "Public-facing agents are audited"
description = "Agents that talk to the public show a passing bias audit."
action = "require_bias_audit"
condition = "intake.public_facing"
approval_chain = ["compliance_officer"]
bias_audit = { threshold = 0.8 }
"#
        ),
    );
    let manifest = dir.path().join("agent.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": "agt-campaigns", "name": "Campaigns", "team": "Growth",
            "owner": DEV, "category": "marketing", "data_classification": "internal",
            "has_external_tools": false, "risk_tier": "low", "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    gavel(&db)
        .args(["--user", DEV, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
    let held = || {
        (
            "agt-campaigns".to_owned(),
            vec!["public_facing_audit".to_owned()],
        )
    };
    // Unanswered, the condition cannot be evaluated: the audit is due
    // (failing closed).
    assert_eq!(due(&db), [held()]);

    let answers = dir.path().join("answers.toml");
    let answer = |public_facing: bool| {
        std::fs::write(&answers, format!("public_facing = {public_facing}\n")).expect("answers");
        gavel(&db)
            .args([
                "--user",
                DEV,
                "intake",
                "fill",
                "agt-campaigns",
                "--submit",
                "--answers",
            ])
            .arg(&answers)
            .assert()
            .success();
    };
    answer(true);
    assert_eq!(due(&db), [held()]);
    // "Not public-facing" lowers what it is held to: kept aside until a
    // data steward (the classification_change chain) approves, then the
    // audit is no longer due.
    answer(false);
    assert_eq!(due(&db), [held()], "a pending change classifies nothing");
    gavel(&db)
        .args([
            "--user",
            "steward@example.com",
            "intake",
            "approve",
            "agt-campaigns",
            "-c",
            "internal tool",
        ])
        .assert()
        .success();
    assert_eq!(due(&db), []);
    // The kept standings agree with judging every agent afresh.
    gavel(&db)
        .args(["--user", OFFICER, "audit", "verify"])
        .assert()
        .success();
}
