//! Obligations on every backend: a set adopting a small framework, an
//! intake filled and submitted by who may, confirmations by the role named,
//! and the posture judged from the record (conformance suite part).

use gavel::backend::BackendError;
use gavel::domain::obligations::{IntakeSave, IntakeStatus, NewConfirmation, State};
use gavel::domain::policy::plan::Change;

use super::conformance::Fixture;
use super::*;

/// A framework with a duty every deployer has, one the intake decides, one
/// not in force yet, and an intake of one question.
pub const FRAMEWORK: &str = r#"
[intake]
required = false
template_id = "intake_test_v1"
name = "Intake"

[[intake.questions]]
id = "public_facing"
prompt = "Does it talk to the public?"
kind = "yes_no"
required = true

[[framework]]
id = "obl"
name = "A test framework"
version = "1"
date = 2024-01-01
source = "https://example.org/framework"

[[framework.obligation]]
id = "obl.notice"
title = "People are told they talk to an AI"
citation = "Art. 1"
summary = "A notice says so."
binds = ["deployer"]
applies_from = 2020-01-01
when = "intake.public_facing"

[[framework.obligation.evidence]]
kind = "confirmation"
role = "compliance_officer"
what = "a notice shown before the conversation"

[[framework.obligation]]
id = "obl.review"
title = "An ethics review"
citation = "Art. 2"
summary = "Someone reviewed it."
binds = ["deployer"]
applies_from = 2020-01-01

[[framework.obligation.evidence]]
kind = "ethics_review"

[[framework.obligation]]
id = "obl.later"
title = "A later duty"
citation = "Art. 3"
summary = "Not yet."
binds = ["deployer"]
applies_from = 2099-01-01

[[framework.obligation.evidence]]
kind = "intake"
question = "public_facing"
"#;

fn state_of<'a>(posture: &'a gavel::domain::obligations::Posture, id: &str) -> &'a State {
    &posture
        .obligations
        .iter()
        .find(|obligation| obligation.obligation == id)
        .unwrap_or_else(|| panic!("{id} in {posture:?}"))
        .state
}

fn answers(public_facing: bool) -> gavel::domain::Answers {
    [(
        "public_facing".to_owned(),
        serde_json::Value::Bool(public_facing),
    )]
    .into_iter()
    .collect()
}

pub async fn obligations_are_judged_from_the_record(fixture: &impl Fixture) {
    let admin = fixture.backend_as(ADMIN);
    let active = admin.policy_set(None).await.expect("active set").source;
    let adopting = format!("{active}\n{FRAMEWORK}");
    let plan = admin.plan_policy_set(&adopting).await.expect("plan");
    assert_eq!(
        plan.impact
            .obligations
            .get("obl.review")
            .map_or(0, |shift| shift.applies),
        plan.impact.agents,
        "a duty of every deployer comes to apply to every agent: {:?}",
        plan.impact
    );
    let proposed = admin
        .propose_policy_set(&adopting)
        .await
        .expect("propose a set adopting the framework");
    fixture
        .backend_as(ADMIN2)
        .decide_policy_set(proposed.version.version, true, Some("adopt"))
        .await
        .expect("the second admin approves");

    let agent = "agt-obligations";
    let requester = fixture.backend_as(REQUESTER);
    requester
        .request_deployment(&manifest(agent))
        .await
        .expect("request");
    let compliance = fixture.backend_as(COMPLIANCE);
    let posture = compliance.obligations(agent, None).await.expect("posture");
    assert!(
        matches!(state_of(&posture, "obl.notice"), State::Unmet { missing } if missing[0].contains("public_facing")),
        "without an intake the duty the intake decides applies: {posture:?}"
    );
    assert!(matches!(
        state_of(&posture, "obl.review"),
        State::Unmet { .. }
    ));
    assert!(matches!(
        state_of(&posture, "obl.later"),
        State::NotYetInEffect { .. }
    ));

    // Who may fill it: not someone unrelated to the agent.
    let save = |submit: bool, public_facing: bool| IntakeSave {
        agent_id: agent.into(),
        agent_version: "1.0.0".into(),
        answers: answers(public_facing),
        submit,
    };
    let refused = fixture
        .backend_as(NOBODY)
        .save_intake(&save(true, true))
        .await
        .expect_err("a stranger fills no intake");
    assert!(matches!(refused, BackendError::Forbidden(_)), "{refused:?}");
    let draft = requester
        .save_intake(&save(false, true))
        .await
        .expect("draft");
    assert_eq!((draft.status, draft.version), (IntakeStatus::Draft, 1));
    assert_eq!(
        draft.filled_by, REQUESTER,
        "who fills it is who is signed in"
    );
    let seen = fixture
        .backend_as(NOBODY)
        .intake(agent, "1.0.0")
        .await
        .expect("read")
        .expect("a draft");
    assert!(
        seen.answers.is_empty() && seen.status == IntakeStatus::Draft,
        "a draft's answers are for who may fill it: {seen:?}"
    );
    let posture = compliance.obligations(agent, None).await.expect("posture");
    assert!(
        matches!(state_of(&posture, "obl.notice"), State::Unmet { missing } if missing[0].contains("public_facing")),
        "a draft classifies nothing"
    );
    let submitted = requester
        .save_intake(&save(true, true))
        .await
        .expect("submit");
    assert_eq!(submitted.status, IntakeStatus::Submitted);
    assert_eq!(
        requester
            .intake(agent, "1.0.0")
            .await
            .expect("read")
            .map(|intake| intake.answers),
        Some(answers(true))
    );
    let posture = compliance.obligations(agent, None).await.expect("posture");
    assert!(
        matches!(state_of(&posture, "obl.notice"), State::Unmet { missing } if missing[0].contains("compliance officer")),
        "{posture:?}"
    );

    // Confirmations: by the role named, with a link or a digest.
    let confirmation = |link: &str| NewConfirmation {
        obligation_id: "obl.notice".into(),
        agent_id: agent.into(),
        link: Some(link.into()),
        file_sha256: None,
        comment: "shown on the chat's first screen".into(),
        valid_until: chrono::Utc::now() + chrono::TimeDelta::days(200),
    };
    let refused = requester
        .confirm_obligation(&confirmation("https://example.org/notice"))
        .await
        .expect_err("the requester holds no compliance role");
    assert!(matches!(refused, BackendError::Forbidden(_)), "{refused:?}");
    let refused = compliance
        .confirm_obligation(&confirmation("javascript:alert(1)"))
        .await
        .expect_err("not a link");
    assert!(matches!(refused, BackendError::Invalid(_)), "{refused:?}");
    let confirmed = compliance
        .confirm_obligation(&confirmation("https://example.org/notice"))
        .await
        .expect("confirm");
    assert_eq!(confirmed.confirmed_by, COMPLIANCE);
    let posture = compliance.obligations(agent, None).await.expect("posture");
    assert_eq!(state_of(&posture, "obl.notice"), &State::Met);
    let notice = posture
        .obligations
        .iter()
        .find(|obligation| obligation.obligation == "obl.notice")
        .expect("notice");
    assert_eq!(notice.evidence[0].id, confirmed.confirmation_id);

    // An intake does not talk an agent out of a duty: answers that would
    // drop one wait for a data steward (the classification_change chain),
    // classifying nothing meanwhile.
    let proposed = requester
        .save_intake(&save(true, false))
        .await
        .expect("a change that drops a duty is proposed");
    let pending = proposed.pending.clone().expect("kept aside");
    assert!(
        pending.stops.iter().any(|stop| stop == "obl.notice"),
        "{pending:?}"
    );
    assert_eq!(
        proposed.answers,
        answers(true),
        "the earlier answers still classify"
    );
    let posture = compliance.obligations(agent, None).await.expect("posture");
    assert_eq!(state_of(&posture, "obl.notice"), &State::Met);
    let refused = requester
        .save_intake(&save(true, true))
        .await
        .expect_err("one change at a time");
    assert!(matches!(refused, BackendError::Conflict(_)), "{refused:?}");
    let decide = |approve: bool| gavel::domain::obligations::IntakeDecision {
        agent_id: agent.into(),
        agent_version: "1.0.0".into(),
        approve,
        comment: Some("checked".into()),
    };
    let refused = compliance
        .decide_intake_change(&decide(true))
        .await
        .expect_err("a compliance officer is not the classification_change chain");
    assert!(matches!(refused, BackendError::Forbidden(_)), "{refused:?}");
    let steward = fixture.backend_as(STEWARD);
    let rejected = steward
        .decide_intake_change(&decide(false))
        .await
        .expect("reject");
    assert_eq!(
        (rejected.pending.is_none(), rejected.answers.clone()),
        (true, answers(true))
    );
    requester
        .save_intake(&save(true, false))
        .await
        .expect("proposed again");
    let approved = steward
        .decide_intake_change(&decide(true))
        .await
        .expect("approve");
    assert_eq!(approved.answers, answers(false));
    assert_eq!(
        approved.filled_by, REQUESTER,
        "the answers are the proposer's"
    );
    let posture = compliance.obligations(agent, None).await.expect("posture");
    assert!(
        matches!(
            state_of(&posture, "obl.notice"),
            State::NotApplicable { .. }
        ),
        "{posture:?}"
    );
    let missing = compliance
        .obligations(agent, Some("9.9.9"))
        .await
        .expect_err("no such version");
    assert!(
        matches!(missing, BackendError::NotFound { .. }),
        "{missing:?}"
    );

    // Every agent's posture, a page at a time: this one has duties unmet.
    let mut after = None;
    let mut found = None;
    for _ in 0..100 {
        let page = compliance
            .postures(&gavel::domain::obligations::PostureQuery {
                after: after.clone(),
                limit: 7,
                unmet: true,
            })
            .await
            .expect("a page of postures");
        assert!(page.items.len() <= 7);
        assert!(page.items.iter().all(|item| !item.unmet.is_empty()));
        found = found.or(page.items.into_iter().find(|item| item.agent_id == agent));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let found = found.expect("the agent with unmet duties is listed");
    assert_eq!(found.unmet, ["obl.review"], "{found:?}");

    gates_hold_deployments(fixture).await;

    let replay = compliance
        .verify_trail()
        .await
        .expect("verify")
        .replay
        .expect("replayed");
    assert_eq!(replay.mismatch, None);
    assert!(
        replay.intakes >= 1 && replay.confirmations >= 1,
        "{replay:?}"
    );
}

/// With the intake required and the gate asking for a sign-off: a version
/// without its intake is blocked saying how to answer it; answered, its
/// unmet obligations open a compliance officer's workflow.
async fn gates_hold_deployments(fixture: &impl Fixture) {
    let admin = fixture.backend_as(ADMIN);
    let active = admin.policy_set(None).await.expect("active set").source;
    let gated = active.replace("required = false", "required = true")
        + "\n[obligations]\ngate = \"require_approval\"\napproval_chain = [\"compliance_officer\"]\n"
        + PUBLIC_POLICY;
    // The plan judges each agent with its own intake and evidence:
    // agt-obligations answered "not public-facing" and has its notice
    // confirmed, so only its unreviewed duty asks for the sign-off, and
    // the policy reading the intake neither fires nor fails on it.
    let plan = admin.plan_policy_set(&gated).await.expect("plan the gate");
    let listed = |change: Change| {
        plan.impact
            .changes
            .get(&change)
            .map(|affected| affected.listed.clone())
            .unwrap_or_default()
    };
    assert!(
        listed(Change::NewlyNeedApproval).contains(&"agt-obligations".to_owned()),
        "{:?}",
        plan.impact
    );
    assert!(
        !listed(Change::BecomeBlocked).contains(&"agt-obligations".to_owned()),
        "answered, it is not held for its intake: {:?}",
        plan.impact
    );
    // The same framework applies alike (a request the set now blocks seeks
    // no sign-off, so a review it would have brought may become unmet).
    assert!(
        plan.impact
            .obligations
            .values()
            .all(|shift| shift.applies == 0 && shift.stops == 0),
        "{:?}",
        plan.impact.obligations
    );
    let proposed = admin
        .propose_policy_set(&gated)
        .await
        .expect("propose the gate");
    fixture
        .backend_as(ADMIN2)
        .decide_policy_set(proposed.version.version, true, Some("gate"))
        .await
        .expect("approve the gate");

    let agent = "agt-gated";
    let requester = fixture.backend_as(REQUESTER);
    let first = requester
        .request_deployment(&manifest(agent))
        .await
        .expect("request");
    assert_eq!(first.status, gavel::domain::DeploymentStatus::Blocked);
    assert!(
        first
            .remediation
            .iter()
            .any(|text| text.contains("gavel intake fill agt-gated --version 1.0.0")),
        "{:?}",
        first.remediation
    );
    requester
        .save_intake(&IntakeSave {
            agent_id: agent.into(),
            agent_version: "1.0.0".into(),
            answers: answers(true),
            submit: true,
        })
        .await
        .expect("answer the intake");
    let second = requester
        .request_deployment(&manifest(agent))
        .await
        .expect("request again");
    assert_eq!(
        second.status,
        gavel::domain::DeploymentStatus::PendingApproval,
        "{second:?}"
    );
    let gate = second
        .triggered_policies
        .iter()
        .find(|policy| policy.policy_id == "obligations_unmet")
        .expect("the gate fired");
    assert!(
        gate.reason.contains("obl.notice") && gate.reason.contains("obl.review"),
        "{gate:?}"
    );
    let workflow = requester
        .workflow(second.workflow_ids.last().expect("a workflow"))
        .await
        .expect("workflow");
    assert_eq!(workflow.triggered_by_policy, "obligations_unmet");
    assert_eq!(
        workflow.steps[0].role,
        gavel::domain::Role::ComplianceOfficer
    );

    // The policy reading the intake failed closed before it was answered,
    // saying which question; answered, it asks for its sign-off.
    let failed = first
        .triggered_policies
        .iter()
        .find(|policy| policy.policy_id == "public_facing_review")
        .expect("the policy reading the intake, before it was answered");
    assert!(
        failed.blocking
            && failed
                .remediation
                .contains("answer the intake (public_facing)"),
        "{failed:?}"
    );
    let fired = second
        .triggered_policies
        .iter()
        .find(|policy| policy.policy_id == "public_facing_review")
        .expect("the policy reading the intake");
    assert!(!fired.blocking, "{fired:?}");
    let mut policies: Vec<String> = Vec::new();
    for id in &second.workflow_ids {
        policies.push(
            requester
                .workflow(id)
                .await
                .expect("workflow")
                .triggered_by_policy,
        );
    }
    assert!(
        policies.contains(&"public_facing_review".to_owned()),
        "{policies:?}"
    );
}

/// A policy that reads the intake.
const PUBLIC_POLICY: &str = r#"
[[policy]]
policy_id = "public_facing_review"
name = "Public-facing agents need a data steward"
description = "Agents that talk to the public."
action = "require_approval"
approval_chain = ["data_steward"]
condition = "intake.public_facing"
"#;

/// An audit's auditor counts as independent only when grounded: a claim by
/// its importer is confirmed by a compliance officer who did not record
/// it, naming the auditor, once; the confirmation reaches every reader.
pub async fn independence_is_confirmed_not_claimed(fixture: &impl Fixture) {
    use gavel::domain::bias::{
        AuditData, AuditSource, AuditSubmission, GroupCounts, Independence,
        IndependenceConfirmation,
    };
    let agent = "agt-independence";
    fixture
        .backend_as(REQUESTER)
        .request_deployment(&manifest(agent))
        .await
        .expect("request");
    let group = |name: &str, positive: u64| GroupCounts {
        group: name.into(),
        positive,
        total: 100,
    };
    let ml = fixture.backend_as(ML);
    let audit = ml
        .record_audit(&AuditSubmission {
            agent_id: agent.into(),
            agent_version: "1.0.0".into(),
            tested_at: None,
            groups: vec![group("women", 48), group("men", 50)],
            attributes: Vec::new(),
            mode: Default::default(),
            source: Some(AuditSource {
                auditor: "Audit Co".into(),
                independent: true,
                data: AuditData::Historical,
                reference: None,
                file_sha256: None,
            }),
            threshold: None,
        })
        .await
        .expect("an ML engineer records the auditor's figures");
    assert_eq!(audit.independence, None, "a claim is not independence");
    assert!(!audit.is_independent());

    let confirm = |auditor: &str| IndependenceConfirmation {
        audit_id: audit.audit_id.clone(),
        auditor: auditor.into(),
        comment: "engagement letter on file".into(),
    };
    let compliance = fixture.backend_as(COMPLIANCE);
    let refused = ml
        .confirm_audit_independence(&confirm("Audit Co"))
        .await
        .expect_err("not a compliance officer");
    assert!(matches!(refused, BackendError::Forbidden(_)), "{refused:?}");
    let refused = compliance
        .confirm_audit_independence(&confirm("Another Co"))
        .await
        .expect_err("the auditor named differs");
    assert!(matches!(refused, BackendError::Invalid(_)), "{refused:?}");
    let confirmed = compliance
        .confirm_audit_independence(&confirm("audit co"))
        .await
        .expect("a compliance officer confirms");
    assert!(
        matches!(&confirmed.independence, Some(Independence::Confirmed { by, .. }) if by == COMPLIANCE),
        "{:?}",
        confirmed.independence
    );
    let again = compliance
        .confirm_audit_independence(&confirm("Audit Co"))
        .await
        .expect_err("once");
    assert!(matches!(again, BackendError::Conflict(_)), "{again:?}");
    let read = fixture
        .backend_as(REQUESTER)
        .audits(agent)
        .await
        .expect("audits");
    assert!(
        read.iter()
            .any(|audit| audit.audit_id == confirmed.audit_id && audit.is_independent()),
        "every reader sees the confirmation"
    );
}

/// The shipped intake's answers for a hiring screen we deploy in New York
/// City and in the EU (an Annex III employment use, at the workplace).
pub fn hiring_in_new_york_and_the_eu() -> serde_json::Value {
    serde_json::json!({
        "organisation_role": "deployer",
        "eu_use": true,
        "annex_iii_area": "employment",
        "credit_or_insurance_pricing": false,
        "public_service": false,
        "decides_about_people": true,
        "used_at_workplace": true,
        "interacts_with_people": false,
        "emotion_or_biometric_categorisation": false,
        "generates_deep_fakes": false,
        "prohibited_practices": "none_apply",
        "nyc_aedt": true,
        "colorado_consequential": false,
    })
}
