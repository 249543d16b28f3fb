//! Step SLAs at scale: the scheduler's pass when nothing is due (what every
//! worker pass costs on a large store), alerting steps that are due against
//! deciding the same number of steps, and the dashboard with its overdue
//! count.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use gavel::backend::local::{LocalBackend, LocalStore, writes};
use gavel::backend::{Decision, GovernanceBackend};
use gavel::domain::{Manifest, Role, Verdict};

use crate::report::{Figure, best_of, ms};

fn manifest(n: usize) -> Manifest {
    Manifest::from_json(&format!(
        r#"{{"agent_id": "agt-sla-{n}", "name": "SLA agent {n}", "team": "Platform",
            "owner": "sla.owner@example.com", "category": "customer_service",
            "data_classification": "confidential", "has_external_tools": false,
            "risk_tier": "medium", "version": "1.0.0"}}"#
    ))
    .expect("manifest")
}

/// A store of its own with `count` steps under a 48-hour SLA, half of them
/// to alert and half to decide.
async fn store_with_sla_steps(dir: &Path, count: usize) -> (Arc<LocalStore>, Vec<Decision>) {
    let store = LocalStore::open(&dir.join("slas.db")).expect("store");
    for (email, roles) in [
        ("sla.owner@example.com", vec![]),
        ("lead@example.com", vec![Role::TechnicalLead]),
        ("admin@example.com", vec![Role::PolicyAdmin]),
        ("admin2@example.com", vec![Role::PolicyAdmin]),
    ] {
        store.add_user(email, email, &roles).expect("user");
    }
    let as_user = |email: &str| LocalBackend::new(Arc::clone(&store), Some(email.into()));
    let set = gavel::domain::policy::set::BUILTIN_SET.replace(
        r#"approval_chain = ["technical_lead", "data_steward"]"#,
        r#"approval_chain = [{ role = "technical_lead", sla = "48h" }, "data_steward"]"#,
    ) + "\n[sla]\nescalate_to = \"compliance_officer\"\n";
    let proposed = as_user("admin@example.com")
        .propose_policy_set(&set)
        .await
        .expect("propose");
    as_user("admin2@example.com")
        .decide_policy_set(proposed.version.version, true, Some("SLAs"))
        .await
        .expect("approve");
    let owner = as_user("sla.owner@example.com");
    let lead = as_user("lead@example.com");
    let mut decisions = Vec::new();
    for n in 0..count {
        let request = owner
            .request_deployment(&manifest(n))
            .await
            .expect("request");
        if n % 2 == 0 {
            let workflow = lead
                .workflow(&request.workflow_ids[0])
                .await
                .expect("workflow");
            decisions.push(Decision {
                workflow_id: workflow.workflow_id.clone(),
                step_id: 1,
                verdict: Verdict::Approve,
                comment: None,
                expected_version: workflow.version,
                idempotency_key: Decision::new_key(),
                decision_at: None,
                on_behalf_of: None,
            });
        }
    }
    (store, decisions)
}

pub async fn figures(large: &Path, label: &str, scratch: &Path, steps: usize) -> Vec<Figure> {
    let store = LocalStore::open(large).expect("store");
    let now = Utc::now();
    let (idle, ()) = best_of(20, || {
        let fired = store
            .write(|tx| writes::alert_due_steps(tx, now, 200))
            .expect("pass");
        assert_eq!(fired, 0, "the seeded store has no SLA steps");
    });
    let (dashboard, ()) = best_of(5, || {
        store.dashboard_at(now).expect("dashboard");
    });
    drop(store);

    let (store, decisions) = store_with_sla_steps(scratch, steps).await;
    let later = Utc::now() + TimeDelta::hours(30);
    let started = Instant::now();
    let mut alerted = 0;
    loop {
        let fired = store
            .write(|tx| writes::alert_due_steps(tx, later, 200))
            .expect("alert");
        alerted += fired;
        if fired < 200 {
            break;
        }
    }
    let alerting = started.elapsed();
    // Every step was alerted above, in batches of 200; half are now
    // decided, one decision per transaction as people make them.
    let lead = LocalBackend::new(Arc::clone(&store), Some("lead@example.com".into()));
    let started = Instant::now();
    for decision in &decisions {
        lead.decide(decision).await.expect("decide");
    }
    let deciding = started.elapsed();
    let per_second = |count: usize, took: Duration| count as f64 / took.as_secs_f64().max(1e-9);
    vec![
        Figure::new(format!("SLA pass with nothing due ({label})"), ms(idle))
            .target("<= 5 ms", idle <= Duration::from_millis(5))
            .reference(format!(
                "the dashboard on the same store: {}",
                ms(dashboard)
            )),
        Figure::new(
            format!("steps reminded (step, trail event and outbox event each), {alerted} due"),
            format!("{:.0} steps/s", per_second(alerted, alerting)),
        )
        .reference(format!(
            "{} steps decided one by one on the same store: {:.0}/s",
            decisions.len(),
            per_second(decisions.len(), deciding)
        )),
    ]
}
