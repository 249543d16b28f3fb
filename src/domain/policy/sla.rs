//! Step SLAs: when a waiting step is reminded, falls due and is escalated.
//!
//! A policy set gives a chain step an SLA (`sla = "48h"`); the set's `[sla]`
//! table says at what share of it the deciders are reminded, how long after
//! the due time the step escalates, and to whom. The workflow keeps the
//! resulting times on the step (`StepSla`), so a later set never changes a
//! workflow already waiting.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::policy::span::parse_age;
use crate::domain::role::Role;

/// Who the trail names for what Gavel does on its own (alerts of steps and
/// of incidents' deadlines).
pub const SCHEDULER: &str = "gavel-sla";

/// The alerts a waiting step can get, in the order they come.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The share of the SLA has passed: the deciders are reminded.
    Reminder,
    /// The due time has passed: the deciders are reminded again.
    Overdue,
    /// Overdue for longer than the set allows: the escalation target is told.
    Escalated,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Reminder => "reminder",
            AlertKind::Overdue => "overdue",
            AlertKind::Escalated => "escalated",
        }
    }

    /// The trail action that records it.
    pub fn action(self) -> &'static str {
        match self {
            AlertKind::Reminder => "step_reminded",
            AlertKind::Overdue => "step_overdue",
            AlertKind::Escalated => "step_escalated",
        }
    }

    pub fn from_action(action: &str) -> Option<AlertKind> {
        [
            AlertKind::Reminder,
            AlertKind::Overdue,
            AlertKind::Escalated,
        ]
        .into_iter()
        .find(|kind| kind.action() == action)
    }
}

impl std::str::FromStr for AlertKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            AlertKind::Reminder,
            AlertKind::Overdue,
            AlertKind::Escalated,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| format!("unknown alert {text:?}: reminder, overdue or escalated"))
    }
}

/// An alert sent for a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    pub kind: AlertKind,
    pub at: DateTime<Utc>,
    /// Whom an escalation went to (a role or a person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A step's SLA, as times after it started waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepSla {
    /// Seconds from when the step began waiting to its due time.
    pub due_after_seconds: i64,
    /// Seconds from when it began waiting to the first reminder.
    pub remind_after_seconds: i64,
    /// Seconds from when it began waiting to its escalation (none: it is
    /// never escalated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after_seconds: Option<i64>,
    /// A role name or an email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<String>,
}

impl StepSla {
    /// When a step waiting since `since` is due.
    pub fn due(&self, since: DateTime<Utc>) -> DateTime<Utc> {
        since + TimeDelta::seconds(self.due_after_seconds)
    }

    /// Each alert with the time it comes due.
    fn schedule(&self, since: DateTime<Utc>) -> impl Iterator<Item = (AlertKind, DateTime<Utc>)> {
        let at = move |seconds: i64| since + TimeDelta::seconds(seconds);
        [
            Some((AlertKind::Reminder, at(self.remind_after_seconds))),
            Some((AlertKind::Overdue, at(self.due_after_seconds))),
            self.escalate_after_seconds
                .filter(|_| self.escalate_to.is_some())
                .map(|seconds| (AlertKind::Escalated, at(seconds))),
        ]
        .into_iter()
        .flatten()
    }

    /// The most advanced alert due at `now` beyond `sent`, if any.
    pub fn alert_due(
        &self,
        since: DateTime<Utc>,
        sent: Option<AlertKind>,
        now: DateTime<Utc>,
    ) -> Option<AlertKind> {
        self.schedule(since)
            .filter(|(kind, at)| Some(*kind) > sent && *at <= now)
            .map(|(kind, _)| kind)
            .max()
    }

    /// When the next alert beyond `sent` comes due.
    pub fn next_alert_at(
        &self,
        since: DateTime<Utc>,
        sent: Option<AlertKind>,
    ) -> Option<DateTime<Utc>> {
        self.schedule(since)
            .filter(|(kind, _)| Some(*kind) > sent)
            .map(|(_, at)| at)
            .min()
    }
}

/// Whom an escalation goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalateTo {
    Role(Role),
    Person(String),
}

impl EscalateTo {
    /// A role name, or an email address (it holds an `@`).
    pub fn parse(text: &str) -> Result<EscalateTo, String> {
        let text = text.trim();
        if text.contains('@') {
            let valid = text.len() <= 254
                && !text.starts_with('@')
                && !text.ends_with('@')
                && text.chars().all(|c| !c.is_whitespace() && !c.is_control());
            return if valid {
                Ok(EscalateTo::Person(text.to_lowercase()))
            } else {
                Err(format!("escalate_to {text:?} is not an email address"))
            };
        }
        text.parse::<Role>()
            .map(EscalateTo::Role)
            .map_err(|err| format!("escalate_to: {err}"))
    }
}

/// The `[sla]` table of a policy set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaRules {
    /// The share of a step's SLA after which its deciders are reminded.
    #[serde(default = "half")]
    pub remind_at: f64,
    /// How long after the due time an overdue step escalates (`0h`: at the
    /// due time).
    #[serde(default = "a_day")]
    pub escalate_after: String,
    /// Whom overdue steps escalate to (a role or an email address); a
    /// step's own `escalate_to` comes first. None: no escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<String>,
}

fn half() -> f64 {
    0.5
}

fn a_day() -> String {
    "24h".into()
}

impl Default for SlaRules {
    fn default() -> Self {
        SlaRules {
            remind_at: half(),
            escalate_after: a_day(),
            escalate_to: None,
        }
    }
}

/// `48h`, `2d`, `1w`; `0h` when `zero` is allowed.
fn span(text: &str, zero: bool) -> Result<TimeDelta, String> {
    if zero && matches!(text.trim(), "0" | "0h" | "0d" | "0w") {
        return Ok(TimeDelta::zero());
    }
    parse_age(text.trim())
}

impl SlaRules {
    pub fn is_default(&self) -> bool {
        *self == SlaRules::default()
    }

    /// Checks the table on its own.
    pub fn check(&self) -> Result<(), String> {
        if !(self.remind_at > 0.0 && self.remind_at < 1.0) {
            return Err(format!(
                "remind_at {} must be a share of the SLA between 0 and 1 (0.5: halfway)",
                self.remind_at
            ));
        }
        span(&self.escalate_after, true).map_err(|err| format!("escalate_after: {err}"))?;
        if let Some(target) = &self.escalate_to {
            EscalateTo::parse(target)?;
        }
        Ok(())
    }

    /// A step's SLA from its own `sla` and `escalate_to` and this table.
    pub fn step_sla(
        &self,
        sla: Option<&str>,
        escalate_to: Option<&str>,
    ) -> Result<Option<StepSla>, String> {
        let Some(sla) = sla else {
            return match escalate_to {
                Some(_) => Err("escalate_to needs an sla on the step".into()),
                None => Ok(None),
            };
        };
        let due = span(sla, false).map_err(|err| format!("sla: {err}"))?;
        let grace =
            span(&self.escalate_after, true).map_err(|err| format!("sla.escalate_after: {err}"))?;
        let escalate_to = match escalate_to.or(self.escalate_to.as_deref()) {
            Some(target) => Some(match EscalateTo::parse(target)? {
                EscalateTo::Role(role) => role.as_str().to_owned(),
                EscalateTo::Person(email) => email,
            }),
            None => None,
        };
        let due_after_seconds = due.num_seconds();
        Ok(Some(StepSla {
            due_after_seconds,
            remind_after_seconds: (due_after_seconds as f64 * self.remind_at).round() as i64,
            escalate_after_seconds: escalate_to
                .as_ref()
                .map(|_| due_after_seconds + grace.num_seconds()),
            escalate_to,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn since() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
    }

    fn hours(count: i64) -> DateTime<Utc> {
        since() + TimeDelta::hours(count)
    }

    fn sla() -> StepSla {
        SlaRules {
            remind_at: 0.75,
            escalate_after: "12h".into(),
            escalate_to: Some("compliance_officer".into()),
        }
        .step_sla(Some("48h"), None)
        .unwrap()
        .unwrap()
    }

    #[test]
    fn a_step_is_reminded_then_overdue_then_escalated() {
        let sla = sla();
        assert_eq!(sla.due(since()), hours(48));
        assert_eq!(sla.alert_due(since(), None, hours(35)), None);
        assert_eq!(
            sla.alert_due(since(), None, hours(36)),
            Some(AlertKind::Reminder)
        );
        assert_eq!(
            sla.next_alert_at(since(), Some(AlertKind::Reminder)),
            Some(hours(48))
        );
        assert_eq!(
            sla.alert_due(since(), Some(AlertKind::Reminder), hours(47)),
            None
        );
        assert_eq!(
            sla.alert_due(since(), Some(AlertKind::Reminder), hours(48)),
            Some(AlertKind::Overdue)
        );
        assert_eq!(
            sla.alert_due(since(), Some(AlertKind::Overdue), hours(60)),
            Some(AlertKind::Escalated)
        );
        assert_eq!(sla.next_alert_at(since(), Some(AlertKind::Escalated)), None);
    }

    #[test]
    fn a_missed_reminder_is_not_sent_late_once_the_step_is_overdue() {
        assert_eq!(
            sla().alert_due(since(), None, hours(50)),
            Some(AlertKind::Overdue)
        );
    }

    #[test]
    fn without_a_target_nothing_escalates() {
        let sla = SlaRules::default()
            .step_sla(Some("2d"), None)
            .unwrap()
            .unwrap();
        assert_eq!(sla.remind_after_seconds, 24 * 3600);
        assert_eq!(
            sla.alert_due(since(), Some(AlertKind::Overdue), hours(1000)),
            None
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let rules = SlaRules {
            remind_at: 1.5,
            ..SlaRules::default()
        };
        assert!(rules.check().unwrap_err().contains("remind_at"));
        let rules = SlaRules {
            escalate_to: Some("Not a role!".into()),
            ..SlaRules::default()
        };
        assert!(rules.check().unwrap_err().contains("escalate_to"));
        assert!(
            SlaRules::default()
                .step_sla(Some("soon"), None)
                .unwrap_err()
                .contains("sla")
        );
        assert!(
            SlaRules::default()
                .step_sla(None, Some("ciso@example.com"))
                .is_err()
        );
        assert_eq!(
            SlaRules::default()
                .step_sla(Some("8h"), Some("CISO@example.com"))
                .unwrap()
                .unwrap()
                .escalate_to
                .as_deref(),
            Some("ciso@example.com")
        );
    }
}
