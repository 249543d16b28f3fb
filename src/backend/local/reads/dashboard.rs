//! The blocked-deployments figures for leadership.

use crate::db::{Connection, params};
use chrono::{DateTime, Datelike, Duration, Utc};

use super::super::rows::{corrupt, to_ms};
use crate::backend::Result;
use crate::backend::types::{Dashboard, NamedCount, WeekCount};

use super::standings::{clock_bounds, kind_condition};
use crate::backend::AuditsDue;
use crate::domain::bias::standing::Attention;

pub fn count(conn: &Connection, sql: &str, values: impl crate::db::Params) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(sql)?
        .query_row(values, |row| row.get(0))?;
    Ok(n.max(0) as u64)
}

pub fn named_counts(conn: &Connection, sql: &str) -> Result<Vec<NamedCount>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement
        .query_map(crate::db::params![], |row| {
            Ok(NamedCount {
                name: row.get(0)?,
                count: row.get::<i64>(1)?.max(0) as u64,
            })
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The Monday 00:00 UTC of the week holding `at`.
pub fn week_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let date = at.date_naive() - Duration::days(i64::from(at.weekday().num_days_from_monday()));
    date.and_hms_opt(0, 0, 0)
        .map_or(at, |naive| naive.and_utc())
}

pub const TREND_WEEKS: i64 = 13;

/// The blocked deployments each policy blocks, counted from the rows: what
/// `blocked_policy_counts` keeps, and what rebuilds and `audit verify`
/// recount.
pub(crate) const BLOCKED_BY_POLICY: &str = "SELECT p.policy_id, COUNT(*) FROM deployments d
     JOIN deployment_policies p ON p.deployment_id = d.deployment_id AND p.blocking = 1
     WHERE d.status = 'blocked' GROUP BY p.policy_id";

/// How many agents need attention at `now`, by the kind of attention, from
/// the kept standings with the clock applied (`attention_at`, one index
/// range per kind); passing agents and those no policy asks about are not
/// counted.
fn audits_due(conn: &Connection, now: DateTime<Utc>, due_within: Duration) -> Result<AuditsDue> {
    let bounds = clock_bounds(now, due_within);
    let of_kind = |kind: Attention| {
        let (condition, values) = kind_condition(kind, bounds, None);
        count(
            conn,
            &format!("SELECT COUNT(*) FROM agent_standings WHERE {condition}"),
            values,
        )
    };
    Ok(AuditsDue {
        failing: of_kind(Attention::Failing)?,
        expired: of_kind(Attention::Expired)?,
        missing: of_kind(Attention::Missing)?,
        uncovered: of_kind(Attention::Uncovered)?,
        due_soon: of_kind(Attention::DueSoon)?,
    })
}

pub fn dashboard(conn: &Connection, now: DateTime<Utc>) -> Result<Dashboard> {
    let blocked_now = count(
        conn,
        "SELECT COUNT(*) FROM deployments WHERE status = 'blocked'",
        crate::db::params![],
    )?;
    let this_week = week_start(now);
    let blocked_between = |from: DateTime<Utc>, to: DateTime<Utc>| {
        count(
            conn,
            "SELECT COUNT(*) FROM deployments WHERE outcome = 'blocked' AND requested_at >= ?1 AND requested_at < ?2",
            params![to_ms(from), to_ms(to)],
        )
    };
    let blocked_this_week = blocked_between(this_week, now + Duration::milliseconds(1))?;
    let blocked_last_week = blocked_between(this_week - Duration::weeks(1), this_week)?;

    let mut ages: Vec<i64> = conn
        .prepare_cached(
            "SELECT requested_at FROM deployments WHERE status = 'blocked' ORDER BY requested_at",
        )?
        .query_map(crate::db::params![], |row| row.get(0))?
        .collect::<crate::db::Result<Vec<i64>>>()?;
    ages.iter_mut()
        .for_each(|at| *at = (to_ms(now) - *at).max(0));
    ages.sort_unstable();
    let median_hours_blocked = match ages.len() {
        0 => None,
        n if n % 2 == 1 => Some(ages[n / 2] as f64 / 3_600_000.0),
        n => Some((ages[n / 2 - 1] + ages[n / 2]) as f64 / 2.0 / 3_600_000.0),
    };

    let pending_approvals = count(
        conn,
        "SELECT COUNT(*) FROM workflows WHERE status = 'in_progress'",
        crate::db::params![],
    )?;
    let approved = count(
        conn,
        "SELECT COUNT(*) FROM workflows WHERE status = 'approved'",
        crate::db::params![],
    )?;
    let rejected = count(
        conn,
        "SELECT COUNT(*) FROM workflows WHERE status = 'rejected'",
        crate::db::params![],
    )?;
    let approval_rate =
        (approved + rejected > 0).then(|| approved as f64 / (approved + rejected) as f64);

    let blocked_by_policy = named_counts(
        conn,
        "SELECT policy_id, n FROM blocked_policy_counts WHERE n > 0 ORDER BY n DESC, policy_id",
    )?;
    let blocked_by_team = named_counts(
        conn,
        "SELECT team, COUNT(*) FROM deployments WHERE status = 'blocked'
         GROUP BY team ORDER BY COUNT(*) DESC, team",
    )?;

    let first_week = this_week - Duration::weeks(TREND_WEEKS - 1);
    let week_ms = Duration::weeks(1).num_milliseconds();
    let mut weekly_blocked: Vec<WeekCount> = (0..TREND_WEEKS)
        .map(|week| WeekCount {
            week_start: (first_week + Duration::weeks(week)).date_naive(),
            blocked: 0,
        })
        .collect();
    let mut statement = conn.prepare_cached(
        "SELECT (requested_at - ?1) / ?2, COUNT(*) FROM deployments
         WHERE outcome = 'blocked' AND requested_at >= ?1 AND requested_at <= ?3 GROUP BY 1",
    )?;
    let buckets = statement
        .query_map(params![to_ms(first_week), week_ms, to_ms(now)], |row| {
            Ok((row.get::<i64>(0)?, row.get::<i64>(1)?))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    for (week, blocked) in buckets {
        let slot = usize::try_from(week)
            .ok()
            .and_then(|week| weekly_blocked.get_mut(week));
        let slot = slot.ok_or_else(|| corrupt("deployment week", week))?;
        slot.blocked = blocked.max(0) as u64;
    }

    // Steps whose policy gives an SLA, past their due time.
    let overdue_by_team = conn
        .prepare_cached(
            "SELECT team, COUNT(*) FROM workflows
             WHERE due_at IS NOT NULL AND due_at <= ?1 AND status = 'in_progress'
             GROUP BY team ORDER BY COUNT(*) DESC, team",
        )?
        .query_map([to_ms(now)], |row| {
            Ok(NamedCount {
                name: row.get(0)?,
                count: row.get::<i64>(1)?.max(0) as u64,
            })
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;

    let within = Duration::days(crate::domain::bias::standing::DUE_WITHIN_DAYS);
    let audits = audits_due(conn, now, within)?;

    Ok(Dashboard {
        audits,
        overdue_by_team,
        generated_at: now,
        blocked_now,
        blocked_this_week,
        blocked_last_week,
        median_hours_blocked,
        pending_approvals,
        approval_rate,
        blocked_by_policy,
        blocked_by_team,
        weekly_blocked,
    })
}

/// The kept blocked counts per policy that differ from joining every
/// blocked deployment with its policies (`gavel audit verify`).
pub fn blocked_counts_that_differ(conn: &Connection) -> Result<Vec<String>> {
    let as_map = |rows: Vec<NamedCount>| {
        rows.into_iter()
            .filter(|row| row.count > 0)
            .map(|row| (row.name, row.count))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let kept = as_map(named_counts(
        conn,
        "SELECT policy_id, n FROM blocked_policy_counts",
    )?);
    let recount = as_map(named_counts(conn, BLOCKED_BY_POLICY)?);
    let policies: std::collections::BTreeSet<&String> = kept.keys().chain(recount.keys()).collect();
    Ok(policies
        .into_iter()
        .filter_map(|policy| {
            let (kept, counted) = (
                kept.get(policy).copied().unwrap_or(0),
                recount.get(policy).copied().unwrap_or(0),
            );
            (kept != counted).then(|| {
                format!("policy {policy}: {kept} blocked deployments kept, {counted} counted")
            })
        })
        .collect())
}
