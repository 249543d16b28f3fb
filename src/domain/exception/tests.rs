//! Exceptions: what may be asked, who decides each step, when one is in
//! force, and what replay catches.

use chrono::{TimeZone, Utc};

use super::replay::ExceptionReplay;
use super::*;
use crate::domain::replay::{Event, replay};

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, day, 9, 0, 0).unwrap()
}

fn request() -> NewException {
    NewException {
        agent_id: "agt-1".into(),
        agent_version: "2.0.0".into(),
        policy_id: "external_api_block".into(),
        until: at(20),
        reason: "the vendor's tool review finishes next week".into(),
        ticket: Some("https://tickets.example.com/GOV-12".into()),
        controls: Some("calls logged and reviewed daily".into()),
    }
}

fn asked() -> Exception {
    let request = request();
    Exception {
        exception_id: "exc-000001".into(),
        agent_id: request.agent_id,
        agent_version: request.agent_version,
        policy_id: request.policy_id,
        reason: request.reason,
        ticket: request.ticket,
        controls: request.controls,
        until: request.until,
        requested_by: "dev@example.com".into(),
        requested_at: at(1),
        chain: vec![Role::TechnicalLead, Role::ComplianceOfficer],
        approvals: Vec::new(),
        status: ExceptionStatus::Pending,
        closed_by: None,
        closed_at: None,
        closing_comment: None,
        policy_set_version: 3,
        version: 1,
        state: None,
    }
}

#[test]
fn a_request_is_held_to_the_sets_rules() {
    let rules = ExceptionRules::default();
    assert_eq!(check_request(&request(), &rules, at(1)), Ok(()));
    let mut long = request();
    long.until = at(1) + TimeDelta::days(91);
    let Err(Refusal::Invalid(why)) = check_request(&long, &rules, at(1)) else {
        panic!("a 91-day exception passed a 90-day set");
    };
    assert!(why.contains("at most 90 days"), "{why}");
    let mut past = request();
    past.until = at(1);
    assert!(check_request(&past, &rules, at(1)).is_err());
    let mut http = request();
    http.ticket = Some("http://tickets.example.com/1".into());
    assert!(check_request(&http, &rules, at(1)).is_err());
    let mut silent = request();
    silent.reason = "  ".into();
    assert!(check_request(&silent, &rules, at(1)).is_err());
    let never = ExceptionRules {
        not_for: vec!["external_api_block".into()],
        ..ExceptionRules::default()
    };
    assert!(matches!(
        check_request(&request(), &never, at(1)),
        Err(Refusal::Forbidden(why)) if why.contains("never")
    ));
    let none = ExceptionRules {
        max_days: 0,
        ..ExceptionRules::default()
    };
    assert!(matches!(
        check_request(&request(), &none, at(1)),
        Err(Refusal::Forbidden(_))
    ));
}

#[test]
fn a_set_says_what_may_never_be_excepted_and_names_real_policies() {
    use crate::domain::policy::set::{BUILTIN_SET, PolicySet, PolicySetFile};
    let with = |section: &str| {
        PolicySetFile::parse(&format!("{BUILTIN_SET}\n{section}"))
            .map_err(|err| err.to_string())
            .and_then(|file| {
                PolicySet::compile(file, crate::domain::policy::set::Checks::Full)
                    .map_err(|err| err.to_string())
            })
    };
    let set = with("[exceptions]\nchain = [\"compliance_officer\"]\nmax_days = 30\nnot_for = [\"hr_bias_audit\"]\n")
        .expect("a set naming its own policy");
    assert!(!set.file.exceptions.allows("hr_bias_audit"));
    assert!(set.file.exceptions.allows("external_api_block"));
    let unknown = with("[exceptions]\nnot_for = [\"no_such_policy\"]\n").unwrap_err();
    assert!(unknown.contains("not a policy of this set"), "{unknown}");
    let empty = with("[exceptions]\nchain = []\n").unwrap_err();
    assert!(empty.contains("names no role"), "{empty}");
    let long = with("[exceptions]\nmax_days = 400\n").unwrap_err();
    assert!(long.contains("366"), "{long}");
}

#[test]
fn each_step_is_someone_new_holding_its_role() {
    let mut exception = asked();
    let lead = [Role::TechnicalLead, Role::ComplianceOfficer];
    assert!(matches!(
        exception.decide("DEV@example.com", &lead, true, None, at(2)),
        Err(Refusal::Forbidden(_))
    ));
    assert!(matches!(
        exception.decide(
            "co@example.com",
            &[Role::ComplianceOfficer],
            true,
            None,
            at(2)
        ),
        Err(Refusal::Forbidden(_))
    ));
    exception
        .decide("lead@example.com", &lead, true, Some("ok"), at(2))
        .unwrap();
    assert_eq!(exception.state(at(2)), ExceptionState::Pending);
    assert_eq!(exception.next_role(), Some(Role::ComplianceOfficer));
    assert!(
        exception
            .decide("lead@example.com", &lead, true, None, at(2))
            .is_err(),
        "the same person decides no second step"
    );
    exception
        .decide(
            "co@example.com",
            &[Role::ComplianceOfficer],
            true,
            None,
            at(3),
        )
        .unwrap();
    assert_eq!(exception.state(at(3)), ExceptionState::Active);
    assert_eq!(exception.version, 3);
    let applied = exception.applied(at(3)).unwrap();
    assert_eq!(applied.approved_by, ["lead@example.com", "co@example.com"]);
    assert!(!exception.expiring(at(3)));
    assert!(exception.expiring(at(10)));
    assert_eq!(
        exception.state(at(20)),
        ExceptionState::Lapsed,
        "it lapses at its end by the clock, with nothing written"
    );
    assert_eq!(exception.applied(at(20)), None);
}

#[test]
fn a_rejection_says_why_and_ends_it() {
    let mut exception = asked();
    assert!(matches!(
        exception.decide(
            "lead@example.com",
            &[Role::TechnicalLead],
            false,
            None,
            at(2)
        ),
        Err(Refusal::Invalid(_))
    ));
    exception
        .decide(
            "lead@example.com",
            &[Role::TechnicalLead],
            false,
            Some("fix the tool first"),
            at(2),
        )
        .unwrap();
    assert_eq!(exception.state(at(2)), ExceptionState::Rejected);
    assert!(matches!(
        exception.decide(
            "co@example.com",
            &[Role::ComplianceOfficer],
            true,
            None,
            at(2)
        ),
        Err(Refusal::Conflict(_))
    ));
}

#[test]
fn an_exception_that_ended_while_waiting_is_not_approved() {
    let mut exception = asked();
    assert!(matches!(
        exception.decide(
            "lead@example.com",
            &[Role::TechnicalLead],
            true,
            None,
            at(21)
        ),
        Err(Refusal::Conflict(_))
    ));
}

#[test]
fn revoking_is_for_the_asker_or_a_compliance_officer() {
    let mut exception = asked();
    assert!(matches!(
        exception.revoke("lead@example.com", &[Role::TechnicalLead], "no", at(2)),
        Err(Refusal::Forbidden(_))
    ));
    exception
        .revoke("co@example.com", &[Role::ComplianceOfficer], "fixed", at(2))
        .unwrap();
    assert_eq!(exception.state(at(2)), ExceptionState::Revoked);
    assert!(
        exception
            .revoke("dev@example.com", &[], "again", at(2))
            .is_err()
    );
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

#[test]
fn replay_rebuilds_the_record_and_catches_a_forged_step() {
    let requested = serde_json::to_string(&asked()).unwrap();
    let lead = serde_json::json!({"role": "technical_lead", "at": at(2)}).to_string();
    let officer = serde_json::json!({"role": "compliance_officer", "at": at(3)}).to_string();
    let replayed: ExceptionReplay = replay([
        event(1, "dev@example.com", "exception_requested", &requested),
        event(2, "lead@example.com", "exception_approved", &lead),
        event(3, "co@example.com", "exception_approved", &officer),
    ])
    .unwrap();
    let mut stored = asked();
    stored
        .decide(
            "lead@example.com",
            &[Role::TechnicalLead],
            true,
            None,
            at(2),
        )
        .unwrap();
    stored
        .decide(
            "co@example.com",
            &[Role::ComplianceOfficer],
            true,
            None,
            at(3),
        )
        .unwrap();
    assert_eq!(replayed.differs(&stored), None);

    let mut extended = stored.clone();
    extended.until = at(28);
    assert!(replayed.differs(&extended).unwrap().contains("ends"));
    let mut pending = stored.clone();
    pending.status = ExceptionStatus::Pending;
    assert!(replayed.differs(&pending).unwrap().contains("status"));

    let self_approved = replay::<ExceptionReplay>([
        event(1, "dev@example.com", "exception_requested", &requested),
        event(2, "dev@example.com", "exception_approved", &lead),
    ]);
    assert!(self_approved.unwrap_err().contains("asked"));
    let skipped_step = replay::<ExceptionReplay>([
        event(1, "dev@example.com", "exception_requested", &requested),
        event(2, "co@example.com", "exception_approved", &officer),
    ]);
    assert!(skipped_step.unwrap_err().contains("technical lead"));
    let forged_requester = replay::<ExceptionReplay>([event(
        1,
        "someone@example.com",
        "exception_requested",
        &requested,
    )]);
    assert!(forged_requester.is_err());
}

#[test]
fn an_exception_in_force_sets_its_policy_aside_and_no_other() {
    use crate::domain::manifest::Manifest;
    use crate::domain::policy::evaluation::{DeploymentStatus, Facts, evaluate};
    use crate::domain::policy::set::PolicySet;

    let mut manifest = Manifest::from_json(
        r#"{"agent_id": "agt-1", "name": "Bot", "team": "Care", "owner": "o@example.com",
            "category": "customer_service", "data_classification": "confidential",
            "has_external_tools": true, "tools_approved": false, "risk_tier": "low",
            "version": "2.0.0", "requested_by": "dev@example.com"}"#,
    )
    .unwrap();
    manifest.external_tools = vec!["search".into()];
    let set = PolicySet::builtin();
    let mut exception = asked();
    exception
        .decide(
            "lead@example.com",
            &[Role::TechnicalLead],
            true,
            None,
            at(2),
        )
        .unwrap();
    exception
        .decide(
            "co@example.com",
            &[Role::ComplianceOfficer],
            true,
            None,
            at(3),
        )
        .unwrap();
    let judge = |now: DateTime<Utc>| {
        let applied: Vec<_> = exception.applied(now).into_iter().collect();
        evaluate(
            &manifest,
            &set,
            &Facts {
                latest_audit: None,
                latest_audit_of_agent: None,
                now,
                approved_tools: &Default::default(),
                reference_agents: &[],
                intake: None,
                exceptions: &applied,
            },
        )
    };
    let during = judge(at(4));
    assert_eq!(
        during.status,
        DeploymentStatus::PendingApproval,
        "the block is set aside; the approvals confidential data needs remain"
    );
    assert_eq!(during.exceptions.len(), 1);
    assert!(
        during
            .triggered_policies
            .iter()
            .all(|policy| policy.policy_id != "external_api_block")
    );
    assert!(during.exceptions[0].describe().contains("exc-000001"));
    let after = judge(at(20));
    assert_eq!(
        after.status,
        DeploymentStatus::Blocked,
        "the policy applies again the moment the exception ends"
    );
    assert!(after.exceptions.is_empty());
}
