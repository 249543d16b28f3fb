//! Provisioning with SCIM 2.0: `gavel serve`'s `/scim/v2` checked by
//! scim2-tester (PyPI, the reference checker of RFC 7643/7644 servers),
//! and what deactivating or deleting a person does in Gavel, at once.

mod common;

use std::path::Path;
use std::process::Command;

use common::gavel;
use common::server::Server;
use serde_json::{Value, json};

fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(work)
}

/// A new store at `db`, and its directory's token.
fn directory_token(db: &Path) -> String {
    gavel(db).args(["store", "init"]).assert().success();
    let rotated = gavel(db)
        .args(["scim", "token", "--rotate"])
        .assert()
        .success();
    let token = String::from_utf8_lossy(&rotated.get_output().stdout)
        .trim()
        .to_owned();
    assert!(token.starts_with("gvl_"), "{token}");
    token
}

/// A store whose directory has a token, and a server taking SCIM on it.
struct Directory {
    server: Server,
    token: String,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Directory {
    fn start() -> Directory {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("scim.db");
        let token = directory_token(&db);
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "[scim]\n").expect("config");
        let server = Server::start_with_config(&db, &config);
        Directory {
            server,
            token,
            db,
            _dir: dir,
        }
    }

    fn base(&self) -> String {
        format!("{}/scim/v2", self.server.url.trim_end_matches('/'))
    }

    /// A SCIM call as the directory makes it: (status, body).
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        request_id: &str,
    ) -> (u16, Value) {
        block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut request = reqwest::Client::new()
                .request(method, format!("{}{path}", self.base()))
                .bearer_auth(&self.token)
                .header("x-request-id", request_id);
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/scim+json")
                    .body(body.to_string());
            }
            let answer = request.send().await.expect("send");
            let status = answer.status().as_u16();
            let text = answer.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    /// Provisions a person: their SCIM id.
    fn provision(&self, user_name: &str, email: &str) -> String {
        self.provision_as(user_name, &format!("ext-{user_name}"), email)
    }

    /// Provisions a person the provider knows by `external_id`.
    fn provision_as(&self, user_name: &str, external_id: &str, email: &str) -> String {
        let (status, body) = self.call(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name, "externalId": external_id,
                "name": { "givenName": user_name, "familyName": "Example" },
                "emails": [{ "value": email, "type": "work", "primary": true }],
                "active": true,
            })),
            &format!("req-provision-{user_name}"),
        );
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    fn store(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db).expect("open store")
    }
}

/// `GET /v1/me` with a person's token: the status.
fn me(server: &Server, token: &str) -> u16 {
    block_on(async {
        reqwest::Client::new()
            .get(format!("{}/v1/me", server.url.trim_end_matches('/')))
            .bearer_auth(token)
            .send()
            .await
            .expect("send")
            .status()
            .as_u16()
    })
}

/// A high-risk agent's manifest (its workflow has every step, the ethics
/// review's included), owned by the requester.
fn high_risk_manifest(dir: &Path, agent: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{agent}.json"));
    std::fs::write(
        &path,
        json!({
            "agent_id": agent, "name": agent, "team": "Operations", "owner": common::REQUESTER,
            "category": "operations", "data_classification": "internal",
            "has_external_tools": false, "risk_tier": "high", "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest");
    path
}

fn token_of(db: &Path, email: &str) -> String {
    let rotated = gavel(db)
        .args(["users", "token", email, "--rotate"])
        .assert()
        .success();
    String::from_utf8_lossy(&rotated.get_output().stdout)
        .trim()
        .to_owned()
}

#[test]
fn scim2_testers_checks_pass_against_gavel_serve() {
    let directory = Directory::start();
    let python = common::notify::python();
    let output = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/reference/scim_check.py"
        ))
        .arg(directory.base())
        .arg(&directory.token)
        .output()
        .expect("run scim2-tester");
    assert!(
        output.status.success(),
        "scim2-tester did not run: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a result line"))
        .collect();
    let failed: Vec<&Value> = results
        .iter()
        .filter(|result| {
            !matches!(
                result["status"].as_str(),
                Some("SUCCESS" | "COMPLIANT" | "ACCEPTABLE")
            )
        })
        .collect();
    assert!(failed.is_empty(), "checks that did not pass: {failed:#?}");
    // Every family of checks ran, on both resource types.
    let succeeded = results.len();
    assert!(succeeded >= 60, "only {succeeded} checks ran");
    for title in [
        "check_replace_attribute",
        "object_query_with_attributes",
        "random_url",
    ] {
        assert!(
            results
                .iter()
                .any(|result| result["title"].as_str() == Some(title)),
            "{title} never ran: {results:#?}"
        );
    }
    for kind in ["User", "Group"] {
        assert!(results.iter().any(|result| result["resource_type"] == kind));
    }
}

#[test]
fn without_the_directorys_token_scim_answers_nothing_but_401() {
    let directory = Directory::start();
    for token in [None, Some("gvl_not_the_directory"), Some("")] {
        let status = block_on(async {
            let mut request = reqwest::Client::new().get(format!("{}/Users", directory.base()));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.expect("send").status().as_u16()
        });
        assert_eq!(status, 401);
    }
    // A person's own token is not the directory's.
    common::add_users(&directory.db, &[("ada@example.com", "compliance_officer")]);
    let person = token_of(&directory.db, "ada@example.com");
    let status = block_on(async {
        reqwest::Client::new()
            .get(format!("{}/Users", directory.base()))
            .bearer_auth(&person)
            .send()
            .await
            .expect("send")
            .status()
            .as_u16()
    });
    assert_eq!(status, 401);
    // Filters Gavel cannot answer from an index are refused, not scanned.
    let (status, body) = directory.call("GET", "/Users?filter=userName%20co%20%22a%22", None, "r");
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );
}

#[test]
fn deactivating_a_person_takes_them_out_of_gavel_at_once_and_deleting_them_for_good() {
    let directory = Directory::start();
    let db = directory.db.clone();
    let (ada, bob, carol) = ("ada@example.com", "bob@example.com", "carol@example.com");
    let ada_id = directory.provision("ada", ada);
    directory.provision("bob", bob);
    directory.provision("carol", carol);
    // Their roles are an administrator's here (no group maps to any).
    for (email, roles) in [
        (ada, "technical_lead,ethics_reviewer"),
        (bob, "technical_lead"),
        (carol, "technical_lead"),
    ] {
        gavel(&db)
            .args(["users", "update", email, "--roles", roles])
            .assert()
            .success();
    }
    common::add_users(
        &db,
        &[
            ("cora@example.com", "compliance_officer"),
            (common::REQUESTER, ""),
        ],
    );
    let ada_token = token_of(&db, ada);
    assert_eq!(me(&directory.server, &ada_token), 200);

    // Ada delegates to Bob; Carol delegates to Ada.
    let until = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    for (from, to) in [(ada, bob), (carol, ada)] {
        gavel(&db)
            .args([
                "--user",
                from,
                "delegate",
                "--to",
                to,
                "--until",
                &until,
                "--role",
                "technical_lead",
            ])
            .assert()
            .success();
    }
    // A high-risk request: its ethics review is assigned to Ada.
    let manifest = high_risk_manifest(db.parent().expect("dir"), "agt-scim");
    let requested = gavel(&db)
        .args(["--user", common::REQUESTER, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
    let requested = String::from_utf8_lossy(&requested.get_output().stdout).to_string();
    let workflow = requested
        .split_whitespace()
        .find(|word| word.starts_with("wf-"))
        .expect("a workflow")
        .to_owned();
    gavel(&db)
        .args([
            "--user",
            "cora@example.com",
            "review",
            "assign",
            &workflow,
            "--to",
            ada,
        ])
        .assert()
        .success();
    let inbox = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row(
            "SELECT COUNT(*) FROM inbox WHERE user_email = ?1",
            [ada],
            |row| row.get(0),
        )
        .expect("inbox")
    };
    let before = inbox(&directory.store());
    assert!(before > 0, "Ada was told of her turn and her review");

    // The directory deactivates Ada.
    let (status, body) = directory.call(
        "PATCH",
        &format!("/Users/{ada_id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Replace", "path": "active", "value": "False" }],
        })),
        "req-deactivate-ada",
    );
    assert_eq!((status, &body["active"]), (200, &json!(false)), "{body}");

    // Her token is refused on the next request.
    assert_eq!(me(&directory.server, &ada_token), 401);
    let conn = directory.store();
    // Her delegations ended, both ways.
    let open: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM delegations WHERE (delegator = ?1 OR delegate = ?1) AND ended_at IS NULL",
            [ada],
            |row| row.get(0),
        )
        .expect("delegations");
    assert_eq!(open, 0);
    // Her review waits for a compliance officer to reassign it.
    let flagged: Option<i64> = conn
        .query_row(
            "SELECT reassign_since FROM reviews WHERE reviewer = ?1",
            [ada],
            |row| row.get(0),
        )
        .expect("review");
    assert!(flagged.is_some());
    // Each change is the directory's in the trail, with the request's id.
    let actions: Vec<String> = conn
        .prepare("SELECT action FROM trail WHERE actor = 'directory (SCIM)' AND details LIKE '%req-deactivate-ada%' ORDER BY seq")
        .expect("trail")
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("actions");
    for action in [
        "user_removed",
        "delegation_ended",
        "review_needs_reassignment",
        "changed",
    ] {
        assert!(
            actions.iter().any(|done| done == action),
            "{action} missing from {actions:?}"
        );
    }
    assert_eq!(
        actions
            .iter()
            .filter(|done| *done == "delegation_ended")
            .count(),
        2
    );
    // The compliance officers are told to reassign it, in their inbox.
    let cora = token_of(&db, "cora@example.com");
    let inbox_of = |token: &str| -> String {
        block_on(async {
            reqwest::Client::new()
                .get(format!(
                    "{}/v1/inbox",
                    directory.server.url.trim_end_matches('/')
                ))
                .bearer_auth(token)
                .send()
                .await
                .expect("inbox")
                .text()
                .await
                .expect("text")
        })
    };
    let told = inbox_of(&cora);
    assert!(
        told.contains("Your turn: reassign the ethics review of") && told.contains(ada),
        "{told}"
    );

    // Her inbox stops: another request waiting on technical leads is not hers.
    let manifest = high_risk_manifest(db.parent().expect("dir"), "agt-scim-2");
    gavel(&db)
        .args(["--user", common::REQUESTER, "deploy", "request"])
        .arg(&manifest)
        .assert()
        .success();
    assert_eq!(inbox(&directory.store()), before);
    // A compliance officer reassigns the review; the flag clears.
    gavel(&db)
        .args([
            "--user",
            "cora@example.com",
            "review",
            "assign",
            &workflow,
            "--to",
            bob,
        ])
        .assert()
        .failure(); // Bob holds no ethics role: refused, the flag stays.
    let flagged: i64 = directory
        .store()
        .query_row(
            "SELECT COUNT(*) FROM reviews WHERE reassign_since IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .expect("flags");
    assert_eq!(flagged, 1);
    gavel(&db)
        .args([
            "users",
            "update",
            bob,
            "--roles",
            "technical_lead,ethics_reviewer",
        ])
        .assert()
        .success();
    // Cora reassigns it in the console: her inbox says what to do, the
    // workflow says why, and A hands the review to Bob.
    let tmux = common::tmux::Tmux::start(
        &format!(
            "{} --db {} --user cora@example.com --config /dev/null; sleep 60",
            env!("CARGO_BIN_EXE_gavel"),
            db.display()
        ),
        120,
        40,
    );
    tmux.wait_for("Queue");
    tmux.send(&["i"]);
    tmux.wait_for("Your turn: reassign the ethics review of");
    tmux.send(&["Enter"]);
    tmux.wait_for("ada@example.com was removed by the directory: A reassigns the review");
    tmux.send(&["A"]);
    tmux.wait_for("Reassign the review (now ada@example.com)");
    tmux.send(&["Enter"]);
    tmux.wait_for("The ethics review is assigned to bob@example.com");
    drop(tmux);
    let flagged: i64 = directory
        .store()
        .query_row(
            "SELECT COUNT(*) FROM reviews WHERE reassign_since IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .expect("flags");
    assert_eq!(flagged, 0, "reassigned, the review is no longer flagged");
    let told = inbox_of(&cora);
    assert!(
        told.contains(&format!("done: reassigned to {bob}")),
        "{told}"
    );

    // Deleted, she can never come back through the directory.
    let (status, _) = directory.call(
        "DELETE",
        &format!("/Users/{ada_id}"),
        None,
        "req-delete-ada",
    );
    assert_eq!(status, 204);
    let (status, body) = directory.call(
        "POST",
        "/Users",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada-again", "emails": [{ "value": ada, "primary": true }],
        })),
        "req-recreate-ada",
    );
    assert_eq!(
        (status, body["scimType"].as_str()),
        (409, Some("uniqueness")),
        "{body}"
    );
    assert_eq!(me(&directory.server, &ada_token), 401);
    // Replaying the trail from scratch finds every directory change in it.
    gavel(&db)
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicates::str::contains("intact"));
}

#[test]
fn a_person_provisioned_with_their_entra_style_oid_signs_in_as_that_user_until_deactivated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("signed.db");
    let token = directory_token(&db);
    let provider = common::oidc::Provider::start(
        dir.path(),
        json!({ "ada": { "email": "ada@example.com", "name": "Ada", "groups": ["gavel-technical_lead"] } }),
        300,
    );
    // People are named by `oid`, not `sub`; groups map to roles.
    let config = dir.path().join("config.toml");
    let oidc = provider.server_config().replacen(
        "[auth.oidc]\n",
        "[auth.oidc]\nsubject_claim = \"oid\"\n",
        1,
    );
    std::fs::write(&config, format!("{oidc}\n[scim]\n")).expect("config");
    let server = Server::start_with_config(&db, &config);
    let directory = Directory {
        server,
        token,
        db: db.clone(),
        _dir: tempfile::tempdir().expect("tempdir"),
    };
    let ada_id = directory.provision_as("ada", "oid-ada", "ada@example.com");
    let roles_of = |email: &str| -> String {
        directory
            .store()
            .query_row("SELECT roles FROM users WHERE email = ?1", [email], |row| {
                row.get(0)
            })
            .expect("roles")
    };
    // Her directory group gives her the ethics reviewer's role at once.
    let (status, body) = directory.call(
        "POST",
        "/Groups",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": common::oidc::group_of("ethics_reviewer"),
            "members": [{ "value": ada_id }],
        })),
        "req-group",
    );
    assert_eq!(status, 201, "{body}");
    let roles = roles_of("ada@example.com");
    assert!(roles.contains("ethics_reviewer"), "{roles}");
    let group_id = body["id"].as_str().expect("group id").to_owned();
    // Bob joins the group and gains the role; Ada leaves it and loses it.
    let bob_id = directory.provision_as("bob", "oid-bob", "bob@example.com");
    let patch_members = |operation: Value| {
        directory.call(
            "PATCH",
            &format!("/Groups/{group_id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [operation],
            })),
            "req-members",
        )
    };
    let (status, _) =
        patch_members(json!({ "op": "add", "path": "members", "value": [{ "value": bob_id }] }));
    assert_eq!(status, 200);
    assert!(roles_of("bob@example.com").contains("ethics_reviewer"));
    let (status, _) =
        patch_members(json!({ "op": "remove", "path": format!("members[value eq \"{ada_id}\"]") }));
    assert_eq!(status, 200);
    assert!(!roles_of("ada@example.com").contains("ethics_reviewer"));
    assert!(roles_of("bob@example.com").contains("ethics_reviewer"));

    // She signs in: the provider's `oid` finds the user the directory made.
    let session = block_on(provider.sign_in(&directory.server.url, "ada"));
    let who = block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{}/v1/me",
                directory.server.url.trim_end_matches('/')
            ))
            .bearer_auth(&session.access_token)
            .send()
            .await
            .expect("me")
            .json::<Value>()
            .await
            .expect("json")
    });
    assert_eq!(who["email"], "ada@example.com", "{who}");
    let people: i64 = directory
        .store()
        .query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))
        .expect("users");
    assert_eq!(people, 2, "Ada and Bob, not a second user for her sign-in");

    // Deactivated: the same access token, still unexpired, is refused.
    let (status, _) = directory.call(
        "PATCH",
        &format!("/Users/{ada_id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "value": { "active": false } }],
        })),
        "req-off",
    );
    assert_eq!(status, 200);
    assert_eq!(me(&directory.server, &session.access_token), 401);
}
