//! The change feed a sync client reads: trail events after a cursor, with
//! the current state of every entity they touched, read in one transaction
//! so a page and its rows agree.

use std::collections::BTreeSet;

use crate::db::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::reads;
use super::rows::from_json;
use super::trail::{Change, changes_since, head as trail_head};
use crate::backend::{BackendError, Result, User};
use crate::domain::{Agent, BiasAudit, DeploymentRequest, EthicsReview, Workflow};

/// The current rows of the entities a page of changes touched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangedEntities {
    pub workflows: Vec<Workflow>,
    pub reviews: Vec<EthicsReview>,
    pub deployments: Vec<DeploymentRequest>,
    pub audits: Vec<BiasAudit>,
    /// The agents of all of the above, for the cache's queue columns.
    pub agents: Vec<Agent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    pub entities: ChangedEntities,
    /// The cursor to ask from next (the last change's sequence number).
    pub next: i64,
    /// The newest change on the server when the page was read.
    pub head: i64,
}

fn audit(conn: &Connection, audit_id: &str) -> Result<Option<BiasAudit>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM audits WHERE audit_id = ?1")?
        .query_row([audit_id], |row| row.get(0))
        .optional()?;
    body.map(|body| from_json("bias audit", &body)).transpose()
}

/// Entities deleted or never stored are skipped, not errors.
fn present<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(BackendError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A page of changes after `since`, with the rows `reader` may see (a
/// draft review's answers only its reviewer's).
pub fn change_page(
    conn: &Connection,
    since: i64,
    limit: u32,
    reader: Option<&User>,
) -> Result<ChangePage> {
    // One read transaction: the rows are at least as new as the page.
    conn.consistent(|tx| {
        let changes = changes_since(tx, since, limit)?;
        let head = trail_head(tx)?;
        let touched: BTreeSet<(&str, &str)> = changes
            .iter()
            .map(|c| (c.entity_type.as_str(), c.entity_id.as_str()))
            .collect();
        let mut entities = ChangedEntities::default();
        let mut agent_ids = BTreeSet::new();
        for (kind, id) in touched {
            match kind {
                "workflow" => {
                    if let Some(workflow) = present(reads::workflow(tx, id))? {
                        agent_ids.insert(workflow.agent_id.clone());
                        entities.workflows.push(workflow);
                    }
                }
                "review" => {
                    if let Some(review) = present(reads::review(tx, id))?
                        .map(|review| reads::visible_to(review, reader))
                    {
                        agent_ids.insert(review.agent_id.clone());
                        entities.reviews.push(review);
                    }
                }
                "deployment" => {
                    if let Some(deployment) = present(reads::deployment(tx, id))? {
                        agent_ids.insert(deployment.agent_id.clone());
                        entities.deployments.push(deployment);
                    }
                }
                "audit" => {
                    if let Some(audit) = audit(tx, id)? {
                        agent_ids.insert(audit.agent_id.clone());
                        entities.audits.push(audit);
                    }
                }
                _ => {}
            }
        }
        for agent_id in agent_ids {
            if let Some(agent) = present(reads::agent(tx, &agent_id))? {
                entities.agents.push(agent);
            }
        }
        let next = changes.last().map_or(since, |change| change.seq);
        Ok(ChangePage {
            changes,
            entities,
            next,
            head,
        })
    })
}

/// One page of a table for a mirror's first sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SnapshotPage {
    /// The rows, in the list named by the table asked for.
    pub rows: ChangedEntities,
    /// Ask with `after` = this for the next page; absent on the last page.
    pub next: Option<String>,
    /// The newest change when the page was read; a mirror follows the change
    /// feed from the `head` of its first snapshot page.
    pub head: i64,
}

/// The tables a snapshot can page through.
pub const SNAPSHOT_TABLES: [&str; 5] = ["agents", "workflows", "reviews", "deployments", "audits"];

pub fn snapshot_page(
    conn: &Connection,
    table: &str,
    after: &str,
    limit: u32,
    reader: Option<&User>,
) -> Result<SnapshotPage> {
    use super::reads::snapshot;
    let limit = limit.clamp(1, 5_000);
    conn.consistent(|tx| {
        let head = trail_head(tx)?;
        let mut rows = ChangedEntities::default();
        let mut full_page = false;
        let last = match table {
            "agents" => {
                rows.agents = snapshot::agents(tx, after, limit)?;
                rows.agents.last().map(|row| row.agent_id.clone())
            }
            "workflows" => {
                rows.workflows = snapshot::workflows(tx, after, limit)?;
                rows.workflows.last().map(|row| row.workflow_id.clone())
            }
            "reviews" => {
                let page = snapshot::reviews(tx, after, limit)?;
                let last = page.last().map(|row| row.review_id.clone());
                full_page = page.len() as u32 == limit;
                rows.reviews = page
                    .into_iter()
                    .map(|review| reads::visible_to(review, reader))
                    .collect();
                last
            }
            "deployments" => {
                rows.deployments = snapshot::deployments(tx, after, limit)?;
                rows.deployments.last().map(|row| row.deployment_id.clone())
            }
            "audits" => {
                rows.audits = snapshot::audits(tx, after, limit)?;
                rows.audits.last().map(|row| row.audit_id.clone())
            }
            other => {
                return Err(BackendError::Invalid(format!(
                    "unknown snapshot table {other:?} (tables: {})",
                    SNAPSHOT_TABLES.join(", ")
                )));
            }
        };
        let count = rows.agents.len()
            + rows.workflows.len()
            + rows.reviews.len()
            + rows.deployments.len()
            + rows.audits.len();
        let next = if count as u32 == limit || full_page {
            last
        } else {
            None
        };
        Ok(SnapshotPage { rows, next, head })
    })
}
