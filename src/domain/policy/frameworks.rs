//! Frameworks as data: the obligations of a law or standard, when each
//! applies and what in Gavel's record meets it. A policy set adopts
//! frameworks by holding them (`[[framework]]`), so adopting or editing
//! one is a set change: planned, proposed and approved by four eyes.
//!
//! Checked when the set is compiled: ids, dates, each obligation's
//! condition (CEL over `agent` and `intake`, with the policies' limits),
//! and each evidence requirement against the set's vocabulary and intake.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::policy::condition::{Condition, ConditionSource, Evaluator};
use crate::domain::policy::vocabulary::Vocabulary;
use crate::domain::role::Role;

/// The most frameworks a set adopts, and obligations one framework holds:
/// each obligation's condition is checked like a policy's.
pub const MAX_FRAMEWORKS: usize = 16;
pub const MAX_OBLIGATIONS: usize = 200;
/// The most evidence requirements one obligation lists.
pub const MAX_EVIDENCE: usize = 12;
/// The longest summary, in bytes: ours, short; never the text copied.
pub const MAX_SUMMARY_BYTES: usize = 2048;
/// The longest id, title or citation, in bytes.
pub const MAX_NAME_BYTES: usize = 200;

/// A law or standard as a set adopts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// `eu-ai-act`: the prefix of its obligations' ids.
    pub id: String,
    pub name: String,
    /// Which text: `Regulation (EU) 2024/1689 as amended ...`.
    pub version: String,
    /// The date of that text.
    #[serde(deserialize_with = "date")]
    pub date: NaiveDate,
    /// Where the official text is (a URL).
    pub source: String,
    /// What was checked against the official text, and when.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub checked: String,
    #[serde(rename = "obligation")]
    pub obligations: Vec<Obligation>,
}

/// Whom an obligation binds: who builds the system, or who uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Provider,
    Deployer,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Provider => "provider",
            Party::Deployer => "deployer",
        }
    }
}

/// One duty of a framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Obligation {
    /// `eu-ai-act.art-26.2`: the framework's id, a dot, then its own.
    pub id: String,
    pub title: String,
    /// Article, paragraph, section or control number, exactly.
    pub citation: String,
    /// What it asks, in our own words.
    pub summary: String,
    pub binds: Vec<Party>,
    /// The day it takes effect: before it, an obligation that applies is
    /// "not yet in effect" and gates nothing.
    #[serde(deserialize_with = "date")]
    pub applies_from: NaiveDate,
    /// Which agents it applies to (CEL over `agent` and `intake`); absent:
    /// every agent its parties cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<ConditionSource>,
    /// Ids of other frameworks' obligations this one also evidences (and
    /// they it): what meets one meets each, and it is counted once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crosswalk: Vec<String>,
    /// Every one of these must be in the record for it to be met.
    #[serde(default, rename = "evidence")]
    pub evidence: Vec<Requirement>,
}

/// One record that must exist for an obligation to be met. New kinds join
/// this list (and the posture engine's match) as Gavel records more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Requirement {
    /// A step decided "approve" by this role in an approved workflow of
    /// the agent version.
    Approval { role: Role },
    /// A submitted ethics review of the agent version (of this template,
    /// when named).
    EthicsReview {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// A bias audit of the agent version passing the set's threshold, with
    /// these tables, by an independent auditor when asked, and younger
    /// than `max_age` (`365d`).
    BiasAudit {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attributes: Vec<String>,
        #[serde(default)]
        intersectional: bool,
        #[serde(default)]
        independent: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_age: Option<String>,
    },
    /// The intake question answered (with one of `equals`, when given).
    Intake {
        question: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        equals: Vec<String>,
    },
    /// Someone holding `role` recorded that `what` (outside Gavel) is in
    /// place: a link or a document's digest, until a date.
    Confirmation { role: Role, what: String },
    /// The agent version's incidents handled within their deadlines: no
    /// report owed past due, none made late (none reported meets it).
    IncidentProcess,
}

impl Requirement {
    pub fn kind(&self) -> &'static str {
        match self {
            Requirement::Approval { .. } => "approval",
            Requirement::EthicsReview { .. } => "ethics_review",
            Requirement::BiasAudit { .. } => "bias_audit",
            Requirement::Intake { .. } => "intake",
            Requirement::Confirmation { .. } => "confirmation",
            Requirement::IncidentProcess => "incident_process",
        }
    }

    /// What is missing while it is not met, in words.
    pub fn wanted(&self) -> String {
        match self {
            Requirement::Approval { role } => format!("an approval by {}", role.with_article()),
            Requirement::EthicsReview { template: None } => "a submitted ethics review".into(),
            Requirement::EthicsReview {
                template: Some(template),
            } => format!("a submitted ethics review ({template})"),
            Requirement::BiasAudit {
                attributes,
                intersectional,
                independent,
                max_age,
            } => {
                let mut text = "a passing bias audit".to_owned();
                if !attributes.is_empty() {
                    text.push_str(&format!(" of {}", attributes.join(", ")));
                    if *intersectional {
                        text.push_str(" and their intersection");
                    }
                }
                if *independent {
                    text.push_str(" by an independent auditor");
                }
                if let Some(age) = max_age {
                    text.push_str(&format!(", younger than {age}"));
                }
                text
            }
            Requirement::Intake { question, equals } if equals.is_empty() => {
                format!("an intake answer to {question}")
            }
            Requirement::Intake { question, equals } => {
                format!("the intake answer {question} = {}", equals.join(" or "))
            }
            Requirement::Confirmation { role, what } => {
                format!("{} confirming: {what}", role.with_article())
            }
            Requirement::IncidentProcess => {
                "incidents handled within their deadlines (each report made on time)".into()
            }
        }
    }
}

/// The questions that classify an agent, and whether a deployment needs
/// them answered: the ethics-review form engine's template, filled per
/// agent version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSection {
    /// A deployment of an agent version without a submitted intake is
    /// blocked.
    #[serde(default)]
    pub required: bool,
    pub template_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub questions: Vec<crate::domain::review::Question>,
}

impl IntakeSection {
    /// The command that answers an agent version's intake, as remediation
    /// names it.
    pub fn fill_command(agent_id: &str, agent_version: &str) -> String {
        format!("`gavel intake fill {agent_id} --version {agent_version} --answers FILE --submit`")
    }

    /// The form the intake is filled in (the review form engine's).
    pub fn template(&self) -> crate::domain::review::ReviewTemplate {
        crate::domain::review::ReviewTemplate {
            template_id: self.template_id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            questions: self.questions.clone(),
        }
    }
}

/// What a deployment gets while obligations of adopted frameworks that
/// are in effect are not met (`[obligations]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObligationsGate {
    #[serde(default)]
    pub gate: GateAction,
    /// Who signs a deployment off despite unmet obligations, with
    /// `gate = "require_approval"`.
    #[serde(default = "compliance_officer")]
    pub approval_chain: Vec<Role>,
}

impl Default for ObligationsGate {
    fn default() -> Self {
        ObligationsGate {
            gate: GateAction::Off,
            approval_chain: compliance_officer(),
        }
    }
}

impl ObligationsGate {
    pub fn is_default(&self) -> bool {
        *self == ObligationsGate::default()
    }
}

fn compliance_officer() -> Vec<Role> {
    vec![Role::ComplianceOfficer]
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateAction {
    /// The posture is reported; deployments are not held by it.
    #[default]
    Off,
    /// Blocked, naming each unmet obligation and what would meet it.
    Block,
    /// A workflow of `approval_chain` decides.
    RequireApproval,
}

/// The intake question that says whom obligations bind for an agent:
/// `provider`, `deployer` or `provider_and_deployer`. Unanswered (or not
/// asked), the organisation deploys what it did not build.
pub const ROLE_QUESTION: &str = "organisation_role";

/// Checks a set's frameworks against its vocabulary and intake; every
/// problem as (place, message).
pub fn check(
    frameworks: &[Framework],
    intake: Option<&IntakeSection>,
    gate: &ObligationsGate,
    vocabulary: &crate::domain::policy::vocabulary::Vocabulary,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut problem = |place: &str, message: String| problems.push((place.to_owned(), message));
    if gate.gate == GateAction::RequireApproval && gate.approval_chain.is_empty() {
        problem(
            "obligations.approval_chain",
            "names no role to sign off".into(),
        );
    }
    for role in &gate.approval_chain {
        if let Err(err) = vocabulary.check_role("obligations.approval_chain", *role) {
            problem("obligations.approval_chain", err.to_string());
        }
    }
    if frameworks.len() > MAX_FRAMEWORKS {
        problem(
            "framework",
            format!(
                "{} given; a set adopts at most {MAX_FRAMEWORKS}",
                frameworks.len()
            ),
        );
        return problems;
    }
    let questions: Vec<&crate::domain::review::Question> = intake
        .map(|intake| intake.questions.iter().collect())
        .unwrap_or_default();
    let mut framework_ids = std::collections::BTreeSet::new();
    let mut obligation_ids = std::collections::BTreeSet::new();
    for framework in frameworks {
        let place = format!("framework {}", framework.id);
        if !is_id(&framework.id) {
            problem(
                &place,
                "id must be lower-case letters, digits, '-' and '.', at most 200 bytes".into(),
            );
        }
        if !framework_ids.insert(framework.id.as_str()) {
            problem(&place, "another framework has this id".into());
        }
        for (field, text) in [
            ("name", &framework.name),
            ("version", &framework.version),
            ("source", &framework.source),
        ] {
            if text.trim().is_empty() || text.len() > MAX_NAME_BYTES {
                problem(
                    &place,
                    format!("{field} must be given, at most {MAX_NAME_BYTES} bytes"),
                );
            }
        }
        if framework.checked.len() > MAX_SUMMARY_BYTES {
            problem(
                &place,
                format!("checked is longer than {MAX_SUMMARY_BYTES} bytes"),
            );
        }
        if framework.obligations.len() > MAX_OBLIGATIONS {
            problem(
                &place,
                format!(
                    "{} obligations; a framework holds at most {MAX_OBLIGATIONS}",
                    framework.obligations.len()
                ),
            );
            continue;
        }
        for obligation in &framework.obligations {
            let place = format!("obligation {}", obligation.id);
            let own = obligation
                .id
                .strip_prefix(&framework.id)
                .and_then(|rest| rest.strip_prefix('.'));
            if !is_id(&obligation.id) || own.is_none_or(str::is_empty) {
                problem(
                    &place,
                    format!(
                        "id must be \"{}.\" then its own (lower-case letters, digits, '-' and '.')",
                        framework.id
                    ),
                );
            }
            if !obligation_ids.insert(obligation.id.as_str()) {
                problem(&place, "another obligation has this id".into());
            }
            for (field, text, most) in [
                ("title", &obligation.title, MAX_NAME_BYTES),
                ("citation", &obligation.citation, MAX_NAME_BYTES),
                ("summary", &obligation.summary, MAX_SUMMARY_BYTES),
            ] {
                if text.trim().is_empty() || text.len() > most {
                    problem(
                        &place,
                        format!("{field} must be given, at most {most} bytes"),
                    );
                }
            }
            if obligation.binds.is_empty() {
                problem(&place, "binds must name provider, deployer or both".into());
            }
            if obligation.evidence.is_empty() {
                problem(
                    &place,
                    "lists no evidence: nothing could ever meet it".into(),
                );
            }
            if obligation.evidence.len() > MAX_EVIDENCE {
                problem(
                    &place,
                    format!(
                        "lists {} evidence; at most {MAX_EVIDENCE}",
                        obligation.evidence.len()
                    ),
                );
            }
            for id in &obligation.crosswalk {
                if !is_id(id) || id == &obligation.id {
                    problem(
                        &place,
                        format!("crosswalk {id:?} is not another obligation's id"),
                    );
                }
            }
            for requirement in &obligation.evidence {
                if let Err(message) = check_requirement(requirement, &questions, vocabulary) {
                    problem(
                        &place,
                        format!("evidence {}: {message}", requirement.kind()),
                    );
                }
            }
        }
    }
    problems
}

fn check_requirement(
    requirement: &Requirement,
    questions: &[&crate::domain::review::Question],
    vocabulary: &crate::domain::policy::vocabulary::Vocabulary,
) -> Result<(), String> {
    match requirement {
        Requirement::Approval { role } | Requirement::Confirmation { role, .. } => {
            vocabulary
                .check_role("role", *role)
                .map_err(|err| err.to_string())?;
            if let Requirement::Confirmation { what, .. } = requirement
                && (what.trim().is_empty() || what.len() > MAX_SUMMARY_BYTES)
            {
                return Err(format!(
                    "what must be given, at most {MAX_SUMMARY_BYTES} bytes"
                ));
            }
            Ok(())
        }
        Requirement::EthicsReview { template } => match template {
            Some(template) if template.trim().is_empty() => Err("template is empty".into()),
            _ => Ok(()),
        },
        Requirement::IncidentProcess => Ok(()),
        Requirement::BiasAudit {
            attributes,
            intersectional,
            max_age,
            ..
        } => {
            if *intersectional && attributes.len() < 2 {
                return Err("intersectional needs two attributes or more".into());
            }
            if attributes.len() > 8 || attributes.iter().any(|name| !is_id(name)) {
                return Err("attributes: at most 8 names, each lower-case".into());
            }
            match max_age {
                Some(age) => crate::domain::policy::span::parse_age(age)
                    .map(|_| ())
                    .map_err(|err| format!("max_age: {err}")),
                None => Ok(()),
            }
        }
        Requirement::Intake { question, equals } => {
            let Some(asked) = questions.iter().find(|asked| asked.id == *question) else {
                return Err(format!(
                    "question {question:?} is not in the set's intake (its questions: {})",
                    questions
                        .iter()
                        .map(|asked| asked.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            match equals
                .iter()
                .find(|value| !asked.options.is_empty() && !asked.options.contains(value))
            {
                Some(value) => Err(format!("{value:?} is not one of {question}'s options")),
                None => Ok(()),
            }
        }
    }
}

/// How the adopted frameworks change, in words: adopted, dropped, and per
/// framework the obligations added, removed and changed.
pub fn diff(before: &[Framework], after: &[Framework]) -> Vec<String> {
    let mut changes = Vec::new();
    for framework in after {
        let Some(old) = before.iter().find(|old| old.id == framework.id) else {
            changes.push(format!(
                "adopts framework {} ({} obligations)",
                framework.id,
                framework.obligations.len()
            ));
            continue;
        };
        let ids = |framework: &Framework| -> Vec<String> {
            framework
                .obligations
                .iter()
                .map(|obligation| obligation.id.clone())
                .collect()
        };
        let (old_ids, new_ids) = (ids(old), ids(framework));
        let added: Vec<&String> = new_ids.iter().filter(|id| !old_ids.contains(id)).collect();
        let removed: Vec<&String> = old_ids.iter().filter(|id| !new_ids.contains(id)).collect();
        let changed: Vec<&String> = framework
            .obligations
            .iter()
            .filter(|obligation| {
                old.obligations
                    .iter()
                    .any(|was| was.id == obligation.id && was != *obligation)
            })
            .map(|obligation| &obligation.id)
            .collect();
        for (verb, list) in [("adds", added), ("removes", removed), ("changes", changed)] {
            if !list.is_empty() {
                let list: Vec<&str> = list.iter().map(|id| id.as_str()).collect();
                changes.push(format!(
                    "framework {} {verb} {}",
                    framework.id,
                    list.join(", ")
                ));
            }
        }
    }
    for framework in before {
        if !after.iter().any(|new| new.id == framework.id) {
            changes.push(format!("drops framework {}", framework.id));
        }
    }
    changes
}

/// Obligations met only by a sign-off a request's own workflow gives (an
/// approval, an ethics review), under a gate that blocks: with what they
/// ask for, for `plan` to warn of.
pub fn gate_traps(frameworks: &[Framework], gate: &ObligationsGate) -> Vec<(String, String)> {
    if gate.gate != GateAction::Block {
        return Vec::new();
    }
    frameworks
        .iter()
        .flat_map(|framework| &framework.obligations)
        .flat_map(|obligation| {
            obligation
                .evidence
                .iter()
                .filter(|requirement| {
                    matches!(
                        requirement,
                        Requirement::Approval { .. } | Requirement::EthicsReview { .. }
                    )
                })
                .map(|requirement| (obligation.id.clone(), requirement.wanted()))
        })
        .collect()
}

/// A set's intake, frameworks and gate checked, and each obligation's
/// condition compiled (once the frameworks hold together); the problems
/// found, as (place, message).
pub(crate) fn compile(
    frameworks: &[Framework],
    intake: Option<&IntakeSection>,
    gate: &ObligationsGate,
    vocabulary: &Vocabulary,
    evaluator: &Evaluator,
    full_check: bool,
    budget: &mut usize,
) -> (Vec<Option<Condition>>, Vec<(String, String)>) {
    let mut problems = Vec::new();
    if let Some(intake) = intake
        && let Err(err) = intake.template().check()
    {
        problems.push(("intake".to_owned(), err.to_string()));
    }
    problems.extend(check(frameworks, intake, gate, vocabulary));
    if !problems.is_empty() {
        return (Vec::new(), problems);
    }
    compile_conditions(
        frameworks, intake, evaluator, vocabulary, full_check, budget,
    )
}

/// Each obligation's condition compiled (none: it always applies) and
/// checked like a policy's, from the same budget; the problems found.
pub(crate) fn compile_conditions(
    frameworks: &[Framework],
    intake: Option<&IntakeSection>,
    evaluator: &Evaluator,
    vocabulary: &Vocabulary,
    full_check: bool,
    budget: &mut usize,
) -> (Vec<Option<Condition>>, Vec<(String, String)>) {
    let mut conditions = Vec::new();
    let mut problems = Vec::new();
    for obligation in frameworks
        .iter()
        .flat_map(|framework| &framework.obligations)
    {
        let Some(source) = &obligation.when else {
            conditions.push(None);
            continue;
        };
        match compile_condition(source, evaluator, vocabulary, full_check, budget, intake) {
            Ok(condition) => conditions.push(Some(condition)),
            Err(message) => problems.push((
                format!("obligation {}", obligation.id),
                format!("when {message}"),
            )),
        }
    }
    (conditions, problems)
}

/// A condition of the set (a policy's, a floor's, an obligation's): it
/// may read the intake's questions, only those the set asks, and one that
/// does is checked with every question answered and with none.
pub(crate) fn compile_condition(
    source: &ConditionSource,
    evaluator: &Evaluator,
    vocabulary: &Vocabulary,
    full_check: bool,
    budget: &mut usize,
    intake: Option<&IntakeSection>,
) -> Result<Condition, String> {
    let reads = crate::domain::policy::condition::Reads { intake: true };
    let condition = Condition::compile_reading(source, reads).map_err(|err| err.0)?;
    let asked = |key: &str| {
        intake.is_some_and(|intake| intake.questions.iter().any(|question| question.id == key))
    };
    if let Some(key) = condition.intake_keys().iter().find(|key| !asked(key)) {
        return Err(format!(
            "reads intake.{key}, which the set's intake does not ask"
        ));
    }
    if full_check {
        let reads_intake = !condition.intake_keys().is_empty() || condition.reads_any_intake();
        let intakes = if reads_intake {
            synthetic_intakes(intake)
        } else {
            Vec::new()
        };
        condition
            .check_with_intakes(evaluator, vocabulary, budget, &intakes)
            .map_err(|err| err.0)?;
    }
    Ok(condition)
}

/// An intake with every question answered (a choice by its first option,
/// yes, the middle of the scale), and an empty one.
fn synthetic_intakes(intake: Option<&IntakeSection>) -> Vec<crate::domain::review::Answers> {
    use crate::domain::review::QuestionKind;
    let Some(intake) = intake else {
        return vec![crate::domain::review::Answers::new()];
    };
    let full = intake
        .questions
        .iter()
        .map(|question| {
            let first = question.options.first().cloned().unwrap_or_default();
            let answer = match question.kind {
                QuestionKind::YesNo => serde_json::Value::Bool(true),
                QuestionKind::Scale1To5 => serde_json::Value::from(3),
                QuestionKind::MultiChoice => serde_json::Value::from(vec![first]),
                QuestionKind::SingleChoice => serde_json::Value::from(first),
                QuestionKind::Text | QuestionKind::LongText => serde_json::Value::from("text"),
            };
            (question.id.clone(), answer)
        })
        .collect();
    vec![full, crate::domain::review::Answers::new()]
}

/// A day, written as TOML writes one (`2027-12-02`) or as text.
fn date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let text = match Written::deserialize(deserializer)? {
        Written::Text(text) => text,
        Written::Toml(datetime) => match (datetime.date, datetime.time) {
            (Some(date), None) => date.to_string(),
            _ => {
                return Err(serde::de::Error::custom(
                    "expected a day such as 2027-12-02, without a time",
                ));
            }
        },
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a day such as 2027-12-02")))
}

/// Lower-case letters, digits, `-`, `_` and `.`, not empty, at most
/// `MAX_NAME_BYTES`.
fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_NAME_BYTES
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}
