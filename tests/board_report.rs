//! The board report, as a compliance officer makes and files it: a seeded
//! store with SLA alerts, an incident, an exception and a policy-set
//! change; the report's every figure recounted here from the raw rows; the
//! three formats written, read by poppler as any PDF reader would, and
//! verified offline with the log's key; an edited figure caught; the same
//! report over a server.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeDelta, Utc};
use common::{ADMIN, ADMIN2, COMPLIANCE, LEAD, REQUESTER, gavel};
use gavel::backend::GovernanceBackend;
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::domain::exception::{ExceptionDecision, NewException};
use gavel::domain::figures::{quantile_hours, workflow_figures};
use gavel::domain::{Role, Step};
use serde_json::Value;

const TEAM: &str = "Platform";

fn as_user(store: &Arc<LocalStore>, email: &str) -> LocalBackend {
    LocalBackend::new(Arc::clone(store), Some(email.into()))
}

fn monday(at: DateTime<Utc>) -> NaiveDate {
    let date = at.date_naive();
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

fn ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis()
}

fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("a time")
}

/// A seeded store to which this test adds what the seed has none of:
/// SLA alerts, an exception granted, an incident, a policy-set change.
async fn store(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("board.db");
    gavel(&db)
        .args(["seed", "--workflows", "1500", "--seed", "43"])
        .assert()
        .success();
    let store = LocalStore::open(&db).expect("open");
    for (email, roles) in [
        (REQUESTER, vec![]),
        (LEAD, vec![Role::TechnicalLead]),
        (COMPLIANCE, vec![Role::ComplianceOfficer]),
        (ADMIN, vec![Role::PolicyAdmin]),
        (ADMIN2, vec![Role::PolicyAdmin]),
    ] {
        store.add_user(email, email, &roles).expect("add user");
    }
    // The technical lead's step gets an SLA: a policy-set change.
    let shown = gavel(&db).args(["policy", "show"]).output().expect("show");
    let active = String::from_utf8(shown.stdout).expect("UTF-8");
    let with_sla = active.replace(
        r#"approval_chain = ["technical_lead", "data_steward"]"#,
        r#"approval_chain = [{ role = "technical_lead", sla = "48h" }, "data_steward"]"#,
    );
    assert_ne!(with_sla, active, "the seeded set has the chain to time");
    let with_sla = format!(
        "{with_sla}\n[sla]\nremind_at = 0.75\nescalate_after = \"12h\"\nescalate_to = \"compliance_officer\"\n"
    );
    let proposed = as_user(&store, ADMIN)
        .propose_policy_set(&with_sla)
        .await
        .expect("propose");
    as_user(&store, ADMIN2)
        .decide_policy_set(proposed.version.version, true, Some("steps get SLAs"))
        .await
        .expect("approve");

    // Two confidential agents wait on a technical lead past their SLA:
    // reminded, overdue, escalated.
    let mut started = Vec::new();
    for agent in ["agt-board-1", "agt-board-2"] {
        let requested = as_user(&store, REQUESTER)
            .request_deployment(&common::confidential(agent))
            .await
            .expect("request");
        let workflow = as_user(&store, LEAD)
            .workflow(&requested.workflow_ids[0])
            .await
            .expect("workflow");
        started.push(workflow.created_at);
    }
    let start = started.into_iter().min().expect("a start");
    for hours in [37, 49, 62] {
        let now = start + TimeDelta::hours(hours);
        let alerted = store
            .write(|tx| gavel::backend::local::writes::alert_due_steps(tx, now, 100))
            .expect("alert");
        assert_eq!(alerted, 2, "both steps alerted at {hours} h");
    }

    // An exception to the external-tools block, granted by both roles.
    let mut unvetted = common::manifest("agt-board-scraper");
    unvetted.agent.has_external_tools = true;
    unvetted.external_tools = vec!["unvetted_scraper".into()];
    as_user(&store, REQUESTER)
        .request_deployment(&unvetted)
        .await
        .expect("a blocked request");
    let asked = as_user(&store, REQUESTER)
        .request_exception(&NewException {
            agent_id: "agt-board-scraper".into(),
            agent_version: "1.0.0".into(),
            policy_id: "external_api_block".into(),
            until: Utc::now() + TimeDelta::days(20),
            reason: "the scraper's vendor review ends this month".into(),
            ticket: Some("https://tickets.example.com/GOV-7".into()),
            controls: Some("its calls are logged".into()),
        })
        .await
        .expect("ask");
    for approver in [LEAD, COMPLIANCE] {
        as_user(&store, approver)
            .decide_exception(&ExceptionDecision {
                exception_id: asked.exception_id.clone(),
                approve: true,
                comment: None,
                version: None,
            })
            .await
            .expect("approve the exception");
    }
    drop(store);
    common::report_death(&db, COMPLIANCE, "agt-board-1");
    db
}

/// The report's figures for `period` as `gavel report --json` prints them.
fn report_json(
    db: &Path,
    user: &str,
    (from, to): (NaiveDate, NaiveDate),
    team: Option<&str>,
) -> Value {
    let mut command = gavel(db);
    command.args(["--user", user, "report", "--json"]);
    command.args(["--from", &from.to_string(), "--to", &to.to_string()]);
    if let Some(team) = team {
        command.args(["--team", team]);
    }
    let out = command.output().expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Every figure of one period, counted from the raw rows.
#[derive(Debug, Default)]
struct Recount {
    headline: BTreeMap<&'static str, u64>,
    weeks: BTreeMap<NaiveDate, BTreeMap<&'static str, u64>>,
    by_role: BTreeMap<String, Vec<(u32, u64)>>,
    by_team: BTreeMap<String, Vec<(u32, u64)>>,
    every: Vec<(u32, u64)>,
}

/// Every row of a three-column query.
fn triples<A, B, C>(conn: &rusqlite::Connection, sql: &str) -> Vec<(A, B, C)>
where
    A: rusqlite::types::FromSql,
    B: rusqlite::types::FromSql,
    C: rusqlite::types::FromSql,
{
    conn.prepare(sql)
        .expect(sql)
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect(sql)
        .map(|row| row.expect(sql))
        .collect()
}

/// Every row of a two-column query, as a map.
fn pairs(conn: &rusqlite::Connection, sql: &str) -> BTreeMap<String, String> {
    conn.prepare(sql)
        .expect(sql)
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect(sql)
        .map(|row| row.expect(sql))
        .collect()
}

fn recount(db: &Path, (from, to): (NaiveDate, NaiveDate), team: Option<&str>) -> Recount {
    let conn = rusqlite::Connection::open(db).expect("open the raw file");
    let (start, end) = (ms(from), ms(to + Duration::days(1)));
    let inside = |at: i64| at >= start && at < end;
    let ours = |of: &str| team.is_none_or(|team| team == of);
    let mut counted = Recount::default();
    let add = |counted: &mut Recount, name: &'static str, week: Option<NaiveDate>, n: u64| {
        *counted.headline.entry(name).or_default() += n;
        if let Some(week) = week {
            *counted
                .weeks
                .entry(week)
                .or_default()
                .entry(name)
                .or_default() += n;
        }
    };
    let team_of_agent = pairs(&conn, "SELECT agent_id, team FROM agents");
    let team_of_workflow = pairs(&conn, "SELECT workflow_id, team FROM workflows");

    // Requests, by the policies' answer at request.
    let deployments: Vec<(i64, String, String)> =
        triples(&conn, "SELECT requested_at, outcome, team FROM deployments");
    for (at, outcome, of) in deployments {
        if !inside(at) || !ours(&of) {
            continue;
        }
        let week = Some(monday(at_ms(at)));
        add(&mut counted, "requests", week, 1);
        match outcome.as_str() {
            "allowed" => add(&mut counted, "allowed", week, 1),
            "blocked" => add(&mut counted, "blocked", week, 1),
            _ => add(&mut counted, "approval_required", None, 1),
        }
    }

    // Outcomes and decisions, from each workflow's own steps.
    let mut statement = conn
        .prepare("SELECT team, waiting_since, status, created_at, steps FROM workflows")
        .expect("workflows");
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, String>(4)?,
            ))
        })
        .expect("workflows");
    let mut by_role: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    let mut by_team: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    let mut every: BTreeMap<u32, u64> = BTreeMap::new();
    for row in rows {
        let (of, closed, status, created, steps) = row.expect("workflow");
        if !ours(&of) {
            continue;
        }
        let steps: Vec<Step> = serde_json::from_str(&steps).expect("steps");
        let (outcome, decisions) = workflow_figures(
            status.parse().expect("status"),
            at_ms(created),
            &steps,
            at_ms(closed),
        );
        if inside(outcome.week.timestamp_millis()) {
            let week = Some(outcome.week.date_naive());
            match status.as_str() {
                "approved" => add(&mut counted, "approved", week, 1),
                "rejected" => add(&mut counted, "rejected", week, 1),
                "withdrawn" => add(&mut counted, "withdrawn", week, 1),
                _ => {}
            }
        }
        for decision in decisions {
            if inside(decision.week.timestamp_millis()) {
                add(&mut counted, "decided_steps", None, 1);
                let role = decision.role.as_str().replace('_', " ");
                *by_role
                    .entry(role)
                    .or_default()
                    .entry(decision.bucket)
                    .or_default() += 1;
                *by_team
                    .entry(of.clone())
                    .or_default()
                    .entry(decision.bucket)
                    .or_default() += 1;
                *every.entry(decision.bucket).or_default() += 1;
            }
        }
    }
    counted.by_role = by_role
        .into_iter()
        .map(|(name, counts)| (name, counts.into_iter().collect()))
        .collect();
    counted.by_team = by_team
        .into_iter()
        .map(|(name, counts)| (name, counts.into_iter().collect()))
        .collect();
    counted.every = every.into_iter().collect();

    // Steps' alerts, from the trail.
    let alerts: Vec<(i64, String, String)> = triples(
        &conn,
        "SELECT at, action, entity_id FROM trail WHERE entity_type = 'workflow'
         AND action IN ('step_reminded', 'step_overdue', 'step_escalated')",
    );
    for (at, action, workflow) in alerts {
        if !inside(at) || !ours(&team_of_workflow[&workflow]) {
            continue;
        }
        let name = match action.as_str() {
            "step_reminded" => "reminders",
            "step_overdue" => "overdue",
            _ => "escalations",
        };
        add(&mut counted, name, None, 1);
    }

    // Bias audits, by when they were tested.
    let audits: Vec<(i64, i64, String)> =
        triples(&conn, "SELECT tested_at, passes, agent_id FROM audits");
    for (at, passes, agent) in audits {
        if !inside(at) || !ours(&team_of_agent[&agent]) {
            continue;
        }
        add(&mut counted, "audits", None, 1);
        if passes == 0 {
            add(&mut counted, "audits_failing", None, 1);
        }
    }

    // Incidents, exceptions and policy-set versions, as recorded.
    let records = |sql: &str| -> Vec<Value> {
        conn.prepare(sql)
            .expect("records")
            .query_map([], |row| row.get::<_, String>(0))
            .expect("records")
            .map(|text| serde_json::from_str(&text.expect("record")).expect("JSON"))
            .collect()
    };
    let time = |value: &Value| -> i64 {
        DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
            .expect("RFC 3339")
            .timestamp_millis()
    };
    for incident in records("SELECT record FROM incidents") {
        let agent = incident["agent_id"].as_str().expect("agent");
        if !inside(time(&incident["reported_at"])) || !ours(&team_of_agent[agent]) {
            continue;
        }
        add(&mut counted, "incidents", None, 1);
        if !incident["suspension"].is_null() {
            add(&mut counted, "suspensions", None, 1);
        }
    }
    for exception in records("SELECT record FROM policy_exceptions") {
        let agent = exception["agent_id"].as_str().expect("agent");
        let approvals = exception["approvals"].as_array().expect("approvals");
        let granted = approvals.len() >= exception["chain"].as_array().expect("chain").len()
            && approvals
                .last()
                .is_some_and(|last| inside(time(&last["at"])));
        if granted && ours(&team_of_agent[agent]) {
            add(&mut counted, "exceptions", None, 1);
        }
    }
    let changes: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM policy_sets WHERE state IN ('active', 'superseded')
             AND decided_at >= ?1 AND decided_at < ?2",
            [start, end],
            |row| row.get(0),
        )
        .expect("policy sets");
    add(&mut counted, "policy_changes", None, changes as u64);
    counted
}

fn assert_headline(reported: &Value, counted: &Recount, every_figure: &[&'static str]) {
    for name in every_figure {
        assert_eq!(
            reported[*name].as_u64(),
            Some(counted.headline.get(name).copied().unwrap_or(0)),
            "{name}: {reported:#}"
        );
    }
    assert_eq!(
        reported["p50_hours"].as_f64(),
        quantile_hours(&counted.every, 0.5)
    );
    assert_eq!(
        reported["p90_hours"].as_f64(),
        quantile_hours(&counted.every, 0.9)
    );
}

const HEADLINE: [&str; 18] = [
    "requests",
    "allowed",
    "approval_required",
    "blocked",
    "approved",
    "rejected",
    "withdrawn",
    "decided_steps",
    "reminders",
    "overdue",
    "escalations",
    "audits",
    "audits_failing",
    "incidents",
    "suspensions",
    "exceptions",
    "policy_changes",
    "decided_steps",
];

fn assert_figures(db: &Path, report: &Value, team: Option<&str>) {
    let figures = &report["report"]["figures"];
    let period = |key: &str| {
        let period = &report["report"][key];
        let date = |end: &str| {
            NaiveDate::parse_from_str(period[end].as_str().expect("date"), "%Y-%m-%d")
                .expect("date")
        };
        (date("from"), date("to"))
    };
    let counted = recount(db, period("period"), team);
    assert_headline(&figures["headline"], &counted, &HEADLINE);
    let before = recount(db, period("previous"), team);
    assert_headline(&figures["previous"], &before, &HEADLINE);

    for week in figures["weeks"].as_array().expect("weeks") {
        let monday =
            NaiveDate::parse_from_str(week["monday"].as_str().expect("monday"), "%Y-%m-%d")
                .expect("a date");
        let counted = counted.weeks.get(&monday).cloned().unwrap_or_default();
        for name in [
            "requests",
            "allowed",
            "approved",
            "rejected",
            "blocked",
            "withdrawn",
        ] {
            assert_eq!(
                week[name].as_u64(),
                Some(counted.get(name).copied().unwrap_or(0)),
                "{name} in the week of {monday}"
            );
        }
    }
    for (key, counted) in [
        ("waits_by_role", &counted.by_role),
        ("waits_by_team", &counted.by_team),
    ] {
        let rows = figures[key].as_array().expect("waits");
        assert_eq!(rows.len(), counted.len(), "{key}");
        for row in rows {
            let name = row["name"].as_str().expect("name");
            let buckets = &counted[name];
            assert_eq!(
                row["decided"].as_u64(),
                Some(buckets.iter().map(|(_, n)| n).sum::<u64>())
            );
            assert_eq!(
                row["p50_hours"].as_f64(),
                quantile_hours(buckets, 0.5),
                "{name}"
            );
            assert_eq!(
                row["p90_hours"].as_f64(),
                quantile_hours(buckets, 0.9),
                "{name}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_figure_of_a_seeded_quarter_is_the_one_the_raw_rows_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = store(dir.path()).await;
    let today = Utc::now().date_naive();
    let (from, to) = (today - Duration::days(90), today + Duration::days(6));

    let report = report_json(&db, COMPLIANCE, (from, to), None);
    let headline = &report["report"]["figures"]["headline"];
    // What this test added is in it, so each kind of figure is exercised.
    for (name, least) in [
        ("requests", 100),
        ("decided_steps", 100),
        ("audits", 10),
        ("reminders", 2),
        ("overdue", 2),
        ("escalations", 2),
        ("incidents", 1),
        ("suspensions", 1),
        ("exceptions", 1),
        ("policy_changes", 1),
    ] {
        assert!(
            headline[name].as_u64().is_some_and(|n| n >= least),
            "{name}: {headline:#}"
        );
    }
    let period = &report["report"]["period"];
    let day = |end: &str| {
        NaiveDate::parse_from_str(period[end].as_str().expect("day"), "%Y-%m-%d").expect("day")
    };
    assert_eq!(day("from").weekday(), chrono::Weekday::Mon);
    assert_eq!(day("to").weekday(), chrono::Weekday::Sun);
    assert!(day("from") <= from && day("to") >= to);
    assert_eq!(
        report["report"]["figures"]["weeks"]
            .as_array()
            .map(Vec::len),
        Some(((day("to") - day("from")).num_days() as usize + 1) / 7)
    );
    assert_figures(&db, &report, None);

    let platform = report_json(&db, COMPLIANCE, (from, to), Some(TEAM));
    assert_eq!(platform["report"]["team"], TEAM);
    assert!(
        platform["report"]["figures"]["headline"]["requests"].as_u64()
            < headline["requests"].as_u64()
    );
    assert_figures(&db, &platform, Some(TEAM));

    // The policy-set change names who proposed and who approved it.
    let changes = report["report"]["figures"]["policy_changes"]
        .as_array()
        .expect("changes");
    let ours = changes
        .iter()
        .find(|change| change["proposed_by"] == ADMIN)
        .expect("the SLA change is listed");
    assert_eq!(ours["approved_by"], ADMIN2);
    assert!(ours["version"].as_i64().is_some_and(|version| version > 1));
    // The incident is listed.
    assert_eq!(
        report["report"]["figures"]["incidents"][0]["agent_id"],
        "agt-board-1"
    );

    // `gavel audit verify` recounts the kept weekly figures too.
    gavel(&db).args(["audit", "verify"]).assert().success();
}

fn key(db: &Path) -> String {
    let out = gavel(db).args(["trail", "key"]).output().expect("key");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

fn verify(file: &Path, key: &str) -> (Option<i32>, String) {
    let out = gavel(Path::new("unused.db"))
        .args(["report", "verify"])
        .arg(file)
        .args(["--key", key])
        .output()
        .expect("verify");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn poppler(tool: &str, file: &Path) -> String {
    let mut command = std::process::Command::new(tool);
    command.arg(file);
    if tool == "pdftotext" {
        command.arg("-");
    }
    let out = command.output().unwrap_or_else(|err| {
        panic!("{tool} (Debian poppler-utils, installed by scripts/test): {err}")
    });
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn three_formats_verify_offline_and_an_edited_figure_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("formats.db");
    gavel(&db)
        .args(["seed", "--workflows", "600", "--seed", "5"])
        .assert()
        .success();
    let officer = "dana.whitfield@northwind.example";
    let today = Utc::now().date_naive();
    let quarter = (today - Duration::days(91), today);
    let (from, to) = (quarter.0.to_string(), quarter.1.to_string());
    let key = key(&db);
    let figures = report_json(&db, officer, quarter, None);
    let requested = figures["report"]["figures"]["headline"]["requests"]
        .as_u64()
        .expect("requests")
        .to_string();
    for name in ["quarter.html", "quarter.md", "quarter.pdf"] {
        let file = dir.path().join(name);
        gavel(&db)
            .args([
                "--user", officer, "report", "--from", &from, "--to", &to, "--out",
            ])
            .arg(&file)
            .assert()
            .success();
        let (code, said) = verify(&file, &key);
        assert_eq!(code, Some(0), "{name}: {said}");
        assert!(
            said.contains("every figure on its pages is the signed one"),
            "{said}"
        );
    }

    // The PDF as a reader sees it: its text, its pages.
    let pdf = dir.path().join("quarter.pdf");
    let text = poppler("pdftotext", &pdf);
    assert!(text.contains("Governance report"), "{text}");
    assert!(text.contains("Deployments requested"), "{text}");
    assert!(
        text.contains(&requested),
        "the figure is on the page: {text}"
    );
    assert!(text.contains("Time to decision"), "{text}");
    let info = poppler("pdfinfo", &pdf);
    let pages: u32 = info
        .lines()
        .find_map(|line| line.strip_prefix("Pages:"))
        .and_then(|pages| pages.trim().parse().ok())
        .expect("a page count");
    assert!((2..=12).contains(&pages), "{info}");
    assert!(info.contains("A4"), "{info}");

    // The HTML as a browser reads and prints it: the figures, the chart,
    // the signed data inert.
    let html = dir.path().join("quarter.html");
    let dom = common::browser::in_chromium(&html, "--dump-dom");
    assert!(
        dom.contains(&format!(
            "<td>Deployments requested</td><td>{requested}</td>"
        )),
        "the headline figure"
    );
    assert!(dom.contains("<polyline"), "the weekly chart");
    assert!(
        dom.contains("stroke-dasharray"),
        "lines told apart without colour"
    );
    let printed = dir.path().join("printed.pdf");
    common::browser::in_chromium(&html, &format!("--print-to-pdf={}", printed.display()));
    let text = poppler("pdftotext", &printed);
    assert!(text.contains("Deployments requested"), "{text}");

    // A figure edited in each format is caught, and where.
    let edited = |name: &str, from: &str, to: &str| {
        let file = dir.path().join(name);
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(text.contains(from), "{name} has {from:?}");
        let copy = dir.path().join(format!("edited-{name}"));
        std::fs::write(&copy, text.replacen(from, to, 1)).expect("write");
        verify(&copy, &key)
    };
    let bumped = (requested.parse::<u64>().expect("a number") + 1).to_string();
    let (code, said) = edited(
        "quarter.html",
        &format!("<td>Deployments requested</td><td>{requested}</td>"),
        &format!("<td>Deployments requested</td><td>{bumped}</td>"),
    );
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("the signed figures say"), "{said}");
    let (code, said) = edited(
        "quarter.md",
        &format!("| Deployments requested | {requested} |"),
        &format!("| Deployments requested | {bumped} |"),
    );
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&bumped) && said.contains(&requested),
        "{said}"
    );

    // The PDF: its title changed in place, and its pages swapped for
    // another report's under this one's signed note.
    let bytes = std::fs::read(&pdf).expect("pdf");
    let retitled = replace_bytes(&bytes, b"Governance report", b"Governance rEport");
    let copy = dir.path().join("retitled.pdf");
    std::fs::write(&copy, retitled).expect("write");
    let (code, said) = verify(&copy, &key);
    assert_eq!(code, Some(1), "{said}");

    // Another key, or no signed data, does not verify.
    let (code, said) = verify(&dir.path().join("quarter.html"), &foreign_key(dir.path()));
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("signature"), "{said}");
    let plain = dir.path().join("plain.html");
    std::fs::write(
        &plain,
        "<html><body>Deployments requested: 12</body></html>",
    )
    .expect("write");
    let (code, said) = verify(&plain, &key);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("not a Gavel report"), "{said}");
}

fn replace_bytes(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|window| window == from)
        .expect("the bytes are there");
    let mut out = bytes.to_vec();
    out[at..at + from.len()].copy_from_slice(to);
    out
}

/// The key of another store's log.
fn foreign_key(dir: &Path) -> String {
    let other = dir.join("other.db");
    gavel(&other).args(["store", "init"]).assert().success();
    key(&other)
}

#[test]
fn only_those_the_set_names_make_reports_and_periods_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("who.db");
    gavel(&db).args(["store", "init"]).assert().success();
    common::add_users(
        &db,
        &[(LEAD, "technical_lead"), (COMPLIANCE, "compliance_officer")],
    );
    let ask = |user: &str, from: &str, to: &str| {
        gavel(&db)
            .args([
                "--user", user, "report", "--json", "--from", from, "--to", to,
            ])
            .output()
            .expect("report")
    };
    let refused = ask(LEAD, "2026-07-01", "2026-09-30");
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("compliance_officer"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(ask(COMPLIANCE, "2026-07-01", "2026-09-30").status.success());
    let backwards = ask(COMPLIANCE, "2026-09-30", "2026-07-01");
    assert_eq!(backwards.status.code(), Some(2));
    let too_long = ask(COMPLIANCE, "2020-01-01", "2026-09-30");
    assert_eq!(too_long.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&too_long.stderr).contains("at most 105 weeks"));
    let wrong_format = gavel(&db)
        .args([
            "--user",
            COMPLIANCE,
            "report",
            "--from",
            "2026-07-01",
            "--to",
            "2026-09-30",
        ])
        .args(["--out", "report.docx"])
        .output()
        .expect("report");
    assert_eq!(wrong_format.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong_format.stderr).contains(".html, .pdf or .md"));
}

#[test]
fn a_report_over_a_server_is_signed_by_its_log_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("served.db");
    gavel(&db)
        .args(["seed", "--workflows", "300", "--seed", "9"])
        .assert()
        .success();
    let store = LocalStore::open(&db).expect("open");
    let officer = store
        .add_user(COMPLIANCE, COMPLIANCE, &[Role::ComplianceOfficer])
        .expect("officer");
    let lead = store
        .add_user(LEAD, LEAD, &[Role::TechnicalLead])
        .expect("lead");
    drop(store);
    let key = key(&db);
    let server = common::server::Server::start(&db);
    let today = Utc::now().date_naive();
    let (from, to) = ((today - Duration::days(60)).to_string(), today.to_string());
    let over = |token: &str, out: &Path| {
        gavel(&db)
            .args([
                "--url",
                &server.url,
                "report",
                "--from",
                &from,
                "--to",
                &to,
                "--out",
            ])
            .arg(out)
            .env("GAVEL_TOKEN", token)
            .output()
            .expect("report")
    };
    let file = dir.path().join("served.html");
    let made = over(&officer, &file);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (code, said) = verify(&file, &key);
    assert_eq!(code, Some(0), "{said}");
    let refused = over(&lead, &dir.path().join("refused.html"));
    assert_ne!(refused.status.code(), Some(0));
    assert!(!dir.path().join("refused.html").exists());
}
