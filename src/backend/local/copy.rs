//! `gavel store copy`: the whole governance record from one store to
//! another (an embedded file to PostgreSQL, or back), table by table in
//! keyset pages, in one transaction on the target; then a check that both
//! sides hold the same number of rows and the same log root.

use std::collections::BTreeMap;

use crate::backend::{BackendError, Result};
use crate::db::{Cell, Connection, Dialect, Kind, Row, ToSql, params};

use super::LocalStore;

/// Rows read from the source at a time.
const PAGE: u32 = 2_000;
/// Parameters in one multi-row INSERT (SQLite allows 32766).
const MAX_PARAMS: usize = 30_000;

/// Tables that describe a store's own bookkeeping, not the record.
const NOT_COPIED: &[&str] = &["gavel_migrations", "_sqlx_migrations"];

/// What a copy carried, and the check that ended it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CopyReport {
    /// Rows per table, the same on both sides.
    pub tables: BTreeMap<String, u64>,
    /// The Merkle log's size and root (hex), the same on both sides.
    pub log_size: u64,
    pub log_root: String,
}

/// A table's columns (name, kind) in order, and its primary key.
#[derive(Debug, Clone)]
struct Table {
    columns: Vec<(String, Kind)>,
    key: Vec<String>,
}

/// Copies everything in `from` into `to`. `to` must hold no more than a new
/// store's starting record unless `replace` says its rows may go.
pub fn copy(
    from: &LocalStore,
    to: &LocalStore,
    replace: bool,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<CopyReport> {
    from.read(|source| {
        source
            .consistent(|source| to.write(|target| copy_within(source, target, replace, progress)))
    })?;
    // Without statistics the target's planner guesses, and PostgreSQL's
    // counts read every page until a vacuum marks them all-visible.
    to.refresh_statistics()?;
    check(from, to)
}

fn copy_within(
    source: &Connection,
    target: &Connection,
    replace: bool,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<()> {
    let source_tables = layout(source)?;
    let target_tables = layout(target)?;
    if !replace {
        refuse_unless_new(target)?;
    }
    for (name, table) in &source_tables {
        let Some(into) = target_tables.get(name) else {
            if count(source, name)? == 0 {
                continue;
            }
            return Err(BackendError::Invalid(format!(
                "the target has no table {name}: bring it up to date first (a newer Gavel migrates it when it connects)"
            )));
        };
        if let Some((missing, _)) = table
            .columns
            .iter()
            .find(|(column, _)| !into.columns.iter().any(|(c, _)| c == column))
        {
            return Err(BackendError::Invalid(format!(
                "the target's table {name} has no column {missing}: bring it up to date first"
            )));
        }
    }
    // The target starts empty: its starting record (or, with `replace`,
    // everything) goes, with its refusals lifted for this transaction only.
    with_refusals_lifted(target, target_tables.keys(), |target| {
        for name in target_tables.keys() {
            target.execute(&format!("DELETE FROM {}", quoted(name)), params![])?;
        }
        Ok(())
    })?;
    for (name, table) in &source_tables {
        let Some(into) = target_tables.get(name) else {
            continue;
        };
        let copied = copy_table(source, target, name, table, into, progress)?;
        progress(name, copied);
    }
    if target.dialect() == Dialect::Postgres {
        restart_identities(target)?;
    }
    Ok(())
}

/// Refuses a target that holds people, events or requests: copying would
/// mix two records.
fn refuse_unless_new(target: &Connection) -> Result<()> {
    for table in ["users", "trail", "deployments", "agents"] {
        if count(target, table)? > 0 {
            return Err(BackendError::Invalid(format!(
                "the target already holds a governance record ({table} has rows): copy into a new store, or pass --replace to delete what it holds"
            )));
        }
    }
    Ok(())
}

fn copy_table(
    source: &Connection,
    target: &Connection,
    name: &str,
    table: &Table,
    into: &Table,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<u64> {
    let kinds: Vec<Kind> = table
        .columns
        .iter()
        .map(|(column, kind)| {
            into.columns
                .iter()
                .find(|(c, _)| c == column)
                .map_or(*kind, |(_, kind)| *kind)
        })
        .collect();
    let columns = table
        .columns
        .iter()
        .map(|(column, _)| quoted(column))
        .collect::<Vec<_>>()
        .join(", ");
    let key_positions: Vec<usize> = table
        .key
        .iter()
        .filter_map(|key| table.columns.iter().position(|(c, _)| c == key))
        .collect();
    let per_batch = (MAX_PARAMS / table.columns.len().max(1)).clamp(1, 500);
    let mut after: Option<Vec<Cell>> = None;
    let mut copied = 0_u64;
    loop {
        let page = read_page(source, name, &columns, table, &kinds, after.as_deref())?;
        let full = page.len() == PAGE as usize;
        for batch in page.chunks(per_batch) {
            insert(target, name, &columns, table.columns.len(), batch)?;
        }
        copied += page.len() as u64;
        if !full || key_positions.is_empty() {
            break;
        }
        if let Some(last) = page.last() {
            after = Some(key_positions.iter().map(|&i| last[i].clone()).collect());
        }
        progress(name, copied);
    }
    Ok(copied)
}

/// One page of rows after the key `after` (all rows for a table without a
/// key).
fn read_page(
    source: &Connection,
    name: &str,
    columns: &str,
    table: &Table,
    kinds: &[Kind],
    after: Option<&[Cell]>,
) -> Result<Vec<Vec<Cell>>> {
    let read_row = |row: &Row<'_>| {
        kinds
            .iter()
            .enumerate()
            .map(|(index, kind)| row.cell(index, *kind))
            .collect::<crate::db::Result<Vec<_>>>()
    };
    if table.key.is_empty() {
        let sql = format!("SELECT {columns} FROM {}", quoted(name));
        return Ok(source.query_map(&sql, params![], read_row)?);
    }
    let key = table
        .key
        .iter()
        .map(|k| quoted(k))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = match after {
        None => format!(
            "SELECT {columns} FROM {} ORDER BY {key} LIMIT {PAGE}",
            quoted(name)
        ),
        Some(after) => {
            let marks = (1..=after.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "SELECT {columns} FROM {} WHERE ({key}) > ({marks}) ORDER BY {key} LIMIT {PAGE}",
                quoted(name)
            )
        }
    };
    let values: Vec<Cell> = after.map(<[Cell]>::to_vec).unwrap_or_default();
    Ok(source.query_map(&sql, values, read_row)?)
}

fn insert(
    target: &Connection,
    name: &str,
    columns: &str,
    width: usize,
    rows: &[Vec<Cell>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<&dyn ToSql> = rows
        .iter()
        .flatten()
        .map(|cell| cell as &dyn ToSql)
        .collect();
    target.insert_rows(
        &format!("INSERT INTO {} ({columns})", quoted(name)),
        width,
        &values,
        "",
    )?;
    Ok(())
}

/// The tables of a store with their columns and keys.
fn layout(conn: &Connection) -> Result<BTreeMap<String, Table>> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    match conn.dialect() {
        Dialect::Sqlite => {
            let names: Vec<String> = conn.query_map(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                params![],
                |row| row.get(0),
            )?;
            for name in names {
                let columns: Vec<(String, String, i64)> = conn.query_map(
                    "SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid",
                    params![name],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )?;
                let mut key: Vec<(i64, String)> = columns
                    .iter()
                    .filter(|(_, _, pk)| *pk > 0)
                    .map(|(column, _, pk)| (*pk, column.clone()))
                    .collect();
                key.sort();
                tables.insert(
                    name,
                    Table {
                        columns: columns
                            .into_iter()
                            .map(|(column, declared, _)| (column, sqlite_kind(&declared)))
                            .collect(),
                        key: key.into_iter().map(|(_, column)| column).collect(),
                    },
                );
            }
        }
        Dialect::Postgres => {
            let columns: Vec<(String, String, String)> = conn.query_map(
                "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
                params![],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )?;
            for (table, column, data_type) in columns {
                tables
                    .entry(table)
                    .or_insert_with(|| Table {
                        columns: Vec::new(),
                        key: Vec::new(),
                    })
                    .columns
                    .push((column, postgres_kind(&data_type)));
            }
            let keys: Vec<(String, String)> = conn.query_map(
                "SELECT k.table_name::text, k.column_name::text
                 FROM information_schema.table_constraints c
                 JOIN information_schema.key_column_usage k
                   ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
                 WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema()
                 ORDER BY k.table_name, k.ordinal_position",
                params![],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            for (table, column) in keys {
                if let Some(table) = tables.get_mut(&table) {
                    table.key.push(column);
                }
            }
        }
    }
    tables.retain(|name, _| !NOT_COPIED.contains(&name.as_str()));
    Ok(tables)
}

fn sqlite_kind(declared: &str) -> Kind {
    let declared = declared.to_ascii_uppercase();
    if declared.contains("INT") {
        Kind::Integer
    } else if declared.contains("REAL") || declared.contains("DOUB") || declared.contains("FLOA") {
        Kind::Real
    } else if declared.contains("BLOB") {
        Kind::Blob
    } else {
        Kind::Text
    }
}

fn postgres_kind(data_type: &str) -> Kind {
    match data_type {
        "bigint" | "integer" | "smallint" | "boolean" => Kind::Integer,
        "double precision" | "real" | "numeric" => Kind::Real,
        "bytea" => Kind::Blob,
        _ => Kind::Text,
    }
}

/// Runs `work` with the target's refusing triggers out of the way, and
/// puts them back in the same transaction.
fn with_refusals_lifted<'t>(
    target: &Connection,
    tables: impl Iterator<Item = &'t String>,
    work: impl FnOnce(&Connection) -> Result<()>,
) -> Result<()> {
    match target.dialect() {
        Dialect::Postgres => {
            let tables: Vec<&String> = tables.collect();
            for table in &tables {
                target.execute_batch(&format!(
                    "ALTER TABLE {} DISABLE TRIGGER USER",
                    quoted(table)
                ))?;
            }
            work(target)?;
            for table in &tables {
                target.execute_batch(&format!(
                    "ALTER TABLE {} ENABLE TRIGGER USER",
                    quoted(table)
                ))?;
            }
        }
        Dialect::Sqlite => {
            let triggers: Vec<(String, String)> = target.query_map(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
                params![],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            for (name, _) in &triggers {
                target.execute_batch(&format!("DROP TRIGGER {}", quoted(name)))?;
            }
            work(target)?;
            for (_, sql) in &triggers {
                target.execute_batch(sql)?;
            }
        }
    }
    Ok(())
}

/// Identity columns continue after the copied ids.
fn restart_identities(target: &Connection) -> Result<()> {
    let identities: Vec<(String, String)> = target.query_map(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
        params![],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    for (table, column) in identities {
        target.query_row(
            &format!(
                "SELECT setval(pg_get_serial_sequence(?1, ?2), COALESCE(MAX({}), 0) + 1, false)::bigint FROM {}",
                quoted(&column),
                quoted(&table)
            ),
            params![table, column],
            |row| row.get::<i64>(0),
        )?;
    }
    Ok(())
}

fn count(conn: &Connection, table: &str) -> Result<u64> {
    Ok(conn.query_row(
        &format!("SELECT COUNT(*) FROM {}", quoted(table)),
        params![],
        |row| row.get::<i64>(0),
    )? as u64)
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Both sides, read again after the copy committed: the same rows per
/// table and the same log.
fn check(from: &LocalStore, to: &LocalStore) -> Result<CopyReport> {
    let side = |store: &LocalStore| {
        store.read(|conn| {
            let mut tables = BTreeMap::new();
            for name in layout(conn)?.keys() {
                tables.insert(name.clone(), count(conn, name)?);
            }
            let size = super::log::size(conn)?;
            let root = hex::encode(super::log::root(conn, size)?.0);
            Ok((tables, size, root))
        })
    };
    let (source_tables, source_size, source_root) = side(from)?;
    let (target_tables, target_size, target_root) = side(to)?;
    for (name, rows) in &source_tables {
        let copied = target_tables.get(name).copied().unwrap_or(0);
        if copied != *rows {
            return Err(BackendError::Storage(format!(
                "the copy does not check out: {name} has {rows} rows in the source and {copied} in the target"
            )));
        }
    }
    if (source_size, &source_root) != (target_size, &target_root) {
        return Err(BackendError::Storage(format!(
            "the copy does not check out: the source's log is {source_size} events with root {source_root}, the target's {target_size} with root {target_root}"
        )));
    }
    Ok(CopyReport {
        tables: source_tables,
        log_size: source_size,
        log_root: source_root,
    })
}
