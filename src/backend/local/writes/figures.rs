//! Leadership's figures kept as counts (`domain::figures` says what each
//! record adds): workflow outcomes per week, team and status; decided
//! steps' waits per week, team, role and bucket (and per week, role and
//! bucket over every team); requests per week, team
//! and outcome; blocked deployments per day of request and team. Each
//! write of a workflow or a deployment changes them in the same
//! transaction, through `count_*` here; a bulk load rebuilds them, and
//! `gavel audit verify` recounts them (`reads::figures_that_differ`).

use super::super::reads::{
    FIGURE_COLUMNS, FigureCounts, WorkflowFigures, count_figures, figure_row, stored_figures,
};
use super::super::rows::to_ms;
use crate::backend::Result;
use crate::db::{Connection, OptionalExtension, params};
use crate::domain::figures::{ReportFigure, day_start, week_start, workflow_figures};
use crate::domain::{DeploymentStatus, Workflow};
use chrono::{DateTime, Utc};

use super::super::rows::from_ms;

fn add_outcome(conn: &Connection, week: i64, team: &str, status: &str, delta: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO workflow_outcomes (week, team, status, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (week, team, status) DO UPDATE SET n = workflow_outcomes.n + excluded.n",
    )?
    .execute(params![week, team, status, delta])?;
    Ok(())
}

fn add_decision(
    conn: &Connection,
    (week, team, role, bucket): (i64, &str, &str, i64),
    delta: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO decision_times (week, team, role, bucket, n) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (week, team, role, bucket) DO UPDATE SET n = decision_times.n + excluded.n",
    )?
    .execute(params![week, team, role, bucket, delta])?;
    // The same over every team: what the dashboard reads, a few rows a week.
    conn.prepare_cached(
        "INSERT INTO role_decision_times (week, role, bucket, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (week, role, bucket) DO UPDATE SET n = role_decision_times.n + excluded.n",
    )?
    .execute(params![week, role, bucket, delta])?;
    Ok(())
}

fn add_request(conn: &Connection, week: i64, team: &str, outcome: &str, delta: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO request_weeks (week, team, outcome, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (week, team, outcome) DO UPDATE SET n = request_weeks.n + excluded.n",
    )?
    .execute(params![week, team, outcome, delta])?;
    Ok(())
}

fn add_blocked(conn: &Connection, day: i64, team: &str, delta: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO blocked_days (day, team, n) VALUES (?1, ?2, ?3)
         ON CONFLICT (day, team) DO UPDATE SET n = blocked_days.n + excluded.n",
    )?
    .execute(params![day, team, delta])?;
    // The same per team and per day: the dashboard's totals and median
    // read a row per team or day, however many pairs there are.
    conn.prepare_cached(
        "INSERT INTO blocked_teams (team, n) VALUES (?1, ?2)
         ON CONFLICT (team) DO UPDATE SET n = blocked_teams.n + excluded.n",
    )?
    .execute(params![team, delta])?;
    conn.prepare_cached(
        "INSERT INTO blocked_day_totals (day, n) VALUES (?1, ?2)
         ON CONFLICT (day) DO UPDATE SET n = blocked_day_totals.n + excluded.n",
    )?
    .execute(params![day, delta])?;
    Ok(())
}

/// Adds (`delta` 1) what `workflow` counts for, in `team`; `closed_at`:
/// when it closed, if it did.
pub fn count_workflow(
    conn: &Connection,
    workflow: &Workflow,
    team: &str,
    closed_at: DateTime<Utc>,
) -> Result<()> {
    let figures = workflow_figures(
        workflow.status,
        workflow.created_at,
        &workflow.steps,
        closed_at,
    );
    add_figures(conn, team, &figures, 1)
}

/// Adds (`delta` 1) or takes back (-1) what one workflow counts for.
fn add_figures(
    conn: &Connection,
    team: &str,
    (outcome, decisions): &WorkflowFigures,
    delta: i64,
) -> Result<()> {
    add_outcome(
        conn,
        to_ms(outcome.week),
        team,
        outcome.status.as_str(),
        delta,
    )?;
    for decision in decisions {
        add_decision(
            conn,
            (
                to_ms(decision.week),
                team,
                decision.role.as_str(),
                i64::from(decision.bucket),
            ),
            delta,
        )?;
    }
    Ok(())
}

/// Takes back what a workflow's stored row counts for, before the row is
/// written over or deleted; its team (none when there is no row).
pub fn uncount_stored_workflow(conn: &Connection, workflow_id: &str) -> Result<Option<String>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {FIGURE_COLUMNS} FROM workflows WHERE workflow_id = ?1"
        ))?
        .query_row([workflow_id], figure_row)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (team, figures) = stored_figures(row)?;
    add_figures(conn, &team, &figures, -1)?;
    Ok(Some(team))
}

/// A request just recorded: its week's requests, and the blocked ones.
pub fn count_new_request(
    conn: &Connection,
    team: &str,
    requested_at: DateTime<Utc>,
    status: DeploymentStatus,
) -> Result<()> {
    add_request(
        conn,
        to_ms(week_start(requested_at)),
        team,
        status.as_str(),
        1,
    )?;
    if status == DeploymentStatus::Blocked {
        add_blocked(conn, to_ms(day_start(requested_at)), team, 1)?;
    }
    Ok(())
}

/// A deployment of `team` requested at `requested_at` (ms) became blocked
/// (`delta` 1) or stopped being blocked (-1): its day's count follows.
pub fn count_blocked_change(
    conn: &Connection,
    team: &str,
    requested_at: i64,
    delta: i64,
) -> Result<()> {
    let day = to_ms(day_start(from_ms(requested_at)?));
    add_blocked(conn, day, team, delta)
}

/// Adds `delta` to one of the board report's weekly counts: `figure` in
/// the week of `at`, for `team`.
pub fn count_report_figure(
    conn: &Connection,
    at: DateTime<Utc>,
    team: &str,
    figure: ReportFigure,
    delta: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO report_weeks (week, team, figure, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (week, team, figure) DO UPDATE SET n = report_weeks.n + excluded.n",
    )?
    .execute(params![to_ms(week_start(at)), team, figure.as_str(), delta])?;
    Ok(())
}

/// Counts every workflow and deployment afresh (after a bulk load, or a
/// store from before the kept figures).
pub fn rebuild_figures(conn: &Connection) -> Result<()> {
    let FigureCounts {
        outcomes,
        decisions,
        requests,
        blocked,
        // Written with each team's decisions, by `add_decision`, and with
        // each day's and team's blocked count, by `add_blocked`.
        role_decisions: _,
        blocked_teams: _,
        blocked_day_totals: _,
    } = count_figures(conn)?;
    for table in [
        "workflow_outcomes",
        "decision_times",
        "role_decision_times",
        "request_weeks",
        "blocked_days",
        "blocked_teams",
        "blocked_day_totals",
    ] {
        conn.execute(&format!("DELETE FROM {table}"), params![])?;
    }
    for ((week, team, status), n) in outcomes {
        add_outcome(conn, week, &team, &status, n)?;
    }
    for ((week, team, role, bucket), n) in decisions {
        add_decision(conn, (week, &team, &role, bucket), n)?;
    }
    for ((week, team, outcome), n) in requests {
        add_request(conn, week, &team, &outcome, n)?;
    }
    for ((day, team), n) in blocked {
        add_blocked(conn, day, &team, n)?;
    }
    Ok(())
}

/// Fills the figures of a store that has records but no figures yet (one
/// that migrated to this version); asks only whether rows exist.
pub fn fill_figures_if_missing(conn: &Connection) -> Result<()> {
    let missing: bool = conn.query_row(
        "SELECT (EXISTS (SELECT 1 FROM workflows) AND NOT EXISTS (SELECT 1 FROM workflow_outcomes))
             OR (EXISTS (SELECT 1 FROM deployments) AND NOT EXISTS (SELECT 1 FROM request_weeks))",
        params![],
        |row| row.get(0),
    )?;
    if missing {
        rebuild_figures(conn)?;
    }
    Ok(())
}
