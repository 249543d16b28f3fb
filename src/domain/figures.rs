//! What each workflow and deployment adds to the figures leadership reads
//! (outcomes per week, team and kind; time to decision per week, team and
//! step role; requests per week; blocked deployments per day), so a store
//! can keep them as counts changed with each write and read a handful of
//! rows instead of every record.

use chrono::{DateTime, Datelike, Duration, Utc};

use super::workflow::{StepStatus, WorkflowStatus};
use super::{Role, Step};

/// The Monday 00:00 UTC starting the week of `at`.
pub fn week_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let date = at.date_naive() - Duration::days(i64::from(at.weekday().num_days_from_monday()));
    date.and_hms_opt(0, 0, 0)
        .map_or(at, |naive| naive.and_utc())
}

/// 00:00 UTC of the day of `at`.
pub fn day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(at, |naive| naive.and_utc())
}

/// One workflow's outcome: its status, counted in the week it closed (a
/// workflow still open: the week it was opened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeKey {
    pub week: DateTime<Utc>,
    pub status: WorkflowStatus,
}

/// One decided step: the week its decision was recorded, its role, and how
/// long it waited, as a histogram bucket (`decision_bucket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionKey {
    pub week: DateTime<Utc>,
    pub role: Role,
    pub bucket: u32,
}

/// What one workflow adds to the kept figures: its status, when it was
/// opened, its steps, and when it closed if it did (the store keeps that
/// with the row).
pub fn workflow_figures(
    status: WorkflowStatus,
    created_at: DateTime<Utc>,
    steps: &[Step],
    closed_at: DateTime<Utc>,
) -> (OutcomeKey, Vec<DecisionKey>) {
    let outcome = OutcomeKey {
        week: week_start(if status == WorkflowStatus::InProgress {
            created_at
        } else {
            closed_at
        }),
        status,
    };
    // A step waits from when the one before it was decided (the first,
    // from the request) until its own decision was recorded.
    let mut since = created_at;
    let mut decisions = Vec::new();
    for step in steps {
        let Some(received) = decided_at(step) else {
            continue;
        };
        decisions.push(DecisionKey {
            week: week_start(received),
            role: step.role,
            bucket: decision_bucket(received - since),
        });
        since = received;
    }
    (outcome, decisions)
}

/// When a step's decision reached the record, if it was decided.
fn decided_at(step: &Step) -> Option<DateTime<Utc>> {
    matches!(step.status, StepStatus::Approved | StepStatus::Rejected)
        .then(|| step.received())
        .flatten()
}

/// A waiting time's histogram bucket: whole seconds below 8, then eight
/// buckets per doubling (each at most 12.5% wide), so percentiles read
/// from the counts are within an eighth of the exact value. Negative
/// times (a clock set back) count as none.
pub fn decision_bucket(waited: Duration) -> u32 {
    let seconds = waited.num_seconds().max(0) as u64;
    if seconds < 8 {
        return seconds as u32;
    }
    // 8..=15 s are buckets 8..=15; each doubling after, eight more.
    let exponent = seconds.ilog2();
    let sub = (seconds >> (exponent - 3)) & 7;
    8 * (exponent - 2) + sub as u32
}

/// The longest wait a bucket holds (exclusive), in seconds.
pub fn bucket_end_seconds(bucket: u32) -> u64 {
    if bucket < 8 {
        return u64::from(bucket) + 1;
    }
    let shift = bucket / 8 - 1;
    let sub = u64::from(bucket % 8);
    // A bucket past any wait a u64 of seconds holds (a corrupt row) ends
    // at the largest.
    if shift >= 60 {
        return u64::MAX;
    }
    (8 + sub + 1) << shift
}

/// The `quantile` (0..=1) of waits counted per bucket, as the end of the
/// bucket it falls in (hours); none when nothing was counted.
pub fn quantile_hours(counts: &[(u32, u64)], quantile: f64) -> Option<f64> {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    // The smallest wait with at least `quantile` of them at or below it.
    let rank = ((quantile.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (bucket, n) in sorted {
        seen += n;
        if seen >= rank {
            return Some(bucket_end_seconds(bucket) as f64 / 3600.0);
        }
    }
    None
}

/// What the board report counts per week and team beyond outcomes,
/// requests and decision times: steps' alerts by when they were sent, and
/// bias audits by when they were tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReportFigure {
    Reminder,
    Overdue,
    Escalated,
    Audit,
    AuditFailing,
}

impl ReportFigure {
    pub const ALL: [ReportFigure; 5] = [
        ReportFigure::Reminder,
        ReportFigure::Overdue,
        ReportFigure::Escalated,
        ReportFigure::Audit,
        ReportFigure::AuditFailing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFigure::Reminder => "reminder",
            ReportFigure::Overdue => "overdue",
            ReportFigure::Escalated => "escalated",
            ReportFigure::Audit => "audit",
            ReportFigure::AuditFailing => "audit_failing",
        }
    }

    /// The figure a step's alert counts for.
    pub fn of_alert(kind: super::policy::sla::AlertKind) -> ReportFigure {
        match kind {
            super::policy::sla::AlertKind::Reminder => ReportFigure::Reminder,
            super::policy::sla::AlertKind::Overdue => ReportFigure::Overdue,
            super::policy::sla::AlertKind::Escalated => ReportFigure::Escalated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn buckets_hold_their_waits_and_are_at_most_an_eighth_wide() {
        let mut previous_end = 0;
        for bucket in 0..220 {
            let end = bucket_end_seconds(bucket);
            assert!(end > previous_end, "bucket {bucket}");
            if bucket >= 8 {
                let start = previous_end;
                assert!(
                    (end - start) * 8 <= start,
                    "bucket {bucket}: {start}..{end}"
                );
                assert_eq!(decision_bucket(Duration::seconds(start as i64)), bucket);
            }
            assert_eq!(decision_bucket(Duration::seconds(end as i64 - 1)), bucket);
            previous_end = end;
        }
        assert_eq!(decision_bucket(Duration::seconds(-5)), 0);
        assert_eq!(bucket_end_seconds(u32::MAX), u64::MAX);
    }

    #[test]
    fn quantiles_come_from_the_counts() {
        let hour = decision_bucket(Duration::hours(1));
        let day = decision_bucket(Duration::days(1));
        let counts = [(day, 1), (hour, 9)];
        let p50 = quantile_hours(&counts, 0.5).expect("p50");
        let p90 = quantile_hours(&counts, 0.9).expect("p90");
        let p99 = quantile_hours(&counts, 0.99).expect("p99");
        assert!((1.0..=1.125).contains(&p50), "{p50}");
        assert_eq!(p90, p50, "nine in ten waited about an hour");
        assert!((24.0..=27.0).contains(&p99), "{p99}");
        assert_eq!(quantile_hours(&[], 0.5), None);
    }

    #[test]
    fn weeks_start_on_monday() {
        let sunday = Utc.with_ymd_and_hms(2026, 12, 6, 23, 59, 0).unwrap();
        let monday = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        assert_eq!(week_start(sunday), monday);
        assert_eq!(week_start(monday), monday);
        assert_eq!(
            day_start(sunday),
            Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap()
        );
    }
}
