//! Notifications end to end: a real `gavel serve` delivering to a real SMTP
//! server (`aiosmtpd`) and to a webhook receiver that checks signatures with
//! the Standard Webhooks reference verifier; the next approvers told, the
//! requester never; nothing lost when the SMTP server is away or the
//! server is killed mid-delivery.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use common::notify::{SmtpSink, WebhookReceiver, free_port};
use common::server::Server;

const SECRET_ENV: &str = "GAVEL_TEST_WEBHOOK_SECRET";

fn secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(b"gavel-test-webhook-secret-32-byt")
    )
}

/// A store with a requester, two technical leads (one removed later), a
/// data steward; each user's token.
struct People {
    db: PathBuf,
    tokens: std::collections::HashMap<&'static str, String>,
}

fn people(dir: &Path) -> People {
    let db = dir.join("served.db");
    let mut tokens = std::collections::HashMap::new();
    for (email, roles, teams) in [
        ("dana@example.com", "technical_lead", "People"),
        ("lee@example.com", "technical_lead", ""),
        ("lou@example.com", "technical_lead", ""),
        ("sam@example.com", "data_steward", ""),
    ] {
        let mut command = common::gavel(&db);
        command.args(["users", "add", email, "--roles", roles]);
        if !teams.is_empty() {
            command.args(["--teams", teams]);
        }
        let output = command.output().expect("users add");
        assert!(output.status.success(), "{output:?}");
        tokens.insert(
            email,
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        );
    }
    common::gavel(&db)
        .args(["users", "remove", "lou@example.com"])
        .assert()
        .success();
    People { db, tokens }
}

fn config(dir: &Path, smtp_port: u16, webhooks: Option<&str>, extra: &str) -> PathBuf {
    let path = dir.join("server.toml");
    let mut text = format!(
        "sla_days = 3\n[notify]\nsmtp_url = \"smtp://127.0.0.1:{smtp_port}\"\nfrom = \"Gavel <gavel@example.com>\"\nclaim_seconds = 2\n{extra}\n"
    );
    if let Some(url) = webhooks {
        text.push_str(&format!(
            "[[notify.webhook]]\nurl = \"{url}/hooks\"\nsecret_env = \"{SECRET_ENV}\"\n\n[[notify.webhook]]\nurl = \"{url}/chat/slack\"\nformat = \"slack\"\nevents = [\"workflow.approved\"]\n"
        ));
    }
    std::fs::write(&path, text).expect("config");
    path
}

/// The CLI over HTTP as one of the people.
fn as_person(server: &Server, token: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gavel"));
    command
        .args(["--url", &server.url])
        .env("GAVEL_TOKEN", token)
        .env("GAVEL_CONFIG", "/dev/null")
        .env("GAVEL_WITNESS_DIR", server.db.with_extension("witness"))
        .env_remove("GAVEL_DB")
        .env_remove("GAVEL_USER");
    command
}

fn run_ok(mut command: Command) -> String {
    let output = command.output().expect("run gavel");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Dana's agent of team People reading confidential data, as a manifest
/// file in `dir`.
fn support_manifest(dir: &Path) -> PathBuf {
    let manifest = dir.join("support.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "agent_id": "agt-support", "name": "Support", "team": "People", "owner": "dana@example.com",
            "category": "customer_service", "data_classification": "confidential",
            "has_external_tools": false, "risk_tier": "low", "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    manifest
}

/// Dana requests an agent of team People reading confidential data: two
/// workflows open, a technical lead then a data steward (PII access), and a
/// technical lead alone (its risk tier). Their ids.
fn request(server: &Server, people: &People, dir: &Path) -> (String, String) {
    let manifest = support_manifest(dir);
    let mut command = as_person(server, &people.tokens["dana@example.com"]);
    command.args(["deploy", "request", "--json"]).arg(&manifest);
    let answer: serde_json::Value = serde_json::from_str(&run_ok(command)).expect("json");
    let id = |index: usize| {
        answer["workflow_ids"][index]
            .as_str()
            .expect("a workflow")
            .to_owned()
    };
    (id(0), id(1))
}

fn approve(server: &Server, people: &People, who: &str, workflow: &str) {
    let mut command = as_person(server, &people.tokens[who]);
    command.args(["approve", workflow, "--comment", "fine"]);
    run_ok(command);
}

#[test]
fn the_next_approvers_are_emailed_webhooks_are_signed_and_the_requester_gets_no_email() {
    let dir = tempfile::tempdir().expect("tempdir");
    let people = people(dir.path());
    let smtp = SmtpSink::start(dir.path(), free_port(), None);
    let hooks = WebhookReceiver::start(dir.path(), &secret());
    let config = config(dir.path(), smtp.port, Some(&hooks.url), "");
    let server = Server::start_with(
        &people.db,
        "127.0.0.1:0",
        &config,
        &[(SECRET_ENV, &secret())],
    );

    let (workflow, risk) = request(&server, &people, dir.path());
    let first = smtp.wait_for(2);
    assert!(
        first
            .iter()
            .all(|m| m["to"] == serde_json::json!(["lee@example.com"])),
        "{first:#?}"
    );
    let opened = first
        .iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .unwrap_or_default()
                .ends_with(&workflow)
        })
        .expect("the PII workflow's message");
    let subject = opened["subject"].as_str().unwrap_or_default();
    assert_eq!(
        subject,
        format!(
            "Approval waiting: step 1 of 2 (technical lead) for Support (agt-support), {workflow}"
        )
    );
    let text = opened["text"].as_str().unwrap_or_default();
    for needle in [
        "Requested by: dana@example.com.",
        "SLA: 3 days",
        &format!("gavel approve {workflow}"),
        "press a to approve",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
    assert!(opened["html"].as_str().unwrap_or_default().contains("<p>"));
    assert!(
        opened["message_id"]
            .as_str()
            .unwrap_or_default()
            .ends_with("@example.com>"),
        "{opened:#?}"
    );

    approve(&server, &people, "lee@example.com", &workflow);
    let next = smtp.wait_for(3);
    assert_eq!(
        next[2]["to"],
        serde_json::json!(["sam@example.com"]),
        "{next:#?}"
    );
    assert!(
        next[2]["subject"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Approval waiting: step 2 of 2 (data steward)")
    );
    approve(&server, &people, "lee@example.com", &risk);
    approve(&server, &people, "sam@example.com", &workflow);

    // Webhooks: every event, each verified by the reference verifier; the
    // Slack endpoint only what it subscribed to, as a Slack message.
    let records = hooks.wait_for("the approval's webhooks", |records| {
        records
            .iter()
            .filter(|r| r["path"] == "/chat/slack")
            .count()
            >= 2
            && records.iter().filter(|r| r["path"] == "/hooks").count() >= 7
    });
    // Deliveries go concurrently, so they may arrive in any order; the
    // event id orders them.
    let mut signed: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["path"] == "/hooks").collect();
    signed.sort_by_key(|r| r["body"]["event_id"].as_i64());
    assert!(signed.iter().all(|r| r["ok"] == true), "{signed:#?}");
    let of = |id: &str| -> Vec<&str> {
        signed
            .iter()
            .filter(|r| r["body"]["data"]["workflow_id"] == id)
            .filter_map(|r| r["body"]["type"].as_str())
            .collect()
    };
    assert_eq!(
        of(&workflow),
        [
            "workflow.opened",
            "step.decided",
            "step.decided",
            "workflow.approved"
        ]
    );
    assert_eq!(
        of(&risk),
        ["workflow.opened", "step.decided", "workflow.approved"]
    );
    let slack: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["path"] == "/chat/slack")
        .collect();
    assert_eq!(slack.len(), 2);
    assert!(
        slack[0]["body"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("approved"),
        "{slack:#?}"
    );

    // Nobody else was emailed: not Dana (the requester, a technical lead),
    // not Lou (removed).
    std::thread::sleep(std::time::Duration::from_millis(500));
    let all = smtp.messages();
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(
        all.iter()
            .all(|m| !m["to"].to_string().contains("dana") && !m["to"].to_string().contains("lou"))
    );

    // A delivery replayed later with a stale timestamp is refused by the
    // reference verifier, however well signed.
    let endpoint = gavel::notify::settings::Endpoint {
        url: format!("{}/hooks", hooks.url),
        format: gavel::notify::settings::WebhookFormat::Standard,
        key: Some(secret()),
        kinds: Vec::new(),
    };
    let event: gavel::backend::Event =
        serde_json::from_value(signed[0]["body"].clone()).expect("an event");
    let stale = chrono::Utc::now().timestamp() - 600;
    let (body, headers) =
        gavel::notify::webhook::request_parts(&endpoint, &event, "msg_replayed", stale)
            .expect("parts");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let status = runtime.block_on(async {
        let mut request = reqwest::Client::new().post(&endpoint.url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await.expect("post").status()
    });
    assert_eq!(status, 400);
    let refused = hooks.records();
    let replay = refused
        .iter()
        .find(|r| r["id"] == "msg_replayed")
        .expect("recorded");
    assert!(
        replay["error"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("timestamp"),
        "{replay:#?}"
    );
}

fn outbox(db: &Path, config: &Path) -> serde_json::Value {
    let output = common::gavel(db)
        .arg("--config")
        .arg(config)
        .args(["notify", "status", "--json"])
        .output()
        .expect("notify status");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("json")
}

fn wait_for_outbox(
    db: &Path,
    config: &Path,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = outbox(db, config);
        if check(&status) {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never {what}: {status:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn messages_wait_while_the_smtp_server_is_away_and_each_goes_once_it_is_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let people = people(dir.path());
    let smtp_port = free_port();
    let config = config(dir.path(), smtp_port, None, "");
    let server = Server::start_with(&people.db, "127.0.0.1:0", &config, &[]);
    request(&server, &people, dir.path());
    // Nothing listens: both tries fail and wait for their retry.
    let waiting = wait_for_outbox(&people.db, &config, "a failed attempt", |status| {
        status["pending"] == 2
            && status["undelivered"]
                .as_array()
                .is_some_and(|rows| rows.iter().all(|row| row["last_error"].is_string()))
    });
    assert_eq!(waiting["sent"], 0, "{waiting:#}");
    // The SMTP server comes back: the retries deliver each message once.
    let smtp = SmtpSink::start(dir.path(), smtp_port, None);
    let messages = smtp.wait_for(2);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(smtp.messages().len(), 2, "{messages:#?}");
    let ids: std::collections::HashSet<&str> = messages
        .iter()
        .filter_map(|m| m["message_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    drop(server);
}

#[test]
fn a_server_killed_mid_delivery_sends_the_message_after_restart_with_the_same_message_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let people = people(dir.path());
    // The SMTP server holds its answer 2 s after the data arrives.
    let smtp = SmtpSink::start(dir.path(), free_port(), Some(2.0));
    let config = config(dir.path(), smtp.port, None, "");
    let mut server = Server::start_with(&people.db, "127.0.0.1:0", &config, &[]);
    request(&server, &people, dir.path());
    let interrupted = smtp.wait_receiving();
    server.stop(); // SIGKILL, mid-conversation
    let mut again = Server::start_with(&people.db, "127.0.0.1:0", &config, &[]);
    // The interrupted delivery's lease (2 s) runs out and it goes again,
    // under the same Message-ID; the other goes too.
    let messages = smtp.wait_for(2);
    let mut counts = std::collections::HashMap::new();
    for message in &messages {
        *counts
            .entry(
                message["message_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 2, "every message delivered: {messages:#?}");
    assert!(counts.values().all(|count| *count <= 2), "{counts:?}");
    let tries = smtp.attempts();
    assert_eq!(
        tries.iter().filter(|id| **id == interrupted).count(),
        2,
        "the interrupted message was sent again with its Message-ID: {tries:?}"
    );
    let status = wait_for_outbox(&people.db, &config, "all sent", |status| {
        status["sent"] == 2
    });
    assert_eq!(status["pending"], 0);
    again.stop();
}

#[test]
fn the_embedded_store_delivers_with_notify_run_and_dead_letters_can_be_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let people = people(dir.path());
    let smtp_port = free_port();
    let config = config(dir.path(), smtp_port, None, "max_attempts = 1");
    let manifest = support_manifest(dir.path());
    common::gavel(&people.db)
        .args(["--user", "dana@example.com", "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
    let notify = |args: &[&str]| {
        let output = common::gavel(&people.db)
            .arg("--config")
            .arg(&config)
            .arg("notify")
            .args(args)
            .output()
            .expect("gavel notify");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // The SMTP server is away and one attempt is all this config allows.
    assert!(notify(&["run", "--once"]).contains("2 dead-lettered"));
    let status = outbox(&people.db, &config);
    assert_eq!(status["dead"], 2, "{status:#}");
    let listed = notify(&["status"]);
    assert!(
        listed.contains("dead") && listed.contains("last error"),
        "{listed}"
    );
    let smtp = SmtpSink::start(dir.path(), smtp_port, None);
    for row in status["undelivered"].as_array().expect("rows") {
        let id = row["delivery_id"].to_string();
        assert!(notify(&["retry", &id]).contains("goes again"));
    }
    assert!(notify(&["run", "--once"]).contains("delivered 2"));
    assert_eq!(smtp.wait_for(2).len(), 2);
    assert_eq!(outbox(&people.db, &config)["sent"], 2);
    // A test message goes through the same SMTP setup.
    assert!(notify(&["test", "--to", "ops@example.com"]).contains("sent a test message"));
    let all = smtp.wait_for(3);
    assert_eq!(all[2]["subject"], "Gavel test message");
}
