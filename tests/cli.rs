//! The built binary on seeded temp stores, as scripts use it.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::gavel;
use predicates::prelude::*;

const DEMO_USER: &str = gavel::seed::DEMO_USER;

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

/// Adds a user to the store; returns their token.
fn add_user(db: &Path, email: &str, roles: &str, teams: &str) -> String {
    let mut command = gavel(db);
    command.args(["users", "add", email]);
    if !roles.is_empty() {
        command.args(["--roles", roles]);
    }
    if !teams.is_empty() {
        command.args(["--teams", teams]);
    }
    let output = command.output().expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
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

    // The same command again now means step 2, which the person may not
    // decide: the rule refuses it (it used to say "already recorded" and
    // exit 0, reporting a decision it never made)...
    gavel(&db)
        .args(["--user", DEMO_USER, "approve", workflow_id])
        .assert()
        .code(5)
        .stdout(predicate::str::contains("already recorded").not())
        .stderr(
            predicate::str::contains("already decided step 1")
                .and(predicate::str::contains("already_decided_a_step")),
        );
    // ...as it refuses any other decision by the same person.
    gavel(&db)
        .args([
            "--user",
            DEMO_USER,
            "reject",
            workflow_id,
            "--comment",
            "second thoughts",
        ])
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
    gavel(&db).args(["store", "init"]).assert().success();
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
        .stdout(
            predicate::str::contains("external tools web_search, crm_api are not approved")
                // Nothing of it was ever deployed: nothing keeps running.
                .and(predicate::str::contains(
                    "no version of this agent runs yet",
                )),
        );
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
    gavel(&db).args(["store", "init"]).assert().success();
    gavel(&db)
        .args(["deploy", "check"])
        .arg(example("bad-unknown-risk.json"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("risk_tier")
                .and(predicate::str::contains("unknown variant `extreme`")),
        );
    // A field given twice: the first says restricted and high, the last
    // public and low; no parser's choice decides, the manifest is refused.
    let twice = dir.path().join("twice.json");
    std::fs::write(
        &twice,
        r#"{"agent_id": "agt-twice", "name": "Twice", "team": "Platform", "owner": "a@example.com",
            "category": "finance", "data_classification": "restricted", "risk_tier": "high",
            "has_external_tools": false, "version": "1.0.0",
            "data_classification": "public", "risk_tier": "low"}"#,
    )
    .expect("write");
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&twice)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "\"data_classification\" is given twice",
        ));
    // Look-alike and path-like agent ids are refused, naming the rule.
    for id in ["AGT-X", "agt-x\u{200b}", "agt\u{202e}x", "../../etc/passwd"] {
        let odd = dir.path().join("odd.json");
        std::fs::write(
            &odd,
            serde_json::json!({
                "agent_id": id, "name": "Odd", "team": "Platform", "owner": "a@example.com",
                "category": "finance", "data_classification": "internal", "risk_tier": "low",
                "has_external_tools": false, "version": "1.0.0"
            })
            .to_string(),
        )
        .expect("write");
        gavel(&db)
            .args(["deploy", "check"])
            .arg(&odd)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is not a plain id"));
    }
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
    add_user(
        &db,
        "grace.mensah@northwind.example",
        "",
        "Talent Acquisition",
    );
    add_user(&db, "ml@example.com", "ml_engineer", "");
    let requested = gavel(&db)
        .args(["--user", "grace.mensah@northwind.example"])
        .args(["deploy", "request", "--json"])
        .arg(example("hr-screener.json"))
        .output()
        .expect("run");
    assert!(
        requested.status.success(),
        "{}",
        String::from_utf8_lossy(&requested.stderr)
    );
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
        // The trail refuses edits and deletions...
        for statement in [
            "UPDATE trail SET actor = 'mallory@evil.example' WHERE seq = 10",
            "DELETE FROM trail WHERE seq = (SELECT MAX(seq) FROM trail)",
        ] {
            let refused = conn.execute(statement, []).expect_err("append-only");
            assert!(refused.to_string().contains("append-only"), "{refused}");
        }
        // ...but whoever owns the file can drop the triggers: the chain
        // is what catches the edit then.
        conn.execute_batch("DROP TRIGGER trail_no_update; DROP TRIGGER trail_no_delete;")
            .expect("drop");
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

    // Swapping two events, hashes and all: the chain is the detector.
    let swapped = seeded(&dir, 200, 14);
    {
        let conn = rusqlite::Connection::open(&swapped).expect("open");
        conn.execute_batch(
            "DROP TRIGGER trail_no_update;
             UPDATE trail SET seq = -1 WHERE seq = 20;
             UPDATE trail SET seq = 20 WHERE seq = 21;
             UPDATE trail SET seq = 21 WHERE seq = -1;",
        )
        .expect("swap");
    }
    gavel(&swapped)
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("BROKEN").and(predicate::str::contains("event 20")));
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
        .stderr(predicate::str::contains(
            "roles: \"wizard\" is not in the policy set's vocabulary (allowed: technical_lead,",
        ));
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
    gavel(&db).args(["store", "init"]).assert().success();
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
    add_user(&db, "maya.rossi@northwind.example", "", "");
    gavel(&db)
        .args([
            "--user",
            "maya.rossi@northwind.example",
            "deploy",
            "request",
        ])
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

/// A manifest file for an agent, as `owner` of `team` would write it.
fn write_manifest(dir: &Path, name: &str, body: serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body.to_string()).expect("write manifest");
    path
}

fn agent_manifest(agent_id: &str, owner: &str, team: &str) -> serde_json::Value {
    serde_json::json!({
        "agent_id": agent_id,
        "name": format!("Agent {agent_id}"),
        "team": team,
        "owner": owner,
        "category": "human_resources",
        "data_classification": "confidential",
        "has_external_tools": false,
        "risk_tier": "high",
        "version": "1.0.0"
    })
}

#[test]
fn the_requester_is_the_acting_user_never_a_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    add_user(&db, "owner@example.com", "", "People");
    add_user(&db, "lead@example.com", "technical_lead", "People");
    let mut body = agent_manifest("agt-sod", "owner@example.com", "People");
    body["category"] = "engineering".into();
    body["requested_by"] = "someone.else@example.com".into();
    let forged = write_manifest(dir.path(), "forged.json", body.clone());
    gavel(&db)
        .args(["--user", "lead@example.com", "deploy", "request"])
        .arg(&forged)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("requested_by"));
    // Without --user nobody is requesting: refused.
    body.as_object_mut().expect("object").remove("requested_by");
    let plain = write_manifest(dir.path(), "plain.json", body);
    gavel(&db)
        .args(["deploy", "request"])
        .arg(&plain)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no user given"));
    // deploy check ignores requested_by.
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&forged)
        .assert()
        .code(3);
    // The lead requests; the workflow names the lead, who then cannot decide it.
    let output = gavel(&db)
        .args(["--user", "lead@example.com", "deploy", "request", "--json"])
        .arg(&plain)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let request = json(&output.stdout);
    assert_eq!(request["requested_by"], "lead@example.com");
    let workflow = request["workflow_ids"][0]
        .as_str()
        .expect("workflow")
        .to_owned();
    gavel(&db)
        .args(["--user", "lead@example.com", "approve", &workflow])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("separation_of_duties"));
}

#[test]
fn only_the_owner_or_a_team_member_with_a_role_requests_an_agent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    add_user(&db, "owner@example.com", "", "People");
    add_user(&db, "stranger@example.com", "", "");
    add_user(&db, "roleless@example.com", "", "People");
    let manifest = write_manifest(
        dir.path(),
        "hr.json",
        agent_manifest("agt-hr", "owner@example.com", "People"),
    );
    gavel(&db)
        .args(["--user", "owner@example.com", "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
    // Re-filing the agent as harmless by someone else is refused, and changes nothing.
    let mut harmless = agent_manifest("agt-hr", "stranger@example.com", "Elsewhere");
    harmless["category"] = "engineering".into();
    harmless["data_classification"] = "public".into();
    harmless["risk_tier"] = "low".into();
    let refile = write_manifest(dir.path(), "refile.json", harmless);
    for intruder in ["stranger@example.com", "roleless@example.com"] {
        gavel(&db)
            .args(["--user", intruder, "deploy", "request"])
            .arg(&refile)
            .assert()
            .code(5)
            .stderr(predicate::str::contains("only the owner of agt-hr"));
    }
    let agent = gavel(&db)
        .args(["audit", "show", "agt-hr", "--json"])
        .output()
        .expect("run");
    assert!(agent.status.success());
    let conn = rusqlite::Connection::open(&db).expect("open");
    let category: String = conn
        .query_row(
            "SELECT category FROM agents WHERE agent_id = 'agt-hr'",
            [],
            |row| row.get(0),
        )
        .expect("agent");
    assert_eq!(category, "human_resources");
}

#[test]
fn audits_need_the_role_and_cannot_grade_themselves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    add_user(
        &db,
        "grace.mensah@northwind.example",
        "",
        "Talent Acquisition",
    );
    add_user(&db, "ml@example.com", "ml_engineer", "");
    add_user(&db, "nobody@example.com", "", "");
    gavel(&db)
        .args([
            "--user",
            "grace.mensah@northwind.example",
            "deploy",
            "request",
        ])
        .arg(example("hr-screener.json"))
        .assert()
        .success();
    gavel(&db)
        .args(["--user", "nobody@example.com", "audit", "record"])
        .arg(example("hr-screener-audit.json"))
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "needs the ml_engineer or independent_auditor role",
        ));
    let audit: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(example("hr-screener-audit.json")).expect("read"),
    )
    .expect("json");
    let mut lenient = audit.clone();
    lenient["threshold"] = 0.05.into();
    let lenient = write_manifest(dir.path(), "lenient.json", lenient);
    gavel(&db)
        .args(["--user", "ml@example.com", "audit", "record"])
        .arg(&lenient)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("threshold"));
    let mut future = audit.clone();
    future["tested_at"] = "2999-01-01T00:00:00Z".into();
    let future = write_manifest(dir.path(), "future.json", future);
    gavel(&db)
        .args(["--user", "ml@example.com", "audit", "record"])
        .arg(&future)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("in the future"));
    let recorded = gavel(&db)
        .args(["--user", "ml@example.com", "audit", "record", "--json"])
        .arg(example("hr-screener-audit.json"))
        .output()
        .expect("run");
    assert!(recorded.status.success());
    let recorded = json(&recorded.stdout);
    assert_eq!(recorded["recorded_by"], "ml@example.com");
    assert!(recorded["recorded_at"].is_string());
}

#[test]
fn tools_are_approved_by_record_and_the_manifest_cannot_claim_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    add_user(&db, "steward@example.com", "data_steward", "");
    add_user(&db, "lead@example.com", "technical_lead", "");
    let mut claimed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example("blocked.json")).expect("read"))
            .expect("json");
    claimed["tools_approved"] = true.into();
    let claimed = write_manifest(dir.path(), "claimed.json", claimed);
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&claimed)
        .assert()
        .code(4)
        .stdout(predicate::str::contains(
            "tools_approved in the manifest is ignored",
        ));
    gavel(&db)
        .args([
            "--user",
            "lead@example.com",
            "tools",
            "approve",
            "web_search",
            "-c",
            "fine",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "data_steward or compliance_officer",
        ));
    for tool in ["web_search", "crm_api"] {
        gavel(&db)
            .args(["--user", "steward@example.com", "tools", "approve", tool])
            .args(["--comment", "\u{200B}"])
            .assert()
            .code(2);
        gavel(&db)
            .args(["--user", "steward@example.com", "tools", "approve", tool])
            .args(["--comment", "Vendor terms reviewed"])
            .assert()
            .success();
    }
    gavel(&db)
        .args(["deploy", "check"])
        .arg(example("blocked.json"))
        .assert()
        .code(0);
    let listed = gavel(&db)
        .args(["tools", "list", "--json"])
        .output()
        .expect("run");
    let listed = json(&listed.stdout);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert_eq!(listed[0]["decided_by"], "steward@example.com");
}

#[test]
fn removed_users_cannot_act_and_tokens_rotate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    add_user(&db, "kim@example.com", "data_steward", "Payments,Treasury");
    let listed = gavel(&db)
        .args(["users", "list", "--json"])
        .output()
        .expect("run");
    let listed = json(&listed.stdout);
    assert_eq!(
        listed[0]["teams"],
        serde_json::json!(["Payments", "Treasury"])
    );
    gavel(&db)
        .args([
            "users",
            "update",
            "kim@example.com",
            "--roles",
            "compliance_officer",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("compliance_officer")
                .and(predicate::str::contains("Payments")),
        );
    gavel(&db)
        .args(["users", "add", "kim@example.com"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("users update"));
    let rotated = gavel(&db)
        .args(["users", "token", "kim@example.com", "--rotate"])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&rotated.stdout)
            .trim()
            .starts_with("gvl_")
    );
    gavel(&db)
        .args(["users", "remove", "kim@example.com"])
        .assert()
        .success();
    gavel(&db)
        .args(["--user", "kim@example.com", "queue"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("was removed"));
    let listed = gavel(&db)
        .args(["users", "list", "--json"])
        .output()
        .expect("run");
    assert_eq!(json(&listed.stdout), serde_json::json!([]));
    // The trail keeps who they were and that they went.
    let conn = rusqlite::Connection::open(&db).expect("open");
    let actions: Vec<String> = conn
        .prepare("SELECT action FROM trail WHERE entity_type = 'user' ORDER BY seq")
        .expect("prepare")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        actions,
        [
            "user_added",
            "user_updated",
            "token_rotated",
            "user_removed"
        ]
    );
}

#[test]
fn withdrawal_assignment_and_the_queue_of_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    add_user(&db, "owner@example.com", "", "People");
    add_user(&db, "co@example.com", "compliance_officer", "");
    add_user(&db, "eth@example.com", "ethics_reviewer", "");
    add_user(&db, "eth2@example.com", "ethics_reviewer", "");
    add_user(&db, "lead@example.com", "technical_lead", "");
    add_user(&db, "ml@example.com", "ml_engineer", "");
    gavel(&db)
        .args(["--user", "owner@example.com", "deploy", "request"])
        .arg(example("needs-approval.json"))
        .assert()
        .code(5)
        .stderr(predicate::str::contains("only the owner"));
    let mut body = agent_manifest("agt-w", "owner@example.com", "People");
    body["category"] = "engineering".into();
    let manifest = write_manifest(dir.path(), "w.json", body);
    let output = gavel(&db)
        .args(["--user", "owner@example.com", "deploy", "request", "--json"])
        .arg(&manifest)
        .output()
        .expect("run");
    let request = json(&output.stdout);
    let first = request["workflow_ids"][0].as_str().expect("id").to_owned();
    // Only the lead's actionable queue lists it; --all marks it for others.
    let queue = gavel(&db)
        .args(["--user", "ml@example.com", "queue", "--json"])
        .output()
        .expect("run");
    assert_eq!(json(&queue.stdout), serde_json::json!([]));
    let all = gavel(&db)
        .args(["--user", "ml@example.com", "queue", "--all", "--json"])
        .output()
        .expect("run");
    let all = json(&all.stdout);
    assert_eq!(all[0]["not_actionable"]["reason"], "role_not_held");
    // Nobody but the requester or a compliance officer withdraws; the
    // officer must say why.
    gavel(&db)
        .args(["--user", "lead@example.com", "withdraw", &first])
        .assert()
        .code(5);
    gavel(&db)
        .args([
            "--user",
            "co@example.com",
            "withdraw",
            &first,
            "--reason",
            "\u{2060}",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reason"));
    gavel(&db)
        .args([
            "--user",
            "co@example.com",
            "withdraw",
            &first,
            "--reason",
            "duplicate request",
        ])
        .assert()
        .success();
    let shown = gavel(&db)
        .args(["show", &first, "--json"])
        .output()
        .expect("run");
    assert_eq!(json(&shown.stdout)["status"], "withdrawn");

    // An HR agent's ethics step: assigned, then reassigned by the officer.
    let mut hr = agent_manifest("agt-rev", "owner@example.com", "People");
    hr["data_classification"] = "internal".into();
    let hr = write_manifest(dir.path(), "rev.json", hr);
    gavel(&db)
        .args(["--user", "owner@example.com", "deploy", "request"])
        .arg(&hr)
        .assert()
        .success();
    let audit = write_manifest(
        dir.path(),
        "audit.json",
        serde_json::json!({"agent_id": "agt-rev", "agent_version": "1.0.0", "groups": [
            {"group": "a", "positive": 50, "total": 100}, {"group": "b", "positive": 48, "total": 100}]}),
    );
    gavel(&db)
        .args(["--user", "ml@example.com", "audit", "record"])
        .arg(&audit)
        .assert()
        .success();
    let output = gavel(&db)
        .args(["--user", "owner@example.com", "deploy", "request", "--json"])
        .arg(&hr)
        .output()
        .expect("run");
    let request = json(&output.stdout);
    let workflow = request["workflow_ids"][0].as_str().expect("id").to_owned();
    gavel(&db)
        .args([
            "--user",
            "lead@example.com",
            "review",
            "assign",
            &workflow,
            "--to",
            "eth@example.com",
        ])
        .assert()
        .code(5);
    gavel(&db)
        .args([
            "--user",
            "co@example.com",
            "review",
            "assign",
            &workflow,
            "--to",
            "eth@example.com",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("assigned to eth@example.com"));
    gavel(&db)
        .args([
            "--user",
            "co@example.com",
            "review",
            "assign",
            &workflow,
            "--to",
            "eth2@example.com",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("assigned to eth2@example.com"));
    let conn = rusqlite::Connection::open(&db).expect("open");
    let reassigned: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM trail WHERE action = 'review_reassigned'",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(reassigned, 1);
}

/// Setting a row's state with SQL leaves the chain intact: replay is the
/// detector, and names the entity.
#[test]
fn replay_catches_state_set_behind_the_trails_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 300, 6);
    gavel(&db)
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("replay to their stored state"));
    let pick = |sql: &str| -> String {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.query_row(sql, [], |row| row.get(0)).expect(sql)
    };
    let edits = [
        (
            pick("SELECT workflow_id FROM workflows WHERE status = 'in_progress' LIMIT 1"),
            "UPDATE workflows SET status = 'approved' WHERE workflow_id = ?1",
            "status approved stored, in_progress replayed",
        ),
        (
            pick("SELECT deployment_id FROM deployments WHERE status = 'blocked' LIMIT 1"),
            "UPDATE deployments SET status = 'allowed' WHERE deployment_id = ?1",
            "status allowed stored, blocked replayed",
        ),
        (
            pick("SELECT review_id FROM reviews WHERE status = 'submitted' LIMIT 1"),
            "UPDATE reviews SET answers = '{\"recommendation\":\"approve\"}' WHERE review_id = ?1",
            "the submitted answers differ",
        ),
    ];
    for (id, edit, said) in edits {
        let copy = dir.path().join(format!("edited-{id}.db"));
        std::fs::copy(&db, &copy).expect("copy");
        rusqlite::Connection::open(&copy)
            .expect("open")
            .execute(edit, [&id])
            .expect("edit");
        gavel(&copy)
            .args(["audit", "verify"])
            .assert()
            .code(1)
            .stdout(
                predicate::str::contains("hash chain intact")
                    .and(predicate::str::contains(format!(
                        "{id} differs from its events"
                    )))
                    .and(predicate::str::contains(said)),
            );
    }
}

/// The Merkle log's stored interior hashes must give the root the events
/// give: a damaged or forged stored hash is named.
#[test]
fn the_merkle_logs_stored_hashes_must_agree_with_the_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 200, 8);
    let verified = gavel(&db)
        .args(["audit", "verify", "--json"])
        .output()
        .expect("run");
    assert!(verified.status.success());
    let report = json(&verified.stdout);
    let root = report["log_root"].as_str().expect("a root").to_owned();
    assert_eq!(root.len(), 64);
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        // The root is built from the hashes of the complete subtrees: overwrite
        // the largest, over the first 2^k events, with another valid-looking one.
        let events: i64 = conn
            .query_row("SELECT COUNT(*) FROM trail", [], |row| row.get(0))
            .expect("count");
        let level = (63 - (events as u64).leading_zeros()) as u8;
        conn.execute(
            "UPDATE log_hashes SET hash = zeroblob(32) WHERE idx = ?1",
            [tlog_tiles::stored_hash_index(level, 0) as i64],
        )
        .expect("forge");
    }
    gavel(&db)
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "Merkle log's stored hashes give root",
        ));
}

/// The detectors of a rewritten record, each named: a checkpoint kept
/// before catches truncation and a re-hashed chain that the store's own
/// checks pass; the key file is private; a server needs it.
#[test]
fn a_kept_checkpoint_catches_truncation_and_rewrites_the_store_checks_miss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 200, 5);
    let key_file = gavel::backend::local::logkey::default_path(&db);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("seed creates the key")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    gavel(&db)
        .args(["trail", "init"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("exists already"));
    let key = gavel(&db).args(["trail", "key"]).output().expect("run");
    let key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
    assert!(key.starts_with("gavel.log/seed-200-5-"), "{key}");
    let checkpoint = gavel(&db)
        .args(["trail", "checkpoint"])
        .output()
        .expect("run");
    assert!(checkpoint.status.success());
    let kept = dir.path().join("checkpoint.txt");
    std::fs::write(&kept, &checkpoint.stdout).expect("keep");
    gavel(&db)
        .args(["audit", "verify", "--checkpoint"])
        .arg(&kept)
        .args(["--key", &key])
        .assert()
        .success()
        .stdout(predicate::str::contains("checkpoint holds"));

    // Truncation: the last events removed (by someone who dropped the
    // triggers). The chain of what is left is intact; the checkpoint is the
    // detector.
    let truncated = dir.path().join("truncated.db");
    std::fs::copy(&db, &truncated).expect("copy");
    {
        let conn = rusqlite::Connection::open(&truncated).expect("open");
        conn.execute_batch(
            "DROP TRIGGER trail_no_delete;
             DELETE FROM trail WHERE seq > (SELECT MAX(seq) - 3 FROM trail);
             DELETE FROM log_hashes;",
        )
        .expect("truncate");
        gavel::backend::local::log::backfill(&gavel::db::Connection::sqlite(&conn))
            .expect("rebuild the log");
    }
    gavel(&truncated)
        .args(["audit", "verify", "--checkpoint"])
        .arg(&kept)
        .args(["--key", &key])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("events were removed"));

    // A rewrite: an early event and the record it pins changed together,
    // and the whole chain and log recomputed. Every check of the store
    // alone passes; the checkpoint does not.
    let rewritten = dir.path().join("rewritten.db");
    std::fs::copy(&db, &rewritten).expect("copy");
    {
        let mut conn = rusqlite::Connection::open(&rewritten).expect("open");
        let tx = conn.transaction().expect("tx");
        tx.execute_batch("DROP TRIGGER trail_no_update;")
            .expect("drop");
        tx.execute(
            "UPDATE trail SET actor = 'mallory@evil.example' WHERE seq = (SELECT MIN(seq) FROM trail WHERE action = 'audit_recorded')",
            [],
        )
        .expect("rewrite");
        tx.execute(
            "UPDATE audits SET body = json_set(body, '$.recorded_by', 'mallory@evil.example')
             WHERE audit_id = (SELECT entity_id FROM trail WHERE seq = (SELECT MIN(seq) FROM trail WHERE action = 'audit_recorded'))",
            [],
        )
        .expect("rewrite the audit it pins");
        let events: Vec<(i64, gavel::domain::TrailEntry)> = tx
            .prepare("SELECT seq, at, actor, entity_type, entity_id, action, before_version, after_version, details FROM trail ORDER BY seq")
            .expect("prepare")
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    gavel::domain::TrailEntry {
                        at: chrono::DateTime::from_timestamp_millis(row.get(1)?).expect("time"),
                        actor: row.get(2)?,
                        entity_type: row.get(3)?,
                        entity_id: row.get(4)?,
                        action: row.get(5)?,
                        before_version: row.get(6)?,
                        after_version: row.get(7)?,
                        details: row.get(8)?,
                    },
                ))
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let mut prev = gavel::domain::trail::GENESIS_HASH.to_owned();
        for (seq, entry) in &events {
            let hash = gavel::domain::trail::chain_hash(&prev, *seq, entry);
            tx.execute(
                "UPDATE trail SET hash = ?1 WHERE seq = ?2",
                rusqlite::params![hash, seq],
            )
            .expect("rehash");
            prev = hash;
        }
        tx.execute("DELETE FROM log_hashes", []).expect("clear");
        gavel::backend::local::log::backfill(&gavel::db::Connection::sqlite(&tx))
            .expect("rebuild the log");
        tx.commit().expect("commit");
    }
    gavel(&rewritten)
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("audit trail intact"));
    gavel(&rewritten)
        .args(["audit", "verify", "--checkpoint"])
        .arg(&kept)
        .args(["--key", &key])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("the record was rewritten"));

    // A checkpoint of another log, or checked with another key, is refused.
    let other = seeded(&dir, 50, 1);
    let foreign = gavel(&other)
        .args(["trail", "checkpoint"])
        .output()
        .expect("run");
    let foreign_file = dir.path().join("foreign.txt");
    std::fs::write(&foreign_file, &foreign.stdout).expect("write");
    gavel(&db)
        .args(["audit", "verify", "--checkpoint"])
        .arg(&foreign_file)
        .args(["--key", &key])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not signed by the log's key"));

    // A server will not start on a store without its key.
    let bare = dir.path().join("bare.db");
    gavel::backend::local::LocalStore::open(&bare).expect("store");
    gavel(&bare)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gavel trail init"));
}

/// Writing to a closed pipe ends the command quietly, like other Unix
/// tools: no panic message, no error.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 2000, 3);
    let errors = dir.path().join("stderr.txt");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} --db {} --user {DEMO_USER} queue --all --json --limit 500 2>{} | head -c 100 >/dev/null",
            env!("CARGO_BIN_EXE_gavel"),
            db.display(),
            errors.display()
        ))
        .status()
        .expect("run");
    assert!(status.success());
    let stderr = std::fs::read_to_string(&errors).expect("stderr");
    assert!(stderr.is_empty(), "{stderr}");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Stores, their -wal and -shm, keys and the directories Gavel creates are
/// private to the user, whatever the umask.
#[test]
fn what_gavel_creates_is_private_whatever_the_umask() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("a/b/store.db");
    let seeded = dir.path().join("c/seeded.db");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 022; {gavel} --db {store} users add kim@example.com --roles data_steward >/dev/null 2>&1 && {gavel} --db {seeded} seed --workflows 50 >/dev/null 2>&1",
            gavel = env!("CARGO_BIN_EXE_gavel"),
            store = store.display(),
            seeded = seeded.display(),
        ))
        .status()
        .expect("run");
    assert!(status.success());
    for file in [
        store.clone(),
        gavel::backend::local::logkey::default_path(&store),
        seeded.clone(),
        gavel::backend::local::logkey::default_path(&seeded),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    for made in [
        dir.path().join("a"),
        dir.path().join("a/b"),
        dir.path().join("c"),
    ] {
        assert_eq!(mode(&made), 0o700, "{}", made.display());
    }
    // The library path too (this test runs with the runner's umask): the
    // store, and the -wal and -shm SQLite makes beside it while it is open.
    let library = dir.path().join("d/e/library.db");
    let open = gavel::backend::local::LocalStore::open(&library).expect("store");
    open.add_user("x@example.com", "X", &[]).expect("write");
    for file in ["library.db", "library.db-wal", "library.db-shm"] {
        assert_eq!(mode(&dir.path().join("d/e").join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&dir.path().join("d")), 0o700);
}

/// Only the commands that create stores make one; a missing, empty or
/// foreign file is a clear error naming it and `gavel store check`, and
/// stays byte-identical.
#[test]
fn missing_empty_or_foreign_stores_are_never_written_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.db");
    gavel(&missing)
        .args(["--user", "a@example.com", "queue"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no store at").and(predicate::str::contains("store init")),
        );
    assert!(!missing.exists(), "a read command creates nothing");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").expect("write");
    let foreign = dir.path().join("notes.db");
    std::fs::write(&foreign, b"these are my notes, not a database at all").expect("write");
    for (path, said) in [
        (&empty, "empty (0 bytes)"),
        (&foreign, "not a SQLite database"),
    ] {
        let before = std::fs::read(path).expect("read");
        for args in [
            vec!["--user", "a@example.com", "queue"],
            vec!["dashboard"],
            vec!["audit", "verify"],
        ] {
            gavel(path).args(&args).assert().code(2).stderr(
                predicate::str::contains(said).and(predicate::str::contains("gavel store check")),
            );
        }
        assert_eq!(std::fs::read(path).expect("read"), before, "left as it was");
        assert!(!dir.path().join(format!("{}-wal", path.display())).exists());
    }
    gavel(&missing).args(["store", "init"]).assert().success();
    gavel(&missing).args(["store", "init"]).assert().code(5);
    Command::cargo_bin("gavel")
        .expect("binary")
        .args(["store", "check"])
        .arg(&missing)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok"));
    Command::cargo_bin("gavel")
        .expect("binary")
        .args(["store", "check"])
        .arg(&foreign)
        .assert()
        .failure();

    // Another application's SQLite database: refused by every command,
    // left byte for byte as it was (no journal mode changed, no table).
    let theirs = dir.path().join("theirs.db");
    rusqlite::Connection::open(&theirs)
        .and_then(|conn| {
            conn.execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');")
        })
        .expect("another application's database");
    let before = std::fs::read(&theirs).expect("read");
    for args in [
        vec!["--user", "a@example.com", "queue"],
        vec!["dashboard"],
        vec!["users", "add", "a@example.com"],
    ] {
        gavel(&theirs)
            .args(&args)
            .assert()
            .failure()
            .stderr(predicate::str::contains("not a Gavel store"));
    }
    assert_eq!(
        std::fs::read(&theirs).expect("read"),
        before,
        "left as it was"
    );
    assert!(!dir.path().join("theirs.db-wal").exists());

    // `store check` fails on anything that is not a healthy Gavel store,
    // special files at once.
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for (path, said) in [
        (empty.clone(), "empty"),
        (theirs.clone(), "not a Gavel store"),
        (std::path::PathBuf::from("/dev/zero"), "not a regular file"),
        (fifo.clone(), "not a regular file"),
    ] {
        Command::cargo_bin("gavel")
            .expect("binary")
            .args(["store", "check"])
            .arg(&path)
            .timeout(std::time::Duration::from_secs(20))
            .assert()
            .code(1)
            .stdout(predicate::str::contains(said));
    }
    // A manifest named by a FIFO nobody writes to is empty, not a hang.
    gavel(&missing)
        .args(["deploy", "check"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2);
}

/// `gavel delegate` hands one's steps to someone holding the role; the
/// delegate approves for them with `--on-behalf-of`, `show` says so, and
/// once ended the delegation lets nobody decide for them.
#[test]
fn a_delegate_decides_for_someone_away_until_the_delegation_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    add_user(&db, "owner@example.com", "", "People");
    add_user(&db, "ana@example.com", "technical_lead", "");
    add_user(&db, "sam@example.com", "technical_lead", "");
    add_user(&db, "steward@example.com", "data_steward", "");
    let until = (chrono::Utc::now() + chrono::TimeDelta::days(14))
        .format("%Y-%m-%d")
        .to_string();
    gavel(&db)
        .args([
            "--user",
            "ana@example.com",
            "delegate",
            "--to",
            "steward@example.com",
            "--until",
            &until,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must already hold"));
    gavel(&db)
        .args([
            "--user",
            "ana@example.com",
            "delegate",
            "--to",
            "sam@example.com",
            "--until",
            &until,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("--on-behalf-of ana@example.com"));
    gavel(&db)
        .args(["--user", "sam@example.com", "delegate", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("from ana@example.com")
                .and(predicate::str::contains("active")),
        );

    let mut body = agent_manifest("agt-away", "owner@example.com", "People");
    body["category"] = "engineering".into();
    body["risk_tier"] = "low".into();
    let manifest = write_manifest(dir.path(), "away.json", body);
    let output = gavel(&db)
        .args(["--user", "owner@example.com", "deploy", "request", "--json"])
        .arg(&manifest)
        .output()
        .expect("run");
    let request = json(&output.stdout);
    let workflow = request["workflow_ids"][0]
        .as_str()
        .expect("workflow")
        .to_owned();
    gavel(&db)
        .args([
            "--user",
            "steward@example.com",
            "approve",
            &workflow,
            "--on-behalf-of",
            "ana@example.com",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("wrong_role"));
    gavel(&db)
        .args([
            "--user",
            "sam@example.com",
            "approve",
            &workflow,
            "--on-behalf-of",
            "ana@example.com",
            "--comment",
            "for Ana",
        ])
        .assert()
        .success();
    gavel(&db)
        .args(["show", &workflow])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "by sam@example.com on behalf of ana@example.com",
        ));
    // Sam decided for Ana: neither decides the data steward's step, and
    // Ana's delegation ended, Sam decides nothing more for her.
    gavel(&db)
        .args(["--user", "ana@example.com", "delegate", "end"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "sam@example.com no longer decides for you",
        ));
    let output = gavel(&db)
        .args(["--user", "owner@example.com", "deploy", "request", "--json"])
        .arg(write_manifest(dir.path(), "again.json", {
            let mut body = agent_manifest("agt-away-2", "owner@example.com", "People");
            body["category"] = "engineering".into();
            body["risk_tier"] = "low".into();
            body
        }))
        .output()
        .expect("run");
    let again = json(&output.stdout)["workflow_ids"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !again.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    gavel(&db)
        .args([
            "--user",
            "sam@example.com",
            "approve",
            &again,
            "--on-behalf-of",
            "ana@example.com",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("not_delegated"));
}
