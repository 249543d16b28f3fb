//! The demo organisation starts from the frameworks shipped in
//! `examples/frameworks`: adopted as a new policy set version (proposed by
//! one policy admin, approved by the other, as `gavel policy` would), and
//! each agent's intake answered from what the agent is — the hiring agents
//! screen candidates in New York and the EU, the rest classify out.

use std::sync::Arc;

use crate::backend::GovernanceBackend;
use crate::backend::local::{LocalBackend, LocalStore};
use crate::domain::obligations::{IntakeSave, NewConfirmation};

use super::people::POLICY_ADMINS;

/// The shipped frameworks, in the order a set lists them.
pub const SHIPPED_FRAMEWORKS: [&str; 6] = [
    include_str!("../../examples/frameworks/intake.toml"),
    include_str!("../../examples/frameworks/eu-ai-act.toml"),
    include_str!("../../examples/frameworks/nyc-ll144.toml"),
    include_str!("../../examples/frameworks/colorado-sb26-189.toml"),
    include_str!("../../examples/frameworks/iso-42001.toml"),
    include_str!("../../examples/frameworks/nist-ai-rmf.toml"),
];

/// Adopts the shipped frameworks and submits every agent's intake as
/// `answerer` (who may fill any: a compliance officer).
pub async fn adopt_shipped_frameworks(
    store: &Arc<LocalStore>,
    answerer: &str,
) -> crate::backend::Result<()> {
    let as_user = |email: &str| LocalBackend::new(Arc::clone(store), Some(email.to_owned()));
    let (proposer, approver) = (as_user(POLICY_ADMINS[0].0), as_user(POLICY_ADMINS[1].0));
    let active = proposer.policy_set(None).await?.source;
    let text = format!("{active}\n{}", SHIPPED_FRAMEWORKS.join("\n"));
    let proposed = proposer.propose_policy_set(&text).await?;
    approver
        .decide_policy_set(
            proposed.version.version,
            true,
            Some("adopt the frameworks we answer to: the EU AI Act, NYC Local Law 144, Colorado"),
        )
        .await?;
    let agents: Vec<(String, String, String)> = store.read(|conn| {
        Ok(conn
            .prepare_cached("SELECT agent_id, version, category FROM agents ORDER BY agent_id")?
            .query_map(crate::db::params![], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<crate::db::Result<_>>()?)
    })?;
    let answerer = as_user(answerer);
    let now = store.now();
    for (index, (agent_id, agent_version, category)) in agents.into_iter().enumerate() {
        answerer
            .save_intake(&IntakeSave {
                agent_id: agent_id.clone(),
                agent_version,
                answers: answers_for(&category),
                submit: true,
            })
            .await?;
        // Most agents have their literacy and prohibited-practice checks
        // confirmed (some lapsing soon), most hiring agents their notices:
        // a posture with work left, not a blank one.
        let confirmed: &[&str] = match (index % 5, category == "human_resources") {
            (0, _) => &[],
            (_, false) => &ORGANISATION_WIDE,
            (_, true) => &HIRING,
        };
        let until = if index % 7 == 0 {
            now + chrono::TimeDelta::days(20)
        } else {
            now + chrono::TimeDelta::days(330)
        };
        for obligation in confirmed {
            answerer
                .confirm_obligation(&NewConfirmation {
                    obligation_id: (*obligation).to_owned(),
                    agent_id: agent_id.clone(),
                    link: Some("https://intranet.northwind.example/ai-governance".into()),
                    file_sha256: None,
                    valid_until: until,
                    comment: "checked at the quarterly AI governance review".into(),
                })
                .await?;
        }
    }
    Ok(())
}

/// Confirmed for every agent the organisation uses in the EU.
const ORGANISATION_WIDE: [&str; 2] = ["eu-ai-act.art-4", "eu-ai-act.art-5"];
/// And for hiring agents, New York's notices.
const HIRING: [&str; 5] = [
    "eu-ai-act.art-4",
    "eu-ai-act.art-5",
    "nyc-ll144.published-summary",
    "nyc-ll144.notice",
    "nyc-ll144.data-information",
];

/// What an agent of `category` answers: hiring agents are employment
/// systems used in the EU and, as AEDTs, in New York City; the rest decide
/// nothing about people.
fn answers_for(category: &str) -> crate::domain::review::Answers {
    let hiring = category == "human_resources";
    let answers = serde_json::json!({
        "organisation_role": "deployer",
        "eu_use": true,
        "annex_iii_area": if hiring { "employment" } else { "none" },
        "credit_or_insurance_pricing": false,
        "public_service": false,
        "decides_about_people": hiring,
        "used_at_workplace": hiring,
        "interacts_with_people": hiring,
        "emotion_or_biometric_categorisation": false,
        "generates_deep_fakes": false,
        "prohibited_practices": "none_apply",
        "nyc_aedt": hiring,
        "colorado_consequential": false,
    });
    serde_json::from_value(answers).unwrap_or_default()
}
