//! What the policies say about an agent: which fire, what they ask
//! (workflows, audits), and whether it may deploy now.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use crate::domain::agent::Agent;

use crate::domain::bias::BiasAudit;
use crate::domain::bias::verdict::{AuditFacts, Requirement, Verdict, judge};
use crate::domain::name::display_as_str;
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::exceptions::AppliedException;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::policies::{Policy, PolicyAction};
use crate::domain::policy::recertification::{RECERTIFICATION_RULE, Standing};
use crate::domain::policy::set::PolicySet;
use crate::domain::role::Role;

use crate::domain::manifest::*;
use crate::domain::policy::lowering::*;

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
    /// Policies that fired but are set aside for this version by an
    /// exception in force: the outcome comes from the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<AppliedException>,
    /// The approval standing for this version: the agent's record is this
    /// version, unchanged (a check then answers `approved` until its
    /// recertification is due).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing: Option<Standing>,
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
    /// The requested version's submitted intake answers, which policies
    /// and floors may read (`intake.<question>`).
    pub intake: Option<&'a crate::domain::review::Answers>,
    /// The exceptions in force for the agent version evaluated.
    pub exceptions: &'a [AppliedException],
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
    intake: Option<&crate::domain::review::Answers>,
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
    let no_answers = crate::domain::review::Answers::new();
    let (minimum, why) = set.minimum_risk_with(&agent, intake.unwrap_or(&no_answers));
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

/// Evaluates a manifest against a policy set. A condition that cannot be
/// evaluated blocks, saying why: an error never lets an agent through.
pub fn evaluate(manifest: &Manifest, set: &PolicySet, facts: &Facts<'_>) -> Evaluation {
    let (agent, warnings) = effective_agent(manifest, set, facts.approved_tools, facts.intake);
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
    let mut excepted = Vec::new();
    let no_answers = crate::domain::review::Answers::new();
    let outcomes =
        set.outcomes_with_intake(&agent, &request_facts, facts.intake.unwrap_or(&no_answers));
    for (index, (policy, outcome)) in set.policies().iter().zip(outcomes).enumerate() {
        let failure = match outcome {
            Outcome::DoesNotHold => continue,
            Outcome::Holds => None,
            Outcome::Failed(why) => Some(why),
        };
        // An exception sets the policy aside whether its condition held or
        // could not be read: it was granted for this policy by name.
        if let Some(exception) = facts
            .exceptions
            .iter()
            .find(|exception| exception.policy_id == policy.policy_id)
        {
            excepted.push(exception.clone());
            continue;
        }
        if let Some(why) = failure {
            let unanswered = set.unanswered_by(index, facts.intake);
            let remediation = if unanswered.is_empty() {
                format!(
                    "fix the condition of policy {} (`gavel policy plan` shows the agents it fails on), or give the agent what it reads",
                    policy.policy_id
                )
            } else {
                format!(
                    "answer the intake ({}): {}, then request again",
                    unanswered.join(", "),
                    crate::domain::policy::frameworks::IntakeSection::fill_command(
                        &agent.agent_id,
                        &agent.version
                    )
                )
            };
            triggered.push(TriggeredPolicy {
                policy_id: policy.policy_id.clone(),
                name: policy.name.clone(),
                action: policy.action,
                reason: format!("its condition could not be evaluated for this agent: {why}"),
                remediation,
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

    let mut evaluation = Evaluation {
        status: DeploymentStatus::Allowed,
        triggered_policies: triggered,
        blocking_reasons: Vec::new(),
        remediation: Vec::new(),
        workflows,
        agent,
        warnings,
        lowered,
        policy_set_version: None,
        exceptions: excepted,
        standing: None,
    };
    evaluation.settle();
    evaluation
}

impl Evaluation {
    /// The roles its workflows will seek, each once: approvals (and an
    /// ethics review) they will produce count toward obligations.
    pub fn seeks(&self) -> Vec<crate::domain::role::Role> {
        let mut roles: Vec<crate::domain::role::Role> = self
            .workflows
            .iter()
            .flat_map(|workflow| workflow.chain.iter().copied())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// Adds what a rule of the set beyond its policies says (the intake,
    /// the obligations gate), with the workflow it asks for, and settles
    /// the outcome again.
    pub fn add(&mut self, triggered: TriggeredPolicy, workflow: Option<PlannedWorkflow>) {
        self.triggered_policies.push(triggered);
        self.workflows.extend(workflow);
        self.settle();
    }

    /// The approval standing for this version lapsed at `due`: it is
    /// signed off again. With `unchanged_chain`, that chain alone does it
    /// (the policies' sign-offs were given at the approval); else the
    /// policies' own chains, or a compliance officer when none asks.
    pub fn recertify(&mut self, reason: String, unchanged_chain: &[Role]) {
        let chain = if !unchanged_chain.is_empty() {
            self.workflows.clear();
            for policy in &mut self.triggered_policies {
                if !policy.blocking
                    && matches!(
                        policy.action,
                        PolicyAction::RequireApproval | PolicyAction::RequireBiasAudit
                    )
                {
                    policy.remediation =
                        "given when this version was approved; the recertification signs it off again"
                            .into();
                }
            }
            unchanged_chain.to_vec()
        } else if self.workflows.is_empty() {
            vec![Role::ComplianceOfficer]
        } else {
            Vec::new()
        };
        let workflow = (!chain.is_empty()).then(|| PlannedWorkflow {
            policy_id: RECERTIFICATION_RULE.into(),
            chain,
        });
        let remediation = match &workflow {
            Some(workflow) => format!(
                "needs sign-off: {} (`gavel deploy request` opens it)",
                join_roles(&workflow.chain)
            ),
            None => "the sign-offs above renew it (`gavel deploy request` opens them)".into(),
        };
        self.add(
            TriggeredPolicy {
                policy_id: RECERTIFICATION_RULE.into(),
                name: "Approvals are renewed".into(),
                action: PolicyAction::RequireApproval,
                reason,
                remediation,
                blocking: false,
            },
            workflow,
        );
    }

    /// Whether the version checked is the agent's record and may deploy:
    /// a use of its approval.
    pub fn lets_its_record_deploy(&self) -> bool {
        self.standing.is_some()
            && matches!(
                self.status,
                DeploymentStatus::Approved | DeploymentStatus::Allowed
            )
    }

    /// An incident holds this version suspended: it is blocked whatever
    /// else stands for it (a standing approval, an exception), until
    /// people lift the suspension.
    pub fn suspend(&mut self, reason: String, remediation: String) {
        self.standing = None;
        self.add(
            TriggeredPolicy {
                policy_id: crate::domain::policy::incidents::SUSPENSION_RULE.into(),
                name: "The version is suspended".into(),
                action: PolicyAction::Block,
                reason,
                remediation,
                blocking: true,
            },
            None,
        );
    }

    /// The status, blocking reasons and remediation the triggered
    /// policies make: any blocking one blocks (and no workflow opens),
    /// else any workflow makes it wait for approval.
    fn settle(&mut self) {
        let triggered = &self.triggered_policies;
        self.blocking_reasons = triggered
            .iter()
            .filter(|policy| policy.blocking)
            .map(|policy| format!("{}: {}", policy.policy_id, policy.name))
            .collect();
        self.status = if !self.blocking_reasons.is_empty() {
            self.workflows.clear();
            DeploymentStatus::Blocked
        } else if !self.workflows.is_empty() {
            DeploymentStatus::PendingApproval
        } else {
            DeploymentStatus::Allowed
        };
        let status = self.status;
        self.remediation = triggered
            .iter()
            .filter(|policy| policy.blocking || status == DeploymentStatus::PendingApproval)
            .filter(|policy| {
                policy.action != PolicyAction::AuditLog && policy.action != PolicyAction::Notify
            })
            .map(|policy| format!("{}: {}", policy.policy_id, policy.remediation))
            .collect();
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

display_as_str!(DeploymentStatus);

#[cfg(test)]
mod tests;
