//! Incidents on every backend: reported by anyone signed in (a severity
//! that suspends does so at once only from someone concerned with the
//! agent); a suspended version's check is blocked, naming the incident,
//! until the set's lift chain signs the lifting (never the person asking,
//! each step someone new); triage, the report owed and closure are a
//! compliance officer's, in order; deadlines are read from the store's
//! clock (conformance suite part).

use chrono::{TimeDelta, Utc};
use gavel::backend::BackendError;
use gavel::domain::DeploymentStatus;
use gavel::domain::incident::{
    IncidentAction, IncidentChange, IncidentFilter, IncidentQuery, IncidentStatus, NewIncident,
};

use super::conformance::Fixture;
use super::*;

fn report(agent_id: &str, severity: &str) -> NewIncident {
    NewIncident {
        agent_id: agent_id.into(),
        agent_version: None,
        severity: severity.into(),
        summary: "the agent answered customers with another customer's order".into(),
        became_aware_at: None,
        occurred_at: None,
    }
}

fn act(incident_id: &str, action: IncidentAction, version: Option<i64>) -> IncidentChange {
    IncidentChange {
        incident_id: incident_id.into(),
        action,
        version,
    }
}

fn suspends_any(check: &gavel::domain::Evaluation) -> bool {
    check
        .triggered_policies
        .iter()
        .any(|policy| policy.policy_id == "suspended")
}

fn suspended_by(check: &gavel::domain::Evaluation, incident_id: &str) -> bool {
    check.status == DeploymentStatus::Blocked
        && check
            .triggered_policies
            .iter()
            .any(|policy| policy.policy_id == "suspended" && policy.reason.contains(incident_id))
}

pub async fn incidents_suspend_until_people_lift_them(fixture: &impl Fixture) {
    let agent = "agt-incident";
    let owner = fixture.backend_as(REQUESTER);
    // Earlier parts leave the set asking for more (an intake): what
    // matters here is whether a suspension stands, whatever else does.
    owner
        .request_deployment(&manifest(agent))
        .await
        .expect("the agent is on record");

    // What a report must be.
    let unknown = owner
        .report_incident(&report(agent, "catastrophic"))
        .await
        .expect_err("a severity outside the set");
    assert!(
        matches!(&unknown, BackendError::Invalid(why) if why.contains("serious")),
        "{unknown:?}"
    );
    let mut future = report(agent, "serious");
    future.became_aware_at = Some(Utc::now() + TimeDelta::days(2));
    assert!(matches!(
        owner.report_incident(&future).await,
        Err(BackendError::Invalid(_))
    ));
    let mut unknown_version = report(agent, "serious");
    unknown_version.agent_version = Some("9.9.9".into());
    assert!(matches!(
        owner.report_incident(&unknown_version).await,
        Err(BackendError::Invalid(_))
    ));

    // A stranger's report is recorded, but suspends nothing until triage.
    let stranger = fixture
        .backend_as(NOBODY)
        .report_incident(&report(agent, "death"))
        .await
        .expect("anyone signed in reports");
    assert!(!stranger.suspends(), "{stranger:?}");
    assert_eq!(stranger.agent_version, "1.0.0", "the record's version");
    let check = owner
        .check_deployment(&manifest(agent))
        .await
        .expect("check");
    assert!(!suspends_any(&check), "{check:?}");

    // The owner's report of a suspending severity suspends at once.
    let reported = owner
        .report_incident(&report(agent, "death"))
        .await
        .expect("the owner reports");
    assert!(reported.suspends());
    assert!(reported.report_due.is_some());
    let check = owner
        .check_deployment(&manifest(agent))
        .await
        .expect("check");
    assert!(suspended_by(&check, &reported.incident_id), "{check:?}");
    let dashboard = fixture
        .backend_as(COMPLIANCE)
        .dashboard()
        .await
        .expect("dashboard");
    assert!(dashboard.suspended_versions >= 1 && dashboard.incidents_open >= 2);
    let inbox = fixture.backend_as(COMPLIANCE).inbox().await.expect("inbox");
    assert!(
        inbox
            .iter()
            .any(|item| item.incident_id.as_deref() == Some(reported.incident_id.as_str())),
        "compliance officers are told: {inbox:?}"
    );

    // Triage is a compliance officer's.
    let triage = IncidentAction::Triage {
        severity: "minor".into(),
        comment: "a duplicate of the owner's report".into(),
    };
    let refused = fixture
        .backend_as(NOBODY)
        .change_incident(&act(&stranger.incident_id, triage.clone(), None))
        .await
        .expect_err("not a compliance officer");
    assert!(matches!(refused, BackendError::Forbidden(_)), "{refused:?}");
    let triaged = fixture
        .backend_as(COMPLIANCE)
        .change_incident(&act(&stranger.incident_id, triage, None))
        .await
        .expect("triaged");
    assert_eq!(
        (triaged.status, triaged.report_due),
        (IncidentStatus::Triaged, None)
    );

    // Lifting: asked by the owner, signed by a technical lead then a
    // compliance officer; never one person.
    let lift = IncidentAction::RequestLift {
        reason: "the order lookup is fixed and tested".into(),
    };
    assert!(matches!(
        fixture
            .backend_as(NOBODY)
            .change_incident(&act(&reported.incident_id, lift.clone(), None))
            .await,
        Err(BackendError::Forbidden(_))
    ));
    let asked = owner
        .change_incident(&act(&reported.incident_id, lift, None))
        .await
        .expect("the owner asks");
    assert_eq!(asked.next_role(), Some(gavel::domain::Role::TechnicalLead));
    let sign = IncidentAction::DecideLift {
        approve: true,
        comment: None,
    };
    let own = owner
        .change_incident(&act(&reported.incident_id, sign.clone(), None))
        .await
        .expect_err("the owner is a technical lead, but asked");
    assert!(matches!(own, BackendError::Forbidden(_)), "{own:?}");
    let stale = fixture
        .backend_as(LEAD)
        .change_incident(&act(
            &reported.incident_id,
            sign.clone(),
            Some(asked.version - 1),
        ))
        .await
        .expect_err("decided on an old version");
    assert!(matches!(stale, BackendError::Conflict(_)), "{stale:?}");
    let signed = fixture
        .backend_as(LEAD)
        .change_incident(&act(
            &reported.incident_id,
            sign.clone(),
            Some(asked.version),
        ))
        .await
        .expect("a technical lead signs");
    assert!(signed.suspends(), "one step of two");
    let still = owner
        .check_deployment(&manifest(agent))
        .await
        .expect("check");
    assert!(suspended_by(&still, &reported.incident_id));
    let lifted = fixture
        .backend_as(COMPLIANCE)
        .change_incident(&act(&reported.incident_id, sign, None))
        .await
        .expect("a compliance officer signs");
    assert!(!lifted.suspends());
    let check = owner
        .check_deployment(&manifest(agent))
        .await
        .expect("check");
    assert!(!suspends_any(&check), "{check:?}");

    // Closing waits for triage and the report owed.
    let close = IncidentAction::Close {
        cause: "a cache keyed by session, not by customer".into(),
        corrective_action: "keyed by customer; a test per tenant".into(),
    };
    let early = fixture
        .backend_as(COMPLIANCE)
        .change_incident(&act(&reported.incident_id, close.clone(), None))
        .await
        .expect_err("not triaged");
    assert!(matches!(early, BackendError::Conflict(_)), "{early:?}");
    let compliance = fixture.backend_as(COMPLIANCE);
    compliance
        .change_incident(&act(
            &reported.incident_id,
            IncidentAction::Triage {
                severity: "death".into(),
                comment: "confirmed".into(),
            },
            None,
        ))
        .await
        .expect("triaged");
    let owed = compliance
        .change_incident(&act(&reported.incident_id, close.clone(), None))
        .await
        .expect_err("the report is owed");
    assert!(matches!(owed, BackendError::Conflict(_)), "{owed:?}");
    compliance
        .change_incident(&act(
            &reported.incident_id,
            IncidentAction::ConfirmReport {
                reference: "PRV-2027-14".into(),
                reported_on: None,
            },
            None,
        ))
        .await
        .expect("the report is recorded");
    let closed = compliance
        .change_incident(&act(&reported.incident_id, close, None))
        .await
        .expect("closed");
    assert_eq!(closed.status, IncidentStatus::Closed);
    assert!(!closed.reported_late());

    // A report's deadline passes by the store's clock, with nothing
    // written (where the test can move that clock).
    let serious = owner
        .report_incident(&report(agent, "serious"))
        .await
        .expect("reported");
    let due = serious.report_due.expect("serious owes a report");
    if fixture.shares_the_clock() {
        let store = fixture.store();
        store.set_clock(gavel::clock::ManualClock::at(due + TimeDelta::minutes(1)));
        let overdue = owner
            .incidents(&IncidentQuery {
                agent_id: Some(agent.into()),
                state: Some(IncidentFilter::Overdue),
                ..Default::default()
            })
            .await;
        store.set_clock(std::sync::Arc::new(gavel::clock::SystemClock));
        let overdue = overdue.expect("list");
        assert_eq!(overdue.len(), 1, "{overdue:?}");
        assert_eq!(overdue[0].overdue, Some(true));
    }
    let open = owner
        .incidents(&IncidentQuery {
            agent_id: Some(agent.into()),
            state: Some(IncidentFilter::Open),
            ..Default::default()
        })
        .await
        .expect("list");
    let ids: Vec<&str> = open
        .iter()
        .map(|incident| incident.incident_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [serious.incident_id.as_str(), stranger.incident_id.as_str()],
        "newest first, the closed one left out"
    );
}
