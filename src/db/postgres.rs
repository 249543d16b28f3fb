//! The PostgreSQL side of the seam: a pool (sqlx), and sessions that run
//! the synchronous store code's queries on it, one transaction each.
//!
//! A read session is a `REPEATABLE READ READ ONLY` transaction, so its
//! queries see one snapshot, as SQLite's read transactions do. A write
//! session takes a transaction-scoped advisory lock first: writes are
//! serialized as they are on SQLite's single writer, so the trail's hash
//! chain, its Merkle log and the change feed's order are the commit order.

use std::cell::RefCell;
use std::str::FromStr;

use sqlx_core::row::Row as _;
use sqlx_core::type_info::TypeInfo as _;
use sqlx_core::value::ValueRef as _;
pub use sqlx_postgres::PgPool;
use sqlx_postgres::{PgConnectOptions, PgPoolOptions, PgRow, Postgres};

use sqlx_core::sql_str::AssertSqlSafe;

use super::error::{Error, Result};
use super::value::{ConversionError, Kind, ToSql, Value, ValueRef};

/// The advisory lock every write transaction holds until it commits.
pub const WRITER_LOCK: i64 = 0x6761_7665_6c00; // "gavel\0"

/// How a read session begins: one snapshot, read-only.
const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// How a write session begins: taking [`WRITER_LOCK`] in the same round
/// trip as the `BEGIN` (every round trip of a write is made while the other
/// writers wait).
pub fn begin_write() -> String {
    format!("BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})")
}

/// A pool on `url` (`postgres://USER@HOST:PORT/DB?sslmode=...`). The
/// password comes from the URL, else `PGPASSWORD`, else `~/.pgpass`
/// (`PGPASSFILE`); TLS as `sslmode` asks.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)?.application_name("gavel");
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(options)
        .await?)
}

/// The URL with its password, if any, replaced: for logs and messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(a database URL that does not parse)".into(),
    }
}

/// Vacuums and analyzes the whole database, outside any transaction (as
/// `VACUUM` must run): after a bulk load the planner has statistics and
/// the pages are marked all-visible, so counts can read indexes alone.
pub fn vacuum_analyze(pool: &PgPool, handle: &tokio::runtime::Handle) -> Result<()> {
    use sqlx_core::executor::Executor as _;
    block_on(handle, pool.execute("VACUUM (ANALYZE)"))?;
    Ok(())
}

/// One transaction on one pooled connection, used from one blocking
/// thread by the synchronous store code.
pub struct Session {
    transaction: RefCell<Option<sqlx_core::transaction::Transaction<'static, Postgres>>>,
    handle: tokio::runtime::Handle,
}

impl Session {
    /// A read-only snapshot.
    pub fn read(pool: &PgPool, handle: tokio::runtime::Handle) -> Result<Session> {
        Session::begin(pool, handle, BEGIN_READ.to_owned())
    }

    /// A write transaction holding [`WRITER_LOCK`] ([`begin_write`]).
    pub fn write(pool: &PgPool, handle: tokio::runtime::Handle) -> Result<Session> {
        Session::begin(pool, handle, begin_write())
    }

    fn begin(pool: &PgPool, handle: tokio::runtime::Handle, begin: String) -> Result<Session> {
        let transaction = block_on(&handle, pool.begin_with(AssertSqlSafe(begin)))?;
        Ok(Session {
            transaction: RefCell::new(Some(transaction)),
            handle,
        })
    }

    pub fn commit(self) -> Result<()> {
        match self.transaction.into_inner() {
            Some(transaction) => Ok(block_on(&self.handle, transaction.commit())?),
            None => Ok(()),
        }
    }

    /// Rolls back (dropping a session does too, when its connection is
    /// next used).
    pub fn rollback(self) -> Result<()> {
        match self.transaction.into_inner() {
            Some(transaction) => Ok(block_on(&self.handle, transaction.rollback())?),
            None => Ok(()),
        }
    }

    pub fn execute(&self, sql: &str, params: &[&dyn ToSql]) -> Result<usize> {
        let query = bind(new_query(sql), params);
        let mut held = self.transaction.borrow_mut();
        let done = block_on(&self.handle, query.execute(connection(&mut held)?))?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        let batch = sqlx_core::raw_sql::raw_sql(AssertSqlSafe(sql.to_owned()));
        let mut held = self.transaction.borrow_mut();
        block_on(&self.handle, batch.execute(connection(&mut held)?))?;
        Ok(())
    }

    pub fn fetch_all(&self, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<PgRow>> {
        let query = bind(new_query(sql), params);
        let mut held = self.transaction.borrow_mut();
        Ok(block_on(
            &self.handle,
            query.fetch_all(connection(&mut held)?),
        )?)
    }

    pub fn fetch_optional(&self, sql: &str, params: &[&dyn ToSql]) -> Result<Option<PgRow>> {
        let query = bind(new_query(sql), params);
        let mut held = self.transaction.borrow_mut();
        Ok(block_on(
            &self.handle,
            query.fetch_optional(connection(&mut held)?),
        )?)
    }
}

/// The connection a session's transaction holds.
fn connection<'h>(
    held: &'h mut Option<sqlx_core::transaction::Transaction<'static, Postgres>>,
) -> Result<&'h mut sqlx_postgres::PgConnection> {
    match held {
        Some(transaction) => Ok(transaction),
        None => Err(Error::Postgres(sqlx_core::Error::PoolClosed)),
    }
}

fn new_query(sql: &str) -> Query<'static> {
    sqlx_core::query::query(AssertSqlSafe(sql.to_owned()))
}

/// Awaits `future` from synchronous code: on a blocking thread (where the
/// store runs its work) directly, on a runtime worker by first telling the
/// runtime this thread will block.
fn block_on<F: std::future::Future>(handle: &tokio::runtime::Handle, future: F) -> F::Output {
    match tokio::runtime::Handle::try_current().map(|current| current.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
            tokio::task::block_in_place(|| handle.block_on(future))
        }
        _ => handle.block_on(future),
    }
}

type Query<'q> = sqlx_core::query::Query<'q, Postgres, sqlx_postgres::PgArguments>;

fn bind<'q>(mut query: Query<'q>, params: &'q [&'q dyn ToSql]) -> Query<'q> {
    for param in params {
        query = match param.to_value() {
            Value::Null(Kind::Integer) => query.bind(None::<i64>),
            Value::Null(Kind::Real) => query.bind(None::<f64>),
            Value::Null(Kind::Text) => query.bind(None::<&str>),
            Value::Null(Kind::Blob) => query.bind(None::<&[u8]>),
            Value::Integer(n) => query.bind(n),
            Value::Real(x) => query.bind(x),
            Value::Text(text) => query.bind(text),
            Value::Blob(bytes) => query.bind(bytes),
        };
    }
    query
}

/// Column `index` of a row, as one of the kinds Gavel stores.
pub fn value(row: &PgRow, index: usize) -> Result<ValueRef<'_>> {
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(ValueRef::Null);
    }
    let type_name = raw.type_info().name().to_owned();
    Ok(match type_name.as_str() {
        "INT8" => ValueRef::Integer(row.try_get::<i64, _>(index)?),
        "INT4" => ValueRef::Integer(i64::from(row.try_get::<i32, _>(index)?)),
        "INT2" => ValueRef::Integer(i64::from(row.try_get::<i16, _>(index)?)),
        "BOOL" => ValueRef::Integer(i64::from(row.try_get::<bool, _>(index)?)),
        "FLOAT8" => ValueRef::Real(row.try_get::<f64, _>(index)?),
        "FLOAT4" => ValueRef::Real(f64::from(row.try_get::<f32, _>(index)?)),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => ValueRef::Text(row.try_get::<&str, _>(index)?),
        "BYTEA" => ValueRef::Blob(row.try_get::<&[u8], _>(index)?),
        other => {
            return Err(Error::Conversion(ConversionError {
                column: index,
                reason: format!(
                    "PostgreSQL type {other} is not one Gavel stores (cast it to BIGINT, DOUBLE PRECISION, TEXT or BYTEA)"
                ),
            }));
        }
    })
}

/// The PostgreSQL schema's migrations, in order (`migrations/postgres`).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "governance record",
        include_str!("../../migrations/postgres/0001_governance_record.sql"),
    ),
    (
        2,
        "delegated roles and reviewers",
        include_str!("../../migrations/postgres/0002_delegations_and_reviewers.sql"),
    ),
    (
        3,
        "agent standings",
        include_str!("../../migrations/postgres/0003_agent_standings.sql"),
    ),
    (
        4,
        "blocked policy counts",
        include_str!("../../migrations/postgres/0004_blocked_policy_counts.sql"),
    ),
    (
        5,
        "ordered agent standings",
        include_str!("../../migrations/postgres/0005_ordered_agent_standings.sql"),
    ),
    (
        6,
        "kept figures",
        include_str!("../../migrations/postgres/0006_kept_figures.sql"),
    ),
    (
        7,
        "kept totals",
        include_str!("../../migrations/postgres/0007_kept_totals.sql"),
    ),
    (
        8,
        "obligations",
        include_str!("../../migrations/postgres/0008_obligations.sql"),
    ),
    (
        9,
        "obligation coverage",
        include_str!("../../migrations/postgres/0009_obligation_coverage.sql"),
    ),
    (
        10,
        "policy exceptions",
        include_str!("../../migrations/postgres/0010_policy_exceptions.sql"),
    ),
    (
        11,
        "recertification",
        include_str!("../../migrations/postgres/0011_recertification.sql"),
    ),
    (
        12,
        "incidents",
        include_str!("../../migrations/postgres/0012_incidents.sql"),
    ),
    (
        13,
        "version checks",
        include_str!("../../migrations/postgres/0013_version_checks.sql"),
    ),
    (
        14,
        "incident alerts",
        include_str!("../../migrations/postgres/0014_incident_alerts.sql"),
    ),
    (
        15,
        "directory",
        include_str!("../../migrations/postgres/0015_directory.sql"),
    ),
    (
        16,
        "board report",
        include_str!("../../migrations/postgres/0016_board_report.sql"),
    ),
];

/// Brings the database's schema up to date. Several instances starting
/// together migrate once: the migrator holds an advisory lock while it
/// works, and the others find the work done.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx_core::migrate::MigrateError> {
    use sqlx_core::migrate::{Migration, MigrationType, Migrator};
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                std::borrow::Cow::Borrowed(*description),
                MigrationType::Simple,
                sqlx_core::sql_str::SqlStr::from_static(sql),
                false,
            )
        })
        .collect::<Vec<_>>();
    let migrator = Migrator {
        migrations: std::borrow::Cow::Owned(migrations),
        table_name: std::borrow::Cow::Borrowed("gavel_migrations"),
        ..Migrator::DEFAULT
    };
    let mut conn = pool.acquire().await?;
    // Gavel migrates an empty database or its own, never another
    // application's: a database with tables and no record of Gavel's
    // migrations is left as it is.
    let (ours, others): (bool, i64) = sqlx_core::query_as::query_as(
        "SELECT to_regclass('gavel_migrations') IS NOT NULL,
                (SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema())",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !ours && others > 0 {
        return Err(sqlx_core::migrate::MigrateError::Source(
            format!(
                "the database holds {others} tables Gavel did not make: it is not a Gavel store, and Gavel adds nothing to it"
            )
            .into(),
        ));
    }
    let outcome = migrator.run(&mut *conn).await;
    if outcome.is_err() {
        // The migrator's advisory lock is the session's: a failed run must
        // not return it to the pool still held (other instances would wait
        // for it forever), so the connection is closed instead.
        let _ = sqlx_core::connection::Connection::close(conn.detach()).await;
    }
    outcome
}
