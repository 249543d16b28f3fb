//! The PostgreSQL schema against the embedded store's: the same tables,
//! columns, indexes and case-insensitive columns as a fresh SQLite store,
//! migrated once by instances starting together, and the same refusals
//! (the trail is append-only, case evidence is kept, a policy set moves
//! only by its lifecycle).

mod common;

use std::collections::BTreeSet;

use common::postgres::Cluster;
use gavel::db::postgres;

/// (table, column, case-insensitive) of a fresh embedded store.
fn sqlite_columns() -> (BTreeSet<(String, String, bool)>, BTreeSet<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fresh.db");
    drop(gavel::backend::local::LocalStore::open(&path).expect("store"));
    let conn = rusqlite::Connection::open(&path).expect("open");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .expect("tables")
        .query_map([], |row| row.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    let mut columns = BTreeSet::new();
    for table in tables {
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [&table],
                |row| row.get(0),
            )
            .expect("sql");
        let names: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .expect("columns")
            .query_map([], |row| row.get(0))
            .expect("columns")
            .collect::<Result<_, _>>()
            .expect("columns");
        for name in names {
            // The column's declaration in the table's text says NOCASE.
            let nocase = sql.lines().chain(sql.split(',')).any(|part| {
                let part = part.trim();
                part.starts_with(&format!("{name} ")) && part.contains("COLLATE NOCASE")
            });
            columns.insert((table.clone(), name, nocase));
        }
    }
    let indexes = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
        .expect("indexes")
        .query_map([], |row| row.get(0))
        .expect("indexes")
        .collect::<Result<_, _>>()
        .expect("indexes");
    (columns, indexes)
}

async fn query_strings(pool: &sqlx_postgres::PgPool, sql: &'static str) -> Vec<Vec<String>> {
    use sqlx_core::row::Row as _;
    sqlx_core::query::query(sql)
        .fetch_all(pool)
        .await
        .expect(sql)
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    row.try_get::<Option<String>, _>(i)
                        .expect("text")
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

async fn refused(pool: &sqlx_postgres::PgPool, sql: &'static str) -> String {
    match sqlx_core::query::query(sql).execute(pool).await {
        Ok(_) => panic!("{sql} was not refused"),
        Err(err) => err.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgresql_schema_is_the_embedded_stores() {
    let cluster = Cluster::start();
    // Two instances starting at once migrate once.
    let (first, second) = (
        postgres::connect(&cluster.url("gavel"), 2)
            .await
            .expect("connect"),
        postgres::connect(&cluster.url("gavel"), 2)
            .await
            .expect("connect"),
    );
    let (a, b) = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        tokio::join!(postgres::migrate(&first), postgres::migrate(&second))
    })
    .await
    .expect("migrating did not finish");
    a.expect("first instance migrates");
    b.expect("second instance migrates");
    postgres::migrate(&first)
        .await
        .expect("again: nothing to do");
    let applied = query_strings(&first, "SELECT version::text FROM gavel_migrations").await;
    assert_eq!(
        applied,
        [
            ["1"],
            ["2"],
            ["3"],
            ["4"],
            ["5"],
            ["6"],
            ["7"],
            ["8"],
            ["9"],
            ["10"],
            ["11"],
            ["12"],
            ["13"],
            ["14"],
            ["15"],
            ["16"]
        ]
    );

    let (sqlite, sqlite_indexes) = sqlite_columns();
    let postgres: BTreeSet<(String, String, bool)> = query_strings(
        &first,
        "SELECT table_name::text, column_name::text, COALESCE(collation_name::text, '')
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> 'gavel_migrations'",
    )
    .await
    .into_iter()
    .map(|row| (row[0].clone(), row[1].clone(), row[2] == "nocase"))
    .collect();
    let missing: Vec<_> = sqlite.difference(&postgres).collect();
    let extra: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "columns only in SQLite: {missing:?}; only in PostgreSQL: {extra:?}"
    );
    let postgres_indexes: BTreeSet<String> = query_strings(
        &first,
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'",
    )
    .await
    .into_iter()
    .map(|row| row[0].clone())
    .collect();
    let missing: Vec<&String> = sqlite_indexes.difference(&postgres_indexes).collect();
    assert!(
        missing.is_empty(),
        "indexes missing in PostgreSQL: {missing:?}"
    );

    // Case-insensitive where SQLite is: one user whatever the case.
    sqlx_core::query::query(
        "INSERT INTO users (email, name, roles, created_at) VALUES ('Dana@Example.com', 'Dana', '', 0)",
    )
    .execute(&first)
    .await
    .expect("a user");
    let duplicate = refused(
        &first,
        "INSERT INTO users (email, name, roles, created_at) VALUES ('dana@example.com', 'Dana', '', 0)",
    )
    .await;
    assert!(duplicate.contains("users_pkey"), "{duplicate}");

    // The refusals.
    sqlx_core::query::query(
        "INSERT INTO trail (seq, at, actor, entity_type, entity_id, action, details, hash)
         VALUES (1, 0, 'a', 'workflow', 'wf-1', 'created', '{}', 'h')",
    )
    .execute(&first)
    .await
    .expect("an event");
    for (sql, says) in [
        ("UPDATE trail SET actor = 'b'", "events cannot be changed"),
        ("DELETE FROM trail", "events cannot be deleted"),
        ("TRUNCATE trail", "events cannot be deleted"),
    ] {
        let refusal = refused(&first, sql).await;
        assert!(refusal.contains(says), "{sql}: {refusal}");
    }
    sqlx_core::query::query(
        "INSERT INTO policy_sets (version, source, source_hash, description, plan, proposed_by, proposed_at, state)
         VALUES (1, 's', 'h', 'd', '{}', 'a', 0, 'proposed')",
    )
    .execute(&first)
    .await
    .expect("a proposal");
    let refusal = refused(&first, "UPDATE policy_sets SET state = 'superseded'").await;
    assert!(refusal.contains("moves only from proposed"), "{refusal}");
    let refusal = refused(&first, "UPDATE policy_sets SET source = 'other'").await;
    assert!(refusal.contains("immutable once proposed"), "{refusal}");
    sqlx_core::query::query(
        "UPDATE policy_sets SET state = 'active', decided_by = 'b', decided_at = 1",
    )
    .execute(&first)
    .await
    .expect("the lifecycle's own move");
    let refusal = refused(&first, "UPDATE policy_sets SET decided_by = 'c'").await;
    assert!(refusal.contains("decided once"), "{refusal}");
}

/// Gavel migrates an empty database or its own, never another
/// application's: one holding tables and no record of Gavel's migrations
/// is refused and left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_applications_database_is_refused_and_left_as_it_was() {
    let cluster = Cluster::start();
    let url = cluster.create_database("theirs");
    let pool = postgres::connect(&url, 2).await.expect("connect");
    sqlx_core::query::query("CREATE TABLE invoices (id BIGINT PRIMARY KEY)")
        .execute(&pool)
        .await
        .expect("their table");
    let refused = postgres::migrate(&pool).await.expect_err("refused");
    assert!(
        refused.to_string().contains("not a Gavel store"),
        "{refused}"
    );
    let tables = query_strings(
        &pool,
        "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = current_schema()",
    )
    .await;
    assert_eq!(tables, [["invoices"]], "nothing was added");
}
