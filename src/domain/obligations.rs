//! An agent version's obligations posture: for each obligation its policy
//! set adopts, at one moment, whether it applies, whether it is in effect,
//! and what in the record meets it or is missing. Pure: the store gathers
//! the record, this judges it.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::agent::Agent;
use crate::domain::bias::BiasAudit;
use crate::domain::bias::verdict::{AuditFacts, Requirement as AuditRequirement, Verdict, judge};
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::frameworks::{Obligation, Party, ROLE_QUESTION, Requirement};
use crate::domain::policy::set::PolicySet;
use crate::domain::review::{Answers, EthicsReview, ReviewStatus};
use crate::domain::role::Role;
use crate::domain::workflow::{StepStatus, Workflow, WorkflowStatus};

/// Evidence that lapses within this is "expiring".
pub const EXPIRING_WITHIN: TimeDelta = TimeDelta::days(30);

/// Where an agent version's intake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntakeStatus {
    Draft,
    Submitted,
}

/// How the trail and the posture name an agent version's intake:
/// `agent@version`.
pub fn intake_id(agent_id: &str, agent_version: &str) -> String {
    format!("{agent_id}@{agent_version}")
}

impl IntakeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeStatus::Draft => "draft",
            IntakeStatus::Submitted => "submitted",
        }
    }
}

impl std::str::FromStr for IntakeStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<IntakeStatus, String> {
        match text {
            "draft" => Ok(IntakeStatus::Draft),
            "submitted" => Ok(IntakeStatus::Submitted),
            other => Err(format!("unknown intake status {other:?}")),
        }
    }
}

/// The answers that classify one agent version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Intake {
    pub agent_id: String,
    pub agent_version: String,
    pub template_id: String,
    pub status: IntakeStatus,
    #[schema(value_type = Object)]
    pub answers: Answers,
    /// Who last saved or submitted it.
    pub filled_by: String,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub version: i64,
    /// A resubmission that would lower what the agent is held to, waiting
    /// for the sign-off its set's `classification_change` chain gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingIntakeChange>,
}

impl Intake {
    /// Its answers when it is submitted for this agent version: the only
    /// answers that classify it (a draft, or another version's, does not).
    pub fn answers_for(&self, agent: &Agent) -> Option<&Answers> {
        (self.status == IntakeStatus::Submitted && self.agent_version == agent.version)
            .then_some(&self.answers)
    }
}

/// New answers that would stop policies, obligations or a risk floor
/// from applying: they classify nothing until decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingIntakeChange {
    #[schema(value_type = Object)]
    pub answers: Answers,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    /// What would stop applying.
    pub stops: Vec<String>,
}

/// A decision on a pending intake change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntakeDecision {
    pub agent_id: String,
    pub agent_version: String,
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A record, by someone holding the role an obligation names, that
/// something outside Gavel is in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Confirmation {
    pub confirmation_id: String,
    pub obligation_id: String,
    pub agent_id: String,
    /// Where it can be seen (a URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// SHA-256 of the document that shows it, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    pub comment: String,
    pub valid_until: DateTime<Utc>,
    /// The role they confirmed as.
    pub role: Role,
    pub confirmed_by: String,
    pub confirmed_at: DateTime<Utc>,
}

/// What the store holds about one agent version, as the engine reads it.
pub struct Record<'a> {
    pub agent: &'a Agent,
    /// Its intake (only a submitted one counts).
    pub intake: Option<&'a Intake>,
    /// The workflows of its deployments.
    pub workflows: &'a [Workflow],
    /// The ethics reviews of those workflows.
    pub reviews: &'a [EthicsReview],
    /// The agent's bias audits (any version: the engine takes this one's).
    pub audits: &'a [BiasAudit],
    /// Confirmations recorded for the agent.
    pub confirmations: &'a [Confirmation],
    /// The agent's incidents (any version: the engine takes this one's).
    pub incidents: &'a [crate::domain::incident::Incident],
    /// The roles whose sign-off the request being judged will seek: an
    /// approval (or, with an ethics reviewer, an ethics review) it will
    /// produce counts as coming.
    pub pending_roles: &'a [Role],
}

/// How one obligation stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// It does not apply to this agent, and why.
    NotApplicable {
        why: String,
    },
    /// It applies from a later day; what would be missing then.
    NotYetInEffect {
        from: NaiveDate,
        missing: Vec<String>,
    },
    Met,
    /// Met, until evidence lapses within `EXPIRING_WITHIN`.
    Expiring {
        on: DateTime<Utc>,
    },
    /// What would meet it.
    Unmet {
        missing: Vec<String>,
    },
}

impl State {
    pub fn word(&self) -> &'static str {
        match self {
            State::NotApplicable { .. } => "not applicable",
            State::NotYetInEffect { .. } => "not yet in effect",
            State::Met => "met",
            State::Expiring { .. } => "expiring",
            State::Unmet { .. } => "unmet",
        }
    }

    pub fn is_met(&self) -> bool {
        matches!(self, State::Met | State::Expiring { .. })
    }
}

/// A record that meets (part of) an obligation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Found {
    /// `approval`, `ethics_review`, `bias_audit`, `intake`, `confirmation`.
    pub kind: String,
    /// The record's id (workflow, review, audit, agent@version, confirmation).
    pub id: String,
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// One obligation's standing for one agent version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ObligationPosture {
    pub framework: String,
    pub obligation: String,
    pub title: String,
    pub citation: String,
    #[serde(flatten)]
    pub state: State,
    pub evidence: Vec<Found>,
    /// Met through this crosswalked obligation (its evidence is listed
    /// there, once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// Every adopted obligation's standing for one agent version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Posture {
    pub agent_id: String,
    pub agent_version: String,
    pub at: DateTime<Utc>,
    pub obligations: Vec<ObligationPosture>,
}

/// How many obligations stand how; `duties` counts a crosswalked group
/// once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub met: u32,
    pub expiring: u32,
    pub unmet: u32,
    pub not_yet_in_effect: u32,
    pub not_applicable: u32,
    /// Distinct applicable duties: obligations met through a crosswalk
    /// are counted with the one that meets them.
    pub duties: u32,
}

impl Counts {
    /// "1 unmet, 0 expiring, 3 met, 2 not yet in effect, 9 not applicable".
    pub fn words(&self) -> String {
        format!(
            "{} unmet, {} expiring, {} met, {} not yet in effect, {} not applicable",
            self.unmet, self.expiring, self.met, self.not_yet_in_effect, self.not_applicable
        )
    }
}

impl Posture {
    /// Obligations in effect that are not met: what a gate blocks on.
    pub fn unmet(&self) -> impl Iterator<Item = &ObligationPosture> {
        self.obligations
            .iter()
            .filter(|obligation| matches!(obligation.state, State::Unmet { .. }))
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for obligation in &self.obligations {
            match obligation.state {
                State::NotApplicable { .. } => counts.not_applicable += 1,
                State::NotYetInEffect { .. } => counts.not_yet_in_effect += 1,
                State::Met => counts.met += 1,
                State::Expiring { .. } => counts.expiring += 1,
                State::Unmet { .. } => counts.unmet += 1,
            }
            let applies = !matches!(obligation.state, State::NotApplicable { .. });
            if applies && obligation.via.is_none() {
                counts.duties += 1;
            }
        }
        counts
    }
}

/// Whom obligations bind for this agent: its intake's answer to
/// `organisation_role`, else the organisation deploys it.
pub fn parties(intake: Option<&Answers>) -> Vec<Party> {
    match intake
        .and_then(|answers| answers.get(ROLE_QUESTION))
        .and_then(serde_json::Value::as_str)
    {
        Some("provider") => vec![Party::Provider],
        Some("provider_and_deployer") => vec![Party::Provider, Party::Deployer],
        _ => vec![Party::Deployer],
    }
}

/// Judges every obligation `set` adopts for the agent version in `record`
/// at `now` (the store's clock).
pub fn posture(set: &PolicySet, record: &Record<'_>, now: DateTime<Utc>) -> Posture {
    let submitted = record
        .intake
        .and_then(|intake| intake.answers_for(record.agent));
    let parties = parties(submitted);
    let empty = Answers::new();
    let scope = set.evaluator().scope_with_intake(
        record.agent,
        &RequestFacts::default(),
        submitted.unwrap_or(&empty),
    );
    let mut judged: Vec<ObligationPosture> = set
        .obligations()
        .map(|(framework, obligation, condition)| {
            let state_and_evidence = applicability(
                obligation, &parties, condition, submitted, &scope,
            )
            .map_or_else(
                |why| (State::NotApplicable { why }, Vec::new()),
                |unanswered| judge_evidence(set, obligation, record, submitted, unanswered, now),
            );
            ObligationPosture {
                framework: framework.id.clone(),
                obligation: obligation.id.clone(),
                title: obligation.title.clone(),
                citation: obligation.citation.clone(),
                state: state_and_evidence.0,
                evidence: state_and_evidence.1,
                via: None,
            }
        })
        .collect();
    apply_crosswalks(set, &mut judged);
    Posture {
        agent_id: record.agent.agent_id.clone(),
        agent_version: record.agent.version.clone(),
        at: now,
        obligations: judged,
    }
}

/// Whether an obligation applies: `Err(why not)`, else the intake
/// questions its condition reads that are not answered (it applies until
/// they are: failing closed).
fn applicability(
    obligation: &Obligation,
    parties: &[Party],
    condition: Option<&crate::domain::policy::condition::Condition>,
    intake: Option<&Answers>,
    scope: &crate::domain::policy::condition::Scope<'_>,
) -> Result<Vec<String>, String> {
    if !obligation.binds.iter().any(|party| parties.contains(party)) {
        let binds: Vec<&str> = obligation
            .binds
            .iter()
            .map(|party| party.as_str())
            .collect();
        let is: Vec<&str> = parties.iter().map(|party| party.as_str()).collect();
        return Err(format!(
            "it binds the {}; for this agent the organisation is the {} (intake {ROLE_QUESTION})",
            binds.join(" and "),
            is.join(" and ")
        ));
    }
    let Some(condition) = condition else {
        return Ok(Vec::new());
    };
    let mut unanswered = condition.unanswered(intake);
    if condition.reads_any_intake() && intake.is_none() {
        unanswered.push("the intake".into());
    }
    if !unanswered.is_empty() {
        return Ok(unanswered);
    }
    match condition.evaluate(scope) {
        Outcome::DoesNotHold => Err(format!("its condition does not hold: {}", condition.cel())),
        Outcome::Holds | Outcome::Failed(_) => Ok(Vec::new()),
    }
}

fn judge_evidence(
    set: &PolicySet,
    obligation: &Obligation,
    record: &Record<'_>,
    intake: Option<&Answers>,
    unanswered: Vec<String>,
    now: DateTime<Utc>,
) -> (State, Vec<Found>) {
    let mut found = Vec::new();
    let mut missing: Vec<String> = unanswered
        .iter()
        .map(|key| format!("an intake answer to {key} (whether it applies)"))
        .collect();
    for requirement in &obligation.evidence {
        match find(set, obligation, requirement, record, intake, now) {
            Some(evidence) => found.push(evidence),
            None => missing.push(requirement.wanted()),
        }
    }
    let state = if now.date_naive() < obligation.applies_from {
        State::NotYetInEffect {
            from: obligation.applies_from,
            missing,
        }
    } else if !missing.is_empty() {
        State::Unmet { missing }
    } else {
        match found.iter().filter_map(|evidence| evidence.until).min() {
            Some(on) if on - now <= EXPIRING_WITHIN => State::Expiring { on },
            _ => State::Met,
        }
    };
    (state, found)
}

/// The record that meets `requirement`, when there is one.
fn find(
    set: &PolicySet,
    obligation: &Obligation,
    requirement: &Requirement,
    record: &Record<'_>,
    intake: Option<&Answers>,
    now: DateTime<Utc>,
) -> Option<Found> {
    match requirement {
        Requirement::Approval { role } if record.pending_roles.contains(role) => Some(Found {
            kind: requirement.kind().into(),
            id: "this request".into(),
            what: format!(
                "the sign-off of {} this request asks for",
                role.with_article()
            ),
            until: None,
        }),
        Requirement::EthicsReview { .. }
            if record.pending_roles.contains(&Role::EthicsReviewer) =>
        {
            Some(Found {
                kind: requirement.kind().into(),
                id: "this request".into(),
                what: "the ethics review this request asks for".into(),
                until: None,
            })
        }
        Requirement::Approval { role } => record
            .workflows
            .iter()
            .filter(|workflow| workflow.status == WorkflowStatus::Approved)
            .find_map(|workflow| {
                let step = workflow
                    .steps
                    .iter()
                    .find(|step| step.role == *role && step.status == StepStatus::Approved)?;
                Some(Found {
                    kind: requirement.kind().into(),
                    id: workflow.workflow_id.clone(),
                    what: format!(
                        "step {} approved by {}{}",
                        step.step_id,
                        step.approver_email.as_deref().unwrap_or("?"),
                        step.decision_at
                            .map(|at| format!(" on {}", at.format("%Y-%m-%d")))
                            .unwrap_or_default()
                    ),
                    until: None,
                })
            }),
        Requirement::EthicsReview { template } => record
            .reviews
            .iter()
            .filter(|review| review.status == ReviewStatus::Submitted)
            .filter(|review| {
                template
                    .as_ref()
                    .is_none_or(|template| review.template_id == *template)
            })
            .max_by_key(|review| review.submitted_at)
            .map(|review| Found {
                kind: requirement.kind().into(),
                id: review.review_id.clone(),
                what: format!(
                    "submitted by {}{}",
                    review.reviewer,
                    review
                        .submitted_at
                        .map(|at| format!(" on {}", at.format("%Y-%m-%d")))
                        .unwrap_or_default()
                ),
                until: None,
            }),
        Requirement::BiasAudit {
            attributes,
            intersectional,
            independent,
            max_age,
        } => {
            let wanted = AuditRequirement {
                threshold: set.audit_threshold(record.agent),
                attributes: attributes.clone(),
                intersectional: *intersectional,
                // Checked when the set was compiled.
                max_age: max_age
                    .as_deref()
                    .and_then(|age| crate::domain::policy::span::parse_age(age).ok()),
                each_version: true,
            };
            record
                .audits
                .iter()
                .filter(|audit| audit.agent_version == record.agent.version)
                .filter(|audit| !*independent || audit.is_independent())
                .filter_map(|audit| {
                    let facts = AuditFacts::from(audit);
                    match judge(&wanted, Some(&facts), now) {
                        Verdict::Passes { expires_at, .. } => Some((audit, expires_at)),
                        _ => None,
                    }
                })
                .max_by_key(|(audit, _)| audit.tested_at)
                .map(|(audit, until)| Found {
                    kind: requirement.kind().into(),
                    id: audit.audit_id.clone(),
                    what: format!(
                        "passing, tested {}{}",
                        audit.tested_at.format("%Y-%m-%d"),
                        audit
                            .source
                            .as_ref()
                            .map(|source| format!(
                                " by {} ({})",
                                source.auditor,
                                audit.auditor_standing()
                            ))
                            .unwrap_or_default()
                    ),
                    until,
                })
        }
        Requirement::Intake { question, equals } => {
            let answer = intake?.get(question)?;
            let text = answer_text(answer)?;
            let matches = equals.is_empty()
                || match answer {
                    serde_json::Value::Array(items) => items
                        .iter()
                        .filter_map(serde_json::Value::as_str)
                        .any(|item| equals.iter().any(|wanted| wanted == item)),
                    _ => equals.contains(&text),
                };
            matches.then(|| Found {
                kind: requirement.kind().into(),
                id: intake_id(&record.agent.agent_id, &record.agent.version),
                what: format!("{question} = {text}"),
                until: None,
            })
        }
        Requirement::Confirmation { role, .. } => record
            .confirmations
            .iter()
            .filter(|confirmation| {
                confirmation.obligation_id == obligation.id
                    && confirmation.role == *role
                    && confirmation.valid_until > now
                    && confirmation.confirmed_at <= now
            })
            .max_by_key(|confirmation| confirmation.confirmed_at)
            .map(|confirmation| Found {
                kind: requirement.kind().into(),
                id: confirmation.confirmation_id.clone(),
                what: format!(
                    "confirmed by {} on {}: {}",
                    confirmation.confirmed_by,
                    confirmation.confirmed_at.format("%Y-%m-%d"),
                    confirmation
                        .link
                        .clone()
                        .or_else(|| confirmation
                            .file_sha256
                            .as_ref()
                            .map(|sha| format!("sha256:{sha}")))
                        .unwrap_or_else(|| confirmation.comment.clone())
                ),
                until: Some(confirmation.valid_until),
            }),
        Requirement::IncidentProcess => {
            let incidents: Vec<&crate::domain::incident::Incident> = record
                .incidents
                .iter()
                .filter(|incident| incident.agent_version == record.agent.version)
                .collect();
            if incidents
                .iter()
                .any(|incident| incident.is_overdue(now) || incident.reported_late())
            {
                return None;
            }
            let ids: Vec<&str> = incidents
                .iter()
                .map(|incident| incident.incident_id.as_str())
                .collect();
            Some(Found {
                kind: requirement.kind().into(),
                id: ids.first().map_or("no incidents", |first| first).into(),
                what: match ids.len() {
                    0 => "no incident reported with this version".into(),
                    count => format!(
                        "{count} incident(s), each report made or due within its deadline: {}",
                        ids.join(", ")
                    ),
                },
                // A report still owed meets it only until its deadline.
                until: incidents
                    .iter()
                    .filter(|incident| incident.report.is_none())
                    .filter_map(|incident| incident.report_due)
                    .min(),
            })
        }
    }
}

/// An answer in words; none when it is empty.
fn answer_text(answer: &serde_json::Value) -> Option<String> {
    match answer {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) if text.trim().is_empty() => None,
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Array(items) if items.is_empty() => None,
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => Some(other.to_string()),
    }
}

/// An applicable obligation not met by its own evidence is met through an
/// obligation that is met and names it in its crosswalk: shown with `via`,
/// its evidence listed once, on the one that holds it.
fn apply_crosswalks(set: &PolicySet, judged: &mut [ObligationPosture]) {
    // One way: an obligation's evidence also evidences the controls it
    // names, never the reverse (a standard's looser control must not meet
    // a law's stricter duty).
    let linked = |met: &str, open: &str| {
        set.obligations().any(|(_, obligation, _)| {
            obligation.id == met && obligation.crosswalk.iter().any(|id| id == open)
        })
    };
    let met: Vec<(String, State)> = judged
        .iter()
        .filter(|obligation| obligation.state.is_met())
        .map(|obligation| (obligation.obligation.clone(), obligation.state.clone()))
        .collect();
    for obligation in judged.iter_mut() {
        let open = match &obligation.state {
            State::Unmet { .. } => true,
            State::NotYetInEffect { missing, .. } => !missing.is_empty(),
            _ => false,
        };
        if open
            && let Some((through, state)) = met
                .iter()
                .find(|(id, _)| linked(id, &obligation.obligation))
        {
            obligation.via = Some(through.clone());
            obligation.evidence.clear();
            obligation.state = match &obligation.state {
                State::NotYetInEffect { from, .. } => State::NotYetInEffect {
                    from: *from,
                    missing: Vec::new(),
                },
                _ => state.clone(),
            };
        }
    }
}

pub mod coverage;
pub mod gate;
pub mod replay;

/// The most agents one page of postures judges (each is several reads).
pub const MAX_POSTURES_PER_PAGE: u32 = 50;

/// Agents' postures a page at a time, in agent id order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostureQuery {
    /// Continue after this agent id (a previous page's `next`).
    #[serde(default)]
    pub after: Option<String>,
    /// Agents judged in this page (at most `MAX_POSTURES_PER_PAGE`).
    pub limit: u32,
    /// Only agents with an obligation in effect and unmet.
    #[serde(default)]
    pub unmet: bool,
}

/// One agent's current version, in a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostureSummary {
    pub agent_id: String,
    pub agent_name: String,
    pub team: String,
    pub agent_version: String,
    pub counts: Counts,
    /// The obligations in effect and unmet.
    pub unmet: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PosturePage {
    pub items: Vec<PostureSummary>,
    /// The agent id to continue after; none at the end.
    pub next: Option<String>,
}

/// An intake saved or submitted for an agent version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntakeSave {
    pub agent_id: String,
    pub agent_version: String,
    #[schema(value_type = Object)]
    pub answers: Answers,
    /// Submit (every required answer given), else save a draft.
    #[serde(default)]
    pub submit: bool,
}

/// A confirmation as asked for; who confirms and when come from the
/// store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewConfirmation {
    pub obligation_id: String,
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    pub comment: String,
    pub valid_until: DateTime<Utc>,
}

#[cfg(test)]
mod tests;
