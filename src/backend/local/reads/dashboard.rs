//! The blocked-deployments figures for leadership.

use crate::db::{Connection, OptionalExtension, params};
use crate::domain::figures::week_start;
use chrono::{DateTime, Duration, Utc};

use super::super::rows::{corrupt, parse, to_ms};
use crate::backend::Result;
use crate::backend::types::{Dashboard, DecisionTimes, NamedCount, WeekCount};
use crate::domain::Role;
use crate::domain::figures::quantile_hours;

use super::standing_days::attention_counts;
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

/// Weeks the dashboard's trend and decision times cover.
pub const TREND_WEEKS: i64 = 13;

/// The blocked deployments each policy blocks, counted from the rows: what
/// `blocked_policy_counts` keeps, and what rebuilds and `audit verify`
/// recount.
pub(crate) const BLOCKED_BY_POLICY: &str = "SELECT p.policy_id, COUNT(*) FROM deployments d
     JOIN deployment_policies p ON p.deployment_id = d.deployment_id AND p.blocking = 1
     WHERE d.status = 'blocked' GROUP BY p.policy_id";

/// How many agents (of `team`, or all) need attention at `now`, by the kind of attention, from
/// the standings kept per day with the clock applied (`attention_at`);
/// passing agents and those no policy asks about are not counted.
pub fn audits_due(
    conn: &Connection,
    now: DateTime<Utc>,
    due_within: Duration,
    team: Option<&str>,
) -> Result<AuditsDue> {
    if let Some(team) = team {
        let seen = super::standing_days::team_attention(conn, team, now, due_within)?;
        let of = |kind: Attention| seen.iter().filter(|seen| **seen == kind).count() as u64;
        return Ok(AuditsDue {
            failing: of(Attention::Failing),
            expired: of(Attention::Expired),
            missing: of(Attention::Missing),
            uncovered: of(Attention::Uncovered),
            due_soon: of(Attention::DueSoon),
        });
    }
    let [failing, expired, missing, uncovered, due_soon] = attention_counts(
        conn,
        [
            Attention::Failing,
            Attention::Expired,
            Attention::Missing,
            Attention::Uncovered,
            Attention::DueSoon,
        ],
        now,
        due_within,
    )?;
    Ok(AuditsDue {
        failing,
        expired,
        missing,
        uncovered,
        due_soon,
    })
}

pub fn dashboard(conn: &Connection, now: DateTime<Utc>) -> Result<Dashboard> {
    // Every figure but the overdue steps is read from the kept counts
    // (`writes::figures`), a handful of rows per week or day.
    let blocked_now = count(
        conn,
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM blocked_teams",
        params![],
    )?;
    let this_week = week_start(now);
    let blocked_in_week = |week: DateTime<Utc>| {
        count(
            conn,
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM request_weeks WHERE outcome = 'blocked' AND week = ?1",
            params![to_ms(week)],
        )
    };
    let blocked_this_week = blocked_in_week(this_week)?;
    let blocked_last_week = blocked_in_week(this_week - Duration::weeks(1))?;
    let median_hours_blocked = median_hours_blocked(conn, now, blocked_now)?;

    let of_status = |status: &str| {
        count(
            conn,
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM workflow_outcomes WHERE status = ?1",
            params![status],
        )
    };
    let pending_approvals = of_status("in_progress")?;
    let approved = of_status("approved")?;
    let rejected = of_status("rejected")?;
    let approval_rate =
        (approved + rejected > 0).then(|| approved as f64 / (approved + rejected) as f64);

    let blocked_by_policy = named_counts(
        conn,
        "SELECT policy_id, n FROM blocked_policy_counts WHERE n > 0 ORDER BY n DESC, policy_id",
    )?;
    let blocked_by_team = named_counts(
        conn,
        "SELECT team, n FROM blocked_teams WHERE n > 0 ORDER BY n DESC, team",
    )?;

    let first_week = this_week - Duration::weeks(TREND_WEEKS - 1);
    let mut weekly_blocked: Vec<WeekCount> = (0..TREND_WEEKS)
        .map(|week| WeekCount {
            week_start: (first_week + Duration::weeks(week)).date_naive(),
            blocked: 0,
        })
        .collect();
    let mut statement = conn.prepare_cached(
        "SELECT week, CAST(SUM(n) AS BIGINT) FROM request_weeks
         WHERE outcome = 'blocked' AND week >= ?1 AND week <= ?2 GROUP BY week",
    )?;
    let weeks = statement
        .query_map(params![to_ms(first_week), to_ms(this_week)], |row| {
            Ok((row.get::<i64>(0)?, row.get::<i64>(1)?))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let week_ms = Duration::weeks(1).num_milliseconds();
    for (week, blocked) in weeks {
        let index = (week - to_ms(first_week)) / week_ms;
        let slot = usize::try_from(index)
            .ok()
            .and_then(|index| weekly_blocked.get_mut(index));
        let slot = slot.ok_or_else(|| corrupt("kept request week", week))?;
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
    let audits = audits_due(conn, now, within, None)?;

    let (version, set) = super::active_set(conn)?;
    let coverage = super::obligation_coverage(conn, (version, &*set), now)?;
    let (exceptions_active, exceptions_expiring) = super::exception_counts(conn, now)?;
    let (recertifications_due, recertifications_due_soon) =
        super::recertification_counts(conn, &set, now)?;
    let (incidents_open, incidents_overdue, suspended_versions) =
        super::incident_counts(conn, now)?;
    Ok(Dashboard {
        incidents_open,
        incidents_overdue,
        suspended_versions,
        recertifications_due,
        recertifications_due_soon,
        exceptions_active,
        exceptions_expiring,
        audits,
        overdue_by_team,
        decision_times: decision_times(conn, first_week)?,
        obligations: coverage.clone().unwrap_or_default(),
        obligations_counting: coverage.is_none(),
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
        weekly: super::weeks_of(
            conn,
            &crate::domain::report::Period {
                from: first_week.date_naive(),
                to: this_week.date_naive() + Duration::days(6),
            },
            None,
            &mut Default::default(),
        )?,
    })
}

/// How long the steps decided since `since` waited, for every role and
/// each, from the kept histogram.
fn decision_times(conn: &Connection, since: DateTime<Utc>) -> Result<Vec<DecisionTimes>> {
    let mut statement = conn.prepare_cached(
        "SELECT role, bucket, CAST(SUM(n) AS BIGINT) FROM role_decision_times
         WHERE week >= ?1 GROUP BY role, bucket HAVING SUM(n) > 0",
    )?;
    let rows = statement
        .query_map(params![to_ms(since)], |row| {
            Ok((
                row.get::<String>(0)?,
                row.get::<i64>(1)?,
                row.get::<i64>(2)?,
            ))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let mut by_role: std::collections::BTreeMap<Role, Vec<(u32, u64)>> = Default::default();
    let mut every = Vec::new();
    for (role, bucket, n) in rows {
        let role: Role = parse("step role", &role)?;
        let bucket = u32::try_from(bucket).map_err(|_| corrupt("decision bucket", bucket))?;
        let n = n.max(0) as u64;
        by_role.entry(role).or_default().push((bucket, n));
        every.push((bucket, n));
    }
    let times = |role, counts: &[(u32, u64)]| DecisionTimes {
        role,
        decided: counts.iter().map(|(_, n)| n).sum(),
        p50_hours: quantile_hours(counts, 0.5),
        p90_hours: quantile_hours(counts, 0.9),
    };
    let mut times_of = vec![times(None, &every)];
    times_of.extend(
        by_role
            .iter()
            .map(|(role, counts)| times(Some(*role), counts)),
    );
    Ok(times_of)
}

/// The median age of the blocked deployments, exact: the kept counts per
/// day find the day holding each middle one, and the index of blocked
/// deployments by request time gives it within that day.
fn median_hours_blocked(
    conn: &Connection,
    now: DateTime<Utc>,
    blocked: u64,
) -> Result<Option<f64>> {
    if blocked == 0 {
        return Ok(None);
    }
    let middle = if blocked % 2 == 1 {
        vec![blocked / 2]
    } else {
        vec![blocked / 2 - 1, blocked / 2]
    };
    let mut days =
        conn.prepare_cached("SELECT day, n FROM blocked_day_totals WHERE n > 0 ORDER BY day")?;
    let days = days
        .query_map(params![], |row| {
            Ok((row.get::<i64>(0)?, row.get::<i64>(1)?))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let day_ms = Duration::days(1).num_milliseconds();
    let mut ages = Vec::with_capacity(2);
    for rank in middle {
        let mut before = 0u64;
        let mut found = None;
        for &(day, n) in &days {
            let n = n.max(0) as u64;
            if rank < before + n {
                found = Some((day, rank - before));
                break;
            }
            before += n;
        }
        let (day, offset) = found.ok_or_else(|| corrupt("kept blocked count", blocked as i64))?;
        let requested_at: i64 = conn
            .prepare_cached(
                "SELECT requested_at FROM deployments
                 WHERE status = 'blocked' AND requested_at >= ?1 AND requested_at < ?2
                 ORDER BY requested_at LIMIT 1 OFFSET ?3",
            )?
            .query_row(params![day, day + day_ms, offset as i64], |row| row.get(0))
            .optional()?
            .ok_or_else(|| corrupt("kept blocked count of the day", day))?;
        ages.push((to_ms(now) - requested_at).max(0) as f64 / 3_600_000.0);
    }
    Ok(Some(ages.iter().sum::<f64>() / ages.len() as f64))
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
