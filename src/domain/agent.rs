//! Agents: the LLM applications an organisation wants to deploy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::name::{display_as_str, vocabulary_name};

vocabulary_name!(
    /// What an agent does; policies can be scoped to a category. The active
    /// policy set's vocabulary lists the categories an agent may have.
    Category,
    "category",
    [
        CustomerService = "customer_service",
        HumanResources = "human_resources",
        Finance = "finance",
        Healthcare = "healthcare",
        Legal = "legal",
        Marketing = "marketing",
        Engineering = "engineering",
        Operations = "operations",
        Research = "research",
    ]
);

vocabulary_name!(
    /// How sensitive the data an agent touches is. The vocabulary orders
    /// classifications from least to most sensitive; the built-in order is
    /// public, internal, confidential, restricted.
    DataClassification,
    "data classification",
    [
        Public = "public",
        Internal = "internal",
        Confidential = "confidential",
        Restricted = "restricted",
    ]
);

/// Risk tier; ordered so that `High > Medium > Low`.
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
pub enum RiskTier {
    Low,
    Medium,
    High,
}

impl RiskTier {
    pub const ALL: [RiskTier; 3] = [RiskTier::Low, RiskTier::Medium, RiskTier::High];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskTier::Low => "low",
            RiskTier::Medium => "medium",
            RiskTier::High => "high",
        }
    }

    /// A number that sorts like the tier (used as an index key).
    pub fn rank(self) -> i64 {
        match self {
            RiskTier::Low => 0,
            RiskTier::Medium => 1,
            RiskTier::High => 2,
        }
    }

    pub fn from_rank(rank: i64) -> Option<RiskTier> {
        RiskTier::ALL.into_iter().find(|tier| tier.rank() == rank)
    }
}

display_as_str!(RiskTier);

/// An agent as the governance model describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    pub agent_id: String,
    pub name: String,
    pub team: String,
    pub owner: String,
    pub category: Category,
    pub data_classification: DataClassification,
    pub has_external_tools: bool,
    pub tools_approved: bool,
    pub risk_tier: RiskTier,
    pub version: String,
    /// The organisation's own facts about the agent (`region = "eu"`), which
    /// policy conditions read as `agent.labels`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Agent {
    /// The agent's fields as policy conditions see them (`key -> JSON value`).
    pub fn attribute(&self, key: &str) -> Option<serde_json::Value> {
        use serde_json::Value;
        Some(match key {
            "agent_id" => Value::from(self.agent_id.as_str()),
            "name" => Value::from(self.name.as_str()),
            "team" => Value::from(self.team.as_str()),
            "owner" => Value::from(self.owner.as_str()),
            "category" => Value::from(self.category.as_str()),
            "data_classification" => Value::from(self.data_classification.as_str()),
            "has_external_tools" => Value::from(self.has_external_tools),
            "tools_approved" => Value::from(self.tools_approved),
            "risk_tier" => Value::from(self.risk_tier.as_str()),
            "version" => Value::from(self.version.as_str()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_their_snake_case_spelling() {
        for &category in Category::BUILTIN {
            assert_eq!(category.as_str().parse::<Category>(), Ok(category));
            let json = serde_json::to_string(&category).unwrap();
            assert_eq!(json, format!("\"{}\"", category.as_str()));
        }
        for tier in RiskTier::ALL {
            assert_eq!(RiskTier::from_rank(tier.rank()), Some(tier));
        }
    }

    #[test]
    fn unknown_enum_values_name_the_allowed_ones() {
        let err = "mega".parse::<RiskTier>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown RiskTier \"mega\" (expected one of: low, medium, high)"
        );
    }

    #[test]
    fn risk_tiers_order_by_severity() {
        assert!(RiskTier::High > RiskTier::Medium && RiskTier::Medium > RiskTier::Low);
    }
}
