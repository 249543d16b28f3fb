//! Incidents: what a report needs, who triages, suspends, confirms and
//! closes, how a suspension is lifted (never by one person), deadlines by
//! the store's clock, and what replay catches.

use chrono::{TimeZone, Utc};

use super::replay::IncidentReplay;
use super::*;
use crate::domain::replay::{Event, replay};

const OFFICER: &[Role] = &[Role::ComplianceOfficer];

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, day, 9, 0, 0).unwrap()
}

fn report(severity: &str) -> NewIncident {
    NewIncident {
        agent_id: "agt-1".into(),
        agent_version: Some("2.0.0".into()),
        severity: severity.into(),
        summary: "the screener rejected every applicant over 60 for a day".into(),
        became_aware_at: Some(at(2)),
        occurred_at: Some(at(1)),
    }
}

fn reported(severity: &str) -> Incident {
    let rules = IncidentRules::default();
    let new = report(severity);
    let aware = check_report(&new, &rules, at(3)).unwrap();
    Incident {
        incident_id: "inc-000001".into(),
        agent_id: new.agent_id,
        agent_version: "2.0.0".into(),
        severity: new.severity.clone(),
        summary: new.summary,
        reported_by: "ops@example.com".into(),
        reported_at: at(3),
        became_aware_at: aware,
        occurred_at: new.occurred_at,
        report_to: rules.report_to,
        report_due: report_due(&rules, &new.severity, aware),
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

fn triage(severity: &str) -> IncidentStep {
    let rules = IncidentRules::default();
    IncidentStep::Triaged {
        severity: severity.into(),
        report_due: report_due(&rules, severity, at(2)),
        suspends: rules.severity(severity).is_some_and(|s| s.suspend),
        comment: "confirmed with the hiring team".into(),
    }
}

#[test]
fn a_report_names_a_severity_of_the_set_and_times_that_make_sense() {
    let rules = IncidentRules::default();
    assert_eq!(check_report(&report("serious"), &rules, at(3)), Ok(at(2)));
    let Err(Refusal::Invalid(why)) = check_report(&report("catastrophic"), &rules, at(3)) else {
        panic!("an unknown severity passed");
    };
    assert!(why.contains("minor, serious, death, widespread"), "{why}");
    let mut future = report("serious");
    future.became_aware_at = Some(at(9));
    assert!(check_report(&future, &rules, at(3)).is_err());
    let mut backwards = report("serious");
    backwards.occurred_at = Some(at(2) + TimeDelta::hours(1));
    assert!(check_report(&backwards, &rules, at(3)).is_err());
    let mut blank = report("serious");
    blank.summary = "  ".into();
    assert!(check_report(&blank, &rules, at(3)).is_err());
}

#[test]
fn deadlines_count_from_awareness_by_severity_and_are_read_at_the_clock() {
    let serious = reported("serious");
    assert_eq!(serious.report_due, Some(at(17)));
    assert_eq!(reported("death").report_due, Some(at(12)));
    assert_eq!(reported("widespread").report_due, Some(at(4)));
    assert_eq!(reported("minor").report_due, None);
    assert!(!serious.is_overdue(at(17)));
    assert!(serious.is_overdue(at(17) + TimeDelta::seconds(1)));
    assert_eq!(serious.clone().read_at(at(18)).overdue, Some(true));
    assert!(
        serious
            .deadline_words(at(18))
            .contains("overdue since 2027-03-17")
    );
    assert!(!reported("minor").is_overdue(at(30)));
}

#[test]
fn triage_confirm_and_close_are_a_compliance_officers_in_order() {
    let mut incident = reported("serious");
    let refused = incident.apply(
        "dev@example.com",
        &[Role::TechnicalLead],
        &triage("serious"),
        at(4),
    );
    assert!(matches!(refused, Err(Refusal::Forbidden(_))));
    let early_close = IncidentStep::Closed {
        cause: "a threshold".into(),
        corrective_action: "fixed".into(),
    };
    assert!(matches!(
        incident.apply("co@example.com", OFFICER, &early_close, at(4)),
        Err(Refusal::Conflict(why)) if why.contains("triage it first")
    ));
    incident
        .apply("co@example.com", OFFICER, &triage("minor"), at(4))
        .unwrap();
    assert_eq!(incident.status, IncidentStatus::Triaged);
    assert_eq!(incident.report_due, None, "a minor incident owes no report");
    assert_eq!(
        incident
            .triage
            .as_ref()
            .and_then(|t| t.reported_as.as_deref()),
        Some("serious")
    );
    assert!(
        incident
            .apply("co@example.com", OFFICER, &triage("serious"), at(5))
            .is_err()
    );
    incident
        .apply("co@example.com", OFFICER, &early_close, at(5))
        .unwrap();
    assert_eq!(incident.status, IncidentStatus::Closed);
    assert_eq!(incident.version, 3);
}

#[test]
fn a_report_owed_is_confirmed_before_closing_and_a_late_one_shows() {
    let mut incident = reported("serious");
    incident
        .apply("co@example.com", OFFICER, &triage("serious"), at(4))
        .unwrap();
    let close = IncidentStep::Closed {
        cause: "drift".into(),
        corrective_action: "retrained".into(),
    };
    assert!(matches!(
        incident.apply("co@example.com", OFFICER, &close, at(5)),
        Err(Refusal::Conflict(why)) if why.contains("owes a report")
    ));
    let future = IncidentStep::ReportConfirmed {
        reference: "MSA-2027-118".into(),
        reported_on: at(25),
    };
    assert!(
        incident
            .apply("co@example.com", OFFICER, &future, at(20))
            .is_err()
    );
    let late = IncidentStep::ReportConfirmed {
        reference: "MSA-2027-118".into(),
        reported_on: at(19),
    };
    incident
        .apply("co@example.com", OFFICER, &late, at(20))
        .unwrap();
    assert!(incident.reported_late());
    assert!(!incident.is_overdue(at(20)));
    assert!(incident.deadline_words(at(20)).ends_with(", late"));
    incident
        .apply("co@example.com", OFFICER, &close, at(21))
        .unwrap();
}

fn lift_requested() -> IncidentStep {
    IncidentStep::LiftRequested {
        reason: "the threshold is fixed and re-audited".into(),
        chain: vec![Role::TechnicalLead, Role::ComplianceOfficer],
    }
}

#[test]
fn a_suspension_is_lifted_by_its_chain_never_by_one_person() {
    let mut incident = reported("death");
    incident
        .apply("co@example.com", OFFICER, &triage("death"), at(4))
        .unwrap();
    assert!(incident.suspends(), "death suspends at triage");
    assert_eq!(incident.suspension.as_ref().unwrap().by, None);
    let suspend = IncidentStep::Suspended {
        reason: "again".into(),
    };
    assert!(
        incident
            .apply("co@example.com", OFFICER, &suspend, at(4))
            .is_err()
    );
    incident
        .apply("lead@example.com", &[], &lift_requested(), at(5))
        .unwrap();
    assert!(
        incident
            .apply("lead@example.com", &[], &lift_requested(), at(5))
            .is_err(),
        "one lifting waits at a time"
    );
    let lead_step = IncidentStep::LiftApproved {
        role: Role::TechnicalLead,
        comment: None,
    };
    assert!(matches!(
        incident.apply("lead@example.com", &[Role::TechnicalLead], &lead_step, at(6)),
        Err(Refusal::Forbidden(why)) if why.contains("asked")
    ));
    let officer_first = IncidentStep::LiftApproved {
        role: Role::ComplianceOfficer,
        comment: None,
    };
    assert!(
        incident
            .apply("co@example.com", OFFICER, &officer_first, at(6))
            .is_err()
    );
    incident
        .apply(
            "tl2@example.com",
            &[Role::TechnicalLead, Role::ComplianceOfficer],
            &lead_step,
            at(6),
        )
        .unwrap();
    assert!(matches!(
        incident.apply("tl2@example.com", OFFICER, &officer_first, at(6)),
        Err(Refusal::Forbidden(why)) if why.contains("earlier step")
    ));
    assert!(incident.suspends());
    incident
        .apply("co@example.com", OFFICER, &officer_first, at(7))
        .unwrap();
    assert!(!incident.suspends());
    assert_eq!(incident.suspension.as_ref().unwrap().lifted_at, Some(at(7)));
}

#[test]
fn a_refused_lifting_says_why_and_a_new_one_may_be_asked() {
    let mut incident = reported("serious");
    incident
        .apply(
            "co@example.com",
            OFFICER,
            &IncidentStep::Suspended {
                reason: "bias".into(),
            },
            at(4),
        )
        .unwrap();
    incident
        .apply("dev@example.com", &[], &lift_requested(), at(5))
        .unwrap();
    let silent = IncidentStep::LiftRejected {
        role: Role::TechnicalLead,
        comment: None,
    };
    assert!(
        incident
            .apply("tl@example.com", &[Role::TechnicalLead], &silent, at(6))
            .is_err()
    );
    let refused = IncidentStep::LiftRejected {
        role: Role::TechnicalLead,
        comment: Some("re-audit first".into()),
    };
    incident
        .apply("tl@example.com", &[Role::TechnicalLead], &refused, at(6))
        .unwrap();
    assert!(incident.suspends());
    assert_eq!(incident.next_role(), None);
    incident
        .apply("dev@example.com", &[], &lift_requested(), at(7))
        .unwrap();
    assert_eq!(incident.next_role(), Some(Role::TechnicalLead));
    assert_eq!(incident.suspension.as_ref().unwrap().lifts.len(), 2);
}

fn event<'a>(seq: i64, actor: &'a str, action: &'a str, details: &'a str) -> Event<'a> {
    Event {
        seq,
        actor,
        action,
        after_version: None,
        details,
    }
}

fn changed(step: &IncidentStep, day: u32) -> String {
    serde_json::json!({"at": at(day), "step": step}).to_string()
}

#[test]
fn replay_rebuilds_the_record_and_catches_a_forged_step() {
    let first = reported("death");
    let reported_text = serde_json::to_string(&first).unwrap();
    let mut stored = first.clone();
    stored
        .apply("co@example.com", OFFICER, &triage("death"), at(4))
        .unwrap();
    stored
        .apply("dev@example.com", &[], &lift_requested(), at(5))
        .unwrap();
    let lead = IncidentStep::LiftApproved {
        role: Role::TechnicalLead,
        comment: None,
    };
    stored
        .apply("tl@example.com", &[Role::TechnicalLead], &lead, at(6))
        .unwrap();
    let (triaged, asked, signed) = (
        changed(&triage("death"), 4),
        changed(&lift_requested(), 5),
        changed(&lead, 6),
    );
    let replayed: IncidentReplay = replay([
        event(1, "ops@example.com", "incident_reported", &reported_text),
        event(2, "co@example.com", "incident_triaged", &triaged),
        event(3, "dev@example.com", "incident_lift_requested", &asked),
        event(4, "tl@example.com", "incident_lift_approved", &signed),
    ])
    .unwrap();
    assert_eq!(replayed.differs(&stored), None);

    let mut unsuspended = stored.clone();
    if let Some(suspension) = unsuspended.suspension.as_mut() {
        suspension.lifted_at = Some(at(6));
    }
    assert!(
        replayed
            .differs(&unsuspended)
            .unwrap()
            .contains("suspended")
    );
    let mut moved = stored.clone();
    moved.report_due = Some(at(30));
    assert!(replayed.differs(&moved).unwrap().contains("deadline"));

    let self_signed = replay::<IncidentReplay>([
        event(1, "ops@example.com", "incident_reported", &reported_text),
        event(2, "co@example.com", "incident_triaged", &triaged),
        event(3, "dev@example.com", "incident_lift_requested", &asked),
        event(4, "dev@example.com", "incident_lift_approved", &signed),
    ]);
    assert!(self_signed.unwrap_err().contains("breaks a rule"));
    let mislabelled = replay::<IncidentReplay>([
        event(1, "ops@example.com", "incident_reported", &reported_text),
        event(2, "co@example.com", "incident_closed", &triaged),
    ]);
    assert!(
        mislabelled
            .unwrap_err()
            .contains("records a incident_triaged step")
    );
    let forged_reporter = replay::<IncidentReplay>([event(
        1,
        "someone@example.com",
        "incident_reported",
        &reported_text,
    )]);
    assert!(forged_reporter.is_err());
}

#[test]
fn a_set_checks_its_incident_section() {
    let mut rules = IncidentRules::default();
    rules.severities.push(rules.severities[0].clone());
    rules.severities[1].report_within = Some("15x".into());
    rules.lift_chain.clear();
    let vocabulary = crate::domain::policy::vocabulary::Vocabulary::default();
    let problems = rules.check(&vocabulary);
    let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
    assert!(
        fields.contains(&"incidents.severity[4].name"),
        "{problems:?}"
    );
    assert!(
        fields.contains(&"incidents.severity[1].report_within"),
        "{problems:?}"
    );
    assert!(fields.contains(&"incidents.lift_chain"), "{problems:?}");
}

#[test]
fn deadline_alerts_come_once_each_a_day_before_and_at_the_deadline() {
    use crate::domain::policy::sla::AlertKind;
    let mut incident = reported("serious");
    let next = incident.next_alert().expect("a report is owed");
    assert_eq!((next.kind, next.at), (AlertKind::Reminder, at(16)));
    let remind = IncidentStep::Alerted {
        kind: AlertKind::Reminder,
    };
    assert!(
        incident.apply("gavel-sla", &[], &remind, at(15)).is_err(),
        "not before its time"
    );
    incident.apply("gavel-sla", &[], &remind, at(16)).unwrap();
    assert_eq!(
        incident.version, 1,
        "the scheduler's note changes no version"
    );
    assert!(
        incident.apply("gavel-sla", &[], &remind, at(16)).is_err(),
        "once"
    );
    let next = incident.next_alert().expect("then the deadline");
    assert_eq!((next.kind, next.at), (AlertKind::Overdue, at(17)));
    let report = IncidentStep::ReportConfirmed {
        reference: "PRV-7".into(),
        reported_on: at(17),
    };
    incident
        .apply("co@example.com", OFFICER, &report, at(17))
        .unwrap();
    assert_eq!(incident.next_alert(), None, "made: nothing more to say");

    // Reported with a day or less to go: the deadline's alert only.
    let widespread = reported("widespread");
    assert_eq!(
        widespread.next_alert().map(|alert| alert.kind),
        Some(AlertKind::Overdue)
    );
    assert_eq!(reported("minor").next_alert(), None);
}

#[test]
fn replay_takes_deadline_alerts_from_the_scheduler_only() {
    use crate::domain::policy::sla::AlertKind;
    let first = reported("serious");
    let text = serde_json::to_string(&first).unwrap();
    let step = IncidentStep::Alerted {
        kind: AlertKind::Reminder,
    };
    let alerted = changed(&step, 16);
    let mut stored = first.clone();
    stored.apply("gavel-sla", &[], &step, at(16)).unwrap();
    let replayed: IncidentReplay = replay([
        event(1, "ops@example.com", "incident_reported", &text),
        event(2, "gavel-sla", "incident_alerted", &alerted),
    ])
    .unwrap();
    assert_eq!(replayed.differs(&stored), None);
    let forged = replay::<IncidentReplay>([
        event(1, "ops@example.com", "incident_reported", &text),
        event(2, "co@example.com", "incident_alerted", &alerted),
    ]);
    assert!(forged.unwrap_err().contains("scheduler"));
}
