//! The kept figures (`writes::figures`) counted afresh from every record:
//! what a rebuild writes and what `gavel audit verify` compares them with.

use std::collections::BTreeMap;

use super::super::rows::{from_json, from_ms, parse, to_ms};
use crate::backend::Result;
use crate::db::{Connection, OptionalExtension, Row, params};
use crate::domain::figures::{DecisionKey, OutcomeKey, day_start, week_start, workflow_figures};
use crate::domain::{DeploymentStatus, Step};

/// What one workflow counts for (`domain::figures::workflow_figures`).
pub type WorkflowFigures = (OutcomeKey, Vec<DecisionKey>);

/// The columns of a workflow row its kept figures are read from.
pub const FIGURE_COLUMNS: &str = "team, waiting_since, status, created_at, steps";

/// A workflow row's `FIGURE_COLUMNS`, unparsed.
pub type FigureRow = (String, i64, String, i64, String);

pub fn figure_row(row: &Row<'_>) -> crate::db::Result<FigureRow> {
    row.try_into()
}

/// What a stored workflow row counts for, and its team (a closed
/// workflow's `waiting_since` is when it closed).
pub fn stored_figures(
    (team, sorted_at, status, created_at, steps): FigureRow,
) -> Result<(String, WorkflowFigures)> {
    let steps: Vec<Step> = from_json("workflow steps", &steps)?;
    let figures = workflow_figures(
        parse("workflow status", &status)?,
        from_ms(created_at)?,
        &steps,
        from_ms(sorted_at)?,
    );
    Ok((team, figures))
}

/// Every kept figure, keyed as its table is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FigureCounts {
    /// (week, team, status)
    pub outcomes: BTreeMap<(i64, String, String), i64>,
    /// (week, team, role, bucket)
    pub decisions: BTreeMap<(i64, String, String, i64), i64>,
    /// (week, role, bucket): the decisions over every team
    pub role_decisions: BTreeMap<(i64, String, i64), i64>,
    /// (week, team, outcome)
    pub requests: BTreeMap<(i64, String, String), i64>,
    /// (day, team)
    pub blocked: BTreeMap<(i64, String), i64>,
    /// team: `blocked` summed over days
    pub blocked_teams: BTreeMap<String, i64>,
    /// day: `blocked` summed over teams
    pub blocked_day_totals: BTreeMap<i64, i64>,
}

impl FigureCounts {
    /// The totals of `blocked` per team and per day, as counting gives them.
    fn total_blocked(&mut self) {
        for ((day, team), n) in &self.blocked {
            *self.blocked_teams.entry(team.clone()).or_default() += n;
            *self.blocked_day_totals.entry(*day).or_default() += n;
        }
        self.blocked_teams.retain(|_, n| *n != 0);
        self.blocked_day_totals.retain(|_, n| *n != 0);
    }
}

/// A deployment's status, team and request time (ms), if it is on record.
pub fn deployment_place(
    conn: &Connection,
    deployment_id: &str,
) -> Result<Option<(DeploymentStatus, String, i64)>> {
    let row: Option<(String, String, i64)> = conn
        .prepare_cached(
            "SELECT status, team, requested_at FROM deployments WHERE deployment_id = ?1",
        )?
        .query_row([deployment_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    row.map(|(status, team, at)| Ok((parse("deployment status", &status)?, team, at)))
        .transpose()
}

/// Counts every figure from the workflows and deployments themselves.
pub fn count_figures(conn: &Connection) -> Result<FigureCounts> {
    let mut counts = FigureCounts::default();
    let mut statement = conn.prepare_cached(&format!("SELECT {FIGURE_COLUMNS} FROM workflows"))?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        let (team, (outcome, decisions)) = stored_figures(figure_row(&row)?)?;
        *counts
            .outcomes
            .entry((
                to_ms(outcome.week),
                team.clone(),
                outcome.status.as_str().to_owned(),
            ))
            .or_default() += 1;
        for decision in decisions {
            *counts
                .role_decisions
                .entry((
                    to_ms(decision.week),
                    decision.role.as_str().to_owned(),
                    i64::from(decision.bucket),
                ))
                .or_default() += 1;
            *counts
                .decisions
                .entry((
                    to_ms(decision.week),
                    team.clone(),
                    decision.role.as_str().to_owned(),
                    i64::from(decision.bucket),
                ))
                .or_default() += 1;
        }
    }
    let mut statement =
        conn.prepare_cached("SELECT team, requested_at, outcome, status FROM deployments")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        let team: String = row.get(0)?;
        let requested_at = from_ms(row.get(1)?)?;
        *counts
            .requests
            .entry((to_ms(week_start(requested_at)), team.clone(), row.get(2)?))
            .or_default() += 1;
        if row.get::<String>(3)? == DeploymentStatus::Blocked.as_str() {
            *counts
                .blocked
                .entry((to_ms(day_start(requested_at)), team))
                .or_default() += 1;
        }
    }
    counts.total_blocked();
    Ok(counts)
}

/// The kept counts, as `count_figures` gives them (rows of none left out).
fn kept_figures(conn: &Connection) -> Result<FigureCounts> {
    let mut kept = FigureCounts::default();
    let mut statement =
        conn.prepare_cached("SELECT week, team, status, n FROM workflow_outcomes WHERE n <> 0")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.outcomes
            .insert((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?);
    }
    let mut statement =
        conn.prepare_cached("SELECT week, team, role, bucket, n FROM decision_times WHERE n <> 0")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.decisions.insert(
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?),
            row.get(4)?,
        );
    }
    let mut statement =
        conn.prepare_cached("SELECT week, role, bucket, n FROM role_decision_times WHERE n <> 0")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.role_decisions
            .insert((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?);
    }
    let mut statement =
        conn.prepare_cached("SELECT week, team, outcome, n FROM request_weeks WHERE n <> 0")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.requests
            .insert((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?);
    }
    let mut statement =
        conn.prepare_cached("SELECT day, team, n FROM blocked_days WHERE n <> 0")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.blocked.insert((row.get(0)?, row.get(1)?), row.get(2)?);
    }
    let mut statement = conn.prepare_cached("SELECT team, n FROM blocked_teams WHERE n <> 0")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.blocked_teams.insert(row.get(0)?, row.get(1)?);
    }
    let mut statement =
        conn.prepare_cached("SELECT day, n FROM blocked_day_totals WHERE n <> 0")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.blocked_day_totals.insert(row.get(0)?, row.get(1)?);
    }
    Ok(kept)
}

/// The kept figures that differ from counting every record afresh, in
/// words (`gavel audit verify`).
pub fn figures_that_differ(conn: &Connection) -> Result<Vec<String>> {
    let kept = kept_figures(conn)?;
    let fresh = count_figures(conn)?;
    let mut differ = Vec::new();
    differences(&mut differ, "outcomes", &kept.outcomes, &fresh.outcomes);
    differences(
        &mut differ,
        "decision times",
        &kept.decisions,
        &fresh.decisions,
    );
    differences(
        &mut differ,
        "decision times of every team",
        &kept.role_decisions,
        &fresh.role_decisions,
    );
    differences(&mut differ, "requests", &kept.requests, &fresh.requests);
    differences(&mut differ, "blocked", &kept.blocked, &fresh.blocked);
    differences(
        &mut differ,
        "blocked per team",
        &kept.blocked_teams,
        &fresh.blocked_teams,
    );
    differences(
        &mut differ,
        "blocked per day",
        &kept.blocked_day_totals,
        &fresh.blocked_day_totals,
    );
    differences(
        &mut differ,
        "report weeks",
        &report_weeks(conn, KEPT_REPORT_WEEKS)?,
        &report_weeks(conn, COUNTED_REPORT_WEEKS)?,
    );
    Ok(differ)
}

/// The board report's weekly counts as kept, over every team (an agent
/// that moves team keeps its earlier audits under the team it had).
const KEPT_REPORT_WEEKS: &str =
    "SELECT week, figure, CAST(SUM(n) AS BIGINT) FROM report_weeks GROUP BY week, figure";

/// The same counted from the record: the trail's step alerts and the
/// audits, by week (what migration 30 filled the table with).
const COUNTED_REPORT_WEEKS: &str = "SELECT week, figure, CAST(COUNT(*) AS BIGINT) FROM (
        SELECT (at / 86400000 - (at / 86400000 + 3) % 7) * 86400000 AS week,
               CASE action WHEN 'step_reminded' THEN 'reminder'
                           WHEN 'step_overdue' THEN 'overdue'
                           ELSE 'escalated' END AS figure
        FROM trail WHERE entity_type = 'workflow'
          AND action IN ('step_reminded', 'step_overdue', 'step_escalated')
        UNION ALL
        SELECT (tested_at / 86400000 - (tested_at / 86400000 + 3) % 7) * 86400000, 'audit'
        FROM audits a WHERE EXISTS (SELECT 1 FROM agents g WHERE g.agent_id = a.agent_id)
        UNION ALL
        SELECT (tested_at / 86400000 - (tested_at / 86400000 + 3) % 7) * 86400000, 'audit_failing'
        FROM audits a WHERE passes = 0 AND EXISTS (SELECT 1 FROM agents g WHERE g.agent_id = a.agent_id)
    ) counted GROUP BY week, figure";

fn report_weeks(conn: &Connection, sql: &str) -> Result<BTreeMap<(i64, String), i64>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement
        .query_map(params![], |row| {
            Ok((
                (row.get::<i64>(0)?, row.get::<String>(1)?),
                row.get::<i64>(2)?,
            ))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    Ok(rows.into_iter().filter(|(_, n)| *n != 0).collect())
}

fn differences<K: Ord + std::fmt::Debug>(
    differ: &mut Vec<String>,
    figure: &str,
    kept: &BTreeMap<K, i64>,
    fresh: &BTreeMap<K, i64>,
) {
    let keys: std::collections::BTreeSet<&K> = kept.keys().chain(fresh.keys()).collect();
    for key in keys {
        let (k, f) = (
            kept.get(key).copied().unwrap_or(0),
            fresh.get(key).copied().unwrap_or(0),
        );
        if k != f {
            differ.push(format!("{figure} {key:?}: kept {k}, counted {f}"));
        }
    }
}
