//! What a set's intake rule and obligations make of a new request of an
//! agent, as `plan` compares two sets: which obligations apply, which in
//! effect are unmet, and whether the set's gate holds the request.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::domain::agent::Agent;
use crate::domain::bias::BiasAudit;
use crate::domain::obligations::{Confirmation, Intake, Record, State, posture};
use crate::domain::policy::frameworks::{GateAction, Requirement};
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
    let submitted = intake.filter(|intake| intake.answers_for(agent).is_some());
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
            // A plan judges duties by the records it simulates; incidents
            // are not among them, so an incident process reads as met.
            incidents: &[],
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

/// What records beyond the request itself could meet a duty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    pub audits: bool,
    /// Some duty takes an audit whoever made it (else only audits whose
    /// auditor's independence is grounded can count).
    pub any_auditor: bool,
    pub confirmations: bool,
}

impl Wanted {
    fn any(self) -> bool {
        self.audits || self.confirmations
    }

    fn or(self, other: Wanted) -> Wanted {
        Wanted {
            audits: self.audits || other.audits,
            any_auditor: self.any_auditor || other.any_auditor,
            confirmations: self.confirmations || other.confirmations,
        }
    }
}

/// The most standings remembered per kind of agent; past it the memory
/// starts over.
const MAX_KNOWN: usize = 65_536;

/// Both sets' duties, judged for agent after agent: agents alike in every
/// field and answer the duties read, seeking the same sign-offs, stand
/// alike until evidence is read; evidence is read only for an agent with
/// an unmet duty that a record of its own could meet.
pub struct Duties<'s> {
    sets: [&'s PolicySet; 2],
    /// Same duties, and neither set holds a request on them.
    inert: bool,
    fields: BTreeSet<String>,
    wanted: std::collections::HashMap<String, Wanted>,
    known: std::collections::HashMap<String, [Standing; 2]>,
}

impl<'s> Duties<'s> {
    /// None when neither set asks anything of agents' duties.
    pub fn new(active: &'s PolicySet, proposed: &'s PolicySet) -> Option<Duties<'s>> {
        let sets = [active, proposed];
        if !in_play(sets) {
            return None;
        }
        let inert = same_rules(active, proposed)
            && sets.iter().all(|set| {
                set.file.obligations.gate == GateAction::Off
                    && !set
                        .file
                        .intake
                        .as_ref()
                        .is_some_and(|intake| intake.required)
            });
        // What the floors and conditions read (a floored risk tier decides
        // what a condition over it sees).
        let mut fields = active.fields_read();
        fields.extend(proposed.fields_read());
        let mut wanted: std::collections::HashMap<String, Wanted> =
            std::collections::HashMap::new();
        for set in sets {
            for (_, obligation, condition) in set.obligations() {
                if let Some(condition) = condition {
                    fields.extend(condition.fields().iter().cloned());
                }
                let found =
                    obligation
                        .evidence
                        .iter()
                        .fold(Wanted::default(), |found, requirement| {
                            found.or(Wanted {
                                audits: matches!(requirement, Requirement::BiasAudit { .. }),
                                any_auditor: matches!(
                                    requirement,
                                    Requirement::BiasAudit {
                                        independent: false,
                                        ..
                                    }
                                ),
                                confirmations: matches!(
                                    requirement,
                                    Requirement::Confirmation { .. }
                                ),
                            })
                        });
                let entry = wanted.entry(obligation.id.clone()).or_default();
                *entry = entry.or(found);
            }
        }
        Some(Duties {
            sets,
            inert,
            fields,
            wanted,
            known: std::collections::HashMap::new(),
        })
    }

    /// Both sets' standings for a new request of `agent` seeking `seeks`
    /// under each; None when they cannot differ from how the request's
    /// verdicts already stand (same duties, no gate, same sign-offs).
    pub fn judge(
        &mut self,
        agent: &Agent,
        intake: Option<&Intake>,
        seeks: [&[Role]; 2],
        load: &mut dyn FnMut(&Agent, Wanted) -> Evidence,
        now: DateTime<Utc>,
    ) -> Option<[Standing; 2]> {
        if self.inert && seeks[0] == seeks[1] {
            return None;
        }
        let sets = self.sets;
        let judge = |evidence: Option<&Evidence>| {
            [0, 1].map(|side| standing(sets[side], agent, intake, seeks[side], evidence, now))
        };
        let key = self.key(agent, intake, seeks);
        let without = match key.as_ref().and_then(|key| self.known.get(key)) {
            Some(known) => known.clone(),
            None => {
                let fresh = judge(None);
                if let Some(key) = key {
                    if self.known.len() >= MAX_KNOWN {
                        self.known.clear();
                    }
                    self.known.insert(key, fresh.clone());
                }
                fresh
            }
        };
        // Evidence only meets duties, and only those asking for it.
        let wanted = without
            .iter()
            .flat_map(|standing| &standing.unmet)
            .filter_map(|id| self.wanted.get(id))
            .fold(Wanted::default(), |all, one| all.or(*one));
        if !wanted.any() {
            return Some(without);
        }
        let evidence = load(agent, wanted);
        if evidence.audits.is_empty() && evidence.confirmations.is_empty() {
            return Some(without);
        }
        Some(judge(Some(&evidence)))
    }

    /// What the duties read of an agent and its request, as one string;
    /// None when a condition reads the whole agent.
    fn key(&self, agent: &Agent, intake: Option<&Intake>, seeks: [&[Role]; 2]) -> Option<String> {
        let mut key = crate::domain::policy::set::floors::fields_key(agent, &self.fields)?;
        let submitted = intake.and_then(|intake| intake.answers_for(agent));
        key.push_str(&serde_json::to_string(&submitted).unwrap_or_default());
        key.push_str(&format!("{seeks:?}"));
        Some(key)
    }
}
