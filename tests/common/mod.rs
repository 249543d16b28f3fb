//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod browser;
pub mod certs;
pub mod conformance;
pub mod exceptions;
pub mod harness;
pub mod incidents;
pub mod notify;
pub mod obligations;
pub mod oidc;
pub mod postgres;
pub mod server;
pub mod tmux;

use std::path::{Path, PathBuf};

use gavel::domain::{Category, DataClassification, Manifest, RiskTier};

/// The real binary on a store, apart from the environment and from any
/// config file of the machine running the tests.
pub fn gavel(db: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("gavel").expect("binary");
    command
        .arg("--db")
        .arg(db)
        .env_remove("GAVEL_USER")
        .env_remove("GAVEL_DB")
        .env("GAVEL_CONFIG", "/dev/null")
        // What a client witnessed of a server stays with the test: servers
        // of other tests reuse ports, and a pin shared through the home
        // directory would read as the server's key changing (exit 6).
        .env("GAVEL_WITNESS_DIR", db.with_extension("witness"));
    command
}

/// Adds users to a store: (email, comma-separated roles or "").
/// A new service account's token (printed once by `users add --service`).
pub fn service_token(db: &Path, email: &str) -> String {
    let added = gavel(db)
        .args(["users", "add", email, "--service"])
        .output()
        .expect("add the service account");
    String::from_utf8_lossy(&added.stdout)
        .lines()
        .find(|line| line.starts_with("gvl_"))
        .expect("the token is printed once")
        .to_owned()
}

/// `user` reports a death with `agent`'s record: under the built-in
/// severities, its version is suspended at once.
pub fn report_death(db: &Path, user: &str, agent: &str) -> assert_cmd::assert::Assert {
    gavel(db)
        .args(["--user", user, "incident", "report", "--agent", agent])
        .args([
            "--severity",
            "death",
            "--summary",
            "it routed an ambulance away",
        ])
        .assert()
        .success()
}

pub fn add_users(db: &Path, users: &[(&str, &str)]) {
    for (email, roles) in users {
        let mut command = gavel(db);
        command.args(["users", "add", email]);
        if !roles.is_empty() {
            command.args(["--roles", roles]);
        }
        command.assert().success();
    }
}

/// Writes a hiring agent's manifest (human resources, version 1.0.0, of
/// the team People, owned by `owner`) into `dir` and requests it once as
/// its owner; the manifest's path.
/// Makes `text` the store's active policy set: written beside the store,
/// proposed by pat@example.com and approved by sam@example.com (both
/// policy admins the caller added), as version 2.
pub fn adopt_set(db: &Path, text: &str) {
    let set = db.with_extension("set.toml");
    std::fs::write(&set, text).expect("set");
    gavel(db)
        .args(["--user", "pat@example.com", "policy", "propose"])
        .arg(&set)
        .assert()
        .success();
    gavel(db)
        .args(["--user", "sam@example.com", "policy", "approve", "2"])
        .assert()
        .success();
}

pub fn request_hiring_agent(db: &Path, dir: &Path, agent_id: &str, owner: &str) -> PathBuf {
    let manifest = dir.join("hiring.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": agent_id,
            "name": "Hiring screen",
            "team": "People",
            "owner": owner,
            "category": "human_resources",
            "data_classification": "internal",
            "has_external_tools": false,
            "risk_tier": "low",
            "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    gavel(db)
        .args(["--user", owner, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
    manifest
}

pub const REQUESTER: &str = "dev@example.com";
pub const LEAD: &str = "lead@example.com";
pub const STEWARD: &str = "steward@example.com";
pub const ML: &str = "ml@example.com";
pub const ETHICS: &str = "ethics@example.com";
pub const COMPLIANCE: &str = "compliance@example.com";
/// Holds every role, to test one-person-one-step.
pub const ALL_ROLES: &str = "all@example.com";
/// Holds no role and belongs to no team.
pub const NOBODY: &str = "nobody@example.com";
/// Two policy administrators, for four eyes on a policy set.
pub const ADMIN: &str = "admin@example.com";
pub const ADMIN2: &str = "admin2@example.com";

pub fn manifest(agent_id: &str) -> Manifest {
    Manifest::from_json(&format!(
        r#"{{
            "agent_id": "{agent_id}",
            "name": "Agent {agent_id}",
            "team": "Platform",
            "owner": "{REQUESTER}",
            "category": "customer_service",
            "data_classification": "internal",
            "has_external_tools": false,
            "risk_tier": "low",
            "version": "1.0.0"
        }}"#
    ))
    .expect("test manifest parses")
}

pub fn confidential(agent_id: &str) -> Manifest {
    let mut manifest = manifest(agent_id);
    manifest.agent.data_classification = DataClassification::Confidential;
    manifest
}

pub fn hr(agent_id: &str) -> Manifest {
    let mut manifest = manifest(agent_id);
    manifest.agent.category = Category::HumanResources;
    manifest
}

pub fn with_risk(mut manifest: Manifest, risk: RiskTier) -> Manifest {
    manifest.agent.risk_tier = risk;
    manifest
}

/// The built-in set with a 48-hour SLA on the technical lead's step,
/// reminded at three quarters, escalated 12 hours after the due time.
pub fn sla_policy_set() -> String {
    let builtin = gavel::domain::policy::set::BUILTIN_SET;
    let text = builtin.replace(
        r#"approval_chain = ["technical_lead", "data_steward"]"#,
        r#"approval_chain = [{ role = "technical_lead", sla = "48h" }, "data_steward"]"#,
    );
    assert_ne!(text, builtin);
    format!(
        "{text}\n[sla]\nremind_at = 0.75\nescalate_after = \"12h\"\nescalate_to = \"compliance_officer\"\n"
    )
}

/// The step of `workflow_id` that `email` decided, as `gavel show --json`
/// prints it.
pub fn step_decided_by(db: &Path, workflow_id: &str, email: &str) -> serde_json::Value {
    let shown = gavel(db)
        .args(["show", workflow_id, "--json"])
        .output()
        .expect("show");
    let workflow: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    workflow["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|step| step["approver_email"] == email)
        .cloned()
        .unwrap_or_else(|| panic!("no step decided by {email}: {workflow}"))
}
