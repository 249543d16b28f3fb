//! The cache file on disk: one per server and user, found again without
//! the server, checked when opened, and set aside (never deleted) when it
//! is damaged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::db::{Connection, OptionalExtension, params};
use chrono::{DateTime, Utc};
use rusqlite::OpenFlags;

use super::outbox::{self, StoredEntry};
use crate::backend::local::LocalStore;
use crate::backend::{BackendError, Result};
use crate::domain::digest::token_hash;

/// Which server and whom a cache belongs to.
#[derive(Debug, Clone)]
pub struct Identity {
    pub server_url: String,
    /// SHA-256 of the bearer token: finds the cache offline, reveals nothing.
    pub token_fingerprint: String,
}

fn short_hash(text: &str) -> String {
    token_hash(text)[..16].to_owned()
}

/// The cache of `email` on `server_url` inside `dir`.
pub fn path_for(dir: &Path, server_url: &str, email: &str) -> PathBuf {
    dir.join(format!(
        "{}-{}.db",
        short_hash(server_url),
        short_hash(&email.to_lowercase())
    ))
}

/// One fact the cache keeps about itself (`cache_meta`).
pub fn meta(conn: &Connection, key: &str) -> crate::db::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM cache_meta WHERE key = ?1",
        [key],
        |row| row.get(0),
    )
    .optional()
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> crate::db::Result<()> {
    conn.execute(
        "INSERT INTO cache_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The cache this token used on this server before, found without asking
/// the server (which may be away). Unreadable files are skipped here; they
/// are dealt with when opened by name.
pub fn find(dir: &Path, identity: &Identity) -> Option<PathBuf> {
    let prefix = format!("{}-", short_hash(&identity.server_url));
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".db"))
        })
        .find(|path| {
            rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()
                .and_then(|conn| meta(&Connection::sqlite(&conn), "token_fingerprint").ok())
                .flatten()
                .is_some_and(|fingerprint| fingerprint == identity.token_fingerprint)
        })
}

/// An open cache and anything the user must be told about how it opened.
pub struct Opened {
    pub store: Arc<LocalStore>,
    pub notice: Option<String>,
}

/// The marker a failed background check leaves, so the next open sets the
/// file aside before using it.
pub fn damage_marker(path: &Path) -> PathBuf {
    sibling(path, ".damaged")
}

/// Opens (or creates) the cache at `path`; a damaged file is set aside with
/// its unsent changes carried over. `full_check` runs SQLite's page check
/// now (about 0.2 s per 100,000 workflows); without it, a file that cannot
/// be opened or was marked damaged is still caught, and the console checks
/// the rest in the background.
pub fn open(
    path: &Path,
    identity: &Identity,
    full_check: bool,
    now: DateTime<Utc>,
) -> Result<Opened> {
    let existed = path.exists();
    let marker = damage_marker(path);
    let checked = if marker.exists() {
        Err(BackendError::Storage(
            "an earlier integrity check failed".into(),
        ))
    } else {
        LocalStore::open(path).and_then(|store| {
            if existed && full_check {
                check(&store)?;
            }
            Ok(store)
        })
    };
    let (store, notice) = match checked {
        Ok(store) => (store, None),
        Err(damage) => {
            let recovered = set_aside(path, now)?;
            let _ = std::fs::remove_file(&marker);
            let store = LocalStore::open(path)?;
            let carried = carry_over(&store, &recovered.entries)?;
            let mut notice = format!(
                "the offline cache {} was damaged ({damage}); it was moved to {} and a new one is being built from the server",
                path.display(),
                recovered.moved_to.display()
            );
            match (&recovered.exported_to, &recovered.unreadable) {
                (Some(export), _) if carried > 0 => notice.push_str(&format!(
                    "; {carried} unsent change(s) were saved to {} and will still be sent",
                    export.display()
                )),
                (_, Some(why)) => notice.push_str(&format!(
                    "; its unsent changes could not be read ({why}): the damaged file is kept for recovery"
                )),
                _ => {}
            }
            (store, Some(notice))
        }
    };
    store.write(|tx| {
        set_meta(tx, "server_url", &identity.server_url)?;
        set_meta(tx, "token_fingerprint", &identity.token_fingerprint)?;
        // A full sync cut short left its indexes aside: put them back.
        crate::backend::local::mirror::restore_indexes(tx)
    })?;
    Ok(Opened { store, notice })
}

/// SQLite's own consistency check of every page.
pub fn check(store: &LocalStore) -> Result<()> {
    store.read(|conn| {
        let mut statement = conn.prepare_cached("PRAGMA quick_check")?;
        let problems: Vec<String> = statement
            .query_map(params![], |row| row.get(0))?
            .collect::<crate::db::Result<_>>()?;
        if problems.len() == 1 && problems[0] == "ok" {
            Ok(())
        } else {
            Err(BackendError::Storage(format!(
                "integrity check failed: {}",
                problems.into_iter().take(3).collect::<Vec<_>>().join("; ")
            )))
        }
    })
}

struct SetAside {
    moved_to: PathBuf,
    exported_to: Option<PathBuf>,
    unreadable: Option<String>,
    entries: Vec<StoredEntry>,
}

/// Exports what can be read of a damaged cache's outbox, then renames the
/// file (and its journal files) aside.
fn set_aside(path: &Path, now: DateTime<Utc>) -> Result<SetAside> {
    // Damaged twice in one second: the second set-aside gets a name of
    // its own (nothing set aside is ever replaced).
    let second = now.format("%Y%m%dT%H%M%S").to_string();
    let taken = |stamp: &str| {
        [".damaged-", ".outbox-"].iter().any(|kind| {
            ["", "-wal", "-shm", ".json"]
                .iter()
                .any(|suffix| sibling(path, &format!("{kind}{stamp}{suffix}")).exists())
        })
    };
    let stamp = (1..)
        .map(|n| match n {
            1 => second.clone(),
            n => format!("{second}-{n}"),
        })
        .find(|stamp| !taken(stamp))
        .unwrap_or(second);
    let (entries, unreadable) = match read_outbox(path) {
        Ok(entries) => (entries, None),
        Err(err) => (Vec::new(), Some(err.to_string())),
    };
    let exported_to = if entries.is_empty() {
        None
    } else {
        let export = sibling(path, &format!(".outbox-{stamp}.json"));
        let text = serde_json::to_string_pretty(&entries)
            .map_err(|err| BackendError::Storage(format!("cannot encode the outbox: {err}")))?;
        crate::files::write(&export, text.as_bytes(), crate::files::Existing::Keep).map_err(
            |err| BackendError::Storage(format!("cannot write {}: {err}", export.display())),
        )?;
        Some(export)
    };
    let moved_to = sibling(path, &format!(".damaged-{stamp}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = sibling(path, suffix);
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", moved_to.display()));
            crate::files::move_aside(&from, &to).map_err(|err| {
                BackendError::Storage(format!(
                    "cannot move the damaged cache {} aside: {err}",
                    from.display()
                ))
            })?;
        }
    }
    Ok(SetAside {
        moved_to,
        exported_to,
        unreadable,
        entries,
    })
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// The outbox of a possibly damaged file, opened read-only so nothing in it
/// changes.
fn read_outbox(path: &Path) -> Result<Vec<StoredEntry>> {
    let conn = rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    outbox::entries(&Connection::sqlite(&conn))
}

/// Queues a damaged cache's unsent changes in the new one, with their
/// original keys so nothing the server already has is applied twice.
fn carry_over(store: &LocalStore, entries: &[StoredEntry]) -> Result<usize> {
    store.write(|tx| {
        for stored in entries {
            outbox::restore(tx, stored)?;
        }
        Ok(entries.len())
    })
}
