//! The evidence kind `incident_process`: met with no incident, or with
//! each report made or still within its deadline; unmet once a report is
//! overdue or was made late; expiring as a deadline nears.

use super::*;
use crate::domain::incident::{ExternalReport, Incident, IncidentStatus};
use crate::domain::policy::incidents::ReportTo;

const POST_MARKET: &str = r#"
[[framework]]
id = "post"
name = "Post-market monitoring"
version = "2024"
date = 2024-08-01
source = "https://example.org/post-market"

[[framework.obligation]]
id = "post.incidents"
title = "Serious incidents reported in time"
citation = "Art. 73"
summary = "Serious incidents are reported within their deadlines."
binds = ["provider", "deployer"]
applies_from = 2024-08-01

[[framework.obligation.evidence]]
kind = "incident_process"
"#;

fn incident(version: &str, due_in_days: i64) -> Incident {
    Incident {
        incident_id: "inc-0000001".into(),
        agent_id: "agt-1".into(),
        agent_version: version.into(),
        severity: "serious".into(),
        summary: "scores dropped for one group".into(),
        reported_by: "o@example.com".into(),
        reported_at: now() - TimeDelta::days(1),
        became_aware_at: now() - TimeDelta::days(1),
        occurred_at: None,
        report_to: ReportTo::Provider,
        report_due: Some(now() + TimeDelta::days(due_in_days)),
        triage: None,
        report: None,
        suspension: None,
        closure: None,
        alerts: Vec::new(),
        status: IncidentStatus::Open,
        policy_set_version: 1,
        version: 1,
        overdue: None,
    }
}

fn judged(incidents: &[Incident]) -> State {
    let set = set_with(POST_MARKET).expect("the framework compiles");
    let agent = agent();
    let record = Record {
        agent: &agent,
        intake: None,
        workflows: &[],
        reviews: &[],
        audits: &[],
        confirmations: &[],
        incidents,
        pending_roles: &[],
    };
    state(&posture(&set, &record, now()), "post.incidents")
        .state
        .clone()
}

#[test]
fn an_incident_process_is_met_until_a_deadline_is_missed() {
    assert_eq!(judged(&[]), State::Met, "no incident meets it");
    assert_eq!(judged(&[incident("2.0.0", 60)]), State::Met);
    assert!(
        matches!(judged(&[incident("2.0.0", 5)]), State::Expiring { .. }),
        "a report due soon"
    );
    assert!(matches!(
        judged(&[incident("2.0.0", -1)]),
        State::Unmet { .. }
    ));
    assert_eq!(
        judged(&[incident("1.0.0", -1)]),
        State::Met,
        "another version's incident is its own"
    );
    let mut late = incident("2.0.0", -3);
    late.report = Some(ExternalReport {
        reference: "PRV-1".into(),
        reported_on: now() - TimeDelta::days(1),
        by: "co@example.com".into(),
        at: now(),
    });
    assert!(matches!(judged(&[late.clone()]), State::Unmet { .. }));
    late.report_due = Some(now());
    assert_eq!(judged(&[late]), State::Met, "made on time");
}
