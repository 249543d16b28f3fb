//! Workflows by id and by deployment.

use crate::db::{Connection, OptionalExtension};

use super::super::rows::{self, WORKFLOW_COLUMNS, raw_workflow_row};
use crate::backend::{BackendError, Result};

use crate::domain::Workflow;

pub fn workflow(conn: &Connection, workflow_id: &str) -> Result<Workflow> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE workflow_id = ?1"
        ))?
        .query_row([workflow_id], raw_workflow_row)
        .optional()?
        .ok_or_else(|| BackendError::not_found("workflow", workflow_id))?;
    rows::parse_workflow(raw)
}

pub fn workflows_of_deployment(conn: &Connection, deployment_id: &str) -> Result<Vec<Workflow>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE deployment_id = ?1 ORDER BY workflow_id"
    ))?;
    let raws = statement
        .query_map([deployment_id], raw_workflow_row)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter().map(rows::parse_workflow).collect()
}
