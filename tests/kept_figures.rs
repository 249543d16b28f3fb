//! The figures the store keeps so it need not recount (every agent's audit
//! standing, with the clock taken out) stay exactly what a recount gives:
//! after a seeded history, and after thousands of random operations —
//! requests, decisions, audits, policy-set changes — while a clock moves
//! across audits' expiries.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::conformance::every_standing;
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{
    AuditsDue, GovernanceBackend, QueueFilter, QueueQuery, QueueSort, StandingQuery,
};
use gavel::clock::ManualClock;
use gavel::domain::bias::standing::Attention;
use gavel::domain::bias::{AuditSubmission, GroupCounts};
use gavel::domain::manifest::Manifest;
use gavel::domain::{Role, Verdict};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

const ANCHOR: (i32, u32, u32) = (2026, 6, 1);

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(ANCHOR.0, ANCHOR.1, ANCHOR.2, 0, 0, 0)
        .single()
        .expect("a valid date")
}

fn seeded(workflows: u64, seed: u64) -> (tempfile::TempDir, Arc<LocalStore>, Arc<ManualClock>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::open(&dir.path().join("s.db")).expect("store");
    gavel::seed::seed(
        &store,
        &gavel::seed::SeedOptions {
            workflows,
            seed,
            anchor: anchor(),
        },
        &mut |_| {},
    )
    .expect("seed");
    let clock = ManualClock::at(anchor());
    store.set_clock(clock.clone());
    (dir, store, clock)
}

/// The dashboard's audit figures (from the kept standings) against a
/// recount of every agent's standing, and `audit verify`'s own recount.
async fn assert_figures_hold(store: &Arc<LocalStore>, context: &str) {
    let backend = LocalBackend::new(Arc::clone(store), None);
    let kept = backend.dashboard().await.expect("dashboard").audits;
    let window = TimeDelta::days(gavel::domain::bias::standing::DUE_WITHIN_DAYS);
    let mut recount: BTreeMap<Attention, u64> = BTreeMap::new();
    let every = StandingQuery {
        due_within: window,
        ..StandingQuery::first(500)
    };
    for standing in every_standing(&backend, every).await {
        *recount.entry(standing.attention).or_default() += 1;
    }
    let of = |attention| recount.get(&attention).copied().unwrap_or(0);
    let recounted = AuditsDue {
        failing: of(Attention::Failing),
        expired: of(Attention::Expired),
        missing: of(Attention::Missing),
        uncovered: of(Attention::Uncovered),
        due_soon: of(Attention::DueSoon),
    };
    assert_eq!(kept, recounted, "{context}: kept figures against a recount");
    assert_dashboard_holds(store, &backend, context).await;
}

/// The dashboard's workflow and blocked figures (from the kept counts)
/// against the queue's counts and every blocked deployment, read through
/// the backend as a person would.
async fn assert_dashboard_holds(store: &Arc<LocalStore>, backend: &LocalBackend, context: &str) {
    use gavel::backend::DeploymentQuery;
    use gavel::domain::{DeploymentStatus, WorkflowStatus};
    let dashboard = backend.dashboard().await.expect("dashboard");
    let of_status = |status| QueueFilter {
        status,
        ..QueueFilter::everything()
    };
    let pending = backend
        .queue_count(&of_status(WorkflowStatus::InProgress))
        .await
        .expect("count");
    let approved = backend
        .queue_count(&of_status(WorkflowStatus::Approved))
        .await
        .expect("count");
    let rejected = backend
        .queue_count(&of_status(WorkflowStatus::Rejected))
        .await
        .expect("count");
    assert_eq!(dashboard.pending_approvals, pending, "{context}: pending");
    assert_eq!(
        dashboard.approval_rate,
        (approved + rejected > 0).then(|| approved as f64 / (approved + rejected) as f64),
        "{context}: approval rate"
    );
    let mut query = DeploymentQuery {
        status: Some(DeploymentStatus::Blocked),
        cursor: None,
        limit: 500,
        ..DeploymentQuery::default()
    };
    let mut blocked = Vec::new();
    loop {
        let page = backend.deployments(&query).await.expect("deployments");
        blocked.extend(page.items);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        dashboard.blocked_now,
        blocked.len() as u64,
        "{context}: blocked"
    );
    let mut by_team: BTreeMap<String, u64> = BTreeMap::new();
    for deployment in &blocked {
        *by_team.entry(deployment.team.clone()).or_default() += 1;
    }
    let kept_by_team: BTreeMap<String, u64> = dashboard
        .blocked_by_team
        .iter()
        .map(|count| (count.name.clone(), count.count))
        .collect();
    assert_eq!(kept_by_team, by_team, "{context}: blocked per team");
    let now = store.now();
    let mut ages: Vec<i64> = blocked
        .iter()
        .map(|d| (now - d.requested_at).num_milliseconds().max(0))
        .collect();
    ages.sort_unstable();
    let median = match ages.len() {
        0 => None,
        n if n % 2 == 1 => Some(ages[n / 2] as f64 / 3_600_000.0),
        n => Some((ages[n / 2 - 1] + ages[n / 2]) as f64 / 2.0 / 3_600_000.0),
    };
    match (dashboard.median_hours_blocked, median) {
        (Some(kept), Some(counted)) => assert!(
            (kept - counted).abs() < 1e-6,
            "{context}: median hours blocked {kept} against {counted}"
        ),
        (kept, counted) => assert_eq!(kept, counted, "{context}: median hours blocked"),
    }
}

async fn assert_verify_agrees(store: &Arc<LocalStore>, context: &str) {
    let report = LocalBackend::new(Arc::clone(store), None)
        .verify_trail()
        .await
        .expect("verify");
    assert!(report.broken.is_none(), "{context}: {:?}", report.broken);
    assert!(
        report.figures_differ.is_empty(),
        "{context}: {:?}",
        report.figures_differ
    );
}

#[tokio::test]
async fn kept_standings_match_a_recount_across_the_clock() {
    let (_dir, store, clock) = seeded(400, 3);
    assert_verify_agrees(&store, "after seeding").await;
    let mut seen = BTreeMap::<String, u64>::new();
    // Two years either side of the anchor, a fortnight at a time: every
    // audit's expiry and every window of "due soon" is crossed.
    for fortnight in -26..52 {
        clock.set(anchor() + TimeDelta::days(14 * fortnight));
        assert_figures_hold(&store, &format!("fortnight {fortnight}")).await;
        let due = LocalBackend::new(Arc::clone(&store), None)
            .dashboard()
            .await
            .expect("dashboard")
            .audits;
        *seen.entry("expired".into()).or_default() += due.expired;
        *seen.entry("due_soon".into()).or_default() += due.due_soon;
        *seen.entry("failing".into()).or_default() += due.failing;
    }
    for (kind, total) in seen {
        assert!(total > 0, "the walk crossed {kind} standings");
    }
}

/// The counts read whole days from the kept per-day table and judge the
/// standings of the clock's boundary days one by one: the clock set at
/// expiries (a millisecond either side, and the due window's edge), where
/// a standing changes kind within its day.
#[tokio::test]
async fn kept_counts_hold_at_the_instants_standings_change_kind() {
    let (_dir, store, clock) = seeded(400, 3);
    let backend = LocalBackend::new(Arc::clone(&store), None);
    let window = TimeDelta::days(gavel::domain::bias::standing::DUE_WITHIN_DAYS);
    let every = StandingQuery {
        due_within: window,
        ..StandingQuery::first(500)
    };
    let mut expiries: Vec<chrono::DateTime<chrono::Utc>> = every_standing(&backend, every)
        .await
        .into_iter()
        .filter_map(|standing| standing.expires_at)
        .collect();
    expiries.sort();
    expiries.dedup();
    assert!(
        expiries.len() >= 6,
        "the seeded store has audits that expire"
    );
    let step = (expiries.len() / 6).max(1);
    let millisecond = TimeDelta::milliseconds(1);
    for expiry in expiries.into_iter().step_by(step) {
        for at in [
            expiry - millisecond,
            expiry,
            expiry + millisecond,
            expiry - window - millisecond,
            expiry - window,
            expiry - window + millisecond,
        ] {
            clock.set(at);
            assert_figures_hold(&store, &format!("at {at}")).await;
        }
    }
    assert_verify_agrees(&store, "after the walk").await;
}

/// `audit verify` recounts every kept figure and names each that was
/// edited behind the store's back.
#[tokio::test]
async fn verify_names_every_kept_figure_edited_behind_the_stores_back() {
    let (dir, store, _clock) = seeded(200, 4);
    assert_verify_agrees(&store, "before the edits").await;
    let raw = rusqlite::Connection::open(dir.path().join("s.db")).expect("open");
    raw.execute_batch(
        "UPDATE standing_days SET n = n + 1 WHERE rowid = (SELECT MIN(rowid) FROM standing_days);
         UPDATE agent_standings SET base = 'passing' WHERE agent_id = (SELECT MIN(agent_id) FROM agent_standings WHERE base <> 'passing');
         UPDATE blocked_days SET n = n + 2 WHERE day = (SELECT MIN(day) FROM blocked_days);
         UPDATE blocked_policy_counts SET n = n + 3;
         UPDATE blocked_teams SET n = n + 5 WHERE team = (SELECT MIN(team) FROM blocked_teams);
         UPDATE blocked_day_totals SET n = n + 6 WHERE day = (SELECT MAX(day) FROM blocked_day_totals);
         UPDATE decision_times SET n = n + 4 WHERE week = (SELECT MIN(week) FROM decision_times);",
    )
    .expect("edit the kept figures");
    let report = LocalBackend::new(Arc::clone(&store), None)
        .verify_trail()
        .await
        .expect("verify");
    let differ = report.figures_differ.join("\n");
    for named in [
        "standings per day",
        "agent agt-",
        "blocked (",
        "blocked per team",
        "blocked per day",
        "decision times (",
    ] {
        assert!(differ.contains(named), "verify names {named:?}:\n{differ}");
    }
    assert!(
        report.figures_differ.len() >= 7,
        "every edit is named:\n{differ}"
    );
}

/// A random history on a small store, the clock moving, every figure
/// compared with a recount after each operation.
#[tokio::test]
async fn kept_standings_hold_through_random_operations() {
    let (_dir, store, clock) = seeded(200, 9);
    random_history(&store, &clock).await;
}

/// The same history on PostgreSQL: the seeded file copied into a throwaway
/// cluster (`gavel store copy`), then every operation and recount there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_standings_hold_through_random_operations_on_postgresql() {
    let cluster = common::postgres::Cluster::start();
    let url = cluster.url("gavel");
    let (dir, file_store, _) = seeded(200, 9);
    drop(file_store);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["store", "copy", "--from"])
        .arg(dir.path().join("s.db"))
        .args(["--to", &url])
        .env("GAVEL_CONFIG", "/dev/null")
        .output()
        .expect("gavel store copy");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let store = LocalStore::connect(&url).await.expect("connect");
    assert!(store.is_postgres());
    let clock = ManualClock::at(anchor());
    store.set_clock(clock.clone());
    assert_verify_agrees(&store, "after the copy").await;
    random_history(&store, &clock).await;
}

async fn random_history(store: &Arc<LocalStore>, clock: &Arc<ManualClock>) {
    let store = Arc::clone(store);
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let demo = LocalBackend::new(Arc::clone(&store), Some(gavel::seed::DEMO_USER.into()));
    let admins: Vec<LocalBackend> = gavel::seed::POLICY_ADMINS
        .iter()
        .map(|(email, _)| LocalBackend::new(Arc::clone(&store), Some((*email).into())))
        .collect();
    // Audits are recorded by an ML engineer (the set's permissions).
    let engineer = demo
        .users(Some(Role::MlEngineer))
        .await
        .expect("users")
        .into_iter()
        .next()
        .expect("the seeded organisation has ML engineers");
    let auditor = LocalBackend::new(Arc::clone(&store), Some(engineer.email));
    // Steps are decided by people other than the requester.
    let mut deciders = Vec::new();
    for role in [Role::TechnicalLead, Role::DataSteward] {
        let person = demo
            .users(Some(role))
            .await
            .expect("users")
            .into_iter()
            .find(|user| user.email != gavel::seed::DEMO_USER)
            .expect("the seeded organisation has deciders");
        deciders.push((
            role,
            LocalBackend::new(Arc::clone(&store), Some(person.email)),
        ));
    }
    let template = include_str!("../examples/hr-screener.json");
    let northwind = include_str!("../examples/policies/northwind.toml");
    let mut done = BTreeMap::<&str, u64>::new();
    // Workflows of the requests filed here, which their requester may
    // withdraw.
    let mut filed: Vec<String> = Vec::new();
    for operation in 0..2_000 {
        let agents: Vec<String> = demo
            .search_agents("", 500)
            .await
            .expect("agents")
            .into_iter()
            .map(|agent| agent.agent_id)
            .collect();
        let kind = match rng.random_range(0..100) {
            0..28 => "clock",
            28..42 => "audit",
            42..50 => "tables",
            50..70 => "request",
            70..88 => "decision",
            88..95 => "withdrawal",
            _ => "policy set",
        };
        let happened = match kind {
            "clock" => {
                clock.advance(TimeDelta::hours(rng.random_range(1..24 * 60)));
                true
            }
            "audit" => {
                let Some(agent_id) = agents.choose(&mut rng) else {
                    continue;
                };
                let agent = demo.agent(agent_id).await.expect("agent");
                let total = rng.random_range(40..400);
                let low = rng.random_range(0.2..0.9);
                let submission = AuditSubmission {
                    agent_id: agent.agent_id.clone(),
                    agent_version: agent.version.clone(),
                    tested_at: None,
                    groups: vec![
                        GroupCounts {
                            group: "a".into(),
                            positive: total / 2,
                            total,
                        },
                        GroupCounts {
                            group: "b".into(),
                            positive: ((total / 2) as f64 * low) as u64,
                            total,
                        },
                    ],
                    attributes: Vec::new(),
                    mode: Default::default(),
                    source: None,
                    threshold: None,
                };
                auditor.record_audit(&submission).await.is_ok()
            }
            // An auditor's tables, as `gavel audit import` records them: by
            // sex alone (uncovered where race and the intersection are
            // required), or by sex, race and both, some failing.
            "tables" => {
                let Some(agent_id) = agents.choose(&mut rng) else {
                    continue;
                };
                let agent = demo.agent(agent_id).await.expect("agent");
                let with_race = rng.random_bool(0.6);
                let mut cell = |values: &[&str]| {
                    let total = rng.random_range(40..400u64);
                    let rate = rng.random_range(0.15..0.6);
                    gavel::domain::bias::tables::CategoryCounts {
                        values: values.iter().map(|value| (*value).to_owned()).collect(),
                        positive: (total as f64 * rate) as u64,
                        total,
                        excluded: None,
                    }
                };
                let mut table = |attributes: &[&str], categories: &[&[&str]]| {
                    gavel::domain::bias::tables::TableCounts {
                        attributes: attributes.iter().map(|name| (*name).to_owned()).collect(),
                        unknown: 0,
                        categories: categories.iter().map(|values| cell(values)).collect(),
                    }
                };
                let mut tables = vec![table(&["sex"], &[&["Female"], &["Male"]])];
                if with_race {
                    tables.push(table(&["race_ethnicity"], &[&["Asian"], &["White"]]));
                    tables.push(table(
                        &["sex", "race_ethnicity"],
                        &[
                            &["Female", "Asian"],
                            &["Female", "White"],
                            &["Male", "Asian"],
                            &["Male", "White"],
                        ],
                    ));
                }
                let submission = AuditSubmission {
                    agent_id: agent.agent_id.clone(),
                    agent_version: agent.version.clone(),
                    tested_at: None,
                    groups: Vec::new(),
                    attributes: tables,
                    mode: Default::default(),
                    source: None,
                    threshold: None,
                };
                auditor.record_audit(&submission).await.is_ok()
            }
            "request" => {
                let mut value: serde_json::Value =
                    serde_json::from_str(template).expect("the example manifest");
                let n = rng.random_range(0..40);
                value["agent_id"] = format!("agt-random-{n}").into();
                value["name"] = format!("Random {n}").into();
                value["version"] = format!("1.{}.0", rng.random_range(0..1000)).into();
                // The requester owns what they file.
                value["owner"] = gavel::seed::DEMO_USER.into();
                if rng.random_bool(0.3) {
                    value["category"] = "customer_service".into();
                }
                let manifest = Manifest::from_json(&value.to_string()).expect("manifest");
                match demo.request_deployment(&manifest).await {
                    Ok(request) => {
                        filed.extend(request.workflow_ids);
                        true
                    }
                    Err(_) => false,
                }
            }
            "withdrawal" => {
                if filed.is_empty() {
                    continue;
                }
                let workflow_id = filed.swap_remove(rng.random_range(0..filed.len()));
                demo.withdraw(&workflow_id, Some("withdrawn in a random history"))
                    .await
                    .is_ok()
            }
            "decision" => {
                let (role, decider) = deciders.choose(&mut rng).expect("deciders");
                let query = QueueQuery::first(QueueFilter::for_roles(&[*role]), QueueSort::Age, 20);
                let page = decider.queue(&query).await.expect("queue");
                let Some(item) = page.items.choose(&mut rng) else {
                    continue;
                };
                let Some(step) = item.current_step else {
                    continue;
                };
                let decision = gavel::backend::Decision {
                    workflow_id: item.workflow_id.clone(),
                    step_id: step.step_id,
                    verdict: if rng.random_bool(0.8) {
                        Verdict::Approve
                    } else {
                        Verdict::Reject
                    },
                    comment: Some("random history".into()),
                    expected_version: item.version,
                    idempotency_key: gavel::backend::Decision::new_key(),
                    decision_at: None,
                    on_behalf_of: None,
                };
                decider.decide(&decision).await.is_ok()
            }
            _ => {
                let age = ["90d", "180d", "365d", "30d"]
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or("180d");
                let text = northwind.replace("max_age = \"180d\"", &format!("max_age = \"{age}\""));
                let (proposer, approver) = if rng.random_bool(0.5) {
                    (&admins[0], &admins[1])
                } else {
                    (&admins[1], &admins[0])
                };
                match proposer.propose_policy_set(&text).await {
                    Ok(detail) => approver
                        .decide_policy_set(detail.version.version, true, None)
                        .await
                        .is_ok(),
                    Err(_) => false,
                }
            }
        };
        if happened {
            *done.entry(kind).or_default() += 1;
        }
        assert_figures_hold(&store, &format!("after operation {operation} ({kind})")).await;
        if operation % 50 == 0 {
            assert_verify_agrees(&store, &format!("after operation {operation}")).await;
        }
    }
    assert_verify_agrees(&store, "at the end").await;
    for kind in [
        "clock",
        "audit",
        "tables",
        "request",
        "decision",
        "withdrawal",
        "policy set",
    ] {
        assert!(
            done.get(kind).copied().unwrap_or(0) >= 20,
            "{kind} happened often enough: {done:?}"
        );
    }
}
