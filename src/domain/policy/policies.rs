//! Governance policies and the engine that decides which of them trigger.

use serde::{Deserialize, Serialize};

use crate::domain::agent::Agent;

use crate::domain::name::display_as_str;
use crate::domain::policy::condition::ConditionSource;
use crate::domain::policy::sla::{SlaRules, StepSla};
use crate::domain::policy::span::parse_age;
use crate::domain::role::Role;

/// What a triggered policy demands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PolicyAction {
    RequireApproval,
    Block,
    AuditLog,
    Notify,
    RequireBiasAudit,
}

impl PolicyAction {
    pub const ALL: [PolicyAction; 5] = [
        PolicyAction::RequireApproval,
        PolicyAction::Block,
        PolicyAction::AuditLog,
        PolicyAction::Notify,
        PolicyAction::RequireBiasAudit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyAction::RequireApproval => "require_approval",
            PolicyAction::Block => "block",
            PolicyAction::AuditLog => "audit_log",
            PolicyAction::Notify => "notify",
            PolicyAction::RequireBiasAudit => "require_bias_audit",
        }
    }

    /// The approval chain an action opens, if it opens one.
    pub fn default_chain(self) -> Option<&'static [Role]> {
        match self {
            PolicyAction::RequireApproval => Some(&[Role::TechnicalLead, Role::DataSteward]),
            PolicyAction::RequireBiasAudit => Some(&[
                Role::MlEngineer,
                Role::EthicsReviewer,
                Role::ComplianceOfficer,
            ]),
            PolicyAction::Block | PolicyAction::AuditLog | PolicyAction::Notify => None,
        }
    }
}

/// Which agents a policy looks at.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PolicyScope {
    AllAgents,
    Category,
    DataClassification,
    SpecificAgent,
}

impl PolicyScope {
    pub const ALL: [PolicyScope; 4] = [
        PolicyScope::AllAgents,
        PolicyScope::Category,
        PolicyScope::DataClassification,
        PolicyScope::SpecificAgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyScope::AllAgents => "all_agents",
            PolicyScope::Category => "category",
            PolicyScope::DataClassification => "data_classification",
            PolicyScope::SpecificAgent => "specific_agent",
        }
    }
}

display_as_str!(PolicyAction, PolicyScope);

/// One step of an approval chain: a role, written as its name or as a
/// table (`{ role = "data_steward" }`) that later per-step options extend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ChainStep {
    Role(Role),
    Step(StepOptions),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepOptions {
    pub role: Role,
    /// How long the step may wait: `48h`, `3d`, `1w`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
    /// How many different people of the role must approve (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    /// Whom the step escalates to when overdue (a role or an email
    /// address), before the set's `[sla] escalate_to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<String>,
}

/// The most approvers a quorum step may ask for.
pub const MAX_QUORUM: u32 = 20;

impl ChainStep {
    pub fn role(&self) -> Role {
        match self {
            ChainStep::Role(role) => *role,
            ChainStep::Step(options) => options.role,
        }
    }

    /// The step's quorum and SLA under the set's SLA rules.
    pub fn rules(&self, sla: &SlaRules) -> Result<StepRules, String> {
        let ChainStep::Step(options) = self else {
            return Ok(StepRules {
                quorum: 1,
                sla: None,
            });
        };
        let quorum = options.quorum.unwrap_or(1);
        if !(1..=MAX_QUORUM).contains(&quorum) {
            return Err(format!(
                "quorum {quorum} must be between 1 and {MAX_QUORUM}"
            ));
        }
        Ok(StepRules {
            quorum,
            sla: sla.step_sla(options.sla.as_deref(), options.escalate_to.as_deref())?,
        })
    }
}

/// What a `require_bias_audit` policy demands of the audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BiasAuditRule {
    /// The disparate-impact ratio to reach (default 0.8, the four-fifths rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The protected attributes the audit must cover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// How old the audit may be: `180d`, `12w`, `24h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// Whether the intersection of `attributes` (e.g. sex x race/ethnicity)
    /// must pass too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intersectional: bool,
    /// Whether each agent version needs its own audit (the default); when
    /// false, the agent's latest audit of any version counts.
    #[serde(default = "active", skip_serializing_if = "is_true")]
    pub each_version: bool,
}

fn is_true(value: &bool) -> bool {
    *value
}

fn all_agents() -> PolicyScope {
    PolicyScope::AllAgents
}

fn active() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub policy_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// CEL over `agent` and `request`, or a table of field = value pairs
    /// that must all hold; none: every agent in scope.
    #[serde(default)]
    pub condition: ConditionSource,
    pub action: PolicyAction,
    #[serde(default = "all_agents")]
    pub scope: PolicyScope,
    #[serde(default)]
    pub scope_value: Option<String>,
    /// The roles that sign off, in order (default: the action's chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_chain: Option<Vec<ChainStep>>,
    #[serde(default = "active")]
    pub is_active: bool,
    /// Who wrote it (stores made before policy sets; a set records its
    /// proposer and approver instead).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// The ratio a `require_bias_audit` policy demands (stores made before
    /// policy sets; a set writes `bias_audit.threshold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias_audit: Option<BiasAuditRule>,
    /// What to do when the policy fires, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

/// The longest policy name, in bytes.
pub const MAX_POLICY_NAME_BYTES: usize = 200;
/// The longest policy description or remediation, in bytes.
pub const MAX_POLICY_TEXT_BYTES: usize = 2048;

impl Policy {
    /// Why the scope's value is outside the vocabulary, if it is.
    pub fn scope_outside(
        &self,
        vocabulary: &crate::domain::policy::vocabulary::Vocabulary,
    ) -> Option<String> {
        let value = self.scope_value.as_deref()?;
        let problem = match self.scope {
            PolicyScope::Category => crate::domain::agent::Category::new(value)
                .map_err(|err| err.to_string())
                .and_then(|category| {
                    vocabulary
                        .check_category(category)
                        .map_err(|err| err.to_string())
                })
                .err(),
            PolicyScope::DataClassification => crate::domain::agent::DataClassification::new(value)
                .map_err(|err| err.to_string())
                .and_then(|classification| {
                    vocabulary
                        .check_classification(classification)
                        .map_err(|err| err.to_string())
                })
                .err(),
            PolicyScope::AllAgents | PolicyScope::SpecificAgent => None,
        };
        problem.map(|problem| format!("scope_value: {problem}"))
    }

    /// Whether the agent falls within this policy's scope.
    pub fn in_scope(&self, agent: &Agent) -> bool {
        let value = self.scope_value.as_deref();
        match self.scope {
            PolicyScope::AllAgents => true,
            PolicyScope::Category => value == Some(agent.category.as_str()),
            PolicyScope::DataClassification => value == Some(agent.data_classification.as_str()),
            PolicyScope::SpecificAgent => value == Some(agent.agent_id.as_str()),
        }
    }

    /// The ratio a passing bias audit must reach under this policy.
    pub fn bias_threshold(&self) -> f64 {
        self.bias_audit
            .as_ref()
            .and_then(|rule| rule.threshold)
            .or(self.bias_threshold)
            .unwrap_or(crate::domain::bias::DEFAULT_THRESHOLD)
    }

    /// The chain of roles this policy's workflow walks through, if any.
    pub fn chain(&self) -> Option<Vec<Role>> {
        match (&self.approval_chain, self.action.default_chain()) {
            (Some(chain), Some(_)) if !chain.is_empty() => {
                Some(chain.iter().map(ChainStep::role).collect())
            }
            (_, default) => default.map(<[Role]>::to_vec),
        }
    }

    /// Each step's quorum and SLA under the set's SLA rules, in chain order.
    pub fn step_rules(&self, sla: &SlaRules) -> Result<Vec<StepRules>, String> {
        match &self.approval_chain {
            Some(chain) if !chain.is_empty() => chain
                .iter()
                .enumerate()
                .map(|(index, step)| {
                    step.rules(sla)
                        .map_err(|err| format!("approval_chain[{index}]: {err}"))
                })
                .collect(),
            _ => Ok(self
                .chain()
                .unwrap_or_default()
                .iter()
                .map(|_| StepRules {
                    quorum: 1,
                    sla: None,
                })
                .collect()),
        }
    }

    /// Why the policy fired, in words, for reports.
    pub fn explain(&self) -> String {
        let scope = match (self.scope, self.scope_value.as_deref()) {
            (PolicyScope::AllAgents, _) => "every agent".to_owned(),
            (scope, Some(value)) => format!("{} = {value}", scope.as_str()),
            (scope, None) => format!("{} (no value)", scope.as_str()),
        };
        match &self.condition {
            ConditionSource::Equalities(pairs) if pairs.is_empty() => format!("applies to {scope}"),
            condition => format!("applies to {scope} when {condition}"),
        }
    }

    /// Whether its texts are within their sizes (every reader of the set
    /// is sent them): checked on a set proposed or planned, not on one
    /// already stored.
    pub fn check_sizes(&self) -> Result<(), String> {
        for (field, text, most) in [
            ("name", Some(self.name.as_str()), MAX_POLICY_NAME_BYTES),
            (
                "description",
                Some(self.description.as_str()),
                MAX_POLICY_TEXT_BYTES,
            ),
            (
                "remediation",
                self.remediation.as_deref(),
                MAX_POLICY_TEXT_BYTES,
            ),
            ("scope_value", self.scope_value.as_deref(), 256),
        ] {
            if let Some(text) = text
                && text.len() > most
            {
                return Err(format!("{field} is {} bytes; at most {most}", text.len()));
            }
        }
        Ok(())
    }

    /// Checks a policy that came from outside (a file, a request).
    pub fn validate(&self) -> Result<(), String> {
        if crate::domain::name::intern("policy id", &self.policy_id).is_err() {
            return Err(format!(
                "policy_id {:?} must be a snake_case name (a lower-case letter, then letters, digits or _)",
                self.policy_id
            ));
        }
        if !crate::text::has_visible_text(&self.name) {
            return Err("name must not be empty".into());
        }
        if self.scope != PolicyScope::AllAgents
            && self.scope_value.as_deref().is_none_or(str::is_empty)
        {
            return Err(format!("scope {} needs a scope_value", self.scope));
        }
        let threshold = self.bias_threshold();
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err("bias_audit.threshold must be in (0, 1]".into());
        }
        if let Some(rule) = &self.bias_audit {
            if self.action != PolicyAction::RequireBiasAudit {
                return Err("bias_audit only makes sense for require_bias_audit".into());
            }
            if let Some(age) = &rule.max_age {
                parse_age(age).map_err(|err| format!("bias_audit.max_age: {err}"))?;
            }
            for attribute in &rule.attributes {
                if crate::domain::name::intern("attribute", attribute).is_err() {
                    return Err(format!(
                        "bias_audit.attributes: {attribute:?} must be a snake_case name"
                    ));
                }
            }
        }
        match &self.approval_chain {
            Some(_) if self.action.default_chain().is_none() => {
                return Err(
                    "approval_chain only makes sense for require_approval or require_bias_audit"
                        .into(),
                );
            }
            Some(chain) if chain.is_empty() => {
                return Err("approval_chain must name at least one role".into());
            }
            _ => {}
        }
        Ok(())
    }
}

/// What a chain step asks beyond its role: several approvers, an SLA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepRules {
    pub quorum: u32,
    pub sla: Option<StepSla>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::agent::{Category, DataClassification, RiskTier};
    use crate::domain::policy::condition::{Condition, Evaluator, Outcome};
    use crate::domain::policy::facts::RequestFacts;
    use crate::domain::policy::set::default_policies;
    use crate::domain::policy::vocabulary::Vocabulary;
    use serde_json::json;

    /// Whether one policy fires for an agent, alone.
    fn fires(policy: &Policy, agent: &Agent) -> bool {
        let evaluator = Evaluator::new(&Vocabulary::default());
        policy.is_active
            && policy.in_scope(agent)
            && Condition::compile(&policy.condition).is_ok_and(|condition| {
                condition.evaluate(&evaluator.scope(agent, &RequestFacts::default()))
                    == Outcome::Holds
            })
    }

    pub(crate) fn agent() -> Agent {
        Agent {
            agent_id: "agt-1".into(),
            name: "Resume screener".into(),
            team: "People Ops".into(),
            owner: "owner@example.com".into(),
            category: Category::CustomerService,
            data_classification: DataClassification::Internal,
            has_external_tools: false,
            tools_approved: false,
            risk_tier: RiskTier::Low,
            version: "1.0.0".into(),
            labels: Default::default(),
        }
    }

    fn find(id: &str) -> Policy {
        default_policies()
            .into_iter()
            .find(|policy| policy.policy_id == id)
            .unwrap()
    }

    fn triggered(agent: &Agent) -> Vec<String> {
        default_policies()
            .into_iter()
            .filter(|policy| fires(policy, agent))
            .map(|policy| policy.policy_id)
            .collect()
    }

    #[test]
    fn a_plain_low_risk_agent_triggers_nothing() {
        assert!(triggered(&agent()).is_empty());
    }

    #[test]
    fn confidential_data_triggers_pii_approval() {
        let mut agent = agent();
        agent.data_classification = DataClassification::Confidential;
        assert_eq!(triggered(&agent), ["pii_access_approval"]);
        agent.data_classification = DataClassification::Restricted;
        assert!(triggered(&agent).is_empty());
    }

    #[test]
    fn category_scope_matches_only_its_category() {
        let mut agent = agent();
        agent.category = Category::HumanResources;
        assert_eq!(triggered(&agent), ["hr_bias_audit"]);
        agent.category = Category::Finance;
        assert!(!fires(&find("hr_bias_audit"), &agent));
    }

    #[test]
    fn unapproved_external_tools_trigger_the_block_only_when_both_conditions_hold() {
        let mut agent = agent();
        agent.has_external_tools = true;
        assert_eq!(triggered(&agent), ["external_api_block"]);
        agent.tools_approved = true;
        assert!(triggered(&agent).is_empty());
        agent.has_external_tools = false;
        agent.tools_approved = false;
        assert!(triggered(&agent).is_empty());
    }

    #[test]
    fn risk_tiering_picks_the_chain_by_tier() {
        let mut agent = agent();
        agent.risk_tier = RiskTier::Medium;
        assert_eq!(triggered(&agent), ["risk_tier_medium"]);
        assert_eq!(
            find("risk_tier_medium").chain().unwrap(),
            [Role::TechnicalLead]
        );
        agent.risk_tier = RiskTier::High;
        assert_eq!(triggered(&agent), ["risk_tier_high"]);
        assert_eq!(find("risk_tier_high").chain().unwrap(), Role::ALL);
    }

    #[test]
    fn default_chains_follow_the_action() {
        assert_eq!(
            find("pii_access_approval").chain().unwrap(),
            [Role::TechnicalLead, Role::DataSteward]
        );
        assert_eq!(
            find("hr_bias_audit").chain().unwrap(),
            [
                Role::MlEngineer,
                Role::EthicsReviewer,
                Role::ComplianceOfficer
            ]
        );
        assert_eq!(find("external_api_block").chain(), None);
    }

    #[test]
    fn inactive_policies_never_trigger() {
        let mut policy = find("pii_access_approval");
        let mut agent = agent();
        agent.data_classification = DataClassification::Confidential;
        assert!(fires(&policy, &agent));
        policy.is_active = false;
        assert!(!fires(&policy, &agent));
    }

    #[test]
    fn a_table_condition_on_an_unknown_field_or_a_null_is_refused() {
        let mut policy = find("pii_access_approval");
        policy.condition = ConditionSource::Equalities([("region".to_owned(), json!("eu"))].into());
        assert!(Condition::compile(&policy.condition).is_err());
        policy.condition =
            ConditionSource::Equalities([("team".to_owned(), serde_json::Value::Null)].into());
        assert!(Condition::compile(&policy.condition).is_err());
    }

    #[test]
    fn condition_values_compare_by_type() {
        let mut policy = find("external_api_block");
        policy.condition =
            ConditionSource::Equalities([("has_external_tools".to_owned(), json!("true"))].into());
        let mut agent = agent();
        agent.has_external_tools = true;
        assert!(
            !fires(&policy, &agent),
            "the string \"true\" is not the boolean true"
        );
    }

    #[test]
    fn specific_agent_and_classification_scopes() {
        let mut policy = find("pii_access_approval");
        policy.condition = ConditionSource::default();
        policy.scope = PolicyScope::SpecificAgent;
        policy.scope_value = Some("agt-1".into());
        assert!(fires(&policy, &agent()));
        policy.scope_value = Some("agt-2".into());
        assert!(!fires(&policy, &agent()));
        policy.scope = PolicyScope::DataClassification;
        policy.scope_value = Some("internal".into());
        assert!(fires(&policy, &agent()));
        policy.scope_value = None;
        assert!(
            !fires(&policy, &agent()),
            "a scope without a value matches nothing"
        );
    }

    #[test]
    fn validation_catches_scope_without_value_and_stray_chains() {
        let mut policy = find("hr_bias_audit");
        assert_eq!(policy.validate(), Ok(()));
        policy.scope_value = None;
        assert!(
            policy
                .validate()
                .unwrap_err()
                .contains("needs a scope_value")
        );
        let mut block = find("external_api_block");
        block.approval_chain = Some(vec![ChainStep::Role(Role::TechnicalLead)]);
        assert!(block.validate().is_err());
    }

    #[test]
    fn explanations_name_scope_and_conditions() {
        assert_eq!(
            find("external_api_block").explain(),
            "applies to every agent when agent.has_external_tools && !agent.tools_approved"
        );
        assert_eq!(
            find("hr_bias_audit").explain(),
            "applies to category = human_resources"
        );
    }

    #[test]
    fn every_default_policy_is_valid() {
        for policy in default_policies() {
            assert_eq!(policy.validate(), Ok(()), "{}", policy.policy_id);
        }
    }
}
