//! Incidents: reported by anyone signed in, handled by compliance
//! officers, a suspension lifted by the set's chain. Who acts is the
//! signed-in user; every change is a trail event carrying what replay
//! needs to rebuild the record, and refreshes the agent's obligations
//! (an incident's deadlines are evidence of its process).

use chrono::{DateTime, Utc};

use super::checks::check_person;
use super::stamps::{entry, next_id};
use crate::backend::events::EventKind;
use crate::backend::types::User;
use crate::backend::{BackendError, Result};
use crate::db::{Connection, params};
use crate::domain::Role;
use crate::domain::incident::{
    Incident, IncidentAction, IncidentChange, IncidentStatus, IncidentStep,
    MAX_UNTRIAGED_PER_PERSON, NewIncident, Suspension, check_report, report_due,
};

use super::super::notifications::{NewEvent, record};
use super::super::reads;
use super::super::rows::{as_kept, to_json, to_ms};
use super::super::trail::TrailWriter;

fn write(conn: &Connection, incident: &Incident) -> Result<()> {
    // A report confirmed is no longer due: the column holds only what the
    // overdue count must see.
    let due = incident
        .report_due
        .filter(|_| incident.report.is_none())
        .map(to_ms);
    conn.prepare_cached(
        "INSERT INTO incidents (incident_id, agent_id, agent_version, severity, status,
           suspended, report_due, reported_by, next_role, record, next_alert_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (incident_id) DO UPDATE SET severity = excluded.severity,
           status = excluded.status, suspended = excluded.suspended,
           report_due = excluded.report_due, next_role = excluded.next_role,
           record = excluded.record, next_alert_at = excluded.next_alert_at",
    )?
    .execute(params![
        incident.incident_id,
        incident.agent_id,
        incident.agent_version,
        incident.severity,
        incident.status.as_str(),
        i64::from(incident.suspends()),
        due,
        incident.reported_by,
        incident.next_role().map(Role::as_str),
        to_json(incident)?,
        incident.next_alert().map(|alert| to_ms(alert.at)),
    ])?;
    Ok(())
}

/// Whether `actor` is concerned with `agent`: they hold a governance role
/// or may request its deployments. A severity's suspension takes effect at
/// a report only from them; anyone else's report waits for triage, so a
/// person with no role cannot halt an agent they have nothing to do with.
fn concerned(actor: &User, agent: &crate::domain::Agent) -> bool {
    !actor.roles.is_empty() || super::check_may_request(actor, agent).is_ok()
}

/// Records an incident `actor` reports, under the active set's rules.
pub fn report_incident(
    conn: &Connection,
    actor: &User,
    report: &NewIncident,
    now: DateTime<Utc>,
) -> Result<Incident> {
    check_person(actor, "an incident is reported by a person")?;
    let now = as_kept(now);
    let (set_version, set) = reads::active_set(conn)?;
    let rules = &set.file.incidents;
    let Some(agent) = reads::agent_row(conn, &report.agent_id)? else {
        return Err(BackendError::not_found("agent", report.agent_id.clone()));
    };
    let version = report
        .agent_version
        .clone()
        .unwrap_or_else(|| agent.version.clone());
    if version != agent.version && !reads::version_requested(conn, &agent.agent_id, &version)? {
        return Err(BackendError::Invalid(format!(
            "{} has no version {version:?} on record (its record is {})",
            agent.agent_id, agent.version
        )));
    }
    let aware = as_kept(check_report(report, rules, now)?);
    if reads::untriaged_incidents_of(conn, &actor.email)? >= MAX_UNTRIAGED_PER_PERSON {
        return Err(BackendError::Conflict(format!(
            "you reported {MAX_UNTRIAGED_PER_PERSON} incidents still waiting for triage: a compliance officer triages them first"
        )));
    }
    let suspends = rules
        .severity(&report.severity)
        .is_some_and(|severity| severity.suspend)
        && concerned(actor, &agent);
    let incident = Incident {
        incident_id: next_id(conn, "incidents", "inc")?,
        agent_id: agent.agent_id.clone(),
        agent_version: version,
        severity: report.severity.clone(),
        summary: report.summary.trim().to_owned(),
        reported_by: actor.email.clone(),
        reported_at: now,
        became_aware_at: aware,
        occurred_at: report.occurred_at.map(as_kept),
        report_to: rules.report_to,
        report_due: report_due(rules, &report.severity, aware),
        triage: None,
        report: None,
        suspension: suspends.then(|| Suspension {
            since: now,
            by: None,
            reason: format!(
                "reported as {}, which the policy set suspends at once",
                report.severity
            ),
            lifts: Vec::new(),
            lifted_at: None,
        }),
        closure: None,
        alerts: Vec::new(),
        status: IncidentStatus::Open,
        policy_set_version: set_version,
        version: 1,
        overdue: None,
    };
    write(conn, &incident)?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "incident",
            &incident.incident_id,
            "incident_reported",
            (None, Some(incident.version)),
            serde_json::to_value(&incident)
                .map_err(|err| BackendError::Storage(err.to_string()))?,
        ),
    )?;
    let mut data = event_data(&incident);
    data["reported_by"] = serde_json::Value::String(actor.email.clone());
    // Not `summary`: an inbox reads that as a cache's copy of the line.
    data["incident_summary"] = serde_json::Value::String(incident.summary.clone());
    let officers = holders(conn, Role::ComplianceOfficer, &[&actor.email])?;
    let mut tell = team_of(conn, &agent, &[&actor.email])?;
    tell.extend(officers);
    record(
        conn,
        NewEvent {
            kind: EventKind::IncidentReported,
            subject: incident.incident_id.clone(),
            data,
            tell,
            inbox: Vec::new(),
            at: now,
        },
    )?;
    super::refresh_coverage(conn, &incident.agent_id, now)?;
    Ok(incident)
}

/// Applies an action to an incident, as `actor`.
pub fn change_incident(
    conn: &Connection,
    actor: &User,
    change: &IncidentChange,
    now: DateTime<Utc>,
) -> Result<Incident> {
    check_person(actor, change.action.doing())?;
    let now = as_kept(now);
    let mut incident = reads::incident(conn, &change.incident_id)?;
    if let Some(version) = change.version
        && version != incident.version
    {
        return Err(BackendError::Conflict(format!(
            "{} changed since you saw it (version {version}, now {}): look again",
            incident.incident_id, incident.version
        )));
    }
    let (_, set) = reads::active_set(conn)?;
    let rules = &set.file.incidents;
    let step = match &change.action {
        IncidentAction::Triage { severity, comment } => {
            let Some(found) = rules.severity(severity) else {
                return Err(BackendError::Invalid(format!(
                    "severity {severity:?} is not one of the policy set's: {}",
                    rules.names()
                )));
            };
            IncidentStep::Triaged {
                severity: severity.clone(),
                report_due: report_due(rules, severity, incident.became_aware_at),
                suspends: found.suspend,
                comment: comment.clone(),
            }
        }
        IncidentAction::Suspend { reason } => IncidentStep::Suspended {
            reason: reason.clone(),
        },
        IncidentAction::ConfirmReport {
            reference,
            reported_on,
        } => IncidentStep::ReportConfirmed {
            reference: reference.clone(),
            reported_on: reported_on.map_or(now, as_kept),
        },
        IncidentAction::RequestLift { reason } => {
            let agent = reads::agent_row(conn, &incident.agent_id)?;
            let may = actor.holds(Role::ComplianceOfficer)
                || agent.is_some_and(|agent| super::check_may_request(actor, &agent).is_ok());
            if !may {
                return Err(BackendError::Forbidden(format!(
                    "lifting a suspension is asked by a compliance officer, or by the owner of {} or a member of its team holding a role",
                    incident.agent_id
                )));
            }
            IncidentStep::LiftRequested {
                reason: reason.clone(),
                chain: rules.lift_chain.clone(),
            }
        }
        IncidentAction::DecideLift { approve, comment } => {
            let Some(role) = incident.next_role() else {
                return Err(BackendError::Conflict(format!(
                    "{}: no lifting waits for sign-off",
                    incident.incident_id
                )));
            };
            let comment = comment.clone();
            if *approve {
                IncidentStep::LiftApproved { role, comment }
            } else {
                IncidentStep::LiftRejected { role, comment }
            }
        }
        IncidentAction::Close {
            cause,
            corrective_action,
        } => IncidentStep::Closed {
            cause: cause.clone(),
            corrective_action: corrective_action.clone(),
        },
    };
    let before = incident.version;
    let was_suspended = incident.suspends();
    incident.apply(&actor.email, &actor.roles, &step, now)?;
    write(conn, &incident)?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "incident",
            &incident.incident_id,
            step.event(),
            (Some(before), Some(incident.version)),
            serde_json::json!({ "at": now, "step": step }),
        ),
    )?;
    tell_changed(conn, &incident, &step, was_suspended, &actor.email, now)?;
    super::refresh_coverage(conn, &incident.agent_id, now)?;
    Ok(incident)
}

fn event_data(incident: &Incident) -> serde_json::Value {
    serde_json::json!({
        "incident_id": incident.incident_id,
        "agent_id": incident.agent_id,
        "agent_version": incident.agent_version,
        "severity": incident.severity,
        "status": incident.status,
        "suspended": incident.suspends(),
        "report_due": incident.report_due,
        "next_role": incident.next_role(),
    })
}

/// The people holding `role`, but not `except`.
fn holders(conn: &Connection, role: Role, except: &[&str]) -> Result<Vec<String>> {
    Ok(reads::users(conn, Some(role))?
        .into_iter()
        .filter(|user| !user.service)
        .map(|user| user.email)
        .filter(|email| !except.iter().any(|other| other.eq_ignore_ascii_case(email)))
        .collect())
}

/// The agent's owner and the people of its team, but not `except`.
fn team_of(
    conn: &Connection,
    agent: &crate::domain::Agent,
    except: &[&str],
) -> Result<Vec<String>> {
    Ok(std::iter::once(agent.owner.clone())
        .chain(
            reads::users(conn, None)?
                .into_iter()
                .filter(|user| !user.service && user.in_team(&agent.team))
                .map(|user| user.email),
        )
        .filter(|email| email.contains('@'))
        .filter(|email| !except.iter().any(|other| other.eq_ignore_ascii_case(email)))
        .collect())
}

/// Tells who is concerned: a suspension, its lifting and a closure the
/// agent's team and the reporter; a lifting's next step its role's
/// holders (never those who asked or signed).
fn tell_changed(
    conn: &Connection,
    incident: &Incident,
    step: &IncidentStep,
    was_suspended: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(role) = incident.next_role() {
        let involved: Vec<&str> = incident
            .pending_lift()
            .map(|lift| {
                std::iter::once(lift.requested_by.as_str())
                    .chain(lift.approvals.iter().map(|approval| approval.by.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let tell = holders(conn, role, &involved)?;
        record(
            conn,
            NewEvent {
                kind: EventKind::LiftRequested,
                subject: incident.incident_id.clone(),
                data: event_data(incident),
                tell,
                inbox: Vec::new(),
                at: now,
            },
        )?;
    }
    let what = match step {
        IncidentStep::Triaged { severity, .. } if incident.suspends() && !was_suspended => {
            format!("triaged as {severity}; the version is suspended")
        }
        IncidentStep::Triaged { severity, .. } => format!("triaged as {severity}"),
        IncidentStep::Suspended { .. } => "the version is suspended".into(),
        IncidentStep::ReportConfirmed { reference, .. } => {
            format!("report {reference} confirmed")
        }
        IncidentStep::LiftApproved { .. } if !incident.suspends() => {
            "the suspension is lifted".into()
        }
        IncidentStep::LiftRejected { .. } => "lifting the suspension was refused".into(),
        IncidentStep::Closed { .. } => "closed".into(),
        // A request or a step of the lifting told its next role above.
        // The scheduler tells of deadlines itself (`alert_due_incidents`).
        IncidentStep::LiftRequested { .. }
        | IncidentStep::LiftApproved { .. }
        | IncidentStep::Alerted { .. } => {
            return Ok(());
        }
    };
    let Some(agent) = reads::agent_row(conn, &incident.agent_id)? else {
        return Ok(());
    };
    let mut tell = team_of(conn, &agent, &[actor])?;
    if !incident.reported_by.eq_ignore_ascii_case(actor) {
        tell.push(incident.reported_by.clone());
    }
    let mut data = event_data(incident);
    data["what"] = serde_json::Value::String(what);
    data["actor"] = serde_json::Value::String(actor.to_owned());
    record(
        conn,
        NewEvent {
            kind: EventKind::IncidentChanged,
            subject: incident.incident_id.clone(),
            data,
            tell,
            inbox: Vec::new(),
            at: now,
        },
    )
}

/// Sends the deadline alerts of up to `limit` incidents whose next one is
/// due at `now`: a reminder to the compliance officers a day before a
/// report is due, then, when it passes, the overdue alert to them and the
/// agent's owner and team. Each is recorded on the incident with its trail
/// event and notification in one transaction, so it is sent once. Answers
/// how many it sent.
pub fn alert_due_incidents(conn: &Connection, now: DateTime<Utc>, limit: usize) -> Result<usize> {
    use crate::domain::policy::sla::{AlertKind, SCHEDULER};
    let now = as_kept(now);
    let due: Vec<String> = conn
        .prepare_cached(
            "SELECT incident_id FROM incidents WHERE next_alert_at IS NOT NULL AND next_alert_at <= ?1
             ORDER BY next_alert_at LIMIT ?2",
        )?
        .query_map(params![to_ms(now), limit as i64], |row| row.get(0))?
        .collect::<crate::db::Result<_>>()?;
    if due.is_empty() {
        return Ok(0);
    }
    // Told of every deadline: read once for the batch.
    let officers = holders(conn, Role::ComplianceOfficer, &[])?;
    let mut sent = 0;
    for incident_id in due {
        let mut incident = reads::incident(conn, &incident_id)?;
        let Some(alert) = incident.next_alert().filter(|alert| alert.at <= now) else {
            // Its row was out of date: set it right so it is not read again.
            write(conn, &incident)?;
            continue;
        };
        let step = IncidentStep::Alerted { kind: alert.kind };
        incident.apply(SCHEDULER, &[], &step, now)?;
        write(conn, &incident)?;
        TrailWriter::resume(conn)?.append(
            conn,
            &entry(
                now,
                SCHEDULER,
                "incident",
                &incident.incident_id,
                step.event(),
                (Some(incident.version), Some(incident.version)),
                serde_json::json!({ "at": now, "step": step }),
            ),
        )?;
        let mut tell = officers.clone();
        if alert.kind == AlertKind::Overdue
            && let Some(agent) = reads::agent_row(conn, &incident.agent_id)?
        {
            tell.extend(team_of(conn, &agent, &[])?);
        }
        let mut data = event_data(&incident);
        data["alert"] = serde_json::Value::String(alert.kind.as_str().to_owned());
        data["report_to"] = serde_json::Value::String(incident.report_to.as_str().to_owned());
        record(
            conn,
            NewEvent {
                kind: EventKind::IncidentDeadline,
                subject: incident.incident_id.clone(),
                data,
                tell,
                inbox: Vec::new(),
                at: now,
            },
        )?;
        sent += 1;
    }
    Ok(sent)
}
