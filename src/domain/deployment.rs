//! A deployment request as recorded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::agent::Agent;
use crate::domain::policy::evaluation::{DeploymentStatus, TriggeredPolicy};

/// A recorded deployment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeploymentRequest {
    pub deployment_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub team: String,
    pub agent_version: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub status: DeploymentStatus,
    pub triggered_policies: Vec<TriggeredPolicy>,
    pub blocking_reasons: Vec<String>,
    pub remediation: Vec<String>,
    /// The version that keeps running while this one is not live.
    pub running_version: Option<String>,
    pub workflow_ids: Vec<String>,
    /// The agent as requested, as the policies saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// The external tools the request named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_tools: Vec<String>,
    /// A request that lowers risk-relevant fields supersedes the agent's
    /// earlier requests, and becomes its record, only once approved.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supersedes_on_approval: bool,
    /// The policy set version the request was evaluated under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_set_version: Option<i64>,
    /// What the request ships, by digest, as its manifest named it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<crate::domain::manifest::Artifact>,
    /// The filed manifest's canonical digest (`sha256:…`,
    /// `Manifest::canonical_digest`): what an attestation names the
    /// version by. None on requests filed before Gavel kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
}

impl DeploymentRequest {
    /// SHA-256 of what was filed, as the policies saw it (the agent and
    /// the tools it names), over its JSON: the trail pins it, so a request
    /// edited afterwards shows.
    pub fn manifest_sha256(&self) -> Option<String> {
        let agent = self.agent.as_ref()?;
        let mut filed =
            serde_json::json!({ "agent": agent, "external_tools": self.external_tools });
        // Only when named, so requests filed before artifacts keep their hash.
        if !self.artifacts.is_empty() {
            filed["artifacts"] = serde_json::json!(self.artifacts);
        }
        Some(crate::domain::digest::sha256_hex(filed.to_string()))
    }
}
