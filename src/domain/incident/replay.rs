//! Replaying an incident from the trail: its report carries the whole
//! record (with the suspension its severity's rule made), each later step
//! is applied by the same rules that took it (a compliance officer's
//! triage, report, suspension and closure; the lift chain's roles in
//! order, never the person asking), and the stored row must equal the
//! result.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Incident, IncidentStep, Refusal};
use crate::domain::replay::{Event, Problem, Replay, details};
use crate::domain::role::Role;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentReplay {
    replayed: Option<Incident>,
}

/// What every later event records.
#[derive(Deserialize)]
struct Changed {
    at: DateTime<Utc>,
    step: IncidentStep,
}

impl Replay for IncidentReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        match (event.action, self.replayed.as_mut()) {
            ("incident_reported", None) => {
                let reported: Incident = details(event)?;
                if !reported.reported_by.eq_ignore_ascii_case(event.actor) {
                    return Err(format!(
                        "event {} records a report by {} made by {}",
                        event.seq, reported.reported_by, event.actor
                    ));
                }
                let fresh = reported.version == 1
                    && reported.triage.is_none()
                    && reported.report.is_none()
                    && reported.closure.is_none()
                    && reported.suspension.as_ref().is_none_or(|suspension| {
                        suspension.by.is_none() && suspension.lifts.is_empty()
                    });
                if !fresh {
                    return Err(format!(
                        "event {} records an incident already handled when it was reported",
                        event.seq
                    ));
                }
                self.replayed = Some(reported);
                Ok(())
            }
            (action, Some(incident)) if action.starts_with("incident_") => {
                let changed: Changed = details(event)?;
                if changed.step.event() != action {
                    return Err(format!(
                        "event {} ({action}) records a {} step",
                        event.seq,
                        changed.step.event()
                    ));
                }
                if matches!(changed.step, IncidentStep::Alerted { .. })
                    != (event.actor == crate::domain::policy::sla::SCHEDULER)
                {
                    return Err(format!(
                        "event {} ({action}) is recorded by {}: deadline alerts are the scheduler's alone",
                        event.seq, event.actor
                    ));
                }
                // Which roles the actor held is not in the trail; that the
                // step was theirs to take then is.
                let roles = match &changed.step {
                    IncidentStep::LiftApproved { role, .. }
                    | IncidentStep::LiftRejected { role, .. } => vec![*role],
                    _ => vec![Role::ComplianceOfficer],
                };
                incident
                    .apply(event.actor, &roles, &changed.step, changed.at)
                    .map_err(|refusal| {
                        let (Refusal::Forbidden(why)
                        | Refusal::Conflict(why)
                        | Refusal::Invalid(why)) = refusal;
                        format!("event {} ({action}) breaks a rule: {why}", event.seq)
                    })
            }
            (other, _) => Err(format!(
                "event {} ({other}) does not follow from the incident's earlier events",
                event.seq
            )),
        }
    }
}

impl IncidentReplay {
    pub fn differs(&self, stored: &Incident) -> Option<String> {
        let Some(replayed) = &self.replayed else {
            return Some("no incident_reported event".into());
        };
        if replayed.status != stored.status {
            return Some(format!(
                "status {} stored, the trail leaves it {}",
                stored.status, replayed.status
            ));
        }
        if replayed.suspends() != stored.suspends() {
            return Some(format!(
                "stored as {}suspended, the trail leaves it {}suspended",
                if stored.suspends() { "" } else { "not " },
                if replayed.suspends() { "" } else { "not " },
            ));
        }
        if replayed.report_due != stored.report_due {
            return Some("its report deadline differs from the one its trail leaves".into());
        }
        if replayed != stored {
            return Some("the stored incident differs from the one its trail leaves".into());
        }
        None
    }
}
