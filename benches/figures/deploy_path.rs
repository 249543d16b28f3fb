//! The deploy path at scale: an agent version's attestation issued (read,
//! judged, signed with its trail proof), checked offline as a deployment
//! system would, and an admission review answered, on a seeded store.

use std::path::Path;
use std::time::Duration;

use gavel::backend::local::attestations::{Attestation, attest, judge};
use gavel::backend::local::{LocalStore, logkey};
use gavel::domain::admission::{self, Mode, Standing, Unannotated};
use gavel::domain::attestation::Attested;
use gavel::domain::attestation::dsse::PublicKey;
use gavel::domain::attestation::verify::{Expect, check};

use crate::report::{Figure, best_of, ms};

/// An agent version that stands in the seeded store.
fn standing_version(store: &LocalStore) -> (String, String) {
    let path = store.path().expect("a file store").to_owned();
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row(
        "SELECT agent_id, version FROM agents WHERE standing_since IS NOT NULL ORDER BY agent_id LIMIT 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .expect("a standing agent version")
}

pub fn figures(large: &Path, label: &str) -> Vec<Figure> {
    let store = LocalStore::open(large).expect("store");
    let key = logkey::load_or_create(&logkey::default_path(large), large).expect("log key");
    store
        .write(|tx| logkey::sign_checkpoint(tx, &key, chrono::Utc::now()))
        .expect("checkpoint");
    let (agent, version) = standing_version(&store);
    let now = chrono::Utc::now();
    let (issuing, answer) = best_of(5, || {
        store
            .read(|conn| attest(conn, &key, &agent, &version, now, None))
            .expect("attest")
    });
    let Attestation::Answered { attested } = answer else {
        panic!("no checkpoint covers {agent} {version}");
    };
    let text = serde_json::to_vec(attested.envelope()).expect("envelope");
    let public = PublicKey::of(&key.attestation.verifying_key());
    let (verifying, report) = best_of(5, || {
        check(
            &text,
            &public,
            &Expect {
                subject_digest: None,
                log_key: Some(&key.verifier_key),
            },
            now,
        )
    });
    let issued = matches!(attested, Attested::Issued(_));
    assert!(!issued || report.holds(), "{:?}", report.problems);

    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": { "uid": "bench", "kind": { "group": "apps", "version": "v1", "kind": "Deployment" },
            "operation": "CREATE", "namespace": "agents", "name": "bench",
            "object": { "metadata": { "annotations": { "gavel/agent": agent, "gavel/version": version } },
                "spec": { "template": { "spec": { "containers": [{ "name": "c", "image": "registry.example.com/x@sha256:00" }] } } } } }
    })
    .to_string();
    let (answering, allowed) = best_of(5, || {
        let parsed = admission::parse(review.as_bytes()).expect("review");
        let workload = parsed.workload.expect("workload");
        let judged = store
            .read(|conn| judge(conn, &agent, &version, now, None))
            .expect("judge");
        let standing = if judged.stands() {
            Standing::Stands {
                artifacts: judged.request.artifacts.clone(),
            }
        } else {
            Standing::DoesNot {
                reasons: judged.rules(),
            }
        };
        admission::judge(Mode::Enforce, Unannotated::Allow, &workload, |_, _| {
            standing.clone()
        })
        .allowed
    });
    vec![
        Figure::new(
            format!("attestation issued for {agent} {version} ({label})"),
            ms(issuing),
        )
        .target("< 100 ms", issuing < Duration::from_millis(100))
        .reference(format!(
            "{} KB envelope, {}",
            text.len().div_ceil(1024),
            if issued { "issued" } else { "revoked" }
        )),
        Figure::new(
            "attestation verified offline (signature, proof)",
            ms(verifying),
        ),
        Figure::new(
            format!("admission review answered ({label})"),
            ms(answering),
        )
        .target("< 50 ms", answering < Duration::from_millis(50))
        .reference(format!(
            "{} (an image outside the manifest's)",
            if allowed { "allowed" } else { "denied" }
        )),
    ]
}
