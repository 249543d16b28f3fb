//! The life of an incident with an agent version: reported by anyone
//! signed in, triaged by a compliance officer, the report it owes outside
//! the organisation confirmed by one before its deadline, the version
//! suspended (by a compliance officer, or at once by the set's rule for its
//! severity) until a chain of people lifts it, and closed with its cause
//! and corrective action. Nothing here reads a clock: every rule takes the
//! store's `now`, and every change is a step the trail records and replay
//! applies again.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

pub use crate::domain::exception::Refusal;
use crate::domain::exception::clean_text;
use crate::domain::policy::incidents::{IncidentRules, ReportTo};
use crate::domain::role::Role;

mod asks;
pub mod replay;

pub use asks::*;
#[cfg(test)]
mod tests;

/// The most bytes a summary, reason or comment holds.
pub const MAX_INCIDENT_TEXT: usize = 2_000;
/// The most bytes a cause or a corrective action holds.
pub const MAX_CLOSING_TEXT: usize = 4_000;
/// The most bytes a report's reference holds.
pub const MAX_REFERENCE: usize = 200;
/// How many untriaged incidents one person may have reported at once.
pub const MAX_UNTRIAGED_PER_PERSON: u64 = 20;
/// How many incidents a list returns at most (newest first).
pub const LIST_LIMIT: u32 = 200;
/// How long before a report's deadline the compliance officers are
/// reminded.
pub const REMIND_BEFORE: TimeDelta = TimeDelta::days(1);

/// What the store keeps of where an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Reported, waiting for a compliance officer's triage.
    Open,
    Triaged,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 3] = [
        IncidentStatus::Open,
        IncidentStatus::Triaged,
        IncidentStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Triaged => "triaged",
            IncidentStatus::Closed => "closed",
        }
    }
}

crate::domain::name::display_as_str!(IncidentStatus);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Triage {
    pub by: String,
    pub at: DateTime<Utc>,
    /// The severity it was reported under, when triage changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_as: Option<String>,
    pub comment: String,
}

/// The report made outside the organisation, as a compliance officer
/// confirmed it: its reference and the day it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExternalReport {
    pub reference: String,
    /// When the report was made, as confirmed (it may precede `at`).
    pub reported_on: DateTime<Utc>,
    pub by: String,
    /// When it was confirmed in Gavel.
    pub at: DateTime<Utc>,
}

/// One sign-off (or refusal) of a suspension's lifting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiftDecision {
    pub role: Role,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A request to lift a suspension, signed off by its chain in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lift {
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub reason: String,
    /// The roles that sign it off, as the set said when it was asked.
    pub chain: Vec<Role>,
    pub approvals: Vec<LiftDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<LiftDecision>,
}

impl Lift {
    fn pending(&self) -> bool {
        self.rejected.is_none() && self.approvals.len() < self.chain.len()
    }

    /// What became of step `index` of its chain: who signed it and when
    /// (with their comment), who refused it, "waiting", or "-" (not
    /// reached). Unsanitized.
    pub fn step_words(&self, index: usize) -> String {
        let said = |decision: &LiftDecision| {
            format!(
                "{} on {}{}",
                decision.by,
                decision.at.format("%Y-%m-%d %H:%M"),
                decision
                    .comment
                    .as_deref()
                    .map(|comment| format!(": {comment}"))
                    .unwrap_or_default()
            )
        };
        match (self.approvals.get(index), &self.rejected) {
            (Some(approval), _) => format!("signed by {}", said(approval)),
            (None, Some(refusal)) if index == self.approvals.len() => {
                format!("refused by {}", said(refusal))
            }
            (None, None) if index == self.approvals.len() => "waiting".into(),
            _ => "-".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suspension {
    pub since: DateTime<Utc>,
    /// The compliance officer who suspended it; none: the set's rule for
    /// the incident's severity did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    pub reason: String,
    /// Requests to lift it, oldest first; the newest may be pending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifts: Vec<Lift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted_at: Option<DateTime<Utc>>,
}

/// A reminder of a report's deadline, or the alert that it passed, as
/// sent (each once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadlineAlert {
    pub kind: crate::domain::policy::sla::AlertKind,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Closure {
    pub by: String,
    pub at: DateTime<Utc>,
    pub cause: String,
    pub corrective_action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    pub incident_id: String,
    pub agent_id: String,
    pub agent_version: String,
    pub severity: String,
    pub summary: String,
    pub reported_by: String,
    pub reported_at: DateTime<Utc>,
    /// When the organisation became aware: deadlines count from here.
    pub became_aware_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
    /// Whom a report is owed to, as the set said when it was reported.
    pub report_to: ReportTo,
    /// When the report is due; none: its severity owes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<Triage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ExternalReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closure: Option<Closure>,
    /// The deadline's reminder and overdue alert, as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<DeadlineAlert>,
    pub status: IncidentStatus,
    /// The policy set version it was reported under.
    pub policy_set_version: i64,
    /// Bumped by every change.
    pub version: i64,
    /// Whether its report is past due at the store's clock when it was
    /// read; never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
}

/// What a change did, as the trail records it and replay applies it: the
/// action with what the store resolved (the severity's deadline, the
/// lift chain, the role that signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum IncidentStep {
    Triaged {
        severity: String,
        report_due: Option<DateTime<Utc>>,
        suspends: bool,
        comment: String,
    },
    Suspended {
        reason: String,
    },
    ReportConfirmed {
        reference: String,
        reported_on: DateTime<Utc>,
    },
    LiftRequested {
        reason: String,
        chain: Vec<Role>,
    },
    LiftApproved {
        role: Role,
        comment: Option<String>,
    },
    LiftRejected {
        role: Role,
        comment: Option<String>,
    },
    Closed {
        cause: String,
        corrective_action: String,
    },
    /// The scheduler reminded of the report's deadline, or said it passed.
    Alerted {
        kind: crate::domain::policy::sla::AlertKind,
    },
}

impl IncidentStep {
    /// The trail event's action.
    pub fn event(&self) -> &'static str {
        match self {
            IncidentStep::Triaged { .. } => "incident_triaged",
            IncidentStep::Suspended { .. } => "incident_suspended",
            IncidentStep::ReportConfirmed { .. } => "incident_report_confirmed",
            IncidentStep::LiftRequested { .. } => "incident_lift_requested",
            IncidentStep::LiftApproved { .. } => "incident_lift_approved",
            IncidentStep::LiftRejected { .. } => "incident_lift_rejected",
            IncidentStep::Closed { .. } => "incident_closed",
            IncidentStep::Alerted { .. } => "incident_alerted",
        }
    }
}

/// The report's deadline for an incident of `severity` the organisation
/// became aware of at `became_aware_at`.
pub fn report_due(
    rules: &IncidentRules,
    severity: &str,
    became_aware_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    rules
        .severity(severity)
        .and_then(|severity| severity.report_period())
        .map(|period| became_aware_at + period)
}

/// Checks a report against the set's rules at `now`; answers when the
/// organisation became aware.
pub fn check_report(
    report: &NewIncident,
    rules: &IncidentRules,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refusal> {
    if rules.severity(&report.severity).is_none() {
        return Err(Refusal::Invalid(format!(
            "severity {:?} is not one of the policy set's: {}",
            report.severity,
            rules.names()
        )));
    }
    clean_text("the summary", &report.summary, MAX_INCIDENT_TEXT, true)?;
    let aware = report.became_aware_at.unwrap_or(now);
    if aware > now {
        return Err(Refusal::Invalid(format!(
            "became-aware-at {} is after now ({}): deadlines count from when the organisation knew",
            aware.format("%Y-%m-%d %H:%M UTC"),
            now.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    if let Some(occurred) = report.occurred_at
        && occurred > aware
    {
        return Err(Refusal::Invalid(format!(
            "occurred-at {} is after the organisation became aware ({})",
            occurred.format("%Y-%m-%d %H:%M UTC"),
            aware.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    if now - aware > TimeDelta::days(3 * 366) {
        return Err(Refusal::Invalid(
            "became-aware-at is more than three years ago".into(),
        ));
    }
    Ok(aware)
}

fn refuse_unless_officer(roles: &[Role], doing: &str) -> Result<(), Refusal> {
    if roles.contains(&Role::ComplianceOfficer) {
        Ok(())
    } else {
        Err(Refusal::Forbidden(format!(
            "{doing} needs the compliance_officer role"
        )))
    }
}

fn trimmed(text: &str) -> String {
    text.trim().to_owned()
}

impl Incident {
    /// As read at `now`: with `overdue` said.
    pub fn read_at(mut self, now: DateTime<Utc>) -> Incident {
        self.overdue = Some(self.is_overdue(now));
        self
    }

    /// A report is owed and its deadline passed without one.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.report.is_none() && self.report_due.is_some_and(|due| now > due)
    }

    /// The report was made, but after its deadline.
    pub fn reported_late(&self) -> bool {
        match (&self.report, self.report_due) {
            (Some(report), Some(due)) => report.reported_on > due,
            _ => false,
        }
    }

    /// The deadline alert due next, and when: a reminder a day before the
    /// report is due (unless that was before it was reported), then the
    /// overdue alert at the deadline; none once the report is made or the
    /// incident closed.
    pub fn next_alert(&self) -> Option<DeadlineAlert> {
        use crate::domain::policy::sla::AlertKind;
        let due = self
            .report_due
            .filter(|_| self.report.is_none() && self.status != IncidentStatus::Closed)?;
        let sent = |kind: AlertKind| self.alerts.iter().any(|alert| alert.kind == kind);
        let remind_at = due - REMIND_BEFORE;
        if !sent(AlertKind::Reminder) && !sent(AlertKind::Overdue) && remind_at > self.reported_at {
            return Some(DeadlineAlert {
                kind: AlertKind::Reminder,
                at: remind_at,
            });
        }
        (!sent(AlertKind::Overdue)).then_some(DeadlineAlert {
            kind: AlertKind::Overdue,
            at: due,
        })
    }

    /// Whether it holds its agent version suspended.
    pub fn suspends(&self) -> bool {
        self.suspension
            .as_ref()
            .is_some_and(|suspension| suspension.lifted_at.is_none())
    }

    /// The lifting waiting for sign-off, if any.
    pub fn pending_lift(&self) -> Option<&Lift> {
        self.suspension
            .as_ref()
            .filter(|suspension| suspension.lifted_at.is_none())
            .and_then(|suspension| suspension.lifts.last())
            .filter(|lift| lift.pending())
    }

    /// The role the lifting's next step waits for.
    pub fn next_role(&self) -> Option<Role> {
        self.pending_lift()
            .and_then(|lift| lift.chain.get(lift.approvals.len()).copied())
    }

    /// Where it stands in a few words.
    pub fn state_words(&self, now: DateTime<Utc>) -> String {
        let mut words = vec![self.status.as_str().to_owned()];
        if self.suspends() {
            words.push("suspended".into());
        }
        if let Some(role) = self.next_role() {
            words.push(format!("lifting waits for {}", role.label()));
        }
        if self.is_overdue(now) {
            words.push("overdue".into());
        }
        words.join(", ")
    }

    /// Its deadline in a few words: the report owed and by when, or how
    /// the report went.
    pub fn deadline_words(&self, now: DateTime<Utc>) -> String {
        match (&self.report, self.report_due) {
            (None, None) => "no report owed".into(),
            (None, Some(due)) if now > due => format!(
                "report to {} overdue since {}",
                self.report_to.as_str(),
                due.format("%Y-%m-%d %H:%M")
            ),
            (None, Some(due)) => format!(
                "report to {} by {}",
                self.report_to.as_str(),
                due.format("%Y-%m-%d %H:%M")
            ),
            (Some(report), _) => format!(
                "reported {} ({}){}",
                report.reported_on.format("%Y-%m-%d"),
                report.reference,
                if self.reported_late() { ", late" } else { "" }
            ),
        }
    }

    /// Whether `email` asked for or signed the pending lifting.
    fn in_lift(lift: &Lift, email: &str) -> bool {
        lift.requested_by.eq_ignore_ascii_case(email)
            || lift
                .approvals
                .iter()
                .any(|approval| approval.by.eq_ignore_ascii_case(email))
    }

    fn refuse_if_closed(&self) -> Result<(), Refusal> {
        if self.status == IncidentStatus::Closed {
            return Err(Refusal::Conflict(format!("{} is closed", self.incident_id)));
        }
        Ok(())
    }

    /// Applies a step `by` holding `roles` at `now`: the store resolves an
    /// action into its step; replay applies the trail's steps again.
    pub fn apply(
        &mut self,
        by: &str,
        roles: &[Role],
        step: &IncidentStep,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        match step {
            IncidentStep::Triaged {
                severity,
                report_due,
                suspends,
                comment,
            } => {
                refuse_unless_officer(roles, "triaging an incident")?;
                if self.status != IncidentStatus::Open {
                    return Err(Refusal::Conflict(format!(
                        "{} is {}: it was triaged already",
                        self.incident_id, self.status
                    )));
                }
                clean_text("the comment", comment, MAX_INCIDENT_TEXT, true)?;
                let reported_as = (*severity != self.severity).then(|| self.severity.clone());
                self.triage = Some(Triage {
                    by: by.to_owned(),
                    at: now,
                    reported_as,
                    comment: trimmed(comment),
                });
                self.severity = severity.clone();
                // A report already confirmed stands; else the deadline is
                // the new severity's.
                if self.report.is_none() {
                    self.report_due = *report_due;
                }
                self.status = IncidentStatus::Triaged;
                // Only a version never suspended under this incident: one
                // people already lifted is suspended again by a person.
                if *suspends && self.suspension.is_none() {
                    self.suspension = Some(Suspension {
                        since: now,
                        by: None,
                        reason: format!(
                            "triaged as {severity}, which the policy set suspends at once"
                        ),
                        lifts: Vec::new(),
                        lifted_at: None,
                    });
                }
            }
            IncidentStep::Suspended { reason } => {
                refuse_unless_officer(roles, "suspending an agent version")?;
                self.refuse_if_closed()?;
                if self.suspends() {
                    return Err(Refusal::Conflict(format!(
                        "{} holds {} {} suspended already",
                        self.incident_id, self.agent_id, self.agent_version
                    )));
                }
                clean_text("the reason", reason, MAX_INCIDENT_TEXT, true)?;
                self.suspension = Some(Suspension {
                    since: now,
                    by: Some(by.to_owned()),
                    reason: trimmed(reason),
                    lifts: Vec::new(),
                    lifted_at: None,
                });
            }
            IncidentStep::ReportConfirmed {
                reference,
                reported_on,
            } => {
                refuse_unless_officer(roles, "confirming an incident's report")?;
                self.refuse_if_closed()?;
                if self.report_due.is_none() {
                    return Err(Refusal::Conflict(format!(
                        "{} owes no report (severity {})",
                        self.incident_id, self.severity
                    )));
                }
                if self.report.is_some() {
                    return Err(Refusal::Conflict(format!(
                        "{}'s report was confirmed already",
                        self.incident_id
                    )));
                }
                clean_text("the reference", reference, MAX_REFERENCE, true)?;
                if *reported_on > now {
                    return Err(Refusal::Invalid(
                        "the report's date is in the future".into(),
                    ));
                }
                let aware_day = self
                    .became_aware_at
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .map(|day| day.and_utc())
                    .unwrap_or(self.became_aware_at);
                if *reported_on < aware_day {
                    return Err(Refusal::Invalid(format!(
                        "the report's date is before the organisation became aware ({})",
                        self.became_aware_at.format("%Y-%m-%d")
                    )));
                }
                self.report = Some(ExternalReport {
                    reference: trimmed(reference),
                    reported_on: *reported_on,
                    by: by.to_owned(),
                    at: now,
                });
            }
            IncidentStep::LiftRequested { reason, chain } => {
                if !self.suspends() {
                    return Err(Refusal::Conflict(format!(
                        "{} suspends nothing: there is nothing to lift",
                        self.incident_id
                    )));
                }
                if self.pending_lift().is_some() {
                    return Err(Refusal::Conflict(format!(
                        "{}'s lifting already waits for sign-off",
                        self.incident_id
                    )));
                }
                if chain.is_empty() {
                    return Err(Refusal::Invalid(
                        "a suspension is lifted through a chain of people".into(),
                    ));
                }
                clean_text("the reason", reason, MAX_INCIDENT_TEXT, true)?;
                if let Some(suspension) = self.suspension.as_mut() {
                    suspension.lifts.push(Lift {
                        requested_by: by.to_owned(),
                        requested_at: now,
                        reason: trimmed(reason),
                        chain: chain.clone(),
                        approvals: Vec::new(),
                        rejected: None,
                    });
                }
            }
            IncidentStep::Alerted { kind } => {
                let due = self
                    .next_alert()
                    .filter(|alert| alert.kind == *kind && alert.at <= now);
                if due.is_none() {
                    return Err(Refusal::Conflict(format!(
                        "{}: no {} of its deadline is due",
                        self.incident_id,
                        kind.as_str()
                    )));
                }
                self.alerts.push(DeadlineAlert {
                    kind: *kind,
                    at: now,
                });
                // The scheduler's note changes no one's view of it: a
                // decision made on the version before stays good.
                return Ok(());
            }
            IncidentStep::LiftApproved { role, comment }
            | IncidentStep::LiftRejected { role, comment } => {
                let approve = matches!(step, IncidentStep::LiftApproved { .. });
                self.decide_lift(by, roles, *role, approve, comment.as_deref(), now)?;
            }
            IncidentStep::Closed {
                cause,
                corrective_action,
            } => {
                refuse_unless_officer(roles, "closing an incident")?;
                self.refuse_if_closed()?;
                if self.status == IncidentStatus::Open {
                    return Err(Refusal::Conflict(format!(
                        "{} is not triaged yet: triage it first",
                        self.incident_id
                    )));
                }
                if self.suspends() {
                    return Err(Refusal::Conflict(format!(
                        "{} holds {} {} suspended: its lifting is signed off first",
                        self.incident_id, self.agent_id, self.agent_version
                    )));
                }
                if self.report_due.is_some() && self.report.is_none() {
                    return Err(Refusal::Conflict(format!(
                        "{} owes a report to {}: confirm it first",
                        self.incident_id,
                        self.report_to.label()
                    )));
                }
                clean_text("the cause", cause, MAX_CLOSING_TEXT, true)?;
                clean_text(
                    "the corrective action",
                    corrective_action,
                    MAX_CLOSING_TEXT,
                    true,
                )?;
                self.closure = Some(Closure {
                    by: by.to_owned(),
                    at: now,
                    cause: trimmed(cause),
                    corrective_action: trimmed(corrective_action),
                });
                self.status = IncidentStatus::Closed;
            }
        }
        self.version += 1;
        Ok(())
    }

    fn decide_lift(
        &mut self,
        by: &str,
        roles: &[Role],
        role: Role,
        approve: bool,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let Some(next) = self.next_role() else {
            return Err(Refusal::Conflict(format!(
                "{}: no lifting waits for sign-off",
                self.incident_id
            )));
        };
        if role != next || !roles.contains(&next) {
            return Err(Refusal::Forbidden(format!(
                "{}'s lifting waits for {}",
                self.incident_id,
                next.with_article()
            )));
        }
        let comment = comment.map(str::trim).filter(|text| !text.is_empty());
        if let Some(text) = comment {
            clean_text("the comment", text, MAX_INCIDENT_TEXT, false)?;
        }
        if !approve && comment.is_none() {
            return Err(Refusal::Invalid(
                "a refusal says why: give a comment".into(),
            ));
        }
        let Some(suspension) = self.suspension.as_mut() else {
            return Err(Refusal::Conflict("nothing is suspended".into()));
        };
        let Some(lift) = suspension.lifts.last_mut() else {
            return Err(Refusal::Conflict("no lifting was asked for".into()));
        };
        if lift.requested_by.eq_ignore_ascii_case(by) {
            return Err(Refusal::Forbidden(
                "the person who asked to lift a suspension does not sign it off".into(),
            ));
        }
        if Incident::in_lift(lift, by) {
            return Err(Refusal::Forbidden(
                "you signed an earlier step: each step is someone else's".into(),
            ));
        }
        let decision = LiftDecision {
            role,
            by: by.to_owned(),
            at: now,
            comment: comment.map(str::to_owned),
        };
        if approve {
            lift.approvals.push(decision);
            if lift.approvals.len() == lift.chain.len() {
                suspension.lifted_at = Some(now);
            }
        } else {
            lift.rejected = Some(decision);
        }
        Ok(())
    }
}
