//! The built binary on seeded temp stores, as scripts use it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const DEMO_USER: &str = gavel::seed::DEMO_USER;

fn gavel(db: &Path) -> Command {
    let mut command = Command::cargo_bin("gavel").expect("binary");
    command
        .arg("--db")
        .arg(db)
        .env_remove("GAVEL_USER")
        .env_remove("GAVEL_DB");
    command
}

fn seeded(dir: &tempfile::TempDir, workflows: u32, seed: u32) -> PathBuf {
    let db = dir.path().join(format!("seed-{workflows}-{seed}.db"));
    gavel(&db)
        .args([
            "seed",
            "--workflows",
            &workflows.to_string(),
            "--seed",
            &seed.to_string(),
            "--anchor",
            "2026-06-01",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{workflows} workflows")));
    db
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn json(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output).expect("valid JSON")
}

#[test]
fn queue_json_lists_items_with_their_current_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 400, 1);
    let output = gavel(&db)
        .args(["--user", DEMO_USER, "queue", "--json", "--limit", "20"])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let items = json(&output.stdout);
    let items = items.as_array().expect("an array");
    assert!(!items.is_empty(), "the demo user has work waiting");
    for item in items {
        assert!(
            item["workflow_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("wf-"))
        );
        assert!(
            item["agent_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("agt-"))
        );
        let role = item["current_step"]["role"]
            .as_str()
            .expect("current step role");
        assert!(
            [
                "technical_lead",
                "data_steward",
                "ethics_reviewer",
                "compliance_officer"
            ]
            .contains(&role),
            "{role}"
        );
    }
}

#[test]
fn approve_then_show_and_a_second_decision_by_the_same_person_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 400, 2);
    let output = gavel(&db)
        .args([
            "--user",
            DEMO_USER,
            "queue",
            "--json",
            "--role",
            "technical_lead",
            "--limit",
            "200",
        ])
        .output()
        .expect("run");
    let items = json(&output.stdout);
    // A two-step pii workflow: technical lead, then data steward — both roles
    // the demo user holds.
    let item = items
        .as_array()
        .expect("array")
        .iter()
        .find(|item| {
            item["triggered_by_policy"] == "pii_access_approval" && item["step_count"] == 2
        })
        .expect("a pii workflow waiting on a technical lead");
    let workflow_id = item["workflow_id"].as_str().expect("id");

    gavel(&db)
        .args([
            "--user",
            DEMO_USER,
            "approve",
            workflow_id,
            "--comment",
            "Checked the DPIA.",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("now waiting on a data steward"));

    let shown = gavel(&db)
        .args(["show", workflow_id, "--json"])
        .output()
        .expect("run");
    let workflow = json(&shown.stdout);
    assert_eq!(workflow["steps"][0]["status"], "approved");
    assert_eq!(workflow["steps"][0]["approver_email"], DEMO_USER);
    assert_eq!(workflow["steps"][0]["comment"], "Checked the DPIA.");
    assert_eq!(workflow["steps"][1]["status"], "pending");

    gavel(&db)
        .args(["--user", DEMO_USER, "approve", workflow_id])
        .assert()
        .code(5)
        .stderr(
            predicate::str::contains("one person decides at most one step")
                .and(predicate::str::contains("already_decided_a_step")),
        );

    let human = gavel(&db)
        .args(["show", workflow_id])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("step_approved") && text.contains("Checked the DPIA."),
        "{text}"
    );
}

#[test]
fn rejecting_needs_a_comment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 200, 3);
    gavel(&db)
        .args(["--user", DEMO_USER, "reject", "wf-0000001"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--comment"));
    gavel(&db)
        .args([
            "--user",
            DEMO_USER,
            "reject",
            "wf-9999999",
            "--comment",
            "no",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "workflow \"wf-9999999\" not found",
        ));
}

#[test]
fn deploy_check_exit_codes_follow_the_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("empty.db");
    gavel(&db)
        .args(["deploy", "check"])
        .arg(example("allowed.json"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ALLOWED"));
    gavel(&db)
        .args(["deploy", "check"])
        .arg(example("needs-approval.json"))
        .assert()
        .code(3)
        .stdout(
            predicate::str::contains("pii_access_approval")
                .and(predicate::str::contains("risk_tier_medium")),
        );
    gavel(&db)
        .args(["deploy", "check"])
        .arg(example("blocked.json"))
        .assert()
        .code(4)
        .stdout(predicate::str::contains(
            "external tools web_search, crm_api are not approved: get them approved or remove them",
        ));
    gavel(&db)
        .args(["deploy", "check"])
        .arg(example("hr-screener.json"))
        .assert()
        .code(4)
        .stdout(predicate::str::contains("run a bias audit"));
    let checked = gavel(&db)
        .args(["deploy", "check", "--json"])
        .arg(example("blocked.json"))
        .output()
        .expect("run");
    assert_eq!(checked.status.code(), Some(4));
    assert_eq!(json(&checked.stdout)["status"], "blocked");
}

#[test]
fn bad_manifests_exit_2_saying_what_and_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("empty.db");
    gavel(&db)
        .args(["deploy", "check"])
        .arg(example("bad-unknown-risk.json"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("risk_tier")
                .and(predicate::str::contains("unknown variant `extreme`")),
        );
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "{ \"agent_id\": ").expect("write");
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&not_json)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1"));
    gavel(&db)
        .args(["deploy", "check", "/no/such/manifest.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
    gavel(&db)
        .args(["deploy", "check", "-"])
        .write_stdin("{\"agent_id\": \"x\"}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("name: missing field"));
}

#[test]
fn the_hr_flow_from_blocked_to_pending_through_a_recorded_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("hr.db");
    let requested = gavel(&db)
        .args(["deploy", "request", "--json"])
        .arg(example("hr-screener.json"))
        .output()
        .expect("run");
    assert!(requested.status.success());
    assert_eq!(json(&requested.stdout)["status"], "blocked");
    gavel(&db)
        .args(["--user", "ml@example.com", "audit", "record"])
        .arg(example("hr-screener-audit.json"))
        .assert()
        .success()
        .stdout(predicate::str::contains("PASS").and(predicate::str::contains("only 24 cases")));
    gavel(&db)
        .args(["deploy", "check"])
        .arg(example("hr-screener.json"))
        .assert()
        .code(3);
    let audits = gavel(&db)
        .args(["audit", "show", "agt-resume-screener", "--json"])
        .output()
        .expect("run");
    assert_eq!(json(&audits.stdout)[0]["disparate_impact_ratio"], 0.884);
}

#[test]
fn the_trail_verifies_and_tampering_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 200, 4);
    gavel(&db)
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("audit trail intact"));
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute(
            "UPDATE trail SET actor = 'mallory@evil.example' WHERE seq = 10",
            [],
        )
        .expect("tamper");
    }
    gavel(&db)
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("BROKEN").and(predicate::str::contains("event 10")));
}

#[test]
fn seeding_is_deterministic_for_a_seed_and_anchor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dump = |db: &Path| {
        let output = gavel(db)
            .args([
                "--user", DEMO_USER, "queue", "--all", "--json", "--limit", "500",
            ])
            .output()
            .expect("run");
        assert!(output.status.success());
        output.stdout
    };
    let first = seeded(&dir, 300, 9);
    let other_dir = tempfile::tempdir().expect("tempdir");
    let second = seeded(&other_dir, 300, 9);
    assert_eq!(dump(&first), dump(&second));
    let different = seeded(&dir, 300, 10);
    assert_ne!(dump(&first), dump(&different));
    gavel(&first)
        .args(["seed", "--workflows", "10"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already holds"));
}

#[test]
fn users_get_a_token_once_and_unknown_users_are_told_how_to_fix_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("users.db");
    let added = gavel(&db)
        .args([
            "users",
            "add",
            "kim@example.com",
            "--roles",
            "data_steward,ml_engineer",
        ])
        .output()
        .expect("run");
    assert!(added.status.success());
    let token = String::from_utf8_lossy(&added.stdout).trim().to_owned();
    assert!(token.starts_with("gvl_") && token.len() > 20, "{token}");
    gavel(&db)
        .args(["users", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("kim@example.com  data_steward, ml_engineer")
                .and(predicate::str::contains(&token).not()),
        );
    gavel(&db)
        .args(["users", "add", "x@example.com", "--roles", "wizard"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown Role \"wizard\""));
    gavel(&db)
        .args(["--user", "nobody@example.com", "queue"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "gavel users add nobody@example.com",
        ));
    gavel(&db)
        .args(["queue"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--user"));
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["queue", "--help"],
        vec!["deploy", "check", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["seed", "--help"],
    ] {
        Command::cargo_bin("gavel")
            .expect("binary")
            .args(&args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
}

#[test]
fn escape_sequences_from_the_store_never_reach_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("evil.db");
    let manifest = std::fs::read_to_string(example("needs-approval.json")).expect("read");
    let evil = manifest.replace(
        "Claims Triage Assistant",
        "Claims\\u001b]0;pwned\\u0007\\u001b[2J Bot",
    );
    // The manifest parser refuses control characters outright...
    gavel(&db)
        .args(["deploy", "check", "-"])
        .write_stdin(evil.clone())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("control characters"));
    // ...and a store edited behind Gavel's back is still rendered inert.
    gavel(&db)
        .args(["deploy", "request"])
        .arg(example("needs-approval.json"))
        .assert()
        .success();
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute(
            "UPDATE workflows SET agent_name = 'Claims\u{1b}]0;pwned\u{7}\u{1b}[2J Bot'",
            [],
        )
        .expect("edit");
    }
    gavel(&db)
        .args([
            "users",
            "add",
            "lead@example.com",
            "--roles",
            "technical_lead",
        ])
        .assert()
        .success();
    let output = gavel(&db)
        .args(["--user", "lead@example.com", "queue"])
        .output()
        .expect("run");
    assert!(output.status.success());
    assert!(
        !output.stdout.contains(&0x1b) && !output.stdout.contains(&0x07),
        "raw control bytes reached stdout"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Claims\u{FFFD}]0;pwned"));
}

#[test]
fn dashboard_json_and_review_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 600, 12);
    let output = gavel(&db)
        .args(["dashboard", "--json"])
        .output()
        .expect("run");
    assert!(output.status.success());
    let dashboard = json(&output.stdout);
    let blocked_now = {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.query_row(
            "SELECT COUNT(*) FROM deployments WHERE status = 'blocked'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .expect("count")
    };
    assert_eq!(dashboard["blocked_now"], blocked_now);
    assert_eq!(
        dashboard["weekly_blocked"].as_array().map(Vec::len),
        Some(13)
    );
    let by_policy: u64 = dashboard["blocked_by_policy"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["count"].as_u64())
        .sum();
    assert!(
        by_policy >= blocked_now as u64,
        "every blocked deployment has a blocking policy"
    );
    gavel(&db)
        .args(["dashboard"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "Blocked now: {blocked_now}"
        )));

    let (submitted, assigned): (String, String) = {
        let conn = rusqlite::Connection::open(&db).expect("open");
        let one = |status: &str| {
            conn.query_row(
                "SELECT review_id FROM reviews WHERE status = ?1 LIMIT 1",
                [status],
                |row| row.get::<_, String>(0),
            )
            .expect(status)
        };
        (one("submitted"), one("assigned"))
    };
    gavel(&db)
        .args(["review", "export", &submitted])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("# Ethics review: ")
                .and(predicate::str::contains("## Recommendation")),
        );
    gavel(&db)
        .args(["review", "export", &assigned])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "only submitted reviews are exported",
        ));
    gavel(&db)
        .args(["review", "export", "rev-nope"])
        .assert()
        .code(2);
}
