//! Governance policies and the engine that decides which of them trigger.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::agent::{Agent, display_as_str};
use super::workflow::Role;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub policy_id: String,
    pub name: String,
    pub description: String,
    /// Agent field -> the value it must equal. Every key must match.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub condition: BTreeMap<String, serde_json::Value>,
    pub action: PolicyAction,
    pub scope: PolicyScope,
    #[serde(default)]
    pub scope_value: Option<String>,
    /// Overrides the action's default chain (risk tiering uses this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_chain: Option<Vec<Role>>,
    pub is_active: bool,
    pub created_by: String,
    #[serde(default)]
    pub approved_by: Option<String>,
    /// The disparate-impact ratio a `require_bias_audit` policy demands
    /// (default 0.8, the four-fifths rule). The policy sets it, never the
    /// submitter of an audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias_threshold: Option<f64>,
}

/// Facts about a request that conditions may name besides the agent's own
/// fields: `lowers_risk_fields` is true when the request lowers a
/// risk-relevant field against the agent's last approved or pending version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFacts {
    pub lowers_risk_fields: bool,
}

impl RequestFacts {
    pub const KEYS: [&str; 1] = ["lowers_risk_fields"];

    fn attribute(&self, key: &str) -> Option<serde_json::Value> {
        match key {
            "lowers_risk_fields" => Some(serde_json::Value::from(self.lowers_risk_fields)),
            _ => None,
        }
    }
}

impl Policy {
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

    /// Active, in scope, and every condition key equals the agent's value,
    /// for an agent as it is (no request under way).
    pub fn triggers_on(&self, agent: &Agent) -> bool {
        self.triggers(agent, &RequestFacts::default())
    }

    /// Active, in scope, and every condition key equals the agent's value
    /// or the request's fact. A key neither has never matches.
    pub fn triggers(&self, agent: &Agent, facts: &RequestFacts) -> bool {
        self.is_active
            && self.in_scope(agent)
            && self.condition.iter().all(|(key, expected)| {
                agent
                    .attribute(key)
                    .or_else(|| facts.attribute(key))
                    .as_ref()
                    == Some(expected)
            })
    }

    /// Whether the condition looks at the request, not only the agent.
    pub fn reads_request_facts(&self) -> bool {
        RequestFacts::KEYS
            .iter()
            .any(|key| self.condition.contains_key(*key))
    }

    /// The ratio a passing bias audit must reach under this policy.
    pub fn bias_threshold(&self) -> f64 {
        self.bias_threshold
            .unwrap_or(super::bias::DEFAULT_THRESHOLD)
    }

    /// The chain of roles this policy's workflow walks through, if any.
    pub fn chain(&self) -> Option<Vec<Role>> {
        match (&self.approval_chain, self.action.default_chain()) {
            (Some(chain), Some(_)) if !chain.is_empty() => Some(chain.clone()),
            (_, default) => default.map(<[Role]>::to_vec),
        }
    }

    /// Why the policy fired, in words, for reports.
    pub fn explain(&self) -> String {
        let scope = match (self.scope, self.scope_value.as_deref()) {
            (PolicyScope::AllAgents, _) => "every agent".to_owned(),
            (scope, Some(value)) => format!("{} = {value}", scope.as_str()),
            (scope, None) => format!("{} (no value)", scope.as_str()),
        };
        if self.condition.is_empty() {
            format!("applies to {scope}")
        } else {
            let conditions: Vec<String> = self
                .condition
                .iter()
                .map(|(key, value)| format!("{key} = {value}"))
                .collect();
            format!("applies to {scope} when {}", conditions.join(" and "))
        }
    }

    /// Checks a policy that came from outside (a file, a request).
    pub fn validate(&self) -> Result<(), String> {
        if self.policy_id.trim().is_empty() {
            return Err("policy_id must not be empty".into());
        }
        if self.scope != PolicyScope::AllAgents
            && self.scope_value.as_deref().is_none_or(str::is_empty)
        {
            return Err(format!(
                "policy {}: scope {} needs a scope_value",
                self.policy_id, self.scope
            ));
        }
        if self
            .bias_threshold
            .is_some_and(|threshold| !(threshold > 0.0 && threshold <= 1.0))
        {
            return Err(format!(
                "policy {}: bias_threshold must be in (0, 1]",
                self.policy_id
            ));
        }
        if self.approval_chain.is_some() && self.action.default_chain().is_none() {
            return Err(format!(
                "policy {}: approval_chain only makes sense for require_approval or require_bias_audit",
                self.policy_id
            ));
        }
        Ok(())
    }
}

/// The policies every new store starts with.
pub fn default_policies() -> Vec<Policy> {
    let policy = |id: &str,
                  name: &str,
                  description: &str,
                  condition: serde_json::Value,
                  action: PolicyAction,
                  scope: PolicyScope,
                  scope_value: Option<&str>,
                  approval_chain: Option<Vec<Role>>| Policy {
        policy_id: id.into(),
        name: name.into(),
        description: description.into(),
        condition: serde_json::from_value(condition).unwrap_or_default(),
        action,
        scope,
        scope_value: scope_value.map(Into::into),
        approval_chain,
        is_active: true,
        created_by: "governance-board@gavel.local".into(),
        approved_by: Some("chief-risk-officer@gavel.local".into()),
        bias_threshold: None,
    };
    vec![
        policy(
            "pii_access_approval",
            "PII access approval",
            "Agents that touch confidential data need sign-off from a technical lead and a data steward.",
            serde_json::json!({ "data_classification": "confidential" }),
            PolicyAction::RequireApproval,
            PolicyScope::AllAgents,
            None,
            None,
        ),
        policy(
            "hr_bias_audit",
            "HR bias audit",
            "Agents that decide about people need a passing bias audit and an ethics review.",
            serde_json::json!({}),
            PolicyAction::RequireBiasAudit,
            PolicyScope::Category,
            Some("human_resources"),
            None,
        ),
        policy(
            "external_api_block",
            "Unapproved external tools",
            "Agents may not call external tools that have not been approved.",
            serde_json::json!({ "has_external_tools": true, "tools_approved": false }),
            PolicyAction::Block,
            PolicyScope::AllAgents,
            None,
            None,
        ),
        policy(
            "risk_tier_medium",
            "Medium-risk review",
            "Medium-risk agents need a technical lead's approval.",
            serde_json::json!({ "risk_tier": "medium" }),
            PolicyAction::RequireApproval,
            PolicyScope::AllAgents,
            None,
            Some(vec![Role::TechnicalLead]),
        ),
        policy(
            "risk_tier_high",
            "High-risk review",
            "High-risk agents go through the full chain of reviewers.",
            serde_json::json!({ "risk_tier": "high" }),
            PolicyAction::RequireApproval,
            PolicyScope::AllAgents,
            None,
            Some(Role::ALL.to_vec()),
        ),
        classification_change_policy(),
    ]
}

/// Re-filing an agent as less risky than its approved or pending version
/// (another category, lower data classification, no external tools, a
/// lower risk tier) needs a data steward's sign-off, and the earlier
/// request stays open until it is given.
pub fn classification_change_policy() -> Policy {
    Policy {
        policy_id: "classification_change".into(),
        name: "Classification change".into(),
        description: "A request that lowers an agent's category, data classification, external tools or risk tier against its approved or pending version needs a data steward's approval.".into(),
        condition: [("lowers_risk_fields".to_owned(), serde_json::Value::Bool(true))].into(),
        action: PolicyAction::RequireApproval,
        scope: PolicyScope::AllAgents,
        scope_value: None,
        approval_chain: Some(vec![Role::DataSteward]),
        is_active: true,
        created_by: "gavel (built in)".into(),
        approved_by: None,
        bias_threshold: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::{Category, DataClassification, RiskTier};
    use serde_json::json;

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
            .filter(|policy| policy.triggers_on(agent))
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
        assert!(!find("hr_bias_audit").triggers_on(&agent));
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
        assert!(policy.triggers_on(&agent));
        policy.is_active = false;
        assert!(!policy.triggers_on(&agent));
    }

    #[test]
    fn a_condition_on_a_missing_key_never_matches() {
        let mut policy = find("pii_access_approval");
        policy.condition.insert("region".into(), json!("eu"));
        let mut agent = agent();
        agent.data_classification = DataClassification::Confidential;
        assert!(!policy.triggers_on(&agent));
        policy.condition.clear();
        policy
            .condition
            .insert("region".into(), serde_json::Value::Null);
        assert!(
            !policy.triggers_on(&agent),
            "null must not match a missing key"
        );
    }

    #[test]
    fn condition_values_compare_by_type() {
        let mut policy = find("external_api_block");
        policy.condition = [("has_external_tools".to_owned(), json!("true"))].into();
        let mut agent = agent();
        agent.has_external_tools = true;
        assert!(
            !policy.triggers_on(&agent),
            "the string \"true\" is not the boolean true"
        );
    }

    #[test]
    fn specific_agent_and_classification_scopes() {
        let mut policy = find("pii_access_approval");
        policy.condition.clear();
        policy.scope = PolicyScope::SpecificAgent;
        policy.scope_value = Some("agt-1".into());
        assert!(policy.triggers_on(&agent()));
        policy.scope_value = Some("agt-2".into());
        assert!(!policy.triggers_on(&agent()));
        policy.scope = PolicyScope::DataClassification;
        policy.scope_value = Some("internal".into());
        assert!(policy.triggers_on(&agent()));
        policy.scope_value = None;
        assert!(
            !policy.triggers_on(&agent()),
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
        block.approval_chain = Some(vec![Role::TechnicalLead]);
        assert!(block.validate().is_err());
    }

    #[test]
    fn explanations_name_scope_and_conditions() {
        assert_eq!(
            find("external_api_block").explain(),
            "applies to every agent when has_external_tools = true and tools_approved = false"
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
