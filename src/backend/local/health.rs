//! Whether the store can serve: it answers a read, and its schema is the
//! one this build writes (a newer Gavel on the same PostgreSQL database may
//! have migrated past it). What `gavel serve`'s `/readyz` asks; and how busy
//! it is, what `/metrics` samples.

use chrono::{DateTime, Utc};

use super::rows::{from_ms, to_ms};
use super::{Engine, LocalStore, schema};
use crate::backend::Result;
use crate::db::{Dialect, OptionalExtension, params};

/// The store's gauges at one moment, each from an index or a kept count:
/// cheap on a store of a million workflows.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreGauges {
    /// Workflows in progress, by the role their current step waits on.
    pub queue_by_role: Vec<(String, u64)>,
    /// Steps in progress past their SLA's due time.
    pub overdue_steps: u64,
    /// Notification deliveries to send (or retry), and dead-lettered.
    pub outbox_pending: u64,
    pub outbox_dead: u64,
    /// Events not yet fanned out to deliveries.
    pub outbox_events_waiting: u64,
    /// Entries in the signed log.
    pub log_size: u64,
    /// The newest checkpoint's size and when it was signed.
    pub checkpoint: Option<(u64, DateTime<Utc>)>,
    pub connections: ConnectionUse,
}

/// The store's connections: how many it may hold, and how many are busy
/// right now (on SQLite, its readers and its one writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionUse {
    pub max: u64,
    pub open: u64,
    pub busy: u64,
}

impl LocalStore {
    /// `Ok(Err(why))` when the store answers but its schema is not this
    /// build's; `Err` when it does not answer.
    pub fn schema_state(&self) -> Result<std::result::Result<(), String>> {
        let (found, expected) = self.read(|conn| {
            let (sql, expected) = match conn.dialect() {
                Dialect::Sqlite => ("PRAGMA user_version", schema::SCHEMA_VERSION),
                Dialect::Postgres => (
                    "SELECT COALESCE(MAX(version), 0) FROM gavel_migrations WHERE success",
                    crate::db::postgres::MIGRATIONS.len() as i64,
                ),
            };
            let found: i64 = conn
                .prepare_cached(sql)?
                .query_row(params![], |row| row.get(0))?;
            Ok((found, expected))
        })?;
        Ok(if found == expected {
            Ok(())
        } else {
            Err(format!(
                "the store's schema is version {found}; this build writes {expected}"
            ))
        })
    }
}

impl LocalStore {
    /// The gauges `/metrics` exposes, read in one snapshot at `now`.
    pub fn gauges(&self, now: DateTime<Utc>) -> Result<StoreGauges> {
        let connections = self.connection_use();
        self.read(|conn| {
            let count = |sql: &str| -> Result<u64> {
                let n: i64 = conn
                    .prepare_cached(sql)?
                    .query_row(params![], |row| row.get(0))?;
                Ok(n.max(0) as u64)
            };
            let queue_by_role = conn
                .prepare_cached(
                    // Quoted: a bare `current_role` is PostgreSQL's session role.
                    "SELECT \"current_role\", COUNT(*) FROM workflows
                     WHERE status = 'in_progress' AND \"current_role\" IS NOT NULL
                     GROUP BY \"current_role\" ORDER BY \"current_role\"",
                )?
                .query_map(params![], |row| {
                    Ok((row.get::<String>(0)?, row.get::<i64>(1)?.max(0) as u64))
                })?
                .collect::<crate::db::Result<Vec<_>>>()?;
            let checkpoint = conn
                .prepare_cached(
                    "SELECT size, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1",
                )?
                .query_row(params![], |row| {
                    Ok((row.get::<i64>(0)?, row.get::<i64>(1)?))
                })
                .optional()?
                .map(|(size, at)| {
                    Ok::<_, crate::backend::BackendError>((size.max(0) as u64, from_ms(at)?))
                })
                .transpose()?;
            Ok(StoreGauges {
                queue_by_role,
                overdue_steps: conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM workflows
                         WHERE due_at IS NOT NULL AND due_at <= ?1 AND status = 'in_progress'",
                    )?
                    .query_row(params![to_ms(now)], |row| row.get::<i64>(0))?
                    .max(0) as u64,
                outbox_pending: count("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")?,
                outbox_dead: count("SELECT COUNT(*) FROM deliveries WHERE state = 'dead'")?,
                outbox_events_waiting: count(
                    "SELECT COUNT(*) FROM notification_events WHERE fanned_out = 0",
                )?,
                log_size: super::log::size(conn)?,
                checkpoint,
                connections,
            })
        })
    }

    /// How many of the store's connections are in use, without waiting on
    /// any of them.
    fn connection_use(&self) -> ConnectionUse {
        match &self.engine {
            Engine::Sqlite {
                readers, writer, ..
            } => {
                let open = readers.len() as u64 + 1;
                let busy = readers
                    .iter()
                    .filter(|reader| reader.try_lock().is_err())
                    .count() as u64
                    + u64::from(writer.try_lock().is_err());
                ConnectionUse {
                    max: open,
                    open,
                    busy,
                }
            }
            Engine::Postgres { pool, .. } => {
                let open = u64::from(pool.size());
                let idle = pool.num_idle() as u64;
                ConnectionUse {
                    max: u64::from(pool.options().get_max_connections()),
                    open,
                    busy: open.saturating_sub(idle),
                }
            }
        }
    }
}
