use super::*;
use chrono::TimeZone;

fn event<'a>(seq: i64, actor: &'a str, action: &'a str, after: i64, details: &'a str) -> Event<'a> {
    Event {
        seq,
        actor,
        action,
        after_version: Some(after),
        details,
    }
}

fn stored(chain: &[Role]) -> Workflow {
    Workflow::open(
        "wf-1".into(),
        "dep-1".into(),
        "agt-1".into(),
        "p".into(),
        "req@example.com".into(),
        chain,
        chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    )
}

#[test]
fn a_workflow_replays_to_its_stored_state_and_an_edit_is_named() {
    let mut replay = WorkflowReplay::default();
    replay
        .apply(&event(
            1,
            "req@example.com",
            "workflow_opened",
            1,
            r#"{"chain":["technical_lead","data_steward"]}"#,
        ))
        .unwrap();
    replay
        .apply(&event(
            2,
            "Lead@example.com",
            "step_approved",
            2,
            r#"{"step_id":1}"#,
        ))
        .unwrap();
    let mut workflow = stored(&[Role::TechnicalLead, Role::DataSteward]);
    workflow.steps[0].status = StepStatus::Approved;
    workflow.steps[0].approver_email = Some("lead@example.com".into());
    workflow.version = 2;
    assert_eq!(replay.differs(&workflow), None);
    assert!(replay.checks_steps());

    let mut edited = workflow.clone();
    edited.status = WorkflowStatus::Approved;
    assert_eq!(
        replay.differs(&edited).as_deref(),
        Some("status approved stored, in_progress replayed")
    );
    let mut forged = workflow.clone();
    forged.steps[1].status = StepStatus::Approved;
    forged.steps[1].approver_email = Some("mallory@example.com".into());
    assert!(
        replay
            .differs(&forged)
            .unwrap()
            .starts_with("step 2 stored as")
    );

    replay
        .apply(&event(
            3,
            "s@example.com",
            "step_rejected",
            3,
            r#"{"step_id":2}"#,
        ))
        .unwrap();
    assert_eq!(replay.status, Some(WorkflowStatus::Rejected));
    assert!(
        replay
            .apply(&event(4, "x", "step_approved", 4, r#"{"step_id":9}"#))
            .is_err()
    );
    assert!(replay.apply(&event(5, "x", "teleported", 5, "{}")).is_err());
}

#[test]
fn deployments_and_reviews_replay_their_status() {
    let mut deployment = DeploymentReplay::default();
    deployment
        .apply(&event(
            1,
            "r",
            "deployment_requested",
            0,
            r#"{"outcome":"pending_approval"}"#,
        ))
        .unwrap();
    deployment
        .apply(&event(
            2,
            "r",
            "status_changed",
            0,
            r#"{"from":"pending_approval","to":"approved"}"#,
        ))
        .unwrap();
    let request = |status, requested_by: &str| DeploymentRequest {
        deployment_id: "dep-1".into(),
        agent_id: "agt-1".into(),
        agent_name: "Agent".into(),
        team: "Team".into(),
        agent_version: "1.0.0".into(),
        requested_by: requested_by.into(),
        requested_at: chrono::Utc::now(),
        status,
        triggered_policies: Vec::new(),
        blocking_reasons: Vec::new(),
        remediation: Vec::new(),
        running_version: None,
        workflow_ids: Vec::new(),
        agent: None,
        external_tools: Vec::new(),
        supersedes_on_approval: false,
        policy_set_version: None,
        artifacts: Vec::new(),
        manifest_digest: None,
    };
    assert_eq!(
        deployment.differs(&request(DeploymentStatus::Approved, "r")),
        None
    );
    assert!(
        deployment
            .differs(&request(DeploymentStatus::Blocked, "r"))
            .is_some()
    );
    assert!(
        deployment
            .differs(&request(DeploymentStatus::Approved, "someone-else"))
            .is_some_and(|why| why.contains("requested_by")),
        "the requester is the event's actor"
    );
    let mut headless = DeploymentReplay::default();
    assert!(
        headless
            .apply(&event(1, "r", "status_changed", 0, r#"{"to":"approved"}"#))
            .is_err(),
        "a status change with no request before it"
    );

    let mut review = ReviewReplay::default();
    review
        .apply(&event(
            1,
            "co",
            "review_assigned",
            1,
            r#"{"reviewer":"e@example.com"}"#,
        ))
        .unwrap();
    review
        .apply(&event(2, "e", "review_started", 2, "{}"))
        .unwrap();
    // A flag by the directory names the review's reviewer, or is refused.
    let (wrong, right) = (
        r#"{"reviewer":"someone@example.com","workflow_id":"wf-1"}"#,
        r#"{"reviewer":"E@example.com","workflow_id":"wf-1"}"#,
    );
    let flagged = |details| {
        event(
            2,
            "directory (SCIM)",
            "review_needs_reassignment",
            2,
            details,
        )
    };
    assert!(review.clone().apply(&flagged(wrong)).is_err());
    review.apply(&flagged(right)).unwrap();
    review
        .apply(&event(
            3,
            "e",
            "review_submitted",
            3,
            r#"{"answers_sha256":"abc"}"#,
        ))
        .unwrap();
    let good = StoredReview {
        status: ReviewStatus::Submitted,
        reviewer: "E@example.com",
        answers_sha256: "abc",
    };
    assert_eq!(review.differs(&good), None);
    assert!(
        review
            .differs(&StoredReview {
                answers_sha256: "edited",
                ..good
            })
            .is_some()
    );
    assert!(
        review
            .differs(&StoredReview {
                reviewer: "mallory@example.com",
                ..good
            })
            .is_some()
    );
}

#[test]
fn a_policy_set_replays_its_lifecycle_and_an_edited_text_is_named() {
    let proposed = event(
        1,
        "Priya@example.com",
        "policy_set_proposed",
        1,
        r#"{"sha256":"aaa","based_on":1,"policies":7}"#,
    );
    let approved = event(
        2,
        "tomas@example.com",
        "policy_set_approved",
        1,
        r#"{"sha256":"aaa","comment":null}"#,
    );
    let set: PolicySetReplay = replay([proposed, approved]).unwrap();
    let good = StoredPolicySet {
        version: 2,
        state: "active",
        proposed_by: "priya@example.com",
        decided_by: Some("tomas@example.com"),
        source_sha256: "aaa",
        text_sha256: "aaa",
    };
    assert_eq!(set.differs(&good), None);
    for (edited, what) in [
        (
            StoredPolicySet {
                text_sha256: "bbb",
                ..good
            },
            "hashes to",
        ),
        (
            StoredPolicySet {
                source_sha256: "bbb",
                text_sha256: "bbb",
                ..good
            },
            "proposed",
        ),
        (
            StoredPolicySet {
                state: "proposed",
                ..good
            },
            "state",
        ),
        (
            StoredPolicySet {
                decided_by: Some("priya@example.com"),
                ..good
            },
            "decided by",
        ),
    ] {
        let reason = set.differs(&edited).expect("differs");
        assert!(reason.contains(what), "{reason}");
    }
    // An approval of another text than proposed, or out of order, is
    // not a lifecycle.
    let swapped = event(
        2,
        "tomas@example.com",
        "policy_set_approved",
        1,
        r#"{"sha256":"ccc"}"#,
    );
    assert!(replay::<PolicySetReplay>([proposed, swapped]).is_err());
    assert!(replay::<PolicySetReplay>([approved]).is_err());
    // The store's first version has no proposal: it starts active.
    let superseded = event(
        3,
        "tomas@example.com",
        "policy_set_superseded",
        1,
        r#"{"by":2}"#,
    );
    let first: PolicySetReplay = replay([superseded]).unwrap();
    let system = StoredPolicySet {
        version: 1,
        state: "superseded",
        proposed_by: "system",
        decided_by: Some("system"),
        ..good
    };
    assert_eq!(first.differs(&system), None);
    assert!(
        first
            .differs(&StoredPolicySet {
                version: 4,
                ..system
            })
            .is_some(),
        "only the first version may lack its proposal"
    );
}
