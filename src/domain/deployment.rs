//! Deployment manifests and what the policies say about them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::agent::{Agent, display_as_str};
use super::bias::BiasAudit;
use super::policy::{Policy, PolicyAction};
use super::workflow::Role;

/// The most bytes any single text field of a manifest may hold.
pub const MAX_FIELD_BYTES: usize = 256;
/// The most bytes a manifest file may hold.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// What `deploy check` and `deploy request` read: an agent plus who asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(flatten)]
    pub agent: Agent,
    pub requested_by: String,
    /// Names of the external tools, for the remediation text.
    #[serde(default)]
    pub external_tools: Vec<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest is {0} bytes; the most accepted is {MAX_MANIFEST_BYTES}")]
    TooLarge(usize),
    #[error("manifest is not valid: {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Manifest {
    /// Parses and checks a manifest; errors say what is wrong and where.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(text.len()));
        }
        // `flatten` hides field paths from serde, so parse into a Value first
        // and report unknown fields ourselves.
        let value: serde_json::Value =
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
        const KNOWN: [&str; 12] = [
            "agent_id",
            "name",
            "team",
            "owner",
            "category",
            "data_classification",
            "has_external_tools",
            "tools_approved",
            "risk_tier",
            "version",
            "requested_by",
            "external_tools",
        ];
        if let Some(unknown) = fields.keys().find(|key| !KNOWN.contains(&key.as_str())) {
            return Err(ManifestError::Invalid {
                path: unknown.clone(),
                message: format!("unknown field (known fields: {})", KNOWN.join(", ")),
            });
        }
        for key in KNOWN.iter().take(11) {
            if !fields.contains_key(*key) {
                return Err(ManifestError::Invalid {
                    path: (*key).into(),
                    message: "missing field".into(),
                });
            }
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

    fn check(&self) -> Result<(), ManifestError> {
        let agent = &self.agent;
        let text_fields = [
            ("agent_id", &agent.agent_id),
            ("name", &agent.name),
            ("team", &agent.team),
            ("owner", &agent.owner),
            ("version", &agent.version),
            ("requested_by", &self.requested_by),
        ];
        for (path, value) in text_fields {
            check_text(path, value)?;
        }
        for (index, tool) in self.external_tools.iter().enumerate() {
            check_text(&format!("external_tools[{index}]"), tool)?;
        }
        if !self.requested_by.contains('@') {
            return Err(ManifestError::Invalid {
                path: "requested_by".into(),
                message: format!("{:?} is not an email address", self.requested_by),
            });
        }
        Ok(())
    }
}

fn check_text(path: &str, value: &str) -> Result<(), ManifestError> {
    let invalid = |message: String| ManifestError::Invalid {
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

/// The manifest without `flatten`, so serde_path_to_error sees every field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFields {
    agent_id: String,
    name: String,
    team: String,
    owner: String,
    category: super::agent::Category,
    data_classification: super::agent::DataClassification,
    has_external_tools: bool,
    tools_approved: bool,
    risk_tier: super::agent::RiskTier,
    version: String,
    requested_by: String,
    #[serde(default)]
    external_tools: Vec<String>,
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
                tools_approved: self.tools_approved,
                risk_tier: self.risk_tier,
                version: self.version,
            },
            requested_by: self.requested_by,
            external_tools: self.external_tools,
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
}

fn join_roles(chain: &[Role]) -> String {
    chain
        .iter()
        .map(|role| role.label())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Evaluates a manifest against the policies. `latest_audit` is the newest
/// bias audit recorded for this agent *version*, if any.
pub fn evaluate(
    manifest: &Manifest,
    policies: &[Policy],
    latest_audit: Option<&BiasAudit>,
) -> Evaluation {
    let agent = &manifest.agent;
    let mut triggered = Vec::new();
    let mut workflows = Vec::new();
    for policy in policies.iter().filter(|policy| policy.triggers_on(agent)) {
        let reason = policy.explain();
        let (blocking, remediation) = match policy.action {
            PolicyAction::Block => (true, block_remediation(policy, manifest)),
            PolicyAction::RequireBiasAudit => match latest_audit {
                None => (
                    true,
                    format!(
                        "no bias audit is recorded for {} version {}: run a bias audit on this version and record it (`gavel audit record`), then request again",
                        agent.agent_id, agent.version
                    ),
                ),
                Some(audit) if !audit.stats.passes_threshold => (
                    true,
                    format!(
                        "the latest bias audit of version {} ({}) fails the four-fifths rule: disparate-impact ratio {:.3} is below {:.2}; fix the disparity and record a passing audit",
                        agent.version,
                        audit.audit_id,
                        audit.stats.disparate_impact_ratio,
                        audit.stats.threshold
                    ),
                ),
                Some(audit) => {
                    let chain = policy.chain().unwrap_or_default();
                    let text = format!(
                        "bias audit {} passes (ratio {:.3}); needs sign-off: {}",
                        audit.audit_id,
                        audit.stats.disparate_impact_ratio,
                        join_roles(&chain)
                    );
                    workflows.push(PlannedWorkflow {
                        policy_id: policy.policy_id.clone(),
                        chain,
                    });
                    (false, text)
                }
            },
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
                format!("{} is notified; nothing to do", policy.created_by),
            ),
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
    }
}

fn block_remediation(policy: &Policy, manifest: &Manifest) -> String {
    if policy.condition.contains_key("tools_approved") {
        let tools = if manifest.external_tools.is_empty() {
            "the agent's external tools are".to_owned()
        } else {
            format!("external tools {} are", manifest.external_tools.join(", "))
        };
        return format!("{tools} not approved: get them approved or remove them");
    }
    format!(
        "policy \"{}\" blocks agents it {}: change the agent so it no longer applies, or ask {} to revise the policy",
        policy.name,
        policy.explain(),
        policy.approved_by.as_deref().unwrap_or(&policy.created_by)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::{Category, DataClassification, RiskTier};
    use crate::domain::bias::{self, GroupCounts};
    use crate::domain::policy::default_policies;
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
        BiasAudit {
            audit_id: "aud-1".into(),
            agent_id: "agt-support-bot".into(),
            agent_version: "2.1.0".into(),
            tested_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            stats: bias::compute(&groups, 0.8).unwrap(),
        }
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
            (&MANIFEST.replace("Support bot", ""), "name"),
            (
                &MANIFEST.replace("Support bot", "Support\\u001b[2Jbot"),
                "name",
            ),
        ];
        for (text, path) in cases {
            match Manifest::from_json(text) {
                Err(ManifestError::Invalid { path: got, message }) => {
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
        let evaluation = evaluate(&manifest(), &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::Allowed);
        assert!(evaluation.triggered_policies.is_empty());
        assert!(evaluation.remediation.is_empty());
    }

    #[test]
    fn unapproved_tools_block_with_their_names_in_the_remediation() {
        let mut manifest = manifest();
        manifest.agent.has_external_tools = true;
        manifest.external_tools = vec!["web_search".into(), "crm_api".into()];
        let evaluation = evaluate(&manifest, &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::Blocked);
        assert_eq!(
            evaluation.blocking_reasons,
            ["external_api_block: Unapproved external tools"]
        );
        assert_eq!(
            evaluation.remediation,
            [
                "external_api_block: external tools web_search, crm_api are not approved: get them approved or remove them"
            ]
        );
    }

    #[test]
    fn a_block_wins_over_approvals_and_opens_no_workflow() {
        let mut manifest = manifest();
        manifest.agent.has_external_tools = true;
        manifest.agent.data_classification = DataClassification::Confidential;
        let evaluation = evaluate(&manifest, &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::Blocked);
        assert_eq!(evaluation.triggered_policies.len(), 2);
        assert!(evaluation.workflows.is_empty());
    }

    #[test]
    fn confidential_data_needs_approval_with_one_workflow_per_policy() {
        let mut manifest = manifest();
        manifest.agent.data_classification = DataClassification::Confidential;
        manifest.agent.risk_tier = RiskTier::Medium;
        let evaluation = evaluate(&manifest, &default_policies(), None);
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
        let evaluation = evaluate(&manifest, &default_policies(), None);
        assert_eq!(evaluation.status, DeploymentStatus::Blocked);
        assert!(
            evaluation.remediation[0].contains("run a bias audit"),
            "{:?}",
            evaluation.remediation
        );

        let failing = evaluate(&manifest, &default_policies(), Some(&audit(30)));
        assert_eq!(failing.status, DeploymentStatus::Blocked);
        assert!(
            failing.remediation[0].contains("ratio 0.600 is below 0.80"),
            "{:?}",
            failing.remediation
        );

        let passing = evaluate(&manifest, &default_policies(), Some(&audit(45)));
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
        notify.condition.clear();
        policies.push(notify);
        let evaluation = evaluate(&manifest(), &policies, None);
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
        block.condition = [("category".to_owned(), serde_json::json!("finance"))].into();
        policies.push(block);
        let mut manifest = manifest();
        manifest.agent.category = Category::Finance;
        let evaluation = evaluate(&manifest, &policies, None);
        assert_eq!(evaluation.status, DeploymentStatus::Blocked);
        assert!(
            evaluation.remediation[0].contains("category = \"finance\""),
            "{:?}",
            evaluation.remediation
        );
    }
}
