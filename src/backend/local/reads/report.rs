//! The board report's figures over a period of whole weeks, read from the
//! counts the store keeps per week (`writes::figures`): requests,
//! outcomes, decision-time histograms, alerts and audits are a few rows a
//! week however many workflows there are. Incidents, exceptions and
//! policy-set versions are few and read as recorded.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::super::rows::{corrupt, from_json, from_ms, parse, to_ms};
use super::weeks::{OF_TEAM, ms_bounds, team_param, weekly_sums, weeks_of};
use crate::backend::Result;
use crate::db::{Connection, params};
use crate::domain::Role;
use crate::domain::exception::Exception;
use crate::domain::figures::quantile_hours;
use crate::domain::incident::Incident;
use crate::domain::policy::set::PolicySet;
use crate::domain::report::{
    AuditStanding, Coverage, Figures, Headline, INCIDENTS_LISTED, IncidentLine, Period,
    PolicyChange, UNMET_LISTED, Unmet, Waits, Week, role_name,
};

/// The decided steps' histogram over the period, per role and team.
type Histograms = BTreeMap<(String, String), Vec<(u32, u64)>>;

fn histograms(conn: &Connection, period: &Period, team: Option<&str>) -> Result<Histograms> {
    let (from, to) = ms_bounds(period);
    let mut statement = conn.prepare_cached(&format!(
        "SELECT role, team, bucket, CAST(SUM(n) AS BIGINT) FROM decision_times
         WHERE week >= ?1 AND week < ?2 AND {OF_TEAM} GROUP BY role, team, bucket"
    ))?;
    let rows = statement
        .query_map(params![from, to, team_param(team)], |row| {
            Ok((
                row.get::<String>(0)?,
                row.get::<String>(1)?,
                row.get::<i64>(2)?,
                row.get::<i64>(3)?,
            ))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let mut histograms = Histograms::new();
    for (role, team, bucket, n) in rows {
        let bucket = u32::try_from(bucket).map_err(|_| corrupt("decision bucket", bucket))?;
        histograms
            .entry((role, team))
            .or_default()
            .push((bucket, n.max(0) as u64));
    }
    Ok(histograms)
}

fn waits(name: String, counts: &[(u32, u64)]) -> Waits {
    Waits {
        name,
        decided: counts.iter().map(|(_, n)| n).sum(),
        p50_hours: quantile_hours(counts, 0.5),
        p90_hours: quantile_hours(counts, 0.9),
    }
}

/// Merges histograms by `key`, longest p90 first.
fn waits_by(histograms: &Histograms, key: impl Fn(&(String, String)) -> String) -> Vec<Waits> {
    let mut merged: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    for (group, counts) in histograms {
        let entry = merged.entry(key(group)).or_default();
        for (bucket, n) in counts {
            *entry.entry(*bucket).or_default() += n;
        }
    }
    let mut all: Vec<Waits> = merged
        .into_iter()
        .map(|(name, counts)| waits(name, &counts.into_iter().collect::<Vec<_>>()))
        .collect();
    all.sort_by(|a, b| {
        b.p90_hours
            .partial_cmp(&a.p90_hours)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.name.cmp(&b.name))
    });
    all
}

fn incidents_in(
    conn: &Connection,
    period: &Period,
    team: Option<&str>,
) -> Result<Vec<IncidentLine>> {
    let (start, end) = period.bounds();
    let mut statement = conn.prepare_cached(
        "SELECT i.record FROM incidents i JOIN agents a ON a.agent_id = i.agent_id
         WHERE CAST(?1 AS TEXT) = '' OR a.team = ?1",
    )?;
    let records = statement
        .query_map(params![team_param(team)], |row| row.get::<String>(0))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let mut lines = Vec::new();
    for record in records {
        let incident: Incident = from_json("incident", &record)?;
        if incident.reported_at < start || incident.reported_at >= end {
            continue;
        }
        lines.push(IncidentLine {
            suspended: incident.suspension.is_some(),
            status: incident.status.to_string(),
            incident_id: incident.incident_id,
            agent_id: incident.agent_id,
            agent_version: incident.agent_version,
            severity: incident.severity,
            reported_at: incident.reported_at,
        });
    }
    lines.sort_by(|a, b| (a.reported_at, &a.incident_id).cmp(&(b.reported_at, &b.incident_id)));
    Ok(lines)
}

/// Exceptions whose last approval, granting them, fell in the period.
fn exceptions_granted(conn: &Connection, period: &Period, team: Option<&str>) -> Result<u64> {
    let (start, end) = period.bounds();
    let mut statement = conn.prepare_cached(
        "SELECT e.record FROM policy_exceptions e JOIN agents a ON a.agent_id = e.agent_id
         WHERE e.status <> 'pending' AND (CAST(?1 AS TEXT) = '' OR a.team = ?1)",
    )?;
    let records = statement
        .query_map(params![team_param(team)], |row| row.get::<String>(0))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let mut granted = 0;
    for record in records {
        let exception: Exception = from_json("exception", &record)?;
        let fully_approved = exception.approvals.len() >= exception.chain.len();
        let at = exception.approvals.last().map(|approval| approval.at);
        if fully_approved && at.is_some_and(|at| at >= start && at < end) {
            granted += 1;
        }
    }
    Ok(granted)
}

/// Policy-set versions approved in the period, oldest first.
fn policy_changes(conn: &Connection, period: &Period) -> Result<Vec<PolicyChange>> {
    let (from, to) = ms_bounds(period);
    let mut statement = conn.prepare_cached(
        "SELECT version, description, proposed_by, decided_by, decided_at FROM policy_sets
         WHERE state IN ('active', 'superseded') AND decided_at >= ?1 AND decided_at < ?2
         ORDER BY decided_at, version",
    )?;
    let rows = statement
        .query_map(params![from, to], |row| {
            Ok((
                row.get::<i64>(0)?,
                row.get::<String>(1)?,
                row.get::<String>(2)?,
                row.get::<Option<String>>(3)?,
                row.get::<i64>(4)?,
            ))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(version, description, proposed_by, decided_by, at)| {
            Ok(PolicyChange {
                version,
                description,
                proposed_by,
                approved_by: decided_by.unwrap_or_default(),
                approved_at: from_ms(at)?,
            })
        })
        .collect()
}

/// What one period's figures are read from, each read once.
struct PeriodFigures {
    headline: Headline,
    weeks: Vec<Week>,
    histograms: Histograms,
    incidents: Vec<IncidentLine>,
    policy_changes: Vec<PolicyChange>,
}

/// A period's headline, its weeks, its decided steps' histograms, its
/// incidents and its policy-set changes.
fn period_figures(conn: &Connection, period: &Period, team: Option<&str>) -> Result<PeriodFigures> {
    let bounds = ms_bounds(period);
    let mut headline = Headline::default();
    let weeks = weeks_of(conn, period, team, &mut headline)?;
    for (_, figure, n) in weekly_sums(conn, "report_weeks", "figure", bounds, team)? {
        match figure.as_str() {
            "reminder" => headline.reminders += n,
            "overdue" => headline.overdue += n,
            "escalated" => headline.escalations += n,
            "audit" => headline.audits += n,
            "audit_failing" => headline.audits_failing += n,
            other => return Err(corrupt("report figure", other)),
        }
    }
    let histograms = histograms(conn, period, team)?;
    let overall = waits_by(&histograms, |_| String::new())
        .pop()
        .unwrap_or_else(|| waits(String::new(), &[]));
    headline.decided_steps = overall.decided;
    headline.p50_hours = overall.p50_hours;
    headline.p90_hours = overall.p90_hours;
    let incidents = incidents_in(conn, period, team)?;
    headline.incidents = incidents.len() as u64;
    headline.suspensions = incidents.iter().filter(|line| line.suspended).count() as u64;
    headline.exceptions = exceptions_granted(conn, period, team)?;
    let policy_changes = policy_changes(conn, period)?;
    headline.policy_changes = policy_changes.len() as u64;
    Ok(PeriodFigures {
        headline,
        weeks,
        histograms,
        incidents,
        policy_changes,
    })
}

/// Agents whose audit expired within the period, and their audits'
/// standing as of `now` (every team: the kept standings are counted per
/// day, not per team, and a team's are read from its agents).
fn audit_standing(
    conn: &Connection,
    period: &Period,
    team: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AuditStanding> {
    let (from, to) = ms_bounds(period);
    let expired_in_period = super::count(
        conn,
        &format!(
            "SELECT COUNT(*) FROM agent_standings
             WHERE expires_at >= ?1 AND expires_at < ?2 AND {OF_TEAM}"
        ),
        params![from, to, team_param(team)],
    )?;
    let due = super::audits_due(
        conn,
        now,
        Duration::days(crate::domain::bias::standing::DUE_WITHIN_DAYS),
        team,
    )?;
    Ok(AuditStanding {
        expired_in_period,
        failing: due.failing,
        expired: due.expired,
        missing: due.missing,
        due_soon: due.due_soon,
    })
}

/// Each adopted framework's coverage at `now`, and the agents unmet
/// longest.
fn obligations(
    conn: &Connection,
    set: &PolicySet,
    team: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Vec<Coverage>, Vec<Unmet>)> {
    let mut coverage = Vec::new();
    let mut unmet = Vec::new();
    let team = team_param(team);
    for framework in &set.file.frameworks {
        let (agents, unmet_now): (i64, i64) = conn
            .prepare_cached(
                "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN c.unmet_from <= ?2 THEN 1 ELSE 0 END), 0) AS BIGINT)
                 FROM obligation_coverage c JOIN agents a ON a.agent_id = c.agent_id
                 WHERE c.framework_id = ?1 AND (CAST(?3 AS TEXT) = '' OR a.team = ?3)",
            )?
            .query_row(params![framework.id, to_ms(now), team], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
        coverage.push(Coverage {
            framework: framework.id.clone(),
            name: framework.name.clone(),
            agents: agents.max(0) as u64,
            unmet: unmet_now.max(0) as u64,
        });
        let mut statement = conn.prepare_cached(
            "SELECT c.agent_id, c.unmet_from FROM obligation_coverage c
             JOIN agents a ON a.agent_id = c.agent_id
             WHERE c.framework_id = ?1 AND c.unmet_from <= ?2
               AND (CAST(?3 AS TEXT) = '' OR a.team = ?3)
             ORDER BY c.unmet_from, c.agent_id LIMIT ?4",
        )?;
        let rows = statement
            .query_map(
                params![framework.id, to_ms(now), team, UNMET_LISTED as i64],
                |row| Ok((row.get::<String>(0)?, row.get::<i64>(1)?)),
            )?
            .collect::<crate::db::Result<Vec<_>>>()?;
        for (agent_id, since) in rows {
            unmet.push(Unmet {
                agent_id,
                framework: framework.id.clone(),
                since: from_ms(since)?.date_naive(),
            });
        }
    }
    unmet.sort_by(|a, b| (a.since, &a.agent_id).cmp(&(b.since, &b.agent_id)));
    unmet.truncate(UNMET_LISTED);
    Ok((coverage, unmet))
}

/// The report's figures for `period` (and the one before), for one team
/// or all, with standings and coverage as of `now`.
pub fn board_figures(
    conn: &Connection,
    period: &Period,
    team: Option<&str>,
    set: &PolicySet,
    now: DateTime<Utc>,
) -> Result<Figures> {
    let PeriodFigures {
        headline,
        weeks,
        histograms,
        mut incidents,
        policy_changes,
    } = period_figures(conn, period, team)?;
    let previous = period_figures(conn, &period.previous(), team)?.headline;
    let waits_by_role = waits_by(&histograms, |(role, _)| {
        parse::<Role>("step role", role)
            .map(role_name)
            .unwrap_or_else(|_| role.clone())
    });
    let waits_by_team = waits_by(&histograms, |(_, team)| team.clone());
    let (obligations, unmet) = obligations(conn, set, team, now)?;
    incidents.truncate(INCIDENTS_LISTED);
    Ok(Figures {
        headline,
        previous,
        weeks,
        waits_by_role,
        waits_by_team,
        audits: audit_standing(conn, period, team, now)?,
        obligations,
        unmet,
        incidents,
        policy_changes,
    })
}
