//! `gavel incident`: reporting an incident with an agent version, and
//! handling it: triage, suspension, the report owed outside, a lifting
//! signed off by a chain, closure.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::args::Global;
use super::backends::backend;
use super::delegate::moment;
use super::exit::{self, Outcome};
use super::incident_args::IncidentCommand;
use super::output::{print_json, safe};
use crate::domain::incident::{
    Incident, IncidentAction, IncidentChange, IncidentQuery, NewIncident,
};

/// One line per incident, for lists.
pub fn line(incident: &Incident, now: DateTime<Utc>) -> String {
    format!(
        "{}  {:<10}  {} {}  {}  {}  reported by {}",
        incident.incident_id,
        safe(&incident.severity),
        safe(&incident.agent_id),
        safe(&incident.agent_version),
        incident.state_words(now),
        safe(&incident.deadline_words(now)),
        safe(&incident.reported_by),
    )
}

fn at(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An incident in full, for `show` and after a change.
pub fn detail(incident: &Incident, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} incident with {} {}: {}",
        incident.incident_id,
        safe(&incident.severity),
        safe(&incident.agent_id),
        safe(&incident.agent_version),
        incident.state_words(now)
    );
    let _ = writeln!(out, "  summary   {}", safe(&incident.summary));
    let _ = writeln!(
        out,
        "  reported  by {} at {} (policy set version {})",
        safe(&incident.reported_by),
        at(incident.reported_at),
        incident.policy_set_version
    );
    let _ = writeln!(out, "  aware     since {}", at(incident.became_aware_at));
    if let Some(occurred) = incident.occurred_at {
        let _ = writeln!(out, "  occurred  {}", at(occurred));
    }
    let _ = writeln!(out, "  deadline  {}", safe(&incident.deadline_words(now)));
    if let Some(report) = &incident.report {
        let _ = writeln!(
            out,
            "  report    {} to {} on {}, confirmed by {} at {}",
            safe(&report.reference),
            incident.report_to.label(),
            report.reported_on.format("%Y-%m-%d"),
            safe(&report.by),
            at(report.at)
        );
    }
    if let Some(triage) = &incident.triage {
        let changed = triage
            .reported_as
            .as_deref()
            .map(|was| format!(" (reported as {})", safe(was)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  triage    by {} at {}{changed}: {}",
            safe(&triage.by),
            at(triage.at),
            safe(&triage.comment)
        );
    }
    if let Some(suspension) = &incident.suspension {
        let _ = writeln!(
            out,
            "  suspended since {} by {}: {}",
            at(suspension.since),
            safe(suspension.by.as_deref().unwrap_or("the policy set's rule")),
            safe(&suspension.reason)
        );
        for lift in &suspension.lifts {
            let _ = writeln!(
                out,
                "  lifting   asked by {} at {}: {}",
                safe(&lift.requested_by),
                at(lift.requested_at),
                safe(&lift.reason)
            );
            for (index, role) in lift.chain.iter().enumerate() {
                let words = safe(&lift.step_words(index)).into_owned();
                let _ = writeln!(out, "    step {} ({}): {words}", index + 1, role.label());
            }
        }
        if let Some(lifted) = suspension.lifted_at {
            let _ = writeln!(out, "  lifted    at {}", at(lifted));
        }
    }
    if let Some(closure) = &incident.closure {
        let _ = writeln!(
            out,
            "  closed    by {} at {}\n  cause     {}\n  corrective action  {}",
            safe(&closure.by),
            at(closure.at),
            safe(&closure.cause),
            safe(&closure.corrective_action)
        );
    }
    out
}

pub async fn run(global: &Global, command: IncidentCommand) -> Outcome {
    let backend = backend(global).await?;
    let now = Utc::now();
    let change = |incident_id: String, action: IncidentAction| IncidentChange {
        incident_id,
        action,
        version: None,
    };
    let (incident, json) = match command {
        IncidentCommand::Report {
            agent,
            version,
            severity,
            summary,
            became_aware_at,
            occurred_at,
            json,
        } => {
            let report = NewIncident {
                agent_id: agent,
                agent_version: version,
                severity,
                summary,
                became_aware_at: became_aware_at
                    .map(|text| moment(&text, false, "--became-aware-at"))
                    .transpose()?,
                occurred_at: occurred_at
                    .map(|text| moment(&text, false, "--occurred-at"))
                    .transpose()?,
            };
            (backend.report_incident(&report).await?, json)
        }
        IncidentCommand::List {
            agent,
            state,
            mine,
            json,
        } => {
            let incidents = backend
                .incidents(&IncidentQuery {
                    agent_id: agent,
                    state,
                    awaiting_me: mine,
                })
                .await?;
            if json {
                print_json(&incidents)?;
            } else if incidents.is_empty() {
                println!("no incidents");
            } else {
                for incident in &incidents {
                    println!("{}", line(incident, now));
                }
            }
            return Ok(exit::OK);
        }
        IncidentCommand::Show { incident_id, json } => {
            (backend.incident(&incident_id).await?, json)
        }
        IncidentCommand::Triage {
            incident_id,
            severity,
            comment,
            json,
        } => {
            let action = IncidentAction::Triage { severity, comment };
            (
                backend
                    .change_incident(&change(incident_id, action))
                    .await?,
                json,
            )
        }
        IncidentCommand::Suspend {
            incident_id,
            reason,
            json,
        } => {
            let action = IncidentAction::Suspend { reason };
            (
                backend
                    .change_incident(&change(incident_id, action))
                    .await?,
                json,
            )
        }
        IncidentCommand::ConfirmReport {
            incident_id,
            reference,
            reported_on,
            json,
        } => {
            let reported_on = reported_on
                .map(|text| moment(&text, false, "--reported-on"))
                .transpose()?;
            let action = IncidentAction::ConfirmReport {
                reference,
                reported_on,
            };
            (
                backend
                    .change_incident(&change(incident_id, action))
                    .await?,
                json,
            )
        }
        IncidentCommand::Lift {
            incident_id,
            reason,
            json,
        } => {
            let action = IncidentAction::RequestLift { reason };
            (
                backend
                    .change_incident(&change(incident_id, action))
                    .await?,
                json,
            )
        }
        IncidentCommand::ApproveLift {
            incident_id,
            comment,
            json,
        } => {
            let action = IncidentAction::DecideLift {
                approve: true,
                comment,
            };
            (
                backend
                    .change_incident(&change(incident_id, action))
                    .await?,
                json,
            )
        }
        IncidentCommand::RejectLift {
            incident_id,
            comment,
            json,
        } => {
            let action = IncidentAction::DecideLift {
                approve: false,
                comment: Some(comment),
            };
            (
                backend
                    .change_incident(&change(incident_id, action))
                    .await?,
                json,
            )
        }
        IncidentCommand::Close {
            incident_id,
            cause,
            corrective_action,
            json,
        } => {
            let action = IncidentAction::Close {
                cause,
                corrective_action,
            };
            (
                backend
                    .change_incident(&change(incident_id, action))
                    .await?,
                json,
            )
        }
    };
    if json {
        print_json(&incident)?;
    } else {
        print!("{}", detail(&incident, now));
    }
    Ok(exit::OK)
}
