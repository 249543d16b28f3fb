//! Deployment manifests and what the policies say about them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::agent::Agent;

use crate::domain::bias::BiasAudit;
use crate::domain::bias::verdict::{AuditFacts, Requirement, Verdict, judge};
use crate::domain::name::display_as_str;
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::policies::{Policy, PolicyAction};
use crate::domain::policy::set::PolicySet;
use crate::domain::policy::vocabulary::Vocabulary;
use crate::domain::role::Role;

/// The most bytes any single text field of a manifest may hold.
pub const MAX_FIELD_BYTES: usize = 256;
/// The most bytes a manifest file may hold.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// What `deploy check` and `deploy request` read: the agent as its team
/// describes it. Who asks is never part of it: the requester is whoever is
/// authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The agent as declared. `tools_approved` is always false here: tool
    /// approval is a record Gavel keeps, derived at evaluation.
    pub agent: Agent,
    /// Deprecated: when present it must name the authenticated user.
    pub requested_by: Option<String>,
    /// Names of the external tools the agent calls.
    pub external_tools: Vec<String>,
    /// A `tools_approved` the file declared; ignored, with a warning.
    pub declared_tools_approved: Option<bool>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest is {0} bytes; the most accepted is {MAX_MANIFEST_BYTES}")]
    TooLarge(usize),
    /// Not the shape the schema gives (a missing field, a wrong type).
    #[error("manifest is not valid: {path}: {message}")]
    Invalid { path: String, message: String },
    /// The right shape, but a value breaks a rule (empty text, say).
    #[error("manifest is not valid: {path}: {message}")]
    Rule { path: String, message: String },
}

/// Fields a manifest must have.
const REQUIRED: [&str; 9] = [
    "agent_id",
    "name",
    "team",
    "owner",
    "category",
    "data_classification",
    "has_external_tools",
    "risk_tier",
    "version",
];
/// Fields a manifest may have besides.
const OPTIONAL: [&str; 4] = ["external_tools", "labels", "requested_by", "tools_approved"];

/// The most labels an agent carries.
pub const MAX_LABELS: usize = 32;
/// The longest label value, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

/// A JSON value whose objects name each key once, at every depth: parsed
/// into `serde_json::Value` alone, the last of two equal keys would win.
struct UniqueKeys(serde_json::Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("{key:?} is given twice")));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(UniqueKeys(serde_json::Value::Object(object)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(value)) = seq.next_element()? {
            items.push(value);
        }
        Ok(UniqueKeys(serde_json::Value::Array(items)))
    }

    fn visit_bool<E>(self, value: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_i64<E>(self, value: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_f64<E>(self, value: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_str<E>(self, value: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_string<E>(self, value: String) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(serde_json::Value::Null))
    }
}

impl Manifest {
    /// Parses and checks a manifest; errors say what is wrong and where.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(text.len()));
        }
        // A field given twice (`risk_tier` "high" then "low") is refused,
        // whichever a parser would keep.
        let UniqueKeys(value) =
            serde_json::from_str(text).map_err(|err| ManifestError::Invalid {
                path: format!("line {} column {}", err.line(), err.column()),
                message: err.to_string(),
            })?;
        let serde_json::Value::Object(fields) = &value else {
            return Err(ManifestError::Invalid {
                path: "(top level)".into(),
                message: "expected a JSON object with the agent's fields".into(),
            });
        };
        let known = || REQUIRED.iter().chain(&OPTIONAL);
        if let Some(unknown) = fields.keys().find(|key| !known().any(|known| known == key)) {
            return Err(ManifestError::Invalid {
                path: unknown.clone(),
                message: format!(
                    "unknown field (known fields: {})",
                    known().copied().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        if let Some(missing) = REQUIRED.iter().find(|key| !fields.contains_key(**key)) {
            return Err(ManifestError::Invalid {
                path: (*missing).into(),
                message: "missing field".into(),
            });
        }
        let manifest: ManifestFields =
            serde_path_to_error::deserialize(&value).map_err(|err| ManifestError::Invalid {
                path: err.path().to_string(),
                message: err.inner().to_string(),
            })?;
        let manifest = manifest.into_manifest();
        manifest.check()?;
        Ok(manifest)
    }

    /// The manifest of an agent as stored (for tests and tools that start
    /// from a known agent).
    pub fn for_agent(agent: Agent, external_tools: Vec<String>) -> Manifest {
        Manifest {
            agent: Agent {
                tools_approved: false,
                ..agent
            },
            requested_by: None,
            external_tools,
            declared_tools_approved: None,
        }
    }

    fn check(&self) -> Result<(), ManifestError> {
        let agent = &self.agent;
        let text_fields = [
            ("agent_id", &agent.agent_id),
            ("name", &agent.name),
            ("team", &agent.team),
            ("owner", &agent.owner),
            ("version", &agent.version),
        ];
        for (path, value) in text_fields {
            check_text(path, value)?;
        }
        crate::domain::name::check_id("agent_id", &agent.agent_id).map_err(|message| {
            ManifestError::Rule {
                path: "agent_id".into(),
                message,
            }
        })?;
        if let Some(requested_by) = &self.requested_by {
            check_text("requested_by", requested_by)?;
        }
        for (index, tool) in self.external_tools.iter().enumerate() {
            check_text(&format!("external_tools[{index}]"), tool)?;
        }
        check_labels(&agent.labels)?;
        if self
            .requested_by
            .as_deref()
            .is_some_and(|email| !email.contains('@'))
        {
            return Err(ManifestError::Rule {
                path: "requested_by".into(),
                message: format!("{:?} is not an email address", self.requested_by),
            });
        }
        Ok(())
    }
}

impl Serialize for Manifest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let agent = &self.agent;
        ManifestFields {
            agent_id: agent.agent_id.clone(),
            name: agent.name.clone(),
            team: agent.team.clone(),
            owner: agent.owner.clone(),
            category: agent.category,
            data_classification: agent.data_classification,
            has_external_tools: agent.has_external_tools,
            tools_approved: self.declared_tools_approved,
            risk_tier: agent.risk_tier,
            version: agent.version.clone(),
            requested_by: self.requested_by.clone(),
            external_tools: self.external_tools.clone(),
            labels: agent.labels.clone(),
        }
        .serialize(serializer)
    }
}

fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), ManifestError> {
    let rule = |path: String, message: String| ManifestError::Rule { path, message };
    if labels.len() > MAX_LABELS {
        return Err(rule(
            "labels".into(),
            format!(
                "{} labels; an agent carries at most {MAX_LABELS}",
                labels.len()
            ),
        ));
    }
    for (key, value) in labels {
        if crate::domain::name::intern("label", key).is_err() {
            return Err(rule(
                format!("labels.{}", key.chars().take(64).collect::<String>()),
                "a label key is a snake_case name (a lower-case letter, then letters, digits or _; at most 63)".into(),
            ));
        }
        if value.len() > MAX_LABEL_BYTES {
            return Err(rule(
                format!("labels.{key}"),
                format!(
                    "is {} bytes; the most allowed is {MAX_LABEL_BYTES}",
                    value.len()
                ),
            ));
        }
        check_text(&format!("labels.{key}"), value)?;
    }
    Ok(())
}

fn check_text(path: &str, value: &str) -> Result<(), ManifestError> {
    let invalid = |message: String| ManifestError::Rule {
        path: path.to_owned(),
        message,
    };
    if value.trim().is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    if value.len() > MAX_FIELD_BYTES {
        return Err(invalid(format!(
            "is {} bytes; the most allowed is {MAX_FIELD_BYTES}",
            value.len()
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters".into()));
    }
    Ok(())
}

/// A deployment manifest as JSON: the agent's fields. The requester is the
/// authenticated user; `requested_by` is deprecated (when given it must name
/// that user) and `tools_approved` is ignored (tool approval is a record).
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Manifest)]
pub struct ManifestFields {
    agent_id: String,
    name: String,
    team: String,
    owner: String,
    category: crate::domain::agent::Category,
    data_classification: crate::domain::agent::DataClassification,
    has_external_tools: bool,
    /// Ignored: a tool is approved by `gavel tools approve`, not by the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    tools_approved: Option<bool>,
    /// The declared tier; it may raise, never lower, the minimum the policies derive.
    risk_tier: crate::domain::agent::RiskTier,
    version: String,
    /// Deprecated: the requester is the authenticated user; if given, it must name them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    requested_by: Option<String>,
    /// Names of the external tools the agent calls.
    #[serde(default)]
    external_tools: Vec<String>,
    /// The organisation's own facts about the agent, read by policy
    /// conditions as `agent.labels.KEY`: at most 32, keys snake_case names,
    /// values 1 to 256 bytes of text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
}

impl ManifestFields {
    fn into_manifest(self) -> Manifest {
        Manifest {
            agent: Agent {
                agent_id: self.agent_id,
                name: self.name,
                team: self.team,
                owner: self.owner,
                category: self.category,
                data_classification: self.data_classification,
                has_external_tools: self.has_external_tools,
                tools_approved: false,
                risk_tier: self.risk_tier,
                version: self.version,
                labels: self.labels,
            },
            requested_by: self.requested_by,
            external_tools: self.external_tools,
            declared_tools_approved: self.tools_approved,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    Allowed,
    PendingApproval,
    Blocked,
    Approved,
    Rejected,
    Withdrawn,
}

impl DeploymentStatus {
    pub const ALL: [DeploymentStatus; 6] = [
        DeploymentStatus::Allowed,
        DeploymentStatus::PendingApproval,
        DeploymentStatus::Blocked,
        DeploymentStatus::Approved,
        DeploymentStatus::Rejected,
        DeploymentStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Allowed => "allowed",
            DeploymentStatus::PendingApproval => "pending_approval",
            DeploymentStatus::Blocked => "blocked",
            DeploymentStatus::Approved => "approved",
            DeploymentStatus::Rejected => "rejected",
            DeploymentStatus::Withdrawn => "withdrawn",
        }
    }

    /// Statuses under which the requested version runs.
    pub fn is_live(self) -> bool {
        matches!(self, DeploymentStatus::Allowed | DeploymentStatus::Approved)
    }
}

display_as_str!(DeploymentStatus);

/// One policy that fired, and what it means for this deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TriggeredPolicy {
    pub policy_id: String,
    pub name: String,
    pub action: PolicyAction,
    /// Why it fired.
    pub reason: String,
    /// What it does to this deployment, and what to do about it.
    pub remediation: String,
    pub blocking: bool,
}

/// A workflow the deployment needs, before it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedWorkflow {
    pub policy_id: String,
    pub chain: Vec<Role>,
}

/// What the policies say about a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evaluation {
    pub status: DeploymentStatus,
    pub triggered_policies: Vec<TriggeredPolicy>,
    pub blocking_reasons: Vec<String>,
    pub remediation: Vec<String>,
    pub workflows: Vec<PlannedWorkflow>,
    /// The agent as the policies saw it: tool approval from the records,
    /// the risk tier raised to the minimum its category and data demand.
    pub agent: Agent,
    /// What Gavel changed or ignored in the manifest, and why.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Risk-relevant fields this request lowers against the agent's last
    /// approved or pending version.
    #[serde(default)]
    pub lowered: Vec<String>,
    /// The policy set version it was evaluated under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_set_version: Option<i64>,
}

/// What Gavel knows besides the manifest when it evaluates one.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The newest bias audit recorded for this agent *version*.
    pub latest_audit: Option<&'a BiasAudit>,
    /// The newest of any version, for policies that do not ask for an
    /// audit of each version.
    pub latest_audit_of_agent: Option<&'a BiasAudit>,
    /// When the evaluation happens: audits expire.
    pub now: DateTime<Utc>,
    /// Tools with an approval on record, lowercased.
    pub approved_tools: &'a BTreeSet<String>,
    /// The agent as last approved (or allowed) and as in its pending
    /// requests; a request lowering a risk-relevant field against any of
    /// them needs the `classification_change` sign-off.
    pub reference_agents: &'a [Agent],
}

fn join_roles(chain: &[Role]) -> String {
    chain
        .iter()
        .map(|role| role.label())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// The manifest's agent as the policies must see it: tool approval from
/// the records, never from the file; the risk tier never below the minimum.
pub fn effective_agent(
    manifest: &Manifest,
    set: &PolicySet,
    approved_tools: &BTreeSet<String>,
) -> (Agent, Vec<String>) {
    let mut agent = manifest.agent.clone();
    let mut warnings = Vec::new();
    if manifest.declared_tools_approved.is_some() {
        warnings.push(
            "tools_approved in the manifest is ignored: a tool is approved by a data steward or compliance officer (`gavel tools approve NAME`)".into(),
        );
    }
    agent.has_external_tools |= !manifest.external_tools.is_empty();
    agent.tools_approved = agent.has_external_tools
        && !manifest.external_tools.is_empty()
        && manifest
            .external_tools
            .iter()
            .all(|tool| approved_tools.contains(&tool.to_lowercase()));
    let (minimum, why) = set.minimum_risk(&agent);
    if agent.risk_tier < minimum {
        warnings.push(format!(
            "risk tier raised from {} to {minimum}: {} are at least {minimum} risk",
            agent.risk_tier,
            why.unwrap_or_default()
        ));
        agent.risk_tier = minimum;
    }
    (agent, warnings)
}

/// How `requested` lowers a risk-relevant field against `reference`, in words.
pub fn lowered_fields(
    vocabulary: &Vocabulary,
    reference: &Agent,
    requested: &Agent,
) -> Vec<String> {
    let mut lowered = Vec::new();
    if requested.category != reference.category {
        lowered.push(format!(
            "category changed from {} to {}",
            reference.category, requested.category
        ));
    }
    if vocabulary.is_lower(requested.data_classification, reference.data_classification) {
        lowered.push(format!(
            "data classification lowered from {} to {}",
            reference.data_classification, requested.data_classification
        ));
    }
    if reference.has_external_tools && !requested.has_external_tools {
        lowered.push("external tools removed".into());
    }
    if requested.risk_tier < reference.risk_tier {
        lowered.push(format!(
            "risk tier lowered from {} to {}",
            reference.risk_tier, requested.risk_tier
        ));
    }
    lowered
}

/// The agent fields judged apart from what conditions read: by
/// `lowered_fields` (in the vocabulary's order), by `governed_changes`
/// (whose agent it is), or derived from records rather than filed
/// (`tools_approved`); and the version, which a re-filing changes by
/// definition.
const JUDGED_APART: [&str; 8] = [
    "category",
    "data_classification",
    "has_external_tools",
    "risk_tier",
    "owner",
    "team",
    "tools_approved",
    "version",
];

/// What a re-filing changes that must be signed off before it stands (the
/// `classification_change` path): risk fields lowered, whose agent it is
/// (owner, team), and any field or label an active policy's condition
/// reads, changed, added or removed, so that no re-filing escapes a policy
/// by dropping what the policy reads.
pub fn governed_changes(set: &PolicySet, reference: &Agent, requested: &Agent) -> Vec<String> {
    let mut changes = lowered_fields(set.vocabulary(), reference, requested);
    if !reference.owner.eq_ignore_ascii_case(&requested.owner) {
        changes.push(format!(
            "owner changed from {} to {}",
            reference.owner, requested.owner
        ));
    }
    if reference.team != requested.team {
        changes.push(format!(
            "team changed from {} to {}",
            reference.team, requested.team
        ));
    }
    for field in crate::domain::policy::condition::AGENT_FIELDS {
        if JUDGED_APART.contains(&field) || !set.governs_field(field) {
            continue;
        }
        let (before, after) = (reference.attribute(field), requested.attribute(field));
        if before != after {
            changes.push(format!(
                "{field} changed from {} to {}, which a policy reads",
                shown(before.as_ref()),
                shown(after.as_ref())
            ));
        }
    }
    let keys: BTreeSet<&String> = reference
        .labels
        .keys()
        .chain(requested.labels.keys())
        .collect();
    for key in keys {
        let (before, after) = (reference.labels.get(key), requested.labels.get(key));
        if before == after || !set.governs_label(key) {
            continue;
        }
        changes.push(match (before, after) {
            (Some(before), Some(after)) => {
                format!("label {key} changed from {before} to {after}, which a policy reads")
            }
            (Some(before), None) => {
                format!("label {key} removed (was {before}), which a policy reads")
            }
            (None, Some(after)) => format!("label {key} added ({after}), which a policy reads"),
            (None, None) => continue,
        });
    }
    changes
}

/// A field's value in a sentence.
fn shown(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "nothing".into(),
    }
}

/// Evaluates a manifest against a policy set. A condition that cannot be
/// evaluated blocks, saying why: an error never lets an agent through.
pub fn evaluate(manifest: &Manifest, set: &PolicySet, facts: &Facts<'_>) -> Evaluation {
    let (agent, warnings) = effective_agent(manifest, set, facts.approved_tools);
    evaluate_agent(agent, warnings, &manifest.external_tools, set, facts)
}

/// Evaluates an agent already as the policies see it (`effective_agent`):
/// what `evaluate` does after reading the manifest, and what `plan`
/// simulates for agents on record.
pub fn evaluate_agent(
    agent: Agent,
    warnings: Vec<String>,
    external_tools: &[String],
    set: &PolicySet,
    facts: &Facts<'_>,
) -> Evaluation {
    let mut lowered: Vec<String> = Vec::new();
    for reference in facts.reference_agents {
        for change in governed_changes(set, reference, &agent) {
            if !lowered.contains(&change) {
                lowered.push(change);
            }
        }
    }
    let request_facts = RequestFacts {
        lowers_risk_fields: !lowered.is_empty(),
    };
    let mut triggered = Vec::new();
    let mut workflows = Vec::new();
    let outcomes = set.outcomes(&agent, &request_facts);
    for (index, (policy, outcome)) in set.policies().iter().zip(outcomes).enumerate() {
        let failure = match outcome {
            Outcome::DoesNotHold => continue,
            Outcome::Holds => None,
            Outcome::Failed(why) => Some(why),
        };
        if let Some(why) = failure {
            triggered.push(TriggeredPolicy {
                policy_id: policy.policy_id.clone(),
                name: policy.name.clone(),
                action: policy.action,
                reason: format!("its condition could not be evaluated for this agent: {why}"),
                remediation: format!(
                    "fix the condition of policy {} (`gavel policy plan` shows the agents it fails on), or give the agent what it reads",
                    policy.policy_id
                ),
                blocking: true,
            });
            continue;
        }
        let mut reason = policy.explain();
        if set.reads_request(index) && !lowered.is_empty() {
            reason = format!("{reason}: {}", lowered.join("; "));
        }
        let (blocking, remediation) = match policy.action {
            PolicyAction::Block => {
                let reads_tools = set.reads_field(index, "tools_approved");
                (
                    true,
                    block_remediation(policy, reads_tools, external_tools, facts),
                )
            }
            PolicyAction::RequireBiasAudit => {
                let requirement = Requirement::of(policy);
                let audit = if requirement.each_version {
                    facts.latest_audit
                } else {
                    facts.latest_audit_of_agent
                }
                .map(AuditFacts::from);
                let threshold = requirement.threshold;
                match judge(&requirement, audit.as_ref(), facts.now) {
                    Verdict::Missing if requirement.each_version => (
                        true,
                        format!(
                            "no bias audit is recorded for {} version {}: run a bias audit on this version (`gavel audit run`, or `gavel audit record` with counts), then request again",
                            agent.agent_id, agent.version
                        ),
                    ),
                    Verdict::Missing => (
                        true,
                        format!(
                            "no bias audit is recorded for {}: run a bias audit (`gavel audit run`, `gavel audit import`, or `gavel audit record` with counts), then request again",
                            agent.agent_id
                        ),
                    ),
                    Verdict::Expired { audit, expired_at } => (
                        true,
                        format!(
                            "re-run the bias audit (last run {}): audit {} expired on {} under policy {}, which allows {}",
                            audit.tested_at.format("%Y-%m-%d"),
                            audit.audit_id,
                            expired_at.format("%Y-%m-%d"),
                            policy.policy_id,
                            policy
                                .bias_audit
                                .as_ref()
                                .and_then(|rule| rule.max_age.as_deref())
                                .unwrap_or("no age"),
                        ),
                    ),
                    Verdict::Uncovered { audit, missing } => (
                        true,
                        format!(
                            "the latest bias audit of version {} ({}) has no table for {}, which policy {} requires: run an audit whose cases carry them (`gavel audit run --attribute ...`) or import the auditor's tables (`gavel audit import`)",
                            audit.agent_version,
                            audit.audit_id,
                            missing.join(", "),
                            policy.policy_id
                        ),
                    ),
                    Verdict::Fails {
                        audit,
                        table: Some(table),
                        category,
                        ratio,
                    } => (
                        true,
                        format!(
                            "the latest bias audit of version {} ({}) fails the four-fifths rule for {table} {:?}: impact ratio {ratio:.3} is below {threshold:.2}; fix the disparity and record a passing audit",
                            audit.agent_version,
                            audit.audit_id,
                            category.unwrap_or_default(),
                        ),
                    ),
                    Verdict::Fails { audit, ratio, .. } => (
                        true,
                        format!(
                            "the latest bias audit of version {} ({}) fails the four-fifths rule: disparate-impact ratio {ratio:.3} is below {threshold:.2}; fix the disparity and record a passing audit",
                            agent.version, audit.audit_id,
                        ),
                    ),
                    Verdict::Passes {
                        audit,
                        lowest_ratio,
                        expires_at,
                    } => {
                        let chain = policy.chain().unwrap_or_default();
                        let until = expires_at
                            .map(|at| format!(", valid until {}", at.format("%Y-%m-%d")))
                            .unwrap_or_default();
                        let text = format!(
                            "bias audit {} passes (ratio {lowest_ratio:.3} >= {threshold:.2}{until}); needs sign-off: {}",
                            audit.audit_id,
                            join_roles(&chain)
                        );
                        workflows.push(PlannedWorkflow {
                            policy_id: policy.policy_id.clone(),
                            chain,
                        });
                        (false, text)
                    }
                }
            }
            PolicyAction::RequireApproval => {
                let chain = policy.chain().unwrap_or_default();
                let text = format!("needs sign-off: {}", join_roles(&chain));
                workflows.push(PlannedWorkflow {
                    policy_id: policy.policy_id.clone(),
                    chain,
                });
                (false, text)
            }
            PolicyAction::AuditLog => (false, "recorded in the audit log; nothing to do".into()),
            PolicyAction::Notify => (
                false,
                "the policy's owners are notified; nothing to do".into(),
            ),
        };
        let remediation = match (&policy.remediation, blocking) {
            (Some(own), true) if policy.action != PolicyAction::Block => {
                format!("{remediation}; {own}")
            }
            _ => remediation,
        };
        triggered.push(TriggeredPolicy {
            policy_id: policy.policy_id.clone(),
            name: policy.name.clone(),
            action: policy.action,
            reason,
            remediation,
            blocking,
        });
    }

    let blocking_reasons: Vec<String> = triggered
        .iter()
        .filter(|policy| policy.blocking)
        .map(|policy| format!("{}: {}", policy.policy_id, policy.name))
        .collect();
    let status = if !blocking_reasons.is_empty() {
        workflows.clear();
        DeploymentStatus::Blocked
    } else if !workflows.is_empty() {
        DeploymentStatus::PendingApproval
    } else {
        DeploymentStatus::Allowed
    };
    let remediation = triggered
        .iter()
        .filter(|policy| policy.blocking || status == DeploymentStatus::PendingApproval)
        .filter(|policy| {
            policy.action != PolicyAction::AuditLog && policy.action != PolicyAction::Notify
        })
        .map(|policy| format!("{}: {}", policy.policy_id, policy.remediation))
        .collect();
    Evaluation {
        status,
        triggered_policies: triggered,
        blocking_reasons,
        remediation,
        workflows,
        agent,
        warnings,
        lowered,
        policy_set_version: None,
    }
}

fn block_remediation(
    policy: &Policy,
    reads_tools: bool,
    external_tools: &[String],
    facts: &Facts<'_>,
) -> String {
    if reads_tools {
        if external_tools.is_empty() {
            return "the manifest says the agent calls external tools but names none: list them in external_tools so each can be approved (`gavel tools approve NAME`)".into();
        }
        let unapproved: Vec<&str> = external_tools
            .iter()
            .filter(|tool| !facts.approved_tools.contains(&tool.to_lowercase()))
            .map(String::as_str)
            .collect();
        return format!(
            "external tools {} are not approved: have a data steward or compliance officer approve them (`gavel tools approve NAME`) or remove them",
            unapproved.join(", ")
        );
    }
    if let Some(own) = &policy.remediation {
        return own.clone();
    }
    format!(
        "policy \"{}\" blocks agents it {}: change the agent so it no longer applies, or propose a policy set that revises it",
        policy.name,
        policy.explain(),
    )
}

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
}

impl DeploymentRequest {
    /// SHA-256 of what was filed, as the policies saw it (the agent and
    /// the tools it names), over its JSON: the trail pins it, so a request
    /// edited afterwards shows.
    pub fn manifest_sha256(&self) -> Option<String> {
        let agent = self.agent.as_ref()?;
        let filed = serde_json::json!({ "agent": agent, "external_tools": self.external_tools });
        Some(crate::domain::digest::sha256_hex(filed.to_string()))
    }
}

/// One field of a manifest that differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    /// `risk_tier`, `labels.region`, `external_tools`...
    pub field: String,
    /// The running version's value (none: the field is new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The requested version's value (none: the field is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The fields of a manifest as a reviewer compares them, in a fixed order.
fn manifest_fields(agent: &Agent, tools: &[String]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        "name",
        "team",
        "owner",
        "version",
        "category",
        "data_classification",
        "risk_tier",
        "has_external_tools",
        "tools_approved",
    ]
    .into_iter()
    .filter_map(|key| {
        let value = agent.attribute(key)?;
        let text = match value {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        Some((key.to_owned(), text))
    })
    .collect();
    if !tools.is_empty() {
        let mut tools = tools.to_vec();
        tools.sort();
        fields.push(("external_tools".into(), tools.join(", ")));
    }
    fields.extend(
        agent
            .labels
            .iter()
            .map(|(key, value)| (format!("labels.{key}"), value.clone())),
    );
    fields
}

/// What changed from the running version of an agent to the one requested,
/// field by field (labels one by one).
pub fn manifest_changes(
    running: (&Agent, &[String]),
    requested: (&Agent, &[String]),
) -> Vec<FieldChange> {
    let before = manifest_fields(running.0, running.1);
    let after = manifest_fields(requested.0, requested.1);
    let value = |fields: &[(String, String)], field: &str| {
        fields
            .iter()
            .find(|(key, _)| key == field)
            .map(|(_, value)| value.clone())
    };
    let mut names: Vec<&String> = after.iter().map(|(key, _)| key).collect();
    for (key, _) in &before {
        if !names.contains(&key) {
            names.push(key);
        }
    }
    names
        .into_iter()
        .filter_map(|field| {
            let (old, new) = (value(&before, field), value(&after, field));
            (old != new).then(|| FieldChange {
                field: field.clone(),
                before: old,
                after: new,
            })
        })
        .collect()
}

#[cfg(test)]
mod manifest_change_tests {
    use super::*;

    #[test]
    fn changes_name_each_field_that_differs_and_nothing_else() {
        let running: Agent = serde_json::from_value(serde_json::json!({
            "agent_id": "agt-1", "name": "Helper", "team": "support", "owner": "o@example.com",
            "category": "customer_support", "data_classification": "internal",
            "has_external_tools": false, "tools_approved": false, "risk_tier": "low",
            "version": "1.0", "labels": { "region": "eu", "tier": "gold" }
        }))
        .unwrap();
        let mut requested = running.clone();
        requested.version = "1.1".into();
        requested.data_classification =
            crate::domain::DataClassification::new("confidential").unwrap();
        requested.labels.remove("tier");
        requested.labels.insert("channel".into(), "chat".into());
        let changes = manifest_changes((&running, &[]), (&requested, &["search".to_owned()]));
        let fields: Vec<(&str, Option<&str>, Option<&str>)> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_deref(), c.after.as_deref()))
            .collect();
        assert_eq!(
            fields,
            [
                ("version", Some("1.0"), Some("1.1")),
                (
                    "data_classification",
                    Some("internal"),
                    Some("confidential")
                ),
                ("external_tools", None, Some("search")),
                ("labels.channel", None, Some("chat")),
                ("labels.tier", Some("gold"), None),
            ]
        );
        assert!(manifest_changes((&running, &[]), (&running, &[])).is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::{Category, DataClassification, RiskTier};
    use crate::domain::bias::{self, GroupCounts};
    use crate::domain::policy::set::default_policies;
    use chrono::TimeZone;

    const MANIFEST: &str = r#"{
        "agent_id": "agt-support-bot",
        "name": "Support bot",
        "team": "Customer Care",
        "owner": "owner@example.com",
        "category": "customer_service",
        "data_classification": "internal",
        "has_external_tools": false,
        "tools_approved": false,
        "risk_tier": "low",
        "version": "2.1.0",
        "requested_by": "dev@example.com"
    }"#;

    fn manifest() -> Manifest {
        Manifest::from_json(MANIFEST).unwrap()
    }

    fn audit(positive_low: u64) -> BiasAudit {
        let groups = [
            GroupCounts {
                group: "a".into(),
                positive: positive_low,
                total: 100,
            },
            GroupCounts {
                group: "b".into(),
                positive: 50,
                total: 100,
            },
        ];
        BiasAudit::of(
            "aud-1".into(),
            "agt-support-bot".into(),
            "2.1.0".into(),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            bias::compute(&groups, 0.8).unwrap(),
            Vec::new(),
        )
    }

    /// Evaluates with no approved tools and no earlier versions.
    fn eval(manifest: &Manifest, policies: &[Policy], audit: Option<&BiasAudit>) -> Evaluation {
        evaluate(
            manifest,
            &PolicySet::with_policies(policies.to_vec()).unwrap(),
            &Facts {
                latest_audit: audit,
                latest_audit_of_agent: audit,
                now: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
                approved_tools: &BTreeSet::new(),
                reference_agents: &[],
            },
        )
    }

    #[test]
    fn a_manifest_parses_with_its_agent() {
        let manifest = manifest();
        assert_eq!(manifest.agent.risk_tier, RiskTier::Low);
        assert_eq!(manifest.agent.category, Category::CustomerService);
        assert!(manifest.external_tools.is_empty());
    }

    #[test]
    fn bad_manifests_say_what_and_where() {
        let cases = [
            ("not json", "line 1 column 2"),
            ("[1, 2]", "(top level)"),
            (&MANIFEST.replace("\"low\"", "\"extreme\""), "risk_tier"),
            (
                &MANIFEST.replace(
                    "\"has_external_tools\": false",
                    "\"has_external_tools\": \"no\"",
                ),
                "has_external_tools",
            ),
            (
                &MANIFEST.replace("\"team\": \"Customer Care\",", ""),
                "team",
            ),
            (
                &MANIFEST.replace("\"version\"", "\"colour\": 1, \"version\""),
                "colour",
            ),
            (
                &MANIFEST.replace("dev@example.com", "nobody"),
                "requested_by",
            ),
            (&MANIFEST.replace("\"version\": \"2.1.0\",", ""), "version"),
            (&MANIFEST.replace("Support bot", ""), "name"),
            (
                &MANIFEST.replace("Support bot", "Support\\u001b[2Jbot"),
                "name",
            ),
        ];
        for (text, path) in cases {
            match Manifest::from_json(text) {
                Err(
                    ManifestError::Invalid { path: got, message }
                    | ManifestError::Rule { path: got, message },
                ) => {
                    assert!(got.contains(path), "{path}: got {got}: {message}")
                }
                other => panic!("{path}: expected an error, got {other:?}"),
            }
        }
        let unknown = Manifest::from_json(&MANIFEST.replace("\"low\"", "\"extreme\"")).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown variant `extreme`"),
            "{unknown}"
        );
        let long = MANIFEST.replace("Support bot", &"x".repeat(MAX_FIELD_BYTES + 1));
        assert!(
            Manifest::from_json(&long)
                .unwrap_err()
                .to_string()
                .contains("bytes")
        );
        let huge = " ".repeat(MAX_MANIFEST_BYTES + 1);
        assert_eq!(
            Manifest::from_json(&huge),
            Err(ManifestError::TooLarge(huge.len()))
        );
    }

    #[test]
    fn nothing_triggered_means_allowed() {
        let evaluation = eval(&manifest(), &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::Allowed);
        assert!(evaluation.triggered_policies.is_empty());
        assert!(evaluation.remediation.is_empty());
    }

    #[test]
    fn unapproved_tools_block_with_their_names_in_the_remediation() {
        let mut manifest = manifest();
        manifest.agent.has_external_tools = true;
        manifest.external_tools = vec!["web_search".into(), "crm_api".into()];
        let evaluation = eval(&manifest, &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::Blocked);
        assert_eq!(
            evaluation.blocking_reasons,
            ["external_api_block: Unapproved external tools"]
        );
        assert_eq!(
            evaluation.remediation,
            [
                "external_api_block: external tools web_search, crm_api are not approved: have a data steward or compliance officer approve them (`gavel tools approve NAME`) or remove them"
            ]
        );
    }

    #[test]
    fn tool_approval_comes_from_the_records_never_from_the_manifest() {
        let text = MANIFEST
            .replace(
                "\"has_external_tools\": false",
                "\"has_external_tools\": true",
            )
            .replace("\"tools_approved\": false", "\"tools_approved\": true");
        let manifest = Manifest::from_json(&text).unwrap();
        assert_eq!(manifest.declared_tools_approved, Some(true));
        let evaluation = eval(&manifest, &default_policies(), None);
        assert_eq!(
            evaluation.status,
            DeploymentStatus::Blocked,
            "declared approval is ignored"
        );
        assert!(evaluation.warnings[0].contains("tools_approved in the manifest is ignored"));
        assert!(
            evaluation.remediation[0].contains("names none"),
            "{:?}",
            evaluation.remediation
        );

        let mut named = manifest.clone();
        named.external_tools = vec!["web_search".into(), "crm_api".into()];
        let approved: BTreeSet<String> = ["web_search".to_owned()].into();
        let facts = |approved| Facts {
            latest_audit: None,
            latest_audit_of_agent: None,
            now: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
            approved_tools: approved,
            reference_agents: &[],
        };
        let partly = evaluate(&named, &PolicySet::builtin(), &facts(&approved));
        assert_eq!(partly.status, DeploymentStatus::Blocked);
        assert!(
            partly.remediation[0].contains("external tools crm_api are"),
            "{:?}",
            partly.remediation
        );
        let both: BTreeSet<String> = ["web_search".to_owned(), "crm_api".to_owned()].into();
        let allowed = evaluate(&named, &PolicySet::builtin(), &facts(&both));
        assert_eq!(allowed.status, DeploymentStatus::Allowed);
        assert!(allowed.agent.tools_approved);
    }

    #[test]
    fn the_declared_risk_tier_may_raise_but_never_lower_the_minimum() {
        let mut manifest = manifest();
        manifest.agent.data_classification = DataClassification::Restricted;
        let evaluation = eval(&manifest, &default_policies(), None);
        assert_eq!(evaluation.agent.risk_tier, RiskTier::High);
        let raised_warning = |evaluation: &Evaluation| {
            evaluation
                .warnings
                .iter()
                .any(|warning| warning.starts_with("risk tier raised from low to high"))
        };
        assert!(raised_warning(&evaluation), "{:?}", evaluation.warnings);
        assert!(
            evaluation
                .workflows
                .iter()
                .any(|w| w.policy_id == "risk_tier_high")
        );
        manifest.agent.data_classification = DataClassification::Confidential;
        assert_eq!(
            eval(&manifest, &default_policies(), None).agent.risk_tier,
            RiskTier::Medium
        );
        manifest.agent.risk_tier = RiskTier::High;
        let raised = eval(&manifest, &default_policies(), None);
        assert_eq!(
            raised.agent.risk_tier,
            RiskTier::High,
            "raising is the requester's right"
        );
        assert!(!raised.warnings.iter().any(|w| w.contains("risk tier")));
        for category in [
            Category::HumanResources,
            Category::Finance,
            Category::Healthcare,
        ] {
            let mut agent = manifest.agent.clone();
            agent.category = category;
            agent.risk_tier = RiskTier::Low;
            assert_eq!(
                PolicySet::builtin().minimum_risk(&agent).0,
                RiskTier::High,
                "{category}"
            );
        }
    }

    #[test]
    fn lowering_a_risk_relevant_field_needs_a_data_steward() {
        let mut reference = manifest().agent;
        reference.category = Category::HumanResources;
        reference.data_classification = DataClassification::Confidential;
        reference.has_external_tools = true;
        reference.risk_tier = RiskTier::High;
        let harmless = manifest();
        let evaluation = evaluate(
            &harmless,
            &PolicySet::builtin(),
            &Facts {
                latest_audit: None,
                latest_audit_of_agent: None,
                now: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
                approved_tools: &BTreeSet::new(),
                reference_agents: std::slice::from_ref(&reference),
            },
        );
        assert_eq!(
            evaluation.lowered,
            [
                "category changed from human_resources to customer_service",
                "data classification lowered from confidential to internal",
                "external tools removed",
                "risk tier lowered from high to low",
            ]
        );
        assert_eq!(evaluation.status, DeploymentStatus::PendingApproval);
        assert_eq!(
            evaluation.workflows,
            [PlannedWorkflow {
                policy_id: "classification_change".into(),
                chain: vec![Role::DataSteward]
            }]
        );
        assert!(
            evaluation.triggered_policies[0]
                .reason
                .contains("external tools removed")
        );
        // The same agent again lowers nothing.
        assert!(lowered_fields(&Vocabulary::default(), &reference, &reference).is_empty());
    }

    #[test]
    fn whose_agent_it_is_and_what_policies_read_are_governed() {
        let text = format!(
            "{}\n[[policy]]\npolicy_id = \"eu\"\nname = \"EU\"\ndescription = \"EU agents.\"\ncondition = 'has(agent.labels.region) && agent.labels.region == \"eu\"'\naction = \"require_approval\"\napproval_chain = [\"technical_lead\"]\n",
            crate::domain::policy::set::BUILTIN_SET
        );
        let set = PolicySet::compile(
            crate::domain::policy::set::PolicySetFile::parse(&text).unwrap(),
            crate::domain::policy::set::Checks::Names,
        )
        .unwrap();
        let mut reference = manifest().agent;
        reference.labels.insert("region".into(), "eu".into());
        reference.labels.insert("build".into(), "41".into());
        let mut requested = reference.clone();
        requested.version = "9.9.9".into();
        requested.labels.insert("build".into(), "42".into());
        assert!(
            governed_changes(&set, &reference, &requested).is_empty(),
            "a new version and a label no policy reads change nothing governed"
        );
        requested.labels.remove("region");
        requested.owner = "someone.else@example.com".into();
        requested.team = "Elsewhere".into();
        assert_eq!(
            governed_changes(&set, &reference, &requested),
            [
                format!(
                    "owner changed from {} to someone.else@example.com",
                    reference.owner
                ),
                format!("team changed from {} to Elsewhere", reference.team),
                "label region removed (was eu), which a policy reads".to_owned(),
            ]
        );
    }

    #[test]
    fn a_condition_that_errors_at_run_time_blocks() {
        let mut policies = default_policies();
        let mut eu = policies[0].clone();
        eu.policy_id = "eu_only".into();
        eu.name = "EU agents".into();
        eu.action = PolicyAction::AuditLog;
        eu.approval_chain = None;
        // Written without has(): an agent with no region label cannot be read.
        eu.condition = crate::domain::policy::condition::ConditionSource::Cel(
            r#"agent.labels.region == "eu""#.into(),
        );
        policies.push(eu);
        let blocked = eval(&manifest(), &policies, None);
        assert_eq!(blocked.status, DeploymentStatus::Blocked);
        let fired = &blocked.triggered_policies[0];
        assert_eq!(fired.policy_id, "eu_only");
        assert!(
            fired.blocking && fired.reason.contains("could not be evaluated"),
            "{fired:?}"
        );
        assert!(fired.reason.contains("region"), "{fired:?}");
        let mut labelled = manifest();
        labelled.agent.labels.insert("region".into(), "us".into());
        assert_eq!(
            eval(&labelled, &policies, None).status,
            DeploymentStatus::Allowed
        );
    }

    #[test]
    fn the_policy_sets_the_bias_threshold() {
        let mut manifest = manifest();
        manifest.agent.category = Category::HumanResources;
        let mut policies = default_policies();
        // Ratio 0.9 passes the four-fifths rule but not a stricter policy.
        let audit = audit(45);
        assert!(
            eval(&manifest, &policies, Some(&audit)).status == DeploymentStatus::PendingApproval
        );
        for policy in &mut policies {
            if policy.policy_id == "hr_bias_audit" {
                policy.bias_audit = Some(crate::domain::policy::policies::BiasAuditRule {
                    threshold: Some(0.95),
                    attributes: Vec::new(),
                    max_age: None,
                    intersectional: false,
                    each_version: true,
                });
            }
        }
        let strict = eval(&manifest, &policies, Some(&audit));
        assert_eq!(strict.status, DeploymentStatus::Blocked);
        assert!(
            strict.remediation[0].contains("below 0.95"),
            "{:?}",
            strict.remediation
        );
    }

    #[test]
    fn a_block_wins_over_approvals_and_opens_no_workflow() {
        let mut manifest = manifest();
        manifest.agent.has_external_tools = true;
        manifest.agent.data_classification = DataClassification::Confidential;
        let evaluation = eval(&manifest, &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::Blocked);
        assert_eq!(
            evaluation.triggered_policies.len(),
            3,
            "pii approval, the block, and medium risk for confidential data"
        );
        assert!(evaluation.workflows.is_empty());
    }

    #[test]
    fn confidential_data_needs_approval_with_one_workflow_per_policy() {
        let mut manifest = manifest();
        manifest.agent.data_classification = DataClassification::Confidential;
        manifest.agent.risk_tier = RiskTier::Medium;
        let evaluation = eval(&manifest, &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::PendingApproval);
        assert_eq!(
            evaluation.workflows,
            [
                PlannedWorkflow {
                    policy_id: "pii_access_approval".into(),
                    chain: vec![Role::TechnicalLead, Role::DataSteward]
                },
                PlannedWorkflow {
                    policy_id: "risk_tier_medium".into(),
                    chain: vec![Role::TechnicalLead]
                },
            ]
        );
        assert!(evaluation.remediation[0].contains("technical lead -> data steward"));
    }

    #[test]
    fn hr_agents_without_an_audit_are_blocked_until_one_passes() {
        let mut manifest = manifest();
        manifest.agent.category = Category::HumanResources;
        let evaluation = eval(&manifest, &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::Blocked);
        assert!(
            evaluation.remediation[0].contains("run a bias audit"),
            "{:?}",
            evaluation.remediation
        );

        let failing = eval(&manifest, &default_policies(), Some(&audit(30)));
        assert_eq!(failing.status, DeploymentStatus::Blocked);
        assert!(
            failing.remediation[0].contains("ratio 0.600 is below 0.80"),
            "{:?}",
            failing.remediation
        );

        let passing = eval(&manifest, &default_policies(), Some(&audit(45)));
        assert_eq!(passing.status, DeploymentStatus::PendingApproval);
        assert_eq!(
            passing.workflows[0].chain,
            [
                Role::MlEngineer,
                Role::EthicsReviewer,
                Role::ComplianceOfficer
            ]
        );
    }

    #[test]
    fn notify_and_audit_log_are_reported_but_do_not_gate() {
        let mut policies = default_policies();
        let mut notify = policies[0].clone();
        notify.policy_id = "notify_all".into();
        notify.action = PolicyAction::Notify;
        notify.approval_chain = None;
        notify.condition = crate::domain::policy::condition::ConditionSource::default();
        policies.push(notify);
        let evaluation = eval(&manifest(), &policies, None);
        assert_eq!(evaluation.status, DeploymentStatus::Allowed);
        assert_eq!(evaluation.triggered_policies.len(), 1);
        assert!(evaluation.remediation.is_empty());
    }

    #[test]
    fn a_generic_block_explains_the_policy() {
        let mut policies = default_policies();
        let mut block = policies[0].clone();
        block.policy_id = "no_finance".into();
        block.name = "No finance bots".into();
        block.action = PolicyAction::Block;
        block.approval_chain = None;
        block.condition = crate::domain::policy::condition::ConditionSource::Equalities(
            [("category".to_owned(), serde_json::json!("finance"))].into(),
        );
        policies.push(block);
        let mut manifest = manifest();
        manifest.agent.category = Category::Finance;
        let evaluation = eval(&manifest, &policies, None);
        assert_eq!(evaluation.status, DeploymentStatus::Blocked);
        assert!(
            evaluation.remediation[0].contains("category = \"finance\""),
            "{:?}",
            evaluation.remediation
        );
    }
}
