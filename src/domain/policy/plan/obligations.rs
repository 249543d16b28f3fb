//! What a set's intake rule and obligations make of a new request of an
//! agent, as `plan` compares two sets: which obligations apply, which in
//! effect are unmet, and whether the set's gate holds the request.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::domain::agent::Agent;
use crate::domain::bias::BiasAudit;
use crate::domain::obligations::{Confirmation, Intake, IntakeStatus, Record, State, posture};
use crate::domain::policy::frameworks::GateAction;
use crate::domain::policy::set::PolicySet;
use crate::domain::role::Role;

/// What meets an agent's obligations on a new request: its audits and its
/// confirmations (a new request has no workflows or reviews yet; the
/// sign-offs it will seek count as coming).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub audits: Vec<BiasAudit>,
    pub confirmations: Vec<Confirmation>,
}

/// How one set's intake rule and obligations stand for a new request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// Obligations that apply (in effect, or from a later day).
    pub applicable: BTreeSet<String>,
    /// Those in effect and not met.
    pub unmet: BTreeSet<String>,
    /// The set blocks the request: no submitted intake where one is
    /// required, or unmet duties under `gate = "block"`.
    pub blocks: bool,
    /// Unmet duties ask for a sign-off (`gate = "require_approval"`).
    pub needs_sign_off: bool,
}

/// Whether intake rules or obligations can tell the two sets apart for any
/// agent: either adopts a framework, requires an intake or gates.
pub fn in_play(sets: [&PolicySet; 2]) -> bool {
    sets.iter().any(|set| {
        !set.file.frameworks.is_empty()
            || set
                .file
                .intake
                .as_ref()
                .is_some_and(|intake| intake.required)
            || set.file.obligations.gate != GateAction::Off
    })
}

/// Whether the two sets' frameworks, intake and gate are the same: then a
/// request seeking the same sign-offs stands alike under both.
pub fn same_rules(active: &PolicySet, proposed: &PolicySet) -> bool {
    let (a, b) = (&active.file, &proposed.file);
    a.frameworks == b.frameworks && a.intake == b.intake && a.obligations == b.obligations
}

/// How `set` stands for a new request of `agent` (as recorded; the set's
/// floors are applied here) with its `intake`, seeking `seeks`. Evidence
/// is asked for only when an obligation in effect is unmet without it.
pub fn standing(
    set: &PolicySet,
    agent: &Agent,
    intake: Option<&Intake>,
    seeks: &[Role],
    evidence: Option<&Evidence>,
    now: DateTime<Utc>,
) -> Standing {
    let submitted = intake.filter(|intake| {
        intake.status == IntakeStatus::Submitted && intake.agent_version == agent.version
    });
    let mut agent = agent.clone();
    let no_answers = crate::domain::review::Answers::new();
    let answers = submitted.map_or(&no_answers, |intake| &intake.answers);
    agent.risk_tier = agent
        .risk_tier
        .max(set.minimum_risk_with(&agent, answers).0);
    let no_evidence = Evidence::default();
    let evidence = evidence.unwrap_or(&no_evidence);
    let judged = posture(
        set,
        &Record {
            agent: &agent,
            intake: submitted,
            workflows: &[],
            reviews: &[],
            audits: &evidence.audits,
            confirmations: &evidence.confirmations,
            pending_roles: seeks,
        },
        now,
    );
    let mut standing = Standing::default();
    for obligation in judged.obligations {
        match obligation.state {
            State::NotApplicable { .. } => continue,
            State::Unmet { .. } => {
                standing.unmet.insert(obligation.obligation.clone());
            }
            _ => {}
        }
        standing.applicable.insert(obligation.obligation);
    }
    let intake_missing = set
        .file
        .intake
        .as_ref()
        .is_some_and(|intake| intake.required)
        && submitted.is_none();
    let gate = set.file.obligations.gate;
    standing.blocks = intake_missing || (gate == GateAction::Block && !standing.unmet.is_empty());
    standing.needs_sign_off = gate == GateAction::RequireApproval && !standing.unmet.is_empty();
    standing
}

/// Both sets' standings for one agent, reading its evidence (`load`) only
/// when either has a duty in effect that nothing else meets.
pub fn standings(
    sets: [&PolicySet; 2],
    agent: &Agent,
    intake: Option<&Intake>,
    seeks: [&[Role]; 2],
    load: &mut dyn FnMut(&Agent) -> Evidence,
    now: DateTime<Utc>,
) -> [Standing; 2] {
    let judge = |evidence: Option<&Evidence>| {
        [0, 1].map(|side| standing(sets[side], agent, intake, seeks[side], evidence, now))
    };
    let without = judge(None);
    if without.iter().all(|standing| standing.unmet.is_empty()) {
        // Evidence only meets duties: none unmet without it, none with it.
        return without;
    }
    let evidence = load(agent);
    judge(Some(&evidence))
}
