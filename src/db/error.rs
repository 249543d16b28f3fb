//! What went wrong talking to a database, and whether it is worth trying
//! again.

use super::value::ConversionError;

/// What went wrong talking to a store's database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] sqlx_core::Error),
    #[error("the query returned no rows")]
    NoRows,
    #[error(transparent)]
    Conversion(#[from] ConversionError),
}

impl Error {
    /// Whether the database was busy or away rather than the request
    /// wrong: worth answering 503 and trying again.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Sqlite(err) => matches!(
                err.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            Error::Postgres(err) => postgres_unavailable(err),
            Error::NoRows | Error::Conversion(_) => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `query_row(...).optional()`: no row is `None`, as in rusqlite.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(Error::NoRows | Error::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Whether the database is away or busy rather than the query wrong.
fn postgres_unavailable(err: &sqlx_core::Error) -> bool {
    match err {
        sqlx_core::Error::Io(_)
        | sqlx_core::Error::Tls(_)
        | sqlx_core::Error::PoolTimedOut
        | sqlx_core::Error::PoolClosed
        | sqlx_core::Error::WorkerCrashed => true,
        sqlx_core::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P0x: shutting down or starting;
            // 53: insufficient resources; 40001/40P01: serialization
            // failure, deadlock (the transaction may be retried).
            code.starts_with("08")
                || code.starts_with("57P0")
                || code.starts_with("53")
                || code == "40001"
                || code == "40P01"
        }),
        _ => false,
    }
}
