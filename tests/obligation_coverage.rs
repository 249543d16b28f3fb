//! Leadership's obligation coverage is kept, not judged per agent on each
//! read: the Blocked tab's figures follow intakes and confirmations at
//! once, and the clock alone (a duty coming into effect, evidence lapsing)
//! moves them, with `audit verify`'s recount agreeing at every step.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::backend::{FrameworkCoverage, GovernanceBackend};
use gavel::clock::ManualClock;
use gavel::domain::obligations::{IntakeSave, NewConfirmation};
use gavel::seed::{self, DEMO_USER, SeedOptions};

/// A framework whose one duty, a notice confirmed by a compliance officer,
/// applies to every agent from 2027-01-01.
const LATER_LAW: &str = r#"
[[framework]]
id = "later"
name = "A later law"
version = "1"
date = 2026-01-01
source = "https://example.org/later"

[[framework.obligation]]
id = "later.notice"
title = "Notice given"
citation = "Sec. 1"
summary = "People are told before it is used."
binds = ["deployer"]
applies_from = 2027-01-01

[[framework.obligation.evidence]]
kind = "confirmation"
role = "compliance_officer"
what = "notice given before use"
"#;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a time")
}

struct World {
    store: Arc<LocalStore>,
    backend: LocalBackend,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(frameworks: &[&str]) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(&dir.path().join("coverage.db")).expect("store");
        seed::seed(
            &store,
            &SeedOptions {
                workflows: 120,
                seed: 3,
                anchor: at("2026-06-01T00:00:00Z"),
            },
            &mut |_| {},
        )
        .expect("seed");
        store.set_clock(ManualClock::at(at("2026-12-06T12:00:00Z")));
        common::harness::adopt_frameworks(&store, frameworks).await;
        let backend = LocalBackend::new(Arc::clone(&store), Some(DEMO_USER.to_owned()));
        World {
            store,
            backend,
            _dir: dir,
        }
    }

    async fn coverage(&self, framework: &str) -> FrameworkCoverage {
        let dashboard = self.backend.dashboard().await.expect("dashboard");
        dashboard
            .obligations
            .into_iter()
            .find(|figure| figure.framework == framework)
            .unwrap_or_else(|| panic!("{framework} in the dashboard"))
    }

    fn recount_agrees(&self) {
        let differ = self.store.kept_figures_that_differ().expect("recount");
        assert!(differ.is_empty(), "{differ:#?}");
    }

    /// A compliance officer confirms the later law's notice for `agent`,
    /// until June 2027.
    async fn confirm_the_notice(&self, agent: &str) {
        self.backend
            .confirm_obligation(&NewConfirmation {
                obligation_id: "later.notice".into(),
                agent_id: agent.to_owned(),
                link: Some("https://intranet.example/notice".into()),
                file_sha256: None,
                valid_until: at("2027-06-01T00:00:00Z"),
                comment: "posted".into(),
            })
            .await
            .expect("confirm");
    }

    async fn agents(&self) -> Vec<String> {
        let page = self
            .backend
            .postures(&gavel::domain::obligations::PostureQuery {
                after: None,
                limit: 50,
                unmet: false,
            })
            .await
            .expect("postures");
        page.items.into_iter().map(|item| item.agent_id).collect()
    }
}

#[tokio::test]
async fn the_clock_alone_moves_coverage_as_duties_start_and_evidence_lapses() {
    let world = World::new(&[LATER_LAW]).await;
    let before = world.coverage("later").await;
    assert!(before.agents > 0, "{before:?}");
    assert_eq!(before.unmet, 0, "not yet in effect: {before:?}");
    world.recount_agrees();

    // The law's first day: every agent it applies to is unmet, no write.
    world
        .store
        .set_clock(ManualClock::at(at("2027-01-01T00:00:00Z")));
    let in_effect = world.coverage("later").await;
    assert_eq!(in_effect.unmet, in_effect.agents);
    world.recount_agrees();

    // A confirmation meets it for one agent until June.
    let agent = world.agents().await.remove(0);
    world.confirm_the_notice(&agent).await;
    assert_eq!(world.coverage("later").await.unmet, in_effect.agents - 1);
    world.recount_agrees();

    // After it lapses the agent counts again, with no write.
    world
        .store
        .set_clock(ManualClock::at(at("2027-06-02T00:00:00Z")));
    assert_eq!(world.coverage("later").await.unmet, in_effect.agents);
    world.recount_agrees();
}

#[tokio::test]
async fn an_intake_that_takes_an_agent_out_of_a_framework_counts_at_once() {
    let world = World::new(&[
        include_str!("../examples/frameworks/intake.toml"),
        include_str!("../examples/frameworks/nyc-ll144.toml"),
    ])
    .await;
    // No intake answered: New York's duties apply to every agent, failing
    // closed, and its audit duty is unmet.
    let before = world.coverage("nyc-ll144").await;
    assert!(before.agents > 0);
    assert_eq!(before.unmet, before.agents);
    world.recount_agrees();

    let agent = world.agents().await.remove(0);
    let version = world.backend.agent(&agent).await.expect("agent").version;
    let answers = serde_json::json!({
        "organisation_role": "deployer", "eu_use": false, "annex_iii_area": "none",
        "credit_or_insurance_pricing": false, "public_service": false,
        "decides_about_people": false, "used_at_workplace": false,
        "interacts_with_people": false, "emotion_or_biometric_categorisation": false,
        "generates_deep_fakes": false, "prohibited_practices": "none_apply",
        "nyc_aedt": false, "colorado_consequential": false
    });
    world
        .backend
        .save_intake(&IntakeSave {
            agent_id: agent,
            agent_version: version,
            answers: serde_json::from_value(answers).expect("answers"),
            submit: true,
        })
        .await
        .expect("submit the intake");
    let after = world.coverage("nyc-ll144").await;
    assert_eq!(after.agents, before.agents - 1, "not an AEDT: out of it");
    assert_eq!(after.unmet, before.unmet - 1);
    world.recount_agrees();
}

/// Approving a set judges every agent again a slice of agents per
/// transaction: until the last slice, the figures say they are being
/// counted rather than show a part; a write during the fill is kept.
#[tokio::test]
async fn coverage_fills_again_a_slice_at_a_time_and_reads_as_being_counted_meanwhile() {
    use gavel::backend::local::writes::{fill_coverage_slice, restart_coverage};
    let world = World::new(&[LATER_LAW]).await;
    world
        .store
        .set_clock(ManualClock::at(at("2027-01-01T00:00:00Z")));
    let whole = world.coverage("later").await;
    assert!(whole.agents > 3, "{whole:?}");

    world.store.write(restart_coverage).expect("restart");
    let counting = world.backend.dashboard().await.expect("dashboard");
    assert!(counting.obligations_counting);
    assert!(counting.obligations.is_empty(), "never a part shown");

    let now = world.store.now();
    let more = world
        .store
        .write(|tx| fill_coverage_slice(tx, now, 2))
        .expect("a slice");
    assert!(more, "two agents of many: more to do");
    // The agents not reached yet are not a difference audit verify reports.
    world.recount_agrees();
    assert!(
        world
            .backend
            .dashboard()
            .await
            .expect("dashboard")
            .obligations_counting
    );
    // A confirmation recorded mid-fill, for an agent not reached yet.
    let last = world.agents().await.pop().expect("an agent");
    world.confirm_the_notice(&last).await;
    assert!(
        world
            .store
            .fill_coverage_for(std::time::Duration::MAX)
            .expect("fill")
    );
    let filled = world.coverage("later").await;
    assert_eq!(filled.agents, whole.agents);
    assert_eq!(
        filled.unmet,
        whole.unmet - 1,
        "the confirmation counts once"
    );
    world.recount_agrees();
}
