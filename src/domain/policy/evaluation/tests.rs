//! Evaluating manifests: what fires, what it asks, lowering and re-filing.

use super::*;
use crate::domain::agent::{Category, DataClassification, RiskTier};
use crate::domain::bias::{self, GroupCounts};
use crate::domain::policy::set::default_policies;
use crate::domain::policy::vocabulary::Vocabulary;
use chrono::TimeZone;

const MANIFEST: &str = r#"{
    "agent_id": "agt-support-bot",
    "name": "Support bot",
    "team": "Customer Care",
    "owner": "owner@example.com",
    "category": "customer_service",
    "data_classification": "internal",
    "has_external_tools": false,
    "tools_approved": false,
    "risk_tier": "low",
    "version": "2.1.0",
    "requested_by": "dev@example.com"
}"#;

fn manifest() -> Manifest {
    Manifest::from_json(MANIFEST).unwrap()
}

fn audit(positive_low: u64) -> BiasAudit {
    let groups = [
        GroupCounts {
            group: "a".into(),
            positive: positive_low,
            total: 100,
        },
        GroupCounts {
            group: "b".into(),
            positive: 50,
            total: 100,
        },
    ];
    BiasAudit::of(
        "aud-1".into(),
        "agt-support-bot".into(),
        "2.1.0".into(),
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        bias::compute(&groups, 0.8).unwrap(),
        Vec::new(),
    )
}

/// Evaluates with no approved tools and no earlier versions.
fn eval(manifest: &Manifest, policies: &[Policy], audit: Option<&BiasAudit>) -> Evaluation {
    evaluate(
        manifest,
        &PolicySet::with_policies(policies.to_vec()).unwrap(),
        &Facts {
            latest_audit: audit,
            latest_audit_of_agent: audit,
            now: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
            approved_tools: &BTreeSet::new(),
            reference_agents: &[],
            intake: None,
            exceptions: &[],
        },
    )
}

#[test]
fn a_manifest_parses_with_its_agent() {
    let manifest = manifest();
    assert_eq!(manifest.agent.risk_tier, RiskTier::Low);
    assert_eq!(manifest.agent.category, Category::CustomerService);
    assert!(manifest.external_tools.is_empty());
}

#[test]
fn bad_manifests_say_what_and_where() {
    let cases = [
        ("not json", "line 1 column 2"),
        ("[1, 2]", "(top level)"),
        (&MANIFEST.replace("\"low\"", "\"extreme\""), "risk_tier"),
        (
            &MANIFEST.replace(
                "\"has_external_tools\": false",
                "\"has_external_tools\": \"no\"",
            ),
            "has_external_tools",
        ),
        (
            &MANIFEST.replace("\"team\": \"Customer Care\",", ""),
            "team",
        ),
        (
            &MANIFEST.replace("\"version\"", "\"colour\": 1, \"version\""),
            "colour",
        ),
        (
            &MANIFEST.replace("dev@example.com", "nobody"),
            "requested_by",
        ),
        (&MANIFEST.replace("\"version\": \"2.1.0\",", ""), "version"),
        (&MANIFEST.replace("Support bot", ""), "name"),
        (
            &MANIFEST.replace("Support bot", "Support\\u001b[2Jbot"),
            "name",
        ),
    ];
    for (text, path) in cases {
        match Manifest::from_json(text) {
            Err(
                ManifestError::Invalid { path: got, message }
                | ManifestError::Rule { path: got, message },
            ) => {
                assert!(got.contains(path), "{path}: got {got}: {message}")
            }
            other => panic!("{path}: expected an error, got {other:?}"),
        }
    }
    let unknown = Manifest::from_json(&MANIFEST.replace("\"low\"", "\"extreme\"")).unwrap_err();
    assert!(
        unknown.to_string().contains("unknown variant `extreme`"),
        "{unknown}"
    );
    let long = MANIFEST.replace("Support bot", &"x".repeat(MAX_FIELD_BYTES + 1));
    assert!(
        Manifest::from_json(&long)
            .unwrap_err()
            .to_string()
            .contains("bytes")
    );
    let huge = " ".repeat(MAX_MANIFEST_BYTES + 1);
    assert_eq!(
        Manifest::from_json(&huge),
        Err(ManifestError::TooLarge(huge.len()))
    );
}

#[test]
fn nothing_triggered_means_allowed() {
    let evaluation = eval(&manifest(), &default_policies(), None);
    assert_eq!(evaluation.status, DeploymentStatus::Allowed);
    assert!(evaluation.triggered_policies.is_empty());
    assert!(evaluation.remediation.is_empty());
}

#[test]
fn unapproved_tools_block_with_their_names_in_the_remediation() {
    let mut manifest = manifest();
    manifest.agent.has_external_tools = true;
    manifest.external_tools = vec!["web_search".into(), "crm_api".into()];
    let evaluation = eval(&manifest, &default_policies(), None);
    assert_eq!(evaluation.status, DeploymentStatus::Blocked);
    assert_eq!(
        evaluation.blocking_reasons,
        ["external_api_block: Unapproved external tools"]
    );
    assert_eq!(
        evaluation.remediation,
        [
            "external_api_block: external tools web_search, crm_api are not approved: have a data steward or compliance officer approve them (`gavel tools approve NAME`) or remove them"
        ]
    );
}

#[test]
fn tool_approval_comes_from_the_records_never_from_the_manifest() {
    let text = MANIFEST
        .replace(
            "\"has_external_tools\": false",
            "\"has_external_tools\": true",
        )
        .replace("\"tools_approved\": false", "\"tools_approved\": true");
    let manifest = Manifest::from_json(&text).unwrap();
    assert_eq!(manifest.declared_tools_approved, Some(true));
    let evaluation = eval(&manifest, &default_policies(), None);
    assert_eq!(
        evaluation.status,
        DeploymentStatus::Blocked,
        "declared approval is ignored"
    );
    assert!(evaluation.warnings[0].contains("tools_approved in the manifest is ignored"));
    assert!(
        evaluation.remediation[0].contains("names none"),
        "{:?}",
        evaluation.remediation
    );

    let mut named = manifest.clone();
    named.external_tools = vec!["web_search".into(), "crm_api".into()];
    let approved: BTreeSet<String> = ["web_search".to_owned()].into();
    let facts = |approved| Facts {
        latest_audit: None,
        latest_audit_of_agent: None,
        now: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
        approved_tools: approved,
        reference_agents: &[],
        intake: None,
        exceptions: &[],
    };
    let partly = evaluate(&named, &PolicySet::builtin(), &facts(&approved));
    assert_eq!(partly.status, DeploymentStatus::Blocked);
    assert!(
        partly.remediation[0].contains("external tools crm_api are"),
        "{:?}",
        partly.remediation
    );
    let both: BTreeSet<String> = ["web_search".to_owned(), "crm_api".to_owned()].into();
    let allowed = evaluate(&named, &PolicySet::builtin(), &facts(&both));
    assert_eq!(allowed.status, DeploymentStatus::Allowed);
    assert!(allowed.agent.tools_approved);
}

#[test]
fn the_declared_risk_tier_may_raise_but_never_lower_the_minimum() {
    let mut manifest = manifest();
    manifest.agent.data_classification = DataClassification::Restricted;
    let evaluation = eval(&manifest, &default_policies(), None);
    assert_eq!(evaluation.agent.risk_tier, RiskTier::High);
    let raised_warning = |evaluation: &Evaluation| {
        evaluation
            .warnings
            .iter()
            .any(|warning| warning.starts_with("risk tier raised from low to high"))
    };
    assert!(raised_warning(&evaluation), "{:?}", evaluation.warnings);
    assert!(
        evaluation
            .workflows
            .iter()
            .any(|w| w.policy_id == "risk_tier_high")
    );
    manifest.agent.data_classification = DataClassification::Confidential;
    assert_eq!(
        eval(&manifest, &default_policies(), None).agent.risk_tier,
        RiskTier::Medium
    );
    manifest.agent.risk_tier = RiskTier::High;
    let raised = eval(&manifest, &default_policies(), None);
    assert_eq!(
        raised.agent.risk_tier,
        RiskTier::High,
        "raising is the requester's right"
    );
    assert!(!raised.warnings.iter().any(|w| w.contains("risk tier")));
    for category in [
        Category::HumanResources,
        Category::Finance,
        Category::Healthcare,
    ] {
        let mut agent = manifest.agent.clone();
        agent.category = category;
        agent.risk_tier = RiskTier::Low;
        assert_eq!(
            PolicySet::builtin().minimum_risk(&agent).0,
            RiskTier::High,
            "{category}"
        );
    }
}

#[test]
fn lowering_a_risk_relevant_field_needs_a_data_steward() {
    let mut reference = manifest().agent;
    reference.category = Category::HumanResources;
    reference.data_classification = DataClassification::Confidential;
    reference.has_external_tools = true;
    reference.risk_tier = RiskTier::High;
    let harmless = manifest();
    let evaluation = evaluate(
        &harmless,
        &PolicySet::builtin(),
        &Facts {
            latest_audit: None,
            latest_audit_of_agent: None,
            now: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
            approved_tools: &BTreeSet::new(),
            reference_agents: std::slice::from_ref(&reference),
            intake: None,
            exceptions: &[],
        },
    );
    assert_eq!(
        evaluation.lowered,
        [
            "category changed from human_resources to customer_service",
            "data classification lowered from confidential to internal",
            "external tools removed",
            "risk tier lowered from high to low",
        ]
    );
    assert_eq!(evaluation.status, DeploymentStatus::PendingApproval);
    assert_eq!(
        evaluation.workflows,
        [PlannedWorkflow {
            policy_id: "classification_change".into(),
            chain: vec![Role::DataSteward]
        }]
    );
    assert!(
        evaluation.triggered_policies[0]
            .reason
            .contains("external tools removed")
    );
    // The same agent again lowers nothing.
    assert!(lowered_fields(&Vocabulary::default(), &reference, &reference).is_empty());
}

#[test]
fn whose_agent_it_is_and_what_policies_read_are_governed() {
    let text = format!(
        "{}\n[[policy]]\npolicy_id = \"eu\"\nname = \"EU\"\ndescription = \"EU agents.\"\ncondition = 'has(agent.labels.region) && agent.labels.region == \"eu\"'\naction = \"require_approval\"\napproval_chain = [\"technical_lead\"]\n",
        crate::domain::policy::set::BUILTIN_SET
    );
    let set = PolicySet::compile(
        crate::domain::policy::set::PolicySetFile::parse(&text).unwrap(),
        crate::domain::policy::set::Checks::Names,
    )
    .unwrap();
    let mut reference = manifest().agent;
    reference.labels.insert("region".into(), "eu".into());
    reference.labels.insert("build".into(), "41".into());
    let mut requested = reference.clone();
    requested.version = "9.9.9".into();
    requested.labels.insert("build".into(), "42".into());
    assert!(
        governed_changes(&set, &reference, &requested).is_empty(),
        "a new version and a label no policy reads change nothing governed"
    );
    requested.labels.remove("region");
    requested.owner = "someone.else@example.com".into();
    requested.team = "Elsewhere".into();
    assert_eq!(
        governed_changes(&set, &reference, &requested),
        [
            format!(
                "owner changed from {} to someone.else@example.com",
                reference.owner
            ),
            format!("team changed from {} to Elsewhere", reference.team),
            "label region removed (was eu), which a policy reads".to_owned(),
        ]
    );
}

#[test]
fn a_condition_that_errors_at_run_time_blocks() {
    let mut policies = default_policies();
    let mut eu = policies[0].clone();
    eu.policy_id = "eu_only".into();
    eu.name = "EU agents".into();
    eu.action = PolicyAction::AuditLog;
    eu.approval_chain = None;
    // Written without has(): an agent with no region label cannot be read.
    eu.condition = crate::domain::policy::condition::ConditionSource::Cel(
        r#"agent.labels.region == "eu""#.into(),
    );
    policies.push(eu);
    let blocked = eval(&manifest(), &policies, None);
    assert_eq!(blocked.status, DeploymentStatus::Blocked);
    let fired = &blocked.triggered_policies[0];
    assert_eq!(fired.policy_id, "eu_only");
    assert!(
        fired.blocking && fired.reason.contains("could not be evaluated"),
        "{fired:?}"
    );
    assert!(fired.reason.contains("region"), "{fired:?}");
    let mut labelled = manifest();
    labelled.agent.labels.insert("region".into(), "us".into());
    assert_eq!(
        eval(&labelled, &policies, None).status,
        DeploymentStatus::Allowed
    );
}

#[test]
fn the_policy_sets_the_bias_threshold() {
    let mut manifest = manifest();
    manifest.agent.category = Category::HumanResources;
    let mut policies = default_policies();
    // Ratio 0.9 passes the four-fifths rule but not a stricter policy.
    let audit = audit(45);
    assert!(eval(&manifest, &policies, Some(&audit)).status == DeploymentStatus::PendingApproval);
    for policy in &mut policies {
        if policy.policy_id == "hr_bias_audit" {
            policy.bias_audit = Some(crate::domain::policy::policies::BiasAuditRule {
                threshold: Some(0.95),
                attributes: Vec::new(),
                max_age: None,
                intersectional: false,
                each_version: true,
            });
        }
    }
    let strict = eval(&manifest, &policies, Some(&audit));
    assert_eq!(strict.status, DeploymentStatus::Blocked);
    assert!(
        strict.remediation[0].contains("below 0.95"),
        "{:?}",
        strict.remediation
    );
}

#[test]
fn a_block_wins_over_approvals_and_opens_no_workflow() {
    let mut manifest = manifest();
    manifest.agent.has_external_tools = true;
    manifest.agent.data_classification = DataClassification::Confidential;
    let evaluation = eval(&manifest, &default_policies(), None);
    assert_eq!(evaluation.status, DeploymentStatus::Blocked);
    assert_eq!(
        evaluation.triggered_policies.len(),
        3,
        "pii approval, the block, and medium risk for confidential data"
    );
    assert!(evaluation.workflows.is_empty());
}

#[test]
fn confidential_data_needs_approval_with_one_workflow_per_policy() {
    let mut manifest = manifest();
    manifest.agent.data_classification = DataClassification::Confidential;
    manifest.agent.risk_tier = RiskTier::Medium;
    let evaluation = eval(&manifest, &default_policies(), None);
    assert_eq!(evaluation.status, DeploymentStatus::PendingApproval);
    assert_eq!(
        evaluation.workflows,
        [
            PlannedWorkflow {
                policy_id: "pii_access_approval".into(),
                chain: vec![Role::TechnicalLead, Role::DataSteward]
            },
            PlannedWorkflow {
                policy_id: "risk_tier_medium".into(),
                chain: vec![Role::TechnicalLead]
            },
        ]
    );
    assert!(evaluation.remediation[0].contains("technical lead -> data steward"));
}

#[test]
fn hr_agents_without_an_audit_are_blocked_until_one_passes() {
    let mut manifest = manifest();
    manifest.agent.category = Category::HumanResources;
    let evaluation = eval(&manifest, &default_policies(), None);
    assert_eq!(evaluation.status, DeploymentStatus::Blocked);
    assert!(
        evaluation.remediation[0].contains("run a bias audit"),
        "{:?}",
        evaluation.remediation
    );

    let failing = eval(&manifest, &default_policies(), Some(&audit(30)));
    assert_eq!(failing.status, DeploymentStatus::Blocked);
    assert!(
        failing.remediation[0].contains("ratio 0.600 is below 0.80"),
        "{:?}",
        failing.remediation
    );

    let passing = eval(&manifest, &default_policies(), Some(&audit(45)));
    assert_eq!(passing.status, DeploymentStatus::PendingApproval);
    assert_eq!(
        passing.workflows[0].chain,
        [
            Role::MlEngineer,
            Role::EthicsReviewer,
            Role::ComplianceOfficer
        ]
    );
}

#[test]
fn notify_and_audit_log_are_reported_but_do_not_gate() {
    let mut policies = default_policies();
    let mut notify = policies[0].clone();
    notify.policy_id = "notify_all".into();
    notify.action = PolicyAction::Notify;
    notify.approval_chain = None;
    notify.condition = crate::domain::policy::condition::ConditionSource::default();
    policies.push(notify);
    let evaluation = eval(&manifest(), &policies, None);
    assert_eq!(evaluation.status, DeploymentStatus::Allowed);
    assert_eq!(evaluation.triggered_policies.len(), 1);
    assert!(evaluation.remediation.is_empty());
}

#[test]
fn a_generic_block_explains_the_policy() {
    let mut policies = default_policies();
    let mut block = policies[0].clone();
    block.policy_id = "no_finance".into();
    block.name = "No finance bots".into();
    block.action = PolicyAction::Block;
    block.approval_chain = None;
    block.condition = crate::domain::policy::condition::ConditionSource::Equalities(
        [("category".to_owned(), serde_json::json!("finance"))].into(),
    );
    policies.push(block);
    let mut manifest = manifest();
    manifest.agent.category = Category::Finance;
    let evaluation = eval(&manifest, &policies, None);
    assert_eq!(evaluation.status, DeploymentStatus::Blocked);
    assert!(
        evaluation.remediation[0].contains("category = \"finance\""),
        "{:?}",
        evaluation.remediation
    );
}
