//! Policy sets: the organisation's policies as one reviewed TOML file, with
//! the vocabulary they speak, who may do what, and the risk floors, checked
//! and compiled for evaluation.
//!
//! `examples/policies/default.toml` is the built-in set, equal to Gavel's
//! behaviour before sets existed; every new store starts from it.

use serde::{Deserialize, Serialize};

use crate::domain::agent::{Agent, RiskTier};
use crate::domain::policy::condition::{Condition, ConditionSource, Evaluator, Outcome, Scope};
use crate::domain::policy::exceptions::ExceptionRules;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::frameworks::{Framework, IntakeSection, ObligationsGate};
use crate::domain::policy::incidents::IncidentRules;
use crate::domain::policy::policies::{Policy, PolicyScope};
use crate::domain::policy::recertification::RecertificationRules;
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
    /// Who may make the board report (`gavel report`).
    #[serde(default = "report_readers")]
    pub read_reports: Vec<Role>,
}

fn report_readers() -> Vec<Role> {
    vec![Role::ComplianceOfficer]
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            record_audits: vec![Role::MlEngineer, Role::IndependentAuditor],
            approve_tools: vec![Role::DataSteward, Role::ComplianceOfficer],
            request_deployments: Vec::new(),
            read_reports: report_readers(),
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
    /// The questions that classify each agent version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake: Option<IntakeSection>,
    /// The laws and standards the organisation adopts, with their
    /// obligations.
    #[serde(default, rename = "framework", skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<Framework>,
    /// What deployments get while adopted obligations are unmet.
    #[serde(default, skip_serializing_if = "ObligationsGate::is_default")]
    pub obligations: ObligationsGate,
    /// Who approves time-bound exceptions to a policy, and for how long.
    #[serde(default, skip_serializing_if = "ExceptionRules::is_default")]
    pub exceptions: ExceptionRules,
    /// How long an approval stands before it is recertified.
    #[serde(default, skip_serializing_if = "RecertificationRules::is_default")]
    pub recertification: RecertificationRules,
    /// The severities incidents are reported under, what each owes and
    /// whether it suspends, and who lifts a suspension.
    #[serde(default, skip_serializing_if = "IncidentRules::is_default")]
    pub incidents: IncidentRules,
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
    /// The agent fields the floors read, and the floor already found for
    /// agents alike in them: every request asks, and CEL is the cost.
    floor_fields: std::collections::BTreeSet<String>,
    floors_found: std::sync::Mutex<std::collections::HashMap<String, (RiskTier, Option<String>)>>,
    /// Each adopted obligation's condition (none: it always applies), in
    /// the order of `file.frameworks` and their obligations.
    obligation_conditions: Vec<Option<Condition>>,
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
        let policy_ids = file.policies.iter().map(|policy| policy.policy_id.as_str());
        let sections = file.exceptions.check(vocabulary, policy_ids);
        for (place, message) in sections
            .into_iter()
            .chain(file.recertification.check(vocabulary))
            .chain(file.incidents.check(vocabulary))
        {
            errors.push(at(place, message));
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
                file.intake.as_ref(),
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
            if let Some(problem) = policy.scope_outside(vocabulary) {
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
                file.intake.as_ref(),
            ) {
                Ok(condition) => conditions.push(condition),
                Err(message) => errors.push(at(&place, format!("condition {message}"))),
            }
        }
        let (obligation_conditions, problems) = crate::domain::policy::frameworks::compile(
            &file.frameworks,
            file.intake.as_ref(),
            &file.obligations,
            vocabulary,
            &evaluator,
            checks == Checks::Full,
            &mut budget,
        );
        errors.extend(
            problems
                .into_iter()
                .map(|(place, message)| at(place, message)),
        );
        if !errors.is_empty() {
            return Err(SetErrors(errors));
        }
        let floor_fields = floors
            .iter()
            .flat_map(|condition| condition.fields().iter().cloned())
            .collect();
        Ok(PolicySet {
            file,
            conditions,
            floors,
            evaluator,
            floor_fields,
            floors_found: Default::default(),
            obligation_conditions,
        })
    }

    /// The adopted obligations, each with its framework and its condition.
    pub fn obligations(
        &self,
    ) -> impl Iterator<
        Item = (
            &Framework,
            &crate::domain::policy::frameworks::Obligation,
            Option<&Condition>,
        ),
    > {
        self.file
            .frameworks
            .iter()
            .flat_map(|framework| {
                framework
                    .obligations
                    .iter()
                    .map(move |obligation| (framework, obligation))
            })
            .zip(&self.obligation_conditions)
            .map(|((framework, obligation), condition)| (framework, obligation, condition.as_ref()))
    }

    /// The evaluator a set's conditions run under.
    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
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
        self.outcomes_with_intake(agent, facts, &crate::domain::review::Answers::new())
    }

    /// As `outcomes`, with the agent version's submitted intake answers.
    pub fn outcomes_with_intake(
        &self,
        agent: &Agent,
        facts: &RequestFacts,
        intake: &crate::domain::review::Answers,
    ) -> Vec<Outcome> {
        let scope = self.evaluator.scope_with_intake(agent, facts, intake);
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

    /// The intake questions its policies and floors read (None: they read
    /// the intake whole, or by a key computed at run time).
    pub fn intake_read(&self) -> Option<std::collections::BTreeSet<String>> {
        let mut keys = std::collections::BTreeSet::new();
        for condition in self.conditions.iter().chain(&self.floors) {
            if condition.reads_any_intake() {
                return None;
            }
            keys.extend(condition.intake_keys().iter().cloned());
        }
        Some(keys)
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

    /// The intake questions policy `index`'s condition reads by name that
    /// `intake` leaves unanswered.
    pub fn unanswered_by(
        &self,
        index: usize,
        intake: Option<&crate::domain::review::Answers>,
    ) -> Vec<String> {
        self.conditions
            .get(index)
            .map(|condition| condition.unanswered(intake))
            .unwrap_or_default()
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
    intake: Option<&IntakeSection>,
) -> Result<Condition, String> {
    crate::domain::policy::frameworks::compile_condition(
        source,
        evaluator,
        vocabulary,
        checks == Checks::Full,
        budget,
        intake,
    )
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

pub(crate) mod floors;

#[cfg(test)]
mod tests;
