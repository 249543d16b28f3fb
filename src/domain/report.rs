//! The board report's figures: governance over a period of whole weeks,
//! beside the period before it, as the store counts them. Nothing here
//! reads a store or draws a page: the store fills a `BoardReport`, signs
//! it, and `report::render` draws it as Markdown, HTML or PDF.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::Role;

/// What the signed data says it is.
pub const FORMAT: &str = "gavel-board-report/1";
/// The longest period a report covers: two years of weeks.
pub const MAX_WEEKS: i64 = 105;

/// A run of whole weeks, Monday to Sunday (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// The Monday it starts on.
    pub from: NaiveDate,
    /// The Sunday it ends on (included).
    pub to: NaiveDate,
}

impl Period {
    /// The whole weeks holding `from` to `to` (both included): a report
    /// counts what the store keeps per week, so a quarter from the 1st of
    /// July reads from the Monday before it. Refused when `to` comes
    /// before `from` or the span is longer than `MAX_WEEKS`.
    pub fn covering(from: NaiveDate, to: NaiveDate) -> Result<Period, String> {
        if to < from {
            return Err(format!("--to {to} comes before --from {from}"));
        }
        let monday = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
        let sunday = to + Duration::days(6 - i64::from(to.weekday().num_days_from_monday()));
        let period = Period {
            from: monday,
            to: sunday,
        };
        if period.weeks() > MAX_WEEKS {
            return Err(format!(
                "a report covers at most {MAX_WEEKS} weeks; {from} to {to} is {} weeks",
                period.weeks()
            ));
        }
        Ok(period)
    }

    pub fn weeks(&self) -> i64 {
        (self.to - self.from).num_days() / 7 + 1
    }

    /// The same number of weeks just before.
    pub fn previous(&self) -> Period {
        let weeks = Duration::weeks(self.weeks());
        Period {
            from: self.from - weeks,
            to: self.to - weeks,
        }
    }

    /// Each week's Monday, oldest first.
    pub fn mondays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        (0..self.weeks()).map(|week| self.from + Duration::weeks(week))
    }

    /// Its first moment, and the first moment after it.
    pub fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |date: NaiveDate| date.and_time(chrono::NaiveTime::MIN).and_utc();
        (start(self.from), start(self.to + Duration::days(1)))
    }
}

/// A period's headline figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Deployments requested, and how the policies answered at request.
    pub requests: u64,
    pub allowed: u64,
    pub approval_required: u64,
    pub blocked: u64,
    /// Workflows that closed, by how.
    pub approved: u64,
    pub rejected: u64,
    pub withdrawn: u64,
    /// Steps decided, and how long they waited (from the kept histogram).
    pub decided_steps: u64,
    pub p50_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    /// Steps' SLA alerts sent.
    pub reminders: u64,
    pub overdue: u64,
    pub escalations: u64,
    /// Bias audits tested, and of those the failing.
    pub audits: u64,
    pub audits_failing: u64,
    /// Incidents reported, and of those the ones that suspended a version.
    pub incidents: u64,
    pub suspensions: u64,
    /// Exceptions to a policy granted.
    pub exceptions: u64,
    /// Policy-set versions that took effect.
    pub policy_changes: u64,
}

/// One week of the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Week {
    pub monday: NaiveDate,
    pub requests: u64,
    pub allowed: u64,
    pub approved: u64,
    pub rejected: u64,
    pub blocked: u64,
    pub withdrawn: u64,
}

/// How long steps waited for their decision, for one role or team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waits {
    pub name: String,
    pub decided: u64,
    pub p50_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

/// Agents' bias audits at the end of the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditStanding {
    /// Agents whose audit expired within the period.
    pub expired_in_period: u64,
    /// As of the report: agents failing, expired, without an audit, or due
    /// within 30 days.
    pub failing: u64,
    pub expired: u64,
    pub missing: u64,
    pub due_soon: u64,
}

/// One adopted framework's coverage as of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub framework: String,
    pub name: String,
    /// Agents it applies to, and of those with a duty in effect and unmet.
    pub agents: u64,
    pub unmet: u64,
}

/// An agent with a duty in effect and unmet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmet {
    pub agent_id: String,
    pub framework: String,
    pub since: NaiveDate,
}

/// An incident reported in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentLine {
    pub incident_id: String,
    pub agent_id: String,
    pub agent_version: String,
    pub severity: String,
    pub reported_at: DateTime<Utc>,
    pub suspended: bool,
    pub status: String,
}

/// A policy-set version that took effect in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    pub version: i64,
    pub description: String,
    pub proposed_by: String,
    pub approved_by: String,
    pub approved_at: DateTime<Utc>,
}

/// The figures of the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub headline: Headline,
    pub previous: Headline,
    pub weeks: Vec<Week>,
    /// Per step role, then per team: longest p90 first.
    pub waits_by_role: Vec<Waits>,
    pub waits_by_team: Vec<Waits>,
    pub audits: AuditStanding,
    /// Empty when the set adopts no framework.
    pub obligations: Vec<Coverage>,
    /// The agents with duties unmet the longest (at most `UNMET_LISTED`).
    pub unmet: Vec<Unmet>,
    pub incidents: Vec<IncidentLine>,
    pub policy_changes: Vec<PolicyChange>,
}

/// How many unmet agents and incidents a report lists by name.
pub const UNMET_LISTED: usize = 20;
pub const INCIDENTS_LISTED: usize = 50;

/// The report as signed: what it covers, who made it when, the
/// checkpoint of the trail's log it was read at, and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardReport {
    pub format: String,
    /// The trail log's origin, the name its key signs with.
    pub origin: String,
    pub period: Period,
    pub previous: Period,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub generated_at: DateTime<Utc>,
    pub generated_by: String,
    /// The log's signed checkpoint when the figures were read.
    pub checkpoint: String,
    pub figures: Figures,
}

impl BoardReport {
    /// A report of `figures` over `period` (the previous period is the
    /// same number of weeks before it).
    pub fn new(
        origin: String,
        period: Period,
        team: Option<String>,
        (generated_at, generated_by): (DateTime<Utc>, String),
        checkpoint: String,
        figures: Figures,
    ) -> BoardReport {
        BoardReport {
            format: FORMAT.into(),
            origin,
            previous: period.previous(),
            period,
            team,
            generated_at,
            generated_by,
            checkpoint,
            figures,
        }
    }
}

/// The longest team name a report is asked for (teams are short names).
pub const MAX_TEAM: usize = 200;

/// A team a report is asked for, trimmed; refused when empty or longer
/// than `MAX_TEAM`.
pub fn team_name(team: Option<&str>) -> Result<Option<String>, String> {
    match team.map(str::trim) {
        Some(team) if team.is_empty() || team.len() > MAX_TEAM => Err(format!(
            "--team must be a team's name (1 to {MAX_TEAM} characters)"
        )),
        team => Ok(team.map(str::to_owned)),
    }
}

/// What a report is asked for: dates (widened to whole weeks) and
/// optionally one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// A report as the store signs it: a C2SP signed note whose text is the
/// `BoardReport`'s JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedReport {
    pub note: String,
}

/// How often a scheduled report is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Week,
    Month,
    Quarter,
}

impl Every {
    pub fn as_str(self) -> &'static str {
        match self {
            Every::Week => "week",
            Every::Month => "month",
            Every::Quarter => "quarter",
        }
    }

    /// The first day of the week, month or quarter holding `date`.
    fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Every::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Every::Month => date.with_day(1).unwrap_or(date),
            Every::Quarter => {
                let month = (date.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
            }
        }
    }

    /// The first day after the week, month or quarter holding `date`.
    fn next_start(self, date: NaiveDate) -> NaiveDate {
        let start = self.start_of(date);
        match self {
            Every::Week => Some(start + Duration::weeks(1)),
            Every::Month => start.checked_add_months(chrono::Months::new(1)),
            Every::Quarter => start.checked_add_months(chrono::Months::new(3)),
        }
        .unwrap_or(start)
    }

    /// When a report due at `at` is next due: 06:00 UTC on the first day
    /// of the next week, month or quarter.
    pub fn next_after(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let morning = |date: NaiveDate| {
            date.and_hms_opt(6, 0, 0)
                .map_or(at, |naive| naive.and_utc())
        };
        let today = morning(self.start_of(at.date_naive()));
        if today > at {
            today
        } else {
            morning(self.next_start(at.date_naive()))
        }
    }

    /// The whole week, month or quarter before the one holding `at`: what
    /// a report sent at `at` covers (first and last day).
    pub fn period_before(self, at: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
        let this = self.start_of(at.date_naive());
        let last_day = this - Duration::days(1);
        (self.start_of(last_day), last_day)
    }
}

impl std::str::FromStr for Every {
    type Err = String;

    fn from_str(text: &str) -> Result<Every, String> {
        match text {
            "week" => Ok(Every::Week),
            "month" => Ok(Every::Month),
            "quarter" => Ok(Every::Quarter),
            other => Err(format!("{other:?} is not week, month or quarter")),
        }
    }
}

/// A report sent on a schedule by the notifier, to Gavel users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Schedule {
    pub schedule_id: String,
    pub every: Every,
    /// Users' emails (a removed user is sent nothing).
    pub recipients: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// pdf, html or md.
    pub format: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<DateTime<Utc>>,
}

/// A schedule asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewSchedule {
    pub every: Every,
    pub recipients: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub format: String,
}

/// The formats a scheduled report is sent in.
pub const SCHEDULE_FORMATS: [&str; 3] = ["pdf", "html", "md"];
/// The most recipients one schedule sends to.
pub const MAX_RECIPIENTS: usize = 50;

/// The role names a report's tables use.
pub fn role_name(role: Role) -> String {
    role.as_str().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_quarter_covers_its_whole_weeks_and_the_one_before_is_as_long() {
        let period = Period::covering(date("2026-07-01"), date("2026-09-30")).expect("period");
        assert_eq!(period.from, date("2026-06-29"), "the Monday before");
        assert_eq!(period.to, date("2026-10-04"), "the Sunday after");
        assert_eq!(period.weeks(), 14);
        let previous = period.previous();
        assert_eq!(previous.weeks(), 14);
        assert_eq!(previous.to + Duration::days(1), period.from);
        assert_eq!(period.mondays().count(), 14);
        let (start, end) = period.bounds();
        assert_eq!((end - start).num_days(), 98);
    }

    #[test]
    fn schedules_fall_on_the_next_period_and_cover_the_one_before() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc)
        };
        let now = at("2026-12-07T17:00:00Z");
        assert_eq!(Every::Month.next_after(now), at("2027-01-01T06:00:00Z"));
        assert_eq!(Every::Quarter.next_after(now), at("2027-01-01T06:00:00Z"));
        assert_eq!(Every::Week.next_after(now), at("2026-12-14T06:00:00Z"));
        // Before 06:00 on the first day, today's sending is still to come.
        assert_eq!(
            Every::Month.next_after(at("2027-01-01T05:00:00Z")),
            at("2027-01-01T06:00:00Z")
        );
        assert_eq!(
            Every::Month.period_before(at("2027-01-01T06:00:00Z")),
            (date("2026-12-01"), date("2026-12-31"))
        );
        assert_eq!(
            Every::Quarter.period_before(at("2027-01-01T06:00:00Z")),
            (date("2026-10-01"), date("2026-12-31"))
        );
        assert_eq!(
            Every::Week.period_before(at("2026-12-14T06:00:00Z")),
            (date("2026-12-07"), date("2026-12-13"))
        );
    }

    #[test]
    fn backwards_and_overlong_periods_are_refused() {
        assert!(Period::covering(date("2026-07-02"), date("2026-07-01")).is_err());
        assert!(Period::covering(date("2020-01-01"), date("2026-01-01")).is_err());
        let one_day = Period::covering(date("2026-07-01"), date("2026-07-01")).expect("a day");
        assert_eq!(one_day.weeks(), 1);
    }
}
