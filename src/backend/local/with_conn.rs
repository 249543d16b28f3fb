//! Store calls for code already holding a connection (the seed, which
//! writes in bulk; the sync loop).

use super::{reads, writes};
use crate::backend::types::User;
use crate::backend::{BackendError, Result};
use crate::db::Connection;
use crate::domain::{EthicsReview, Workflow};

/// Records a policy set version proposed by `proposer` and, given an
/// `approver`, approved by them a minute later (the seeded organisation's
/// history); without one it stays proposed.
pub fn record_policy_set(
    conn: &Connection,
    proposer: &str,
    approver: Option<&str>,
    text: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    let user = |email: &str| {
        reads::user(conn, email)?.ok_or_else(|| BackendError::not_found("user", email))
    };
    let proposed = writes::propose_policy_set(conn, &user(proposer)?, text, at)?;
    let version = proposed.version.version;
    if let Some(approver) = approver {
        writes::decide_policy_set(
            conn,
            &user(approver)?,
            version,
            true,
            Some("reviewed in the governance board"),
            at + chrono::TimeDelta::minutes(1),
        )?;
    }
    Ok(version)
}

/// The active policy set, compiled (for the seed, which writes in bulk).
pub fn reads_policy_set(
    conn: &Connection,
) -> Result<(i64, std::sync::Arc<crate::domain::policy::set::PolicySet>)> {
    reads::active_set(conn)
}

/// One workflow, for code holding a connection (the sync loop).
pub fn reads_workflow(conn: &Connection, workflow_id: &str) -> Result<Workflow> {
    reads::workflow(conn, workflow_id)
}

/// One review, for code holding a connection.
pub fn reads_review(conn: &Connection, review_id: &str) -> Result<EthicsReview> {
    reads::review(conn, review_id)
}

/// A user known to the store.
pub fn reads_user(conn: &Connection, email: &str) -> Result<Option<User>> {
    reads::user(conn, email)
}
