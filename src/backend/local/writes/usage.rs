//! When checks found agent versions in use, written in the batches the
//! store keeps (`local::usage`).

use crate::backend::Result;
use crate::backend::local::usage::Use;
use crate::db::{Connection, params};

use super::super::rows::to_ms;

/// Writes when checks found agent versions in use (never earlier than
/// what is written).
pub fn record_version_use(conn: &Connection, uses: &[Use]) -> Result<()> {
    for (agent_id, agent_version, at) in uses {
        conn.prepare_cached(
            "INSERT INTO version_checks (agent_id, agent_version, last_checked_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (agent_id, agent_version) DO UPDATE SET last_checked_at =
               CASE WHEN excluded.last_checked_at > version_checks.last_checked_at
                    THEN excluded.last_checked_at ELSE version_checks.last_checked_at END",
        )?
        .execute(params![agent_id, agent_version, to_ms(*at)])?;
    }
    Ok(())
}
