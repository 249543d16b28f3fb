//! Issue 38's walk: a hiring agent used in New York and in the EU, from
//! filing to allowed under the shipped frameworks, with the store's clock
//! after 2 December 2027 — intake, duties listed, unmet duties holding the
//! request, audits that do not meet Local Law 144's independence and one
//! that does, sign-offs and confirmations, the request approved, and the
//! posture in its evidence pack verified offline; before that date the EU's
//! Annex III duties are not yet in effect.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::conformance::{complete_answers, decision};
use gavel::backend::GovernanceBackend;
use gavel::backend::local::{LocalBackend, LocalStore};
use gavel::clock::ManualClock;
use gavel::domain::bias::tables::CategoryCounts;
use gavel::domain::bias::{AuditData, AuditSource, AuditSubmission, TableCounts};
use gavel::domain::obligations::{IntakeSave, NewConfirmation, Posture, State};
use gavel::domain::policy::frameworks::Requirement;
use gavel::domain::policy::set::{BUILTIN_SET, Checks, PolicySet, PolicySetFile};
use gavel::domain::{DeploymentStatus, Manifest, Role, Verdict};

const DEV: &str = "dev@example.com";
const ML: &str = "ml@example.com";
const AUDITOR: &str = "auditor@audits.example";
const OFFICER: &str = "officer@example.com";
const LEAD: &str = "lead@example.com";
const STEWARD: &str = "steward@example.com";
const ETHICS: &str = "ethics@example.com";
const AGENT: &str = "agt-hiring";

fn set_text() -> String {
    format!(
        "{BUILTIN_SET}\n[obligations]\ngate = \"block\"\n{}\n{}\n{}",
        include_str!("../examples/frameworks/intake.toml"),
        include_str!("../examples/frameworks/nyc-ll144.toml"),
        include_str!("../examples/frameworks/eu-ai-act.toml"),
    )
}

struct World {
    store: Arc<LocalStore>,
    key: Arc<gavel::backend::local::logkey::LogKey>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl World {
    fn new(at: &str) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("walk.db");
        let store = LocalStore::open(&db).expect("store");
        // The key evidence packs are signed with (`gavel trail init`).
        let key = gavel::backend::local::logkey::create(
            &gavel::backend::local::logkey::default_path(&db),
            &db,
        )
        .expect("log key");
        let clock = ManualClock::at(at.parse().expect("time"));
        store.set_clock(clock.clone());
        for (email, roles) in [
            (DEV, vec![]),
            (ML, vec![Role::MlEngineer]),
            (AUDITOR, vec![Role::IndependentAuditor]),
            (OFFICER, vec![Role::ComplianceOfficer]),
            (LEAD, vec![Role::TechnicalLead]),
            (STEWARD, vec![Role::DataSteward]),
            (ETHICS, vec![Role::EthicsReviewer]),
            ("pat@example.com", vec![Role::PolicyAdmin]),
            ("sam@example.com", vec![Role::PolicyAdmin]),
        ] {
            store.add_user(email, email, &roles).expect("user");
        }
        World {
            store,
            key: Arc::new(key),
            clock,
            _dir: dir,
        }
    }

    fn as_user(&self, email: &str) -> LocalBackend {
        LocalBackend::new(Arc::clone(&self.store), Some(email.to_owned()))
            .with_log_key(Arc::clone(&self.key))
    }

    async fn adopt(&self) {
        let proposed = self
            .as_user("pat@example.com")
            .propose_policy_set(&set_text())
            .await
            .expect("propose the frameworks");
        self.as_user("sam@example.com")
            .decide_policy_set(proposed.version.version, true, Some("adopt"))
            .await
            .expect("a second policy admin approves");
    }

    async fn posture(&self) -> Posture {
        self.as_user(OFFICER)
            .obligations(AGENT, None)
            .await
            .expect("posture")
    }
}

fn manifest() -> Manifest {
    Manifest::from_json(
        &serde_json::json!({
            "agent_id": AGENT, "name": "Hiring screen", "team": "People", "owner": DEV,
            "category": "human_resources", "data_classification": "internal",
            "has_external_tools": false, "risk_tier": "high", "version": "1.0.0"
        })
        .to_string(),
    )
    .expect("manifest")
}

fn state<'a>(posture: &'a Posture, id: &str) -> &'a State {
    &posture
        .obligations
        .iter()
        .find(|obligation| obligation.obligation == id)
        .unwrap_or_else(|| panic!("{id}"))
        .state
}

/// Passing tables by sex, race/ethnicity and their intersection.
fn tables() -> Vec<TableCounts> {
    let category = |values: &[&str], positive: u64| CategoryCounts {
        values: values.iter().map(|value| value.to_string()).collect(),
        positive,
        total: 100,
        excluded: None,
    };
    vec![
        TableCounts {
            attributes: vec!["sex".into()],
            unknown: 0,
            categories: vec![category(&["female"], 48), category(&["male"], 50)],
        },
        TableCounts {
            attributes: vec!["race_ethnicity".into()],
            unknown: 0,
            categories: vec![category(&["black"], 47), category(&["white"], 50)],
        },
        TableCounts {
            attributes: vec!["sex".into(), "race_ethnicity".into()],
            unknown: 0,
            categories: vec![
                category(&["female", "black"], 46),
                category(&["female", "white"], 50),
                category(&["male", "black"], 48),
                category(&["male", "white"], 50),
            ],
        },
    ]
}

fn audit(source: Option<AuditSource>) -> AuditSubmission {
    AuditSubmission {
        agent_id: AGENT.into(),
        agent_version: "1.0.0".into(),
        tested_at: None,
        groups: Vec::new(),
        attributes: tables(),
        mode: Default::default(),
        source,
        threshold: None,
    }
}

fn audit_co() -> Option<AuditSource> {
    Some(AuditSource {
        auditor: "Audit Co".into(),
        independent: true,
        data: AuditData::Historical,
        reference: Some("https://careers.example/ll144-summary".into()),
        file_sha256: None,
    })
}

fn answered_intake() -> IntakeSave {
    IntakeSave {
        agent_id: AGENT.into(),
        agent_version: "1.0.0".into(),
        answers: serde_json::from_value(common::obligations::hiring_in_new_york_and_the_eu())
            .expect("answers"),
        submit: true,
    }
}

#[tokio::test]
async fn a_hiring_agent_in_new_york_and_the_eu_walks_from_filing_to_allowed() {
    let world = World::new("2027-12-03T09:00:00Z");
    world.adopt().await;
    let dev = world.as_user(DEV);

    // Filed without an intake: blocked, saying how to answer it.
    let first = dev.request_deployment(&manifest()).await.expect("request");
    assert_eq!(first.status, DeploymentStatus::Blocked);
    assert!(
        first
            .triggered_policies
            .iter()
            .any(|policy| policy.policy_id == "intake_required"),
        "{:?}",
        first.triggered_policies
    );

    dev.save_intake(&answered_intake()).await.expect("intake");
    let posture = world.posture().await;
    for id in [
        "nyc-ll144.bias-audit",
        "nyc-ll144.published-summary",
        "nyc-ll144.notice",
        "eu-ai-act.art-26.2",
        "eu-ai-act.art-26.6",
        "eu-ai-act.art-26.7",
        "eu-ai-act.art-26.11",
    ] {
        assert!(
            matches!(state(&posture, id), State::Unmet { .. }),
            "{id}: {:?}",
            state(&posture, id)
        );
    }
    assert!(matches!(
        state(&posture, "eu-ai-act.art-27"),
        State::NotApplicable { .. }
    ));

    // Unmet duties hold the request (the gate blocks).
    let second = dev.request_deployment(&manifest()).await.expect("request");
    assert_eq!(second.status, DeploymentStatus::Blocked);
    let gate = second
        .triggered_policies
        .iter()
        .find(|policy| policy.policy_id == "obligations_unmet")
        .expect("the gate fired");
    assert!(gate.reason.contains("nyc-ll144.bias-audit"), "{gate:?}");

    // An audit recorded without a source, and one an ML engineer imports
    // claiming independence, leave the independent-audit duty unmet.
    let ml = world.as_user(ML);
    ml.record_audit(&audit(None)).await.expect("counts");
    ml.record_audit(&audit(audit_co())).await.expect("claimed");
    assert!(matches!(
        state(&world.posture().await, "nyc-ll144.bias-audit"),
        State::Unmet { .. }
    ));
    // The auditor's own account records it: met.
    world
        .as_user(AUDITOR)
        .record_audit(&audit(audit_co()))
        .await
        .expect("the auditor records");
    assert!(state(&world.posture().await, "nyc-ll144.bias-audit").is_met());

    // Every confirmation the adopted duties name, by the role named.
    let set = PolicySet::compile(
        PolicySetFile::parse(&set_text()).expect("parse"),
        Checks::Names,
    )
    .expect("compile");
    let posture = world.posture().await;
    for (_, obligation, _) in set.obligations() {
        if !matches!(state(&posture, &obligation.id), State::Unmet { .. }) {
            continue;
        }
        for requirement in &obligation.evidence {
            let Requirement::Confirmation { role, .. } = requirement else {
                continue;
            };
            let who = match *role {
                Role::TechnicalLead => LEAD,
                _ => OFFICER,
            };
            world
                .as_user(who)
                .confirm_obligation(&NewConfirmation {
                    obligation_id: obligation.id.clone(),
                    agent_id: AGENT.into(),
                    link: Some("https://intranet.example/ai/hiring-screen".into()),
                    file_sha256: None,
                    valid_until: "2028-12-01T00:00:00Z".parse().expect("until"),
                    comment: "in place".into(),
                })
                .await
                .unwrap_or_else(|err| panic!("{}: {err}", obligation.id));
        }
    }

    // What is left comes with the request: the chain's sign-offs and the
    // ethics review. The gate lets it through to them.
    let third = dev.request_deployment(&manifest()).await.expect("request");
    assert_eq!(third.status, DeploymentStatus::PendingApproval, "{third:?}");
    for workflow_id in &third.workflow_ids {
        loop {
            let workflow = dev.workflow(workflow_id).await.expect("workflow");
            let Some(step) = workflow.current_step() else {
                break;
            };
            let who = match step.role {
                Role::TechnicalLead => LEAD,
                Role::DataSteward => STEWARD,
                Role::MlEngineer => ML,
                Role::EthicsReviewer => ETHICS,
                _ => OFFICER,
            };
            if step.role == Role::EthicsReviewer {
                let review = world
                    .as_user(OFFICER)
                    .assign_review(workflow_id, ETHICS)
                    .await
                    .expect("assign");
                let ethics = world.as_user(ETHICS);
                if review.status != gavel::domain::ReviewStatus::Submitted {
                    ethics
                        .submit_review(&review.review_id, &complete_answers())
                        .await
                        .expect("review");
                }
            }
            world
                .as_user(who)
                .decide(&decision(&workflow, Verdict::Approve, Some("fine")))
                .await
                .unwrap_or_else(|err| panic!("{who} on {workflow_id}: {err}"));
        }
    }
    let decided = dev
        .deployment(&third.deployment_id)
        .await
        .expect("deployment");
    assert_eq!(decided.status, DeploymentStatus::Approved);
    let posture = world.posture().await;
    let unmet: Vec<&str> = posture
        .unmet()
        .map(|obligation| obligation.obligation.as_str())
        .collect();
    assert!(unmet.is_empty(), "every duty in effect is met: {unmet:?}");

    // Its evidence pack carries the posture, and it verifies offline.
    let zip = world
        .as_user(OFFICER)
        .evidence_pack(&gavel::backend::EvidenceQuery {
            agent_id: AGENT.into(),
            agent_version: Some("1.0.0".into()),
            from: None,
            to: None,
        })
        .await
        .expect("pack");
    let report = gavel::evidence::verify::verify(&zip, gavel::evidence::verify::Key::TrustPack);
    assert!(report.holds(), "{:?}", report.problems);
    let files = gavel::evidence::pack::unzip(&zip).expect("unzip");
    let packed: gavel::evidence::obligations::PackedPosture = serde_json::from_slice(
        &files
            .iter()
            .find(|file| file.path == gavel::evidence::obligations::POSTURE)
            .expect("obligations/posture.json")
            .bytes,
    )
    .expect("posture");
    assert!(state(&packed.posture, "nyc-ll144.bias-audit").is_met());

    // Planning New York's law back in, after a set without it: its audit
    // duty comes to apply to the agent and is met by the auditor's audit
    // (the plan reads the agent's independent audits).
    let without_nyc = set_text().replace(include_str!("../examples/frameworks/nyc-ll144.toml"), "");
    let proposed = world
        .as_user("pat@example.com")
        .propose_policy_set(&without_nyc)
        .await
        .expect("propose");
    world
        .as_user("sam@example.com")
        .decide_policy_set(proposed.version.version, true, Some("for a while"))
        .await
        .expect("approve");
    let plan = world
        .as_user("pat@example.com")
        .plan_policy_set(&set_text())
        .await
        .expect("plan");
    let audit_duty = plan.impact.obligations["nyc-ll144.bias-audit"];
    assert_eq!(
        (audit_duty.applies, audit_duty.unmet),
        (1, 0),
        "{:?}",
        plan.impact
    );
    assert_eq!(plan.impact.obligations["nyc-ll144.notice"].unmet, 0);
}

#[tokio::test]
async fn before_2_december_2027_the_eu_annex_iii_duties_are_not_yet_in_effect() {
    let world = World::new("2027-06-01T09:00:00Z");
    world.adopt().await;
    let dev = world.as_user(DEV);
    dev.request_deployment(&manifest()).await.expect("request");
    dev.save_intake(&answered_intake()).await.expect("intake");
    let posture = world.posture().await;
    assert!(matches!(
        state(&posture, "eu-ai-act.art-26.2"),
        State::NotYetInEffect { .. }
    ));
    assert!(matches!(
        state(&posture, "nyc-ll144.notice"),
        State::Unmet { .. }
    ));
    // The clock moves past the date: the same duty now applies and is unmet.
    let after: DateTime<Utc> = "2027-12-02T00:00:01Z".parse().expect("time");
    world.clock.set(after);
    let posture = world.posture().await;
    assert!(matches!(
        state(&posture, "eu-ai-act.art-26.2"),
        State::Unmet { .. }
    ));
}
