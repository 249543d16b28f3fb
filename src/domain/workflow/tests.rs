//! The workflow state machine and decisions on its steps.

#[test]
fn a_claimed_decision_time_lies_between_the_version_and_its_receipt() {
    let version = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    let received = Utc.with_ymd_and_hms(2026, 11, 2, 17, 0, 0).unwrap();
    let minutes = chrono::TimeDelta::minutes;
    assert_eq!(decision_time(None, version, received), Ok(received));
    let lunch = version + chrono::TimeDelta::hours(3);
    assert_eq!(decision_time(Some(lunch), version, received), Ok(lunch));
    // A clock a little off is brought into range...
    assert_eq!(
        decision_time(Some(received + minutes(4)), version, received),
        Ok(received)
    );
    assert_eq!(
        decision_time(Some(version - minutes(4)), version, received),
        Ok(version)
    );
    // ...further off is refused.
    for claimed in [received + minutes(6), version - minutes(6)] {
        let refused = decision_time(Some(claimed), version, received).unwrap_err();
        assert_eq!(refused.claimed, claimed);
        assert!(refused.to_string().contains("decision_at"));
    }
}

#[test]
fn the_next_step_waits_from_receipt_and_both_times_show_when_apart() {
    let wf = workflow(&[Role::TechnicalLead, Role::DataSteward]);
    let made = at(3);
    let received = made + chrono::TimeDelta::hours(2);
    let mut request = request(1, Verdict::Approve, 1);
    request.decided_at = made;
    request.received_at = received;
    let next = wf
        .decide(
            &Decider::person("lead@example.com", &[Role::TechnicalLead]),
            &request,
        )
        .unwrap();
    assert_eq!(next.steps[0].decision_at, Some(made));
    assert_eq!(next.steps[0].received_at, Some(received));
    assert_eq!(next.waiting_since(), received);
    assert_eq!(next.steps[0].received_later(), Some(received));
    let mut moments_apart = next.steps[0].clone();
    moments_apart.received_at = Some(made + chrono::TimeDelta::seconds(2));
    assert_eq!(moments_apart.received_later(), None);
}

use super::*;
use crate::domain::decision::*;
use chrono::TimeZone;

const REQUESTER: &str = "req@example.com";

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap()
}

fn workflow(chain: &[Role]) -> Workflow {
    Workflow::open(
        "wf-1".into(),
        "dep-1".into(),
        "agt-1".into(),
        "hr_bias_audit".into(),
        REQUESTER.into(),
        chain,
        at(0),
    )
}

fn bias_chain() -> Workflow {
    workflow(&[
        Role::MlEngineer,
        Role::EthicsReviewer,
        Role::ComplianceOfficer,
    ])
}

fn request(step_id: u32, verdict: Verdict, version: i64) -> DecisionRequest<'static> {
    DecisionRequest {
        step_id,
        verdict,
        comment: None,
        expected_version: version,
        review: Some(ReviewFacts {
            reviewer: "eth@example.com",
            submitted: true,
        }),
        decided_at: at(step_id + 1),
        received_at: at(step_id + 1),
    }
}

fn approve(wf: &Workflow, email: &str, role: Role) -> Result<Workflow, DecisionError> {
    let step = wf.current_step().map_or(1, |step| step.step_id);
    wf.decide(
        &Decider::person(email, &[role]),
        &request(step, Verdict::Approve, wf.version),
    )
}

#[test]
fn a_new_workflow_waits_on_its_first_step() {
    let wf = bias_chain();
    assert_eq!(wf.status, WorkflowStatus::InProgress);
    assert_eq!(wf.current_step().unwrap().role, Role::MlEngineer);
    assert_eq!(wf.version, 1);
    assert_eq!(
        wf.steps.iter().map(|s| s.step_id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn approvals_move_through_the_chain_and_the_last_approves() {
    let wf = bias_chain();
    let wf = approve(&wf, "ml@example.com", Role::MlEngineer).unwrap();
    assert_eq!(wf.current_step().unwrap().role, Role::EthicsReviewer);
    assert_eq!(wf.version, 2);
    assert_eq!(wf.waiting_since(), at(2));
    let wf = approve(&wf, "eth@example.com", Role::EthicsReviewer).unwrap();
    let wf = approve(&wf, "co@example.com", Role::ComplianceOfficer).unwrap();
    assert_eq!(wf.status, WorkflowStatus::Approved);
    assert_eq!(wf.current_step(), None);
    assert_eq!(wf.version, 4);
    assert_eq!(
        wf.steps[2].approver_email.as_deref(),
        Some("co@example.com")
    );
}

#[test]
fn a_rejection_ends_the_workflow_and_skips_the_rest() {
    let wf = bias_chain();
    let decider = Decider::person("ml@example.com", &[Role::MlEngineer]);
    let mut reject = request(1, Verdict::Reject, 1);
    reject.comment = Some("  training data lacks consent  ");
    let wf = wf.decide(&decider, &reject).unwrap();
    assert_eq!(wf.status, WorkflowStatus::Rejected);
    assert_eq!(wf.steps[0].status, StepStatus::Rejected);
    assert_eq!(
        wf.steps[0].comment.as_deref(),
        Some("training data lacks consent")
    );
    assert!(
        wf.steps[1..]
            .iter()
            .all(|s| s.status == StepStatus::Skipped)
    );
}

#[test]
fn the_wrong_role_is_refused() {
    let err = approve(&bias_chain(), "x@example.com", Role::DataSteward).unwrap_err();
    assert_eq!(
        err,
        DecisionError::WrongRole {
            step_id: 1,
            required: Role::MlEngineer
        }
    );
    assert_eq!(err.rule(), "wrong_role");
}

#[test]
fn the_requester_may_not_decide_even_holding_the_role() {
    let err = approve(&bias_chain(), "REQ@example.com", Role::MlEngineer).unwrap_err();
    assert!(matches!(err, DecisionError::SeparationOfDuties { .. }));
    assert!(err.to_string().contains("separation of duties"));
}

#[test]
fn one_person_decides_at_most_one_step() {
    let wf = workflow(&[Role::TechnicalLead, Role::DataSteward]);
    let both = [Role::TechnicalLead, Role::DataSteward];
    let decider = Decider::person("both@example.com", &both);
    let wf = wf
        .decide(&decider, &request(1, Verdict::Approve, 1))
        .unwrap();
    let err = wf
        .decide(&decider, &request(2, Verdict::Approve, 2))
        .unwrap_err();
    assert_eq!(
        err,
        DecisionError::AlreadyDecidedAStep {
            email: "both@example.com".into(),
            step_id: 1
        }
    );
}

#[test]
fn a_rejection_needs_a_non_blank_comment() {
    let decider = Decider::person("ml@example.com", &[Role::MlEngineer]);
    let mut reject = request(1, Verdict::Reject, 1);
    assert_eq!(
        bias_chain().decide(&decider, &reject).unwrap_err(),
        DecisionError::EmptyRejectionComment
    );
    reject.comment = Some(" \n\t ");
    assert_eq!(
        bias_chain().decide(&decider, &reject).unwrap_err(),
        DecisionError::EmptyRejectionComment
    );
    // Zero-width and blank-rendering characters are not a reason.
    for invisible in [
        "\u{200B}\u{200B}",
        "\u{2060}\u{FEFF}",
        "\u{3164}",
        "\u{2800} \u{FFA0}",
        // Marks, variation selectors, private use, unassigned.
        "\u{FE0F}\u{034F}",
        "\u{E0100}",
        "\u{17B4}\u{17B5}",
        "\u{0301}\u{0301}\u{034F}",
        "\u{E000}",
        "\u{0378}",
    ] {
        reject.comment = Some(invisible);
        assert_eq!(
            bias_chain().decide(&decider, &reject).unwrap_err(),
            DecisionError::EmptyRejectionComment,
            "{invisible:?}"
        );
    }
}

#[test]
fn the_ethics_step_needs_a_submitted_review_to_be_approved() {
    let wf = approve(&bias_chain(), "ml@example.com", Role::MlEngineer).unwrap();
    let decider = Decider::person("eth@example.com", &[Role::EthicsReviewer]);
    let drafted = Some(ReviewFacts {
        reviewer: "eth@example.com",
        submitted: false,
    });
    for review in [None, drafted] {
        let mut approve_ethics = request(2, Verdict::Approve, 2);
        approve_ethics.review = review;
        assert_eq!(
            wf.decide(&decider, &approve_ethics).unwrap_err(),
            DecisionError::EthicsReviewNotSubmitted
        );
        let mut reject = request(2, Verdict::Reject, 2);
        reject.review = review;
        reject.comment = Some("not reviewable as submitted");
        assert!(
            wf.decide(&decider, &reject).is_ok(),
            "rejecting needs no submitted review"
        );
    }
}

#[test]
fn a_decision_is_recorded_only_on_the_step_a_command_would_decide() {
    let first = approve(&bias_chain(), "ml@example.com", Role::MlEngineer).unwrap();
    assert_eq!(
        first.recorded_decision("ml@example.com", Verdict::Approve, None),
        None,
        "step 1 is decided; a command now means step 2"
    );
    let done = approve(&first, "eth@example.com", Role::EthicsReviewer).unwrap();
    let done = approve(&done, "co@example.com", Role::ComplianceOfficer).unwrap();
    assert_eq!(done.status, WorkflowStatus::Approved);
    assert_eq!(
        done.recorded_decision("CO@example.com", Verdict::Approve, None)
            .map(|step| step.step_id),
        Some(3),
        "the decision that closed the workflow"
    );
    assert_eq!(
        done.recorded_decision("co@example.com", Verdict::Reject, None),
        None
    );
    assert_eq!(
        done.recorded_decision("co@example.com", Verdict::Approve, Some("x@example.com")),
        None,
        "made for nobody, not for x"
    );
    let quorum = quorum_step();
    let one = quorum
        .decide(
            &Decider::person("a@example.com", &[Role::TechnicalLead]),
            &request(1, Verdict::Approve, quorum.version),
        )
        .unwrap();
    assert_eq!(
        one.recorded_decision("a@example.com", Verdict::Approve, None)
            .map(|step| step.step_id),
        Some(1),
        "one approval of a quorum step still waiting"
    );
}

#[test]
fn the_review_author_decides_the_ethics_step_and_no_other() {
    // Both people hold every reviewer role; the review is eth's.
    let roles = [
        Role::MlEngineer,
        Role::EthicsReviewer,
        Role::ComplianceOfficer,
    ];
    let eth = Decider::person("eth@example.com", &roles);
    let other = Decider::person("other@example.com", &roles);
    let wf = bias_chain();
    assert_eq!(
        wf.decide(&eth, &request(1, Verdict::Approve, 1))
            .unwrap_err(),
        DecisionError::AssignedTheReview {
            email: "eth@example.com".into(),
            step_id: 2
        },
        "the reviewer decides no step but the ethics step"
    );
    // Nor for someone else, under their delegation.
    let for_other = Decider {
        on_behalf_of: Some(Principal {
            email: "eth@example.com",
            roles: &roles,
        }),
        ..other.clone()
    };
    assert!(matches!(
        wf.decide(&for_other, &request(1, Verdict::Approve, 1)),
        Err(DecisionError::AssignedTheReview { .. })
    ));
    let wf = wf.decide(&other, &request(1, Verdict::Approve, 1)).unwrap();
    let third = Decider::person("third@example.com", &roles);
    for verdict in [Verdict::Approve, Verdict::Reject] {
        let mut decision = request(2, verdict, 2);
        decision.comment = Some("no");
        assert_eq!(
            wf.decide(&third, &decision).unwrap_err(),
            DecisionError::NotTheReviewer {
                reviewer: "eth@example.com".into(),
                step_id: 2
            },
            "{verdict:?} by someone other than the review's author"
        );
    }
    let wf = wf.decide(&eth, &request(2, Verdict::Approve, 2)).unwrap();
    assert_eq!(
        wf.steps[1].approver_email.as_deref(),
        Some("eth@example.com")
    );
    assert_eq!(
        wf.check_reviewer("other@example.com"),
        Err(DecisionError::AlreadyDecidedAStep {
            email: "other@example.com".into(),
            step_id: 1
        })
    );
    assert!(matches!(
        wf.check_reviewer(REQUESTER),
        Err(DecisionError::SeparationOfDuties { .. })
    ));
}

#[test]
fn only_the_current_step_can_be_decided() {
    let decider = Decider::person("co@example.com", &[Role::ComplianceOfficer]);
    assert_eq!(
        bias_chain()
            .decide(&decider, &request(3, Verdict::Approve, 1))
            .unwrap_err(),
        DecisionError::StepNotCurrent {
            step_id: 3,
            current: 1
        }
    );
    assert_eq!(
        bias_chain()
            .decide(&decider, &request(9, Verdict::Approve, 1))
            .unwrap_err(),
        DecisionError::UnknownStep { step_id: 9 }
    );
}

#[test]
fn a_closed_workflow_takes_no_decisions() {
    let wf = workflow(&[Role::TechnicalLead]);
    let wf = approve(&wf, "tl@example.com", Role::TechnicalLead).unwrap();
    let err = approve(&wf, "tl2@example.com", Role::TechnicalLead).unwrap_err();
    assert_eq!(
        err,
        DecisionError::WorkflowClosed {
            status: WorkflowStatus::Approved
        }
    );
}

#[test]
fn a_stale_version_is_refused_before_anything_else() {
    let decider = Decider::person("ml@example.com", &[Role::MlEngineer]);
    let err = bias_chain()
        .decide(&decider, &request(1, Verdict::Approve, 7))
        .unwrap_err();
    assert_eq!(
        err,
        DecisionError::StaleVersion {
            expected: 7,
            actual: 1
        }
    );
}

#[test]
fn withdrawing_skips_pending_steps_once() {
    let wf = approve(&bias_chain(), "ml@example.com", Role::MlEngineer).unwrap();
    let withdrawn = wf.withdraw().unwrap();
    assert_eq!(withdrawn.status, WorkflowStatus::Withdrawn);
    assert_eq!(withdrawn.steps[0].status, StepStatus::Approved);
    assert_eq!(withdrawn.steps[2].status, StepStatus::Skipped);
    assert_eq!(withdrawn.withdraw(), None);
}

#[test]
fn an_oversized_comment_is_refused_not_cut() {
    let decider = Decider::person("ml@example.com", &[Role::MlEngineer]);
    let long = "é".repeat(MAX_COMMENT_BYTES);
    let mut reject = request(1, Verdict::Reject, 1);
    reject.comment = Some(&long);
    assert!(matches!(
        bias_chain().decide(&decider, &reject).unwrap_err(),
        DecisionError::CommentTooLong { .. }
    ));
}

#[test]
fn refusals_serialise_with_their_rule() {
    let json = serde_json::to_value(DecisionError::EmptyRejectionComment).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "rule": "empty_rejection_comment" })
    );
}

fn quorum_step() -> Workflow {
    workflow(&[Role::TechnicalLead, Role::DataSteward]).with_rules(&[
        StepRules {
            quorum: 2,
            sla: None,
        },
        StepRules::default(),
    ])
}

#[test]
fn a_quorum_step_waits_for_enough_different_approvers() {
    let wf = quorum_step();
    let first = approve(&wf, "a@example.com", Role::TechnicalLead).unwrap();
    let step = &first.steps[0];
    assert_eq!(step.status, StepStatus::Pending);
    assert_eq!(step.approvals.len(), 1);
    assert_eq!(first.current_step().unwrap().step_id, 1);
    assert_eq!(
        first.waiting_since(),
        wf.waiting_since(),
        "still the same wait"
    );
    assert_eq!(
        approve(&first, "A@example.com", Role::TechnicalLead).unwrap_err(),
        DecisionError::AlreadyApproved {
            email: "A@example.com".into(),
            step_id: 1,
            quorum: 2
        }
    );
    let second = approve(&first, "b@example.com", Role::TechnicalLead).unwrap();
    assert_eq!(second.steps[0].status, StepStatus::Approved);
    assert_eq!(second.steps[0].approvals.len(), 2);
    assert_eq!(second.current_step().unwrap().step_id, 2);
    assert_eq!(second.steps[1].current_from_version, Some(second.version));
    // Neither approver may decide the next step.
    let both = [Role::TechnicalLead, Role::DataSteward];
    let err = second
        .decide(
            &Decider::person("a@example.com", &both),
            &request(2, Verdict::Approve, second.version),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        DecisionError::AlreadyDecidedAStep { step_id: 1, .. }
    ));
}

#[test]
fn one_rejection_rejects_a_quorum_step() {
    let first = approve(&quorum_step(), "a@example.com", Role::TechnicalLead).unwrap();
    let mut reject = request(1, Verdict::Reject, first.version);
    reject.comment = Some("not safe");
    let rejected = first
        .decide(
            &Decider::person("b@example.com", &[Role::TechnicalLead]),
            &reject,
        )
        .unwrap();
    assert_eq!(rejected.status, WorkflowStatus::Rejected);
    assert_eq!(rejected.steps[0].approvals.len(), 1);
    assert_eq!(
        rejected.steps[0].approver_email.as_deref(),
        Some("b@example.com")
    );
}

#[test]
fn an_approval_on_a_version_changed_only_by_other_approvals_of_its_step_applies() {
    let wf = quorum_step();
    let seen = wf.version;
    let first = approve(&wf, "a@example.com", Role::TechnicalLead).unwrap();
    // b decided on the version before a's approval.
    let second = first
        .decide(
            &Decider::person("b@example.com", &[Role::TechnicalLead]),
            &request(1, Verdict::Approve, seen),
        )
        .unwrap();
    assert_eq!(second.steps[0].status, StepStatus::Approved);
    // A decision on step 2 made before step 1 completed is stale.
    let third = workflow(&[Role::TechnicalLead, Role::DataSteward]);
    let moved = approve(&third, "a@example.com", Role::TechnicalLead).unwrap();
    assert!(matches!(
        moved
            .decide(
                &Decider::person("s@example.com", &[Role::DataSteward]),
                &request(2, Verdict::Approve, third.version),
            )
            .unwrap_err(),
        DecisionError::StaleVersion { .. }
    ));
}

#[test]
fn a_decision_for_someone_counts_as_both_people() {
    let wf = workflow(&[Role::TechnicalLead, Role::DataSteward]);
    let lead = [Role::TechnicalLead];
    let both = [Role::TechnicalLead, Role::DataSteward];
    let for_ana = Decider {
        email: "sam@example.com",
        roles: &both,
        on_behalf_of: Some(Principal {
            email: "ana@example.com",
            roles: &both,
        }),
    };
    let decided = wf
        .decide(&for_ana, &request(1, Verdict::Approve, 1))
        .unwrap();
    assert_eq!(
        decided.steps[0].approver_email.as_deref(),
        Some("sam@example.com")
    );
    assert_eq!(
        decided.steps[0].on_behalf_of.as_deref(),
        Some("ana@example.com")
    );
    for (email, roles) in [("ana@example.com", &both), ("sam@example.com", &both)] {
        let err = decided
            .decide(
                &Decider::person(email, roles),
                &request(2, Verdict::Approve, decided.version),
            )
            .unwrap_err();
        assert!(
            matches!(err, DecisionError::AlreadyDecidedAStep { step_id: 1, .. }),
            "{email}: {err:?}"
        );
    }
    // Nobody decides for the requester, and the requester decides for nobody.
    let for_requester = Decider {
        email: "sam@example.com",
        roles: &lead,
        on_behalf_of: Some(Principal {
            email: REQUESTER,
            roles: &lead,
        }),
    };
    assert!(matches!(
        wf.decide(&for_requester, &request(1, Verdict::Approve, 1))
            .unwrap_err(),
        DecisionError::SeparationOfDuties { .. }
    ));
    let requester_for_ana = Decider {
        email: REQUESTER,
        roles: &lead,
        on_behalf_of: Some(Principal {
            email: "ana@example.com",
            roles: &lead,
        }),
    };
    assert!(matches!(
        wf.decide(&requester_for_ana, &request(1, Verdict::Approve, 1))
            .unwrap_err(),
        DecisionError::SeparationOfDuties { .. }
    ));
    // The person decided for must hold the role.
    let for_steward = Decider {
        email: "sam@example.com",
        roles: &lead,
        on_behalf_of: Some(Principal {
            email: "sue@example.com",
            roles: &[Role::DataSteward],
        }),
    };
    assert!(matches!(
        wf.decide(&for_steward, &request(1, Verdict::Approve, 1))
            .unwrap_err(),
        DecisionError::DelegatorLacksRole { .. }
    ));
}

#[test]
fn alerts_bump_the_version_without_making_decisions_stale() {
    let rules = crate::domain::policy::sla::SlaRules::default();
    let wf = workflow(&[Role::TechnicalLead]).with_rules(&[StepRules {
        quorum: 1,
        sla: rules.step_sla(Some("24h"), None).unwrap(),
    }]);
    assert_eq!(wf.alert_due(at(11)), None);
    assert_eq!(wf.alert_due(at(12)), Some(AlertKind::Reminder));
    let reminded = wf
        .alert(Alert {
            kind: AlertKind::Reminder,
            at: at(12),
            to: None,
        })
        .unwrap();
    assert_eq!(reminded.version, wf.version + 1);
    assert_eq!(reminded.alert_due(at(13)), None);
    assert_eq!(
        reminded.next_alert_at(),
        Some(at(0) + chrono::TimeDelta::hours(24))
    );
    assert!(approve_on(&reminded, wf.version).is_ok());
}

fn approve_on(wf: &Workflow, version: i64) -> Result<Workflow, DecisionError> {
    wf.decide(
        &Decider::person("tl@example.com", &[Role::TechnicalLead]),
        &request(1, Verdict::Approve, version),
    )
}
