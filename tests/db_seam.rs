//! The SQL seam both stores are written against, on SQLite and on a real
//! PostgreSQL cluster started by the test: the same statements (SQLite's
//! `?N` spelling) read and write every kind of value the same way; write
//! sessions on PostgreSQL are serialized by the writer lock, read sessions
//! are read-only snapshots; a database that goes away is "unavailable"
//! (a 503), and comes back; TLS is used when the URL asks for it.

mod common;

use std::time::{Duration, Instant};

use common::postgres::Cluster;
use gavel::db::postgres::{self, Session};
use gavel::db::{Connection, Error, OptionalExtension, params};

/// The statements under test, the same for both engines.
fn exercise(conn: &Connection<'_>) {
    let blob: Vec<u8> = vec![0, 1, 2, 255];
    let inserted = conn
        .execute(
            "INSERT INTO t (i, r, s, b) VALUES (?1, ?2, ?3, ?4)",
            params![7_i64, 0.5_f64, "seven ✓", blob],
        )
        .expect("insert");
    assert_eq!(inserted, 1);
    conn.execute(
        "INSERT INTO t (i, r, s, b) VALUES (?1, ?2, ?3, ?4)",
        params![None::<i64>, None::<f64>, None::<String>, None::<Vec<u8>>],
    )
    .expect("insert NULLs");
    conn.execute(
        "INSERT INTO t (i, r, s, b) VALUES (?, ?, ?, ?)",
        params![9_u32, 2.0_f64, "nine".to_owned(), Some(vec![9_u8])],
    )
    .expect("unnumbered parameters");
    let first: (i64, f64, String, Vec<u8>) = conn
        .query_row(
            "SELECT i, r, s, b FROM t WHERE i = ?1",
            params![7_i64],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .expect("row");
    assert_eq!(first, (7, 0.5, "seven ✓".to_owned(), blob));
    let texts: Vec<Option<String>> = conn
        .query_map("SELECT s FROM t ORDER BY i IS NULL, i", params![], |row| {
            row.get(0)
        })
        .expect("rows");
    assert_eq!(texts, [Some("seven ✓".into()), Some("nine".into()), None]);
    let mut statement = conn
        .prepare_cached("SELECT i FROM t WHERE s = ?1")
        .expect("prepare");
    assert!(statement.exists(params!["nine"]).expect("exists"));
    assert!(!statement.exists(params!["ten"]).expect("exists"));
    let mut rows = statement.query(params!["nine"]).expect("query");
    let mut seen = Vec::new();
    while let Some(row) = rows.next().expect("next") {
        seen.push(row.get::<u32>(0).expect("u32"));
    }
    assert_eq!(seen, [9]);
    let none = conn
        .query_row("SELECT i FROM t WHERE i = ?1", params![100_i64], |row| {
            row.get::<i64>(0)
        })
        .optional()
        .expect("optional");
    assert_eq!(none, None);
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM t", params![], |row| row.get(0))
        .expect("count");
    assert_eq!(count, 3);
    let wrong = conn.query_row("SELECT s FROM t WHERE i = 7", params![], |row| {
        row.get::<i64>(0)
    });
    assert!(matches!(wrong, Err(Error::Conversion(_))), "{wrong:?}");
    // Parameters as rusqlite takes them too: an array of one type.
    let by_array: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM t WHERE s = ?1 OR s = ?2",
            ["nine", "seven ✓"],
            |row| row.get(0),
        )
        .expect("array parameters");
    assert_eq!(by_array, 2);
    let none: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM t WHERE i IS NULL",
            [] as [i64; 0],
            |row| row.get(0),
        )
        .expect("no parameters");
    assert_eq!(none, 1);
    let changed = conn
        .execute("UPDATE t SET r = r + 1 WHERE r IS NOT NULL", params![])
        .expect("update");
    assert_eq!(changed, 2);
}

#[test]
fn the_seam_on_sqlite() {
    let raw = rusqlite::Connection::open_in_memory().expect("sqlite");
    let conn = Connection::sqlite(&raw);
    conn.execute_batch("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB)")
        .expect("table");
    exercise(&conn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seam_on_postgresql() {
    let cluster = Cluster::start();
    let pool = postgres::connect(&cluster.url("gavel"), 8)
        .await
        .expect("connect");
    let handle = tokio::runtime::Handle::current();

    // The same statements, in one write session, committed.
    let (p, h) = (pool.clone(), handle.clone());
    tokio::task::spawn_blocking(move || {
        let session = Session::write(&p, h).expect("write session");
        let conn = Connection::postgres(&session);
        conn.execute_batch("CREATE TABLE t (i BIGINT, r DOUBLE PRECISION, s TEXT, b BYTEA)")
            .expect("table");
        exercise(&conn);
        session.commit().expect("commit");
    })
    .await
    .expect("join");

    // A read session sees the commit and cannot write.
    let (p, h) = (pool.clone(), handle.clone());
    tokio::task::spawn_blocking(move || {
        let session = Session::read(&p, h).expect("read session");
        let conn = Connection::postgres(&session);
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", params![], |row| row.get(0))
            .expect("count");
        assert_eq!(count, 3);
        let refused = conn.execute("DELETE FROM t", params![]);
        assert!(refused.is_err(), "a read session wrote");
    })
    .await
    .expect("join");

    // Two writers: the second waits for the first's commit, then sees it.
    let (p, h) = (pool.clone(), handle.clone());
    // The second starts once the first holds the write lock, however busy
    // the machine (a sleep alone let the second win on a loaded one).
    let (holding, held) = tokio::sync::oneshot::channel();
    let first = tokio::task::spawn_blocking(move || {
        let session = Session::write(&p, h).expect("first writer");
        let _ = holding.send(());
        let conn = Connection::postgres(&session);
        std::thread::sleep(Duration::from_millis(400));
        conn.execute("INSERT INTO t (i) VALUES (?1)", params![1000_i64])
            .expect("insert");
        session.commit().expect("commit");
    });
    held.await.expect("the first writer holds the lock");
    let (p, h) = (pool.clone(), handle.clone());
    let second = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let session = Session::write(&p, h).expect("second writer");
        let waited = started.elapsed();
        let conn = Connection::postgres(&session);
        let seen: i64 = conn
            .query_row("SELECT COUNT(*) FROM t WHERE i = 1000", params![], |row| {
                row.get(0)
            })
            .expect("count");
        session.rollback().expect("rollback");
        (waited, seen)
    });
    first.await.expect("join");
    let (waited, seen) = second.await.expect("join");
    assert_eq!(seen, 1, "the second writer saw the first's commit");
    assert!(
        waited >= Duration::from_millis(150),
        "the second writer did not wait for the lock ({waited:?})"
    );

    // The database goes away: unavailable, not a wrong request; and back.
    cluster.stop();
    let (p, h) = (pool.clone(), handle.clone());
    let away = tokio::task::spawn_blocking(move || {
        Session::read(&p, h).and_then(|session| {
            Connection::postgres(&session).query_row("SELECT 1", params![], |row| row.get::<i64>(0))
        })
    })
    .await
    .expect("join");
    match away {
        Err(err) => assert!(err.is_unavailable(), "{err:?}"),
        Ok(_) => panic!("a stopped database answered"),
    }
    cluster.restart();
    let (p, h) = (pool.clone(), handle.clone());
    let back = tokio::task::spawn_blocking(move || {
        let session = Session::read(&p, h)?;
        Connection::postgres(&session)
            .query_row("SELECT COUNT(*) FROM t", params![], |row| row.get::<i64>(0))
    })
    .await
    .expect("join")
    .expect("answers again after the restart");
    assert_eq!(back, 4);

    // A password never shows in what Gavel prints of the URL.
    let shown = postgres::redacted(&cluster.url("gavel"));
    assert!(!shown.contains(common::postgres::PASSWORD), "{shown}");
    assert!(shown.contains("***"), "{shown}");
}

/// Whether the session's own connection is encrypted, as the server sees it.
async fn encrypted(url: String) -> Result<bool, Error> {
    let pool = postgres::connect(&url, 1).await?;
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let session = Session::read(&pool, handle)?;
        Connection::postgres(&session).query_row(
            "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            params![],
            |row| Ok(row.get::<i64>(0)? == 1),
        )
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_when_the_url_asks_for_it() {
    let cluster = Cluster::start_with_tls();
    let url = cluster.url("gavel");
    assert!(
        !encrypted(format!("{url}?sslmode=disable"))
            .await
            .expect("plain")
    );
    assert!(
        encrypted(format!("{url}?sslmode=require"))
            .await
            .expect("require")
    );
    // Verifying the server: refused without the root that signed its
    // certificate, accepted with it.
    let unverified = encrypted(format!("{url}?sslmode=verify-full")).await;
    assert!(
        unverified.is_err(),
        "a certificate no root vouches for was accepted"
    );
    let root = cluster.root_certificate();
    assert!(
        encrypted(format!(
            "{url}?sslmode=verify-full&sslrootcert={}",
            root.display()
        ))
        .await
        .expect("verify-full with its root")
    );

    // Asked for TLS, a server without it is refused, not used in the clear.
    let plain = Cluster::start();
    let refused = encrypted(format!("{}?sslmode=require", plain.url("gavel"))).await;
    assert!(refused.is_err(), "sslmode=require fell back to plain text");
}
