//! Exceptions on every backend: asked for only by who may request the
//! agent's deployments, within the set's longest run; approved step by
//! step by the chain's roles; in force until their end by the store's
//! clock, then the policy applies again; revoked by who asked
//! (conformance suite part).

use chrono::{TimeDelta, Utc};
use gavel::backend::BackendError;
use gavel::domain::exception::{
    ExceptionDecision, ExceptionQuery, ExceptionState, ExceptionStatus, NewException,
};
use gavel::domain::{DeploymentStatus, Role};

use super::conformance::Fixture;
use super::*;

fn unvetted(agent_id: &str) -> Manifest {
    let mut manifest = manifest(agent_id);
    manifest.agent.has_external_tools = true;
    manifest.external_tools = vec!["unvetted_scraper".into()];
    manifest
}

/// Whether the policy fired in a check (earlier parts of the suite leave
/// the set with other rules, so the outcome alone does not say).
fn fires(check: &gavel::domain::Evaluation, policy_id: &str) -> bool {
    check
        .triggered_policies
        .iter()
        .any(|policy| policy.policy_id == policy_id && policy.blocking)
}

fn asked(agent_id: &str, policy_id: &str, days: i64) -> NewException {
    NewException {
        agent_id: agent_id.into(),
        agent_version: "1.0.0".into(),
        policy_id: policy_id.into(),
        until: Utc::now() + TimeDelta::days(days),
        reason: "the scraper's vendor review ends this month".into(),
        ticket: Some("https://tickets.example.com/GOV-1".into()),
        controls: Some("its calls are logged and read daily".into()),
    }
}

fn decision(exception_id: &str, approve: bool, version: Option<i64>) -> ExceptionDecision {
    ExceptionDecision {
        exception_id: exception_id.into(),
        approve,
        comment: (!approve).then(|| "not without the review".to_owned()),
        version,
    }
}

pub async fn exceptions_set_a_policy_aside_for_a_time(fixture: &impl Fixture) {
    let agent = "agt-excepted";
    let requester = fixture.backend_as(REQUESTER);
    let filed = requester
        .request_deployment(&unvetted(agent))
        .await
        .expect("a blocked request is recorded");
    assert_eq!(filed.status, DeploymentStatus::Blocked);

    // Who may ask, and for what.
    let refused = fixture
        .backend_as(NOBODY)
        .request_exception(&asked(agent, "external_api_block", 10))
        .await
        .expect_err("a stranger to the agent asks for nothing");
    assert!(matches!(refused, BackendError::Forbidden(_)), "{refused:?}");
    let too_long = requester
        .request_exception(&asked(agent, "external_api_block", 120))
        .await
        .expect_err("longer than the set's 90 days");
    assert!(
        matches!(&too_long, BackendError::Invalid(why) if why.contains("90 days")),
        "{too_long:?}"
    );
    let unknown_policy = requester
        .request_exception(&asked(agent, "no_such_policy", 10))
        .await
        .expect_err("only a policy of the active set");
    assert!(
        matches!(unknown_policy, BackendError::NotFound { .. }),
        "{unknown_policy:?}"
    );
    let unknown_agent = requester
        .request_exception(&asked("agt-never-filed", "external_api_block", 10))
        .await
        .expect_err("an agent Gavel does not know");
    assert!(
        matches!(&unknown_agent, BackendError::Invalid(why) if why.contains("deployment request")),
        "{unknown_agent:?}"
    );

    let exception = requester
        .request_exception(&asked(agent, "external_api_block", 1))
        .await
        .expect("the owner asks");
    assert_eq!(exception.status, ExceptionStatus::Pending);
    assert_eq!(
        exception.requested_by, REQUESTER,
        "who asks is who is signed in"
    );
    assert_eq!(
        exception.chain,
        [Role::TechnicalLead, Role::ComplianceOfficer],
        "the chain is the set's"
    );
    let again = requester
        .request_exception(&asked(agent, "external_api_block", 5))
        .await
        .expect_err("one open exception per version and policy");
    assert!(matches!(again, BackendError::Conflict(_)), "{again:?}");
    let check = requester
        .check_deployment(&unvetted(agent))
        .await
        .expect("check");
    assert!(
        fires(&check, "external_api_block"),
        "a pending exception sets nothing aside"
    );

    // Each step by its role, someone new, on the version they saw.
    let id = exception.exception_id.as_str();
    let compliance = fixture.backend_as(COMPLIANCE);
    let waiting = compliance
        .exceptions(&ExceptionQuery {
            awaiting_me: true,
            ..Default::default()
        })
        .await
        .expect("list");
    assert!(
        waiting.iter().all(|other| other.exception_id != id),
        "the first step is a technical lead's"
    );
    let wrong_role = compliance
        .decide_exception(&decision(id, true, None))
        .await
        .expect_err("the first step is a technical lead's");
    assert!(
        matches!(wrong_role, BackendError::Forbidden(_)),
        "{wrong_role:?}"
    );
    let lead = fixture.backend_as(LEAD);
    let stale = lead
        .decide_exception(&decision(id, true, Some(7)))
        .await
        .expect_err("decided on a version that is not the one stored");
    assert!(matches!(stale, BackendError::Conflict(_)), "{stale:?}");
    let halfway = lead
        .decide_exception(&decision(id, true, Some(1)))
        .await
        .expect("the technical lead approves");
    assert_eq!(halfway.status, ExceptionStatus::Pending);
    assert_eq!(halfway.approvals[0].by, LEAD);
    let waiting = compliance
        .exceptions(&ExceptionQuery {
            awaiting_me: true,
            ..Default::default()
        })
        .await
        .expect("list");
    assert!(waiting.iter().any(|other| other.exception_id == id));
    let active = compliance
        .decide_exception(&decision(id, true, None))
        .await
        .expect("the compliance officer approves");
    assert_eq!(active.status, ExceptionStatus::Active);
    assert_eq!(active.state, Some(ExceptionState::Active));

    // In force: the policy is set aside, the check names on whose word.
    let check = requester
        .check_deployment(&unvetted(agent))
        .await
        .expect("check");
    assert!(!fires(&check, "external_api_block"), "{check:?}");
    assert_eq!(check.exceptions.len(), 1);
    assert_eq!(check.exceptions[0].exception_id, id);
    assert_eq!(check.exceptions[0].approved_by, [LEAD, COMPLIANCE]);
    let other_version = {
        let mut manifest = unvetted(agent);
        manifest.agent.version = "1.0.1".into();
        requester.check_deployment(&manifest).await.expect("check")
    };
    assert!(
        fires(&other_version, "external_api_block"),
        "an exception covers the version it names, no other"
    );
    let dashboard = compliance.dashboard().await.expect("dashboard");
    assert!(dashboard.exceptions_active >= 1 && dashboard.exceptions_expiring >= 1);
    let listed = requester
        .exceptions(&ExceptionQuery {
            agent_id: Some(agent.into()),
            state: Some(ExceptionState::Active),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);

    // Its end passes by the store's clock: the policy applies again at
    // once, with nothing written (where the test can move that clock).
    if fixture.shares_the_clock() {
        let store = fixture.store();
        store.set_clock(gavel::clock::ManualClock::at(
            active.until + TimeDelta::minutes(1),
        ));
        let lapsed = requester.check_deployment(&unvetted(agent)).await;
        let lapsed_list = requester
            .exceptions(&ExceptionQuery {
                agent_id: Some(agent.into()),
                state: Some(ExceptionState::Lapsed),
                ..Default::default()
            })
            .await;
        store.set_clock(std::sync::Arc::new(gavel::clock::SystemClock));
        let lapsed = lapsed.expect("check after the end");
        assert!(fires(&lapsed, "external_api_block"));
        assert!(lapsed.exceptions.is_empty());
        let lapsed_list = lapsed_list.expect("list");
        assert_eq!(lapsed_list.len(), 1);
        assert_eq!(
            (lapsed_list[0].status, lapsed_list[0].state),
            (ExceptionStatus::Active, Some(ExceptionState::Lapsed)),
            "its status stays as decided; its state is read from the clock"
        );
    }

    // Revoked by who asked (not a stranger); a rejection says why.
    let second = requester
        .request_exception(&asked(agent, "risk_tier_medium", 30))
        .await
        .expect("a second exception, to another policy");
    let refused = fixture
        .backend_as(NOBODY)
        .revoke_exception(&second.exception_id, "no")
        .await
        .expect_err("a stranger revokes nothing");
    assert!(matches!(refused, BackendError::Forbidden(_)), "{refused:?}");
    let revoked = requester
        .revoke_exception(&second.exception_id, "asked for the wrong policy")
        .await
        .expect("who asked revokes it");
    assert_eq!(revoked.status, ExceptionStatus::Revoked);
    assert_eq!(revoked.closed_by.as_deref(), Some(REQUESTER));
    let late = lead
        .decide_exception(&decision(&second.exception_id, true, None))
        .await
        .expect_err("nothing waits on a revoked exception");
    assert!(matches!(late, BackendError::Conflict(_)), "{late:?}");
    let third = requester
        .request_exception(&asked(agent, "risk_tier_medium", 30))
        .await
        .expect("asked again once revoked");
    let silent = lead
        .decide_exception(&ExceptionDecision {
            comment: None,
            ..decision(&third.exception_id, false, None)
        })
        .await
        .expect_err("a rejection says why");
    assert!(matches!(silent, BackendError::Invalid(_)), "{silent:?}");
    let rejected = lead
        .decide_exception(&decision(&third.exception_id, false, None))
        .await
        .expect("rejected");
    assert_eq!(rejected.status, ExceptionStatus::Rejected);
    let trail = compliance
        .trail("exception", id)
        .await
        .expect("the exception's trail");
    let actions: Vec<&str> = trail
        .iter()
        .map(|event| event.entry.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "exception_requested",
            "exception_approved",
            "exception_approved"
        ]
    );
}
