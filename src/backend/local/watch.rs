//! A mark that moves whenever the store changes, so an open console can
//! reload what it shows without a key being pressed.

use rusqlite::{Connection as SqliteConnection, OpenFlags};

use super::{Engine, LocalStore, configure, trail};
use crate::backend::{BackendError, Result};

impl LocalStore {
    /// Moves when another connection (another console, the CLI, a server)
    /// commits. On SQLite it is `PRAGMA data_version` on a connection of its
    /// own, which changes only for other connections' commits and costs no
    /// read of any table; on PostgreSQL, the head of the audit trail, which
    /// every change appends to.
    pub fn change_mark(&self) -> Result<u64> {
        match &self.engine {
            Engine::Sqlite { path, watcher, .. } => {
                let mut slot = watcher.lock().map_err(|_| poisoned())?;
                if slot.is_none() {
                    let conn = SqliteConnection::open_with_flags(
                        path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    configure(&conn)?;
                    *slot = Some(conn);
                }
                let conn = slot.as_ref().ok_or_else(poisoned)?;
                let version: i64 = conn.query_row("PRAGMA data_version", [], |row| row.get(0))?;
                Ok(version as u64)
            }
            Engine::Postgres { .. } => Ok(self.read(trail::head)? as u64),
        }
    }
}

fn poisoned() -> BackendError {
    BackendError::Storage("the watching connection was poisoned".into())
}
