//! A person the directory deactivated or deleted, taken out of Gavel in the
//! same transaction: their Gavel token and sign-ins refused from the next
//! request (a removed user authenticates as no one), their delegations
//! ended both ways, their inbox stopped (events never name a removed
//! user), and the reviews assigned to them flagged for a compliance officer
//! to reassign. What they decided stays: it was theirs when they decided.

use super::super::rows::to_ms;
use super::request::DirectoryRequest;
use crate::backend::Result;
use crate::db::{Connection, params};

/// Takes `email` out of Gavel, once (again is nothing).
pub fn deprovision(conn: &Connection, email: &str, request: &DirectoryRequest<'_>) -> Result<()> {
    let now = to_ms(request.now);
    let removed = conn
        .prepare_cached(
            "UPDATE users SET token_hash = NULL, removed_at = ?2 WHERE email = ?1 AND removed_at IS NULL",
        )?
        .execute(params![email, now])?;
    if removed == 0 {
        return Ok(());
    }
    request.append(conn, "user", email, "user_removed", serde_json::json!({}))?;

    // Delegations they gave and were given, ended now.
    let delegations: Vec<(String, String, String)> = conn
        .prepare_cached(
            "SELECT delegation_id, delegator, delegate FROM delegations
             WHERE (delegator = ?1 OR delegate = ?1) AND ended_at IS NULL AND ends_at > ?2
             ORDER BY delegation_id",
        )?
        .query_map(params![email, now], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    for (id, delegator, delegate) in delegations {
        conn.prepare_cached("UPDATE delegations SET ended_at = ?2 WHERE delegation_id = ?1")?
            .execute(params![id, now])?;
        request.append(
            conn,
            "delegation",
            &id,
            "delegation_ended",
            serde_json::json!({
                "delegator": delegator,
                "delegate": delegate,
                "because": format!("the directory removed {email}"),
            }),
        )?;
    }

    // Reviews they were assigned and had not submitted.
    let reviews: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT review_id, workflow_id FROM reviews
             WHERE reviewer = ?1 AND status != 'submitted' AND reassign_since IS NULL
             ORDER BY review_id",
        )?
        .query_map(params![email], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    for (review_id, workflow_id) in reviews {
        conn.prepare_cached(
            "UPDATE reviews SET reassign_since = ?2, updated_at = ?2, version = version + 1 WHERE review_id = ?1",
        )?
            .execute(params![review_id, now])?;
        request.append(
            conn,
            "review",
            &review_id,
            "review_needs_reassignment",
            serde_json::json!({ "workflow_id": workflow_id, "reviewer": email }),
        )?;
        super::super::notifications::reviewer_removed(
            conn,
            &review_id,
            &workflow_id,
            email,
            request.now,
        )?;
    }
    Ok(())
}
