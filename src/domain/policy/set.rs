//! Policy sets: the organisation's policies as one reviewed TOML file, with
//! the vocabulary they speak, who may do what, and the risk floors, checked
//! and compiled for evaluation.
//!
//! `examples/policies/default.toml` is the built-in set, equal to Gavel's
//! behaviour before sets existed; every new store starts from it.

use serde::{Deserialize, Serialize};

use crate::domain::agent::{Agent, RiskTier};
use crate::domain::policy::condition::{Condition, ConditionSource, Evaluator, Outcome, Scope};
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::policies::{Policy, PolicyScope};
use crate::domain::policy::sla::{EscalateTo, SlaRules};
use crate::domain::policy::vocabulary::Vocabulary;
use crate::domain::role::Role;

/// The built-in set's text.
pub const BUILTIN_SET: &str = include_str!("../../../examples/policies/default.toml");

/// Who may do what, by role. An empty list lets anyone signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// Who may record a bias audit.
    pub record_audits: Vec<Role>,
    /// Who may approve or reject an external tool.
    pub approve_tools: Vec<Role>,
    /// Who may request a deployment (empty: anyone).
    #[serde(default)]
    pub request_deployments: Vec<Role>,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            record_audits: vec![Role::MlEngineer],
            approve_tools: vec![Role::DataSteward, Role::ComplianceOfficer],
            request_deployments: Vec::new(),
        }
    }
}

/// The least risk tier agents matching a condition have, whatever their
/// manifest declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskFloor {
    pub condition: ConditionSource,
    pub tier: RiskTier,
    /// Who it is about, for messages ("agents with restricted data").
    pub reason: String,
}

/// A policy set as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySetFile {
    /// What this set is, in a sentence.
    #[serde(default)]
    pub description: String,
    pub vocabulary: Vocabulary,
    #[serde(default)]
    pub permissions: Permissions,
    /// Checked in order; the highest tier that applies wins.
    #[serde(default)]
    pub minimum_risk: Vec<RiskFloor>,
    /// When steps with an SLA are reminded and escalated.
    #[serde(default, skip_serializing_if = "SlaRules::is_default")]
    pub sla: SlaRules,
    #[serde(default, rename = "policy")]
    pub policies: Vec<Policy>,
}

/// A problem with a set, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct SetError {
    /// `policy pii_access_approval`, `minimum_risk[2]`, `line 14, column 3`...
    pub place: String,
    pub message: String,
}

fn at(place: impl Into<String>, message: impl Into<String>) -> SetError {
    SetError {
        place: place.into(),
        message: message.into(),
    }
}

/// The errors of one set, all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct SetErrors(pub Vec<SetError>);

impl PolicySetFile {
    /// Reads the TOML; errors name the line and column.
    pub fn parse(text: &str) -> Result<PolicySetFile, SetErrors> {
        toml::from_str(text).map_err(|err| {
            let place = err
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    let column = span.start
                        - text[..span.start.min(text.len())]
                            .rfind('\n')
                            .map_or(0, |newline| newline + 1)
                        + 1;
                    format!("line {line}, column {column}")
                })
                .unwrap_or_else(|| "the file".into());
            SetErrors(vec![at(place, err.message().to_owned())])
        })
    }
}

/// A set's text as stored, with its digest.
pub struct Source {
    pub text: String,
    pub sha256: String,
    pub description: String,
}

impl Source {
    pub fn new(text: &str, description: &str) -> Source {
        Source {
            text: text.to_owned(),
            sha256: Source::digest(text),
            description: description.to_owned(),
        }
    }

    /// SHA-256 of a set's text, hex: what versions record and replay checks.
    pub fn digest(text: &str) -> String {
        crate::domain::digest::sha256_hex(text)
    }
}

/// The text of the set a store's policies make (version 1 of a store made
/// before sets): the built-in file when they are the built-in policies,
/// else the built-in vocabulary, permissions and floors around them.
pub fn source_for_policies(policies: Vec<Policy>) -> Result<Source, String> {
    let builtin = PolicySet::builtin();
    let same =
        serde_json::to_value(&policies).ok() == serde_json::to_value(builtin.policies()).ok();
    if same {
        return Ok(Source::new(BUILTIN_SET, &builtin.file.description));
    }
    let mut file = builtin.file;
    file.description = "the policies this store had before policy sets".into();
    file.policies = policies;
    let text = toml::to_string(&file).map_err(|err| err.to_string())?;
    PolicySetFile::parse(&text).map_err(|err| err.to_string())?;
    Ok(Source::new(&text, &file.description))
}

/// A set checked and ready to evaluate.
pub struct PolicySet {
    pub file: PolicySetFile,
    conditions: Vec<Condition>,
    floors: Vec<Condition>,
    evaluator: Evaluator,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("policies", &self.file.policies.len())
            .finish_non_exhaustive()
    }
}

/// How deep `compile` checks: a set being proposed is run against
/// synthetic agents; one loaded from the store was checked when proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    Full,
    Names,
}

impl PolicySet {
    /// Gavel's built-in set.
    pub fn builtin() -> PolicySet {
        let file = PolicySetFile::parse(BUILTIN_SET).unwrap_or_else(|err| {
            unreachable!("the built-in policy set is checked by its tests: {err}")
        });
        PolicySet::compile(file, Checks::Names)
            .unwrap_or_else(|err| unreachable!("the built-in policy set is checked: {err}"))
    }

    /// The built-in vocabulary and rules around other policies.
    #[cfg(test)]
    pub fn with_policies(policies: Vec<Policy>) -> Result<PolicySet, SetErrors> {
        let mut file = PolicySet::builtin().file;
        file.policies = policies;
        PolicySet::compile(file, Checks::Names)
    }

    /// Checks every part of a set, reporting every problem found.
    pub fn compile(file: PolicySetFile, checks: Checks) -> Result<PolicySet, SetErrors> {
        let mut errors = Vec::new();
        let vocabulary = &file.vocabulary;
        // One evaluator, with its `at_least` over this vocabulary, serves
        // the checks and the set.
        let evaluator = Evaluator::new(vocabulary);
        let mut too_large = check_vocabulary(vocabulary, &mut errors);
        if checks == Checks::Full && file.description.len() > MAX_SET_DESCRIPTION_BYTES {
            errors.push(at(
                "description",
                format!(
                    "is {} bytes; at most {MAX_SET_DESCRIPTION_BYTES}",
                    file.description.len()
                ),
            ));
        }
        for (index, floor) in file.minimum_risk.iter().enumerate() {
            if checks == Checks::Full
                && floor.reason.len() > crate::domain::policy::policies::MAX_POLICY_NAME_BYTES
            {
                errors.push(at(
                    format!("minimum_risk[{index}]"),
                    format!(
                        "reason is {} bytes; at most {}",
                        floor.reason.len(),
                        crate::domain::policy::policies::MAX_POLICY_NAME_BYTES
                    ),
                ));
            }
        }
        for (field, count, most) in [
            ("policy", file.policies.len(), MAX_POLICIES),
            ("minimum_risk", file.minimum_risk.len(), MAX_RISK_FLOORS),
        ] {
            if count > most {
                errors.push(at(
                    field,
                    format!("{count} given; a set holds at most {most}"),
                ));
                too_large = true;
            }
        }
        if too_large {
            // Too large to check further at a known cost.
            return Err(SetErrors(errors));
        }
        for (field, roles) in [
            ("permissions.record_audits", &file.permissions.record_audits),
            ("permissions.approve_tools", &file.permissions.approve_tools),
            (
                "permissions.request_deployments",
                &file.permissions.request_deployments,
            ),
        ] {
            for role in roles {
                if let Err(err) = vocabulary.check_role(field, *role) {
                    errors.push(at(field, err.to_string()));
                }
            }
        }
        if let Err(message) = file.sla.check() {
            errors.push(at("sla", message));
        }
        let mut budget = MAX_CHECK_EVALUATIONS;
        let mut floors = Vec::new();
        for (index, floor) in file.minimum_risk.iter().enumerate() {
            let place = format!("minimum_risk[{index}]");
            match compiled(
                &floor.condition,
                &evaluator,
                vocabulary,
                checks,
                &mut budget,
            ) {
                Ok(condition) => floors.push(condition),
                Err(message) => errors.push(at(place, message)),
            }
        }
        let mut conditions = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (index, policy) in file.policies.iter().enumerate() {
            let place = if policy.policy_id.is_empty() {
                format!("policy[{index}]")
            } else {
                format!("policy {}", policy.policy_id)
            };
            if !seen.insert(policy.policy_id.as_str()) {
                errors.push(at(&place, "another policy has this policy_id"));
            }
            if let Err(message) = policy.validate() {
                errors.push(at(&place, message));
            }
            if checks == Checks::Full
                && let Err(message) = policy.check_sizes()
            {
                errors.push(at(&place, message));
            }
            if let Some(problem) = scope_outside(policy, vocabulary) {
                errors.push(at(&place, problem));
            }
            for role in policy.chain().unwrap_or_default() {
                if let Err(err) = vocabulary.check_role("approval_chain", role) {
                    errors.push(at(&place, err.to_string()));
                }
            }
            let chain = policy.chain().unwrap_or_default();
            if chain
                .iter()
                .filter(|role| **role == Role::EthicsReviewer)
                .count()
                > 1
            {
                errors.push(at(
                    &place,
                    "the chain names ethics_reviewer twice: a workflow has one ethics review, whose author decides its ethics step",
                ));
            }
            match policy.step_rules(&file.sla) {
                Ok(steps) => {
                    if chain
                        .iter()
                        .zip(&steps)
                        .any(|(role, step)| *role == Role::EthicsReviewer && step.quorum > 1)
                    {
                        errors.push(at(
                            &place,
                            "an ethics_reviewer step takes no quorum: it is decided by the author of the workflow's one ethics review",
                        ));
                    }
                    for target in steps
                        .iter()
                        .filter_map(|step| step.sla.as_ref()?.escalate_to.as_deref())
                    {
                        if let Ok(EscalateTo::Role(role)) = EscalateTo::parse(target)
                            && let Err(err) = vocabulary.check_role("escalate_to", role)
                        {
                            errors.push(at(&place, err.to_string()));
                        }
                    }
                }
                Err(message) => errors.push(at(&place, message)),
            }
            match compiled(
                &policy.condition,
                &evaluator,
                vocabulary,
                checks,
                &mut budget,
            ) {
                Ok(condition) => conditions.push(condition),
                Err(message) => errors.push(at(&place, format!("condition {message}"))),
            }
        }
        if !errors.is_empty() {
            return Err(SetErrors(errors));
        }
        Ok(PolicySet {
            file,
            conditions,
            floors,
            evaluator,
        })
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.file.vocabulary
    }

    pub fn permissions(&self) -> &Permissions {
        &self.file.permissions
    }

    pub fn policies(&self) -> &[Policy] {
        &self.file.policies
    }

    /// Each step's quorum and SLA for the workflow a policy opens (checked
    /// when the set was compiled).
    pub fn step_rules(&self, policy_id: &str) -> Vec<crate::domain::policy::policies::StepRules> {
        self.policies()
            .iter()
            .find(|policy| policy.policy_id == policy_id)
            .and_then(|policy| policy.step_rules(&self.file.sla).ok())
            .unwrap_or_default()
    }

    pub fn scope(&self, agent: &Agent, facts: &RequestFacts) -> Scope<'_> {
        self.evaluator.scope(agent, facts)
    }

    /// How each policy comes out for one agent and request, in order: only
    /// active, in-scope policies are evaluated; the rest do not hold.
    pub fn outcomes(&self, agent: &Agent, facts: &RequestFacts) -> Vec<Outcome> {
        let scope = self.scope(agent, facts);
        self.file
            .policies
            .iter()
            .zip(&self.conditions)
            .map(|(policy, condition)| {
                if policy.is_active && policy.in_scope(agent) {
                    condition.evaluate(&scope)
                } else {
                    Outcome::DoesNotHold
                }
            })
            .collect()
    }

    /// The threshold an audit of this agent is held to: the strictest of the
    /// bias-audit policies that apply to it (a condition that fails counts
    /// as applying), the four-fifths rule when none does.
    pub fn audit_threshold(&self, agent: &Agent) -> f64 {
        self.policies()
            .iter()
            .zip(self.outcomes(agent, &RequestFacts::default()))
            .filter(|(policy, outcome)| {
                policy.action == crate::domain::policy::policies::PolicyAction::RequireBiasAudit
                    && !matches!(outcome, Outcome::DoesNotHold)
            })
            .map(|(policy, _)| policy.bias_threshold())
            .reduce(f64::max)
            .unwrap_or(crate::domain::bias::DEFAULT_THRESHOLD)
    }

    /// The least tier an agent can have, and why; a floor whose condition
    /// errors applies (failing closed).
    pub fn minimum_risk(&self, agent: &Agent) -> (RiskTier, Option<String>) {
        let scope = self.scope(agent, &RequestFacts::default());
        let mut least = (RiskTier::Low, None);
        for (floor, condition) in self.file.minimum_risk.iter().zip(&self.floors) {
            let applies = !matches!(condition.evaluate(&scope), Outcome::DoesNotHold);
            if applies && floor.tier > least.0 {
                least = (floor.tier, Some(floor.reason.clone()));
            }
        }
        least
    }

    /// The agent fields any part of the set reads: conditions, floors,
    /// scopes, and what evaluation itself looks at (risk tier, tools). Two
    /// agents equal in these fields are judged alike.
    pub fn fields_read(&self) -> std::collections::BTreeSet<String> {
        let mut fields: std::collections::BTreeSet<String> = [
            "risk_tier",
            "has_external_tools",
            "tools_approved",
            "category",
            "data_classification",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        for condition in self.conditions.iter().chain(&self.floors) {
            fields.extend(condition.fields().iter().cloned());
        }
        for policy in &self.file.policies {
            if policy.scope == PolicyScope::SpecificAgent {
                fields.insert("agent_id".into());
            }
        }
        fields
    }

    /// The conditions of the active policies: what can make one of them
    /// hold or not.
    fn active_conditions(&self) -> impl Iterator<Item = &Condition> {
        self.file
            .policies
            .iter()
            .zip(&self.conditions)
            .filter(|(policy, _)| policy.is_active)
            .map(|(_, condition)| condition)
    }

    /// Whether an active policy's condition reads the agent's `field`
    /// (`*`: it reads the agent whole).
    pub fn governs_field(&self, field: &str) -> bool {
        self.active_conditions()
            .any(|condition| condition.fields().contains(field) || condition.fields().contains("*"))
    }

    /// Whether an active policy's condition reads the label `key`.
    pub fn governs_label(&self, key: &str) -> bool {
        self.active_conditions()
            .any(|condition| condition.reads_label(key))
    }

    /// Whether policy `index`'s condition reads the request's facts.
    pub fn reads_request(&self, index: usize) -> bool {
        self.conditions
            .get(index)
            .is_some_and(Condition::reads_request)
    }

    /// Whether policy `index`'s condition reads the agent's `field`.
    pub fn reads_field(&self, index: usize, field: &str) -> bool {
        self.conditions
            .get(index)
            .is_some_and(|condition| condition.fields().contains(field))
    }

    /// Roles a policy's chain names more than once, per policy, for `plan`
    /// to warn of: one person decides at most one step, so each needs
    /// someone else.
    pub fn repeated_roles(&self) -> Vec<(String, Vec<Role>)> {
        self.file
            .policies
            .iter()
            .filter_map(|policy| {
                let chain = policy.chain().unwrap_or_default();
                let mut repeated: Vec<Role> = chain
                    .iter()
                    .enumerate()
                    .filter(|(index, role)| chain[..*index].contains(role))
                    .map(|(_, role)| *role)
                    .collect();
                repeated.dedup();
                (!repeated.is_empty()).then(|| (policy.policy_id.clone(), repeated))
            })
            .collect()
    }

    /// Label keys read without `has()`, per policy, for `plan` to warn of.
    pub fn unguarded_labels(&self) -> Vec<(String, Vec<String>)> {
        self.file
            .policies
            .iter()
            .zip(&self.conditions)
            .filter(|(_, condition)| !condition.unguarded_labels().is_empty())
            .map(|(policy, condition)| {
                (
                    policy.policy_id.clone(),
                    condition.unguarded_labels().to_vec(),
                )
            })
            .collect()
    }
}

/// How many evaluations checking a whole set may take: with the static
/// limits on each condition (`cel_limits`), the most checking any set can
/// cost (docs/policies.md).
pub const MAX_CHECK_EVALUATIONS: usize = 4096;

fn compiled(
    source: &ConditionSource,
    evaluator: &Evaluator,
    vocabulary: &Vocabulary,
    checks: Checks,
    budget: &mut usize,
) -> Result<Condition, String> {
    let condition = Condition::compile(source).map_err(|err| err.0)?;
    if checks == Checks::Full {
        condition
            .check_within(evaluator, vocabulary, budget)
            .map_err(|err| err.0)?;
    }
    Ok(condition)
}

/// The most a set names: each condition is checked against a synthetic
/// agent of every category, classification, risk tier and tool state, so
/// these bound what checking a set can cost.
pub const MAX_CATEGORIES: usize = 64;
pub const MAX_CLASSIFICATIONS: usize = 12;
pub const MAX_ROLES: usize = 32;
pub const MAX_TEAMS: usize = 1000;
pub const MAX_POLICIES: usize = 200;
/// The longest set description (shown with every version), in bytes.
pub const MAX_SET_DESCRIPTION_BYTES: usize = 2048;
pub const MAX_RISK_FLOORS: usize = 32;

/// Checks the vocabulary; true when it names more than a set may.
fn check_vocabulary(vocabulary: &Vocabulary, errors: &mut Vec<SetError>) -> bool {
    let mut too_large = false;
    for (field, count, most) in [
        (
            "vocabulary.categories",
            vocabulary.categories.len(),
            MAX_CATEGORIES,
        ),
        (
            "vocabulary.data_classifications",
            vocabulary.data_classifications.len(),
            MAX_CLASSIFICATIONS,
        ),
        ("vocabulary.roles", vocabulary.roles.len(), MAX_ROLES),
    ] {
        if count == 0 {
            errors.push(at(field, "must name at least one"));
        }
        if count > most {
            errors.push(at(
                field,
                format!("names {count}; a set names at most {most}"),
            ));
            too_large = true;
        }
    }
    if vocabulary.teams.len() > MAX_TEAMS {
        too_large = true;
        errors.push(at(
            "vocabulary.teams",
            format!(
                "names {}; a set names at most {MAX_TEAMS}",
                vocabulary.teams.len()
            ),
        ));
    }
    let mut duplicates = Vec::new();
    let mut note = |field: &str, names: Vec<&str>| {
        let mut seen = std::collections::BTreeSet::new();
        for name in names {
            if !seen.insert(name) {
                duplicates.push(at(field, format!("{name:?} is listed twice")));
            }
        }
    };
    note(
        "vocabulary.categories",
        vocabulary.categories.iter().map(|c| c.as_str()).collect(),
    );
    note(
        "vocabulary.data_classifications",
        vocabulary
            .data_classifications
            .iter()
            .map(|c| c.as_str())
            .collect(),
    );
    note(
        "vocabulary.roles",
        vocabulary.roles.iter().map(|r| r.as_str()).collect(),
    );
    note(
        "vocabulary.teams",
        vocabulary.teams.iter().map(String::as_str).collect(),
    );
    errors.extend(duplicates);
    if !vocabulary.roles.contains(&Role::PolicyAdmin) {
        errors.push(at(
            "vocabulary.roles",
            "must include policy_admin: someone has to approve the next set",
        ));
    }
    too_large
}

fn scope_outside(policy: &Policy, vocabulary: &Vocabulary) -> Option<String> {
    let value = policy.scope_value.as_deref()?;
    let problem = match policy.scope {
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

/// The policies every new store starts with: the built-in set's.
pub fn default_policies() -> Vec<Policy> {
    PolicySet::builtin().file.policies
}

/// Re-filing an agent as less risky than its approved or pending version
/// (another category, lower data classification, no external tools, a
/// lower risk tier) needs a data steward's sign-off, and the earlier
/// request stays open until it is given.
pub fn classification_change_policy() -> Policy {
    default_policies()
        .into_iter()
        .find(|policy| policy.policy_id == "classification_change")
        .unwrap_or_else(|| unreachable!("the built-in set holds classification_change"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::{Category, DataClassification};
    use crate::domain::policy::condition::Condition;

    #[test]
    fn the_builtin_set_is_the_policies_gavel_always_had() {
        let set =
            PolicySet::compile(PolicySetFile::parse(BUILTIN_SET).unwrap(), Checks::Full).unwrap();
        let ids: Vec<&str> = set
            .policies()
            .iter()
            .map(|p| p.policy_id.as_str())
            .collect();
        let before: Vec<String> = crate::domain::policy::set::default_policies()
            .into_iter()
            .map(|p| p.policy_id)
            .collect();
        assert_eq!(ids, before);
        assert_eq!(set.vocabulary(), &Vocabulary::default());
        assert_eq!(set.permissions(), &Permissions::default());
    }

    #[test]
    fn the_richer_example_checks() {
        let text = include_str!("../../../examples/policies/northwind.toml");
        let set = PolicySet::compile(PolicySetFile::parse(text).unwrap(), Checks::Full);
        assert!(set.is_ok(), "{:?}", set.err());
        let set = set.unwrap();
        let steps = set.step_rules("pii_access_approval");
        assert_eq!(
            steps.iter().map(|step| step.quorum).collect::<Vec<_>>(),
            [1, 2]
        );
        let steward = steps[1].sla.as_ref().expect("an SLA");
        assert_eq!(steward.due_after_seconds, 48 * 3600);
        assert_eq!(steward.remind_after_seconds, 24 * 3600);
        assert_eq!(steward.escalate_after_seconds, Some(72 * 3600));
        assert_eq!(steward.escalate_to.as_deref(), Some("compliance_officer"));
        let residency = set.step_rules("eu_residency");
        assert_eq!(
            residency[0]
                .sla
                .as_ref()
                .and_then(|sla| sla.escalate_to.as_deref()),
            Some("ciso@northwind.example")
        );
        assert!(set.step_rules("risk_tier_medium")[0].sla.is_none());
    }

    /// The built-in set with the PII policy's chain replaced.
    fn with_chain(chain: &str) -> Result<PolicySet, SetErrors> {
        let text = BUILTIN_SET.replace(
            r#"approval_chain = ["technical_lead", "data_steward"]"#,
            &format!("approval_chain = {chain}"),
        );
        assert_ne!(text, BUILTIN_SET);
        PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Names)
    }

    #[test]
    fn a_role_named_twice_is_warned_of_and_the_ethics_step_stays_single() {
        let twice = with_chain(r#"["technical_lead", "data_steward", "technical_lead"]"#)
            .expect("a role named twice is accepted");
        assert_eq!(
            twice.repeated_roles(),
            [("pii_access_approval".to_owned(), vec![Role::TechnicalLead])]
        );
        let plan = crate::domain::policy::plan::simulate(
            &PolicySet::builtin(),
            &twice,
            Vec::new(),
            &mut |_| Default::default(),
            chrono::Utc::now(),
        );
        assert!(
            plan.lines()
                .iter()
                .any(|line| line.contains("two different people")),
            "{:?}",
            plan.lines()
        );
        let ethics_twice = with_chain(r#"["ethics_reviewer", "ethics_reviewer"]"#)
            .unwrap_err()
            .to_string();
        assert!(
            ethics_twice.contains("ethics_reviewer twice"),
            "{ethics_twice}"
        );
        let ethics_quorum = with_chain(r#"[{ role = "ethics_reviewer", quorum = 2 }]"#)
            .unwrap_err()
            .to_string();
        assert!(ethics_quorum.contains("takes no quorum"), "{ethics_quorum}");
    }

    #[test]
    fn a_set_too_large_to_check_at_a_known_cost_is_refused_before_checking() {
        let mut policies = String::new();
        for n in 0..=MAX_POLICIES {
            policies.push_str(&format!(
                "\n[[policy]]\npolicy_id = \"p{n}\"\nname = \"P\"\ndescription = \"d\"\ncondition = 'agent.risk_tier == \"high\"'\naction = \"audit_log\"\n"
            ));
        }
        let text = format!("{BUILTIN_SET}{policies}");
        let errors = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
            .unwrap_err()
            .to_string();
        assert!(errors.contains("a set holds at most 200"), "{errors}");
        let categories: Vec<String> = (0..=MAX_CATEGORIES).map(|n| format!("\"c{n}\"")).collect();
        let text = BUILTIN_SET.replace(
            "categories = [",
            &format!("categories = [{}, ", categories.join(", ")),
        );
        let errors = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
            .unwrap_err()
            .to_string();
        assert!(errors.contains("a set names at most 64"), "{errors}");

        // Within the vocabulary limits, a condition reading every field is
        // checked against every kind of agent: past the budget, refused.
        let categories: Vec<String> = (0..MAX_CATEGORIES).map(|n| format!("\"c{n}\"")).collect();
        let classifications: Vec<String> = (0..MAX_CLASSIFICATIONS)
            .map(|n| format!("\"d{n}\""))
            .collect();
        let text = format!(
            "[vocabulary]\ncategories = [{}]\ndata_classifications = [{}]\nroles = [\"policy_admin\"]\n[[policy]]\npolicy_id = \"all\"\nname = \"All\"\ndescription = \"d\"\ncondition = 'agent.category != \"x\" && agent.data_classification != \"x\" && agent.risk_tier != \"x\" && agent.has_external_tools == agent.tools_approved'\naction = \"audit_log\"\n",
            categories.join(", "),
            classifications.join(", ")
        );
        let errors = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
            .unwrap_err()
            .to_string();
        assert!(errors.contains("budget of evaluations"), "{errors}");
    }

    #[test]
    fn texts_every_reader_is_sent_have_sizes() {
        let long = "x".repeat(MAX_SET_DESCRIPTION_BYTES + 1);
        let text = BUILTIN_SET.replace(
            "description = \"Gavel's built-in policies\"",
            &format!("description = \"{long}\""),
        );
        let proposed = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
            .unwrap_err()
            .to_string();
        assert!(
            proposed.contains("description: is 2049 bytes; at most 2048"),
            "{proposed}"
        );
        assert!(
            PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Names).is_ok(),
            "a set already stored still loads"
        );
        let text = BUILTIN_SET.replace(
            "description = \"Agents that touch confidential data need sign-off from a technical lead and a data steward.\"",
            &format!("description = \"{}\"", "y".repeat(3000)),
        );
        assert_ne!(text, BUILTIN_SET);
        let proposed = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
            .unwrap_err()
            .to_string();
        assert!(
            proposed.contains("policy pii_access_approval: description is 3000 bytes"),
            "{proposed}"
        );
    }

    #[test]
    fn step_options_outside_the_set_are_errors() {
        let with_chain = |chain: &str| with_chain(chain).unwrap_err().to_string();
        let errors =
            with_chain(r#"[{ role = "technical_lead", sla = "2d", escalate_to = "wizard" }]"#);
        assert!(
            errors.contains("escalate_to") && errors.contains("wizard"),
            "{errors}"
        );
        let errors = with_chain(r#"[{ role = "data_steward", quorum = 0 }]"#);
        assert!(errors.contains("quorum 0"), "{errors}");
        let errors = with_chain(r#"[{ role = "data_steward", escalate_to = "x@example.com" }]"#);
        assert!(errors.contains("needs an sla"), "{errors}");
        let errors = with_chain(r#"[{ role = "data_steward", sla = "soon" }]"#);
        assert!(errors.contains("sla"), "{errors}");
        let sla = PolicySetFile::parse(&format!("{BUILTIN_SET}\n[sla]\nremind_at = 2.0\n"));
        let errors = PolicySet::compile(sla.unwrap(), Checks::Names)
            .unwrap_err()
            .to_string();
        assert!(errors.contains("sla: remind_at"), "{errors}");
    }

    #[test]
    fn every_problem_is_reported_with_where_it_is() {
        let text = r#"
[vocabulary]
categories = ["finance", "finance"]
data_classifications = ["public"]
roles = ["technical_lead"]

[[policy]]
policy_id = "typo"
name = "Typo"
condition = 'agent.categroy == "finance"'
action = "require_approval"
approval_chain = ["wizard"]

[[policy]]
policy_id = "typed"
name = "Typed"
condition = "agent.risk_tier > 3"
action = "block"
scope = "category"
scope_value = "internal_search"
"#;
        let errors = PolicySet::compile(PolicySetFile::parse(text).unwrap(), Checks::Full)
            .unwrap_err()
            .to_string();
        for expected in [
            "vocabulary.categories: \"finance\" is listed twice",
            "vocabulary.roles: must include policy_admin",
            "policy typo: condition unknown field agent.categroy",
            "policy typo: approval_chain: \"wizard\" is not in",
            "policy typed: condition",
            "policy typed: scope_value: category: \"internal_search\" is not in",
        ] {
            assert!(errors.contains(expected), "{expected}\n--\n{errors}");
        }
        let broken = PolicySetFile::parse("[vocabulary]\ncategories = [\n").unwrap_err();
        assert!(broken.to_string().starts_with("line "), "{broken}");
    }

    #[test]
    fn cel_and_the_table_form_evaluate_alike() {
        let vocabulary = Vocabulary::default();
        let evaluator = Evaluator::new(&vocabulary);
        let pairs = [
            (
                serde_json::json!({ "data_classification": "confidential" }),
                r#"agent.data_classification == "confidential""#,
            ),
            (
                serde_json::json!({ "risk_tier": "medium" }),
                r#"agent.risk_tier == "medium""#,
            ),
            (
                serde_json::json!({ "has_external_tools": true, "tools_approved": false }),
                "agent.has_external_tools && !agent.tools_approved",
            ),
            (
                serde_json::json!({ "category": "finance", "lowers_risk_fields": true }),
                r#"agent.category == "finance" && request.lowers_risk_fields"#,
            ),
        ];
        for (table, cel) in pairs {
            let table = Condition::compile(&serde_json::from_value(table).unwrap()).unwrap();
            let cel = Condition::compile(&ConditionSource::Cel(cel.into())).unwrap();
            let mut held = 0;
            for agent in crate::domain::policy::condition::synthetic_agents(&vocabulary) {
                for lowers in [false, true] {
                    let facts = RequestFacts {
                        lowers_risk_fields: lowers,
                    };
                    let scope = evaluator.scope(&agent, &facts);
                    let outcome = table.evaluate(&scope);
                    assert_eq!(outcome, cel.evaluate(&scope), "{} on {agent:?}", cel.cel());
                    held += usize::from(outcome == Outcome::Holds);
                }
            }
            assert!(
                held > 0,
                "{} never held: the comparison proves nothing",
                cel.cel()
            );
        }
    }

    #[test]
    fn floors_come_from_the_set() {
        let set = PolicySet::builtin();
        let mut agent = crate::domain::policy::policies::tests::agent();
        assert_eq!(set.minimum_risk(&agent).0, RiskTier::Low);
        agent.data_classification = DataClassification::Confidential;
        assert_eq!(set.minimum_risk(&agent).0, RiskTier::Medium);
        agent.category = Category::Finance;
        let (tier, why) = set.minimum_risk(&agent);
        assert_eq!(tier, RiskTier::High);
        assert_eq!(
            why.as_deref(),
            Some("finance, healthcare and human resources agents")
        );
    }
}
