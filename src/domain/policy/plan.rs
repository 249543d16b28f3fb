//! `gavel policy plan`: what a policy set would change, before it applies.
//! A diff of the policies, and the impact on every agent on record,
//! simulated under both sets, nothing written.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::agent::Agent;
use crate::domain::bias::BiasAudit;
use crate::domain::bias::verdict::{
    AuditFacts, Requirement, Verdict as AuditVerdict, judge as judge_audit,
};
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::evaluation::{DeploymentStatus, Evaluation, Facts, evaluate_agent};
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::policies::PolicyAction;
use crate::domain::policy::set::PolicySet;
use crate::domain::role::Role;
use chrono::{DateTime, Utc};

mod diff;
pub mod obligations;

pub use diff::{PolicyDiff, diff, text_diff};

use obligations::{Duties, Evidence, Standing, Wanted};

/// Agents listed per kind of change (the rest are counted).
pub const FIRST_AGENTS: usize = 5;
/// Agents a recorded plan names per kind of change, at most.
pub const MAX_LISTED: usize = 10_000;

/// What one agent's deployment would need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: DeploymentStatus,
    pub approvals: BTreeSet<String>,
    pub audits: BTreeSet<String>,
    /// The roles its workflows would seek (their approvals count as coming
    /// toward obligations).
    pub seeks: Vec<Role>,
    /// Obligations that apply, and those in effect that are unmet.
    pub obligations: BTreeSet<String>,
    pub unmet: BTreeSet<String>,
}

impl Verdict {
    fn of(evaluation: &Evaluation) -> Verdict {
        let fired = |action: PolicyAction| {
            evaluation
                .triggered_policies
                .iter()
                .filter(|policy| policy.action == action)
                .map(|policy| policy.policy_id.clone())
                .collect()
        };
        Verdict {
            status: evaluation.status,
            approvals: fired(PolicyAction::RequireApproval),
            audits: fired(PolicyAction::RequireBiasAudit),
            seeks: evaluation.seeks(),
            obligations: BTreeSet::new(),
            unmet: BTreeSet::new(),
        }
    }

    /// The verdict with what the set's intake rule and obligations add.
    fn with(mut self, standing: Standing) -> Verdict {
        if standing.blocks {
            self.status = DeploymentStatus::Blocked;
        } else if standing.needs_sign_off && self.status == DeploymentStatus::Allowed {
            self.status = DeploymentStatus::PendingApproval;
        }
        if standing.needs_sign_off {
            self.approvals
                .insert(crate::domain::obligations::gate::OBLIGATIONS_RULE.to_owned());
        }
        self.obligations = standing.applicable;
        self.unmet = standing.unmet;
        self
    }
}

/// The kinds of change `plan` reports, in the order it prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    BecomeBlocked,
    NoLongerBlocked,
    NewlyNeedApproval,
    NoLongerNeedApproval,
    NewlyNeedAudit,
    NoLongerNeedAudit,
    GainObligations,
    LoseObligations,
    NewlyUnmet,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::BecomeBlocked => "become blocked",
            Change::NoLongerBlocked => "are no longer blocked",
            Change::NewlyNeedApproval => "newly need approval",
            Change::NoLongerNeedApproval => "no longer need approval",
            Change::NewlyNeedAudit => "newly need a bias audit",
            Change::NoLongerNeedAudit => "no longer need a bias audit",
            Change::GainObligations => "gain obligations",
            Change::LoseObligations => "lose obligations",
            Change::NewlyUnmet => "have obligations newly unmet",
        }
    }

    /// How an agent's verdict moves from `before` to `after`.
    pub fn between(before: &Verdict, after: &Verdict) -> Vec<Change> {
        let blocked = |verdict: &Verdict| verdict.status == DeploymentStatus::Blocked;
        let mut changes = Vec::new();
        match (blocked(before), blocked(after)) {
            (false, true) => changes.push(Change::BecomeBlocked),
            (true, false) => changes.push(Change::NoLongerBlocked),
            _ => {}
        }
        if !after.approvals.is_subset(&before.approvals) {
            changes.push(Change::NewlyNeedApproval);
        }
        if !before.approvals.is_empty() && after.approvals.is_empty() {
            changes.push(Change::NoLongerNeedApproval);
        }
        if !after.audits.is_subset(&before.audits) {
            changes.push(Change::NewlyNeedAudit);
        }
        if !before.audits.is_empty() && after.audits.is_empty() {
            changes.push(Change::NoLongerNeedAudit);
        }
        if !after.obligations.is_subset(&before.obligations) {
            changes.push(Change::GainObligations);
        }
        if !before.obligations.is_subset(&after.obligations) {
            changes.push(Change::LoseObligations);
        }
        if !after.unmet.is_subset(&before.unmet) {
            changes.push(Change::NewlyUnmet);
        }
        changes
    }
}

/// Agents that one kind of change touches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    pub count: u64,
    pub by_team: BTreeMap<String, u64>,
    /// The first few, by agent id.
    pub first: Vec<String>,
    /// Every one, by agent id (up to `MAX_LISTED`), so a reviewer can read
    /// them all before approving.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<String>,
}

/// How many agents one obligation moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationShift {
    /// Agents it comes to apply to.
    pub applies: u64,
    /// Agents it stops applying to.
    pub stops: u64,
    /// Agents for whom it is in effect and unmet, and was not before.
    pub unmet: u64,
}

/// What a set would do to the agents on record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    pub agents: u64,
    pub changes: BTreeMap<Change, Affected>,
    /// Per policy of the new set: agents its condition fails on (each would
    /// be blocked).
    pub errors: BTreeMap<String, u64>,
    /// Per policy: label keys read without `has()`.
    pub unguarded_labels: Vec<(String, Vec<String>)>,
    /// Per policy: roles its chain names more than once (each such step
    /// needs a different person).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeated_roles: Vec<(String, Vec<Role>)>,
    /// Per obligation: a sign-off only a request's own workflow gives,
    /// under a gate that blocks (an agent no policy sends to it can never
    /// deploy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gate_traps: Vec<(String, String)>,
    /// Per obligation of either set: the agents it moves.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub obligations: BTreeMap<String, ObligationShift>,
}

/// A plan: the diff and the impact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub diff: PolicyDiff,
    pub impact: Impact,
}

/// One agent on record, as `plan` simulates a new request of it.
pub struct Subject {
    pub agent: Agent,
    /// The disparate-impact ratio of the newest audit of its current
    /// version, if it has one.
    pub audit_ratio: Option<f64>,
    /// Its current version's intake, if one was submitted.
    pub intake: Option<crate::domain::obligations::Intake>,
}

/// What `simulate` reads of an agent only when it needs it.
pub trait Records {
    /// Its newest audits.
    fn audits(&mut self, agent: &Agent) -> AgentAudits;
    /// What would meet its obligations on a new request.
    fn evidence(&mut self, agent: &Agent, wanted: Wanted) -> Evidence;
}

/// A store with no audits or confirmations.
pub struct NoRecords;

impl Records for NoRecords {
    fn audits(&mut self, _: &Agent) -> AgentAudits {
        AgentAudits::default()
    }

    fn evidence(&mut self, _: &Agent, _: Wanted) -> Evidence {
        Evidence::default()
    }
}

/// How one kind of agent comes out: the policies whose conditions fail on
/// it, and its verdict under each set.
pub(crate) struct Judged {
    pub before: Verdict,
    pub after: Verdict,
    pub failing: Vec<String>,
}

/// The newest audits of an agent: of its current version, and of any.
#[derive(Debug, Clone, Default)]
pub struct AgentAudits {
    pub of_version: Option<BiasAudit>,
    pub of_agent: Option<BiasAudit>,
}

/// Whether a bias-audit policy of either set looks past the ratio (the
/// audit's age, its tables, audits of other versions): then every agent's
/// audits are read and judged under each such policy.
fn judges_whole_audits(sets: [&PolicySet; 2]) -> bool {
    sets.iter()
        .flat_map(|set| set.policies())
        .filter_map(|policy| policy.bias_audit.as_ref())
        .any(|rule| {
            rule.max_age.is_some()
                || !rule.attributes.is_empty()
                || rule.intersectional
                || !rule.each_version
        })
}

/// What every bias-audit policy of either set asks of an audit.
fn requirements(sets: [&PolicySet; 2]) -> Vec<Requirement> {
    sets.iter()
        .flat_map(|set| set.policies())
        .filter(|policy| policy.action == PolicyAction::RequireBiasAudit)
        .map(Requirement::of)
        .collect()
}

/// How an agent's audits fare under each requirement, one letter each: a
/// verdict reads an audit only through whether it blocks, so agents alike
/// in their fields and in these letters are judged alike.
fn audit_key(requirements: &[Requirement], audits: &AgentAudits, now: DateTime<Utc>) -> String {
    let of_version = audits.of_version.as_ref().map(AuditFacts::from);
    let of_agent = audits.of_agent.as_ref().map(AuditFacts::from);
    requirements
        .iter()
        .map(|requirement| {
            let audit = if requirement.each_version {
                of_version.as_ref()
            } else {
                of_agent.as_ref()
            };
            match judge_audit(requirement, audit, now) {
                AuditVerdict::Missing => 'm',
                AuditVerdict::Expired { .. } => 'e',
                AuditVerdict::Uncovered { .. } => 'u',
                AuditVerdict::Fails { .. } => 'f',
                AuditVerdict::Passes { .. } => 'p',
            }
        })
        .collect()
}

/// The thresholds the bias-audit policies of either set hold audits to.
fn thresholds(sets: [&PolicySet; 2]) -> Vec<f64> {
    let mut all: Vec<f64> = sets
        .iter()
        .flat_map(|set| set.policies())
        .filter(|policy| policy.action == PolicyAction::RequireBiasAudit)
        .map(|policy| policy.bias_threshold())
        .collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    all
}

/// What distinguishes agents for the two sets: the fields either reads,
/// and which thresholds its audit reaches. Agents with the same key are
/// judged once; none when a set reads the whole agent.
pub(crate) fn key(
    agent: &Agent,
    fields: &BTreeSet<String>,
    thresholds: &[f64],
    ratio: Option<f64>,
) -> Option<String> {
    let mut key = crate::domain::policy::set::floors::fields_key(agent, fields)?;
    match ratio {
        None => key.push('-'),
        Some(ratio) => key.extend(
            thresholds
                .iter()
                .map(|threshold| if ratio >= *threshold { '1' } else { '0' }),
        ),
    }
    Some(key)
}

/// The intake questions either set's policies and floors read (None: the
/// intake whole).
fn intake_read(sets: [&PolicySet; 2]) -> Option<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    for set in sets {
        keys.extend(set.intake_read()?);
    }
    Some(keys)
}

/// A subject's submitted answers for its current version.
fn answers_of(subject: &Subject) -> Option<&crate::domain::review::Answers> {
    subject
        .intake
        .as_ref()
        .and_then(|intake| intake.answers_for(&subject.agent))
}

/// Simulates every subject under both sets. Agents the sets cannot tell
/// apart (equal in every field and intake answer either reads, their
/// audits faring alike under every bias-audit policy) are judged once;
/// `records` gives an agent's newest audits when they are needed to tell,
/// and what meets its obligations when a duty in effect is unmet without.
pub fn simulate(
    active: &PolicySet,
    proposed: &PolicySet,
    subjects: impl IntoIterator<Item = Subject>,
    records: &mut dyn Records,
    now: DateTime<Utc>,
) -> Impact {
    let mut impact = Impact {
        unguarded_labels: proposed.unguarded_labels(),
        repeated_roles: proposed.repeated_roles(),
        gate_traps: crate::domain::policy::frameworks::gate_traps(
            &proposed.file.frameworks,
            &proposed.file.obligations,
        ),
        ..Impact::default()
    };
    let mut fields = active.fields_read();
    fields.extend(proposed.fields_read());
    let thresholds = thresholds([active, proposed]);
    let whole_audits = judges_whole_audits([active, proposed]);
    let requirements = requirements([active, proposed]);
    let read = intake_read([active, proposed]);
    let reads_intake = read.as_ref().is_none_or(|keys| !keys.is_empty());
    let mut duties = Duties::new(active, proposed);
    let mut judged: std::collections::HashMap<String, std::rc::Rc<Judged>> =
        std::collections::HashMap::new();
    let mut audits_matter: std::collections::HashMap<String, bool> =
        std::collections::HashMap::new();
    for subject in subjects {
        impact.agents += 1;
        let answers = answers_of(&subject);
        // An agent no bias-audit policy reaches is judged alike whatever its
        // audits say: they are read only where one does.
        let mut reached = || {
            let Some(fields_key) = key(&subject.agent, &fields, &[], None) else {
                return true;
            };
            *audits_matter
                .entry(fields_key)
                .or_insert_with(|| reaches_audit_policy([active, proposed], &subject.agent))
        };
        let whole = match whole_audits {
            false => None,
            true if reached() => Some(records.audits(&subject.agent)),
            true => Some(AgentAudits::default()),
        };
        let key = match &whole {
            Some(audits) => key(&subject.agent, &fields, &[], None)
                .map(|key| key + &audit_key(&requirements, audits, now)),
            None => key(&subject.agent, &fields, &thresholds, subject.audit_ratio),
        }
        .map(|key| match reads_intake {
            true => key + &crate::domain::policy::set::floors::intake_key(read.as_ref(), answers),
            false => key,
        });
        let outcome = match key.as_ref().and_then(|key| judged.get(key)) {
            Some(known) => std::rc::Rc::clone(known),
            None => {
                let audits = match whole {
                    Some(audits) => audits,
                    None if subject.audit_ratio.is_some() => records.audits(&subject.agent),
                    None => AgentAudits::default(),
                };
                let fresh = std::rc::Rc::new(judge(
                    active,
                    proposed,
                    &subject.agent,
                    &audits,
                    answers,
                    now,
                ));
                if let Some(key) = key {
                    judged.insert(key, std::rc::Rc::clone(&fresh));
                }
                fresh
            }
        };
        let (mut before, mut after) = (outcome.before.clone(), outcome.after.clone());
        let standings = duties.as_mut().and_then(|duties| {
            duties.judge(
                &subject.agent,
                subject.intake.as_ref(),
                [&before.seeks, &after.seeks],
                &mut |agent, wanted| records.evidence(agent, wanted),
                now,
            )
        });
        if let Some([was, will]) = standings {
            impact.count_shifts(&was, &will);
            before = before.with(was);
            after = after.with(will);
        }
        for change in Change::between(&before, &after) {
            let affected = impact.changes.entry(change).or_default();
            affected.count += 1;
            *affected
                .by_team
                .entry(subject.agent.team.clone())
                .or_insert(0) += 1;
            if affected.first.len() < FIRST_AGENTS {
                affected.first.push(subject.agent.agent_id.clone());
            }
            if affected.listed.len() < MAX_LISTED {
                affected.listed.push(subject.agent.agent_id.clone());
            }
        }
        for policy in &outcome.failing {
            *impact.errors.entry(policy.clone()).or_insert(0) += 1;
        }
    }
    impact
}

impl Impact {
    /// Counts the obligations one agent gains, loses and newly fails.
    fn count_shifts(&mut self, was: &Standing, will: &Standing) {
        for id in will.applicable.difference(&was.applicable) {
            self.obligations.entry(id.clone()).or_default().applies += 1;
        }
        for id in was.applicable.difference(&will.applicable) {
            self.obligations.entry(id.clone()).or_default().stops += 1;
        }
        for id in will.unmet.difference(&was.unmet) {
            self.obligations.entry(id.clone()).or_default().unmet += 1;
        }
    }
}

/// Whether a bias-audit policy of either set holds for the agent (or
/// cannot be evaluated on it), its risk raised to each set's floor.
fn reaches_audit_policy(sets: [&PolicySet; 2], agent: &Agent) -> bool {
    sets.iter().any(|set| {
        let mut agent = agent.clone();
        agent.risk_tier = agent.risk_tier.max(set.minimum_risk(&agent).0);
        set.policies()
            .iter()
            .zip(set.outcomes(&agent, &RequestFacts::default()))
            .any(|(policy, outcome)| {
                policy.action == PolicyAction::RequireBiasAudit && outcome != Outcome::DoesNotHold
            })
    })
}

/// One agent under both sets, the way `evaluate` would see a new request
/// (with its version's submitted intake answers).
pub(crate) fn judge(
    active: &PolicySet,
    proposed: &PolicySet,
    agent: &Agent,
    audits: &AgentAudits,
    intake: Option<&crate::domain::review::Answers>,
    now: DateTime<Utc>,
) -> Judged {
    let no_tools = BTreeSet::new();
    let no_answers = crate::domain::review::Answers::new();
    let facts = Facts {
        latest_audit: audits.of_version.as_ref(),
        latest_audit_of_agent: audits.of_agent.as_ref(),
        approved_tools: &no_tools,
        reference_agents: &[],
        intake,
        // A plan judges sets, not the exceptions granted under them.
        exceptions: &[],
        now,
    };
    let verdict = |set: &PolicySet| {
        let mut agent = agent.clone();
        // The floors are the set's: a set may raise or lower them.
        let (minimum, _) = set.minimum_risk_with(&agent, intake.unwrap_or(&no_answers));
        agent.risk_tier = agent.risk_tier.max(minimum);
        Verdict::of(&evaluate_agent(agent, Vec::new(), &[], set, &facts))
    };
    let failing = proposed
        .policies()
        .iter()
        .zip(proposed.outcomes_with_intake(
            agent,
            &RequestFacts::default(),
            intake.unwrap_or(&no_answers),
        ))
        .filter(|(_, outcome)| matches!(outcome, Outcome::Failed(_)))
        .map(|(policy, _)| policy.policy_id.clone())
        .collect();
    Judged {
        before: verdict(active),
        after: verdict(proposed),
        failing,
    }
}

impl Impact {
    /// The impact as lines a person reads: per kind of change the count,
    /// the teams and the first agents; then the policies that would fail
    /// and the label reads without `has()`. Unsanitized.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "impact on {} agent{} on record (a new request of each):",
            self.agents,
            if self.agents == 1 { "" } else { "s" }
        )];
        if self.changes.is_empty() {
            lines.push("  no agent's outcome changes".to_owned());
        }
        for (change, affected) in &self.changes {
            let teams: Vec<String> = affected
                .by_team
                .iter()
                .map(|(team, count)| format!("{team} {count}"))
                .collect();
            lines.push(format!(
                "  {} {}: {}",
                affected.count,
                change.label(),
                teams.join(", ")
            ));
            let more = affected.count.saturating_sub(affected.first.len() as u64);
            let mut first = affected.first.clone();
            if more > 0 {
                first.push(format!("and {more} more"));
            }
            lines.push(format!("    {}", first.join(", ")));
        }
        for (policy, count) in &self.errors {
            lines.push(format!(
                "  ! policy {policy}: its condition fails on {count} agents, which it would block"
            ));
        }
        for (policy, labels) in &self.unguarded_labels {
            let reads: Vec<String> = labels
                .iter()
                .map(|label| format!("agent.labels.{label}"))
                .collect();
            lines.push(format!(
                "  ! policy {policy} reads {} without has(): an agent without the label is blocked",
                reads.join(", ")
            ));
        }
        for (policy, roles) in &self.repeated_roles {
            for role in roles {
                lines.push(format!(
                    "  ! policy {policy} names {} more than once in its chain: two different people holding it will be needed",
                    role.label()
                ));
            }
        }
        for (obligation, shift) in &self.obligations {
            let mut parts = Vec::new();
            if shift.applies > 0 {
                parts.push(format!("comes to apply to {}", shift.applies));
            }
            if shift.stops > 0 {
                parts.push(format!("stops applying to {}", shift.stops));
            }
            if shift.unmet > 0 {
                parts.push(format!("newly unmet for {}", shift.unmet));
            }
            lines.push(format!(
                "  obligation {obligation}: {} agents",
                parts.join(", ")
            ));
        }
        for (obligation, wanted) in &self.gate_traps {
            lines.push(format!(
                "  ! obligation {obligation} asks for {wanted}, which only a request's own workflow gives: with gate = \"block\", an agent no policy sends to that sign-off is blocked for good (use gate = \"require_approval\", or a policy that asks for it)"
            ));
        }
        lines
    }

    /// One line: how many agents each kind of change touches.
    pub fn summary(&self) -> String {
        if self.changes.is_empty() {
            return format!("no change for the {} agents on record", self.agents);
        }
        let parts: Vec<String> = self
            .changes
            .iter()
            .map(|(change, affected)| format!("{} {}", affected.count, change.label()))
            .collect();
        format!("of {} agents: {}", self.agents, parts.join(", "))
    }
}

#[cfg(test)]
mod tests;
