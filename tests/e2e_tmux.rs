//! The real binary in a real terminal (tmux): open the console on a seeded
//! store, approve an item with the keyboard, quit, and check that the
//! decision was stored and the terminal given back.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use gavel::backend::GovernanceBackend;

const DEMO_USER: &str = gavel::seed::DEMO_USER;

fn gavel() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gavel"))
}

/// Runs the console on `db`; when it exits, records its exit code and the
/// terminal settings (to check raw mode was undone) in `marker`.
fn console_script(db: &Path, marker: &Path) -> String {
    format!(
        "{} --db {} --user {DEMO_USER} --config /dev/null; echo \"exit=$?\" > {}; stty -a >> {}; echo GAVEL-DONE; sleep 60",
        gavel().display(),
        db.display(),
        marker.display(),
        marker.display()
    )
}

fn seed(db: &Path) {
    seed_with(db, "12");
}

/// A seeded store from this random seed (the same seed gives the same store).
fn seed_with(db: &Path, seed: &str) {
    let output = Command::new(gavel())
        .arg("--db")
        .arg(db)
        .args([
            "seed",
            "--workflows",
            "800",
            "--seed",
            seed,
            "--anchor",
            "2026-06-01",
        ])
        .output()
        .expect("seed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn approve_an_item_in_the_console_and_quit_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    seed(&db);
    let marker = dir.path().join("after.txt");
    let script = console_script(&db, &marker);
    let tmux = Tmux::start(&script, 150, 40);
    // The preview names the selected workflow once the first page is in.
    let screen = tmux.wait_for("wf-");
    let workflow_id = screen
        .split(|c: char| c.is_whitespace() || c == '│')
        .find(|word| word.starts_with("wf-"))
        .expect("the preview names the selected workflow")
        .to_owned();

    tmux.send(&["a"]);
    tmux.wait_for("You decide step");
    tmux.type_text("Reviewed in tmux");
    tmux.send(&["C-s"]);
    tmux.wait_for("Approved step 1");
    tmux.send(&["q"]);
    let after = tmux.wait_for("GAVEL-DONE");
    assert!(
        !after.contains("waiting on my roles"),
        "the alternate screen is gone:\n{after}"
    );

    let report = std::fs::read_to_string(&marker).expect("marker");
    assert!(report.starts_with("exit=0"), "{report}");
    assert!(
        report.contains(" icanon") && report.contains(" echo"),
        "raw mode was not undone:\n{report}"
    );

    let decided = common::step_decided_by(&db, &workflow_id, DEMO_USER);
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["comment"], "Reviewed in tmux");
}

/// The seeded store's version 3 waits for a second policy admin; the demo
/// user is one, and approves it from the Policies tab.
#[test]
fn a_policy_admin_approves_a_policy_set_in_the_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    seed(&db);
    let marker = dir.path().join("after.txt");
    let tmux = Tmux::start(&console_script(&db, &marker), 150, 40);
    tmux.wait_for("wf-");
    tmux.send(&["5"]);
    tmux.wait_for("1 proposal waits for your decision");
    tmux.send(&["v"]);
    tmux.wait_for("+ customer_confidential");
    tmux.send(&["a"]);
    tmux.wait_for("Approve policy set version 3");
    tmux.type_text("Reviewed with the data stewards");
    tmux.send(&["C-s"]);
    tmux.wait_for("Approved policy set version 3");
    tmux.wait_for("Policy set version 3 is active");
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");
    let report = std::fs::read_to_string(&marker).expect("marker");
    assert!(report.starts_with("exit=0"), "{report}");

    let listed = Command::new(gavel())
        .arg("--db")
        .arg(&db)
        .args(["policy", "list", "--json"])
        .output()
        .expect("list");
    let versions: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(versions[0]["version"], 3);
    assert_eq!(versions[0]["state"], "active");
    assert_eq!(versions[0]["decided_by"], DEMO_USER);
    assert_eq!(versions[0]["comment"], "Reviewed with the data stewards");
    assert_eq!(versions[1]["state"], "superseded");
}

#[test]
fn a_bad_theme_is_a_clear_error_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "theme = \"no-such-theme\"\n").expect("write");
    let created = Command::new(gavel())
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["store", "init"])
        .output()
        .expect("run");
    assert!(created.status.success());
    let output = Command::new(gavel())
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["--user", "a@example.com", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no theme named \"no-such-theme\""),
        "{stderr}"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("term.db");
    seed(&db);
    let marker = dir.path().join("after.txt");
    let script = console_script(&db, &marker);
    let tmux = Tmux::start(&script, 100, 30);
    tmux.wait_for("waiting on my roles");
    let shell = String::from_utf8_lossy(
        &tmux
            .cmd(&["list-panes", "-t", "e2e", "-F", "#{pane_pid}"])
            .stdout,
    )
    .trim()
    .to_owned();
    let pid = child_of(&shell).expect("the console's pid");
    // The shell's builtin kill: no procps needed.
    assert!(
        Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .expect("kill")
            .success()
    );
    tmux.wait_for("GAVEL-DONE");
    let report = std::fs::read_to_string(&marker).expect("marker");
    assert!(report.starts_with("exit=0"), "{report}");
    assert!(
        report.contains(" icanon") && report.contains(" echo"),
        "raw mode was not undone:\n{report}"
    );
}

/// A child process of `parent`, from /proc.
fn child_of(parent: &str) -> Option<String> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid = after.split_whitespace().nth(1)?;
            (ppid == parent).then(|| entry.file_name().to_string_lossy().into_owned())
        })
}

#[test]
fn fill_and_submit_a_review_then_approve_the_ethics_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("review.db");
    // A seed whose store has a review assigned to the demo user whose
    // workflow waits on it.
    seed_with(&db, "13");
    let (review_id, workflow_id): (String, String) = {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.query_row(
            "SELECT r.review_id, w.workflow_id FROM reviews r JOIN workflows w ON w.workflow_id = r.workflow_id
             WHERE r.reviewer = ?1 AND r.status = 'assigned' AND w.current_role = 'ethics_reviewer' AND w.requested_by <> ?1
             ORDER BY r.assigned_at DESC LIMIT 1",
            [DEMO_USER],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("a review waiting on the demo user")
    };
    let script = format!(
        "{} --db {} --user {DEMO_USER} --config /dev/null; echo GAVEL-DONE; sleep 60",
        gavel().display(),
        db.display()
    );
    let tmux = Tmux::start(&script, 150, 45);
    tmux.wait_for("waiting on my roles");
    tmux.send(&["2"]);
    let screen = tmux.wait_for(&review_id);
    let lines: Vec<&str> = screen.lines().collect();
    let header = lines
        .iter()
        .position(|line| line.contains("Workflow") && line.contains("Status"))
        .expect("the list header");
    let row = lines
        .iter()
        .position(|line| line.contains(&review_id))
        .expect("the review is listed");
    for _ in 0..(row - header - 1) {
        tmux.send(&["j"]);
    }
    tmux.send(&["Enter"]);
    tmux.wait_for("not started");
    tmux.send(&["Space", "Tab", "y", "Tab", "Space", "Tab", "4", "Tab"]);
    tmux.type_text("Reviewed end to end; risks are documented.");
    tmux.send(&["Tab", "Space", "C-s"]);
    tmux.wait_for("Submit this review?");
    tmux.send(&["C-s"]);
    tmux.wait_for("can now be approved");

    tmux.send(&["Escape"]);
    tmux.wait_for("Ethics reviews");
    tmux.send(&["1"]);
    tmux.wait_for("waiting on my roles");
    tmux.send(&["o", "o", "o"]);
    tmux.wait_for("as ethics reviewer");
    // Searching by the workflow id leaves exactly that row to decide.
    tmux.send(&["/"]);
    tmux.type_text(&workflow_id);
    tmux.send(&["Enter"]);
    tmux.wait_for("1 of 1");
    tmux.wait_for(&format!("{workflow_id} ·"));
    tmux.send(&["a"]);
    tmux.wait_for("You decide step");
    tmux.send(&["C-s"]);
    tmux.wait_for("Approved step");
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");

    let shown = Command::new(gavel())
        .arg("--db")
        .arg(&db)
        .args(["show", &workflow_id, "--json"])
        .output()
        .expect("show");
    let workflow: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    let ethics = workflow["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|step| step["role"] == "ethics_reviewer")
        .expect("ethics step");
    assert_eq!(ethics["status"], "approved", "{workflow}");
    assert_eq!(ethics["approver_email"], DEMO_USER);
    let exported = Command::new(gavel())
        .arg("--db")
        .arg(&db)
        .args(["review", "export", &review_id])
        .output()
        .expect("export");
    let markdown = String::from_utf8_lossy(&exported.stdout);
    assert!(
        markdown.contains("> Reviewed end to end; risks are documented."),
        "{markdown}"
    );
}

/// The text after `prefix` up to the next space or punctuation.
fn word_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let start = text.find(prefix)? + prefix.len();
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[test]
fn the_console_keeps_deciding_while_the_server_is_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("served.db");
    seed(&db);
    let added = Command::new(gavel())
        .arg("--db")
        .arg(&db)
        .args(["users", "token", DEMO_USER, "--rotate"])
        .output()
        .expect("users token");
    let token = String::from_utf8_lossy(&added.stdout)
        .split_whitespace()
        .find(|word| word.starts_with("gvl_"))
        .expect("a token")
        .to_owned();
    let mut server = common::server::Server::start(&db);
    let script = format!(
        "GAVEL_TOKEN={token} GAVEL_WITNESS_DIR={} {} --url {} --cache-dir {} --config /dev/null; echo GAVEL-DONE; sleep 60",
        dir.path().join("witness").display(),
        gavel().display(),
        server.url,
        dir.path().join("cache").display()
    );
    let tmux = Tmux::start(&script, 230, 40);
    tmux.wait_for("synced");
    tmux.wait_for("wf-");

    server.stop();
    let mut decided: Vec<String> = Vec::new();
    for _ in 0..3 {
        tmux.send(&["a"]);
        tmux.wait_for("You decide step");
        tmux.send(&["C-s"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        let id = loop {
            let screen = tmux.screen();
            if let Some(id) = screen
                .find("Approved step ")
                .and_then(|at| word_after(&screen[at..], " of "))
                .filter(|id| !decided.iter().any(|seen| seen == id))
            {
                break id.to_owned();
            }
            assert!(Instant::now() < deadline, "no new approval:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(tmux.screen().contains("Saved; pending sync."));
        decided.push(id);
    }
    // The sync loop has found the server gone; the status line says so.
    tmux.wait_for("offline since");
    tmux.wait_for("3 pending sync");

    server.restart();
    // The loop probes every 5 seconds while offline; `S` asks now.
    tmux.send(&["S"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let screen = tmux.screen();
        if screen.contains("synced")
            && !screen.contains("pending sync ·")
            && !screen.contains("3 pending")
        {
            break;
        }
        assert!(Instant::now() < deadline, "never synced:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");

    // On the server: each decision exactly once, in the order made.
    let store = gavel::backend::local::LocalStore::open(&db).expect("served store");
    let applied: Vec<String> = store
        .read(|conn| {
            let mut statement = conn.prepare(
                "SELECT entity_id FROM trail WHERE action = 'step_approved' AND actor = ?1 ORDER BY seq",
            )?;
            let rows = statement
                .query_map([DEMO_USER], |row| row.get(0))?
                .collect::<gavel::db::Result<Vec<String>>>()?;
            Ok(rows)
        })
        .expect("trail");
    assert_eq!(applied, decided);
}

/// The console's clock keeps running while the sync loop wakes it every few
/// seconds: an item requested just before the console opened ages from
/// "just now" to "1m" on screen, against a real server.
#[test]
fn the_clock_keeps_ticking_on_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("clock.db");
    seed(&db);
    let token = {
        let output = Command::new(gavel())
            .arg("--db")
            .arg(&db)
            .args(["users", "token", DEMO_USER, "--rotate"])
            .output()
            .expect("users token");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    {
        let store = gavel::backend::local::LocalStore::open(&db).expect("store");
        store
            .add_user("clock.owner@example.com", "Owner", &[])
            .expect("owner");
        let mut manifest = common::manifest("agt-clock-probe");
        manifest.agent.name = "Clock Probe".into();
        manifest.agent.owner = "clock.owner@example.com".into();
        manifest.agent.risk_tier = gavel::domain::RiskTier::Medium;
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime
            .block_on(
                gavel::backend::local::LocalBackend::new(
                    store,
                    Some("clock.owner@example.com".into()),
                )
                .request_deployment(&manifest),
            )
            .expect("request");
    }
    // Requested 50 seconds ago: still "just now" when the console opens
    // (within a second or two), "1m" ten seconds later, without the test
    // waiting a whole minute.
    let backdated = rusqlite::Connection::open(&db)
        .expect("store file")
        .execute(
            "UPDATE workflows SET waiting_since = waiting_since - 50000, created_at = created_at - 50000
             WHERE agent_id = 'agt-clock-probe'",
            [],
        )
        .expect("backdate");
    assert!(backdated > 0, "the probe's workflow is in the store");
    let server = common::server::Server::start(&db);
    let script = format!(
        "GAVEL_TOKEN={token} GAVEL_WITNESS_DIR={} {} --url {} --cache-dir {} --config /dev/null; echo GAVEL-DONE; sleep 60",
        dir.path().join("witness").display(),
        gavel().display(),
        server.url,
        dir.path().join("cache").display()
    );
    let tmux = Tmux::start(&script, 200, 30);
    tmux.wait_for("synced");
    tmux.send(&["/"]);
    tmux.type_text("Clock Probe");
    tmux.send(&["Enter"]);
    tmux.wait_for("matching \"Clock Probe\"");
    let row = |screen: &str| {
        screen
            .lines()
            .find(|line| line.contains("Clock Probe") && line.contains("technical lead"))
            .map(str::to_owned)
    };
    // The row arrives with the cache's first sync; reload until it shows.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        let screen = tmux.screen();
        if let Some(row) = row(&screen) {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the probe never showed:\n{screen}"
        );
        tmux.send(&["C-r"]);
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(first.contains("just now"), "{first}");
    // Ten seconds for the age to change, and up to one idle tick (30 s)
    // for the console to notice, while sync wakes it every 15 s.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let screen = tmux.screen();
        if row(&screen).is_some_and(|row| row.contains(" 1m") || row.contains(" 2m")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the age never moved on:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(server);
}

/// The console on a seeded `e2e.db`, started in the folder `folder` of a
/// new temp dir (it saves files where it was started), its exit status
/// written to `after.txt`.
fn console_saving_into(folder: &str, width: u16, height: u16) -> (tempfile::TempDir, Tmux) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    seed(&db);
    let marker = dir.path().join("after.txt");
    let saved = dir.path().join(folder);
    std::fs::create_dir(&saved).expect("dir");
    let script = format!("cd {} && {}", saved.display(), console_script(&db, &marker));
    let tmux = Tmux::start(&script, width, height);
    (dir, tmux)
}

/// The pack saved from the console checks out with the log's key.
fn assert_verifies(db: &Path, pack: &Path) {
    assert_checks_out(db, "evidence", pack);
}

/// `gavel WHAT verify FILE --key` with the store's log key succeeds.
fn assert_checks_out(db: &Path, what: &str, file: &Path) {
    let key = Command::new(gavel())
        .arg("--db")
        .arg(db)
        .args(["trail", "key"])
        .output()
        .expect("key");
    let key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
    let verified = Command::new(gavel())
        .args([what, "verify"])
        .arg(file)
        .args(["--key", &key])
        .output()
        .expect("verify");
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn a_compliance_officer_saves_evidence_packs_from_three_screens() {
    let (dir, tmux) = console_saving_into("packs", 200, 40);
    let (db, marker, packs) = (
        dir.path().join("e2e.db"),
        dir.path().join("after.txt"),
        dir.path().join("packs"),
    );
    let saved = |tmux: &Tmux| -> PathBuf {
        tmux.wait_for("save the evidence pack as: evidence-");
        tmux.send(&["Enter"]);
        let screen = tmux.wait_for("Saved ");
        let path = word_after(&screen, "Saved ").expect("the saved file");
        PathBuf::from(path)
    };

    // The Blocked tab: the selected deployment's agent and version.
    tmux.wait_for("wf-");
    tmux.send(&["4"]);
    tmux.wait_for("blocked");
    tmux.send(&["E"]);
    let blocked = saved(&tmux);
    assert!(blocked.starts_with(&packs), "{}", blocked.display());
    assert_verifies(&db, &blocked);

    // The Audits tab: the shown audit's agent and version.
    tmux.send(&["3"]);
    tmux.wait_for("tested");
    tmux.send(&["E"]);
    let audits = saved(&tmux);
    assert_verifies(&db, &audits);

    // The step view; the proposed name is edited.
    tmux.send(&["1"]);
    tmux.wait_for("wf-");
    tmux.send(&["Enter"]);
    tmux.wait_for("The whole deployment");
    tmux.send(&["E"]);
    tmux.wait_for("save the evidence pack as: evidence-");
    tmux.send(&["C-u"]);
    tmux.type_text("from-the-step-view.zip");
    tmux.send(&["Enter"]);
    tmux.wait_for("Saved ");
    assert_verifies(&db, &packs.join("from-the-step-view.zip"));

    // Saving over a file is refused, and nothing is replaced.
    let before = std::fs::read(packs.join("from-the-step-view.zip")).expect("pack");
    tmux.send(&["E"]);
    tmux.wait_for("save the evidence pack as: evidence-");
    tmux.send(&["C-u"]);
    tmux.type_text("from-the-step-view.zip");
    tmux.send(&["Enter"]);
    tmux.wait_for("that file exists already");
    assert_eq!(
        std::fs::read(packs.join("from-the-step-view.zip")).expect("pack"),
        before
    );
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");
    let report = std::fs::read_to_string(&marker).expect("marker");
    assert!(report.starts_with("exit=0"), "{report}");
}

/// Issue 43: `B` on the Blocked tab saves the board report: the last whole
/// quarter proposed, the file named (its extension picks the format), the
/// signed document verifying offline; an existing file is never replaced.
#[test]
fn a_compliance_officer_saves_the_board_report_from_the_blocked_tab() {
    let (dir, tmux) = console_saving_into("reports", 80, 24);
    let (db, reports) = (dir.path().join("e2e.db"), dir.path().join("reports"));
    tmux.wait_for("wf-");
    tmux.send(&["4"]);
    tmux.wait_for("blocked");
    tmux.send(&["B"]);
    tmux.wait_for("report from, to: 20");
    tmux.send(&["Enter"]);
    tmux.wait_for("save report as: governance-report-");
    tmux.send(&["C-u"]);
    tmux.type_text("quarter.html");
    tmux.send(&["Enter"]);
    tmux.wait_for("Saved quarter.html (HTML");
    let saved = reports.join("quarter.html");
    assert_checks_out(&db, "report", &saved);

    // The same name again is refused, and the file is left as it was.
    let before = std::fs::read(&saved).expect("report");
    tmux.send(&["B"]);
    tmux.wait_for("report from, to: 20");
    tmux.send(&["Enter"]);
    tmux.wait_for("save report as: governance-report-");
    tmux.send(&["C-u"]);
    tmux.type_text("quarter.html");
    tmux.send(&["Enter"]);
    tmux.wait_for("that file exists already");
    assert_eq!(std::fs::read(&saved).expect("report"), before);
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");
}

/// `gavel demo --db PATH` seeds there, and `E` in the demo saves an
/// evidence pack that verifies (the demo holds its store's log key); a
/// store of real work is never opened as a demo.
#[test]
fn the_demo_honours_db_and_saves_evidence_packs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo.db");
    let script = format!(
        "cd {} && {} demo --db {} --workflows 400 --config /dev/null; echo GAVEL-DONE; sleep 60",
        dir.path().display(),
        gavel().display(),
        db.display()
    );
    let tmux = Tmux::start(&script, 120, 40);
    tmux.wait_for("wf-");
    tmux.send(&["4"]);
    tmux.wait_for("Blocked now");
    tmux.send(&["E"]);
    tmux.wait_for("save the evidence pack as: evidence-");
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("Saved ");
    let pack = PathBuf::from(word_after(&screen, "Saved ").expect("the saved file"));
    assert!(pack.starts_with(dir.path()), "{}", pack.display());
    tmux.send(&["q"]);
    let after = tmux.wait_for("GAVEL-DONE");
    assert!(
        after.contains(&format!("The demo store is {}", db.display())),
        "{after}"
    );
    assert_verifies(&db, &pack);

    let real = dir.path().join("real.db");
    let init = Command::new(gavel())
        .arg("--db")
        .arg(&real)
        .args(["store", "init"])
        .output()
        .expect("init");
    assert!(init.status.success());
    let refused = Command::new(gavel())
        .arg("--db")
        .arg(&real)
        .args(["demo", "--config", "/dev/null"])
        .output()
        .expect("demo");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is not a demo store"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// Issue 35 (7): a decision made elsewhere (here, the CLI) reaches an open
/// console with no key pressed: the row leaves the queue and the count
/// drops. The time it takes is printed (a speed target is a benchmark's
/// business, not a test's), and is about a second: the watch interval.
#[test]
fn a_decision_through_the_cli_reaches_an_open_console_by_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("watch.db");
    seed(&db);
    let marker = dir.path().join("after.txt");
    let tmux = Tmux::start(&console_script(&db, &marker), 150, 40);
    // The preview names the selected workflow once its page is in.
    tmux.wait_for("wf-");
    let screen = tmux.wait_for(" of ");
    let count_of = |screen: &str| -> u64 {
        let header = screen
            .lines()
            .find(|line| line.trim_start().starts_with("Queue ") && line.contains(" of "))
            .unwrap_or_else(|| panic!("the queue header: {screen}"));
        header
            .split(" of ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(|number| number.replace(',', ""))
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("a count in the header: {screen}"))
    };
    let before = count_of(&screen);
    let workflow_id = screen
        .split(|c: char| c.is_whitespace() || c == '│')
        .find(|word| word.starts_with("wf-"))
        .expect("the preview names the selected workflow")
        .to_owned();
    let output = Command::new(gavel())
        .arg("--db")
        .arg(&db)
        .args(["--user", DEMO_USER, "--config", "/dev/null"])
        .args(["approve", &workflow_id, "--comment", "from the CLI"])
        .output()
        .expect("approve");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decided = Instant::now();
    let expected = format!(" of {} ", before - 1);
    let screen = tmux.wait_for(&expected);
    println!(
        "the console showed the decision {:?} after it was made",
        decided.elapsed()
    );
    assert!(
        !screen.contains(&format!("{workflow_id} ")),
        "the decided row left the queue:\n{screen}"
    );
    tmux.send(&["q"]);
    tmux.wait_for("GAVEL-DONE");
}
