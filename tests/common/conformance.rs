//! The backend conformance suite: the same expectations for every
//! `GovernanceBackend`. A fixture gives the store (to create users, which the
//! API does not) and a backend acting as a given user.

use std::sync::Arc;

use gavel::backend::local::LocalStore;
use gavel::backend::{
    BackendError, Decision, DeploymentQuery, Direction, GovernanceBackend, NotActionable,
    QueueCursor, QueueFilter, QueueQuery, QueueScope, QueueSort, ToolStatus,
};
use gavel::domain::bias::{AuditSubmission, GroupCounts};
use gavel::domain::decision::DecisionError;
use gavel::domain::{
    Answers, DeploymentRequest, DeploymentStatus, ReviewStatus, RiskTier, Role, StepStatus,
    Verdict, Workflow, WorkflowStatus,
};

use gavel::domain::delegation::NewDelegation;

use super::*;

/// The draft answers the suite saves: private to their reviewer, so no
/// server may log them.
pub const DRAFT_ANSWERS: [&str; 2] = ["half a thought", "a private first thought"];

pub trait Fixture {
    fn store(&self) -> &Arc<LocalStore>;
    fn backend_as(&self, email: &str) -> Box<dyn GovernanceBackend>;
    /// Whether moving `store()`'s clock moves the clock the backends read
    /// (a server in another process keeps its own).
    fn shares_the_clock(&self) -> bool {
        true
    }
    /// Creates a user (an HTTP fixture keeps the token for `backend_as`).
    fn add_user(&self, email: &str, roles: &[Role]) {
        self.store()
            .add_user(email, email, roles)
            .expect("add user");
    }
    /// Gives a person new roles and, with `team`, puts them in it (an
    /// identity-provider fixture signs them in again with those groups).
    fn change_user(&self, email: &str, roles: &[Role], team: Option<&str>) {
        change_on_store(self.store(), email, roles, team);
    }
    /// Creates a service account (an HTTP fixture keeps its token).
    fn add_service(&self, email: &str, roles: &[Role]) {
        service_on_store(self.store(), email, roles);
    }
    /// Removes a user (on the store: people are managed where it lives).
    fn remove_user(&self, email: &str) {
        self.store()
            .remove_user("conformance@example.com", email)
            .expect("remove user");
    }
}

/// Gives a person new roles (and a team) where the store lives.
pub fn change_on_store(store: &LocalStore, email: &str, roles: &[Role], team: Option<&str>) {
    store
        .update_user(
            "conformance@example.com",
            email,
            &gavel::backend::local::writes::UserChange {
                name: None,
                roles: Some(roles.to_vec()),
                teams: team.map(|team| vec![team.to_owned()]),
                service: false,
            },
        )
        .expect("update user");
}

/// Creates a service account where the store lives; its token.
pub fn service_on_store(store: &LocalStore, email: &str, roles: &[Role]) -> String {
    store
        .create_user(
            "conformance@example.com",
            email,
            &gavel::backend::local::writes::UserChange {
                name: Some(email.to_owned()),
                roles: Some(roles.to_vec()),
                teams: None,
                service: true,
            },
        )
        .expect("add service account")
}

fn add_users(fixture: &impl Fixture) {
    let users: [(&str, &[Role]); 10] = [
        (REQUESTER, &[Role::TechnicalLead]),
        (LEAD, &[Role::TechnicalLead]),
        (STEWARD, &[Role::DataSteward]),
        (ML, &[Role::MlEngineer]),
        (ETHICS, &[Role::EthicsReviewer]),
        (COMPLIANCE, &[Role::ComplianceOfficer]),
        (ALL_ROLES, &Role::ALL),
        (NOBODY, &[]),
        (ADMIN, &[Role::PolicyAdmin]),
        (ADMIN2, &[Role::PolicyAdmin]),
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
        decision_at: None,
        on_behalf_of: None,
    }
}

fn refusal(result: Result<Workflow, BackendError>) -> DecisionError {
    match result {
        Err(BackendError::Refused(err)) => err,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn submission(agent_id: &str, version: &str, low: u64) -> AuditSubmission {
    AuditSubmission {
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
        attributes: Vec::new(),
        mode: Default::default(),
        source: None,
        threshold: None,
    }
}

pub async fn passing_audit(
    backend: &dyn GovernanceBackend,
    agent_id: &str,
    version: &str,
    low: u64,
) {
    backend
        .record_audit(&submission(agent_id, version, low))
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
    the_requester_is_whoever_is_authenticated(fixture).await;
    audits_are_gated_and_stamped(fixture).await;
    standings_page_by_page(fixture).await;
    refiling_an_agent_as_harmless(fixture).await;
    tools_are_approved_by_record(fixture).await;
    the_queue_holds_what_the_reader_may_decide(fixture).await;
    an_ethics_step_is_in_its_reviewers_queue(fixture).await;
    drafts_are_their_reviewers_alone(fixture).await;
    withdrawal_and_reassignment(fixture).await;
    removed_users_cannot_act(fixture).await;
    decisions_keep_when_they_were_made(fixture).await;
    policy_sets_take_two_policy_admins(fixture).await;
    audit_runs_count_each_case_once(fixture).await;
    everything_replays_from_the_trail(fixture).await;
    the_inbox_holds_what_concerns_its_reader(fixture).await;
    gates_hold_third_pass(fixture).await;
    super::obligations::obligations_are_judged_from_the_record(fixture).await;
    super::obligations::independence_is_confirmed_not_claimed(fixture).await;
    super::exceptions::exceptions_set_a_policy_aside_for_a_time(fixture).await;
    super::incidents::incidents_suspend_until_people_lift_them(fixture).await;
    everything_replays_from_the_trail(fixture).await;
    // Last: it makes technical-lead steps of confidential agents need two.
    delegation_and_quorum(fixture).await;
    everything_replays_from_the_trail(fixture).await;
}

const AWAY: &str = "away@example.com";
const SUB: &str = "sub@example.com";
const LEAD2: &str = "lead2@example.com";

/// The active set with a two-person technical-lead step for confidential
/// agents (and the regional rules), proposed and approved.
async fn activate_quorum_set(fixture: &impl Fixture) {
    let text = regional_set().replace(
        r#"approval_chain = ["technical_lead", "data_steward"]"#,
        r#"approval_chain = [{ role = "technical_lead", quorum = 2, sla = "48h" }, "data_steward"]"#,
    );
    assert_ne!(text, regional_set());
    let proposed = fixture
        .backend_as(ADMIN)
        .propose_policy_set(&text)
        .await
        .expect("propose");
    fixture
        .backend_as(ADMIN2)
        .decide_policy_set(proposed.version.version, true, Some("two leads"))
        .await
        .expect("approve");
}

/// A delegation to `to`, from a minute ago for a week.
pub fn delegation(to: &str, role: Option<Role>) -> NewDelegation {
    let now = chrono::Utc::now();
    NewDelegation {
        to: to.into(),
        starts_at: now - chrono::TimeDelta::minutes(1),
        ends_at: now + chrono::TimeDelta::days(7),
        role,
    }
}

pub fn for_someone(workflow: &Workflow, verdict: Verdict, on_behalf_of: &str) -> Decision {
    Decision {
        on_behalf_of: Some(on_behalf_of.into()),
        ..decision(workflow, verdict, Some("covering"))
    }
}

/// Delegation and quorum steps against every separation-of-duties rule: a
/// decision for someone counts as both people's, delegations are never
/// passed on, a quorum step needs different people and completes once,
/// and an approval on a version changed only by another approval of the
/// same step applies.
async fn delegation_and_quorum(fixture: &impl Fixture) {
    fixture.add_user(AWAY, &[Role::TechnicalLead, Role::DataSteward]);
    fixture.add_user(SUB, &[Role::TechnicalLead, Role::DataSteward]);
    fixture.add_user(LEAD2, &[Role::TechnicalLead]);
    activate_quorum_set(fixture).await;
    let away = fixture.backend_as(AWAY);
    let sub = fixture.backend_as(SUB);

    // Who may be a delegate.
    assert!(
        matches!(away.delegate(&delegation(NOBODY, None)).await, Err(BackendError::Invalid(m)) if m.contains("must already hold")),
        "the delegate must hold the role"
    );
    assert!(
        matches!(away.delegate(&delegation(SUB, Some(Role::MlEngineer))).await, Err(BackendError::Invalid(m)) if m.contains("you do not hold")),
    );
    assert!(matches!(
        away.delegate(&delegation(AWAY, None)).await,
        Err(BackendError::Invalid(_))
    ));
    let given = away
        .delegate(&delegation(SUB, None))
        .await
        .expect("delegate");
    assert_eq!(given.delegator, AWAY);
    assert_eq!(given.delegate, SUB);
    assert!(
        sub.delegations(false)
            .await
            .expect("the delegate's list")
            .iter()
            .any(|d| d.delegation_id == given.delegation_id)
    );
    // SUB passes it on; it gives LEAD2 nothing of AWAY's.
    sub.delegate(&delegation(LEAD2, Some(Role::TechnicalLead)))
        .await
        .expect("sub delegates");

    let requested = fixture
        .backend_as(REQUESTER)
        .request_deployment(&confidential("agt-two-leads"))
        .await
        .expect("request");
    let workflow_id = requested.workflow_ids[0].clone();
    let opened = away.workflow(&workflow_id).await.expect("workflow");
    assert_eq!(opened.steps[0].quorum, 2);
    assert!(opened.steps[0].sla.is_some(), "the step keeps its SLA");

    let lead2 = fixture.backend_as(LEAD2);
    assert!(matches!(
        refusal(
            lead2
                .decide(&for_someone(&opened, Verdict::Approve, AWAY))
                .await
        ),
        DecisionError::NotDelegated { .. }
    ));
    assert!(matches!(
        refusal(
            sub.decide(&for_someone(&opened, Verdict::Approve, REQUESTER))
                .await
        ),
        DecisionError::SeparationOfDuties { .. }
    ));

    let first = sub
        .decide(&for_someone(&opened, Verdict::Approve, AWAY))
        .await
        .expect("sub approves for away");
    assert_eq!(first.steps[0].status, StepStatus::Pending, "one of two");
    assert_eq!(first.steps[0].approvals.len(), 1);
    assert_eq!(first.steps[0].approvals[0].approver_email, SUB);
    assert_eq!(
        first.steps[0].approvals[0].on_behalf_of.as_deref(),
        Some(AWAY)
    );
    // It counts as AWAY's approval and SUB's.
    for person in [AWAY, SUB] {
        assert!(matches!(
            refusal(
                fixture
                    .backend_as(person)
                    .decide(&decision(&first, Verdict::Approve, None))
                    .await
            ),
            DecisionError::AlreadyApproved { .. }
        ));
    }
    // LEAD approves on the version before SUB's approval: applied.
    let second = fixture
        .backend_as(LEAD)
        .decide(&decision(&opened, Verdict::Approve, None))
        .await
        .expect("an approval on a version changed only by another approval of the step");
    assert_eq!(second.steps[0].status, StepStatus::Approved);
    assert_eq!(second.steps[0].approvals.len(), 2);
    assert_eq!(
        second.current_step().map(|s| s.role),
        Some(Role::DataSteward)
    );
    // Neither SUB nor AWAY may decide the data-steward step.
    for person in [SUB, AWAY] {
        assert!(matches!(
            refusal(
                fixture
                    .backend_as(person)
                    .decide(&decision(&second, Verdict::Approve, None))
                    .await
            ),
            DecisionError::AlreadyDecidedAStep { step_id: 1, .. }
        ));
    }
    // A decision on the version before step 1 completed is stale for step 2.
    let mut stale = decision(&second, Verdict::Approve, None);
    stale.expected_version = first.version;
    assert!(matches!(
        refusal(fixture.backend_as(STEWARD).decide(&stale).await),
        DecisionError::StaleVersion { .. }
    ));
    let done = fixture
        .backend_as(STEWARD)
        .decide(&decision(&second, Verdict::Approve, None))
        .await
        .expect("the steward approves");
    assert_eq!(done.status, WorkflowStatus::Approved);
    let trail = fixture
        .backend_as(COMPLIANCE)
        .trail("workflow", &workflow_id)
        .await
        .expect("trail");
    assert!(
        trail
            .iter()
            .any(|event| event.entry.actor == SUB && event.entry.details.contains(AWAY)),
        "the trail says whom SUB decided for"
    );

    // A delegate may not decide a step of their own request.
    let mut own = confidential("agt-sub-own");
    own.agent.owner = SUB.into();
    let own = sub.request_deployment(&own).await.expect("sub requests");
    let own = away.workflow(&own.workflow_ids[0]).await.expect("workflow");
    assert!(matches!(
        refusal(sub.decide(&for_someone(&own, Verdict::Approve, AWAY)).await),
        DecisionError::SeparationOfDuties { email, .. } if email == SUB
    ));

    // Ended, it no longer lets SUB decide for AWAY.
    let ended = away.end_delegation(None).await.expect("end");
    assert_eq!(ended.len(), 1);
    assert!(matches!(
        refusal(sub.decide(&for_someone(&own, Verdict::Approve, AWAY)).await),
        DecisionError::SeparationOfDuties { .. } | DecisionError::NotDelegated { .. }
    ));
    let fresh = fixture
        .backend_as(REQUESTER)
        .request_deployment(&confidential("agt-after-end"))
        .await
        .expect("request");
    let fresh = away
        .workflow(&fresh.workflow_ids[0])
        .await
        .expect("workflow");
    assert!(matches!(
        refusal(
            sub.decide(&for_someone(&fresh, Verdict::Approve, AWAY))
                .await
        ),
        DecisionError::NotDelegated { .. }
    ));
    assert!(
        away.delegations(false)
            .await
            .expect("list")
            .iter()
            .all(|d| d.delegate != SUB),
        "an ended delegation is not listed as running"
    );
    assert!(matches!(
        sub.end_delegation(Some(&given.delegation_id)).await,
        Err(BackendError::Forbidden(_))
    ));
}

const MEMBER: &str = "member@example.com";
const AWAY3: &str = "away3@example.com";
const SUB3: &str = "sub3@example.com";
const DUAL: &str = "dual@example.com";
const COVERED: &str = "covered@example.com";
const COVERING: &str = "covering@example.com";
const GATE: &str = "ci-gate@example.com";

/// The third pass over who may act, on what and for whom: each hole,
/// refused where the data enters, on every backend.
async fn gates_hold_third_pass(fixture: &impl Fixture) {
    nothing_about_an_agent_changes_before_approval(fixture).await;
    dropping_what_a_policy_reads_needs_sign_off(fixture).await;
    delegations_cover_what_they_covered_while_they_run(fixture).await;
    the_review_author_decides_the_ethics_step(fixture).await;
    service_accounts_never_decide(fixture).await;
}

fn in_people(agent_id: &str) -> gavel::domain::Manifest {
    let mut filed = manifest(agent_id);
    filed.agent.team = "People".into();
    filed
}

/// A team member re-filing an agent for another team and owner changes
/// nothing before approval, and withdraws nobody else's request.
async fn nothing_about_an_agent_changes_before_approval(fixture: &impl Fixture) {
    fixture.add_user(MEMBER, &[Role::TechnicalLead]);
    fixture.change_user(MEMBER, &[Role::TechnicalLead], Some("People"));
    let owner = fixture.backend_as(REQUESTER);
    let member = fixture.backend_as(MEMBER);
    let first = owner
        .request_deployment(&in_people("agt-takeover"))
        .await
        .expect("the first version");
    assert_eq!(first.status, DeploymentStatus::Allowed);

    // The owner's pending re-filing leaves the record as it was.
    let mut riskier = in_people("agt-takeover");
    riskier.agent.version = "1.1.0".into();
    riskier.agent.data_classification = gavel::domain::DataClassification::Confidential;
    let owners = owner.request_deployment(&riskier).await.expect("1.1.0");
    assert_eq!(owners.status, DeploymentStatus::PendingApproval);
    let record = owner.agent("agt-takeover").await.expect("agent");
    assert_eq!(
        record.version, "1.0.0",
        "a pending request is not the record"
    );

    // A member files it for another team and owner: a governed change.
    let mut takeover = riskier.clone();
    takeover.agent.version = "1.2.0".into();
    takeover.agent.team = "Platform".into();
    takeover.agent.owner = MEMBER.into();
    let taken = member
        .request_deployment(&takeover)
        .await
        .expect("the member's request");
    assert_eq!(taken.status, DeploymentStatus::PendingApproval);
    assert!(taken.supersedes_on_approval);
    let change = taken
        .triggered_policies
        .iter()
        .find(|policy| policy.policy_id == "classification_change")
        .expect("the change needs sign-off");
    assert!(
        change
            .reason
            .contains(&format!("owner changed from {REQUESTER} to {MEMBER}"))
            && change
                .reason
                .contains("team changed from People to Platform"),
        "{}",
        change.reason
    );
    let record = owner.agent("agt-takeover").await.expect("agent");
    assert_eq!(
        (record.owner.as_str(), record.team.as_str()),
        (REQUESTER, "People")
    );
    assert_eq!(
        owner
            .deployment(&owners.deployment_id)
            .await
            .expect("the owner's request")
            .status,
        DeploymentStatus::PendingApproval,
        "another's filing withdraws nobody's pending request"
    );
    // The former team is not locked out.
    let mut again = riskier.clone();
    again.agent.version = "1.1.1".into();
    fixture
        .backend_as(REQUESTER)
        .request_deployment(&again)
        .await
        .expect("the owner still files");

    // Re-filing without a governed change: the member's own pending
    // request goes, the owner's stays; approval makes the record.
    let mut plain = in_people("agt-shared");
    plain.agent.data_classification = gavel::domain::DataClassification::Confidential;
    let owners = owner.request_deployment(&plain).await.expect("1.0.0");
    plain.agent.version = "1.0.1".into();
    let members = member.request_deployment(&plain).await.expect("1.0.1");
    assert!(!members.supersedes_on_approval);
    plain.agent.version = "1.0.2".into();
    let later = member.request_deployment(&plain).await.expect("1.0.2");
    let status = |id: String| async move {
        fixture
            .backend_as(COMPLIANCE)
            .deployment(&id)
            .await
            .expect("deployment")
            .status
    };
    assert_eq!(
        status(owners.deployment_id.clone()).await,
        DeploymentStatus::PendingApproval
    );
    assert_eq!(
        status(members.deployment_id.clone()).await,
        DeploymentStatus::Withdrawn,
        "the filer's own earlier request is superseded"
    );
    let mut approved = None;
    for workflow_id in &later.workflow_ids {
        let mut workflow = owner.workflow(workflow_id).await.expect("workflow");
        while let Some(step) = workflow.current_step() {
            let decider = match step.role {
                Role::TechnicalLead => LEAD,
                Role::DataSteward => STEWARD,
                other => panic!("unexpected step {other:?}"),
            };
            workflow = fixture
                .backend_as(decider)
                .decide(&decision(&workflow, Verdict::Approve, None))
                .await
                .expect("approve");
        }
        approved = Some(workflow.status);
    }
    assert_eq!(approved, Some(WorkflowStatus::Approved));
    assert_eq!(
        status(later.deployment_id.clone()).await,
        DeploymentStatus::Approved
    );
    assert_eq!(
        status(owners.deployment_id.clone()).await,
        DeploymentStatus::Withdrawn,
        "approval supersedes the requests filed before it"
    );
    assert_eq!(
        owner.agent("agt-shared").await.expect("agent").version,
        "1.0.2",
        "the approved request is the record"
    );
}

/// Removing or changing a label a policy reads is a governed change: the
/// new version waits for sign-off and the old one stays.
async fn dropping_what_a_policy_reads_needs_sign_off(fixture: &impl Fixture) {
    let requester = fixture.backend_as(REQUESTER);
    let mut eu = manifest("agt-escape");
    eu.agent.labels.insert("region".into(), "eu".into());
    let first = requester.request_deployment(&eu).await.expect("eu");
    assert_eq!(first.status, DeploymentStatus::PendingApproval);
    for (version, region) in [("1.0.1", None), ("1.0.2", Some("us"))] {
        let mut escaping = eu.clone();
        escaping.agent.version = version.into();
        escaping.agent.labels.clear();
        if let Some(region) = region {
            escaping.agent.labels.insert("region".into(), region.into());
        }
        let checked = requester
            .request_deployment(&escaping)
            .await
            .expect("re-file");
        assert_eq!(
            checked.status,
            DeploymentStatus::PendingApproval,
            "{version}: a label the policy reads, {region:?}"
        );
        let reason = &checked
            .triggered_policies
            .iter()
            .find(|policy| policy.policy_id == "classification_change")
            .expect("the classification change policy fires")
            .reason;
        assert!(reason.contains("label region"), "{reason}");
    }
    for id in &first.workflow_ids {
        assert_eq!(
            requester.workflow(id).await.expect("workflow").status,
            WorkflowStatus::InProgress,
            "the first version is not superseded before approval"
        );
    }
}

/// A delegation counts only while it runs when the decision arrives, and
/// covers the roles it was made with.
async fn delegations_cover_what_they_covered_while_they_run(fixture: &impl Fixture) {
    fixture.add_user(AWAY3, &[Role::TechnicalLead]);
    fixture.add_user(SUB3, &[Role::TechnicalLead]);
    let away = fixture.backend_as(AWAY3);
    let given = away
        .delegate(&delegation(SUB3, None))
        .await
        .expect("delegate");
    assert_eq!(given.roles, [Role::TechnicalLead]);

    // Back-dated into the window of an ended delegation: refused.
    let requested = fixture
        .backend_as(REQUESTER)
        .request_deployment(&confidential("agt-backdate"))
        .await
        .expect("request");
    let workflow = away
        .workflow(&requested.workflow_ids[0])
        .await
        .expect("workflow");
    let while_running = chrono::Utc::now();
    // Stored times are whole milliseconds: the end comes after the claim.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    away.end_delegation(Some(&given.delegation_id))
        .await
        .expect("end");
    let mut backdated = for_someone(&workflow, Verdict::Approve, AWAY3);
    backdated.decision_at = Some(while_running);
    let backdated = fixture.backend_as(SUB3).decide(&backdated).await;
    assert!(
        matches!(
            &backdated,
            Err(BackendError::Refused(DecisionError::DelegationEnded { .. }))
        ),
        "an ended delegation decides nothing, whatever time is claimed: {backdated:?}"
    );

    // Made when both held technical lead only; both gain data steward.
    let grown = away
        .delegate(&delegation(SUB3, None))
        .await
        .expect("delegate again");
    assert_eq!(grown.roles, [Role::TechnicalLead]);
    let both = [Role::TechnicalLead, Role::DataSteward];
    fixture.change_user(AWAY3, &both, None);
    fixture.change_user(SUB3, &both, None);
    let requested = fixture
        .backend_as(REQUESTER)
        .request_deployment(&confidential("agt-grown"))
        .await
        .expect("request");
    let workflow = fixture
        .backend_as(LEAD)
        .workflow(&requested.workflow_ids[0])
        .await
        .expect("workflow");
    let workflow = fixture
        .backend_as(LEAD)
        .decide(&decision(&workflow, Verdict::Approve, None))
        .await
        .expect("the lead approves");
    assert_eq!(
        workflow.current_step().map(|step| step.role),
        Some(Role::DataSteward)
    );
    let grown = fixture
        .backend_as(SUB3)
        .decide(&for_someone(&workflow, Verdict::Approve, AWAY3))
        .await;
    assert!(
        matches!(
            &grown,
            Err(BackendError::Refused(DecisionError::NotDelegated {
                role: Role::DataSteward,
                ..
            }))
        ),
        "a delegation does not grow with its people's roles: {grown:?}"
    );
    fixture
        .backend_as(AWAY3)
        .end_delegation(None)
        .await
        .expect("end");
}

/// The ethics step is decided by its review's author, who from the
/// assignment on decides no other step, for anyone.
async fn the_review_author_decides_the_ethics_step(fixture: &impl Fixture) {
    fixture.add_user(DUAL, &[Role::MlEngineer, Role::EthicsReviewer]);
    fixture.add_user(COVERED, &[Role::MlEngineer, Role::EthicsReviewer]);
    fixture.add_user(COVERING, &[Role::MlEngineer]);
    let ml = fixture.backend_as(ML);
    let hr_workflow = |agent_id: &'static str| async move {
        let requester = fixture.backend_as(REQUESTER);
        requester
            .request_deployment(&hr(agent_id))
            .await
            .expect("blocked until audited");
        passing_audit(fixture.backend_as(ML).as_ref(), agent_id, "1.0.0", 48).await;
        let request = requester
            .request_deployment(&hr(agent_id))
            .await
            .expect("request");
        requester
            .workflow(&request.workflow_ids[0])
            .await
            .expect("workflow")
    };

    // The reviewer takes the review, then cannot decide the ML step.
    let workflow = hr_workflow("agt-dual").await;
    let dual = fixture.backend_as(DUAL);
    dual.assign_review(&workflow.workflow_id, DUAL)
        .await
        .expect("take the review");
    assert!(matches!(
        refusal(
            dual.decide(&decision(&workflow, Verdict::Approve, None))
                .await
        ),
        DecisionError::AssignedTheReview { step_id: 2, .. }
    ));

    // Someone decided for cannot then be given the review.
    let workflow = hr_workflow("agt-covered").await;
    fixture
        .backend_as(COVERED)
        .delegate(&delegation(COVERING, Some(Role::MlEngineer)))
        .await
        .expect("delegate");
    fixture
        .backend_as(COVERING)
        .decide(&for_someone(&workflow, Verdict::Approve, COVERED))
        .await
        .expect("approved for covered");
    let message = forbidden(
        fixture
            .backend_as(COMPLIANCE)
            .assign_review(&workflow.workflow_id, COVERED)
            .await,
        "the review to someone a step was decided for",
    );
    assert!(
        message.contains("one person decides at most one step"),
        "{message}"
    );
    fixture
        .backend_as(COVERED)
        .end_delegation(None)
        .await
        .expect("end");

    // Only the review's author decides the ethics step.
    let workflow = hr_workflow("agt-author").await;
    let workflow = ml
        .decide(&decision(&workflow, Verdict::Approve, None))
        .await
        .expect("ml approves");
    let ethics = fixture.backend_as(ETHICS);
    let review = ethics
        .assign_review(&workflow.workflow_id, ETHICS)
        .await
        .expect("take the review");
    ethics
        .submit_review(&review.review_id, &complete_answers())
        .await
        .expect("submit");
    assert!(matches!(
        refusal(
            fixture
                .backend_as(ALL_ROLES)
                .decide(&decision(&workflow, Verdict::Approve, None))
                .await
        ),
        DecisionError::NotTheReviewer { .. }
    ));
    let decided = ethics
        .decide(&decision(&workflow, Verdict::Approve, None))
        .await
        .expect("the author decides");
    assert_eq!(decided.steps[1].approver_email.as_deref(), Some(ETHICS));
}

/// A service account reads, checks and requests; it decides nothing.
async fn service_accounts_never_decide(fixture: &impl Fixture) {
    fixture.add_service(GATE, &Role::ALL);
    let gate = fixture.backend_as(GATE);
    let requested = fixture
        .backend_as(REQUESTER)
        .request_deployment(&confidential("agt-gated"))
        .await
        .expect("request");
    let workflow = gate
        .workflow(&requested.workflow_ids[0])
        .await
        .expect("a service account reads");
    let message = forbidden(
        gate.decide(&decision(&workflow, Verdict::Approve, None))
            .await,
        "a step decided by a service account",
    );
    assert!(message.contains("service account"), "{message}");
    forbidden(
        gate.decide_tool("search-api", ToolStatus::Approved, "fine")
            .await,
        "a tool decided by a service account",
    );
    forbidden(
        gate.decide_policy_set(1, true, Some("fine")).await,
        "a policy set decided by a service account",
    );
    gate.check_deployment(&confidential("agt-gated"))
        .await
        .expect("a service account checks");
}

/// Whose turn it is shows in their inbox, decisions on a request in the
/// requester's, nothing in anyone else's; read stays read, and reading is
/// one's own.
async fn the_inbox_holds_what_concerns_its_reader(fixture: &impl Fixture) {
    let request = fixture
        .backend_as(REQUESTER)
        .request_deployment(&confidential("agt-inbox"))
        .await
        .expect("request");
    let workflow_id = request.workflow_ids[0].clone();
    let lead = fixture.backend_as(LEAD);
    let inbox = lead.inbox().await.expect("the lead's inbox");
    let turn = inbox
        .iter()
        .find(|item| item.workflow_id.as_deref() == Some(workflow_id.as_str()))
        .expect("the new workflow is in the lead's inbox");
    assert!(!turn.read);
    assert!(
        turn.summary
            .starts_with("Your turn: step 1 (technical lead)"),
        "{}",
        turn.summary
    );
    let unread = |items: &[gavel::backend::InboxItem]| items.iter().filter(|i| !i.read).count();
    let before = unread(&inbox);
    // Someone else marking it read changes nothing of the lead's, and is
    // told so.
    let marked = fixture
        .backend_as(NOBODY)
        .mark_read(&[turn.event_id])
        .await
        .expect("marking nothing");
    assert_eq!(marked, 0, "another's items are not marked");
    assert_eq!(unread(&lead.inbox().await.expect("inbox")), before);
    let marked = lead.mark_read(&[turn.event_id]).await.expect("mark read");
    assert_eq!(marked, 1);
    let after = lead.inbox().await.expect("inbox");
    assert_eq!(unread(&after), before - 1);
    assert!(
        after
            .iter()
            .any(|item| item.event_id == turn.event_id && item.read)
    );
    assert!(
        fixture
            .backend_as(REQUESTER)
            .inbox()
            .await
            .expect("requester's inbox")
            .iter()
            .all(|item| item.workflow_id.as_deref() != Some(workflow_id.as_str())),
        "opening a request is no news to its requester"
    );

    assert_eq!(turn.settled, None, "nothing was done yet");
    let workflow = lead.workflow(&workflow_id).await.expect("workflow");
    lead.decide(&decision(&workflow, Verdict::Approve, Some("fine")))
        .await
        .expect("approve");
    // Issue 35 (10): another technical lead's "your turn" says it was done.
    let others = fixture
        .backend_as(ALL_ROLES)
        .inbox()
        .await
        .expect("another lead's inbox");
    let theirs = others
        .iter()
        .find(|item| {
            item.workflow_id.as_deref() == Some(workflow_id.as_str())
                && item.summary.starts_with("Your turn: step 1")
        })
        .expect("the other lead was told too");
    assert!(
        theirs
            .settled
            .as_deref()
            .is_some_and(|settled| settled.starts_with("done: ")),
        "{theirs:?}"
    );
    let news = fixture
        .backend_as(REQUESTER)
        .inbox()
        .await
        .expect("requester's inbox");
    assert!(
        news.iter().any(
            |item| item.workflow_id.as_deref() == Some(workflow_id.as_str())
                && item.summary.contains("approved")
        ),
        "{news:#?}"
    );
    assert!(
        fixture
            .backend_as(NOBODY)
            .inbox()
            .await
            .expect("inbox")
            .is_empty()
    );
}

/// The built-in set plus a label rule and a category: what version 2 of
/// the conformance store becomes.
pub fn regional_set() -> String {
    let builtin = gavel::domain::policy::set::BUILTIN_SET;
    format!(
        "{}\n[[policy]]\npolicy_id = \"eu_residency\"\nname = \"EU residency\"\ndescription = \"EU agents need a technical lead.\"\ncondition = 'has(agent.labels.region) && agent.labels.region == \"eu\"'\naction = \"require_approval\"\napproval_chain = [\"technical_lead\"]\n",
        builtin
            .replace(
                "description = \"Gavel's built-in policies\"",
                "description = \"Regional rules\""
            )
            .replace(
                "\"operations\", \"research\",",
                "\"operations\", \"research\", \"internal_search\","
            )
    )
}

/// A policy set is proposed by one policy admin and approved by another;
/// approval makes it active at once, and evaluations name the version.
async fn policy_sets_take_two_policy_admins(fixture: &impl Fixture) {
    let admin = fixture.backend_as(ADMIN);
    let admin2 = fixture.backend_as(ADMIN2);
    let requester = fixture.backend_as(REQUESTER);
    let versions = admin.policy_sets().await.expect("versions");
    let first = versions.last().expect("version 1");
    assert_eq!(first.version, 1);
    assert_eq!(first.state, gavel::backend::PolicySetState::Active);
    assert_eq!(first.proposed_by, "system");

    let mut eu = manifest("agt-eu-residency");
    eu.agent.labels.insert("region".into(), "eu".into());
    let before = requester.check_deployment(&eu).await.expect("check");
    assert_eq!(before.status, DeploymentStatus::Allowed);
    assert_eq!(before.policy_set_version, Some(1));
    let mut search = manifest("agt-internal-search");
    search.agent.category = gavel::domain::Category::new("internal_search").unwrap();
    assert!(
        matches!(requester.check_deployment(&search).await, Err(BackendError::Invalid(m)) if m.contains("internal_search")),
        "not in version 1's vocabulary"
    );

    let text = regional_set();
    assert!(matches!(
        fixture.backend_as(LEAD).propose_policy_set(&text).await,
        Err(BackendError::Forbidden(_))
    ));
    let planned = admin.plan_policy_set(&text).await.expect("plan");
    assert_eq!(planned.diff.added, ["eu_residency"]);
    let proposed = admin.propose_policy_set(&text).await.expect("propose");
    let version = proposed.version.version;
    assert_eq!(
        proposed.version.state,
        gavel::backend::PolicySetState::Proposed
    );
    assert_eq!(proposed.source, text, "kept byte for byte");
    assert_eq!(proposed.version.proposed_by, ADMIN);
    assert_eq!(
        requester.check_deployment(&eu).await.expect("check").status,
        DeploymentStatus::Allowed,
        "a proposal changes nothing"
    );
    assert!(
        matches!(admin.decide_policy_set(version, true, None).await, Err(BackendError::Forbidden(m)) if m.contains("four eyes")),
        "the proposer cannot approve"
    );
    assert!(matches!(
        admin2.decide_policy_set(version, false, None).await,
        Err(BackendError::Invalid(_))
    ));
    let approved = admin2
        .decide_policy_set(version, true, Some("reviewed with legal"))
        .await
        .expect("approve");
    assert_eq!(
        approved.version.state,
        gavel::backend::PolicySetState::Active
    );
    assert_eq!(approved.version.decided_by.as_deref(), Some(ADMIN2));
    let versions = admin.policy_sets().await.expect("versions");
    let active: Vec<i64> = versions
        .iter()
        .filter(|v| v.state == gavel::backend::PolicySetState::Active)
        .map(|v| v.version)
        .collect();
    assert_eq!(active, [version], "exactly one version is active");
    assert!(matches!(
        admin2.decide_policy_set(version, true, None).await,
        Err(BackendError::Conflict(_))
    ));

    let after = requester.check_deployment(&eu).await.expect("check");
    assert_eq!(after.status, DeploymentStatus::PendingApproval);
    assert_eq!(after.policy_set_version, Some(version));
    assert!(
        after
            .triggered_policies
            .iter()
            .any(|p| p.policy_id == "eu_residency")
    );
    assert_eq!(
        requester
            .check_deployment(&search)
            .await
            .expect("check")
            .status,
        DeploymentStatus::Allowed,
        "the new vocabulary holds internal_search"
    );
    let requested = requester.request_deployment(&eu).await.expect("request");
    assert_eq!(requested.policy_set_version, Some(version));
    let workflow = admin
        .workflow(&requested.workflow_ids[0])
        .await
        .expect("workflow");
    assert_eq!(workflow.policy_set_version, Some(version));
    let shown = admin.policy_set(None).await.expect("active");
    assert_eq!(shown.version.version, version);
    assert!(
        admin
            .trail("policy_set", &version.to_string())
            .await
            .expect("trail")
            .len()
            >= 2,
        "proposed and approved are in the trail"
    );
}

/// A decision made offline keeps the time the person made it, if that lies
/// between the workflow version's time and its receipt; the record keeps
/// the receive time beside it, and the next step waits from receipt.
async fn decisions_keep_when_they_were_made(fixture: &impl Fixture) {
    let lead = fixture.backend_as(LEAD);
    let requester = fixture.backend_as(REQUESTER);
    let mut workflows = Vec::new();
    for n in 0..3 {
        let request = requester
            .request_deployment(&confidential(&format!("agt-offline-{n}")))
            .await
            .expect("request");
        workflows.push(
            lead.workflow(&request.workflow_ids[0])
                .await
                .expect("workflow"),
        );
    }
    // Receipt comes measurably after the workflow's version.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let far_past = chrono::Utc::now() - chrono::TimeDelta::days(2);
    let far_future = chrono::Utc::now() + chrono::TimeDelta::days(2);
    for claimed in [far_past, far_future] {
        let mut offline = decision(&workflows[0], Verdict::Approve, None);
        offline.decision_at = Some(claimed);
        match lead.decide(&offline).await {
            Err(BackendError::Invalid(message)) => {
                assert!(message.contains("decision_at"), "{message}")
            }
            other => panic!("a decision claiming {claimed} was not refused: {other:?}"),
        }
    }

    // Made the moment the workflow opened, received now.
    let made = workflows[0].created_at;
    let mut offline = decision(&workflows[0], Verdict::Approve, None);
    offline.decision_at = Some(made);
    lead.decide(&offline).await.expect("an offline decision");
    // As recorded (through a cache: as the server recorded it).
    let decided = lead.workflow(&offline.workflow_id).await.expect("workflow");
    let step = &decided.steps[0];
    assert_eq!(step.decision_at, Some(made), "the time the person decided");
    let received = step.received_at.expect("the receive time beside it");
    assert!(received > made, "{received} after {made}");
    assert_eq!(
        decided.waiting_since(),
        received,
        "the next step waits from receipt"
    );
    let stewards = QueueQuery::first(
        QueueFilter {
            scope: QueueScope::Everything,
            ..QueueFilter::for_roles(&[Role::DataSteward])
        },
        QueueSort::Age,
        500,
    );
    let item = lead
        .queue(&stewards)
        .await
        .expect("queue")
        .items
        .into_iter()
        .find(|item| item.workflow_id == decided.workflow_id)
        .expect("waiting on a steward");
    assert_eq!(
        item.waiting_since.timestamp_millis(),
        received.timestamp_millis(),
        "the queue ages from receipt"
    );

    // A clock a minute ahead is brought back to the receive time.
    let mut ahead = decision(&workflows[1], Verdict::Approve, None);
    ahead.decision_at = Some(chrono::Utc::now() + chrono::TimeDelta::minutes(1));
    let decided = lead.decide(&ahead).await.expect("a clock a little ahead");
    let step = &decided.steps[0];
    assert!(step.decision_at <= Some(chrono::Utc::now()), "{step:?}");
    assert_eq!(step.received_at, None, "made and received at once");

    // Online, without a claim: one time, the receive time.
    let online = lead
        .decide(&decision(&workflows[2], Verdict::Approve, None))
        .await
        .expect("online");
    assert!(online.steps[0].decision_at.is_some());
}

/// After every kind of change above, each workflow, deployment and review
/// is what its trail events say: every write path records what replay
/// needs.
async fn everything_replays_from_the_trail(fixture: &impl Fixture) {
    let report = fixture
        .backend_as(COMPLIANCE)
        .verify_trail()
        .await
        .expect("verify");
    assert_eq!(report.broken, None);
    let replay = report.replay.expect("replayed");
    assert_eq!(replay.mismatch, None, "{replay:?}");
    assert!(
        replay.workflows > 40 && replay.deployments > 40 && replay.reviews >= 3,
        "{replay:?}"
    );
    assert_eq!(replay.workflows_without_steps, 0);
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
    let requester = fixture.backend_as(REQUESTER);
    let request = requester
        .request_deployment(&confidential("agt-chain"))
        .await
        .expect("request");
    assert_eq!(request.status, DeploymentStatus::PendingApproval);
    assert_eq!(
        request.workflow_ids.len(),
        2,
        "pii approval, and medium risk: confidential data is at least medium"
    );
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
    // What waits on stewards, which a lead may look at but not decide.
    let steward_queue = QueueQuery::first(
        QueueFilter {
            scope: QueueScope::Everything,
            ..QueueFilter::for_roles(&[Role::DataSteward])
        },
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
    let medium = lead
        .workflow(&request.workflow_ids[1])
        .await
        .expect("workflow");
    assert_eq!(medium.triggered_by_policy, "risk_tier_medium");
    lead.decide(&decision(&medium, Verdict::Approve, None))
        .await
        .expect("approve");
    let deployment = steward
        .deployment(&request.deployment_id)
        .await
        .expect("deployment");
    assert_eq!(deployment.status, DeploymentStatus::Approved);
    // A check of the approved version, unchanged, answers approved: the
    // sign-offs were given (and the set renews none).
    let check = requester
        .check_deployment(&confidential("agt-chain"))
        .await
        .expect("check");
    assert_eq!(check.status, DeploymentStatus::Approved, "{check:?}");
    assert!(
        check
            .standing
            .is_some_and(|standing| standing.due.is_none()),
        "{check:?}"
    );
    assert_eq!(
        requester
            .recertifications_due(30)
            .await
            .expect("recertifications")
            .total,
        0
    );

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
    let second = requester.request_deployment(&next).await.expect("request");
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
    for invisible in ["  ", "\u{200B}\u{2060}", "\u{FEFF}\u{3164}\u{2800}"] {
        let err = refusal(
            all.decide(&decision(&workflow, Verdict::Reject, Some(invisible)))
                .await,
        );
        assert_eq!(err, DecisionError::EmptyRejectionComment, "{invisible:?}");
    }

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
    let request = fixture
        .backend_as(REQUESTER)
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
    let request = fixture
        .backend_as(REQUESTER)
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
    let requester = fixture.backend_as(REQUESTER);
    let blocked = requester
        .request_deployment(&hr("agt-hr"))
        .await
        .expect("request");
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

    let pending = requester
        .request_deployment(&hr("agt-hr"))
        .await
        .expect("request");
    assert_eq!(pending.status, DeploymentStatus::PendingApproval);
    assert_eq!(
        pending
            .triggered_policies
            .iter()
            .map(|p| p.policy_id.as_str())
            .collect::<Vec<_>>(),
        ["hr_bias_audit", "risk_tier_high"],
        "an HR agent is high risk whatever it declares"
    );
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
            attributes: Vec::new(),
            mode: Default::default(),
            source: None,
            threshold: None,
        })
        .await;
    assert!(matches!(bad, Err(BackendError::Invalid(_))), "{bad:?}");
}

pub fn complete_answers() -> Answers {
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
    let requester = fixture.backend_as(REQUESTER);
    requester
        .request_deployment(&hr("agt-ethics"))
        .await
        .expect("first request is blocked");
    passing_audit(ml.as_ref(), "agt-ethics", "1.0.0", 48).await;
    let request = requester
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
        serde_json::json!(DRAFT_ANSWERS[0]),
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
    let requester = fixture.backend_as(REQUESTER);
    for n in 0..23 {
        let mut manifest = with_risk(manifest(&format!("agt-page-{n:02}")), RiskTier::Medium);
        manifest.agent.team = if n % 2 == 0 {
            "Paging Even"
        } else {
            "Paging Odd"
        }
        .into();
        requester
            .request_deployment(&manifest)
            .await
            .expect("request");
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
        scope: QueueScope::Everything,
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
    fixture
        .backend_as(REQUESTER)
        .request_deployment(&blocked)
        .await
        .expect("request");
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
            ..DeploymentQuery::default()
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
                ..DeploymentQuery::default()
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
    blocked_drill_down(backend.as_ref(), &all).await;
}

/// Issue 35 (9): leadership drills into the blocked deployments by policy,
/// team, agent or text, sorted by age, team or policy, a page at a time;
/// every page joined is the filter and order applied to the whole set.
async fn blocked_drill_down(backend: &dyn GovernanceBackend, every: &[DeploymentRequest]) {
    use gavel::backend::DeploymentSort;
    let read_all = |query: DeploymentQuery| async move {
        let mut rows = Vec::new();
        let mut cursor = None;
        loop {
            let page = backend
                .deployments(&DeploymentQuery {
                    cursor,
                    limit: 2,
                    ..query.clone()
                })
                .await
                .expect("page");
            rows.extend(page.items.into_iter().map(|d| d.deployment_id));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return rows,
            }
        }
    };
    let blocked = |sort, filter: &dyn Fn(&DeploymentRequest) -> bool| {
        let mut rows: Vec<&DeploymentRequest> = every.iter().filter(|d| filter(d)).collect();
        let first_policy = |d: &DeploymentRequest| {
            d.triggered_policies
                .iter()
                .filter(|p| p.blocking)
                .map(|p| p.policy_id.clone())
                .min()
                .unwrap_or_default()
        };
        let time = |d: &DeploymentRequest| (d.requested_at, d.deployment_id.clone());
        match sort {
            DeploymentSort::Newest => rows.sort_by_key(|d| std::cmp::Reverse(time(d))),
            DeploymentSort::Oldest => rows.sort_by_key(|d| time(d)),
            DeploymentSort::Team => rows.sort_by_key(|d| (d.team.clone(), time(d))),
            DeploymentSort::Policy => rows.sort_by_key(|d| (first_policy(d), time(d))),
        }
        rows.into_iter()
            .map(|d| d.deployment_id.clone())
            .collect::<Vec<_>>()
    };
    let query = |sort| DeploymentQuery {
        status: Some(DeploymentStatus::Blocked),
        sort,
        ..DeploymentQuery::default()
    };
    for sort in DeploymentSort::ALL {
        assert_eq!(
            read_all(query(sort)).await,
            blocked(sort, &|_| true),
            "{sort:?}"
        );
    }
    let sample = every.first().expect("something is blocked");
    let policy = sample
        .triggered_policies
        .iter()
        .find(|p| p.blocking)
        .expect("a blocking policy")
        .policy_id
        .clone();
    let by_policy = DeploymentQuery {
        policy: Some(policy.clone()),
        ..query(DeploymentSort::Team)
    };
    assert_eq!(
        read_all(by_policy).await,
        blocked(DeploymentSort::Team, &|d| d
            .triggered_policies
            .iter()
            .any(|p| p.blocking && p.policy_id == policy))
    );
    let by_team = DeploymentQuery {
        team: Some(sample.team.clone()),
        ..query(DeploymentSort::Oldest)
    };
    assert_eq!(
        read_all(by_team).await,
        blocked(DeploymentSort::Oldest, &|d| d.team == sample.team)
    );
    let by_agent = DeploymentQuery {
        agent_id: Some(sample.agent_id.clone()),
        ..query(DeploymentSort::Policy)
    };
    assert_eq!(
        read_all(by_agent).await,
        blocked(DeploymentSort::Policy, &|d| d.agent_id == sample.agent_id)
    );
    let searched = DeploymentQuery {
        search: Some(sample.agent_id.clone()),
        ..query(DeploymentSort::Newest)
    };
    assert!(read_all(searched).await.contains(&sample.deployment_id));
    // Narrowing or sorting the whole record this way is refused: it would
    // cost a scan per page.
    let everything = DeploymentQuery {
        status: None,
        sort: DeploymentSort::Team,
        limit: 5,
        ..DeploymentQuery::default()
    };
    invalid(
        backend.deployments(&everything).await,
        "a team sort of every deployment",
    );
    let keyed = backend
        .deployments(&DeploymentQuery {
            limit: 1,
            ..query(DeploymentSort::Team)
        })
        .await
        .expect("page");
    if let Some(cursor) = keyed.next {
        // A keyed cursor means nothing to another order.
        invalid(
            backend
                .deployments(&DeploymentQuery {
                    cursor: Some(cursor),
                    limit: 1,
                    ..query(DeploymentSort::Oldest)
                })
                .await,
            "a team cursor in a time order",
        );
    }
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
            ..DeploymentQuery::default()
        })
        .await;
    assert!(
        matches!(bad_cursor, Err(BackendError::Invalid(_))),
        "{bad_cursor:?}"
    );
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, BackendError>, what: &str) -> String {
    match result {
        Err(BackendError::Forbidden(message)) => message,
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

fn invalid<T: std::fmt::Debug>(result: Result<T, BackendError>, what: &str) -> String {
    match result {
        Err(BackendError::Invalid(message)) => message,
        other => panic!("{what}: expected invalid input, got {other:?}"),
    }
}

pub fn run_start(agent_id: &str, cases: u64) -> gavel::backend::AuditRunStart {
    gavel::backend::AuditRunStart {
        agent_id: agent_id.into(),
        agent_version: "1.0.0".into(),
        settings: gavel::backend::RunSettings {
            agent: gavel::backend::AgentProtocol::OpenaiChat {
                model: "screening".into(),
                system_prompt: None,
                temperature: Some(0.0),
                prompt_template: None,
            },
            endpoint: "https://agent.example/v1".into(),
            api_key_env: Some("AGENT_KEY".into()),
            case_file: "/cases.jsonl".into(),
            attribute: "sex".into(),
            attributes: Vec::new(),
            mode: Default::default(),
            classifier: gavel::auditor::classifier::DEFAULT_CLASSIFIER.into(),
            concurrency: 8,
            timeout_ms: 30_000,
            max_attempts: 5,
            requests_per_second: None,
        },
        cases_sha256: "ab".repeat(32),
        case_count: cases,
    }
}

pub fn case(
    id: &str,
    sex: &str,
    pair: &str,
    outcome: gavel::backend::CaseOutcomeKind,
) -> gavel::backend::CaseOutcome {
    gavel::backend::CaseOutcome {
        case_id: id.into(),
        attributes: [("sex".to_owned(), sex.to_owned())].into(),
        pair_id: Some(pair.into()),
        input: format!("Should we advance candidate {id}?"),
        response: "Recommended.".into(),
        response_sha256: "cd".repeat(32),
        response_bytes: 12,
        outcome,
        score: None,
        reason: "test".into(),
        latency_ms: 5,
        recorded_at: None,
    }
}

/// An audit run belongs to who started it; each case counts once whatever
/// is sent again; a run finishes only whole, into the audit of the agent
/// version, with unknown answers reported and never counted negative.
async fn audit_runs_count_each_case_once(fixture: &impl Fixture) {
    use gavel::backend::CaseOutcomeKind::{Negative, Positive, Unknown};
    fixture
        .backend_as(REQUESTER)
        .request_deployment(&hr("agt-run"))
        .await
        .expect("request");
    let ml = fixture.backend_as(ML);
    let start = run_start("agt-run", 6);
    let message = forbidden(
        fixture.backend_as(LEAD).start_audit_run(&start).await,
        "a run by a lead",
    );
    assert!(message.contains("ml_engineer"), "{message}");
    let mut leaky = start.clone();
    leaky.settings.endpoint = "https://user:secret@agent.example/v1?key=abc".into();
    invalid(
        ml.start_audit_run(&leaky).await,
        "an endpoint with credentials",
    );
    let run = ml.start_audit_run(&start).await.expect("start");
    assert_eq!(run.started_by, ML);
    assert_eq!(run.counts.done, 0);
    assert_eq!(run.classifier_sha256.len(), 64);

    let cases = [
        case("c1", "female", "p1", Positive),
        case("c2", "female", "p2", Positive),
        case("c3", "female", "p3", Unknown),
        case("c4", "male", "p1", Positive),
        case("c5", "male", "p2", Negative),
        case("c6", "male", "p3", Negative),
    ];
    forbidden(
        fixture
            .backend_as(ALL_ROLES)
            .record_case_outcomes(&run.run_id, &cases)
            .await,
        "outcomes for someone else's run",
    );
    let first = ml
        .record_case_outcomes(&run.run_id, &cases[..3])
        .await
        .expect("outcomes");
    assert_eq!((first.recorded, first.done), (3, 3));
    assert!(
        matches!(ml.finish_audit_run(&run.run_id).await, Err(BackendError::Conflict(m)) if m.contains("3 of its 6")),
        "a run finishes only whole"
    );
    // Sent again with other outcomes (a resumed run): the first stand.
    let flipped: Vec<_> = cases[..3]
        .iter()
        .map(|case| gavel::backend::CaseOutcome {
            outcome: Negative,
            ..case.clone()
        })
        .collect();
    let again = ml
        .record_case_outcomes(&run.run_id, &flipped)
        .await
        .expect("again");
    assert_eq!((again.recorded, again.done), (0, 3));
    ml.record_case_outcomes(&run.run_id, &cases[3..])
        .await
        .expect("the rest");
    invalid(
        ml.record_case_outcomes(&run.run_id, &[case("c7", "male", "p4", Positive)])
            .await,
        "more cases than the run has",
    );
    let mut unlabelled = case("c8", "male", "p4", Positive);
    unlabelled.attributes.clear();
    invalid(
        ml.record_case_outcomes(&run.run_id, &[unlabelled]).await,
        "a case without the run's attribute",
    );

    let female = ml
        .audit_run_cases(
            &run.run_id,
            &gavel::backend::CaseQuery {
                group: Some("female".into()),
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .expect("cases");
    assert_eq!(
        female
            .cases
            .iter()
            .map(|c| c.case_id.as_str())
            .collect::<Vec<_>>(),
        ["c1", "c2"]
    );
    assert_eq!(
        female.cases[0].outcome, Positive,
        "the first outcome stands"
    );
    let rest = ml
        .audit_run_cases(
            &run.run_id,
            &gavel::backend::CaseQuery {
                group: Some("female".into()),
                after: female.next.clone(),
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .expect("next page");
    assert_eq!(rest.cases.len(), 1);
    assert!(rest.next.is_none());
    // The same by category (how an intersection's cases are asked for), a
    // page at a time, and a category no case holds.
    let (ml_ref, run_id) = (&ml, run.run_id.as_str());
    let by_category = |categories: Vec<(String, String)>, after: Option<String>| {
        let ml = ml_ref;
        async move {
            ml.audit_run_cases(
                run_id,
                &gavel::backend::CaseQuery {
                    categories,
                    after,
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .expect("cases by category")
        }
    };
    let female_category = vec![("sex".to_owned(), "female".to_owned())];
    let first = by_category(female_category.clone(), None).await;
    let second = by_category(female_category, first.next.clone()).await;
    let ids: Vec<&str> = first
        .cases
        .iter()
        .chain(&second.cases)
        .map(|c| c.case_id.as_str())
        .collect();
    assert_eq!(ids, ["c1", "c2", rest.cases[0].case_id.as_str()]);
    assert!(second.next.is_none());
    let none = by_category(
        vec![
            ("sex".to_owned(), "female".to_owned()),
            ("region".to_owned(), "north \"&=,".to_owned()),
        ],
        None,
    )
    .await;
    assert!(none.cases.is_empty() && none.next.is_none());
    // Cases can carry personal data: a lead outside the agent's team and
    // someone with no role see the run's figures, not its cases; a
    // compliance officer reads them.
    for outsider in [LEAD, NOBODY] {
        let message = forbidden(
            fixture
                .backend_as(outsider)
                .audit_run_cases(&run.run_id, &gavel::backend::CaseQuery::default())
                .await,
            "cases read by an outsider",
        );
        assert!(message.contains("personal data"), "{message}");
    }
    fixture
        .backend_as(COMPLIANCE)
        .audit_run_cases(&run.run_id, &gavel::backend::CaseQuery::default())
        .await
        .expect("a compliance officer reads the cases");

    let audit = ml.finish_audit_run(&run.run_id).await.expect("finish");
    assert_eq!(audit.run_id.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(audit.recorded_by.as_deref(), Some(ML));
    let group = |name: &str| {
        audit
            .stats
            .groups
            .iter()
            .find(|group| group.group == name)
            .map(|group| (group.positive, group.total))
    };
    assert_eq!(
        group("female"),
        Some((2, 2)),
        "the unknown answer is in no rate"
    );
    assert_eq!(group("male"), Some((1, 3)));
    assert!(
        audit
            .stats
            .warnings
            .iter()
            .any(|warning| warning.contains("1 of 3 answers could not be classified")),
        "{:?}",
        audit.stats.warnings
    );
    let finished = ml.audit_run(&run.run_id).await.expect("run");
    assert_eq!(finished.audit_id.as_deref(), Some(audit.audit_id.as_str()));
    assert_eq!(finished.evidence_sha256.as_deref().map(str::len), Some(64));
    // Pairs with both sides known: p1 (same) and p2 (flips); p3 has an
    // unknown side.
    assert_eq!(
        (finished.counts.pairs, finished.counts.flipped_pairs),
        (2, 1)
    );
    assert!(matches!(
        ml.finish_audit_run(&run.run_id).await,
        Err(BackendError::Conflict(_))
    ));
    assert!(matches!(
        ml.record_case_outcomes(&run.run_id, &cases[..1]).await,
        Err(BackendError::Conflict(_))
    ));
    let listed = ml.audit_runs(Some("agt-run")).await.expect("runs");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        ml.audits("agt-run").await.expect("audits")[0].audit_id,
        audit.audit_id
    );
}

/// Hole 1: a manifest naming someone else as requester cannot make a
/// technical lead's own request decidable by them.
async fn the_requester_is_whoever_is_authenticated(fixture: &impl Fixture) {
    let lead = fixture.backend_as(LEAD);
    let mut forged = confidential("agt-sod");
    forged.agent.owner = LEAD.into();
    forged.requested_by = Some(REQUESTER.into());
    let message = invalid(lead.request_deployment(&forged).await, "forged requester");
    assert!(message.contains("requested_by"), "{message}");
    // Checking ignores it.
    assert_eq!(
        lead.check_deployment(&forged).await.expect("check").status,
        DeploymentStatus::PendingApproval
    );
    forged.requested_by = Some(LEAD.to_uppercase());
    let request = lead
        .request_deployment(&forged)
        .await
        .expect("naming yourself is fine");
    assert_eq!(request.requested_by, LEAD);
    let workflow = lead
        .workflow(&request.workflow_ids[0])
        .await
        .expect("workflow");
    assert_eq!(workflow.requested_by, LEAD);
    let err = refusal(
        lead.decide(&decision(&workflow, Verdict::Approve, None))
            .await,
    );
    assert!(
        matches!(err, DecisionError::SeparationOfDuties { .. }),
        "{err:?}"
    );
}

/// Hole 2: audits need the role, carry no threshold, are stamped, and
/// cannot come from the future.
async fn audits_are_gated_and_stamped(fixture: &impl Fixture) {
    fixture
        .backend_as(REQUESTER)
        .request_deployment(&hr("agt-graded"))
        .await
        .expect("request");
    let message = forbidden(
        fixture
            .backend_as(LEAD)
            .record_audit(&submission("agt-graded", "1.0.0", 45))
            .await,
        "audit by a lead",
    );
    assert!(message.contains("ml_engineer"), "{message}");
    let ml = fixture.backend_as(ML);
    let mut lenient = submission("agt-graded", "1.0.0", 5);
    lenient.threshold = Some(0.05);
    let message = invalid(ml.record_audit(&lenient).await, "self-graded audit");
    assert!(message.contains("threshold"), "{message}");
    let mut future = submission("agt-graded", "1.0.0", 45);
    future.tested_at = Some(chrono::Utc::now() + chrono::Duration::days(365 * 900));
    let message = invalid(ml.record_audit(&future).await, "audit from the future");
    assert!(message.contains("future"), "{message}");
    let audit = ml
        .record_audit(&submission("agt-graded", "1.0.0", 45))
        .await
        .expect("audit");
    assert_eq!(audit.recorded_by.as_deref(), Some(ML));
    assert!(audit.recorded_at.is_some());
    // A failing audit blocks whatever it says about itself.
    ml.record_audit(&submission("agt-graded", "1.0.0", 5))
        .await
        .expect("audit");
    assert_eq!(
        ml.check_deployment(&hr("agt-graded"))
            .await
            .expect("check")
            .status,
        DeploymentStatus::Blocked
    );
}

/// Hole 3: only the owner or a team member with a role may request an
/// agent; lowering its risk needs a data steward and keeps the earlier
/// request open until approved.
async fn refiling_an_agent_as_harmless(fixture: &impl Fixture) {
    let requester = fixture.backend_as(REQUESTER);
    let risky = with_risk(confidential("agt-refile"), RiskTier::Medium);
    let first = requester.request_deployment(&risky).await.expect("request");
    assert_eq!(first.workflow_ids.len(), 2);
    let mut harmless = manifest("agt-refile");
    harmless.agent.data_classification = gavel::domain::DataClassification::Public;
    harmless.agent.version = "1.0.1".into();
    let mut stranger = harmless.clone();
    stranger.agent.owner = NOBODY.into();
    let message = forbidden(
        fixture
            .backend_as(NOBODY)
            .request_deployment(&stranger)
            .await,
        "re-filing by a stranger",
    );
    assert!(
        message.contains("only the owner of agt-refile"),
        "{message}"
    );

    let refiled = requester
        .request_deployment(&harmless)
        .await
        .expect("re-file");
    assert_eq!(refiled.status, DeploymentStatus::PendingApproval);
    assert!(refiled.supersedes_on_approval);
    assert_eq!(
        refiled.triggered_policies[0].policy_id,
        "classification_change"
    );
    assert!(
        refiled.triggered_policies[0]
            .reason
            .contains("data classification lowered from confidential to public"),
        "{:?}",
        refiled.triggered_policies[0].reason
    );
    // Nothing is withdrawn and the record stands until a steward agrees.
    for id in &first.workflow_ids {
        let workflow = requester.workflow(id).await.expect("workflow");
        assert_eq!(workflow.status, WorkflowStatus::InProgress, "{id}");
    }
    let agent = requester.agent("agt-refile").await.expect("agent");
    assert_eq!(
        agent.data_classification,
        gavel::domain::DataClassification::Confidential
    );

    let change = requester
        .workflow(&refiled.workflow_ids[0])
        .await
        .expect("workflow");
    assert_eq!(
        change.steps.iter().map(|s| s.role).collect::<Vec<_>>(),
        [Role::DataSteward]
    );
    fixture
        .backend_as(STEWARD)
        .decide(&decision(
            &change,
            Verdict::Approve,
            Some("re-classified with the DPO"),
        ))
        .await
        .expect("steward approves");
    for id in &first.workflow_ids {
        let workflow = requester.workflow(id).await.expect("workflow");
        assert_eq!(workflow.status, WorkflowStatus::Withdrawn, "{id}");
    }
    assert_eq!(
        requester
            .deployment(&first.deployment_id)
            .await
            .expect("deployment")
            .status,
        DeploymentStatus::Withdrawn
    );
    let agent = requester.agent("agt-refile").await.expect("agent");
    assert_eq!(
        agent.data_classification,
        gavel::domain::DataClassification::Public
    );
}

/// Hole 4: tool approval is a record a steward makes; the declared risk
/// tier cannot go below the minimum.
async fn tools_are_approved_by_record(fixture: &impl Fixture) {
    let requester = fixture.backend_as(REQUESTER);
    let mut tooled = manifest("agt-tools");
    tooled.agent.has_external_tools = true;
    tooled.declared_tools_approved = Some(true);
    let unnamed = requester.check_deployment(&tooled).await.expect("check");
    assert_eq!(unnamed.status, DeploymentStatus::Blocked);
    assert!(
        unnamed
            .warnings
            .iter()
            .any(|w| w.contains("tools_approved"))
    );
    assert!(
        unnamed.remediation[0].contains("names none"),
        "{:?}",
        unnamed.remediation
    );
    tooled.external_tools = vec!["conformance-search".into()];
    assert_eq!(
        requester
            .check_deployment(&tooled)
            .await
            .expect("check")
            .status,
        DeploymentStatus::Blocked
    );
    let message = forbidden(
        fixture
            .backend_as(LEAD)
            .decide_tool("conformance-search", ToolStatus::Approved, "looks fine")
            .await,
        "a lead approving a tool",
    );
    assert!(message.contains("data_steward"), "{message}");
    let record = fixture
        .backend_as(STEWARD)
        .decide_tool(
            "conformance-search",
            ToolStatus::Approved,
            "vendor terms reviewed",
        )
        .await
        .expect("approve");
    assert_eq!(record.decided_by, STEWARD);
    let evaluation = requester.check_deployment(&tooled).await.expect("check");
    assert_eq!(evaluation.status, DeploymentStatus::Allowed);
    assert!(evaluation.agent.tools_approved);
    assert!(
        requester
            .tools()
            .await
            .expect("tools")
            .iter()
            .any(|tool| tool.name == "conformance-search" && tool.status == ToolStatus::Approved)
    );
    let mut restricted = manifest("agt-floor");
    restricted.agent.data_classification = gavel::domain::DataClassification::Restricted;
    let floor = requester
        .check_deployment(&restricted)
        .await
        .expect("check");
    assert_eq!(floor.agent.risk_tier, RiskTier::High);
    assert!(
        floor
            .warnings
            .iter()
            .any(|w| w.contains("risk tier raised from low to high"))
    );
}

/// Issue 35: an ethics step is in the queue of the reviewer who holds its
/// review (to write it, then decide the step); while nobody holds it, it is
/// a compliance officer's to assign; everyone else sees it only when asked
/// for everything, with the reason.
async fn an_ethics_step_is_in_its_reviewers_queue(fixture: &impl Fixture) {
    const OTHER_REVIEWER: &str = "ethics.other@example.com";
    fixture.add_user(OTHER_REVIEWER, &[Role::EthicsReviewer]);
    let requester = fixture.backend_as(REQUESTER);
    let ml = fixture.backend_as(ML);
    let mut at_ethics = Vec::new();
    for agent_id in ["agt-queue-review-a", "agt-queue-review-b"] {
        let mut wanted = hr(agent_id);
        wanted.agent.team = "Ethics queue".into();
        requester
            .request_deployment(&wanted)
            .await
            .expect("blocked until audited");
        passing_audit(ml.as_ref(), agent_id, "1.0.0", 48).await;
        let request = requester
            .request_deployment(&wanted)
            .await
            .expect("request");
        let workflow = ml
            .workflow(&request.workflow_ids[0])
            .await
            .expect("workflow");
        ml.decide(&decision(&workflow, Verdict::Approve, None))
            .await
            .expect("ml approves");
        at_ethics.push(workflow.workflow_id);
    }
    let (a, b) = (at_ethics[0].clone(), at_ethics[1].clone());
    // The request opens a technical lead's workflow too.
    let mine = QueueFilter {
        team: Some("Ethics queue".into()),
        roles: Some(vec![Role::EthicsReviewer]),
        ..QueueFilter::default()
    };
    let everything = QueueFilter {
        scope: QueueScope::Everything,
        ..mine.clone()
    };
    let marked = |email: &'static str, filter: QueueFilter| async move {
        let page = fixture
            .backend_as(email)
            .queue(&QueueQuery::first(filter, QueueSort::Age, 50))
            .await
            .expect("queue");
        let mut items = page
            .items
            .into_iter()
            .map(|item| (item.workflow_id, item.not_actionable))
            .collect::<Vec<_>>();
        items.sort_by(|x, y| x.0.cmp(&y.0));
        items
    };
    let count = |email: &'static str| {
        let filter = mine.clone();
        async move {
            fixture
                .backend_as(email)
                .queue_count(&filter)
                .await
                .expect("count")
        }
    };
    let unassigned = Some(NotActionable::ReviewUnassigned);

    // Nobody holds either review: they are the compliance officer's to
    // assign, and no reviewer's to decide.
    assert_eq!(count(ETHICS).await, 0);
    assert_eq!(
        marked(ETHICS, everything.clone()).await,
        [(a.clone(), unassigned), (b.clone(), unassigned)]
    );
    assert_eq!(count(COMPLIANCE).await, 2);
    assert_eq!(
        marked(COMPLIANCE, mine.clone()).await,
        [(a.clone(), unassigned), (b.clone(), unassigned)]
    );

    let officer = fixture.backend_as(COMPLIANCE);
    officer.assign_review(&a, ETHICS).await.expect("assign a");
    officer
        .assign_review(&b, OTHER_REVIEWER)
        .await
        .expect("assign b");
    assert_eq!(count(COMPLIANCE).await, 0);
    assert_eq!(count(ETHICS).await, 1);
    assert_eq!(marked(ETHICS, mine.clone()).await, [(a.clone(), None)]);
    assert_eq!(
        marked(ETHICS, everything.clone()).await,
        [
            (a.clone(), None),
            (b.clone(), Some(NotActionable::ReviewedByAnother))
        ]
    );
    assert_eq!(marked(OTHER_REVIEWER, mine).await, [(b, None)]);
    // Whoever asks sees who holds the review, and its state.
    let held = fixture
        .backend_as(LEAD)
        .review_for_workflow(&a)
        .await
        .expect("lead")
        .expect("assigned");
    assert_eq!(
        (held.reviewer.as_str(), held.status),
        (ETHICS, ReviewStatus::Assigned)
    );
}

/// Hole 5: the queue and its count hold only what the reader may decide;
/// everything else is marked when asked for.
async fn the_queue_holds_what_the_reader_may_decide(fixture: &impl Fixture) {
    let requester = fixture.backend_as(REQUESTER);
    let mut own = with_risk(manifest("agt-actionable"), RiskTier::High);
    own.agent.team = "Actionable".into();
    let request = requester.request_deployment(&own).await.expect("request");
    let workflow_id = request.workflow_ids[0].clone();
    let mine = QueueFilter {
        team: Some("Actionable".into()),
        ..QueueFilter::default()
    };
    let everything = QueueFilter {
        scope: QueueScope::Everything,
        ..mine.clone()
    };
    let ids = |page: gavel::backend::QueuePage| {
        page.items
            .into_iter()
            .map(|item| (item.workflow_id, item.not_actionable))
            .collect::<Vec<_>>()
    };
    let first = |filter: &QueueFilter| QueueQuery::first(filter.clone(), QueueSort::Age, 50);
    // The requester holds technical_lead but requested it.
    assert_eq!(requester.queue_count(&mine).await.expect("count"), 0);
    assert!(ids(requester.queue(&first(&mine)).await.expect("queue")).is_empty());
    assert_eq!(
        ids(requester.queue(&first(&everything)).await.expect("queue")),
        [(workflow_id.clone(), Some(NotActionable::Requester))]
    );
    // One who holds every role decides step 1, and then sees it no more.
    let all = fixture.backend_as(ALL_ROLES);
    assert_eq!(all.queue_count(&mine).await.expect("count"), 1);
    let workflow = all.workflow(&workflow_id).await.expect("workflow");
    all.decide(&decision(&workflow, Verdict::Approve, None))
        .await
        .expect("approve");
    assert_eq!(all.queue_count(&mine).await.expect("count"), 0);
    assert_eq!(
        ids(all.queue(&first(&everything)).await.expect("queue")),
        [(workflow_id.clone(), Some(NotActionable::AlreadyDecided))]
    );
    // A role the reader does not hold.
    assert_eq!(
        ids(fixture
            .backend_as(ML)
            .queue(&first(&everything))
            .await
            .expect("queue")),
        [(
            workflow_id.clone(),
            Some(NotActionable::RoleNotHeld {
                role: Role::DataSteward
            })
        )]
    );
    // The steward's queue has it, unmarked.
    assert_eq!(
        ids(fixture
            .backend_as(STEWARD)
            .queue(&first(&mine))
            .await
            .expect("queue")),
        [(workflow_id, None)]
    );
}

/// Hole 6: a draft's answers are its reviewer's; everyone else sees who
/// holds it and its state (issue 35: every screen tells the same truth
/// about whose the ethics step is), never its answers.
async fn drafts_are_their_reviewers_alone(fixture: &impl Fixture) {
    let requester = fixture.backend_as(REQUESTER);
    requester
        .request_deployment(&hr("agt-draft"))
        .await
        .expect("blocked first");
    passing_audit(fixture.backend_as(ML).as_ref(), "agt-draft", "1.0.0", 48).await;
    let request = requester
        .request_deployment(&hr("agt-draft"))
        .await
        .expect("request");
    let workflow_id = request.workflow_ids[0].clone();
    let review = fixture
        .backend_as(COMPLIANCE)
        .assign_review(&workflow_id, ETHICS)
        .await
        .expect("assign");
    let mut secret = Answers::new();
    secret.insert(
        "risks_and_mitigations".into(),
        serde_json::json!(DRAFT_ANSWERS[1]),
    );
    let ethics = fixture.backend_as(ETHICS);
    ethics
        .save_review_draft(&review.review_id, &secret, None)
        .await
        .expect("draft");
    assert_eq!(
        ethics.review(&review.review_id).await.expect("own").answers,
        secret
    );
    let officer = fixture.backend_as(COMPLIANCE);
    let seen = officer.review(&review.review_id).await.expect("officer");
    assert_eq!(seen.status, ReviewStatus::Draft);
    assert!(
        seen.answers.is_empty() && seen.form_state.is_none(),
        "{seen:?}"
    );
    let linked = officer
        .review_for_workflow(&workflow_id)
        .await
        .expect("officer")
        .expect("exists");
    assert!(linked.answers.is_empty());
    let lead = fixture.backend_as(LEAD);
    let sealed = lead.review(&review.review_id).await.expect("lead");
    assert_eq!(
        (sealed.reviewer.as_str(), sealed.status),
        (ETHICS, ReviewStatus::Draft)
    );
    assert!(sealed.answers.is_empty() && sealed.form_state.is_none());
    let linked = lead
        .review_for_workflow(&workflow_id)
        .await
        .expect("lead")
        .expect("its holder is no secret");
    assert!(linked.answers.is_empty() && linked.reviewer == ETHICS);
    // A required answer of invisible characters is no answer.
    let mut blank = complete_answers();
    blank.insert(
        "risks_and_mitigations".into(),
        serde_json::json!("\u{200B}\u{2060}\u{3164}"),
    );
    match ethics.submit_review(&review.review_id, &blank).await {
        Err(BackendError::InvalidReview(issues)) => {
            assert_eq!(issues[0].question_id, "risks_and_mitigations")
        }
        other => panic!("expected validation issues, got {other:?}"),
    }
    // Submitted, it is the record everyone may read.
    ethics
        .submit_review(&review.review_id, &complete_answers())
        .await
        .expect("submit");
    assert_eq!(
        lead.review(&review.review_id)
            .await
            .expect("submitted")
            .answers,
        complete_answers()
    );
}

/// Assignment and withdrawal from the CLI and console rest on these.
async fn withdrawal_and_reassignment(fixture: &impl Fixture) {
    let requester = fixture.backend_as(REQUESTER);
    requester
        .request_deployment(&hr("agt-withdraw"))
        .await
        .expect("blocked first");
    passing_audit(fixture.backend_as(ML).as_ref(), "agt-withdraw", "1.0.0", 48).await;
    let request = requester
        .request_deployment(&hr("agt-withdraw"))
        .await
        .expect("request");
    let workflow_id = request.workflow_ids[0].clone();
    let officer = fixture.backend_as(COMPLIANCE);
    let reviewers = officer
        .users(Some(Role::EthicsReviewer))
        .await
        .expect("users");
    assert!(reviewers.iter().any(|user| user.email == ETHICS));
    assert!(
        reviewers
            .iter()
            .all(|user| user.roles.contains(&Role::EthicsReviewer))
    );
    officer
        .assign_review(&workflow_id, ETHICS)
        .await
        .expect("assign");
    // Only a compliance officer reassigns; the new reviewer starts afresh.
    let not_an_officer = fixture
        .backend_as(ML)
        .assign_review(&workflow_id, ALL_ROLES)
        .await;
    assert!(
        matches!(not_an_officer, Err(BackendError::Forbidden(_))),
        "a reassignment by someone not a compliance officer is refused as forbidden: {not_an_officer:?}"
    );
    let reassigned = officer
        .assign_review(&workflow_id, ALL_ROLES)
        .await
        .expect("reassign");
    assert_eq!(reassigned.reviewer, ALL_ROLES);
    assert_eq!(reassigned.status, ReviewStatus::Assigned);
    let actions: Vec<String> = officer
        .trail("review", &reassigned.review_id)
        .await
        .expect("trail")
        .into_iter()
        .map(|event| event.entry.action)
        .collect();
    assert_eq!(actions, ["review_assigned", "review_reassigned"]);

    // Nobody else withdraws; an officer must say why; the requester may.
    forbidden(
        fixture
            .backend_as(LEAD)
            .withdraw(&workflow_id, Some("mine now"))
            .await,
        "a lead withdrawing",
    );
    invalid(
        officer.withdraw(&workflow_id, Some("\u{200B}")).await,
        "an officer without a reason",
    );
    let withdrawn = requester
        .withdraw(&workflow_id, None)
        .await
        .expect("withdraw");
    assert_eq!(withdrawn.status, WorkflowStatus::Withdrawn);
    for id in &request.workflow_ids {
        assert_eq!(
            requester.workflow(id).await.expect("workflow").status,
            WorkflowStatus::Withdrawn
        );
    }
    assert_eq!(
        requester
            .deployment(&request.deployment_id)
            .await
            .expect("deployment")
            .status,
        DeploymentStatus::Withdrawn
    );
    assert!(matches!(
        requester.withdraw(&workflow_id, None).await,
        Err(BackendError::Conflict(_))
    ));
}

/// A removed user can no longer act, whatever the path.
async fn removed_users_cannot_act(fixture: &impl Fixture) {
    const LEAVER: &str = "leaver@example.com";
    fixture.add_user(LEAVER, &[Role::TechnicalLead]);
    let request = fixture
        .backend_as(REQUESTER)
        .request_deployment(&confidential("agt-leaver"))
        .await
        .expect("request");
    let leaver = fixture.backend_as(LEAVER);
    let workflow = leaver
        .workflow(&request.workflow_ids[0])
        .await
        .expect("workflow");
    fixture.remove_user(LEAVER);
    let after = fixture.backend_as(LEAVER);
    assert!(
        matches!(after.me().await, Err(BackendError::Unauthenticated(_))),
        "a removed user is no one"
    );
    let decided = after
        .decide(&decision(&workflow, Verdict::Approve, None))
        .await;
    assert!(
        matches!(decided, Err(BackendError::Unauthenticated(_))),
        "{decided:?}"
    );
    let stored = fixture
        .backend_as(LEAD)
        .workflow(&workflow.workflow_id)
        .await
        .expect("workflow");
    assert_eq!(stored.steps[0].status, StepStatus::Pending);
}

/// Every standing, read a page of `limit` at a time.
pub async fn every_standing(
    backend: &dyn GovernanceBackend,
    query: gavel::backend::StandingQuery,
) -> Vec<gavel::domain::bias::standing::AuditStanding> {
    let mut query = query;
    let mut standings = Vec::new();
    for _ in 0..100_000 {
        let page = backend.audit_standings(&query).await.expect("standings");
        assert!(
            page.standings.len() <= query.limit as usize,
            "a page holds at most its limit"
        );
        standings.extend(page.standings);
        match page.next {
            Some(next) => {
                query.after =
                    Some(gavel::backend::StandingCursor::decode(&next).expect("its own cursor"))
            }
            None => return standings,
        }
    }
    panic!("the standings never ended");
}

/// Standings read a page at a time are the whole list, in its order, each
/// agent once; filters by kind and text narrow it on the store.
async fn standings_page_by_page(fixture: &impl Fixture) {
    use gavel::backend::StandingQuery;
    use gavel::domain::bias::standing::{Attention, sort};
    let backend = fixture.backend_as(REQUESTER);
    let whole = every_standing(backend.as_ref(), StandingQuery::first(500)).await;
    assert!(whole.len() >= 5, "the fixture has agents: {}", whole.len());
    let mut sorted = whole.clone();
    sort(&mut sorted);
    assert_eq!(whole, sorted, "most urgent first, then expiry, then name");
    let kinds: std::collections::BTreeSet<_> = whole.iter().map(|s| s.attention).collect();
    assert!(kinds.len() >= 2, "several kinds of standing: {kinds:?}");

    for limit in [1, 2, 3] {
        let paged = every_standing(backend.as_ref(), StandingQuery::first(limit)).await;
        assert_eq!(paged, whole, "pages of {limit} are the whole list");
    }
    for kind in Attention::ALL {
        let only = every_standing(
            backend.as_ref(),
            StandingQuery {
                kinds: vec![kind],
                ..StandingQuery::first(2)
            },
        )
        .await;
        let expected: Vec<_> = whole
            .iter()
            .filter(|s| s.attention == kind)
            .cloned()
            .collect();
        assert_eq!(only, expected, "only {kind:?}");
    }
    // Text in a name, in other case, and an id.
    let named = &whole[whole.len() / 2];
    let word: String = named
        .name
        .chars()
        .take(4)
        .collect::<String>()
        .to_uppercase();
    let found = every_standing(
        backend.as_ref(),
        StandingQuery {
            search: Some(format!(" {word} ")),
            ..StandingQuery::first(2)
        },
    )
    .await;
    let needle = word.to_lowercase();
    let expected: Vec<_> = whole
        .iter()
        .filter(|s| {
            [&s.name, &s.agent_id, &s.team]
                .iter()
                .any(|text| text.to_lowercase().contains(&needle))
        })
        .cloned()
        .collect();
    assert!(found.iter().any(|s| s.agent_id == named.agent_id));
    assert_eq!(found, expected, "searching {word:?}");
    let by_id = every_standing(
        backend.as_ref(),
        StandingQuery {
            search: Some(named.agent_id.clone()),
            ..StandingQuery::first(50)
        },
    )
    .await;
    assert!(by_id.iter().any(|s| s.agent_id == named.agent_id));
    // Wildcards are text, not patterns.
    let none = every_standing(
        backend.as_ref(),
        StandingQuery {
            search: Some("%_%".into()),
            ..StandingQuery::first(50)
        },
    )
    .await;
    assert!(none.is_empty(), "{none:?}");
}
