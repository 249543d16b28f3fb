//! Backups of an embedded store while it serves, and restoring one.
//!
//! A backup is SQLite's `VACUUM INTO` on a read connection: one consistent
//! instant of the whole file, taken while writers go on, then checked with
//! `PRAGMA quick_check` before it gets its final name (never over an
//! existing file). Restoring writes a checked copy over a store no server
//! holds: `gavel serve` keeps a shared lock on `STORE.lock` while it runs,
//! and a restore needs it exclusive.

use std::path::{Path, PathBuf};

use super::LocalStore;
use crate::backend::{BackendError, Result};

/// The lock file a server holds while it serves `store`.
pub fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Held while a server serves a store; released when dropped.
#[derive(Debug)]
pub struct ServingLock(#[allow(dead_code)] std::fs::File);

impl LocalStore {
    /// Takes the shared lock a running server holds on its file store
    /// (none for PostgreSQL, whose backups are `pg_dump`'s).
    pub fn hold_while_serving(&self) -> Result<Option<ServingLock>> {
        let Some(path) = self.path() else {
            return Ok(None);
        };
        let file = crate::files::lock_file(&lock_path(path))
            .map_err(|err| BackendError::Storage(format!("cannot open the store's lock: {err}")))?;
        file.lock_shared()
            .map_err(|err| BackendError::Storage(format!("cannot lock the store: {err}")))?;
        Ok(Some(ServingLock(file)))
    }

    /// Writes a consistent copy of the store to `to`, which must not exist,
    /// and checks it.
    pub fn backup_to(&self, to: &Path) -> Result<()> {
        if self.path().is_none() {
            return Err(BackendError::Invalid(
                "a PostgreSQL store is backed up with pg_dump (docs/backups.md)".into(),
            ));
        }
        if to.exists() {
            return Err(BackendError::Invalid(format!(
                "{} exists already: a backup never overwrites",
                to.display()
            )));
        }
        let partial = partial_beside(to)?;
        let target = partial.to_string_lossy().into_owned();
        let copied = self.read(|conn| {
            conn.execute("VACUUM INTO ?1", crate::db::params![target])?;
            Ok(())
        });
        finish(copied, &partial, to, false)
    }

    /// Restores the backup `from` as the store at `to`: refused while a
    /// server holds `to`, and over an existing store unless `replace`.
    pub fn restore(from: &Path, to: &Path, replace: bool) -> Result<()> {
        let found = LocalStore::check_file(from)?;
        if found != ["ok"] {
            return Err(BackendError::Invalid(format!(
                "{} is not a healthy Gavel store: {}",
                from.display(),
                found.join("; ")
            )));
        }
        let lock = crate::files::lock_file(&lock_path(to))
            .map_err(|err| BackendError::Storage(format!("cannot open the store's lock: {err}")))?;
        if lock.try_lock().is_err() {
            return Err(BackendError::Conflict(format!(
                "a gavel serve holds {}: stop it before restoring",
                to.display()
            )));
        }
        if to.exists() && !replace {
            return Err(BackendError::Conflict(format!(
                "{} exists: restoring replaces it, with --force",
                to.display()
            )));
        }
        let partial = partial_beside(to)?;
        let source = LocalStore::open_read_only(from)?;
        let copied = source
            .execute("VACUUM INTO ?1", [partial.to_string_lossy()])
            .map(drop)
            .map_err(|err| BackendError::Storage(format!("copying {}: {err}", from.display())));
        drop(source);
        // The replaced store's journal would be applied to the restored
        // file: it goes with the store it belongs to.
        for suffix in ["-wal", "-shm"] {
            let mut name = to.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
        finish(copied, &partial, to, true)
    }
}

/// A name beside `to` no one else uses.
fn partial_beside(to: &Path) -> Result<PathBuf> {
    let dir = match to.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .map_err(|err| BackendError::Storage(format!("cannot create {}: {err}", dir.display())))?;
    let name = to
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(dir.join(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple())))
}

/// Checks the copy at `partial` and gives it its name, atomically: over an
/// existing file only when `replace`. Removes it on any failure.
fn finish(copied: Result<()>, partial: &Path, to: &Path, replace: bool) -> Result<()> {
    let checked = copied.and_then(|()| {
        let found = LocalStore::check_file(partial)?;
        if found == ["ok"] {
            Ok(())
        } else {
            Err(BackendError::Storage(format!(
                "the copy does not check: {}",
                found.join("; ")
            )))
        }
    });
    let named = checked.and_then(|()| {
        let existing = if replace {
            crate::files::Existing::Replace
        } else {
            crate::files::Existing::Keep
        };
        crate::files::place(partial, to, existing).map_err(|err| {
            BackendError::Storage(format!("cannot name the copy {}: {err}", to.display()))
        })
    });
    let _ = std::fs::remove_file(partial);
    named
}
