//! Where each agent stands with the audits its policies require: what
//! needs attention first (failing, expired, missing, due soon).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Agent;
use crate::domain::bias::verdict::{AuditFacts, Requirement, Verdict, expires_at, judge};
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::policies::PolicyAction;
use crate::domain::policy::set::PolicySet;
use crate::domain::review::Answers;

/// What the dashboard and the console count as due: an expiry this many
/// days ahead (`gavel audit due --within` chooses its own).
pub const DUE_WITHIN_DAYS: i64 = 30;

/// What an agent's audits need, most urgent first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// The required audit fails the threshold.
    Failing,
    /// The required audit is older than the policy allows.
    Expired,
    /// A policy requires an audit and none is recorded.
    Missing,
    /// The audit lacks an attribute (or intersection) the policy names.
    Uncovered,
    /// Passing, but expiring within the window asked about.
    DueSoon,
    Passing,
    /// No policy requires an audit of this agent.
    NotRequired,
}

impl Attention {
    pub const ALL: [Attention; 7] = [
        Attention::Failing,
        Attention::Expired,
        Attention::Missing,
        Attention::Uncovered,
        Attention::DueSoon,
        Attention::Passing,
        Attention::NotRequired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attention::Failing => "failing",
            Attention::Expired => "expired",
            Attention::Missing => "missing",
            Attention::Uncovered => "uncovered",
            Attention::DueSoon => "due",
            Attention::Passing => "passing",
            Attention::NotRequired => "not_required",
        }
    }

    /// A short word for people: `gaps` for uncovered, `optional` for not
    /// required (the console's list).
    pub fn label(self) -> &'static str {
        match self {
            Attention::Uncovered => "gaps",
            Attention::NotRequired => "optional",
            other => other.as_str(),
        }
    }

    /// What `gavel audit due` lists: an audit to (re-)run.
    pub fn is_due(self) -> bool {
        matches!(
            self,
            Attention::Expired | Attention::Missing | Attention::Uncovered | Attention::DueSoon
        )
    }
}

impl std::str::FromStr for Attention {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Attention::ALL
            .into_iter()
            .find(|attention| attention.as_str() == text)
            .ok_or_else(|| {
                format!("{text:?} is not failing, expired, missing, uncovered, due, passing or not_required")
            })
    }
}

/// One agent's standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditStanding {
    pub agent_id: String,
    pub name: String,
    pub version: String,
    pub owner: String,
    pub team: String,
    /// The active policies that require an audit of this agent.
    pub required_by: Vec<String>,
    pub attention: Attention,
    /// The audit judged (or, when none is required, the latest of the version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tested_at: Option<DateTime<Utc>>,
    /// When the audit stops counting, under the strictest policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The lowest impact ratio of the audit's tables (the binding one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowest_ratio: Option<f64>,
    /// What to do, in words.
    pub reason: String,
}

/// The indices of the active policies that require an audit of this agent,
/// given its current version's submitted intake answers (a condition that
/// fails counts as requiring, failing closed).
pub fn requiring(set: &PolicySet, agent: &Agent, intake: Option<&Answers>) -> Vec<usize> {
    let no_answers = Answers::new();
    let answers = intake.unwrap_or(&no_answers);
    let mut agent = agent.clone();
    agent.risk_tier = agent
        .risk_tier
        .max(set.minimum_risk_with(&agent, answers).0);
    set.policies()
        .iter()
        .zip(set.outcomes_with_intake(&agent, &RequestFacts::default(), answers))
        .enumerate()
        .filter(|(_, (policy, outcome))| {
            policy.action == PolicyAction::RequireBiasAudit
                && !matches!(outcome, Outcome::DoesNotHold)
        })
        .map(|(index, _)| index)
        .collect()
}

/// The newest audits of an agent, as judging reads them: of its current
/// version, and of any version.
#[derive(Debug, Clone, Default)]
pub struct LatestAudits {
    pub of_version: Option<AuditFacts>,
    pub of_agent: Option<AuditFacts>,
}

/// An agent's standing at `now`; `due_within` is how far ahead an expiry
/// counts as due.
pub fn standing(
    set: &PolicySet,
    agent: &Agent,
    audits: &LatestAudits,
    now: DateTime<Utc>,
    due_within: TimeDelta,
) -> AuditStanding {
    standing_under(
        set,
        agent,
        &requiring(set, agent, None),
        audits,
        now,
        due_within,
    )
}

/// `standing`, with the requiring policies already known (agents alike in
/// every field the set reads share them).
pub fn standing_under(
    set: &PolicySet,
    agent: &Agent,
    requiring: &[usize],
    audits: &LatestAudits,
    now: DateTime<Utc>,
    due_within: TimeDelta,
) -> AuditStanding {
    let requiring: Vec<_> = requiring
        .iter()
        .filter_map(|&index| set.policies().get(index))
        .collect();
    let mut standing = AuditStanding {
        agent_id: agent.agent_id.clone(),
        name: agent.name.clone(),
        version: agent.version.clone(),
        owner: agent.owner.clone(),
        team: agent.team.clone(),
        required_by: requiring
            .iter()
            .map(|policy| policy.policy_id.clone())
            .collect(),
        attention: Attention::NotRequired,
        audit_id: None,
        audit_version: None,
        tested_at: None,
        expires_at: None,
        lowest_ratio: None,
        reason: "no policy requires a bias audit of this agent".into(),
    };
    if requiring.is_empty() {
        if let Some(audit) = &audits.of_version {
            describe(&mut standing, audit);
        }
        return standing;
    }
    // The worst verdict over the policies, and the earliest expiry.
    let mut worst: Option<(Attention, String)> = None;
    for policy in requiring {
        let requirement = Requirement::of(policy);
        let audit = if requirement.each_version {
            audits.of_version.as_ref()
        } else {
            audits.of_agent.as_ref()
        };
        let verdict = judge(&requirement, audit, now);
        let (attention, reason) = match &verdict {
            Verdict::Missing => (
                Attention::Missing,
                format!(
                    "policy {} requires a bias audit; none is recorded for version {}",
                    policy.policy_id, agent.version
                ),
            ),
            Verdict::Expired { audit, expired_at } => (
                Attention::Expired,
                format!(
                    "re-run the bias audit (last run {}): expired {} under policy {}",
                    audit.tested_at.format("%Y-%m-%d"),
                    expired_at.format("%Y-%m-%d"),
                    policy.policy_id
                ),
            ),
            Verdict::Uncovered { missing, .. } => (
                Attention::Uncovered,
                format!(
                    "policy {} requires tables for {}",
                    policy.policy_id,
                    missing.join(", ")
                ),
            ),
            Verdict::Fails {
                table,
                category,
                ratio,
                ..
            } => (
                Attention::Failing,
                format!(
                    "impact ratio {ratio:.3}{} is below {:.2} (policy {})",
                    match (table, category) {
                        (Some(table), Some(category)) => format!(" for {table} {category:?}"),
                        (None, Some(category)) => format!(" for {category:?}"),
                        _ => String::new(),
                    },
                    requirement.threshold,
                    policy.policy_id
                ),
            ),
            Verdict::Passes { expires_at, .. } => match expires_at {
                // A window past the calendar's end holds every expiry.
                Some(at)
                    if now
                        .checked_add_signed(due_within)
                        .is_none_or(|limit| *at <= limit) =>
                {
                    (
                        Attention::DueSoon,
                        format!(
                            "passes; expires {} under policy {}",
                            at.format("%Y-%m-%d"),
                            policy.policy_id
                        ),
                    )
                }
                Some(at) => (
                    Attention::Passing,
                    format!("passes; valid until {}", at.format("%Y-%m-%d")),
                ),
                None => (Attention::Passing, "passes".to_owned()),
            },
        };
        if let Some(audit) = audit {
            if standing.audit_id.is_none() {
                describe(&mut standing, audit);
            }
            if let Some(at) = expires_at(&requirement, audit) {
                standing.expires_at =
                    Some(standing.expires_at.map_or(at, |earlier| earlier.min(at)));
            }
        }
        if worst.as_ref().is_none_or(|(known, _)| attention < *known) {
            worst = Some((attention, reason));
        }
    }
    if let Some((attention, reason)) = worst {
        standing.attention = attention;
        standing.reason = reason;
    }
    standing
}

/// An agent's standing with the clock taken out, as the store keeps it:
/// what it is while none of its audits has expired, when the first expires,
/// and until when a failing verdict outlasts those expiries. `attention_at`
/// puts the clock back, giving what `standing_under` gives at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelessStanding {
    /// Never `Expired` or `DueSoon`: those come from the clock.
    pub base: Attention,
    /// The earliest expiry of an audit a requiring policy reads.
    pub expires_at: Option<DateTime<Utc>>,
    /// The latest expiry among the policies the audit fails
    /// (`DateTime::MAX_UTC`: one of them never expires); none fails: `None`.
    pub failing_until: Option<DateTime<Utc>>,
}

/// The standing of `agent` with no audit expired yet (see
/// `TimelessStanding`).
pub fn timeless(set: &PolicySet, requiring: &[usize], audits: &LatestAudits) -> TimelessStanding {
    let mut standing = TimelessStanding {
        base: Attention::NotRequired,
        expires_at: None,
        failing_until: None,
    };
    for policy in requiring
        .iter()
        .filter_map(|&index| set.policies().get(index))
    {
        let requirement = Requirement::of(policy);
        let audit = if requirement.each_version {
            audits.of_version.as_ref()
        } else {
            audits.of_agent.as_ref()
        };
        let expiry = audit.and_then(|audit| expires_at(&requirement, audit));
        let attention = match judge(&requirement, audit, DateTime::<Utc>::MIN_UTC) {
            Verdict::Missing => Attention::Missing,
            Verdict::Uncovered { .. } => Attention::Uncovered,
            Verdict::Fails { .. } => {
                let until = expiry.unwrap_or(DateTime::<Utc>::MAX_UTC);
                standing.failing_until =
                    Some(standing.failing_until.map_or(until, |t| t.max(until)));
                Attention::Failing
            }
            Verdict::Passes { .. } | Verdict::Expired { .. } => Attention::Passing,
        };
        if let Some(at) = expiry {
            standing.expires_at = Some(standing.expires_at.map_or(at, |earlier| earlier.min(at)));
        }
        // `NotRequired` sorts last, so the first requiring policy replaces it.
        if attention < standing.base {
            standing.base = attention;
        }
    }
    standing
}

/// What a timeless standing is at `now`, with expiries within `due_within`
/// counting as due: once the first audit expires the agent is `Expired`,
/// unless a policy it fails has not expired yet.
pub fn attention_at(
    standing: &TimelessStanding,
    now: DateTime<Utc>,
    due_within: TimeDelta,
) -> Attention {
    if let Some(first) = standing.expires_at
        && first <= now
    {
        return if standing.failing_until.is_some_and(|until| until > now) {
            Attention::Failing
        } else {
            Attention::Expired
        };
    }
    let due = |at: DateTime<Utc>| {
        now.checked_add_signed(due_within)
            .is_none_or(|limit| at <= limit)
    };
    match standing.expires_at {
        Some(at) if standing.base == Attention::Passing && due(at) => Attention::DueSoon,
        _ => standing.base,
    }
}

fn describe(standing: &mut AuditStanding, audit: &AuditFacts) {
    standing.audit_id = Some(audit.audit_id.clone());
    standing.audit_version = Some(audit.agent_version.clone());
    standing.tested_at = Some(audit.tested_at);
    standing.lowest_ratio = Some(audit.lowest_ratio());
}

/// The key names sort by within one kind: lowercased, so the store's
/// order and `sort`'s agree.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Most urgent first; within one kind, the soonest expiry, then the name.
pub fn sort(standings: &mut [AuditStanding]) {
    standings.sort_by(|a, b| {
        a.attention
            .cmp(&b.attention)
            .then_with(|| {
                let far = DateTime::<Utc>::MAX_UTC;
                a.expires_at
                    .unwrap_or(far)
                    .cmp(&b.expires_at.unwrap_or(far))
            })
            .then_with(|| name_key(&a.name).cmp(&name_key(&b.name)))
            .then_with(|| a.agent_id.cmp(&b.agent_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bias::{GroupCounts, compute};
    use crate::domain::policy::set::{Checks, PolicySetFile};

    /// The built-in set, its HR audit valid for a year.
    fn set() -> PolicySet {
        let text = crate::domain::policy::set::BUILTIN_SET.replace(
            "bias_audit = { threshold = 0.8 }",
            "bias_audit = { threshold = 0.8, max_age = \"365d\" }",
        );
        PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full).unwrap()
    }

    fn agent(category: &str) -> Agent {
        let mut agent: Agent = serde_json::from_value(serde_json::json!({
            "agent_id": "agt-1", "name": "Screener", "team": "People", "owner": "o@example.com",
            "category": category, "data_classification": "internal", "has_external_tools": false,
            "tools_approved": false, "risk_tier": "low", "version": "1.0.0"
        }))
        .unwrap();
        agent.labels.clear();
        agent
    }

    fn audit(tested_at: &str, low: u64) -> AuditFacts {
        let groups = [
            GroupCounts {
                group: "a".into(),
                positive: low,
                total: 100,
            },
            GroupCounts {
                group: "b".into(),
                positive: 50,
                total: 100,
            },
        ];
        AuditFacts::from(&crate::domain::BiasAudit::of(
            "aud-1".into(),
            "agt-1".into(),
            "1.0.0".into(),
            tested_at.parse().unwrap(),
            compute(&groups, 0.8).unwrap(),
            Vec::new(),
        ))
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn standings_move_from_passing_to_due_to_expired_as_the_clock_runs() {
        let audits = LatestAudits {
            of_version: Some(audit("2025-03-01T00:00:00Z", 45)),
            of_agent: None,
        };
        let hr = agent("human_resources");
        let window = TimeDelta::days(30);
        let seen = |now: &str| standing(&set(), &hr, &audits, at(now), window).attention;
        assert_eq!(seen("2025-06-01T00:00:00Z"), Attention::Passing);
        assert_eq!(seen("2026-02-01T00:00:00Z"), Attention::DueSoon);
        assert_eq!(seen("2026-03-01T00:00:00Z"), Attention::Expired);
        // A window beyond the calendar does not overflow: everything is due.
        assert_eq!(
            standing(
                &set(),
                &hr,
                &audits,
                at("2025-06-01T00:00:00Z"),
                TimeDelta::MAX
            )
            .attention,
            Attention::DueSoon
        );
        let expired = standing(&set(), &hr, &audits, at("2026-03-02T00:00:00Z"), window);
        assert!(
            expired.reason.contains("last run 2025-03-01"),
            "{}",
            expired.reason
        );
        assert_eq!(expired.expires_at, Some(at("2026-03-01T00:00:00Z")));

        let failing = LatestAudits {
            of_version: Some(audit("2025-03-01T00:00:00Z", 30)),
            of_agent: None,
        };
        assert_eq!(
            standing(&set(), &hr, &failing, at("2025-06-01T00:00:00Z"), window).attention,
            Attention::Failing
        );
        assert_eq!(
            standing(
                &set(),
                &hr,
                &LatestAudits::default(),
                at("2025-06-01T00:00:00Z"),
                window
            )
            .attention,
            Attention::Missing
        );
        assert_eq!(
            standing(
                &set(),
                &agent("customer_service"),
                &audits,
                at("2025-06-01T00:00:00Z"),
                window
            )
            .attention,
            Attention::NotRequired
        );
    }

    #[test]
    fn attention_first_then_soonest_expiry() {
        let make = |id: &str, attention, expires: Option<&str>| AuditStanding {
            agent_id: id.into(),
            name: id.into(),
            version: "1".into(),
            owner: String::new(),
            team: String::new(),
            required_by: Vec::new(),
            attention,
            audit_id: None,
            audit_version: None,
            tested_at: None,
            expires_at: expires.map(at),
            lowest_ratio: None,
            reason: String::new(),
        };
        let mut list = vec![
            make("e", Attention::NotRequired, None),
            make("d", Attention::DueSoon, Some("2026-01-20T00:00:00Z")),
            make("c", Attention::DueSoon, Some("2026-01-10T00:00:00Z")),
            make("b", Attention::Missing, None),
            make("a", Attention::Failing, None),
        ];
        sort(&mut list);
        let order: Vec<_> = list.iter().map(|s| s.agent_id.as_str()).collect();
        assert_eq!(order, ["a", "b", "c", "d", "e"]);
    }
}
