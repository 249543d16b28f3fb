//! Whether the store can serve: it answers a read, and its schema is the
//! one this build writes (a newer Gavel on the same PostgreSQL database may
//! have migrated past it). What `gavel serve`'s `/readyz` asks.

use super::{LocalStore, schema};
use crate::backend::Result;
use crate::db::{Dialect, params};

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
