//! Policy sets through the built binary: the vocabulary refusing what it
//! does not hold, `policy plan` checking a file and simulating it.

mod common;

use std::path::{Path, PathBuf};

use common::gavel;
use predicates::prelude::*;

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(path)
}

fn seeded(dir: &tempfile::TempDir, workflows: u32) -> PathBuf {
    let db = dir.path().join("seeded.db");
    gavel(&db)
        .args([
            "seed",
            "--workflows",
            &workflows.to_string(),
            "--seed",
            "3",
            "--anchor",
            "2026-06-01",
        ])
        .assert()
        .success();
    db
}

/// A new store: version 1, the built-in set, is active.
fn fresh(dir: &tempfile::TempDir) -> PathBuf {
    let db = dir.path().join("fresh.db");
    gavel(&db).args(["store", "init"]).assert().success();
    db
}

fn manifest_with(dir: &tempfile::TempDir, field: &str, value: serde_json::Value) -> PathBuf {
    let text = std::fs::read_to_string(example("allowed.json")).expect("example");
    let mut manifest: serde_json::Value = serde_json::from_str(&text).expect("json");
    manifest[field] = value;
    let path = dir.path().join(format!("{field}.json"));
    std::fs::write(&path, manifest.to_string()).expect("write");
    path
}

#[test]
fn a_category_outside_the_vocabulary_is_refused_with_the_allowed_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh(&dir);
    let manifest = manifest_with(&dir, "category", serde_json::json!("internal_search"));
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&manifest)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains(
                "category: \"internal_search\" is not in the policy set's vocabulary",
            )
            .and(predicate::str::contains(
                "allowed: customer_service, human_resources",
            )),
        );
    let typo = manifest_with(
        &dir,
        "data_classification",
        serde_json::json!("confidental"),
    );
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&typo)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"confidental\" is not in"));
}

#[test]
fn labels_are_checked_where_they_enter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh(&dir);
    let good = manifest_with(&dir, "labels", serde_json::json!({ "region": "eu" }));
    gavel(&db)
        .args(["deploy", "check", "--json"])
        .arg(&good)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"region\": \"eu\""));
    let bad = manifest_with(&dir, "labels", serde_json::json!({ "Region": "eu" }));
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("labels.Region"));
    let many: serde_json::Map<String, serde_json::Value> = (0..33)
        .map(|n| (format!("k{n}"), serde_json::json!("v")))
        .collect();
    let too_many = manifest_with(&dir, "labels", serde_json::Value::Object(many));
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&too_many)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at most 32"));
}

#[test]
fn planning_the_active_set_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 200);
    let active = dir.path().join("active.toml");
    let shown = gavel(&db).args(["policy", "show"]).output().expect("show");
    assert!(shown.status.success());
    std::fs::write(&active, &shown.stdout).expect("write");
    gavel(&db)
        .args(["policy", "plan"])
        .arg(&active)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("no policy changes")
                .and(predicate::str::contains("no agent's outcome changes")),
        );
}

#[test]
fn a_plan_lists_the_diff_and_the_agents_it_moves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 300);
    let output = gavel(&db)
        .args(["policy", "plan", "--json"])
        .arg(example("policies/northwind.toml"))
        .output()
        .expect("plan");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let added: Vec<&str> = plan["diff"]["added"]
        .as_array()
        .expect("added")
        .iter()
        .filter_map(|id| id.as_str())
        .collect();
    // The seeded store's version 2 already has eu_residency (with another
    // chain and a data steward).
    assert_eq!(added, ["search_index_audit_log"]);
    assert!(
        plan["diff"]["changed"]
            .as_array()
            .is_some_and(|changed| changed.iter().any(|c| c[0] == "eu_residency")),
        "{plan}"
    );
    let newly = &plan["impact"]["changes"]["newly_need_approval"];
    assert!(newly["count"].as_u64().is_some_and(|n| n > 0), "{plan}");
    assert!(
        newly["first"]
            .as_array()
            .is_some_and(|first| !first.is_empty() && first.len() <= 5),
        "{plan}"
    );
    let by_team: u64 = newly["by_team"]
        .as_object()
        .expect("teams")
        .values()
        .filter_map(|n| n.as_u64())
        .sum();
    assert_eq!(Some(by_team), newly["count"].as_u64(), "teams add up");
}

#[test]
fn a_broken_set_lists_every_error_with_its_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 10);
    let set = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(example("policies/default.toml"))
        .expect("default")
        .replace(
            r#"condition = "agent.has_external_tools && !agent.tools_approved""#,
            r#"condition = "agent.has_external_tools && !agent.tools_aproved""#,
        )
        .replace(
            r#"approval_chain = ["technical_lead"]"#,
            r#"approval_chain = ["technical_leed"]"#,
        );
    std::fs::write(&set, text).expect("write");
    gavel(&db)
        .args(["policy", "plan"])
        .arg(&set)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("has 2 errors")
                .and(predicate::str::contains(
                    "policy external_api_block: condition unknown field agent.tools_aproved",
                ))
                .and(predicate::str::contains(
                    "policy risk_tier_medium: approval_chain: \"technical_leed\" is not in",
                )),
        );
    let syntax = dir.path().join("syntax.toml");
    std::fs::write(&syntax, "[vocabulary]\ncategories = [\"a\"\n").expect("write");
    gavel(&db)
        .args(["policy", "plan"])
        .arg(&syntax)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line "));
}

#[test]
fn versions_cannot_be_edited_or_deleted_even_in_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 10);
    let connection = rusqlite::Connection::open(&db).expect("open");
    for statement in [
        "UPDATE policy_sets SET source = 'description = \"mine\"' WHERE version = 1",
        "UPDATE policy_sets SET proposed_by = 'mallory@example.com' WHERE version = 1",
        "UPDATE policy_sets SET state = 'proposed' WHERE version = 1",
        "DELETE FROM policy_sets WHERE version = 1",
        "INSERT INTO policy_sets (version, source, source_hash, description, plan, proposed_by, proposed_at, state)
           VALUES (99, 'x', 'x', 'x', '{}', 'm', 0, 'active')",
    ] {
        let refused = connection.execute(statement, []);
        assert!(refused.is_err(), "{statement} was allowed");
    }
    let source: String = connection
        .query_row(
            "SELECT source FROM policy_sets WHERE version = 1",
            [],
            |row| row.get(0),
        )
        .expect("version 1");
    assert_eq!(source, gavel::domain::policy::set::BUILTIN_SET);
}

/// Someone with the file who drops the triggers can still rewrite the
/// active version's rules: `audit verify` replays every version from its
/// events and names the one whose text no longer hashes to what was
/// proposed and approved, or whose state moved without an event.
#[test]
fn audit_verify_names_a_policy_set_rewritten_behind_the_triggers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 10);
    gavel(&db)
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 policy set versions, "));
    let pristine = dir.path().join("pristine.db");
    std::fs::copy(&db, &pristine).expect("copy");
    let tamper = |db: &Path, sql: &str| {
        let connection = rusqlite::Connection::open(db).expect("open");
        connection
            .execute_batch(&format!(
                "DROP TRIGGER policy_sets_content_is_immutable;
                 DROP TRIGGER policy_sets_move_by_the_lifecycle;
                 {sql}"
            ))
            .expect("tamper");
    };
    // The text and its hash column both rewritten: the events hold the
    // hash that was approved.
    let weaker = gavel::domain::policy::set::BUILTIN_SET.replace("0.8", "0.5");
    let weaker_hash = gavel::domain::policy::set::Source::digest(&weaker);
    tamper(
        &db,
        &format!(
            "UPDATE policy_sets SET source = '{}', source_hash = '{weaker_hash}' WHERE version = 2",
            weaker.replace('\'', "''")
        ),
    );
    gavel(&db)
        .args(["audit", "verify"])
        .assert()
        .code(predicate::ne(0))
        .stdout(predicate::str::contains(
            "policy_set 2 differs from its events",
        ));
    // A proposal made active with no approval event.
    let promoted = dir.path().join("promoted.db");
    std::fs::copy(&pristine, &promoted).expect("copy");
    tamper(
        &promoted,
        "UPDATE policy_sets SET state = 'superseded' WHERE version = 2;
         UPDATE policy_sets SET state = 'active' WHERE version = 3;",
    );
    gavel(&promoted)
        .args(["audit", "verify"])
        .assert()
        .code(predicate::ne(0))
        .stdout(
            predicate::str::contains("policy_set 2 differs from its events").and(
                predicate::str::contains("state superseded stored, active replayed"),
            ),
        );
}

#[test]
fn the_lifecycle_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded(&dir, 50);
    for (email, roles) in [
        ("pat@example.com", "policy_admin"),
        ("sam@example.com", "policy_admin"),
    ] {
        gavel(&db)
            .args(["users", "add", email, "--roles", roles])
            .assert()
            .success();
    }
    let as_user = |email: &str| {
        let mut command = gavel(&db);
        command.args(["--user", email]);
        command
    };
    as_user("pat@example.com")
        .args(["policy", "propose"])
        .arg(example("policies/northwind.toml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("proposed policy set version"));
    let versions = as_user("pat@example.com")
        .args(["policy", "list", "--json"])
        .output()
        .expect("list");
    let versions: serde_json::Value = serde_json::from_slice(&versions.stdout).expect("json");
    let proposed = versions[0]["version"].as_i64().expect("newest first");
    as_user("pat@example.com")
        .args(["policy", "approve", &proposed.to_string()])
        .assert()
        .code(predicate::ne(0))
        .stderr(predicate::str::contains("four eyes"));
    as_user("sam@example.com")
        .args([
            "policy",
            "approve",
            &proposed.to_string(),
            "--comment",
            "ok",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("is active"));
    // `show` gives the file back byte for byte.
    let shown = as_user("sam@example.com")
        .args(["policy", "show"])
        .output()
        .expect("show");
    assert_eq!(
        shown.stdout,
        std::fs::read(example("policies/northwind.toml")).expect("file")
    );
    as_user("sam@example.com")
        .args(["policy", "diff", "1", &proposed.to_string()])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("+ eu_residency")
                // The text too: every condition the version adds.
                .and(predicate::str::contains("+ policy_id = \"eu_residency\""))
                .and(predicate::str::contains("+ condition = ")),
        );
    as_user("sam@example.com")
        .args(["policy", "history"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains(format!("v{proposed} proposed by pat@example.com")).and(
                predicate::str::contains(format!(
                    "v{proposed} approved by sam@example.com: \"ok\""
                )),
            ),
        );
    // The new vocabulary admits the organisation's own category at once.
    let search = manifest_with(&dir, "category", serde_json::json!("internal_search"));
    gavel(&db)
        .args(["deploy", "check"])
        .arg(&search)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "under policy set version {proposed}"
        )));
}
