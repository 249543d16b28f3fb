//! How many blocked deployments each policy blocks, kept in
//! `blocked_policy_counts` so the dashboard reads a handful of rows instead
//! of joining every blocked deployment with its policies. Every change of a
//! deployment's status goes through `update_deployment_status`, and a new
//! blocked request counts itself, in the same transaction.

use super::super::reads::{BLOCKED_BY_POLICY, deployment_place};
use super::figures::count_blocked_change;
use crate::backend::Result;
use crate::db::{Connection, params};
use crate::domain::policy::evaluation::DeploymentStatus;

/// Adds `delta` to each policy blocking `deployment_id`.
fn count_blocking(conn: &Connection, deployment_id: &str, delta: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO blocked_policy_counts (policy_id, n)
         SELECT policy_id, ?2 FROM deployment_policies WHERE deployment_id = ?1 AND blocking = 1
         ON CONFLICT (policy_id) DO UPDATE SET n = blocked_policy_counts.n + excluded.n",
    )?
    .execute(params![deployment_id, delta])?;
    Ok(())
}

/// A request just recorded (with its policies): counted when blocked.
pub fn count_new_deployment(
    conn: &Connection,
    deployment_id: &str,
    status: DeploymentStatus,
) -> Result<()> {
    if status == DeploymentStatus::Blocked {
        count_blocking(conn, deployment_id, 1)?;
    }
    Ok(())
}

/// Sets a deployment's status, keeping the blocked counts (per policy,
/// and per day and team); the number of rows changed (0: no such
/// deployment).
pub fn update_deployment_status(
    conn: &Connection,
    deployment_id: &str,
    to: DeploymentStatus,
) -> Result<usize> {
    let Some((from, team, requested_at)) = deployment_place(conn, deployment_id)? else {
        return Ok(0);
    };
    let updated = conn
        .prepare_cached("UPDATE deployments SET status = ?2 WHERE deployment_id = ?1")?
        .execute(params![deployment_id, to.as_str()])?;
    let (was, is) = (
        from == DeploymentStatus::Blocked,
        to == DeploymentStatus::Blocked,
    );
    if was != is {
        let delta = if is { 1 } else { -1 };
        count_blocking(conn, deployment_id, delta)?;
        count_blocked_change(conn, &team, requested_at, delta)?;
    }
    Ok(updated)
}

/// Counts every blocked deployment's policies afresh (after a bulk load).
pub fn rebuild_blocked_counts(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM blocked_policy_counts", params![])?;
    conn.execute(
        &format!("INSERT INTO blocked_policy_counts (policy_id, n) {BLOCKED_BY_POLICY}"),
        params![],
    )?;
    Ok(())
}
