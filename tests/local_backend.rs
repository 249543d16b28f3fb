//! The conformance suite and store-specific checks against the embedded store.

mod common;

use std::sync::Arc;

use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{GovernanceBackend, QueueFilter, QueueQuery, QueueSort, StandingQuery};
use gavel::domain::Role;

struct LocalFixture {
    store: Arc<LocalStore>,
    _dir: tempfile::TempDir,
}

impl common::conformance::Fixture for LocalFixture {
    fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    fn backend_as(&self, email: &str) -> Box<dyn GovernanceBackend> {
        Box::new(LocalBackend::new(
            Arc::clone(&self.store),
            Some(email.to_owned()),
        ))
    }
}

fn fixture() -> LocalFixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(&dir.path().join("gavel.db")).expect("open store");
    LocalFixture { store, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_conforms() {
    let fixture = fixture();
    common::conformance::run(&fixture).await;
    let report = fixture.store.verify_trail().expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
    assert!(report.events > 50);
}

#[tokio::test]
async fn an_empty_store_opens_and_answers() {
    let fixture = fixture();
    let backend = LocalBackend::new(Arc::clone(&fixture.store), None);
    let page = backend
        .queue(&QueueQuery::first(
            QueueFilter::everything(),
            QueueSort::Age,
            50,
        ))
        .await
        .expect("queue");
    assert!(page.items.is_empty() && !page.more_after && !page.more_before);
    let mine = backend
        .queue(&QueueQuery::first(
            QueueFilter::default(),
            QueueSort::Age,
            50,
        ))
        .await;
    assert!(
        matches!(mine, Err(gavel::backend::BackendError::Unauthenticated(_))),
        "an actionable queue needs to know whose: {mine:?}"
    );
    assert_eq!(backend.policies().await.expect("policies").len(), 6);
    let dashboard = backend.dashboard().await.expect("dashboard");
    assert_eq!(dashboard.blocked_now, 0);
    assert_eq!(dashboard.approval_rate, None);
    assert!(backend.me().await.is_err(), "no user given");
}

#[test]
fn reopening_a_store_keeps_its_data_and_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/dir/gavel.db");
    let store = LocalStore::open(&path).expect("open");
    store
        .add_user("a@example.com", "A", &[Role::DataSteward])
        .expect("add");
    drop(store);
    let store = LocalStore::open(&path).expect("reopen");
    let user = store.user("A@EXAMPLE.COM").expect("user").expect("exists");
    assert_eq!(user.roles, [Role::DataSteward]);
    assert_eq!(store.users().expect("users").len(), 1);
}

#[test]
fn a_file_that_is_not_a_store_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.db");
    std::fs::write(
        &path,
        b"this is not sqlite at all, just some text that goes on",
    )
    .expect("write");
    let err = LocalStore::open(&path).expect_err("garbage must not open");
    assert!(err.to_string().contains("garbage.db"), "{err}");
}

#[test]
fn tokens_are_stored_hashed_and_resolve_to_their_user() {
    let fixture = fixture();
    let token = fixture
        .store
        .add_user("t@example.com", "T", &[Role::MlEngineer])
        .expect("add");
    assert!(token.starts_with("gvl_"));
    let user = fixture
        .store
        .user_by_token(&token)
        .expect("lookup")
        .expect("found");
    assert_eq!(user.email, "t@example.com");
    assert!(
        fixture
            .store
            .user_by_token("gvl_wrong")
            .expect("lookup")
            .is_none()
    );
    let raw = std::fs::read(fixture.store.path().expect("a file")).expect("read");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains(&token),
        "the token itself must never be stored"
    );
}

/// The hot queue queries must walk an index in order: no full scan, no sort.
#[test]
fn queue_queries_use_their_indexes() {
    use gavel::backend::queue::{Direction, QueueCursor};
    use gavel::domain::RiskTier;
    let fixture = fixture();
    let cursor = QueueCursor {
        urgency: 1,
        waiting_since_ms: 1_700_000_000_000,
        workflow_id: "wf-0000010".into(),
    };
    let mine = QueueFilter::for_roles(&[Role::TechnicalLead, Role::DataSteward]);
    // The reader's own requests and decisions are filtered along the index
    // range, never by a scan.
    let reader = gavel::backend::User {
        email: "reader@example.com".into(),
        name: "Reader".into(),
        roles: Role::ALL.to_vec(),
        teams: Vec::new(),
        identity: None,
        service: false,
        last_sign_in: None,
    };
    let filters = [
        mine.clone(),
        QueueFilter::default(),
        QueueFilter::everything(),
        QueueFilter {
            risk: Some(RiskTier::High),
            ..mine.clone()
        },
        QueueFilter {
            team: Some("Platform".into()),
            ..QueueFilter::default()
        },
    ];
    for filter in filters {
        for sort in [QueueSort::Age, QueueSort::Risk] {
            for direction in [Direction::Forward, Direction::Backward] {
                for cursor in [None, Some(cursor.clone())] {
                    let has_cursor = cursor.is_some();
                    let query = QueueQuery {
                        filter: filter.clone(),
                        sort,
                        cursor,
                        direction,
                        limit: 50,
                    };
                    let plans = fixture
                        .store
                        .queue_query_plan(&query, Some(&reader))
                        .expect("plan");
                    assert!(!plans.is_empty());
                    for plan in plans {
                        if has_cursor {
                            assert!(
                                plan.contains("(waiting_since,workflow_id)")
                                    || plan.contains("(urgency,waiting_since,workflow_id)"),
                                "{query:?} must seek to the cursor, not scan to it: {plan}"
                            );
                        }
                        assert!(
                            plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                            "{query:?}: {plan}"
                        );
                        assert!(
                            !plan.contains("TEMP B-TREE"),
                            "{query:?} sorts instead of walking an index: {plan}"
                        );
                        assert!(
                            !plan.contains("SCAN workflows\n") && !plan.ends_with("SCAN workflows"),
                            "{plan}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn standings_pages_use_their_indexes() {
    use gavel::backend::StandingCursor;
    use gavel::domain::bias::standing::Attention;
    let fixture = fixture();
    for kind in Attention::ALL {
        for after in [
            None,
            // Within the kind: expired before now, the others after it.
            Some(StandingCursor {
                attention: kind,
                expires_ms: if kind == Attention::Expired {
                    1_700_000_000_000
                } else {
                    (chrono::Utc::now() + chrono::TimeDelta::days(400)).timestamp_millis()
                },
                name_key: "m".into(),
                agent_id: "agt-1".into(),
            }),
        ] {
            for search in [None, Some("risk".to_owned())] {
                let query = StandingQuery {
                    kinds: vec![kind],
                    after: after.clone(),
                    search,
                    ..StandingQuery::first(100)
                };
                let plans = fixture.store.standings_query_plan(&query).expect("plan");
                assert_eq!(plans.len(), 1);
                for plan in plans {
                    assert!(plan.contains("USING COVERING INDEX"), "{query:?}: {plan}");
                    assert!(
                        !plan.contains("TEMP B-TREE"),
                        "{query:?} sorts instead of walking an index: {plan}"
                    );
                    if after.is_some() {
                        assert!(
                            plan.contains("(expires_at,name_key,agent_id)>(?,?,?)"),
                            "{query:?} must seek within its kind: {plan}"
                        );
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn idempotency_records_are_kept_a_week_then_purged_on_open() {
    use gavel::backend::Decision;
    use gavel::domain::Verdict;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("idem.db");
    let store = LocalStore::open(&path).expect("open");
    store
        .add_user("lead@example.com", "Lead", &[Role::TechnicalLead])
        .expect("user");
    let backend = LocalBackend::new(Arc::clone(&store), Some("lead@example.com".into()));
    let manifest =
        gavel::domain::Manifest::from_json(include_str!("../examples/needs-approval.json"))
            .expect("manifest");
    store
        .add_user(&manifest.agent.owner, "Owner", &[])
        .expect("owner");
    let request = LocalBackend::new(Arc::clone(&store), Some(manifest.agent.owner.clone()))
        .request_deployment(&manifest)
        .await
        .expect("request");
    let decision = Decision {
        workflow_id: request.workflow_ids[0].clone(),
        step_id: 1,
        verdict: Verdict::Approve,
        comment: None,
        expected_version: 1,
        idempotency_key: "kept".into(),
        decision_at: None,
        on_behalf_of: None,
    };
    backend.decide(&decision).await.expect("decide");
    drop((backend, store));
    let count = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .expect("open")
            .query_row("SELECT COUNT(*) FROM idempotency", [], |row| row.get(0))
            .expect("count")
    };
    let _ = LocalStore::open(&path).expect("reopen");
    assert_eq!(count(&path), 1, "a fresh record survives a restart");
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute(
            "UPDATE idempotency SET created_at = created_at - 8 * 86400000",
            [],
        )
        .expect("age it");
    let _ = LocalStore::open(&path).expect("reopen");
    assert_eq!(count(&path), 0, "a record older than a week is purged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_follows_the_change_feed_and_never_goes_back() {
    use gavel::backend::{Decision, QueueFilter};
    use gavel::domain::Verdict;
    let server = fixture();
    server
        .store
        .add_user("lead@example.com", "Lead", &[Role::TechnicalLead])
        .expect("user");
    let backend = LocalBackend::new(Arc::clone(&server.store), Some("lead@example.com".into()));
    let manifest =
        gavel::domain::Manifest::from_json(include_str!("../examples/needs-approval.json"))
            .expect("manifest");
    server
        .store
        .add_user(&manifest.agent.owner, "Owner", &[])
        .expect("owner");
    let request = LocalBackend::new(
        Arc::clone(&server.store),
        Some(manifest.agent.owner.clone()),
    )
    .request_deployment(&manifest)
    .await
    .expect("request");
    let mirror = fixture();
    let first = server.store.change_page(0, 10_000, None).expect("page");
    assert_eq!(
        mirror.store.apply_changes(&first).expect("apply"),
        first.next
    );

    let everyone = QueueQuery::first(QueueFilter::everything(), QueueSort::Age, 50);
    let on_mirror = LocalBackend::new(Arc::clone(&mirror.store), None);
    let server_queue = backend.queue(&everyone).await.expect("queue");
    assert_eq!(
        on_mirror.queue(&everyone).await.expect("queue"),
        server_queue
    );

    // The same page again does not follow the cursor: nothing changes.
    assert!(mirror.store.apply_changes(&first).is_err());
    assert_eq!(mirror.store.sync_cursor().expect("cursor"), first.next);

    // A decision arrives as the next page.
    let decided = backend
        .decide(&Decision {
            workflow_id: request.workflow_ids[0].clone(),
            step_id: 1,
            verdict: Verdict::Approve,
            comment: Some("ok".into()),
            expected_version: 1,
            idempotency_key: "mirror-1".into(),
            decision_at: None,
            on_behalf_of: None,
        })
        .await
        .expect("decide");
    let second = server
        .store
        .change_page(first.next, 10_000, None)
        .expect("page");
    mirror.store.apply_changes(&second).expect("apply");
    assert_eq!(
        on_mirror
            .workflow(&decided.workflow_id)
            .await
            .expect("workflow"),
        decided
    );

    // A stale row in a later page never replaces a newer one.
    let mut stale = server.store.change_page(0, 10_000, None).expect("page");
    stale.changes.retain(|change| change.seq > second.next);
    stale.next = second.next;
    for workflow in &mut stale.entities.workflows {
        workflow.version = 1;
    }
    mirror
        .store
        .apply_changes(&stale)
        .expect("an empty page at the cursor applies");
    assert_eq!(
        on_mirror
            .workflow(&decided.workflow_id)
            .await
            .expect("workflow")
            .version,
        decided.version
    );
}

/// Deployment checks running while a version is approved each see one
/// version whole: the policies that fire are those of the version the
/// evaluation names, and no check sees the old version after the new.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn activation_is_atomic_under_concurrent_checks() {
    let fixture = fixture();
    for (email, roles) in [
        (common::REQUESTER, vec![Role::TechnicalLead]),
        (common::ADMIN, vec![Role::PolicyAdmin]),
        (common::ADMIN2, vec![Role::PolicyAdmin]),
    ] {
        fixture.store.add_user(email, email, &roles).expect("user");
    }
    let admin = LocalBackend::new(Arc::clone(&fixture.store), Some(common::ADMIN.into()));
    let proposed = admin
        .propose_policy_set(&common::conformance::regional_set())
        .await
        .expect("propose");
    let version = proposed.version.version;
    let mut eu = common::manifest("agt-concurrent-eu");
    eu.agent.labels.insert("region".into(), "eu".into());

    let checkers: Vec<_> = (0..3)
        .map(|_| {
            let store = Arc::clone(&fixture.store);
            let eu = eu.clone();
            tokio::spawn(async move {
                let requester = LocalBackend::new(store, Some(common::REQUESTER.into()));
                let mut seen = Vec::new();
                for _ in 0..150 {
                    let evaluation = requester.check_deployment(&eu).await.expect("check");
                    let fired = evaluation
                        .triggered_policies
                        .iter()
                        .any(|policy| policy.policy_id == "eu_residency");
                    seen.push((evaluation.policy_set_version, fired));
                    tokio::task::yield_now().await;
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let admin2 = LocalBackend::new(Arc::clone(&fixture.store), Some(common::ADMIN2.into()));
    admin2
        .decide_policy_set(version, true, None)
        .await
        .expect("approve");

    let (mut before, mut after) = (0, 0);
    for checker in checkers {
        let seen = checker.await.expect("checker");
        let mut switched = false;
        for (seen_version, fired) in seen {
            match seen_version {
                Some(1) => {
                    assert!(!switched, "the old version after the new");
                    assert!(!fired, "version 1 has no eu_residency");
                    before += 1;
                }
                Some(v) if v == version => {
                    switched = true;
                    assert!(fired, "version {version} fires eu_residency");
                    after += 1;
                }
                other => panic!("an evaluation under {other:?}"),
            }
        }
    }
    assert!(after > 0, "some checks ran after the approval");
    eprintln!("{before} checks under version 1, {after} under version {version}");
}

/// The store reads "now" from its clock: moving the clock past an audit's
/// allowed age turns a passing standing into an expired one, with no write
/// and no waiting.
#[tokio::test]
async fn the_store_clock_moves_audits_past_their_age() {
    use chrono::{TimeDelta, TimeZone, Utc};
    use gavel::clock::ManualClock;
    use gavel::domain::bias::standing::Attention;

    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(&dir.path().join("s.db")).unwrap();
    let anchor = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    gavel::seed::seed(
        &store,
        &gavel::seed::SeedOptions {
            workflows: 300,
            seed: 5,
            anchor,
        },
        &mut |_| {},
    )
    .unwrap();
    let clock = ManualClock::at(anchor);
    store.set_clock(clock.clone());
    assert_eq!(store.now(), anchor);
    let backend = LocalBackend::new(Arc::clone(&store), Some(gavel::seed::DEMO_USER.into()));

    let every = |within| StandingQuery {
        due_within: within,
        ..StandingQuery::first(500)
    };
    let before = common::conformance::every_standing(&backend, every(TimeDelta::zero())).await;
    let passing = before
        .iter()
        .filter(|standing| standing.attention == Attention::Passing)
        .count();
    assert!(passing > 0, "a seeded store has passing audits");

    clock.advance(TimeDelta::days(3 * 365));
    let after = common::conformance::every_standing(&backend, every(TimeDelta::zero())).await;
    assert!(
        after
            .iter()
            .all(|standing| standing.attention != Attention::Passing),
        "three years on, no audit still counts"
    );
    assert!(
        after
            .iter()
            .filter(|standing| standing.attention == Attention::Expired)
            .count()
            >= passing
    );
}

/// The change mark a console watches stays put while nothing is written,
/// and moves on a commit made through another connection (here, a second
/// process's store on the same file, as the CLI would be).
#[tokio::test]
async fn the_change_mark_moves_only_when_someone_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("watched.db");
    let console = LocalBackend::new(LocalStore::open(&path).expect("open"), None);
    let first = console
        .change_mark()
        .await
        .expect("mark")
        .expect("a local store can tell");
    assert_eq!(console.change_mark().await.expect("mark"), Some(first));
    let elsewhere = LocalStore::open(&path).expect("a second opener");
    elsewhere
        .add_user("someone@example.com", "Someone", &[Role::TechnicalLead])
        .expect("write");
    let moved = console.change_mark().await.expect("mark").expect("mark");
    assert_ne!(moved, first);
    assert_eq!(console.change_mark().await.expect("mark"), Some(moved));
}
