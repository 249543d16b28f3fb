//! The embedded store: SQLite in WAL mode, one file.
//!
//! Layer 4, a part (docs/architecture.md): may import `db`, the contract, the
//! rules and the ground. This file opens the store; `calls` is the contract
//! on it, `reads` and `writes` the queries and changes.
//!
//! Reads go through a small pool of read connections and never wait for a
//! write; writes take the single writer connection, one transaction per
//! state change (the state and its trail event commit together).

mod acting;
pub mod attestations;
pub mod backup;
mod calls;
pub mod copy;
mod coverage;
pub mod directory;
pub mod evidence;
pub mod feed;
pub mod health;
pub mod inbox;
mod kept_schema;
pub mod log;
pub mod logkey;
pub mod mirror;
pub mod notifications;
mod reads;
pub mod replay;
pub mod report;
pub mod rows;
pub mod schema;
mod shared_schema;
pub mod trail;
pub mod usage;
mod watch;
mod with_conn;
pub use with_conn::*;
pub mod writes;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::db::{Connection, OptionalExtension};
use rusqlite::{Connection as SqliteConnection, OpenFlags};

use super::queue::QueueQuery;
use super::types::{Dashboard, Identity, User};
use super::{BackendError, Result};
use crate::domain::Role;

const READERS: usize = 4;

/// Connections each server keeps to a PostgreSQL store.
const POSTGRES_CONNECTIONS: u32 = 16;

/// How long a decision's idempotency record is kept.
pub const IDEMPOTENCY_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// How long checking a policy set may take before the caller is answered
/// (the work within the static limits takes milliseconds; this bounds a
/// wait for a permit behind other checks).
const SET_CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Checks a policy set's text off the async workers, at most one check per
/// core at once, answering by the deadline: a check never holds a worker
/// that other requests need, and never runs inside a write.
async fn checked_set(source: &str) -> Result<crate::domain::policy::set::PolicySet> {
    static PERMITS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Arc::new(tokio::sync::Semaphore::new(cores))
    });
    let source = source.to_owned();
    let check = async {
        let permit = Arc::clone(permits)
            .acquire_owned()
            .await
            .map_err(|err| BackendError::Storage(err.to_string()))?;
        super::blocking(move || {
            // Held until the check ends, even one whose caller gave up.
            let _permit = permit;
            writes::check_set(&source)
        })
        .await
    };
    tokio::time::timeout(SET_CHECK_DEADLINE, check)
        .await
        .unwrap_or_else(|_| {
            Err(BackendError::Invalid(format!(
                "checking the policy set took longer than {} s: other checks are running; try again",
                SET_CHECK_DEADLINE.as_secs()
            )))
        })
}

/// Who the trail names for changes made by whoever owns the store file
/// (user management on the command line without `--user`).
pub const STORE_OWNER: &str = "store owner (local)";

/// An open store, shared by every `LocalBackend` on it: an embedded
/// SQLite file, or a PostgreSQL database several servers may share. The
/// store's code is the same on both; only how a read or a write gets its
/// connection differs.
pub struct LocalStore {
    engine: Engine,
    /// Woken when a committed write recorded notifications, so the
    /// delivery worker sends them at once rather than at its next poll.
    outbox_signal: tokio::sync::Notify,
    /// Where "now" comes from for every call on this store (a test sets one
    /// it moves).
    clock: std::sync::RwLock<Arc<dyn crate::clock::Clock>>,
    /// Agent versions checks found in use, not yet written.
    pub(crate) version_use: usage::VersionUse,
}

enum Engine {
    Sqlite {
        path: PathBuf,
        // Fields drop in order: the readers close first, so the writer,
        // closing last, checkpoints the WAL into the file and removes it.
        readers: Vec<Mutex<SqliteConnection>>,
        /// Opened by the first `change_mark` (see `watch.rs`).
        watcher: Box<Mutex<Option<SqliteConnection>>>,
        writer: Mutex<SqliteConnection>,
        next_reader: AtomicUsize,
    },
    Postgres {
        pool: crate::db::postgres::PgPool,
        /// The runtime the pool's connections live on, which the store's
        /// synchronous code awaits its queries on.
        handle: tokio::runtime::Handle,
        /// The URL without its password, for messages.
        url: String,
    },
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.engine {
            Engine::Sqlite { path, .. } => {
                f.debug_struct("LocalStore").field("path", path).finish()
            }
            Engine::Postgres { url, .. } => f.debug_struct("LocalStore").field("url", url).finish(),
        }
    }
}

/// Creates `dir` and any missing parents, each readable by its owner only.
fn create_private_dirs(dir: &Path) -> Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|path| !path.exists()).collect();
    std::fs::create_dir_all(dir)
        .map_err(|err| BackendError::Storage(format!("cannot create {}: {err}", dir.display())))?;
    #[cfg(unix)]
    for created in missing {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(created, std::fs::Permissions::from_mode(0o700)).map_err(
            |err| BackendError::Storage(format!("cannot protect {}: {err}", created.display())),
        )?;
    }
    #[cfg(not(unix))]
    let _ = missing;
    Ok(())
}

/// Makes a file Gavel created readable and writable by its owner only.
pub(crate) fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|err| {
            BackendError::Storage(format!("cannot protect {}: {err}", path.display()))
        })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Drops idempotency records past their retention, when a store opens.
/// They answer retries; a week is far past any retry (the API promises at
/// least a day).
fn forget_expired_replays(conn: &Connection) -> crate::db::Result<usize> {
    let week_ago = rows::to_ms(chrono::Utc::now() - IDEMPOTENCY_RETENTION);
    conn.execute("DELETE FROM idempotency WHERE created_at < ?1", [week_ago])
}

/// Statements each connection keeps prepared: more than the store has.
pub(crate) const STATEMENT_CACHE: usize = 256;

fn configure(conn: &SqliteConnection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "cache_size", -16_000)?; // 16 MB per connection
    // Every statement the store runs stays prepared (rusqlite keeps 16).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

impl LocalStore {
    /// Now, by the store's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .now()
    }

    /// The store's clock, to read inside a transaction.
    pub fn clock(&self) -> Arc<dyn crate::clock::Clock> {
        Arc::clone(
            &self
                .clock
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Reads "now" from `clock` from here on.
    pub fn set_clock(&self, clock: Arc<dyn crate::clock::Clock>) {
        *self
            .clock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = clock;
    }

    /// Opens (creating and migrating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Arc<LocalStore>> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            create_private_dirs(parent)?;
        }
        let created = !path.exists();
        let open_error = |err: rusqlite::Error| {
            BackendError::Storage(format!("cannot open store {}: {err}", path.display()))
        };
        let mut writer = SqliteConnection::open(path).map_err(open_error)?;
        if created {
            // SQLite gives the -wal and -shm files the database's mode.
            make_private(path)?;
        }
        configure(&writer).map_err(open_error)?;
        // Another application's database is left exactly as it is: refused
        // before the journal mode (or anything) is changed.
        if let Some(problem) = schema::foreign_store(&writer, path).map_err(open_error)? {
            return Err(BackendError::Invalid(format!(
                "{problem}; it was left as it is"
            )));
        }
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(open_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(BackendError::Storage(format!(
                "store {} cannot use write-ahead logging (journal mode {mode})",
                path.display()
            )));
        }
        // FULL: an acknowledged decision survives power loss, not just a crash.
        writer
            .pragma_update(None, "synchronous", "FULL")
            .map_err(open_error)?;
        schema::migrate(&mut writer).map_err(|err| {
            BackendError::Storage(format!("cannot migrate store {}: {err}", path.display()))
        })?;
        forget_expired_replays(&Connection::sqlite(&writer)).map_err(|err| {
            BackendError::Storage(format!("cannot open store {}: {err}", path.display()))
        })?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = SqliteConnection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&conn)?;
                Ok(Mutex::new(conn))
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(open_error)?;
        let store = Arc::new(LocalStore {
            clock: std::sync::RwLock::new(Arc::new(crate::clock::SystemClock)),
            engine: Engine::Sqlite {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers,
                watcher: Box::new(Mutex::new(None)),
                next_reader: AtomicUsize::new(0),
            },
            outbox_signal: tokio::sync::Notify::new(),
            version_use: usage::VersionUse::default(),
        });
        // A store from before the kept standings gets them, once.
        let now = store.clock().now();
        store.write(|tx| writes::fill_kept_if_missing(tx, now))?;
        Ok(store)
    }

    /// Connects to the PostgreSQL database at `url`, bringing its schema
    /// up to date (once, however many servers start together) and giving a
    /// new database the governance model an embedded store starts with.
    pub async fn connect(url: &str) -> Result<Arc<LocalStore>> {
        use crate::db::postgres;
        let shown = postgres::redacted(url);
        let unreachable = |err: crate::db::Error| {
            let why = format!("cannot reach the database {shown}: {err}");
            if err.is_unavailable() {
                BackendError::Unavailable(why)
            } else {
                BackendError::Storage(why)
            }
        };
        let pool = postgres::connect(url, POSTGRES_CONNECTIONS)
            .await
            .map_err(unreachable)?;
        postgres::migrate(&pool).await.map_err(|err| {
            BackendError::Storage(format!("cannot migrate the database {shown}: {err}"))
        })?;
        let store = Arc::new(LocalStore {
            clock: std::sync::RwLock::new(Arc::new(crate::clock::SystemClock)),
            engine: Engine::Postgres {
                pool,
                handle: tokio::runtime::Handle::current(),
                url: shown,
            },
            outbox_signal: tokio::sync::Notify::new(),
            version_use: usage::VersionUse::default(),
        });
        let starting = Arc::clone(&store);
        let now = store.clock().now();
        super::blocking(move || {
            starting.write(|tx| {
                schema::write_initial_record(tx)?;
                forget_expired_replays(tx)?;
                writes::fill_kept_if_missing(tx, now)
            })
        })
        .await?;
        Ok(store)
    }

    /// Opens a store that must already exist, without touching a file that
    /// is missing, empty or not SQLite (it stays byte-identical).
    pub fn open_existing(path: &Path) -> Result<Arc<LocalStore>> {
        let check = format!("`gavel store check {}` says more", path.display());
        if !path.exists() {
            return Err(BackendError::Invalid(format!(
                "no store at {}: create one with `gavel store init --db {}`, or `gavel seed`",
                path.display(),
                path.display()
            )));
        }
        if let Some(problem) = LocalStore::file_problem(path) {
            return Err(BackendError::Invalid(format!(
                "{problem}; it was left as it is ({check})"
            )));
        }
        LocalStore::open(path).map_err(|err| match err {
            BackendError::Storage(why) => BackendError::Storage(format!("{why} ({check})")),
            other => other,
        })
    }

    /// What is wrong with a store file before SQLite opens it: missing,
    /// not a regular file (a FIFO or a device is refused at once, never
    /// read), empty, or not SQLite.
    fn file_problem(path: &Path) -> Option<String> {
        let shown = path.display();
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) => return Some(format!("no store at {shown} ({err})")),
        };
        if !meta.is_file() {
            return Some(format!(
                "{shown} is not a regular file, so not a Gavel store"
            ));
        }
        if meta.len() == 0 {
            return Some(format!("{shown} is empty (0 bytes), not a Gavel store"));
        }
        let mut header = [0u8; 16];
        let read = std::fs::File::open(path)
            .and_then(|mut file| std::io::Read::read(&mut file, &mut header));
        if !matches!(read, Ok(16)) || &header != b"SQLite format 3\0" {
            return Some(format!(
                "{shown} is not a SQLite database, so not a Gavel store"
            ));
        }
        None
    }

    /// `gavel store check`: the file is a Gavel store (a regular SQLite
    /// file holding Gavel's tables) and `PRAGMA quick_check` finds nothing
    /// wrong, read-only. "ok", or what is wrong, a line each.
    pub fn check_file(path: &Path) -> Result<Vec<String>> {
        if let Some(problem) = LocalStore::file_problem(path) {
            return Ok(vec![problem]);
        }
        let conn = LocalStore::open_read_only(path)?;
        match schema::foreign_store(&conn, path) {
            Ok(Some(problem)) => Ok(vec![problem]),
            Ok(None) => LocalStore::quick_check_of(&conn, path),
            Err(err) => Ok(vec![format!("{}: {err}", path.display())]),
        }
    }

    fn open_read_only(path: &Path) -> Result<SqliteConnection> {
        SqliteConnection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|err| {
            BackendError::Storage(format!("cannot open {} read-only: {err}", path.display()))
        })
    }

    /// `PRAGMA quick_check` of a store file opened read-only: "ok", or what
    /// SQLite found.
    fn quick_check_of(conn: &SqliteConnection, path: &Path) -> Result<Vec<String>> {
        let mut statement = conn
            .prepare("PRAGMA quick_check")
            .map_err(|err| BackendError::Storage(format!("{}: {err}", path.display())))?;
        let found = statement
            .query_map([], |row| row.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|err| BackendError::Storage(format!("{}: {err}", path.display())))?;
        Ok(found)
    }

    /// The store's file; `None` for a PostgreSQL store.
    pub fn path(&self) -> Option<&Path> {
        match &self.engine {
            Engine::Sqlite { path, .. } => Some(path),
            Engine::Postgres { .. } => None,
        }
    }

    /// Where the store is, for messages: its file, or its database's URL
    /// without the password.
    pub fn location(&self) -> String {
        match &self.engine {
            Engine::Sqlite { path, .. } => path.display().to_string(),
            Engine::Postgres { url, .. } => url.clone(),
        }
    }

    /// What names the store's log (its origin line): the store's file, or
    /// its database's name.
    pub fn log_name(&self) -> PathBuf {
        match &self.engine {
            Engine::Sqlite { path, .. } => path.clone(),
            Engine::Postgres { url, .. } => url::Url::parse(url)
                .ok()
                .map(|url| url.path().trim_start_matches('/').to_owned())
                .filter(|name| !name.is_empty())
                .map_or_else(|| PathBuf::from("postgres"), PathBuf::from),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.engine, Engine::Postgres { .. })
    }

    /// Brings the query planner's statistics up to date, after a bulk load
    /// (`gavel store copy`) left it without any.
    pub fn refresh_statistics(&self) -> Result<()> {
        match &self.engine {
            Engine::Sqlite { .. } => self.write(|tx| Ok(tx.execute_batch("ANALYZE")?)),
            Engine::Postgres { pool, handle, .. } => {
                Ok(crate::db::postgres::vacuum_analyze(pool, handle)?)
            }
        }
    }

    /// Runs `work` on a read connection: a snapshot of the database.
    pub fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let (readers, next_reader) = match &self.engine {
            Engine::Sqlite {
                readers,
                next_reader,
                ..
            } => (readers, next_reader),
            Engine::Postgres { pool, handle, .. } => {
                let session = crate::db::postgres::Session::read(pool, handle.clone())?;
                let value = work(&Connection::postgres(&session))?;
                session.commit()?;
                return Ok(value);
            }
        };
        let start = next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first idle reader; wait on one only if all are busy.
        for offset in 0..readers.len() {
            let slot = &readers[(start + offset) % readers.len()];
            if let Ok(conn) = slot.try_lock() {
                return work(&Connection::sqlite(&conn));
            }
        }
        let conn = readers[start % readers.len()]
            .lock()
            .map_err(|_| BackendError::Storage("a read connection was poisoned".into()))?;
        work(&Connection::sqlite(&conn))
    }

    /// Runs `work` in one immediate write transaction; commits if it succeeds.
    pub fn write<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        notifications::take_recorded();
        let value = match &self.engine {
            Engine::Sqlite { writer, .. } => {
                let mut conn = writer.lock().map_err(|_| {
                    BackendError::Storage("the write connection was poisoned".into())
                })?;
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let value = work(&Connection::sqlite(&tx))?;
                tx.commit()?;
                value
            }
            // The session holds the writers' advisory lock until it commits:
            // writes are serialized as on SQLite's one writer, whichever
            // server makes them.
            Engine::Postgres { pool, handle, .. } => {
                let session = crate::db::postgres::Session::write(pool, handle.clone())?;
                let value = work(&Connection::postgres(&session))?;
                session.commit()?;
                value
            }
        };
        if notifications::take_recorded() {
            self.outbox_signal.notify_one();
        }
        Ok(value)
    }

    /// Resolves once a write has recorded notifications (since the last
    /// time it resolved).
    pub async fn notifications_recorded(&self) {
        self.outbox_signal.notified().await;
    }

    /// Runs `work` on the write connection outside a transaction (bulk loads
    /// manage their own).
    pub fn with_writer<T>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        let Engine::Sqlite { writer, .. } = &self.engine else {
            return Err(BackendError::Invalid(
                "bulk loading writes an embedded store file: load one, then `gavel store copy` it into PostgreSQL".into(),
            ));
        };
        let mut conn = writer
            .lock()
            .map_err(|_| BackendError::Storage("the write connection was poisoned".into()))?;
        work(&mut conn)
    }

    /// An agent's evidence pack, exported by `actor` (a compliance officer):
    /// its files, `pack.json` last, signed by the log's key.
    pub fn evidence_pack(
        &self,
        actor: &str,
        key: &logkey::LogKey,
        query: &crate::backend::EvidenceQuery,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<crate::evidence::pack::PackFile>> {
        let user = self
            .read(|conn| reads::user(conn, actor))?
            .ok_or_else(|| BackendError::Unauthenticated(format!("user {actor:?} is not known")))?;
        if !user.holds(Role::ComplianceOfficer) {
            return Err(BackendError::Forbidden(
                "exporting evidence needs the compliance_officer role".into(),
            ));
        }
        let evidence = self.write(|tx| evidence::collect(tx, key, query, now))?;
        crate::evidence::build(&evidence, &user.email, now, &key.signer)
            .map_err(|err| BackendError::Storage(err.to_string()))
    }

    /// The kept figures (standings, blocked counts, leadership's counts)
    /// that differ from counting every record afresh, in words: what
    /// `gavel audit verify` recounts.
    pub fn kept_figures_that_differ(&self) -> Result<Vec<String>> {
        let now = self.now();
        self.read(|conn| trail::kept_figures_that_differ(conn, now))
    }

    /// The dashboard's figures as of `now` (what counts as overdue depends
    /// on it).
    pub fn dashboard_at(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Dashboard> {
        self.read(|conn| reads::dashboard(conn, now))
    }

    /// Creates a user with roles and no teams; returns their API token.
    pub fn add_user(&self, email: &str, name: &str, roles: &[Role]) -> Result<String> {
        self.create_user(
            STORE_OWNER,
            email,
            &writes::UserChange {
                name: Some(name.to_owned()),
                roles: Some(roles.to_vec()),
                teams: None,
                service: false,
            },
        )
    }

    /// Creates a user (or brings back a removed one); returns the new API
    /// token (shown once; only its hash is kept).
    pub fn create_user(
        &self,
        actor: &str,
        email: &str,
        change: &writes::UserChange,
    ) -> Result<String> {
        self.write(|tx| writes::add_user(tx, actor, email, change, self.now()))
    }

    pub fn update_user(
        &self,
        actor: &str,
        email: &str,
        change: &writes::UserChange,
    ) -> Result<User> {
        self.write(|tx| writes::update_user(tx, actor, email, change, self.now()))
    }

    /// Removes a user; their token stops working at once.
    pub fn remove_user(&self, actor: &str, email: &str) -> Result<()> {
        self.write(|tx| writes::remove_user(tx, actor, email, self.now()))
    }

    /// A new token for a user; the old one stops working at once.
    pub fn rotate_token(&self, actor: &str, email: &str) -> Result<String> {
        self.write(|tx| writes::rotate_token(tx, actor, email, self.now()))
    }

    pub fn user(&self, email: &str) -> Result<Option<User>> {
        self.read(|conn| reads::user(conn, email))
    }

    /// A person signing in with the identity provider: their user, created
    /// or refreshed from what the provider asserted.
    pub fn sign_in(&self, sign_in: &writes::SignIn, linking: writes::EmailLinking) -> Result<User> {
        if let Some(user) = self.read(|conn| writes::unchanged_sign_in(conn, sign_in))? {
            return Ok(user);
        }
        self.write(|tx| writes::sign_in(tx, sign_in, linking, self.now()))
    }

    /// Joins a person's identity at the provider to their Gavel user.
    pub fn link_identity(
        &self,
        actor: &str,
        email: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<User> {
        self.write(|tx| writes::link_identity(tx, actor, email, issuer, subject, self.now()))
    }

    /// The user a token belongs to (none once they are removed).
    pub fn user_by_token(&self, token: &str) -> Result<Option<User>> {
        let hash = crate::domain::digest::token_hash(token);
        self.read(|conn| {
            let email: Option<String> = conn
                .query_row(
                    "SELECT email FROM users WHERE token_hash = ?1 AND removed_at IS NULL",
                    [hash],
                    |row| row.get(0),
                )
                .optional()?;
            match email {
                Some(email) => reads::user(conn, &email),
                None => Ok(None),
            }
        })
    }

    pub fn users(&self) -> Result<Vec<User>> {
        self.read(|conn| reads::users(conn, None))
    }

    /// How SQLite runs each per-role query of a queue page (`EXPLAIN QUERY
    /// PLAN`, one line per plan), for tests and diagnosis.
    pub fn queue_query_plan(
        &self,
        query: &QueueQuery,
        reader: Option<&User>,
    ) -> Result<Vec<String>> {
        self.read(|conn| reads::queue_plans(conn, query, reader))
    }

    /// How each kind of a standings page is read (for the query-plan test).
    pub fn standings_query_plan(
        &self,
        query: &crate::backend::StandingQuery,
    ) -> Result<Vec<String>> {
        let now = self.now();
        self.read(|conn| reads::standings_plans(conn, now, query))
    }

    /// Entity changes after a cursor, with the rows `reader` may see.
    pub fn change_page(
        &self,
        since: i64,
        limit: u32,
        reader: Option<&User>,
    ) -> Result<feed::ChangePage> {
        self.read(|conn| feed::change_page(conn, since, limit, reader))
    }

    /// Applies a page of the server's changes to this store as a mirror.
    pub fn apply_changes(&self, page: &feed::ChangePage) -> Result<i64> {
        self.write(|tx| mirror::apply_page(tx, page))
    }

    /// One keyset page of a table, for a mirror's first sync.
    pub fn snapshot_page(
        &self,
        table: &str,
        after: &str,
        limit: u32,
        reader: Option<&User>,
    ) -> Result<feed::SnapshotPage> {
        self.read(|conn| feed::snapshot_page(conn, table, after, limit, reader))
    }

    /// Applies a snapshot page to this store as a mirror.
    pub fn apply_snapshot(&self, page: &feed::SnapshotPage) -> Result<()> {
        self.write(|tx| mirror::apply_snapshot(tx, page))
    }

    /// Sets a mirror's change cursor (after a full snapshot).
    pub fn set_sync_cursor(&self, cursor: i64) -> Result<()> {
        self.write(|tx| mirror::set_cursor(tx, cursor))
    }

    /// How far this mirror has synced.
    pub fn sync_cursor(&self) -> Result<i64> {
        self.read(mirror::cursor)
    }

    /// Checks the whole audit trail's hash chain.
    pub fn verify_trail(&self) -> Result<crate::backend::VerifyReport> {
        let now = self.now();
        self.read(|conn| trail::verify(conn, now))
    }
}

/// The embedded store acting as one user.
#[derive(Clone, Debug)]
pub struct LocalBackend {
    store: Arc<LocalStore>,
    user: Option<String>,
    /// The user as the caller already read them for this request (the
    /// server, from the token), so each call does not read them again.
    authenticated: Option<User>,
    /// The identity the provider asserted in this request, for the trail.
    asserted: Option<Identity>,
    /// The log's key, which signs evidence packs (none: they cannot be
    /// exported here).
    log_key: Option<Arc<logkey::LogKey>>,
}
