//! Applying the server's change pages to a local mirror (the offline cache):
//! rows and the cursor that covers them commit together, a page that does
//! not follow the cursor changes nothing, and no row ever goes back to an
//! older version.

use crate::db::{Connection, OptionalExtension, params};
use chrono::Utc;

use super::feed::{ChangePage, ChangedEntities, SnapshotPage};
use super::reads;
use super::rows::{to_json, to_ms};
use super::writes;
use crate::backend::sync::plan::accept_page;
use crate::backend::{BackendError, Result};

/// The cursor the mirror has reached (0 before the first sync).
pub fn cursor(conn: &Connection) -> Result<i64> {
    let cursor: Option<i64> = conn
        .query_row(
            "SELECT cursor FROM sync_state WHERE id = 1",
            crate::db::params![],
            |row| row.get(0),
        )
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
        params![cursor, to_ms(Utc::now())],
    )?;
    Ok(())
}

/// Agents repeat in every page that touches their workflows; an unchanged
/// one is not written again.
fn upsert_agent_if_changed(
    tx: &Connection,
    agent: &crate::domain::Agent,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let changed: bool = tx
        .prepare_cached(
            "SELECT NOT EXISTS (SELECT 1 FROM agents WHERE agent_id = ?1 AND name = ?2 AND team = ?3 AND owner = ?4
               AND category = ?5 AND data_classification = ?6 AND has_external_tools = ?7 AND tools_approved = ?8
               AND risk_tier = ?9 AND version = ?10 AND labels = ?11)",
        )?
        .query_row(
            params![
                agent.agent_id,
                agent.name,
                agent.team,
                agent.owner,
                agent.category.as_str(),
                agent.data_classification.as_str(),
                agent.has_external_tools,
                agent.tools_approved,
                agent.risk_tier.as_str(),
                agent.version,
                crate::backend::local::rows::labels_to_text(&agent.labels)?,
            ],
            |row| row.get(0),
        )?;
    if changed {
        writes::upsert_agent(tx, agent, now)?;
    }
    Ok(())
}

/// Writes rows, never replacing a row with an older version of itself.
pub fn upsert(tx: &Connection, entities: &ChangedEntities) -> Result<()> {
    let now = Utc::now();
    for agent in &entities.agents {
        upsert_agent_if_changed(tx, agent, now)?;
    }
    for workflow in &entities.workflows {
        let stored = stored_version(tx, "workflows", "workflow_id", &workflow.workflow_id)?;
        if stored.is_some_and(|v| v > workflow.version) {
            continue;
        }
        if stored.is_some() {
            // Only the changing columns: fewer index entries to move.
            writes::update_workflow(tx, workflow, workflow.waiting_since())?;
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
        // After it is recorded only a deployment's status changes.
        let updated =
            writes::update_deployment_status(tx, &deployment.deployment_id, deployment.status)?;
        if updated > 0 {
            continue;
        }
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

/// Writes the server's rows over the mirror's, newer or not: after the
/// server refused a change, its state stands, even where the mirror had
/// moved ahead on changes made offline.
pub fn force(tx: &Connection, entities: &ChangedEntities) -> Result<()> {
    for workflow in &entities.workflows {
        writes::uncount_stored_workflow(tx, &workflow.workflow_id)?;
        tx.execute(
            "DELETE FROM workflows WHERE workflow_id = ?1",
            [&workflow.workflow_id],
        )?;
    }
    for review in &entities.reviews {
        tx.execute(
            "DELETE FROM reviews WHERE review_id = ?1",
            [&review.review_id],
        )?;
    }
    upsert(tx, entities)
}

/// Whether the mirror has completed a first sync, and its cursor if so.
pub fn synced_cursor(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT cursor FROM sync_state WHERE id = 1",
            crate::db::params![],
            |row| row.get(0),
        )
        .optional()?)
}

/// When the mirror last heard from the server, and since when it has not.
pub fn contact(conn: &Connection) -> Result<(Option<i64>, Option<i64>)> {
    Ok(conn
        .query_row(
            "SELECT last_synced_at, offline_since FROM sync_state WHERE id = 1",
            crate::db::params![],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?
        .unwrap_or((None, None)))
}

/// Records a contact with the server (`offline_since` cleared) or the
/// start of an outage (kept from its first failure).
pub fn record_contact(tx: &Connection, online: bool, at: chrono::DateTime<Utc>) -> Result<()> {
    if online {
        tx.execute(
            "UPDATE sync_state SET last_synced_at = ?1, offline_since = NULL WHERE id = 1",
            [to_ms(at)],
        )?;
    } else {
        tx.execute(
            "UPDATE sync_state SET offline_since = COALESCE(offline_since, ?1) WHERE id = 1",
            [to_ms(at)],
        )?;
    }
    Ok(())
}

/// The server's policies replace the mirror's.
pub fn replace_policies(tx: &Connection, policies: &[crate::domain::Policy]) -> Result<()> {
    tx.execute("DELETE FROM policies", crate::db::params![])?;
    for (position, policy) in policies.iter().enumerate() {
        tx.execute(
            "INSERT INTO policies (policy_id, position, body) VALUES (?1, ?2, ?3)",
            params![policy.policy_id, position as i64, to_json(policy)?],
        )?;
    }
    Ok(())
}

pub fn put_template(tx: &Connection, template: &crate::domain::ReviewTemplate) -> Result<()> {
    tx.execute(
        "INSERT INTO review_templates (template_id, body) VALUES (?1, ?2)
         ON CONFLICT(template_id) DO UPDATE SET body = excluded.body",
        params![template.template_id, to_json(template)?],
    )?;
    Ok(())
}

/// Review templates the mirrored reviews use that the mirror lacks.
pub fn missing_templates(conn: &Connection) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT DISTINCT template_id FROM reviews
             WHERE template_id NOT IN (SELECT template_id FROM review_templates)",
        )?
        .query_map(crate::db::params![], |row| row.get(0))?
        .collect::<crate::db::Result<_>>()?)
}

/// The acting user as the server knows them (no token is kept here).
pub fn put_user(tx: &Connection, user: &crate::backend::User) -> Result<()> {
    tx.execute(
        "INSERT INTO users (email, name, roles, teams, token_hash, created_at, service) VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6)
         ON CONFLICT(email) DO UPDATE SET name = excluded.name, roles = excluded.roles, teams = excluded.teams,
           service = excluded.service",
        params![
            user.email,
            user.name,
            super::rows::roles_to_text(&user.roles),
            super::rows::teams_to_text(&user.teams)?,
            to_ms(Utc::now()),
            user.service
        ],
    )?;
    Ok(())
}

/// The mirrored tables a full sync empties and fills again.
const MIRRORED_TABLES: [&str; 6] = [
    "agents",
    "workflows",
    "reviews",
    "deployments",
    "deployment_policies",
    "audits",
];

/// Starts a full sync: empties the mirrored tables and sets their indexes
/// aside (filling then indexing once is several times faster than updating
/// seven indexes row by row). The index definitions are kept in the file so
/// a sync cut short restores them on the next open.
pub fn begin_full_sync(tx: &Connection) -> Result<()> {
    restore_indexes(tx)?;
    let tables = MIRRORED_TABLES
        .iter()
        .map(|table| format!("'{table}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let indexes: Vec<(String, String)> = tx
        .prepare_cached(&format!(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({tables})"
        ))?
        .query_map(crate::db::params![], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<crate::db::Result<_>>()?;
    let definitions: Vec<&String> = indexes.iter().map(|(_, sql)| sql).collect();
    tx.execute(
        "INSERT INTO cache_meta (key, value) VALUES ('indexes_set_aside', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [to_json(&definitions)?],
    )?;
    for (name, _) in &indexes {
        tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    for table in MIRRORED_TABLES {
        tx.execute(&format!("DELETE FROM {table}"), crate::db::params![])?;
    }
    tx.execute("DELETE FROM sync_state", crate::db::params![])?;
    Ok(())
}

/// Rebuilds indexes a full sync set aside (none when there are none).
pub fn restore_indexes(tx: &Connection) -> Result<()> {
    let saved: Option<String> = tx
        .query_row(
            "SELECT value FROM cache_meta WHERE key = 'indexes_set_aside'",
            crate::db::params![],
            |row| row.get(0),
        )
        .optional()?;
    let Some(saved) = saved else {
        return Ok(());
    };
    let definitions: Vec<String> = super::rows::from_json("saved index definitions", &saved)?;
    for sql in definitions {
        // The definitions came from this file's own schema.
        tx.execute_batch(&sql.replacen("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))?;
    }
    tx.execute(
        "DELETE FROM cache_meta WHERE key = 'indexes_set_aside'",
        crate::db::params![],
    )?;
    Ok(())
}

/// Ends a full sync: indexes back, the cursor at the snapshot's head.
pub fn finish_full_sync(tx: &Connection, head: i64) -> Result<()> {
    restore_indexes(tx)?;
    // The agents and audits came in bulk: their standings are judged once.
    super::writes::rebuild_standings(tx)?;
    super::writes::rebuild_blocked_counts(tx)?;
    super::writes::rebuild_figures(tx)?;
    set_cursor(tx, head)
}
