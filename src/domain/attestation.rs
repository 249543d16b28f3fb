//! Signed approvals that deployment systems verify: an in-toto Statement v1
//! in a DSSE envelope (what Sigstore, SLSA and Kyverno's attestation checks
//! read), signed with the store's Ed25519 attestation key. The predicate
//! says what the approval rests on; a revocation, signed the same way, says
//! it no longer stands. Building them reads the store; this module is the
//! formats and the offline check.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Agent;
use crate::domain::log_proof::PackedEvent;
use crate::domain::manifest::Artifact;
use crate::domain::policy::evaluation::DeploymentStatus;
use crate::domain::policy::exceptions::AppliedException;

pub mod dsse;
pub mod verify;

/// The in-toto Statement's `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE `payloadType` of an in-toto Statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Gavel's predicate: a deployment that stands approved.
pub const APPROVAL_PREDICATE: &str = "https://gavel.dev/attestation/approval/v1";
/// Gavel's predicate: an approval that no longer stands.
pub const REVOCATION_PREDICATE: &str = "https://gavel.dev/attestation/revocation/v1";
/// The subject naming an agent version: `gavel:agent/ID@VERSION`.
pub fn agent_subject(agent_id: &str, version: &str) -> String {
    format!("gavel:agent/{agent_id}@{version}")
}

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement<P> {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: P,
}

/// A ResourceDescriptor naming what the statement is about, by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    /// `{"sha256": "<hex>"}`.
    pub digest: std::collections::BTreeMap<String, String>,
}

impl Subject {
    /// A subject of a `sha256:<hex>` digest.
    pub fn sha256(name: impl Into<String>, digest: &str) -> Subject {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        Subject {
            name: name.into(),
            digest: [("sha256".to_owned(), hex.to_owned())].into(),
        }
    }

    /// Its digest as `sha256:<hex>`, if it has one.
    pub fn sha256_digest(&self) -> Option<String> {
        self.digest.get("sha256").map(|hex| format!("sha256:{hex}"))
    }
}

/// The subjects of an agent version: itself by its manifest's digest, then
/// each artifact it ships.
pub fn subjects(
    agent_id: &str,
    version: &str,
    manifest_digest: &str,
    artifacts: &[Artifact],
) -> Vec<Subject> {
    std::iter::once(Subject::sha256(
        agent_subject(agent_id, version),
        manifest_digest,
    ))
    .chain(
        artifacts
            .iter()
            .map(|artifact| Subject::sha256(&artifact.name, &artifact.digest)),
    )
    .collect()
}

/// What an approval attests: the version stands approved, and on what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// `allowed` (no sign-off needed) or `approved` (people signed it off).
    pub outcome: DeploymentStatus,
    pub issued_at: DateTime<Utc>,
    /// When it became the agent's record.
    pub standing_since: DateTime<Utc>,
    /// When it stops standing without a new decision: recertification due,
    /// dormancy, an exception's end (the earliest). None: only a later
    /// decision ends it (ask online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// The agent as the policies saw it.
    pub agent: Agent,
    pub manifest_digest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
    pub deployment: DeploymentRef,
    pub policy_set: PolicySetRef,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflows: Vec<WorkflowRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audits: Vec<AuditRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<ReviewRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<AppliedException>,
    /// The obligations posture, where the set adopts frameworks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligations: Option<ObligationsRecord>,
    pub trail: TrailProof,
}

/// The request that stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRef {
    pub deployment_id: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
}

/// The policy-set version that judged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySetRef {
    pub version: i64,
    /// SHA-256 of the set's text.
    pub sha256: String,
}

/// One workflow's sign-off, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRecord {
    pub workflow_id: String,
    pub policy_id: String,
    pub steps: Vec<StepRecord>,
}

/// One step: its role and who signed it off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub role: crate::domain::Role,
    pub deciders: Vec<Decider>,
}

/// A person who approved a step, and on whose behalf (a delegation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decider {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    pub at: DateTime<Utc>,
}

/// A bias audit of the version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub audit_id: String,
    pub tested_at: DateTime<Utc>,
    pub passes: bool,
    pub disparate_impact_ratio: f64,
    pub independent: bool,
}

/// A submitted ethics review behind a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub review_id: String,
    pub template_id: String,
    pub reviewer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
}

/// The obligations that apply to the version, met and not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationsRecord {
    pub met: Vec<String>,
    pub unmet: Vec<String>,
}

/// The trail event that made the version stand, and the proof the signed
/// log holds it: `trail.event.leaf` is leaf `seq - 1` of the checkpoint's
/// tree, `trail.event.proof` its RFC 6962 inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailProof {
    pub event: PackedEvent,
    /// The C2SP signed checkpoint the proof is against.
    pub checkpoint: String,
}

/// What a revocation says: the version no longer stands, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub agent_id: String,
    pub version: String,
    pub revoked_at: DateTime<Utc>,
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remediation: Vec<String>,
}

/// What the server answers for an agent version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attested {
    /// The signed approval (a DSSE envelope).
    Issued(dsse::Envelope),
    /// The signed revocation: the version no longer stands.
    Revoked(dsse::Envelope),
}

impl Attested {
    pub fn envelope(&self) -> &dsse::Envelope {
        match self {
            Attested::Issued(envelope) | Attested::Revoked(envelope) => envelope,
        }
    }

    /// One line for the posture views, read from the payload the store
    /// signed (its own answer; `attest verify` checks a file's signature).
    /// Unsanitized.
    pub fn words(&self) -> String {
        let payload = self.envelope().payload_unchecked().unwrap_or_default();
        match self {
            Attested::Issued(_) => match serde_json::from_slice::<Statement<Approval>>(&payload) {
                Ok(statement) => {
                    let approval = &statement.predicate;
                    let until = approval.valid_until.map_or_else(
                        || "until a later decision".to_owned(),
                        |until| format!("valid until {}", until.format("%Y-%m-%d")),
                    );
                    format!(
                        "signed approval: stands ({}), {until}; {} subject(s): `gavel attest show {} {}`",
                        approval.outcome,
                        statement.subject.len(),
                        approval.agent.agent_id,
                        approval.agent.version
                    )
                }
                Err(_) => "signed approval: stands".into(),
            },
            Attested::Revoked(_) => match serde_json::from_slice::<Statement<Revocation>>(&payload)
            {
                Ok(statement) => format!(
                    "signed approval: REVOKED: {}",
                    statement
                        .predicate
                        .reasons
                        .first()
                        .map_or("", String::as_str)
                ),
                Err(_) => "signed approval: REVOKED".into(),
            },
        }
    }
}
