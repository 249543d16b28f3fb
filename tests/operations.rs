//! Running `gavel serve` for an organisation: probes for the orchestrator,
//! backups taken while it serves and restored (a rollback every witnessing
//! client notices), and a shell that knows the commands.

mod common;

use std::path::Path;

use common::gavel;
use common::server::Server;
use predicates::prelude::*;

const OWNER: &str = "owner@example.com";

fn get(url: &str) -> (u16, serde_json::Value) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let answer = reqwest::get(url).await.expect("GET");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or_default())
    })
}

#[test]
fn the_probes_say_whether_the_server_can_serve_and_why_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("probes.db");
    gavel(&db).args(["store", "init"]).assert().success();
    let server = Server::start(&db);
    let base = server.url.trim_end_matches('/').to_owned();
    let (status, body) = get(&format!("{base}/healthz"));
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = get(&format!("{base}/readyz"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["checks"]["store"], "ok");

    // A newer Gavel migrated the store past this build: not ready, and why.
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.pragma_update(None, "user_version", 9_999)
        .expect("bump");
    drop(conn);
    let (status, body) = get(&format!("{base}/readyz"));
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert!(
        body["checks"]["store"]
            .as_str()
            .unwrap_or_default()
            .contains("9999"),
        "{body}"
    );
    // Alive all the same.
    assert_eq!(get(&format!("{base}/healthz")).0, 200);
}

fn request(db: &Path, dir: &Path, agent: &str) {
    let manifest = dir.join(format!("{agent}.json"));
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": agent, "name": agent, "team": "Operations", "owner": OWNER,
            "category": "operations", "data_classification": "internal",
            "has_external_tools": false, "risk_tier": "medium", "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    gavel(db)
        .args(["--user", OWNER, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
}

#[test]
fn a_backup_taken_while_serving_restores_and_witnessing_clients_notice_the_rollback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("live.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(&db, &[(OWNER, "")]);
    request(&db, dir.path(), "agt-before");
    let token = common::service_token(&db, "watcher@example.com");
    let mut server = Server::start(&db);
    // A restart keeps the address its clients know.
    let url = server.url.clone();
    let witness = dir.path().join("witness");
    let client = |args: &[&str]| {
        let mut command = gavel(&db);
        command
            .env("GAVEL_TOKEN", &token)
            .env("GAVEL_WITNESS_DIR", &witness)
            .args(["--url", &url, "--config", "/dev/null"])
            .args(args);
        command
    };
    client(&["dashboard", "--json"]).assert().success();

    // Backed up while the server serves.
    let backup = dir.path().join("backups/live-1.db");
    gavel(&db)
        .args(["store", "backup", "--to"])
        .arg(&backup)
        .assert()
        .success()
        .stdout(predicate::str::contains("quick_check ok"));
    gavel(&db)
        .args(["store", "check"])
        .arg(&backup)
        .assert()
        .success();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join("backups/live-1.db.log-key");
        let mode = std::fs::metadata(&key)
            .expect("the key beside it")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    gavel(&db)
        .args(["store", "backup", "--to"])
        .arg(&backup)
        .assert()
        .failure()
        .stderr(predicate::str::contains("never overwrites"));

    // More is decided, and the client witnesses it.
    request(&db, dir.path(), "agt-after");
    client(&["dashboard", "--json"]).assert().success();

    // Not over a store a server holds, nor over an existing one unasked.
    let restore = |force: bool| {
        let mut command = gavel(&db);
        command
            .args(["store", "restore", "--from"])
            .arg(&backup)
            .arg("--to")
            .arg(&db);
        if force {
            command.arg("--force");
        }
        command.assert()
    };
    restore(true)
        .failure()
        .stderr(predicate::str::contains("a gavel serve holds"));
    server.stop();
    restore(false)
        .failure()
        .stderr(predicate::str::contains("--force"));
    restore(true).success();
    server.restart();

    // The rollback is visible: the restored log is shorter than the one
    // this client witnessed.
    client(&["dashboard", "--json"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("WITNESS WARNING"))
        .stderr(predicate::str::contains("shrank"));
    // The store is the backup's: what came after is gone.
    let conn = rusqlite::Connection::open(&db).expect("open");
    let count = |agent: &str| -> i64 {
        conn.query_row(
            "SELECT COUNT(*) FROM deployments WHERE agent_id = ?1",
            [agent],
            |row| row.get(0),
        )
        .expect("count")
    };
    assert_eq!((count("agt-before"), count("agt-after")), (1, 0));
}

#[test]
fn the_shell_completes_the_commands_and_each_has_its_manual_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("unused.db");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        gavel(&db)
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("attest"));
    }
    let pages = dir.path().join("man");
    gavel(&db)
        .args(["man", "--out"])
        .arg(&pages)
        .assert()
        .success();
    let page = std::fs::read_to_string(pages.join("gavel-attest-verify.1")).expect("a page");
    assert!(page.contains(".TH") && page.contains("subject"), "{page}");
    assert!(pages.join("gavel.1").exists());
    assert!(pages.join("gavel-store-backup.1").exists());
}

#[test]
fn logs_are_json_lines_naming_each_request_and_never_a_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("logs.db");
    gavel(&db).args(["store", "init"]).assert().success();
    let first = common::service_token(&db, "deployer@example.com");
    let rotated = gavel(&db)
        .args(["users", "token", "deployer@example.com", "--rotate"])
        .output()
        .expect("rotate");
    let token = String::from_utf8_lossy(&rotated.stdout)
        .lines()
        .find(|line| line.starts_with("gvl_"))
        .expect("the new token")
        .to_owned();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").expect("config");
    let server = Server::start_with(
        &db,
        "127.0.0.1:0",
        &config,
        &[("RUST_LOG", "trace"), ("GAVEL_LOG_FORMAT", "json")],
    );
    let forged = format!("gvl_{}", "f".repeat(40));
    // The current token works; the rotated one and a forged one are
    // refused: all three reach the server, none reaches its log.
    for (secret, works) in [(&token, true), (&first, false), (&forged, false)] {
        let asked = gavel(&db)
            .env("GAVEL_TOKEN", secret)
            .env("GAVEL_WITNESS_DIR", dir.path().join("witness"))
            .args([
                "--url",
                &server.url,
                "--config",
                "/dev/null",
                "attest",
                "key",
            ])
            .assert();
        if works {
            asked.success();
        } else {
            asked.failure();
        }
    }
    let base = server.url.trim_end_matches('/').to_owned();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let echoed = runtime.block_on(async {
        let answer = reqwest::Client::new()
            .get(format!("{base}/v1/me"))
            .bearer_auth(&token)
            .header("x-request-id", "drill-42")
            .send()
            .await
            .expect("GET /v1/me");
        answer
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    });
    assert_eq!(echoed.as_deref(), Some("drill-42"), "the id comes back");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = server.log();
    for secret in [&token, &first, &forged] {
        assert!(!log.contains(secret.as_str()), "a token is in the log");
    }
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let answered = lines
        .iter()
        .find(|line| {
            line["span"]["request_id"] == "drill-42"
                && line["fields"]["message"] == "finished processing request"
        })
        .unwrap_or_else(|| panic!("no line for the request: {log}"));
    assert_eq!(answered["span"]["route"], "/v1/me", "{answered}");
    assert_eq!(
        answered["span"]["user"], "deployer@example.com",
        "{answered}"
    );
    assert!(answered["fields"]["status"].is_number(), "{answered}");
    assert!(answered["fields"]["latency"].is_string(), "{answered}");
}
