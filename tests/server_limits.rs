//! A real `gavel serve` under hostile clients: stalled headers, trickled
//! bodies, idle keep-alive connections and one address holding a thousand
//! connections must not keep the server from anyone else.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::server::Server;

/// The default header deadline (`Limits::default`) plus room for a busy machine.
const HEADER_DEADLINE_BOUND: Duration = Duration::from_secs(30);

/// Lets this process (and the server it starts) hold a few thousand sockets.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `limit`.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max.min(65_536);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    assert!(
        limit.rlim_cur >= 2_200,
        "this test needs 2,200 open files, the hard limit is {}",
        limit.rlim_cur
    );
}

fn address(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `bound` passes), and
/// returns what it sent.
fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + bound;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (received, false);
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buffer) {
            Ok(0) => return (received, true),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (received, false);
            }
            // A reset is the server closing too.
            Err(_) => return (received, true),
        }
    }
}

fn served_store() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("served.db");
    gavel::backend::local::LocalStore::open(&db).expect("store");
    (dir, db)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_stalled_connections_from_one_address_do_not_stop_another() {
    raise_open_files_limit();
    let (_dir, db) = served_store();
    let server = Server::start(&db);
    let target = address(&server);

    // 1,000 connections from 127.0.0.1, each sending half a request's
    // headers and then nothing.
    let opened = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..1_000 {
        let mut stream = TcpStream::connect(&target).expect("connect");
        // The server may already have turned this one away; that is fine.
        let _ = stream.write_all(b"GET /v1/openapi.json HTTP/1.1\r\nHost: gavel\r\nX-Stall: ");
        stalled.push(stream);
    }

    // Another client, from 127.0.0.2, is served while they stall.
    let client = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse().expect("address")))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let asked = Instant::now();
    let answer = client
        .get(format!("{}/v1/openapi.json", server.url))
        .send()
        .await
        .expect("the client on 127.0.0.2 is served");
    let other_client_waited = asked.elapsed();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(
        answer.text().await.expect("body").contains("\"openapi\""),
        "the answer is the document"
    );

    // The server turned all but 64 away at once with a JSON 503, and closed
    // the 64 it held once their headers were overdue.
    let checked = tokio::task::spawn_blocking(move || {
        let mut refused = 0;
        let mut held = Vec::new();
        for mut stream in stalled {
            let (received, closed) = read_until_closed(&mut stream, HEADER_DEADLINE_BOUND);
            assert!(
                closed,
                "a stalled connection was still open after {HEADER_DEADLINE_BOUND:?}"
            );
            let text = String::from_utf8_lossy(&received);
            if text.starts_with("HTTP/1.1 503") {
                assert!(text.contains("\"too_many_connections\""), "{text}");
                refused += 1;
            } else {
                held.push(opened.elapsed());
            }
            let _ = stream.shutdown(Shutdown::Both);
        }
        (refused, held)
    })
    .await
    .expect("reader");
    let (refused, held) = checked;
    assert_eq!(held.len(), 64, "one address holds at most 64 connections");
    assert_eq!(refused, 936);
    let longest = held.iter().max().copied().unwrap_or_default();
    eprintln!(
        "stalled: {refused} refused at once, {} held and closed by {longest:?} after opening; \
         the client on 127.0.0.2 waited {other_client_waited:?}",
        held.len()
    );
}

fn config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("config");
    path
}

#[test]
fn a_trickled_body_gets_408_with_the_json_error_body() {
    let (dir, db) = served_store();
    let config = config(dir.path(), "[server]\nrequest_timeout_seconds = 2\n");
    let server = Server::start_with_config(&db, &config);
    let mut stream = TcpStream::connect(address(&server)).expect("connect");
    stream
        .write_all(
            b"POST /v1/deployments HTTP/1.1\r\nHost: gavel\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"agent\"",
        )
        .expect("send");
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(20));
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{text}"
    );
    assert!(text.contains("\"error\""), "{text}");
    assert!(closed, "the connection is closed after the 408");
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let (dir, db) = served_store();
    let config = config(dir.path(), "[server]\nheader_timeout_seconds = 2\n");
    let server = Server::start_with_config(&db, &config);
    let mut stream = TcpStream::connect(address(&server)).expect("connect");
    stream
        .write_all(b"GET /v1/openapi.json HTTP/1.1\r\nHost: gavel\r\n\r\n")
        .expect("send");
    let started = Instant::now();
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(20));
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "answered first: {text}");
    assert!(closed, "the idle connection is closed after its deadline");
    eprintln!(
        "idle keep-alive connection closed after {:?}",
        started.elapsed()
    );
}

/// A body whose Content-Length is over the limit is refused before it is
/// read, with the API's JSON error body like every other error.
#[test]
fn a_body_over_the_limit_by_its_length_gets_413_with_the_json_error_body() {
    let (_dir, db) = served_store();
    let server = Server::start(&db);
    let mut stream = TcpStream::connect(address(&server)).expect("connect");
    stream
        .write_all(
            b"POST /v1/deployments/check HTTP/1.1\r\nHost: gavel\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n{",
        )
        .expect("send");
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(20));
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{text}"
    );
    assert!(text.contains("\"payload_too_large\""), "{text}");
}
