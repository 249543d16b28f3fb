//! The backend conformance suite: the same expectations for every
//! `GovernanceBackend`. A fixture gives the store (to create users, which the
//! API does not) and a backend acting as a given user.

use std::sync::Arc;

use gavel::backend::local::LocalStore;
use gavel::backend::{
    BackendError, Decision, DeploymentQuery, Direction, GovernanceBackend, QueueCursor,
    QueueFilter, QueueQuery, QueueSort,
};
use gavel::domain::bias::{AuditSubmission, GroupCounts};
use gavel::domain::workflow::DecisionError;
use gavel::domain::{
    Answers, DeploymentStatus, ReviewStatus, RiskTier, Role, StepStatus, Verdict, Workflow,
    WorkflowStatus,
};

use super::*;

pub trait Fixture {
    fn store(&self) -> &Arc<LocalStore>;
    fn backend_as(&self, email: &str) -> Box<dyn GovernanceBackend>;
    /// Creates a user (an HTTP fixture keeps the token for `backend_as`).
    fn add_user(&self, email: &str, roles: &[Role]) {
        self.store()
            .add_user(email, email, roles)
            .expect("add user");
    }
}

fn add_users(fixture: &impl Fixture) {
    let users: [(&str, &[Role]); 7] = [
        (REQUESTER, &[Role::TechnicalLead]),
        (LEAD, &[Role::TechnicalLead]),
        (STEWARD, &[Role::DataSteward]),
        (ML, &[Role::MlEngineer]),
        (ETHICS, &[Role::EthicsReviewer]),
        (COMPLIANCE, &[Role::ComplianceOfficer]),
        (ALL_ROLES, &Role::ALL),
    ];
    for (email, roles) in users {
        fixture.add_user(email, roles);
    }
}

pub fn decision(workflow: &Workflow, verdict: Verdict, comment: Option<&str>) -> Decision {
    Decision {
        workflow_id: workflow.workflow_id.clone(),
        step_id: workflow.current_step().map_or(1, |step| step.step_id),
        verdict,
        comment: comment.map(Into::into),
        expected_version: workflow.version,
        idempotency_key: Decision::new_key(),
    }
}

fn refusal(result: Result<Workflow, BackendError>) -> DecisionError {
    match result {
        Err(BackendError::Refused(err)) => err,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn passing_audit(backend: &dyn GovernanceBackend, agent_id: &str, version: &str, low: u64) {
    backend
        .record_audit(&AuditSubmission {
            agent_id: agent_id.into(),
            agent_version: version.into(),
            tested_at: None,
            groups: vec![
                GroupCounts {
                    group: "women".into(),
                    positive: low,
                    total: 100,
                },
                GroupCounts {
                    group: "men".into(),
                    positive: 50,
                    total: 100,
                },
            ],
            threshold: None,
        })
        .await
        .expect("record audit");
}

/// Runs every expectation. Each part uses its own agents, so parts do not
/// interfere.
pub async fn run(fixture: &impl Fixture) {
    add_users(fixture);
    identity(fixture).await;
    policies_and_checks(fixture).await;
    approval_chain(fixture).await;
    refusals(fixture).await;
    idempotency(fixture).await;
    rejection_settles_the_deployment(fixture).await;
    bias_audits_gate_hr_agents(fixture).await;
    ethics_reviews(fixture).await;
    queue_pagination_and_filters(fixture).await;
    dashboard_and_deployments(fixture).await;
    not_found(fixture).await;
}

async fn identity(fixture: &impl Fixture) {
    let me = fixture.backend_as(ALL_ROLES).me().await.expect("me");
    assert_eq!(me.email, ALL_ROLES);
    assert_eq!(me.roles, Role::ALL);
    let stranger = fixture.backend_as("stranger@example.com").me().await;
    assert!(
        matches!(stranger, Err(BackendError::Unauthenticated(_))),
        "{stranger:?}"
    );
}

async fn policies_and_checks(fixture: &impl Fixture) {
    let backend = fixture.backend_as(LEAD);
    let policies = backend.policies().await.expect("policies");
    let ids: Vec<&str> = policies.iter().map(|p| p.policy_id.as_str()).collect();
    for expected in [
        "pii_access_approval",
        "hr_bias_audit",
        "external_api_block",
        "risk_tier_medium",
        "risk_tier_high",
    ] {
        assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
    }
    let allowed = backend
        .check_deployment(&manifest("agt-check"))
        .await
        .expect("check");
    assert_eq!(allowed.status, DeploymentStatus::Allowed);
    let mut blocked = manifest("agt-check");
    blocked.agent.has_external_tools = true;
    blocked.external_tools = vec!["web_search".into()];
    let evaluation = backend.check_deployment(&blocked).await.expect("check");
    assert_eq!(evaluation.status, DeploymentStatus::Blocked);
    assert!(evaluation.remediation[0].contains("web_search"));
    // Checking records nothing.
    assert!(matches!(
        backend.agent("agt-check").await,
        Err(BackendError::NotFound { .. })
    ));
}

async fn approval_chain(fixture: &impl Fixture) {
    let lead = fixture.backend_as(LEAD);
    let request = lead
        .request_deployment(&confidential("agt-chain"))
        .await
        .expect("request");
    assert_eq!(request.status, DeploymentStatus::PendingApproval);
    assert_eq!(request.workflow_ids.len(), 1);
    assert_eq!(request.requested_by, REQUESTER);
    let workflow = lead
        .workflow(&request.workflow_ids[0])
        .await
        .expect("workflow");
    assert_eq!(workflow.triggered_by_policy, "pii_access_approval");
    assert_eq!(
        workflow.steps.iter().map(|s| s.role).collect::<Vec<_>>(),
        [Role::TechnicalLead, Role::DataSteward]
    );

    let in_lead_queue = |page: &gavel::backend::QueuePage| {
        page.items
            .iter()
            .any(|item| item.workflow_id == workflow.workflow_id)
    };
    let lead_queue = QueueQuery::first(
        QueueFilter::for_roles(&[Role::TechnicalLead]),
        QueueSort::Age,
        500,
    );
    let steward_queue = QueueQuery::first(
        QueueFilter::for_roles(&[Role::DataSteward]),
        QueueSort::Age,
        500,
    );
    assert!(in_lead_queue(
        &lead.queue(&lead_queue).await.expect("queue")
    ));
    assert!(!in_lead_queue(
        &lead.queue(&steward_queue).await.expect("queue")
    ));

    let after_lead = lead
        .decide(&decision(&workflow, Verdict::Approve, Some("looks fine")))
        .await
        .expect("approve");
    assert_eq!(after_lead.version, workflow.version + 1);
    assert_eq!(after_lead.steps[0].status, StepStatus::Approved);
    assert_eq!(after_lead.steps[0].approver_email.as_deref(), Some(LEAD));
    assert_eq!(after_lead.steps[0].comment.as_deref(), Some("looks fine"));
    assert!(!in_lead_queue(
        &lead.queue(&lead_queue).await.expect("queue")
    ));
    assert!(in_lead_queue(
        &lead.queue(&steward_queue).await.expect("queue")
    ));

    let steward = fixture.backend_as(STEWARD);
    let done = steward
        .decide(&decision(&after_lead, Verdict::Approve, None))
        .await
        .expect("approve");
    assert_eq!(done.status, WorkflowStatus::Approved);
    let deployment = steward
        .deployment(&request.deployment_id)
        .await
        .expect("deployment");
    assert_eq!(deployment.status, DeploymentStatus::Approved);

    let trail = steward
        .trail("workflow", &workflow.workflow_id)
        .await
        .expect("trail");
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["workflow_opened", "step_approved", "step_approved"]
    );
    assert_eq!(trail[1].entry.actor, LEAD);
    assert_eq!(
        (trail[2].entry.before_version, trail[2].entry.after_version),
        (Some(2), Some(3))
    );

    // The next version of the agent runs on top of the approved one.
    let mut next = confidential("agt-chain");
    next.agent.version = "1.1.0".into();
    let second = lead.request_deployment(&next).await.expect("request");
    assert_eq!(second.running_version.as_deref(), Some("1.0.0"));
}

async fn refusals(fixture: &impl Fixture) {
    let requester = fixture.backend_as(REQUESTER);
    let request = requester
        .request_deployment(&confidential("agt-refusals"))
        .await
        .expect("request");
    let workflow = requester
        .workflow(&request.workflow_ids[0])
        .await
        .expect("workflow");

    // The requester holds technical_lead but requested the deployment.
    let err = refusal(
        requester
            .decide(&decision(&workflow, Verdict::Approve, None))
            .await,
    );
    assert!(
        matches!(err, DecisionError::SeparationOfDuties { .. }),
        "{err:?}"
    );

    let steward = fixture.backend_as(STEWARD);
    let err = refusal(
        steward
            .decide(&decision(&workflow, Verdict::Approve, None))
            .await,
    );
    assert!(
        matches!(
            err,
            DecisionError::WrongRole {
                required: Role::TechnicalLead,
                ..
            }
        ),
        "{err:?}"
    );

    let all = fixture.backend_as(ALL_ROLES);
    let err = refusal(
        all.decide(&decision(&workflow, Verdict::Reject, Some("  ")))
            .await,
    );
    assert_eq!(err, DecisionError::EmptyRejectionComment);

    let mut stale = decision(&workflow, Verdict::Approve, None);
    stale.expected_version += 5;
    let err = refusal(all.decide(&stale).await);
    assert!(matches!(err, DecisionError::StaleVersion { .. }), "{err:?}");

    let mut not_current = decision(&workflow, Verdict::Approve, None);
    not_current.step_id = 2;
    let err = refusal(all.decide(&not_current).await);
    assert!(
        matches!(err, DecisionError::StepNotCurrent { .. }),
        "{err:?}"
    );

    let after = all
        .decide(&decision(&workflow, Verdict::Approve, None))
        .await
        .expect("approve");
    let err = refusal(all.decide(&decision(&after, Verdict::Approve, None)).await);
    assert!(
        matches!(err, DecisionError::AlreadyDecidedAStep { step_id: 1, .. }),
        "{err:?}"
    );

    let done = fixture
        .backend_as(STEWARD)
        .decide(&decision(&after, Verdict::Approve, None))
        .await
        .expect("approve");
    let err = refusal(
        fixture
            .backend_as(LEAD)
            .decide(&decision(&done, Verdict::Approve, None))
            .await,
    );
    assert!(
        matches!(err, DecisionError::WorkflowClosed { .. }),
        "{err:?}"
    );

    // Refusals change nothing.
    let trail = all
        .trail("workflow", &workflow.workflow_id)
        .await
        .expect("trail");
    assert_eq!(trail.len(), 3, "opened + two approvals");
}

async fn idempotency(fixture: &impl Fixture) {
    let lead = fixture.backend_as(LEAD);
    let request = lead
        .request_deployment(&confidential("agt-idem"))
        .await
        .expect("request");
    let workflow = lead
        .workflow(&request.workflow_ids[0])
        .await
        .expect("workflow");
    let first = decision(&workflow, Verdict::Approve, Some("ok"));
    let answer = lead.decide(&first).await.expect("approve");
    let replay = lead.decide(&first).await.expect("replay");
    assert_eq!(answer, replay);
    let trail = lead
        .trail("workflow", &workflow.workflow_id)
        .await
        .expect("trail");
    assert_eq!(trail.len(), 2, "the replay must not decide twice");

    let mut changed = first.clone();
    changed.comment = Some("different".into());
    assert!(matches!(
        lead.decide(&changed).await,
        Err(BackendError::IdempotencyMismatch(_))
    ));
}

async fn rejection_settles_the_deployment(fixture: &impl Fixture) {
    let lead = fixture.backend_as(LEAD);
    let request = lead
        .request_deployment(&with_risk(confidential("agt-reject"), RiskTier::Medium))
        .await
        .expect("request");
    assert_eq!(
        request.workflow_ids.len(),
        2,
        "pii approval and medium-risk review"
    );
    let first = lead
        .workflow(&request.workflow_ids[0])
        .await
        .expect("workflow");
    let rejected = lead
        .decide(&decision(&first, Verdict::Reject, Some("no DPIA on file")))
        .await
        .expect("reject");
    assert_eq!(rejected.status, WorkflowStatus::Rejected);
    assert_eq!(rejected.steps[1].status, StepStatus::Skipped);
    let sibling = lead
        .workflow(&request.workflow_ids[1])
        .await
        .expect("workflow");
    assert_eq!(sibling.status, WorkflowStatus::Withdrawn);
    let deployment = lead
        .deployment(&request.deployment_id)
        .await
        .expect("deployment");
    assert_eq!(deployment.status, DeploymentStatus::Rejected);
}

async fn bias_audits_gate_hr_agents(fixture: &impl Fixture) {
    let ml = fixture.backend_as(ML);
    let blocked = ml.request_deployment(&hr("agt-hr")).await.expect("request");
    assert_eq!(blocked.status, DeploymentStatus::Blocked);
    assert!(blocked.workflow_ids.is_empty());
    assert!(blocked.remediation[0].contains("run a bias audit"));

    passing_audit(ml.as_ref(), "agt-hr", "1.0.0", 30).await;
    passing_audit(ml.as_ref(), "agt-hr", "1.0.0", 45).await;
    let audits = ml.audits("agt-hr").await.expect("audits");
    assert_eq!(audits.len(), 2);
    assert!(audits[0].tested_at >= audits[1].tested_at, "latest first");
    assert!(audits[0].stats.passes_threshold);
    assert!(!audits[1].stats.passes_threshold);

    let pending = ml.request_deployment(&hr("agt-hr")).await.expect("request");
    assert_eq!(pending.status, DeploymentStatus::PendingApproval);
    let superseded = ml
        .deployment(&blocked.deployment_id)
        .await
        .expect("deployment");
    assert_eq!(
        superseded.status,
        DeploymentStatus::Withdrawn,
        "a new request supersedes the blocked one"
    );

    let bad = ml
        .record_audit(&AuditSubmission {
            agent_id: "agt-hr".into(),
            agent_version: "1.0.0".into(),
            tested_at: None,
            groups: vec![],
            threshold: None,
        })
        .await;
    assert!(matches!(bad, Err(BackendError::Invalid(_))), "{bad:?}");
}

fn complete_answers() -> Answers {
    serde_json::from_value(serde_json::json!({
        "use_case_appropriateness": "appropriate_with_safeguards",
        "training_data_ethically_sourced": true,
        "affected_populations": ["job_applicants", "employees"],
        "values_alignment": 4,
        "risks_and_mitigations": "Proxy discrimination through postcode; removed the feature.",
        "recommendation": "approve"
    }))
    .expect("answers")
}

async fn ethics_reviews(fixture: &impl Fixture) {
    let ml = fixture.backend_as(ML);
    ml.request_deployment(&hr("agt-ethics"))
        .await
        .expect("first request is blocked");
    passing_audit(ml.as_ref(), "agt-ethics", "1.0.0", 48).await;
    let request = ml
        .request_deployment(&hr("agt-ethics"))
        .await
        .expect("request");
    let workflow = ml
        .workflow(&request.workflow_ids[0])
        .await
        .expect("workflow");
    let workflow = ml
        .decide(&decision(&workflow, Verdict::Approve, None))
        .await
        .expect("ml approves");

    let ethics = fixture.backend_as(ETHICS);
    let err = refusal(
        ethics
            .decide(&decision(&workflow, Verdict::Approve, None))
            .await,
    );
    assert_eq!(err, DecisionError::EthicsReviewNotSubmitted);

    // Only a compliance officer assigns to someone else.
    let denied = fixture
        .backend_as(LEAD)
        .assign_review(&workflow.workflow_id, ETHICS)
        .await;
    assert!(
        matches!(denied, Err(BackendError::Forbidden(_))),
        "{denied:?}"
    );
    let review = fixture
        .backend_as(COMPLIANCE)
        .assign_review(&workflow.workflow_id, ETHICS)
        .await
        .expect("assign");
    assert_eq!(review.status, ReviewStatus::Assigned);
    let again = ethics
        .assign_review(&workflow.workflow_id, ETHICS)
        .await
        .expect("re-assign is idempotent");
    assert_eq!(again.review_id, review.review_id);
    let mine = ethics.my_reviews(None).await.expect("my reviews");
    assert!(
        mine.iter()
            .any(|r| r.review_id == review.review_id && r.agent_name == "Agent agt-ethics")
    );

    let template = ethics
        .review_template(&review.template_id)
        .await
        .expect("template");
    assert!(template.question("recommendation").is_some());

    // A partial draft saves, with where the reviewer left off.
    let mut partial = Answers::new();
    partial.insert(
        "risks_and_mitigations".into(),
        serde_json::json!("half a thought"),
    );
    let cursor = serde_json::json!({ "field": "risks_and_mitigations", "offset": 14 });
    let draft = ethics
        .save_review_draft(&review.review_id, &partial, Some(&cursor))
        .await
        .expect("draft");
    assert_eq!(draft.status, ReviewStatus::Draft);
    let reloaded = ethics.review(&review.review_id).await.expect("review");
    assert_eq!(reloaded.answers, partial);
    assert_eq!(reloaded.form_state, Some(cursor));

    // Someone else cannot touch it; an incomplete review cannot be submitted.
    let other = fixture
        .backend_as(ALL_ROLES)
        .save_review_draft(&review.review_id, &partial, None)
        .await;
    assert!(
        matches!(other, Err(BackendError::Forbidden(_))),
        "{other:?}"
    );
    match ethics.submit_review(&review.review_id, &partial).await {
        Err(BackendError::InvalidReview(issues)) => {
            assert_eq!(issues[0].question_id, "use_case_appropriateness")
        }
        other => panic!("expected validation issues, got {other:?}"),
    }

    let submitted = ethics
        .submit_review(&review.review_id, &complete_answers())
        .await
        .expect("submit");
    assert_eq!(submitted.status, ReviewStatus::Submitted);
    assert!(submitted.submitted_at.is_some());
    let frozen = ethics
        .save_review_draft(&review.review_id, &partial, None)
        .await;
    assert!(
        matches!(frozen, Err(BackendError::Conflict(_))),
        "{frozen:?}"
    );
    let linked = ethics
        .review_for_workflow(&workflow.workflow_id)
        .await
        .expect("review")
        .expect("some");
    assert_eq!(linked.answers, complete_answers());

    let approved = ethics
        .decide(&decision(&workflow, Verdict::Approve, None))
        .await
        .expect("ethics approves");
    assert_eq!(
        approved.current_step().map(|s| s.role),
        Some(Role::ComplianceOfficer)
    );
    let trail = ethics
        .trail("review", &review.review_id)
        .await
        .expect("trail");
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["review_assigned", "review_started", "review_submitted"]
    );
}

async fn queue_pagination_and_filters(fixture: &impl Fixture) {
    let lead = fixture.backend_as(LEAD);
    for n in 0..23 {
        let mut manifest = confidential(&format!("agt-page-{n:02}"));
        manifest.agent.team = if n % 2 == 0 {
            "Paging Even"
        } else {
            "Paging Odd"
        }
        .into();
        lead.request_deployment(&manifest).await.expect("request");
    }
    let filter = QueueFilter {
        roles: Some(vec![Role::TechnicalLead]),
        search: Some("agt-page".into()),
        ..QueueFilter::default()
    };
    let total = lead.queue_count(&filter).await.expect("count");
    assert_eq!(total, 23);

    for sort in [QueueSort::Age, QueueSort::Risk] {
        // Forward, page by page.
        let mut seen = Vec::new();
        let mut query = QueueQuery::first(filter.clone(), sort, 5);
        loop {
            let page = lead.queue(&query).await.expect("page");
            seen.extend(page.items.iter().map(|item| QueueCursor::of(item, sort)));
            if !page.more_after {
                break;
            }
            query.cursor = page.last_cursor(sort);
        }
        assert_eq!(seen.len(), 23, "{sort:?}");
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "{sort:?}: strictly in display order"
        );

        // Backward from the end gives the same rows in the same order.
        let mut query = QueueQuery {
            direction: Direction::Backward,
            ..QueueQuery::first(filter.clone(), sort, 5)
        };
        let mut backward = Vec::new();
        loop {
            let page = lead.queue(&query).await.expect("page");
            let mut cursors: Vec<_> = page
                .items
                .iter()
                .map(|item| QueueCursor::of(item, sort))
                .collect();
            cursors.extend(backward);
            backward = cursors;
            if !page.more_before {
                break;
            }
            query.cursor = page.first_cursor(sort);
        }
        assert_eq!(backward, seen, "{sort:?}");
    }

    let one = lead
        .queue(&QueueQuery::first(filter.clone(), QueueSort::Age, 1))
        .await
        .expect("page");
    let by_id = QueueFilter {
        search: Some(one.items[0].workflow_id.clone()),
        ..filter.clone()
    };
    assert_eq!(
        lead.queue_count(&by_id).await.expect("count"),
        1,
        "a workflow id finds that workflow"
    );
    let even = QueueFilter {
        team: Some("Paging Even".into()),
        ..filter.clone()
    };
    assert_eq!(lead.queue_count(&even).await.expect("count"), 12);
    let none = QueueFilter {
        search: Some("no such agent %".into()),
        ..filter.clone()
    };
    assert_eq!(lead.queue_count(&none).await.expect("count"), 0);
    let high = QueueFilter {
        risk: Some(RiskTier::High),
        ..filter.clone()
    };
    assert_eq!(lead.queue_count(&high).await.expect("count"), 0);

    // Everyone's in-progress queue includes these too.
    let all = QueueFilter {
        roles: None,
        ..filter
    };
    assert_eq!(lead.queue_count(&all).await.expect("count"), 23);
}

async fn dashboard_and_deployments(fixture: &impl Fixture) {
    let backend = fixture.backend_as(LEAD);
    let mut blocked = manifest("agt-dash");
    blocked.agent.has_external_tools = true;
    blocked.agent.team = "Dashboard Team".into();
    backend.request_deployment(&blocked).await.expect("request");
    let dashboard = backend.dashboard().await.expect("dashboard");
    assert!(dashboard.blocked_now >= 1);
    assert!(dashboard.blocked_this_week >= 1);
    assert!(dashboard.pending_approvals >= 1);
    assert!(
        dashboard
            .blocked_by_policy
            .iter()
            .any(|c| c.name == "external_api_block")
    );
    assert!(
        dashboard
            .blocked_by_team
            .iter()
            .any(|c| c.name == "Dashboard Team" && c.count == 1)
    );
    assert_eq!(dashboard.weekly_blocked.len(), 13);
    assert!(
        dashboard
            .weekly_blocked
            .last()
            .is_some_and(|week| week.blocked >= 1)
    );
    assert!(dashboard.median_hours_blocked.is_some());

    let page = backend
        .deployments(&DeploymentQuery {
            status: Some(DeploymentStatus::Blocked),
            cursor: None,
            limit: 2,
        })
        .await
        .expect("deployments");
    assert!(
        page.items
            .iter()
            .all(|d| d.status == DeploymentStatus::Blocked)
    );
    let mut all = page.items.clone();
    let mut next = page.next.clone();
    while let Some(cursor) = next {
        let page = backend
            .deployments(&DeploymentQuery {
                status: Some(DeploymentStatus::Blocked),
                cursor: Some(cursor),
                limit: 2,
            })
            .await
            .expect("deployments");
        all.extend(page.items);
        next = page.next;
    }
    assert_eq!(all.len() as u64, dashboard.blocked_now);
    assert!(
        all.windows(2)
            .all(|w| w[0].requested_at >= w[1].requested_at),
        "newest first"
    );
}

async fn not_found(fixture: &impl Fixture) {
    let backend = fixture.backend_as(LEAD);
    assert!(matches!(
        backend.workflow("wf-missing").await,
        Err(BackendError::NotFound { .. })
    ));
    assert!(matches!(
        backend.deployment("dep-missing").await,
        Err(BackendError::NotFound { .. })
    ));
    assert!(matches!(
        backend.review("rev-missing").await,
        Err(BackendError::NotFound { .. })
    ));
    assert!(matches!(
        backend.agent("agt-missing").await,
        Err(BackendError::NotFound { .. })
    ));
    assert!(
        backend
            .audits("agt-missing")
            .await
            .expect("audits")
            .is_empty()
    );
    assert!(
        backend
            .trail("workflow", "wf-missing")
            .await
            .expect("trail")
            .is_empty()
    );
    let bad_cursor = backend
        .deployments(&DeploymentQuery {
            status: None,
            cursor: Some("garbage".into()),
            limit: 5,
        })
        .await;
    assert!(
        matches!(bad_cursor, Err(BackendError::Invalid(_))),
        "{bad_cursor:?}"
    );
}
