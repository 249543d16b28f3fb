//! One SQL seam for Gavel's two stores: SQLite (rusqlite, the embedded
//! default) and PostgreSQL (sqlx, for servers sharing one database).
//!
//! Layer 4, a part (docs/architecture.md): the SQL seam imports only the
//! ground and crates.
//!
//! Store code is written once against [`Connection`], which keeps
//! rusqlite's idiom (`execute`, `query_row`, `prepare_cached` and
//! `query_map`, `row.get(i)`, `.optional()`), so the SQLite path stays as
//! direct as it was. SQL is written in the subset both engines share, with
//! SQLite's numbered parameters (`?1`), which [`postgres_sql`] rewrites to
//! PostgreSQL's (`$1`). What truly differs (DDL, locking, upserts that
//! PostgreSQL spells otherwise) is kept outside, one place per difference.
//!
//! PostgreSQL is driven from the same synchronous store code: each query
//! is awaited on the runtime's handle from the blocking thread the store
//! already runs its work on.

mod error;
pub mod postgres;
pub mod value;

pub use error::{Error, OptionalExtension, Result};
pub use value::{Cell, ConversionError, FromSql, Kind, Param, ToSql, Value, ValueRef};

/// What a statement's parameters may be given as: `params![a, b, c]` (a
/// slice of trait objects), or an array of one type (`[id]`, `[]`), as
/// with rusqlite.
pub trait Params {
    fn refs(&self) -> Vec<&dyn ToSql>;
}

impl Params for &[&dyn ToSql] {
    fn refs(&self) -> Vec<&dyn ToSql> {
        self.to_vec()
    }
}

impl<T: ToSql, const N: usize> Params for [T; N] {
    fn refs(&self) -> Vec<&dyn ToSql> {
        self.iter().map(|value| value as &dyn ToSql).collect()
    }
}

impl<T: ToSql> Params for Vec<T> {
    fn refs(&self) -> Vec<&dyn ToSql> {
        self.iter().map(|value| value as &dyn ToSql).collect()
    }
}

impl<T: ToSql> Params for &Vec<T> {
    fn refs(&self) -> Vec<&dyn ToSql> {
        self.iter().map(|value| value as &dyn ToSql).collect()
    }
}

impl<T: ToSql, const N: usize> Params for &[T; N] {
    fn refs(&self) -> Vec<&dyn ToSql> {
        self.iter().map(|value| value as &dyn ToSql).collect()
    }
}

/// Parameters as a slice of trait objects: `params![a, b, c]`.
#[macro_export]
macro_rules! db_params {
    () => {
        &[] as &[&dyn $crate::db::ToSql]
    };
    ($($param:expr),+ $(,)?) => {
        &[$(&$param as &dyn $crate::db::ToSql),+] as &[&dyn $crate::db::ToSql]
    };
}
pub use db_params as params;

/// The `VALUES` list of a multi-row insert, numbered for `rows` rows of
/// `width` parameters each: `(?1, ?2), (?3, ?4)`.
fn value_tuples(rows: usize, width: usize) -> String {
    use std::fmt::Write;
    // Built on every bulk insert: one buffer, no string per mark.
    let mut tuples = String::with_capacity(rows * width * 6);
    for row in 0..rows {
        if row > 0 {
            tuples.push_str(", ");
        }
        tuples.push('(');
        for column in 1..=width {
            if column > 1 {
                tuples.push_str(", ");
            }
            // Writing to a String cannot fail.
            let _ = write!(tuples, "?{}", row * width + column);
        }
        tuples.push(')');
    }
    tuples
}

/// The few spellings the two engines do not share, for SQL built at run
/// time. Everything else is written once, in the subset both accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Case-insensitive `LIKE` (SQLite's `LIKE` already is, for ASCII).
    pub fn like(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }

    /// Whether text `haystack` contains `needle` (both SQL expressions).
    pub fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Dialect::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }

    /// Rows a claiming query takes, locked, passing over those another
    /// server holds (SQLite has one writer, so nothing to pass over).
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// A number at `field` of the JSON object stored as text in `column`.
    pub fn json_number(self, column: &str, field: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{field}')"),
            Dialect::Postgres => format!("(({column})::jsonb ->> '{field}')::double precision"),
        }
    }

    /// The value at `field` of the JSON object in `column` (NULL when
    /// absent), for `IS NULL` tests.
    pub fn json_field(self, column: &str, field: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{field}')"),
            Dialect::Postgres => format!("(({column})::jsonb -> '{field}')"),
        }
    }

    /// The length of the JSON array at `field` of the object in `column`
    /// (NULL when there is none).
    pub fn json_array_length(self, column: &str, field: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_array_length({column}, '$.{field}')"),
            Dialect::Postgres => format!(
                "CASE WHEN jsonb_typeof(({column})::jsonb -> '{field}') = 'array' \
                 THEN jsonb_array_length(({column})::jsonb -> '{field}') END"
            ),
        }
    }
}

/// A connection (inside a transaction or not) to either engine.
#[derive(Clone, Copy)]
pub struct Connection<'c> {
    inner: Inner<'c>,
}

#[derive(Clone, Copy)]
enum Inner<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(&'c postgres::Session),
}

impl<'c> Connection<'c> {
    pub fn sqlite(conn: &'c rusqlite::Connection) -> Connection<'c> {
        Connection {
            inner: Inner::Sqlite(conn),
        }
    }

    pub fn postgres(session: &'c postgres::Session) -> Connection<'c> {
        Connection {
            inner: Inner::Postgres(session),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.inner, Inner::Postgres(_))
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `work` so that every query in it sees one state of the
    /// database: inside a deferred transaction on SQLite (a read
    /// connection's queries otherwise each see the latest commit); a
    /// PostgreSQL session is one transaction already.
    pub fn consistent<T, E: From<Error>>(
        &self,
        work: impl FnOnce(&Connection<'c>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        match self.inner {
            Inner::Sqlite(conn) => {
                let tx = conn.unchecked_transaction().map_err(Error::from)?;
                let value = work(self)?;
                tx.commit().map_err(Error::from)?;
                Ok(value)
            }
            Inner::Postgres(_) => work(self),
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        let refs = params.refs();
        let params: &[&dyn ToSql] = &refs;
        match self.inner {
            // Held in the statement cache, as on PostgreSQL: a write
            // statement is parsed once per connection, not on every call.
            Inner::Sqlite(conn) => Ok(conn
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(sqlite_params(params).iter()))?),
            Inner::Postgres(session) => session.execute(&postgres_sql(sql), params),
        }
    }

    /// Many rows in one statement, `{insert} VALUES (..), (..) {then}`:
    /// `insert` names the table and columns, `values` holds the rows'
    /// parameters in order, `width` of them to a row. On PostgreSQL each
    /// statement is a round trip, made while the writers' lock is held.
    pub fn insert_rows(
        &self,
        insert: &str,
        width: usize,
        values: &[&dyn ToSql],
        then: &str,
    ) -> Result<usize> {
        if values.is_empty() {
            return Ok(0);
        }
        debug_assert_eq!(values.len() % width, 0, "whole rows");
        let sql = format!(
            "{insert} VALUES {} {then}",
            value_tuples(values.len() / width, width)
        );
        self.prepare_cached(sql.trim_end())?.execute(values)
    }

    /// Several statements without parameters (schema, pragmas).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self.inner {
            Inner::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Inner::Postgres(session) => session.execute_batch(sql),
        }
    }

    /// The first row, through `f`; [`Error::NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let refs = params.refs();
        let params: &[&dyn ToSql] = &refs;
        match self.inner {
            Inner::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows =
                    statement.query(rusqlite::params_from_iter(sqlite_params(params).iter()))?;
                match rows.next()? {
                    Some(row) => f(&Row::Sqlite(row)),
                    None => Err(Error::NoRows),
                }
            }
            Inner::Postgres(session) => match session.fetch_optional(&postgres_sql(sql), params)? {
                Some(row) => f(&Row::Postgres(&row)),
                None => Err(Error::NoRows),
            },
        }
    }

    /// A statement to run several times (cached by SQLite; PostgreSQL's
    /// driver caches its prepared statements per connection itself).
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'c>> {
        Ok(match self.inner {
            Inner::Sqlite(conn) => Statement::Sqlite(conn.prepare_cached(sql)?),
            Inner::Postgres(session) => Statement::Postgres {
                session,
                sql: postgres_sql(sql),
            },
        })
    }

    /// The same as [`Connection::prepare_cached`] (both engines cache).
    pub fn prepare(&self, sql: &str) -> Result<Statement<'c>> {
        self.prepare_cached(sql)
    }

    /// Every row of a query, through `f`, in order.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let refs = params.refs();
        let params: &[&dyn ToSql] = &refs;
        let mut statement = self.prepare_cached(sql)?;
        statement.query_map(params, f)?.collect()
    }
}

/// A prepared statement.
pub enum Statement<'c> {
    Sqlite(rusqlite::CachedStatement<'c>),
    Postgres {
        session: &'c postgres::Session,
        sql: String,
    },
}

impl Statement<'_> {
    pub fn execute(&mut self, params: impl Params) -> Result<usize> {
        let refs = params.refs();
        let params: &[&dyn ToSql] = &refs;
        match self {
            Statement::Sqlite(statement) => {
                Ok(statement.execute(rusqlite::params_from_iter(sqlite_params(params).iter()))?)
            }
            Statement::Postgres { session, sql } => session.execute(sql, params),
        }
    }

    pub fn query_row<T>(
        &mut self,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let refs = params.refs();
        let params: &[&dyn ToSql] = &refs;
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(Error::NoRows),
        }
    }

    /// Whether the query returns a row.
    pub fn exists(&mut self, params: impl Params) -> Result<bool> {
        let refs = params.refs();
        let params: &[&dyn ToSql] = &refs;
        Ok(self.query(params)?.next()?.is_some())
    }

    /// The rows, one at a time (`while let Some(row) = rows.next()?`).
    pub fn query(&mut self, params: impl Params) -> Result<Rows<'_>> {
        let refs = params.refs();
        let params: &[&dyn ToSql] = &refs;
        Ok(match self {
            Statement::Sqlite(statement) => Rows::Sqlite(
                statement.query(rusqlite::params_from_iter(sqlite_params(params).iter()))?,
            ),
            Statement::Postgres { session, sql } => Rows::Postgres {
                rows: session.fetch_all(sql, params)?.into_iter(),
                current: None,
            },
        })
    }

    /// The rows through `f`, as an iterator of results.
    pub fn query_map<T, F>(&mut self, params: impl Params, f: F) -> Result<MappedRows<'_, F>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        let refs = params.refs();
        let params: &[&dyn ToSql] = &refs;
        Ok(MappedRows {
            rows: self.query(params)?,
            f,
        })
    }
}

/// Rows being read.
pub enum Rows<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres {
        rows: std::vec::IntoIter<sqlx_postgres::PgRow>,
        current: Option<sqlx_postgres::PgRow>,
    },
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match self {
            Rows::Sqlite(rows) => Ok(rows.next()?.map(Row::Sqlite)),
            Rows::Postgres { rows, current } => {
                *current = rows.next();
                Ok(current.as_ref().map(Row::Postgres))
            }
        }
    }
}

/// Rows mapped through a function, as an iterator.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(row)) => Some((self.f)(&row)),
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        }
    }
}

/// One row of a result.
pub enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r sqlx_postgres::PgRow),
}

impl Row<'_> {
    /// Column `index` (from 0) as it is, its column holding `kind`.
    pub fn cell(&self, index: usize, kind: Kind) -> Result<Cell> {
        Ok(match self {
            Row::Sqlite(row) => Cell::read(sqlite_value(row.get_ref(index)?, index)?, kind),
            Row::Postgres(row) => Cell::read(postgres::value(row, index)?, kind),
        })
    }

    /// Column `index` (from 0) as `T`.
    pub fn get<T: FromSql>(&self, index: usize) -> Result<T> {
        let converted = match self {
            Row::Sqlite(row) => T::from_sql(sqlite_value(row.get_ref(index)?, index)?),
            Row::Postgres(row) => T::from_sql(postgres::value(row, index)?),
        };
        converted.map_err(|reason| {
            Error::Conversion(ConversionError {
                column: index,
                reason,
            })
        })
    }
}

/// A whole row as a tuple of columns in order: `row.try_into()`.
macro_rules! row_tuple {
    ($($name:ident: $index:tt),+) => {
        impl<$($name: FromSql),+> TryFrom<&Row<'_>> for ($($name,)+) {
            type Error = Error;

            fn try_from(row: &Row<'_>) -> Result<Self> {
                Ok(($(row.get::<$name>($index)?,)+))
            }
        }
    };
}
row_tuple!(A: 0);
row_tuple!(A: 0, B: 1);
row_tuple!(A: 0, B: 1, C: 2);
row_tuple!(A: 0, B: 1, C: 2, D: 3);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10, L: 11);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10, L: 11, M: 12);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10, L: 11, M: 12, N: 13);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10, L: 11, M: 12, N: 13, O: 14);
row_tuple!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10, L: 11, M: 12, N: 13, O: 14, P: 15);

fn sqlite_value(value: rusqlite::types::ValueRef<'_>, column: usize) -> Result<ValueRef<'_>> {
    use rusqlite::types::ValueRef as Sqlite;
    Ok(match value {
        Sqlite::Null => ValueRef::Null,
        Sqlite::Integer(n) => ValueRef::Integer(n),
        Sqlite::Real(x) => ValueRef::Real(x),
        Sqlite::Text(bytes) => {
            ValueRef::Text(std::str::from_utf8(bytes).map_err(|err| ConversionError {
                column,
                reason: format!("text that is not UTF-8: {err}"),
            })?)
        }
        Sqlite::Blob(bytes) => ValueRef::Blob(bytes),
    })
}

/// Parameters as rusqlite binds them (borrowed, no copies).
fn sqlite_params<'p>(params: &'p [&'p dyn ToSql]) -> Vec<rusqlite::types::ToSqlOutput<'p>> {
    use rusqlite::types::{ToSqlOutput, ValueRef as Sqlite};
    params
        .iter()
        .map(|param| {
            ToSqlOutput::Borrowed(match param.to_value() {
                Value::Null(_) => Sqlite::Null,
                Value::Integer(n) => Sqlite::Integer(n),
                Value::Real(x) => Sqlite::Real(x),
                Value::Text(text) => Sqlite::Text(text.as_bytes()),
                Value::Blob(bytes) => Sqlite::Blob(bytes),
            })
        })
        .collect()
}

/// SQLite's parameters (`?1`, `?`) in PostgreSQL's spelling (`$1`),
/// leaving string literals, quoted names and comments alone.
pub fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next_unnumbered = 0;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(digit) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*digit);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    next_unnumbered += 1;
                    out.push_str(&next_unnumbered.to_string());
                } else {
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_rows_number_their_marks_in_order() {
        assert_eq!(value_tuples(1, 1), "(?1)");
        assert_eq!(value_tuples(2, 3), "(?1, ?2, ?3), (?4, ?5, ?6)");
    }

    #[test]
    fn parameters_are_rewritten_outside_literals_and_comments() {
        assert_eq!(
            postgres_sql(
                "SELECT a FROM t WHERE b = ?1 AND c = ?12 -- ?3\nAND d = '?4' AND \"?5\" = ?2"
            ),
            "SELECT a FROM t WHERE b = $1 AND c = $12 -- ?3\nAND d = '?4' AND \"?5\" = $2"
        );
        assert_eq!(
            postgres_sql("VALUES (?, ?, 'it''s ?')"),
            "VALUES ($1, $2, 'it''s ?')"
        );
    }

    #[test]
    fn the_sqlite_path_reads_and_writes_every_kind() {
        let raw = rusqlite::Connection::open_in_memory().unwrap();
        let conn = Connection::sqlite(&raw);
        conn.execute_batch("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB)")
            .unwrap();
        let blob = vec![0_u8, 1, 2];
        conn.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
            params![7_i64, 0.5_f64, "seven", blob],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
            params![None::<i64>, None::<f64>, None::<String>, None::<Vec<u8>>],
        )
        .unwrap();
        let first: (i64, f64, String, Vec<u8>) = conn
            .query_row("SELECT i, r, s, b FROM t WHERE i = ?1", params![7], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap();
        assert_eq!(first, (7, 0.5, "seven".to_owned(), blob));
        let nulls: Vec<Option<String>> = conn
            .query_map("SELECT s FROM t ORDER BY i IS NULL", params![], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(nulls, [Some("seven".to_owned()), None]);
        let none = conn
            .query_row("SELECT i FROM t WHERE i = 8", params![], |row| {
                row.get::<i64>(0)
            })
            .optional()
            .unwrap();
        assert_eq!(none, None);
        let wrong = conn.query_row("SELECT s FROM t WHERE i = 7", params![], |row| {
            row.get::<i64>(0)
        });
        assert!(matches!(wrong, Err(Error::Conversion(_))), "{wrong:?}");
    }
}
