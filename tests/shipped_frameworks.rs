//! The frameworks in `examples/frameworks/`, as an organisation adopts
//! them: they compile into a set with the shipped intake, their crosswalks
//! name obligations that exist, and a hiring agent used in New York and in
//! the EU is held to the duties each law gives it, from the dates each law
//! takes effect.

mod common;

use chrono::{DateTime, Utc};
use gavel::domain::obligations::{Intake, IntakeStatus, Posture, Record, State, posture};
use gavel::domain::policy::frameworks::Party;
use gavel::domain::policy::set::{BUILTIN_SET, Checks, PolicySet, PolicySetFile};
use gavel::domain::{Agent, Category, DataClassification, RiskTier};

const INTAKE: &str = include_str!("../examples/frameworks/intake.toml");
const FRAMEWORKS: [(&str, &str); 5] = [
    (
        "eu-ai-act",
        include_str!("../examples/frameworks/eu-ai-act.toml"),
    ),
    (
        "nyc-ll144",
        include_str!("../examples/frameworks/nyc-ll144.toml"),
    ),
    (
        "co-sb26-189",
        include_str!("../examples/frameworks/colorado-sb26-189.toml"),
    ),
    (
        "iso-42001",
        include_str!("../examples/frameworks/iso-42001.toml"),
    ),
    (
        "nist-ai-rmf",
        include_str!("../examples/frameworks/nist-ai-rmf.toml"),
    ),
];

fn adopting(frameworks: &[&str]) -> PolicySet {
    let mut text = format!("{BUILTIN_SET}\n{INTAKE}");
    for (id, file) in FRAMEWORKS {
        if frameworks.contains(&id) {
            text.push('\n');
            text.push_str(file);
        }
    }
    let file = PolicySetFile::parse(&text).unwrap_or_else(|err| panic!("{frameworks:?}: {err}"));
    PolicySet::compile(file, Checks::Full).unwrap_or_else(|err| panic!("{frameworks:?}: {err}"))
}

fn all() -> PolicySet {
    adopting(&FRAMEWORKS.map(|(id, _)| id))
}

#[test]
fn each_framework_compiles_alone_and_all_together_with_the_shipped_intake() {
    for (id, _) in FRAMEWORKS {
        let set = adopting(&[id]);
        let framework = &set.file.frameworks[0];
        assert_eq!(framework.id, id);
        assert!(
            framework.checked.contains("Checked on 2026-12-06"),
            "{id} says what was checked against the official text, and when"
        );
        for obligation in &framework.obligations {
            assert!(
                obligation.id.starts_with(&format!("{id}.")),
                "{} is named under its framework",
                obligation.id
            );
        }
    }
    let set = all();
    let ids: Vec<&str> = set
        .obligations()
        .map(|(_, obligation, _)| obligation.id.as_str())
        .collect();
    for (_, obligation, _) in set.obligations() {
        for target in &obligation.crosswalk {
            assert!(
                ids.contains(&target.as_str()),
                "{} crosswalks to {target}, which no shipped framework has",
                obligation.id
            );
        }
    }
}

#[test]
fn the_laws_take_effect_on_the_dates_their_texts_give() {
    let set = all();
    let from = |id: &str| {
        set.obligations()
            .find(|(_, obligation, _)| obligation.id == id)
            .map(|(_, obligation, _)| obligation.applies_from.to_string())
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(from("eu-ai-act.art-4"), "2025-02-02");
    assert_eq!(from("eu-ai-act.art-5"), "2025-02-02");
    assert_eq!(from("eu-ai-act.art-26.2"), "2027-12-02");
    assert_eq!(from("eu-ai-act.art-27"), "2027-12-02");
    assert_eq!(from("eu-ai-act.art-50.4"), "2026-08-02");
    assert_eq!(from("nyc-ll144.bias-audit"), "2023-07-05");
    assert_eq!(from("co-sb26-189.notice"), "2027-01-01");
    let deployer_only = ["eu-ai-act.art-26.6", "nyc-ll144.notice"];
    for id in deployer_only {
        let (_, obligation, _) = set
            .obligations()
            .find(|(_, obligation, _)| obligation.id == id)
            .expect("shipped");
        assert_eq!(obligation.binds, [Party::Deployer], "{id}");
    }
}

fn hiring_agent() -> Agent {
    Agent {
        agent_id: "agt-hiring".into(),
        name: "Hiring screen".into(),
        team: "People".into(),
        owner: "dev@example.com".into(),
        category: Category::HumanResources,
        data_classification: DataClassification::Internal,
        has_external_tools: false,
        tools_approved: false,
        risk_tier: RiskTier::High,
        version: "1.0.0".into(),
        labels: Default::default(),
    }
}

fn answered(answers: serde_json::Value) -> Intake {
    Intake {
        agent_id: "agt-hiring".into(),
        agent_version: "1.0.0".into(),
        template_id: "obligations_intake_v1".into(),
        status: IntakeStatus::Submitted,
        answers: serde_json::from_value(answers).expect("answers"),
        filled_by: "dev@example.com".into(),
        updated_at: Utc::now(),
        submitted_at: Some(Utc::now()),
        version: 1,
        pending: None,
    }
}

/// A hiring screen we deploy in New York and in the EU.
fn hiring_in_new_york_and_the_eu() -> Intake {
    answered(common::obligations::hiring_in_new_york_and_the_eu())
}

fn judged(intake: &Intake, at: &str) -> Posture {
    let at: DateTime<Utc> = at.parse().expect("a time");
    posture(
        &all(),
        &Record {
            agent: &hiring_agent(),
            intake: Some(intake),
            workflows: &[],
            reviews: &[],
            audits: &[],
            confirmations: &[],
            incidents: &[],
            pending_roles: &[],
        },
        at,
    )
}

fn state<'a>(posture: &'a Posture, id: &str) -> &'a State {
    &posture
        .obligations
        .iter()
        .find(|obligation| obligation.obligation == id)
        .unwrap_or_else(|| panic!("{id}"))
        .state
}

#[test]
fn a_hiring_agent_in_new_york_and_the_eu_has_each_laws_duties_from_its_date() {
    let intake = hiring_in_new_york_and_the_eu();
    let after = judged(&intake, "2027-12-03T09:00:00Z");
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
            matches!(state(&after, id), State::Unmet { .. }),
            "{id} applies and nothing meets it yet: {:?}",
            state(&after, id)
        );
    }
    // Not a provider, no public service or credit scoring, no deep fakes,
    // not in Colorado.
    for id in [
        "eu-ai-act.art-9",
        "eu-ai-act.art-27",
        "eu-ai-act.art-50.4",
        "co-sb26-189.notice",
    ] {
        assert!(
            matches!(state(&after, id), State::NotApplicable { .. }),
            "{id}: {:?}",
            state(&after, id)
        );
    }
    // Answered "none apply", the Art. 5 screen still wants an officer's
    // review of it.
    assert!(
        matches!(state(&after, "eu-ai-act.art-5"), State::Unmet { missing } if missing.len() == 1),
        "{:?}",
        state(&after, "eu-ai-act.art-5")
    );

    // Before 2 December 2027 the Annex III duties are not yet in effect;
    // New York's already are.
    let before = judged(&intake, "2027-06-01T09:00:00Z");
    assert!(matches!(
        state(&before, "eu-ai-act.art-26.2"),
        State::NotYetInEffect { .. }
    ));
    assert!(matches!(
        state(&before, "nyc-ll144.notice"),
        State::Unmet { .. }
    ));
}

#[test]
fn an_unanswered_intake_keeps_every_conditional_duty_applying() {
    let empty = answered(serde_json::json!({}));
    let posture = judged(&empty, "2027-12-03T09:00:00Z");
    for id in [
        "nyc-ll144.bias-audit",
        "eu-ai-act.art-26.2",
        "co-sb26-189.notice",
    ] {
        assert!(
            !matches!(state(&posture, id), State::NotApplicable { .. }),
            "{id} applies until the intake says otherwise (failing closed)"
        );
    }
}
