//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod conformance;
pub mod harness;
pub mod server;
pub mod tmux;

use std::path::Path;

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
        .env("GAVEL_CONFIG", "/dev/null");
    command
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
