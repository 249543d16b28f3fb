use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;

mod coverage;
mod incidents;
use crate::domain::agent::{Category, DataClassification, RiskTier};
use crate::domain::bias::{AuditData, AuditSource, GroupCounts, compute};
use crate::domain::policy::set::{Checks, PolicySetFile};

/// A small world: an intake of three questions, a "local" framework with
/// one obligation of each evidence kind, and a "standard" whose control is
/// crosswalked to the local audit duty.
const FRAMEWORKS: &str = r#"
[intake]
required = true
template_id = "intake_v1"
name = "Intake"

[[intake.questions]]
id = "organisation_role"
prompt = "Who are we for this system?"
kind = "single_choice"
options = ["provider", "deployer", "provider_and_deployer"]

[[intake.questions]]
id = "hiring_in_city"
prompt = "Used for hiring in the city?"
kind = "yes_no"

[[intake.questions]]
id = "areas"
prompt = "Which areas?"
kind = "multi_choice"
options = ["employment", "credit", "none"]

[[framework]]
id = "local"
name = "Local hiring law"
version = "2023"
date = 2023-07-05
source = "https://example.org/law"

[[framework.obligation]]
id = "local.audit"
title = "Independent bias audit within a year"
citation = "Sec. 1(a)"
summary = "An independent auditor checks selection rates every year."
binds = ["deployer"]
applies_from = 2023-07-05
when = "has(intake.hiring_in_city) && intake.hiring_in_city"
crosswalk = ["standard.fairness"]

[[framework.obligation.evidence]]
kind = "bias_audit"
independent = true
max_age = "365d"

[[framework.obligation]]
id = "local.notice"
title = "Notice to candidates"
citation = "Sec. 2"
summary = "Candidates are told ten business days ahead."
binds = ["deployer"]
applies_from = 2023-07-05
when = "intake.hiring_in_city"

[[framework.obligation.evidence]]
kind = "confirmation"
role = "compliance_officer"
what = "notice given at least 10 business days before use"

[[framework.obligation]]
id = "local.future"
title = "A duty not yet in force"
citation = "Sec. 9"
summary = "Applies later."
binds = ["deployer"]
applies_from = 2030-01-01

[[framework.obligation.evidence]]
kind = "intake"
question = "areas"
equals = ["employment"]

[[framework.obligation]]
id = "local.provider"
title = "Provider documentation"
citation = "Sec. 3"
summary = "Who builds it documents it."
binds = ["provider"]
applies_from = 2023-07-05

[[framework.obligation.evidence]]
kind = "approval"
role = "technical_lead"

[[framework]]
id = "standard"
name = "A management standard"
version = "2023"
date = 2023-12-01
source = "https://example.org/standard"

[[framework.obligation]]
id = "standard.fairness"
title = "Fairness assessed"
citation = "A.6.2.4"
summary = "Impacts on groups are assessed."
binds = ["provider", "deployer"]
applies_from = 2023-12-01

[[framework.obligation.evidence]]
kind = "ethics_review"

[[framework.obligation]]
id = "standard.oversight"
title = "Oversight approved"
citation = "A.9.2"
summary = "A person signs the use off."
binds = ["deployer"]
applies_from = 2023-12-01

[[framework.obligation.evidence]]
kind = "approval"
role = "technical_lead"

[[framework.obligation.evidence]]
kind = "ethics_review"
"#;

fn set_with(extra: &str) -> Result<PolicySet, crate::domain::policy::set::SetErrors> {
    let text = format!("{}\n{extra}", crate::domain::policy::set::BUILTIN_SET);
    PolicySet::compile(PolicySetFile::parse(&text)?, Checks::Full)
}

fn set() -> PolicySet {
    set_with(FRAMEWORKS).expect("the test frameworks compile")
}

fn now() -> DateTime<Utc> {
    "2026-12-06T12:00:00Z".parse().unwrap()
}

fn agent() -> Agent {
    Agent {
        agent_id: "agt-1".into(),
        name: "Screener".into(),
        team: "People".into(),
        owner: "o@example.com".into(),
        category: Category::HumanResources,
        data_classification: DataClassification::Internal,
        has_external_tools: false,
        tools_approved: false,
        risk_tier: RiskTier::High,
        version: "2.0.0".into(),
        labels: BTreeMap::new(),
    }
}

fn intake(answers: serde_json::Value) -> Intake {
    Intake {
        agent_id: "agt-1".into(),
        agent_version: "2.0.0".into(),
        template_id: "intake_v1".into(),
        status: IntakeStatus::Submitted,
        answers: serde_json::from_value(answers).unwrap(),
        filled_by: "r@example.com".into(),
        updated_at: now(),
        submitted_at: Some(now()),
        version: 2,
        pending: None,
    }
}

fn audit(version: &str, tested_at: DateTime<Utc>, independent: bool) -> BiasAudit {
    let groups = [
        GroupCounts {
            group: "a".into(),
            positive: 45,
            total: 100,
        },
        GroupCounts {
            group: "b".into(),
            positive: 50,
            total: 100,
        },
    ];
    let mut audit = BiasAudit::of(
        format!("aud-{version}-{independent}"),
        "agt-1".into(),
        version.into(),
        tested_at,
        compute(&groups, 0.8).unwrap(),
        Vec::new(),
    );
    audit.source = Some(AuditSource {
        auditor: "Audit Co".into(),
        independent,
        data: AuditData::Historical,
        reference: None,
        file_sha256: None,
    });
    // Only a grounded claim counts: here, the auditor's own account.
    audit.independence = independent.then(|| crate::domain::bias::Independence::AuditorAccount {
        by: "auditor@audits.example".into(),
    });
    audit
}

fn confirmation(valid_until: DateTime<Utc>, role: Role) -> Confirmation {
    Confirmation {
        confirmation_id: "cnf-1".into(),
        obligation_id: "local.notice".into(),
        agent_id: "agt-1".into(),
        link: Some("https://example.org/notice".into()),
        file_sha256: None,
        comment: "posted on the careers page".into(),
        valid_until,
        role,
        confirmed_by: "c@example.com".into(),
        confirmed_at: now() - TimeDelta::days(1),
    }
}

struct World {
    agent: Agent,
    intake: Option<Intake>,
    workflows: Vec<Workflow>,
    reviews: Vec<EthicsReview>,
    audits: Vec<BiasAudit>,
    confirmations: Vec<Confirmation>,
}

impl World {
    fn new(intake: Option<Intake>) -> World {
        World {
            agent: agent(),
            intake,
            workflows: Vec::new(),
            reviews: Vec::new(),
            audits: Vec::new(),
            confirmations: Vec::new(),
        }
    }

    fn posture(&self) -> Posture {
        posture(&set(), &self.record(), now())
    }

    fn record(&self) -> Record<'_> {
        Record {
            agent: &self.agent,
            intake: self.intake.as_ref(),
            workflows: &self.workflows,
            reviews: &self.reviews,
            audits: &self.audits,
            confirmations: &self.confirmations,
            incidents: &[],
            pending_roles: &[],
        }
    }
}

fn state<'a>(posture: &'a Posture, id: &str) -> &'a ObligationPosture {
    posture
        .obligations
        .iter()
        .find(|obligation| obligation.obligation == id)
        .unwrap_or_else(|| panic!("{id} in the posture"))
}

#[test]
fn an_unanswered_question_a_condition_reads_keeps_the_obligation_applying() {
    let posture = World::new(None).posture();
    let audit = state(&posture, "local.audit");
    assert!(
        matches!(&audit.state, State::Unmet { missing } if missing[0].contains("hiring_in_city")),
        "{audit:?}"
    );
}

#[test]
fn an_answer_that_makes_the_condition_false_makes_it_not_applicable() {
    let posture = World::new(Some(intake(serde_json::json!({"hiring_in_city": false})))).posture();
    for id in ["local.audit", "local.notice"] {
        assert!(
            matches!(&state(&posture, id).state, State::NotApplicable { why } if why.contains("condition")),
            "{id}: {:?}",
            state(&posture, id)
        );
    }
}

#[test]
fn a_bias_audit_counts_when_independent_of_this_version_and_young_enough() {
    let mut world = World::new(Some(intake(serde_json::json!({"hiring_in_city": true}))));
    world.audits = vec![
        audit("2.0.0", now() - TimeDelta::days(100), false),
        audit("1.0.0", now() - TimeDelta::days(10), true),
    ];
    let posture = world.posture();
    assert!(
        matches!(&state(&posture, "local.audit").state, State::Unmet { missing } if missing[0].contains("independent")),
        "neither another version's audit nor a dependent auditor's counts"
    );
    // Claimed independent, but neither the auditor's account nor an
    // officer's confirmation grounds it: still unmet.
    let mut claimed = audit("2.0.0", now() - TimeDelta::days(100), true);
    claimed.independence = None;
    world.audits.push(claimed);
    assert!(matches!(
        state(&world.posture(), "local.audit").state,
        State::Unmet { .. }
    ));

    world
        .audits
        .push(audit("2.0.0", now() - TimeDelta::days(100), true));
    let posture = world.posture();
    let met = state(&posture, "local.audit");
    assert_eq!(met.state, State::Met);
    assert_eq!(met.evidence[0].id, "aud-2.0.0-true");

    world.audits = vec![audit("2.0.0", now() - TimeDelta::days(350), true)];
    let posture = world.posture();
    assert!(
        matches!(state(&posture, "local.audit").state, State::Expiring { on } if on - now() == TimeDelta::days(15)),
        "expires 365 days after it was tested"
    );

    world.audits = vec![audit("2.0.0", now() - TimeDelta::days(400), true)];
    assert!(matches!(
        state(&world.posture(), "local.audit").state,
        State::Unmet { .. }
    ));
}

#[test]
fn a_confirmation_counts_by_the_named_role_until_its_date() {
    let mut world = World::new(Some(intake(serde_json::json!({"hiring_in_city": true}))));
    world.confirmations = vec![confirmation(now() + TimeDelta::days(90), Role::DataSteward)];
    assert!(
        matches!(&state(&world.posture(), "local.notice").state, State::Unmet { missing } if missing[0].contains("compliance officer")),
        "another role's confirmation does not count"
    );
    world.confirmations = vec![confirmation(
        now() + TimeDelta::days(90),
        Role::ComplianceOfficer,
    )];
    let posture = world.posture();
    assert_eq!(state(&posture, "local.notice").state, State::Met);
    assert!(
        state(&posture, "local.notice").evidence[0]
            .what
            .contains("https://example.org/notice")
    );
    world.confirmations = vec![confirmation(
        now() + TimeDelta::days(10),
        Role::ComplianceOfficer,
    )];
    assert!(matches!(
        state(&world.posture(), "local.notice").state,
        State::Expiring { .. }
    ));
    world.confirmations = vec![confirmation(
        now() - TimeDelta::days(1),
        Role::ComplianceOfficer,
    )];
    assert!(matches!(
        state(&world.posture(), "local.notice").state,
        State::Unmet { .. }
    ));
}

#[test]
fn a_duty_before_its_date_is_not_yet_in_effect_and_says_what_it_will_need() {
    let world = World::new(Some(intake(serde_json::json!({"areas": ["credit"]}))));
    let posture = world.posture();
    assert!(
        matches!(&state(&posture, "local.future").state, State::NotYetInEffect { from, missing }
            if from.to_string() == "2030-01-01" && missing[0].contains("areas = employment")),
        "{:?}",
        state(&posture, "local.future")
    );
    assert_eq!(
        posture
            .unmet()
            .filter(|o| o.obligation == "local.future")
            .count(),
        0,
        "gates nothing"
    );
    let world = World::new(Some(intake(
        serde_json::json!({"areas": ["credit", "employment"]}),
    )));
    assert!(
        matches!(&state(&world.posture(), "local.future").state, State::NotYetInEffect { missing, .. } if missing.is_empty())
    );
}

#[test]
fn whom_a_duty_binds_follows_the_organisations_role_for_the_agent() {
    let posture = World::new(None).posture();
    assert!(
        matches!(&state(&posture, "local.provider").state, State::NotApplicable { why } if why.contains("provider")),
        "a deployer by default"
    );
    let posture = World::new(Some(intake(
        serde_json::json!({"organisation_role": "provider"}),
    )))
    .posture();
    assert!(matches!(
        state(&posture, "local.provider").state,
        State::Unmet { .. }
    ));
    assert!(
        matches!(
            state(&posture, "standard.oversight").state,
            State::NotApplicable { .. }
        ),
        "a deployer's duty does not bind a provider"
    );
}

#[test]
fn approvals_and_reviews_of_the_version_meet_duties_and_a_crosswalk_counts_once() {
    let mut world = World::new(Some(intake(serde_json::json!({"hiring_in_city": true}))));
    let mut workflow = Workflow::open(
        "wf-1".into(),
        "dep-1".into(),
        "agt-1".into(),
        "hr".into(),
        "r@example.com".into(),
        &[Role::TechnicalLead],
        now() - TimeDelta::days(3),
    );
    workflow.steps[0].status = StepStatus::Approved;
    workflow.steps[0].approver_email = Some("lead@example.com".into());
    workflow.status = WorkflowStatus::Approved;
    world.workflows = vec![workflow];
    let posture = world.posture();
    let oversight = state(&posture, "standard.oversight");
    assert!(
        matches!(&oversight.state, State::Unmet { missing } if missing == &["a submitted ethics review"]),
        "the approval counts; the review is missing: {oversight:?}"
    );
    assert_eq!(oversight.evidence[0].id, "wf-1");

    // The local audit duty is met; the standard's fairness control, which
    // it crosswalks to, is met through it and counted with it.
    world.audits = vec![audit("2.0.0", now() - TimeDelta::days(30), true)];
    let posture = world.posture();
    let fairness = state(&posture, "standard.fairness");
    assert_eq!(fairness.state, State::Met);
    assert_eq!(fairness.via.as_deref(), Some("local.audit"));
    assert!(
        fairness.evidence.is_empty(),
        "the evidence is shown once, on local.audit"
    );
    let counts = posture.counts();
    assert_eq!(counts.met, 2, "{counts:?}");
    assert_eq!(
        counts.duties,
        counts.met + counts.unmet + counts.expiring + counts.not_yet_in_effect - 1
    );
}

#[test]
fn a_crosswalk_runs_one_way_a_looser_control_never_meets_the_duty_naming_it() {
    // The standard's fairness control is met by an ethics review to come;
    // the local audit duty names it in its crosswalk, but needs an
    // independent audit: it stays unmet.
    let world = World::new(Some(intake(serde_json::json!({"hiring_in_city": true}))));
    let posture = posture(
        &set(),
        &Record {
            agent: &world.agent,
            intake: world.intake.as_ref(),
            workflows: &[],
            reviews: &[],
            audits: &[],
            confirmations: &[],
            incidents: &[],
            pending_roles: &[Role::EthicsReviewer],
        },
        now(),
    );
    assert!(state(&posture, "standard.fairness").state.is_met());
    let audit_duty = state(&posture, "local.audit");
    assert!(
        matches!(audit_duty.state, State::Unmet { .. }) && audit_duty.via.is_none(),
        "{audit_duty:?}"
    );
}

#[test]
fn sets_with_frameworks_are_checked_where_each_problem_is() {
    let bad = [
        (
            FRAMEWORKS.replace(
                "when = \"intake.hiring_in_city\"",
                "when = \"intake.colour\"",
            ),
            "reads intake.colour",
        ),
        (
            FRAMEWORKS.replace("question = \"areas\"", "question = \"region\""),
            "not in the set's intake",
        ),
        (
            FRAMEWORKS.replace("equals = [\"employment\"]", "equals = [\"housing\"]"),
            "not one of areas's options",
        ),
        (
            FRAMEWORKS.replace("id = \"local.notice\"", "id = \"other.notice\""),
            "id must be \"local.\"",
        ),
        (
            FRAMEWORKS.replace("id = \"local.notice\"", "id = \"local.audit\""),
            "another obligation",
        ),
        (
            FRAMEWORKS.replace("role = \"compliance_officer\"", "role = \"auditor\""),
            "auditor",
        ),
        (
            FRAMEWORKS.replace("max_age = \"365d\"", "max_age = \"a year\""),
            "max_age",
        ),
        (
            FRAMEWORKS.replace(
                "when = \"intake.hiring_in_city\"",
                "when = \"intake.hiring_in_city + 1\"",
            ),
            "local.notice",
        ),
    ];
    for (text, says) in bad {
        let err = set_with(&text).expect_err(says).to_string();
        assert!(err.contains(says), "{says}: {err}");
    }
    let reads_unasked = FRAMEWORKS.to_owned()
        + "\n[[policy]]\npolicy_id = \"x\"\nname = \"x\"\ndescription = \"x\"\naction = \"block\"\ncondition = \"intake.region\"\n";
    let err = set_with(&reads_unasked).expect_err("policies").to_string();
    assert!(
        err.contains("policy x") && err.contains("intake.region"),
        "{err}"
    );
}

#[test]
fn the_gate_holds_unmet_duties_and_counts_the_sign_offs_a_request_seeks() {
    use crate::domain::policy::evaluation::{Facts, evaluate_agent};
    use gate::{INTAKE_RULE, OBLIGATIONS_RULE, judge_request};
    let set = set_with(&(FRAMEWORKS.to_owned() + "\n[obligations]\ngate = \"block\"\n"))
        .expect("a gated set");
    let tools = std::collections::BTreeSet::new();
    let facts = Facts {
        latest_audit: None,
        latest_audit_of_agent: None,
        now: now(),
        approved_tools: &tools,
        reference_agents: &[],
        intake: None,
        exceptions: &[],
    };
    let judged = |world: &World, pending: &[Role]| {
        let mut evaluation = evaluate_agent(world.agent.clone(), Vec::new(), &[], &set, &facts);
        judge_request(
            &set,
            &mut evaluation,
            &Record {
                agent: &world.agent,
                intake: world.intake.as_ref(),
                workflows: &world.workflows,
                reviews: &world.reviews,
                audits: &world.audits,
                confirmations: &world.confirmations,
                incidents: &[],
                pending_roles: pending,
            },
            now(),
        );
        evaluation
    };
    let rules = |evaluation: &crate::domain::policy::evaluation::Evaluation| -> Vec<String> {
        evaluation
            .triggered_policies
            .iter()
            .filter(|policy| policy.blocking)
            .map(|policy| policy.policy_id.clone())
            .filter(|id| id == INTAKE_RULE || id == OBLIGATIONS_RULE)
            .collect()
    };
    let evaluation = judged(&World::new(None), &[]);
    assert_eq!(evaluation.status, crate::domain::DeploymentStatus::Blocked);
    assert_eq!(rules(&evaluation), [INTAKE_RULE, OBLIGATIONS_RULE]);

    // Answered so the local duties do not apply: what is left is met by
    // the sign-offs this request seeks.
    let world = World::new(Some(intake(serde_json::json!({"hiring_in_city": false}))));
    assert_eq!(rules(&judged(&world, &[])), [OBLIGATIONS_RULE]);
    assert!(
        rules(&judged(
            &world,
            &[Role::TechnicalLead, Role::EthicsReviewer]
        ))
        .is_empty(),
        "a technical lead's approval and an ethics review are what the request asks for"
    );
}

#[test]
fn a_plan_names_the_frameworks_adopted_dropped_and_changed() {
    use crate::domain::policy::plan::diff;
    let before = set_with("").expect("the built-in set");
    let after = set();
    let adopted = diff(&before, &after);
    assert!(
        adopted
            .other
            .contains(&"adopts framework local (4 obligations)".to_owned()),
        "{:?}",
        adopted.other
    );
    assert!(adopted.other.contains(&"intake questions".to_owned()));
    let edited = set_with(
        &FRAMEWORKS
            .replace(
                "title = \"Notice to candidates\"",
                "title = \"Notice to every candidate\"",
            )
            .replace("id = \"local.future\"", "id = \"local.later\""),
    )
    .expect("edited");
    let changes = diff(&after, &edited).other;
    assert!(
        changes.contains(&"framework local adds local.later".to_owned()),
        "{changes:?}"
    );
    assert!(changes.contains(&"framework local removes local.future".to_owned()));
    assert!(changes.contains(&"framework local changes local.notice".to_owned()));
    assert!(
        diff(&after, &before)
            .other
            .contains(&"drops framework standard".to_owned())
    );
}

#[test]
fn intake_answers_are_facts_for_policies_and_floors() {
    use crate::domain::policy::evaluation::{Facts, effective_agent, evaluate_agent};
    let set = set_with(
        &(FRAMEWORKS.to_owned()
            + r#"
[[minimum_risk]]
condition = 'has(intake.areas) && "employment" in intake.areas'
tier = "high"
reason = "agents that decide about employment"

[[policy]]
policy_id = "city_hiring"
name = "City hiring tools need a compliance officer"
description = "Hiring tools used in the city."
action = "require_approval"
approval_chain = ["compliance_officer"]
condition = "intake.hiring_in_city"
"#),
    )
    .expect("a set whose policy and floor read the intake");
    let tools = std::collections::BTreeSet::new();
    let mut agent = agent();
    agent.risk_tier = RiskTier::Low;
    agent.category = Category::CustomerService;
    let manifest = crate::domain::Manifest {
        agent: agent.clone(),
        ..crate::domain::Manifest::from_json(
            r#"{"agent_id":"agt-1","name":"Screener","team":"People","owner":"o@example.com","category":"customer_service","data_classification":"internal","has_external_tools":false,"risk_tier":"low","version":"2.0.0"}"#,
        )
        .expect("manifest")
    };
    let answers: Answers = serde_json::from_value(
        serde_json::json!({"areas": ["employment"], "hiring_in_city": true}),
    )
    .expect("answers");
    let (raised, _) = effective_agent(&manifest, &set, &tools, Some(&answers));
    assert_eq!(
        raised.risk_tier,
        RiskTier::High,
        "the floor reads the intake"
    );
    let (kept, _) = effective_agent(&manifest, &set, &tools, None);
    assert_eq!(
        kept.risk_tier,
        RiskTier::Low,
        "without the answer no floor holds"
    );

    let facts = |intake| Facts {
        latest_audit: None,
        latest_audit_of_agent: None,
        now: now(),
        approved_tools: &tools,
        reference_agents: &[],
        intake,
        exceptions: &[],
    };
    let city = |evaluation: &crate::domain::policy::evaluation::Evaluation| {
        evaluation
            .triggered_policies
            .iter()
            .find(|policy| policy.policy_id == "city_hiring")
            .cloned()
    };
    let answered = evaluate_agent(agent.clone(), Vec::new(), &[], &set, &facts(Some(&answers)));
    let fired = city(&answered).expect("the policy reads the intake and fires");
    assert!(!fired.blocking);
    assert!(
        answered
            .workflows
            .iter()
            .any(|workflow| workflow.policy_id == "city_hiring")
    );
    let unanswered = evaluate_agent(agent, Vec::new(), &[], &set, &facts(None));
    let failed = city(&unanswered).expect("unanswered, it fails closed");
    assert!(failed.blocking);
    assert!(
        failed
            .remediation
            .contains("answer the intake (hiring_in_city)")
            && failed
                .remediation
                .contains("gavel intake fill agt-1 --version 2.0.0"),
        "{}",
        failed.remediation
    );
}

#[test]
fn a_plan_warns_when_a_blocking_gate_waits_for_a_sign_off_only_a_workflow_gives() {
    use crate::domain::policy::frameworks::gate_traps;
    use crate::domain::policy::plan::Impact;
    let open = set();
    assert!(
        gate_traps(&open.file.frameworks, &open.file.obligations).is_empty(),
        "no gate, no trap"
    );
    let gated =
        set_with(&(FRAMEWORKS.to_owned() + "\n[obligations]\ngate = \"block\"\n")).expect("gated");
    let traps = gate_traps(&gated.file.frameworks, &gated.file.obligations);
    let ids: Vec<&str> = traps.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "local.provider",
            "standard.fairness",
            "standard.oversight",
            "standard.oversight"
        ]
    );
    let lines = Impact {
        gate_traps: traps,
        ..Impact::default()
    }
    .lines();
    assert!(
        lines.iter().any(|line| line
            .contains("obligation standard.fairness asks for a submitted ethics review")
            && line.contains("require_approval")),
        "{lines:?}"
    );
}
