//! Applying the server's change pages to a local mirror (the offline cache):
//! rows and the cursor that covers them commit together, a page that does
//! not follow the cursor changes nothing, and no row ever goes back to an
//! older version.

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};

use super::feed::{ChangePage, ChangedEntities, SnapshotPage};
use super::reads;
use super::writes;
use crate::backend::sync::plan::accept_page;
use crate::backend::{BackendError, Result};

/// The cursor the mirror has reached (0 before the first sync).
pub fn cursor(conn: &Connection) -> Result<i64> {
    let cursor: Option<i64> = conn
        .query_row("SELECT cursor FROM sync_state WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()?;
    Ok(cursor.unwrap_or(0))
}

fn stored_version(conn: &Connection, table: &str, key: &str, id: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(&format!("SELECT version FROM {table} WHERE {key} = ?1"))?
        .query_row([id], |row| row.get(0))
        .optional()?)
}

/// Applies one page inside the caller's transaction; returns the new cursor.
pub fn apply_page(tx: &Connection, page: &ChangePage) -> Result<i64> {
    let from = cursor(tx)?;
    let sequence: Vec<i64> = page.changes.iter().map(|change| change.seq).collect();
    let next = accept_page(from, &sequence, page.next)
        .map_err(|err| BackendError::Invalid(err.to_string()))?;
    upsert(tx, &page.entities)?;
    set_cursor(tx, next)?;
    Ok(next)
}

/// Applies a snapshot page's rows; the cursor is set once every table is in
/// (with `set_cursor` and the first page's `head`).
pub fn apply_snapshot(tx: &Connection, page: &SnapshotPage) -> Result<()> {
    upsert(tx, &page.rows)
}

pub fn set_cursor(tx: &Connection, cursor: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO sync_state (id, cursor, last_synced_at) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET cursor = excluded.cursor, last_synced_at = excluded.last_synced_at",
        params![cursor, super::rows::to_ms(Utc::now())],
    )?;
    Ok(())
}

/// Writes rows, never replacing a row with an older version of itself.
fn upsert(tx: &Connection, entities: &ChangedEntities) -> Result<()> {
    let now = Utc::now();
    for agent in &entities.agents {
        writes::upsert_agent(tx, agent, now)?;
    }
    for workflow in &entities.workflows {
        if stored_version(tx, "workflows", "workflow_id", &workflow.workflow_id)?
            .is_some_and(|v| v > workflow.version)
        {
            continue;
        }
        let agent = match entities
            .agents
            .iter()
            .find(|a| a.agent_id == workflow.agent_id)
        {
            Some(agent) => agent.clone(),
            None => reads::agent(tx, &workflow.agent_id)?,
        };
        tx.execute(
            "DELETE FROM workflows WHERE workflow_id = ?1",
            [&workflow.workflow_id],
        )?;
        writes::insert_workflow(tx, workflow, &agent, workflow.waiting_since())?;
    }
    for review in &entities.reviews {
        if stored_version(tx, "reviews", "review_id", &review.review_id)?
            .is_some_and(|v| v > review.version)
        {
            continue;
        }
        tx.execute(
            "DELETE FROM reviews WHERE review_id = ?1",
            [&review.review_id],
        )?;
        writes::insert_review(tx, review)?;
    }
    for deployment in &entities.deployments {
        tx.execute(
            "DELETE FROM deployment_policies WHERE deployment_id = ?1",
            [&deployment.deployment_id],
        )?;
        tx.execute(
            "DELETE FROM deployments WHERE deployment_id = ?1",
            [&deployment.deployment_id],
        )?;
        writes::insert_deployment(tx, deployment)?;
    }
    for audit in &entities.audits {
        // Audits never change once recorded.
        tx.execute("DELETE FROM audits WHERE audit_id = ?1", [&audit.audit_id])?;
        writes::insert_audit(tx, audit)?;
    }
    Ok(())
}
