//! Board reports on a schedule: asked for by those the set lets read
//! reports, sent only to Gavel users (a removed one is sent nothing), each
//! in the trail. When one falls due the notifier's pass makes it in the
//! same transaction as its notification, signed under the log's key, so a
//! report is recorded and sent once, retried like any email.

use chrono::{DateTime, Utc};

use super::super::logkey::{self, LogKey};
use super::super::notifications::{self, NewEvent};
use super::super::reads;
use super::super::rows::{from_ms, parse, to_ms};
use super::super::trail::TrailWriter;
use super::checks::{check_email, check_permission};
use super::stamps::entry;
use crate::backend::types::User;
use crate::backend::{BackendError, EventKind, Result};
use crate::db::{Connection, OptionalExtension, Row, params};
use crate::domain::report::{
    BoardReport, MAX_RECIPIENTS, NewSchedule, Period, SCHEDULE_FORMATS, Schedule, team_name,
};

const COLUMNS: &str =
    "schedule_id, every, recipients, team, format, created_by, created_at, next_at, stopped_at";

/// Schedules made due per pass (each reads a period's figures).
const DUE_BATCH: i64 = 10;

fn schedule_row(row: &Row<'_>) -> Result<Schedule> {
    let every: String = row.get(1)?;
    let recipients: String = row.get(2)?;
    Ok(Schedule {
        schedule_id: row.get(0)?,
        every: parse("schedule period", &every)?,
        recipients: serde_json::from_str(&recipients)
            .map_err(|err| BackendError::Storage(format!("a schedule's recipients: {err}")))?,
        team: row.get(3)?,
        format: row.get(4)?,
        created_by: row.get(5)?,
        created_at: from_ms(row.get(6)?)?,
        next_at: from_ms(row.get(7)?)?,
        stopped_at: row.get::<Option<i64>>(8)?.map(from_ms).transpose()?,
    })
}

/// Every schedule, newest first.
pub fn report_schedules(conn: &Connection) -> Result<Vec<Schedule>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM report_schedules ORDER BY created_at DESC, schedule_id DESC"
    ))?;
    let mut rows = statement.query(params![])?;
    let mut schedules = Vec::new();
    while let Some(row) = rows.next()? {
        schedules.push(schedule_row(&row)?);
    }
    Ok(schedules)
}

fn schedule(conn: &Connection, schedule_id: &str) -> Result<Schedule> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM report_schedules WHERE schedule_id = ?1"
    ))?;
    let mut rows = statement.query(params![schedule_id])?;
    match rows.next()? {
        Some(row) => schedule_row(&row),
        None => Err(BackendError::not_found("report schedule", schedule_id)),
    }
}

/// May `actor` make, see and stop reports (the set's `read_reports`).
pub fn check_report_reader(conn: &Connection, actor: &User) -> Result<()> {
    let (_, set) = reads::active_set(conn)?;
    check_permission(actor, &set.permissions().read_reports, "the board report")
}

/// Records a schedule; the first report goes at the start of the next
/// period.
pub fn schedule_report(
    conn: &Connection,
    actor: &User,
    asked: &NewSchedule,
    now: DateTime<Utc>,
) -> Result<Schedule> {
    check_report_reader(conn, actor)?;
    if !SCHEDULE_FORMATS.contains(&asked.format.as_str()) {
        return Err(BackendError::Invalid(format!(
            "--format {:?}: pdf, html or md",
            asked.format
        )));
    }
    let mut recipients: Vec<String> = asked
        .recipients
        .iter()
        .map(|email| email.trim().to_owned())
        .filter(|email| !email.is_empty())
        .collect();
    recipients.sort_by_key(|email| email.to_lowercase());
    recipients.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(BackendError::Invalid(format!(
            "--to names 1 to {MAX_RECIPIENTS} people"
        )));
    }
    for email in &recipients {
        check_email(email)?;
        // Reports leave only to people the organisation registered.
        if reads::user(conn, email)?.is_none() {
            return Err(BackendError::Invalid(format!(
                "{email} is not a Gavel user: reports go only to users (add them with `gavel users add {email}`, no role needed)"
            )));
        }
    }
    let team = team_name(asked.team.as_deref()).map_err(BackendError::Invalid)?;
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM report_schedules", params![], |row| {
        row.get(0)
    })?;
    let made = Schedule {
        schedule_id: format!("sch-{:07}", count + 1),
        every: asked.every,
        recipients,
        team,
        format: asked.format.clone(),
        created_by: actor.email.clone(),
        created_at: now,
        next_at: asked.every.next_after(now),
        stopped_at: None,
    };
    conn.prepare_cached(&format!(
        "INSERT INTO report_schedules ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)"
    ))?
    .execute(params![
        made.schedule_id,
        made.every.as_str(),
        serde_json::to_string(&made.recipients)
            .map_err(|err| BackendError::Storage(err.to_string()))?,
        made.team,
        made.format,
        made.created_by,
        to_ms(now),
        to_ms(made.next_at),
    ])?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "report_schedule",
            &made.schedule_id,
            "report_scheduled",
            (None, None),
            serde_json::json!({
                "every": made.every,
                "recipients": made.recipients,
                "team": made.team,
                "format": made.format,
                "next_at": made.next_at,
            }),
        ),
    )?;
    Ok(made)
}

fn stop(
    conn: &Connection,
    stopped: &Schedule,
    by: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached("UPDATE report_schedules SET stopped_at = ?2 WHERE schedule_id = ?1")?
        .execute(params![stopped.schedule_id, to_ms(now)])?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            by,
            "report_schedule",
            &stopped.schedule_id,
            "report_schedule_stopped",
            (None, None),
            serde_json::json!({ "why": why }),
        ),
    )?;
    Ok(())
}

/// Stops a schedule (anyone who may read reports).
pub fn stop_report_schedule(
    conn: &Connection,
    actor: &User,
    schedule_id: &str,
    now: DateTime<Utc>,
) -> Result<Schedule> {
    check_report_reader(conn, actor)?;
    let found = schedule(conn, schedule_id)?;
    if found.stopped_at.is_some() {
        return Err(BackendError::Conflict(format!(
            "schedule {schedule_id} was already stopped"
        )));
    }
    stop(conn, &found, &actor.email, "stopped by a person", now)?;
    schedule(conn, schedule_id)
}

/// Makes and records the reports whose time has come; how many.
pub fn send_due_reports(conn: &Connection, key: &LogKey, now: DateTime<Utc>) -> Result<usize> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM report_schedules
         WHERE stopped_at IS NULL AND next_at <= ?1 ORDER BY next_at, schedule_id LIMIT ?2"
    ))?;
    let mut rows = statement.query(params![to_ms(now), DUE_BATCH])?;
    let mut due = Vec::new();
    while let Some(row) = rows.next()? {
        due.push(schedule_row(&row)?);
    }
    drop(rows);
    let mut sent = 0;
    for schedule in due {
        // A schedule lives as long as its maker may read reports.
        let maker = reads::user(conn, &schedule.created_by)?;
        let allowed = match &maker {
            Some(maker) => check_report_reader(conn, maker).is_ok(),
            None => false,
        };
        let Some(maker) = maker.filter(|_| allowed) else {
            stop(
                conn,
                &schedule,
                crate::domain::policy::sla::SCHEDULER,
                "its maker may no longer read reports",
                now,
            )?;
            continue;
        };
        let (from, to) = schedule.every.period_before(now);
        let period = Period::covering(from, to).map_err(BackendError::Invalid)?;
        let (_, set) = reads::active_set(conn)?;
        let figures = reads::board_figures(conn, &period, schedule.team.as_deref(), &set, now)?;
        let checkpoint = logkey::sign_checkpoint(conn, key, now)?;
        let report = BoardReport::new(
            key.origin.clone(),
            period,
            schedule.team.clone(),
            (now, maker.email.clone()),
            checkpoint,
            figures,
        );
        let note = crate::report::note::sign(&report, &key.signer)
            .map_err(|err| BackendError::Storage(err.to_string()))?;
        // The trail names the signed figures sent, by their digest.
        let mut trail = TrailWriter::resume(conn)?;
        trail.append(
            conn,
            &entry(
                now,
                crate::domain::policy::sla::SCHEDULER,
                "report_schedule",
                &schedule.schedule_id,
                "report_issued",
                (None, None),
                serde_json::json!({
                    "from": period.from,
                    "to": period.to,
                    "recipients": schedule.recipients,
                    "note_sha256": crate::domain::digest::sha256_hex(&note),
                }),
            ),
        )?;
        notifications::record(
            conn,
            NewEvent {
                kind: EventKind::ReportSent,
                subject: schedule.schedule_id.clone(),
                data: serde_json::json!({
                    "schedule_id": schedule.schedule_id,
                    "from": period.from,
                    "to": period.to,
                    "team": schedule.team,
                    "format": schedule.format,
                    "created_by": schedule.created_by,
                    "note": note,
                }),
                tell: schedule.recipients.clone(),
                inbox: Vec::new(),
                at: now,
            },
        )?;
        conn.prepare_cached("UPDATE report_schedules SET next_at = ?2 WHERE schedule_id = ?1")?
            .execute(params![
                schedule.schedule_id,
                to_ms(schedule.every.next_after(now))
            ])?;
        sent += 1;
    }
    Ok(sent)
}

/// Whether any schedule waits (the notifier asks before it needs a key).
pub fn any_report_due(conn: &Connection, now: DateTime<Utc>) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM report_schedules WHERE stopped_at IS NULL AND next_at <= ?1 LIMIT 1",
        )?
        .query_row(params![to_ms(now)], |_| Ok(()))
        .optional()?
        .is_some())
}
