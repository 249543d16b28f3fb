use super::*;
use crate::domain::agent::{Category, DataClassification, RiskTier};

fn agent() -> Agent {
    Agent {
        agent_id: "agt-1".into(),
        name: "Screener".into(),
        team: "People".into(),
        owner: "o@example.com".into(),
        category: Category::HumanResources,
        data_classification: DataClassification::Confidential,
        has_external_tools: true,
        tools_approved: false,
        risk_tier: RiskTier::High,
        version: "1.0.0".into(),
        labels: BTreeMap::new(),
    }
}

fn outcome(text: &str, agent: &Agent) -> Outcome {
    let condition = Condition::compile(&ConditionSource::Cel(text.into())).unwrap();
    let evaluator = Evaluator::new(&Vocabulary::default());
    condition.evaluate(&evaluator.scope(agent, &RequestFacts::default()))
}

#[test]
fn the_examples_of_the_issue_evaluate() {
    let mut agent = agent();
    assert_eq!(
        outcome(r#"agent.category == "human_resources""#, &agent),
        Outcome::Holds
    );
    assert_eq!(
        outcome("agent.has_external_tools && !agent.tools_approved", &agent),
        Outcome::Holds
    );
    assert_eq!(
        outcome(
            r#"at_least(agent.data_classification, "confidential")"#,
            &agent
        ),
        Outcome::Holds
    );
    agent.data_classification = DataClassification::Internal;
    assert_eq!(
        outcome(
            r#"at_least(agent.data_classification, "confidential")"#,
            &agent
        ),
        Outcome::DoesNotHold
    );
    let region = r#"has(agent.labels.region) && agent.labels.region in ["eu", "uk"]"#;
    assert_eq!(
        outcome(region, &agent),
        Outcome::DoesNotHold,
        "no label: no match"
    );
    agent.labels.insert("region".into(), "eu".into());
    assert_eq!(outcome(region, &agent), Outcome::Holds);
}

#[test]
fn the_table_form_means_the_conjunction_of_equalities() {
    let table: ConditionSource = serde_json::from_value(serde_json::json!({
        "has_external_tools": true, "tools_approved": false
    }))
    .unwrap();
    assert_eq!(
        table.to_cel().unwrap(),
        "agent.has_external_tools == true && agent.tools_approved == false"
    );
    let unknown: ConditionSource =
        serde_json::from_value(serde_json::json!({ "colour": "red" })).unwrap();
    assert!(
        Condition::compile(&unknown)
            .unwrap_err()
            .0
            .contains("unknown field \"colour\"")
    );
}

#[test]
fn unknown_names_and_type_errors_are_caught_before_use() {
    for (text, says) in [
        ("agent.colour == 1", "unknown field agent.colour"),
        ("user.email == 'x'", "unknown variable \"user\""),
        ("request.time > 3", "unknown fact request.time"),
        ("agent.category ==", "does not parse"),
    ] {
        let err = Condition::compile(&ConditionSource::Cel(text.into())).unwrap_err();
        assert!(err.0.contains(says), "{text}: {err}");
    }
    let typed = Condition::compile(&ConditionSource::Cel("agent.risk_tier > 3".into())).unwrap();
    let err = typed
        .check_against(
            &Evaluator::new(&Vocabulary::default()),
            &Vocabulary::default(),
        )
        .unwrap_err();
    assert!(!err.0.is_empty());
    let not_bool = Condition::compile(&ConditionSource::Cel("agent.name".into())).unwrap();
    assert!(
        not_bool
            .check_against(
                &Evaluator::new(&Vocabulary::default()),
                &Vocabulary::default()
            )
            .unwrap_err()
            .0
            .contains("a string")
    );
    // Comprehension variables are bound, not unknown.
    assert!(
        Condition::compile(&ConditionSource::Cel(
            r#"["eu", "uk"].exists(r, r == agent.team)"#.into()
        ))
        .is_ok()
    );
}

#[test]
fn a_label_read_without_has_is_flagged_and_fails_closed() {
    let bare = Condition::compile(&ConditionSource::Cel(
        r#"agent.labels.region == "eu""#.into(),
    ))
    .unwrap();
    assert_eq!(bare.unguarded_labels(), ["region"]);
    assert!(
        bare.check_against(
            &Evaluator::new(&Vocabulary::default()),
            &Vocabulary::default()
        )
        .is_ok()
    );
    let evaluator = Evaluator::new(&Vocabulary::default());
    assert!(matches!(
        bare.evaluate(&evaluator.scope(&agent(), &RequestFacts::default())),
        Outcome::Failed(why) if why.contains("region")
    ));
    let guarded = Condition::compile(&ConditionSource::Cel(
        r#"has(agent.labels.region) && agent.labels.region == "eu""#.into(),
    ))
    .unwrap();
    assert!(guarded.unguarded_labels().is_empty());
}
