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

/// Agents listed per kind of change (the rest are counted).
pub const FIRST_AGENTS: usize = 5;
/// Agents a recorded plan names per kind of change, at most.
pub const MAX_LISTED: usize = 10_000;

/// How the policies themselves differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Policy id and the fields that differ.
    pub changed: Vec<(String, Vec<String>)>,
    /// Vocabulary, permissions and risk floors that differ.
    pub other: Vec<String>,
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.other.is_empty()
    }
}

/// What one agent's deployment would need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: DeploymentStatus,
    pub approvals: BTreeSet<String>,
    pub audits: BTreeSet<String>,
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
        }
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
}

/// How one kind of agent comes out: the policies whose conditions fail on
/// it, and how its verdict moves.
pub(crate) struct Judged {
    pub changes: Vec<Change>,
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

/// Simulates every subject under both sets. Agents the sets cannot tell
/// apart (equal in every field either reads, their audits faring alike
/// under every bias-audit policy) are judged once; `load_audits` fetches
/// an agent's newest audits when they are needed to tell.
pub fn simulate(
    active: &PolicySet,
    proposed: &PolicySet,
    subjects: impl IntoIterator<Item = Subject>,
    load_audits: &mut dyn FnMut(&Agent) -> AgentAudits,
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
    let mut judged: std::collections::HashMap<String, std::rc::Rc<Judged>> =
        std::collections::HashMap::new();
    let mut audits_matter: std::collections::HashMap<String, bool> =
        std::collections::HashMap::new();
    for subject in subjects {
        impact.agents += 1;
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
            true if reached() => Some(load_audits(&subject.agent)),
            true => Some(AgentAudits::default()),
        };
        let key = match &whole {
            Some(audits) => key(&subject.agent, &fields, &[], None)
                .map(|key| key + &audit_key(&requirements, audits, now)),
            None => key(&subject.agent, &fields, &thresholds, subject.audit_ratio),
        };
        let outcome = match key.as_ref().and_then(|key| judged.get(key)) {
            Some(known) => std::rc::Rc::clone(known),
            None => {
                let audits = match whole {
                    Some(audits) => audits,
                    None if subject.audit_ratio.is_some() => load_audits(&subject.agent),
                    None => AgentAudits::default(),
                };
                let fresh = std::rc::Rc::new(judge(active, proposed, &subject.agent, &audits, now));
                if let Some(key) = key {
                    judged.insert(key, std::rc::Rc::clone(&fresh));
                }
                fresh
            }
        };
        for &change in &outcome.changes {
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

/// One agent under both sets, the way `evaluate` would see a new request.
pub(crate) fn judge(
    active: &PolicySet,
    proposed: &PolicySet,
    agent: &Agent,
    audits: &AgentAudits,
    now: DateTime<Utc>,
) -> Judged {
    let no_tools = BTreeSet::new();
    let facts = Facts {
        latest_audit: audits.of_version.as_ref(),
        latest_audit_of_agent: audits.of_agent.as_ref(),
        approved_tools: &no_tools,
        reference_agents: &[],
        intake: None,
        now,
    };
    let verdict = |set: &PolicySet| {
        let mut agent = agent.clone();
        // The floors are the set's: a set may raise or lower them.
        let (minimum, _) = set.minimum_risk(&agent);
        agent.risk_tier = agent.risk_tier.max(minimum);
        Verdict::of(&evaluate_agent(agent, Vec::new(), &[], set, &facts))
    };
    let failing = proposed
        .policies()
        .iter()
        .zip(proposed.outcomes(agent, &RequestFacts::default()))
        .filter(|(_, outcome)| matches!(outcome, Outcome::Failed(_)))
        .map(|(policy, _)| policy.policy_id.clone())
        .collect();
    Judged {
        changes: Change::between(&verdict(active), &verdict(proposed)),
        failing,
    }
}

impl PolicyDiff {
    /// The diff as lines a person reads (`+` added, `-` removed, `~`
    /// changed). Unsanitized: callers printing it make it safe.
    pub fn lines(&self) -> Vec<String> {
        if self.is_empty() {
            return vec!["no policy changes".to_owned()];
        }
        let mut lines = vec!["policies:".to_owned()];
        lines.extend(self.added.iter().map(|id| format!("  + {id}")));
        lines.extend(self.removed.iter().map(|id| format!("  - {id}")));
        lines.extend(
            self.changed
                .iter()
                .map(|(id, fields)| format!("  ~ {id} ({})", fields.join(", "))),
        );
        lines.extend(self.other.iter().map(|part| format!("  ~ {part}")));
        lines
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

/// The policies, vocabulary, permissions and floors that differ.
pub fn diff(active: &PolicySet, proposed: &PolicySet) -> PolicyDiff {
    let old: BTreeMap<&str, serde_json::Value> = active
        .policies()
        .iter()
        .map(|policy| (policy.policy_id.as_str(), fields(policy)))
        .collect();
    let new: BTreeMap<&str, serde_json::Value> = proposed
        .policies()
        .iter()
        .map(|policy| (policy.policy_id.as_str(), fields(policy)))
        .collect();
    let mut result = PolicyDiff {
        added: new
            .keys()
            .filter(|id| !old.contains_key(*id))
            .map(|id| id.to_string())
            .collect(),
        removed: old
            .keys()
            .filter(|id| !new.contains_key(*id))
            .map(|id| id.to_string())
            .collect(),
        ..PolicyDiff::default()
    };
    for (id, before) in &old {
        let Some(after) = new.get(id) else { continue };
        let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
            continue;
        };
        let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        let differing: Vec<String> = keys
            .into_iter()
            .filter(|key| before.get(*key) != after.get(*key))
            .cloned()
            .collect();
        if !differing.is_empty() {
            result.changed.push((id.to_string(), differing));
        }
    }
    let (a, b) = (&active.file, &proposed.file);
    if a.vocabulary != b.vocabulary {
        result.other.push("vocabulary".into());
    }
    if a.permissions != b.permissions {
        result.other.push("permissions".into());
    }
    if a.minimum_risk != b.minimum_risk {
        result.other.push("minimum_risk".into());
    }
    if a.intake != b.intake {
        result.other.push("intake questions".into());
    }
    if a.obligations != b.obligations {
        result.other.push("obligations gate".into());
    }
    result.other.extend(crate::domain::policy::frameworks::diff(
        &a.frameworks,
        &b.frameworks,
    ));
    result
}

/// A policy's fields as compared: what it does, not who wrote it.
fn fields(policy: &crate::domain::policy::policies::Policy) -> serde_json::Value {
    let mut value = serde_json::to_value(policy).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("created_by");
        object.remove("approved_by");
    }
    value
}

/// The line diff of two versions' texts, as `gavel policy diff` prints it:
/// `+` lines added, `-` removed, a context line either side.
pub fn text_diff(old: &str, new: &str) -> Vec<String> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    for group in diff.grouped_ops(1) {
        if !lines.is_empty() {
            lines.push("  …".to_owned());
        }
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "-",
                    similar::ChangeTag::Insert => "+",
                    similar::ChangeTag::Equal => " ",
                };
                lines.push(format!(
                    "{sign} {}",
                    change.value().trim_end_matches(['\n', '\r'])
                ));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bias::{self, GroupCounts};
    use crate::domain::policy::set::{BUILTIN_SET, Checks, PolicySetFile};
    use chrono::TimeZone;

    fn audit(agent: &Agent, tested_at: DateTime<Utc>, positive_low: u64) -> BiasAudit {
        let groups = [("a", positive_low), ("b", 50)].map(|(group, positive)| GroupCounts {
            group: group.into(),
            positive,
            total: 100,
        });
        BiasAudit::of(
            format!("aud-{}", agent.agent_id),
            agent.agent_id.clone(),
            agent.version.clone(),
            tested_at,
            bias::compute(&groups, 0.8).unwrap(),
            Vec::new(),
        )
    }

    #[test]
    fn agents_judged_once_per_kind_come_out_as_each_judged_alone() {
        // The proposal ages audits out and asks for a table by sex: every
        // agent's audits are read, and agents alike in fields and in how
        // their audits fare share one judgement.
        let active = PolicySet::builtin();
        let text = BUILTIN_SET.replace(
            "bias_audit = { threshold = 0.8 }",
            "bias_audit = { threshold = 0.8, max_age = \"30d\" }",
        );
        assert_ne!(text, BUILTIN_SET);
        let proposed =
            PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Names).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let mut subjects = Vec::new();
        let mut audits = std::collections::HashMap::new();
        let kinds = crate::domain::policy::condition::synthetic_agents(active.vocabulary());
        for (n, kind) in kinds.into_iter().enumerate() {
            // No audit; fresh and passing; passing but 45 days old; failing.
            for state in 0..4 {
                let mut agent = kind.clone();
                agent.agent_id = format!("agt-{n}-{state}");
                let audit = match state {
                    1 => Some(audit(&agent, now - chrono::TimeDelta::days(2), 48)),
                    2 => Some(audit(&agent, now - chrono::TimeDelta::days(45), 48)),
                    3 => Some(audit(&agent, now - chrono::TimeDelta::days(2), 10)),
                    _ => None,
                };
                audits.insert(
                    agent.agent_id.clone(),
                    AgentAudits {
                        of_version: audit.clone(),
                        of_agent: audit,
                    },
                );
                let audit_ratio = audits[&agent.agent_id]
                    .of_version
                    .as_ref()
                    .map(|audit| audit.stats.disparate_impact_ratio);
                subjects.push(Subject { agent, audit_ratio });
            }
        }
        let mut expected: BTreeMap<Change, u64> = BTreeMap::new();
        for subject in &subjects {
            let alone = judge(
                &active,
                &proposed,
                &subject.agent,
                &audits[&subject.agent.agent_id],
                now,
            );
            for change in alone.changes {
                *expected.entry(change).or_default() += 1;
            }
        }
        assert!(
            expected.get(&Change::BecomeBlocked).is_some_and(|n| *n > 0),
            "the aged-out audits must block some agents: {expected:?}"
        );
        let mut reads = 0;
        let impact = simulate(
            &active,
            &proposed,
            subjects,
            &mut |agent| {
                reads += 1;
                audits[&agent.agent_id].clone()
            },
            now,
        );
        let found: BTreeMap<Change, u64> = impact
            .changes
            .iter()
            .map(|(change, affected)| (*change, affected.count))
            .collect();
        assert_eq!(found, expected);
        assert!(
            reads < impact.agents,
            "agents no audit policy reaches need no audits read ({reads} of {})",
            impact.agents
        );
    }
}
