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
                    [],
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
    run(common::gavel(&db)
        .args([
            "--user", &officer, "evidence", "export", "--agent", &agent, "--out",
        ])
        .arg(&out));
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
