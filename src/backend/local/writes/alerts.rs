//! Step SLAs over time: the reminders, due-time alerts and escalations of
//! waiting steps, each sent once. The step records the alert in the same
//! transaction as its trail event and notification, so a restart (or a
//! second worker) never sends one twice, and one missed while nobody ran
//! is sent at the next pass.

use super::stamps::entry;
use super::workflows::update_workflow;
use crate::db::{Connection, params};

use super::super::reads;
use super::super::rows::to_ms;
use super::super::trail::TrailWriter;
use chrono::{DateTime, Utc};

use crate::backend::Result;

use crate::domain::figures::ReportFigure;
use crate::domain::policy::sla::{Alert, AlertKind};

pub use crate::domain::policy::sla::SCHEDULER;

/// Alerts up to `limit` workflows whose current step's next alert is due
/// at `now`. Returns how many it alerted.
pub fn alert_due_steps(conn: &Connection, now: DateTime<Utc>, limit: usize) -> Result<usize> {
    let due: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT workflow_id, team FROM workflows
             WHERE next_alert_at IS NOT NULL AND next_alert_at <= ?1 AND status = 'in_progress'
             ORDER BY next_alert_at LIMIT ?2",
        )?
        .query_map(params![to_ms(now), limit as i64], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<crate::db::Result<_>>()?;
    let mut trail = TrailWriter::resume(conn)?;
    let mut alerted = 0;
    for (workflow_id, team) in due {
        let workflow = reads::workflow(conn, &workflow_id)?;
        let Some(kind) = workflow.alert_due(now) else {
            // Its row was out of date: set it right so it is not read again.
            update_workflow(conn, &workflow, now)?;
            continue;
        };
        let Some(step) = workflow.current_step() else {
            continue;
        };
        let due_at = step
            .sla
            .as_ref()
            .map(|sla| sla.due(workflow.waiting_since()));
        let to = match kind {
            AlertKind::Escalated => step.sla.as_ref().and_then(|sla| sla.escalate_to.clone()),
            _ => None,
        };
        let (step_id, role) = (step.step_id, step.role);
        let Some(next) = workflow.alert(Alert {
            kind,
            at: now,
            to: to.clone(),
        }) else {
            continue;
        };
        update_workflow(conn, &next, now)?;
        trail.append(
            conn,
            &entry(
                now,
                SCHEDULER,
                "workflow",
                &next.workflow_id,
                kind.action(),
                (Some(workflow.version), Some(next.version)),
                serde_json::json!({
                    "step_id": step_id,
                    "role": role,
                    "due_at": due_at,
                    "to": to,
                }),
            ),
        )?;
        super::super::notifications::step_alert(conn, SCHEDULER, kind, &next, to.as_deref(), now)?;
        super::figures::count_report_figure(conn, now, &team, ReportFigure::of_alert(kind), 1)?;
        alerted += 1;
    }
    Ok(alerted)
}
