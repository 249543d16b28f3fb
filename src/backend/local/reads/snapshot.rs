//! One keyset page of a table's rows, by primary key, for a mirror's first
//! sync.

use crate::db::{Connection, params};

use super::super::rows::{self, WORKFLOW_COLUMNS, from_json, raw_workflow_row};
use super::{
    AGENT_COLUMNS, DEPLOYMENT_COLUMNS, REVIEW_COLUMNS, parse_agent, parse_deployment, parse_review,
    raw_agent, raw_deployment, raw_review,
};
use crate::backend::Result;
use crate::domain::{Agent, BiasAudit, DeploymentRequest, EthicsReview, Workflow};

fn page_sql(columns: &str, table: &str, key: &str) -> String {
    format!("SELECT {columns} FROM {table} WHERE {key} > ?1 ORDER BY {key} LIMIT ?2")
}

pub fn workflows(conn: &Connection, after: &str, limit: u32) -> Result<Vec<Workflow>> {
    let raws = conn
        .prepare_cached(&page_sql(WORKFLOW_COLUMNS, "workflows", "workflow_id"))?
        .query_map(params![after, limit], raw_workflow_row)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter().map(rows::parse_workflow).collect()
}

pub fn reviews(conn: &Connection, after: &str, limit: u32) -> Result<Vec<EthicsReview>> {
    let raws = conn
        .prepare_cached(&page_sql(REVIEW_COLUMNS, "reviews", "review_id"))?
        .query_map(params![after, limit], raw_review)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter().map(parse_review).collect()
}

pub fn deployments(conn: &Connection, after: &str, limit: u32) -> Result<Vec<DeploymentRequest>> {
    let raws = conn
        .prepare_cached(&page_sql(
            DEPLOYMENT_COLUMNS,
            "deployments",
            "deployment_id",
        ))?
        .query_map(params![after, limit], raw_deployment)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter().map(parse_deployment).collect()
}

pub fn agents(conn: &Connection, after: &str, limit: u32) -> Result<Vec<Agent>> {
    let raws = conn
        .prepare_cached(&page_sql(AGENT_COLUMNS, "agents", "agent_id"))?
        .query_map(params![after, limit], raw_agent)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter().map(parse_agent).collect()
}

pub fn audits(conn: &Connection, after: &str, limit: u32) -> Result<Vec<BiasAudit>> {
    let bodies = conn
        .prepare_cached(&page_sql("body", "audits", "audit_id"))?
        .query_map(params![after, limit], |row| row.get::<String>(0))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    bodies
        .iter()
        .map(|body| from_json("bias audit", body))
        .collect()
}
