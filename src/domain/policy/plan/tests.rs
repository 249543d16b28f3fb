//! Tests of `plan`: agents judged alike, and obligations moved.

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

/// Audits from a map, counting the reads.
struct Counted<'a> {
    audits: &'a std::collections::HashMap<String, AgentAudits>,
    reads: u64,
}

impl Records for Counted<'_> {
    fn audits(&mut self, agent: &Agent) -> AgentAudits {
        self.reads += 1;
        self.audits[&agent.agent_id].clone()
    }

    fn evidence(&mut self, _: &Agent, _: Wanted) -> Evidence {
        Evidence::default()
    }
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
    let proposed = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Names).unwrap();
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
            subjects.push(Subject {
                agent,
                audit_ratio,
                intake: None,
            });
        }
    }
    let mut expected: BTreeMap<Change, u64> = BTreeMap::new();
    for subject in &subjects {
        let alone = judge(
            &active,
            &proposed,
            &subject.agent,
            &audits[&subject.agent.agent_id],
            None,
            now,
        );
        for change in Change::between(&alone.before, &alone.after) {
            *expected.entry(change).or_default() += 1;
        }
    }
    assert!(
        expected.get(&Change::BecomeBlocked).is_some_and(|n| *n > 0),
        "the aged-out audits must block some agents: {expected:?}"
    );
    let mut records = Counted {
        audits: &audits,
        reads: 0,
    };
    let impact = simulate(&active, &proposed, subjects, &mut records, now);
    let reads = records.reads;
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

/// A set that asks one question, adopts a framework whose notice duty
/// applies to agents hiring in the city (met by a compliance officer's
/// confirmation), and optionally gates on it and has a policy reading the
/// answer.
fn with_notice_duty(gate: &str, policy: bool) -> PolicySet {
    let policy = match policy {
        true => {
            r#"
[[policy]]
policy_id = "city_hiring_review"
name = "City hiring is reviewed"
description = "Hiring in the city is signed off."
condition = "intake.hiring_in_city"
action = "require_approval"
approval_chain = ["compliance_officer"]
"#
        }
        false => "",
    };
    let text = format!(
        r#"{BUILTIN_SET}
[obligations]
gate = "{gate}"

[intake]
template_id = "intake_v1"
name = "Intake"

[[intake.questions]]
id = "hiring_in_city"
prompt = "Used for hiring in the city?"
kind = "yes_no"

[[framework]]
id = "local"
name = "Local hiring law"
version = "2023"
date = 2023-07-05
source = "https://example.org/law"

[[framework.obligation]]
id = "local.notice"
title = "Notice to candidates"
citation = "Sec. 2"
summary = "Candidates are told ahead."
binds = ["deployer"]
applies_from = 2023-07-05
when = "intake.hiring_in_city"

[[framework.obligation.evidence]]
kind = "confirmation"
role = "compliance_officer"
what = "notice given"
{policy}"#
    );
    PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full).unwrap()
}

fn plain_agent(id: &str) -> Agent {
    Agent {
        agent_id: id.into(),
        name: id.into(),
        team: "People".into(),
        owner: "o@example.com".into(),
        category: crate::domain::agent::Category::CustomerService,
        data_classification: crate::domain::agent::DataClassification::Internal,
        has_external_tools: false,
        tools_approved: false,
        risk_tier: crate::domain::agent::RiskTier::Low,
        version: "1.0.0".into(),
        labels: BTreeMap::new(),
    }
}

fn submitted(agent: &Agent, hiring_in_city: bool) -> crate::domain::obligations::Intake {
    crate::domain::obligations::Intake {
        agent_id: agent.agent_id.clone(),
        agent_version: agent.version.clone(),
        template_id: "intake_v1".into(),
        status: crate::domain::obligations::IntakeStatus::Submitted,
        answers: serde_json::from_value(serde_json::json!({ "hiring_in_city": hiring_in_city }))
            .unwrap(),
        filled_by: "r@example.com".into(),
        updated_at: Utc::now(),
        submitted_at: Some(Utc::now()),
        version: 1,
        pending: None,
    }
}

/// Four agents: hiring in the city without notice confirmed (a), with it
/// (b), not hiring in the city (c), and without an intake (d).
fn city_agents() -> Vec<Subject> {
    [
        ("a", Some(true)),
        ("b", Some(true)),
        ("c", Some(false)),
        ("d", None),
    ]
    .into_iter()
    .map(|(id, hiring)| {
        let agent = plain_agent(id);
        let intake = hiring.map(|hiring| submitted(&agent, hiring));
        Subject {
            agent,
            audit_ratio: None,
            intake,
        }
    })
    .collect()
}

/// Agent b's notice is confirmed; evidence reads are counted.
#[derive(Default)]
struct Confirmed {
    evidence_reads: Vec<String>,
}

impl Records for Confirmed {
    fn audits(&mut self, _: &Agent) -> AgentAudits {
        AgentAudits::default()
    }

    fn evidence(&mut self, agent: &Agent, _: Wanted) -> Evidence {
        self.evidence_reads.push(agent.agent_id.clone());
        let confirmations = match agent.agent_id.as_str() {
            "b" => vec![crate::domain::obligations::Confirmation {
                confirmation_id: "cnf-1".into(),
                obligation_id: "local.notice".into(),
                agent_id: "b".into(),
                link: Some("https://example.org/notice".into()),
                file_sha256: None,
                comment: "posted".into(),
                valid_until: Utc::now() + chrono::TimeDelta::days(300),
                role: Role::ComplianceOfficer,
                confirmed_by: "c@example.com".into(),
                confirmed_at: Utc::now() - chrono::TimeDelta::days(1),
            }],
            _ => Vec::new(),
        };
        Evidence {
            audits: Vec::new(),
            confirmations,
        }
    }
}

fn agents_of(impact: &Impact, change: Change) -> Vec<String> {
    impact
        .changes
        .get(&change)
        .map(|affected| affected.listed.clone())
        .unwrap_or_default()
}

#[test]
fn adopting_a_framework_names_the_agents_it_comes_to_apply_to_and_those_left_unmet() {
    let mut records = Confirmed::default();
    let impact = simulate(
        &PolicySet::builtin(),
        &with_notice_duty("off", false),
        city_agents(),
        &mut records,
        Utc::now(),
    );
    // The duty applies where the answer says so, and where no intake
    // answers it (failing closed); c said no.
    assert_eq!(agents_of(&impact, Change::GainObligations), ["a", "b", "d"]);
    assert_eq!(agents_of(&impact, Change::NewlyUnmet), ["a", "d"]);
    assert_eq!(
        impact.obligations["local.notice"],
        ObligationShift {
            applies: 3,
            stops: 0,
            unmet: 2
        }
    );
    // Without a gate nobody's outcome changes.
    assert!(agents_of(&impact, Change::BecomeBlocked).is_empty());
    // Evidence is read only where a duty in effect is unmet without it.
    assert_eq!(records.evidence_reads, ["a", "b", "d"]);
    let lines = impact.lines().join("\n");
    assert!(
        lines.contains("3 gain obligations")
            && lines.contains("2 have obligations newly unmet")
            && lines
                .contains("obligation local.notice: comes to apply to 3, newly unmet for 2 agents"),
        "{lines}"
    );
}

#[test]
fn a_gate_on_unmet_duties_blocks_or_asks_for_sign_off_and_dropping_it_frees_them() {
    let blocking = with_notice_duty("block", false);
    let impact = simulate(
        &PolicySet::builtin(),
        &blocking,
        city_agents(),
        &mut Confirmed::default(),
        Utc::now(),
    );
    assert_eq!(agents_of(&impact, Change::BecomeBlocked), ["a", "d"]);
    let asking = simulate(
        &PolicySet::builtin(),
        &with_notice_duty("require_approval", false),
        city_agents(),
        &mut Confirmed::default(),
        Utc::now(),
    );
    assert_eq!(agents_of(&asking, Change::NewlyNeedApproval), ["a", "d"]);
    let back = simulate(
        &blocking,
        &PolicySet::builtin(),
        city_agents(),
        &mut Confirmed::default(),
        Utc::now(),
    );
    assert_eq!(agents_of(&back, Change::NoLongerBlocked), ["a", "d"]);
    assert_eq!(agents_of(&back, Change::LoseObligations), ["a", "b", "d"]);
    assert_eq!(back.obligations["local.notice"].stops, 3);
}

#[test]
fn a_policy_reading_the_intake_is_judged_with_each_agents_answers() {
    let impact = simulate(
        &PolicySet::builtin(),
        &with_notice_duty("off", true),
        city_agents(),
        &mut Confirmed::default(),
        Utc::now(),
    );
    // a and b said yes: they need the sign-off; c said no; d has no
    // answer, so the condition cannot be evaluated and blocks it (as a
    // policy whose condition fails, it also counts as asking).
    assert_eq!(
        agents_of(&impact, Change::NewlyNeedApproval),
        ["a", "b", "d"]
    );
    assert_eq!(agents_of(&impact, Change::BecomeBlocked), ["d"]);
    assert_eq!(impact.errors.get("city_hiring_review"), Some(&1));
}

#[test]
fn an_unchanged_framework_under_no_gate_reads_no_evidence() {
    let set = with_notice_duty("off", false);
    let mut records = Confirmed::default();
    let impact = simulate(&set, &set, city_agents(), &mut records, Utc::now());
    assert!(impact.changes.is_empty(), "{:?}", impact.changes);
    assert!(records.evidence_reads.is_empty());
}
