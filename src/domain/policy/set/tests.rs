use super::*;
use crate::domain::agent::{Category, DataClassification};
use crate::domain::policy::condition::Condition;

#[test]
fn the_builtin_set_is_the_policies_gavel_always_had() {
    let set = PolicySet::compile(PolicySetFile::parse(BUILTIN_SET).unwrap(), Checks::Full).unwrap();
    let ids: Vec<&str> = set
        .policies()
        .iter()
        .map(|p| p.policy_id.as_str())
        .collect();
    let before: Vec<String> = crate::domain::policy::set::default_policies()
        .into_iter()
        .map(|p| p.policy_id)
        .collect();
    assert_eq!(ids, before);
    assert_eq!(set.vocabulary(), &Vocabulary::default());
    assert_eq!(set.permissions(), &Permissions::default());
}

#[test]
fn the_richer_example_checks() {
    let text = include_str!("../../../../examples/policies/northwind.toml");
    let set = PolicySet::compile(PolicySetFile::parse(text).unwrap(), Checks::Full);
    assert!(set.is_ok(), "{:?}", set.err());
    let set = set.unwrap();
    let steps = set.step_rules("pii_access_approval");
    assert_eq!(
        steps.iter().map(|step| step.quorum).collect::<Vec<_>>(),
        [1, 2]
    );
    let steward = steps[1].sla.as_ref().expect("an SLA");
    assert_eq!(steward.due_after_seconds, 48 * 3600);
    assert_eq!(steward.remind_after_seconds, 24 * 3600);
    assert_eq!(steward.escalate_after_seconds, Some(72 * 3600));
    assert_eq!(steward.escalate_to.as_deref(), Some("compliance_officer"));
    let residency = set.step_rules("eu_residency");
    assert_eq!(
        residency[0]
            .sla
            .as_ref()
            .and_then(|sla| sla.escalate_to.as_deref()),
        Some("ciso@northwind.example")
    );
    assert!(set.step_rules("risk_tier_medium")[0].sla.is_none());
}

/// The built-in set with the PII policy's chain replaced.
fn with_chain(chain: &str) -> Result<PolicySet, SetErrors> {
    let text = BUILTIN_SET.replace(
        r#"approval_chain = ["technical_lead", "data_steward"]"#,
        &format!("approval_chain = {chain}"),
    );
    assert_ne!(text, BUILTIN_SET);
    PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Names)
}

#[test]
fn a_role_named_twice_is_warned_of_and_the_ethics_step_stays_single() {
    let twice = with_chain(r#"["technical_lead", "data_steward", "technical_lead"]"#)
        .expect("a role named twice is accepted");
    assert_eq!(
        twice.repeated_roles(),
        [("pii_access_approval".to_owned(), vec![Role::TechnicalLead])]
    );
    let plan = crate::domain::policy::plan::simulate(
        &PolicySet::builtin(),
        &twice,
        Vec::new(),
        &mut crate::domain::policy::plan::NoRecords,
        chrono::Utc::now(),
    );
    assert!(
        plan.lines()
            .iter()
            .any(|line| line.contains("two different people")),
        "{:?}",
        plan.lines()
    );
    let ethics_twice = with_chain(r#"["ethics_reviewer", "ethics_reviewer"]"#)
        .unwrap_err()
        .to_string();
    assert!(
        ethics_twice.contains("ethics_reviewer twice"),
        "{ethics_twice}"
    );
    let ethics_quorum = with_chain(r#"[{ role = "ethics_reviewer", quorum = 2 }]"#)
        .unwrap_err()
        .to_string();
    assert!(ethics_quorum.contains("takes no quorum"), "{ethics_quorum}");
}

#[test]
fn a_set_too_large_to_check_at_a_known_cost_is_refused_before_checking() {
    let mut policies = String::new();
    for n in 0..=MAX_POLICIES {
        policies.push_str(&format!(
            "\n[[policy]]\npolicy_id = \"p{n}\"\nname = \"P\"\ndescription = \"d\"\ncondition = 'agent.risk_tier == \"high\"'\naction = \"audit_log\"\n"
        ));
    }
    let text = format!("{BUILTIN_SET}{policies}");
    let errors = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
        .unwrap_err()
        .to_string();
    assert!(errors.contains("a set holds at most 200"), "{errors}");
    let categories: Vec<String> = (0..=MAX_CATEGORIES).map(|n| format!("\"c{n}\"")).collect();
    let text = BUILTIN_SET.replace(
        "categories = [",
        &format!("categories = [{}, ", categories.join(", ")),
    );
    let errors = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
        .unwrap_err()
        .to_string();
    assert!(errors.contains("a set names at most 64"), "{errors}");

    // Within the vocabulary limits, a condition reading every field is
    // checked against every kind of agent: past the budget, refused.
    let categories: Vec<String> = (0..MAX_CATEGORIES).map(|n| format!("\"c{n}\"")).collect();
    let classifications: Vec<String> = (0..MAX_CLASSIFICATIONS)
        .map(|n| format!("\"d{n}\""))
        .collect();
    let text = format!(
        "[vocabulary]\ncategories = [{}]\ndata_classifications = [{}]\nroles = [\"policy_admin\"]\n[[policy]]\npolicy_id = \"all\"\nname = \"All\"\ndescription = \"d\"\ncondition = 'agent.category != \"x\" && agent.data_classification != \"x\" && agent.risk_tier != \"x\" && agent.has_external_tools == agent.tools_approved'\naction = \"audit_log\"\n",
        categories.join(", "),
        classifications.join(", ")
    );
    let errors = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
        .unwrap_err()
        .to_string();
    assert!(errors.contains("budget of evaluations"), "{errors}");
}

#[test]
fn texts_every_reader_is_sent_have_sizes() {
    let long = "x".repeat(MAX_SET_DESCRIPTION_BYTES + 1);
    let text = BUILTIN_SET.replace(
        "description = \"Gavel's built-in policies\"",
        &format!("description = \"{long}\""),
    );
    let proposed = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
        .unwrap_err()
        .to_string();
    assert!(
        proposed.contains("description: is 2049 bytes; at most 2048"),
        "{proposed}"
    );
    assert!(
        PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Names).is_ok(),
        "a set already stored still loads"
    );
    let text = BUILTIN_SET.replace(
        "description = \"Agents that touch confidential data need sign-off from a technical lead and a data steward.\"",
        &format!("description = \"{}\"", "y".repeat(3000)),
    );
    assert_ne!(text, BUILTIN_SET);
    let proposed = PolicySet::compile(PolicySetFile::parse(&text).unwrap(), Checks::Full)
        .unwrap_err()
        .to_string();
    assert!(
        proposed.contains("policy pii_access_approval: description is 3000 bytes"),
        "{proposed}"
    );
}

#[test]
fn step_options_outside_the_set_are_errors() {
    let with_chain = |chain: &str| with_chain(chain).unwrap_err().to_string();
    let errors = with_chain(r#"[{ role = "technical_lead", sla = "2d", escalate_to = "wizard" }]"#);
    assert!(
        errors.contains("escalate_to") && errors.contains("wizard"),
        "{errors}"
    );
    let errors = with_chain(r#"[{ role = "data_steward", quorum = 0 }]"#);
    assert!(errors.contains("quorum 0"), "{errors}");
    let errors = with_chain(r#"[{ role = "data_steward", escalate_to = "x@example.com" }]"#);
    assert!(errors.contains("needs an sla"), "{errors}");
    let errors = with_chain(r#"[{ role = "data_steward", sla = "soon" }]"#);
    assert!(errors.contains("sla"), "{errors}");
    let sla = PolicySetFile::parse(&format!("{BUILTIN_SET}\n[sla]\nremind_at = 2.0\n"));
    let errors = PolicySet::compile(sla.unwrap(), Checks::Names)
        .unwrap_err()
        .to_string();
    assert!(errors.contains("sla: remind_at"), "{errors}");
}

#[test]
fn every_problem_is_reported_with_where_it_is() {
    let text = r#"
[vocabulary]
categories = ["finance", "finance"]
data_classifications = ["public"]
roles = ["technical_lead"]

[[policy]]
policy_id = "typo"
name = "Typo"
condition = 'agent.categroy == "finance"'
action = "require_approval"
approval_chain = ["wizard"]

[[policy]]
policy_id = "typed"
name = "Typed"
condition = "agent.risk_tier > 3"
action = "block"
scope = "category"
scope_value = "internal_search"
"#;
    let errors = PolicySet::compile(PolicySetFile::parse(text).unwrap(), Checks::Full)
        .unwrap_err()
        .to_string();
    for expected in [
        "vocabulary.categories: \"finance\" is listed twice",
        "vocabulary.roles: must include policy_admin",
        "policy typo: condition unknown field agent.categroy",
        "policy typo: approval_chain: \"wizard\" is not in",
        "policy typed: condition",
        "policy typed: scope_value: category: \"internal_search\" is not in",
    ] {
        assert!(errors.contains(expected), "{expected}\n--\n{errors}");
    }
    let broken = PolicySetFile::parse("[vocabulary]\ncategories = [\n").unwrap_err();
    assert!(broken.to_string().starts_with("line "), "{broken}");
}

#[test]
fn cel_and_the_table_form_evaluate_alike() {
    let vocabulary = Vocabulary::default();
    let evaluator = Evaluator::new(&vocabulary);
    let pairs = [
        (
            serde_json::json!({ "data_classification": "confidential" }),
            r#"agent.data_classification == "confidential""#,
        ),
        (
            serde_json::json!({ "risk_tier": "medium" }),
            r#"agent.risk_tier == "medium""#,
        ),
        (
            serde_json::json!({ "has_external_tools": true, "tools_approved": false }),
            "agent.has_external_tools && !agent.tools_approved",
        ),
        (
            serde_json::json!({ "category": "finance", "lowers_risk_fields": true }),
            r#"agent.category == "finance" && request.lowers_risk_fields"#,
        ),
    ];
    for (table, cel) in pairs {
        let table = Condition::compile(&serde_json::from_value(table).unwrap()).unwrap();
        let cel = Condition::compile(&ConditionSource::Cel(cel.into())).unwrap();
        let mut held = 0;
        for agent in crate::domain::policy::condition::synthetic_agents(&vocabulary) {
            for lowers in [false, true] {
                let facts = RequestFacts {
                    lowers_risk_fields: lowers,
                };
                let scope = evaluator.scope(&agent, &facts);
                let outcome = table.evaluate(&scope);
                assert_eq!(outcome, cel.evaluate(&scope), "{} on {agent:?}", cel.cel());
                held += usize::from(outcome == Outcome::Holds);
            }
        }
        assert!(
            held > 0,
            "{} never held: the comparison proves nothing",
            cel.cel()
        );
    }
}

#[test]
fn floors_come_from_the_set() {
    let set = PolicySet::builtin();
    let mut agent = crate::domain::policy::policies::tests::agent();
    assert_eq!(set.minimum_risk(&agent).0, RiskTier::Low);
    agent.data_classification = DataClassification::Confidential;
    assert_eq!(set.minimum_risk(&agent).0, RiskTier::Medium);
    agent.category = Category::Finance;
    let (tier, why) = set.minimum_risk(&agent);
    assert_eq!(tier, RiskTier::High);
    assert_eq!(
        why.as_deref(),
        Some("finance, healthcare and human resources agents")
    );
}
