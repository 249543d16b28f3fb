//! Evidence packs at scale: one agent with 1,000 workflows, each with its
//! request, both steps decided and their trail, beside a seeded store;
//! exported (read, signed, zipped) and verified as an auditor would.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gavel::backend::EvidenceQuery;
use gavel::backend::local::{LocalBackend, LocalStore, logkey};
use gavel::backend::{Decision, GovernanceBackend};
use gavel::domain::{Manifest, Role, Verdict};
use gavel::evidence::pack;
use gavel::evidence::verify::{Key, verify};

use crate::report::{Figure, best_of, ms};

const AGENT: &str = "agt-evidence-bench";

fn manifest(version: usize) -> Manifest {
    Manifest::from_json(&format!(
        r#"{{"agent_id": "{AGENT}", "name": "Evidence bench agent", "team": "Platform",
            "owner": "owner@example.com", "category": "customer_service",
            "data_classification": "confidential", "has_external_tools": false,
            "risk_tier": "medium", "version": "1.0.{version}"}}"#
    ))
    .expect("manifest")
}

/// `workflows` requests of one agent in `store`, each decided by a lead and
/// a data steward.
async fn agent_with_workflows(store: &Arc<LocalStore>, workflows: usize) {
    for (email, roles) in [
        ("owner@example.com", vec![]),
        ("bench.lead@example.com", vec![Role::TechnicalLead]),
        ("bench.steward@example.com", vec![Role::DataSteward]),
    ] {
        store.add_user(email, email, &roles).expect("user");
    }
    let as_user = |email: &str| LocalBackend::new(Arc::clone(store), Some(email.into()));
    let (owner, lead, steward) = (
        as_user("owner@example.com"),
        as_user("bench.lead@example.com"),
        as_user("bench.steward@example.com"),
    );
    for n in 0..workflows {
        let request = owner
            .request_deployment(&manifest(n))
            .await
            .expect("request");
        for decider in [&lead, &steward] {
            let workflow = decider
                .workflow(&request.workflow_ids[0])
                .await
                .expect("workflow");
            let step = workflow.current_step().expect("a step").step_id;
            decider
                .decide(&Decision {
                    workflow_id: workflow.workflow_id.clone(),
                    step_id: step,
                    verdict: Verdict::Approve,
                    comment: Some("checked".into()),
                    expected_version: workflow.version,
                    idempotency_key: Decision::new_key(),
                    decision_at: None,
                    on_behalf_of: None,
                })
                .await
                .expect("decide");
        }
    }
}

pub async fn figures(large: &Path, label: &str, workflows: usize) -> Vec<Figure> {
    let store = LocalStore::open(large).expect("store");
    agent_with_workflows(&store, workflows).await;
    let key = logkey::load_or_create(&logkey::default_path(large), large).expect("log key");
    let officer = gavel::seed::DEMO_USER;
    let query = EvidenceQuery {
        agent_id: AGENT.into(),
        agent_version: None,
        from: None,
        to: None,
    };
    let (exporting, bytes) = best_of(3, || {
        let files = store
            .evidence_pack(officer, &key, &query, chrono::Utc::now())
            .expect("export");
        pack::zip(&files).expect("zip")
    });
    let files = pack::unzip(&bytes).expect("unzip").len();
    let (verifying, report) = best_of(3, || verify(&bytes, Key::Given(&key.verifier_key)));
    assert!(report.holds(), "{:?}", report.problems);
    vec![
        Figure::new(
            format!("evidence export, one agent with {workflows} workflows ({label})"),
            ms(exporting),
        )
        .target("< 5 s", exporting < Duration::from_secs(5))
        .reference(format!(
            "{files} files, {} KB zipped, {} trail events with proofs",
            bytes.len().div_ceil(1024),
            report.events
        )),
        Figure::new("evidence verify, the same pack (offline)", ms(verifying)),
    ]
}
