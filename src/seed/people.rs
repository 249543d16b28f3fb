//! The seeded organisation's people: reviewers by role, requesters by
//! team, the demo user, and the two policy admins who keep the policy set.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rusqlite::Connection;

use super::names::*;
use crate::backend::Result;
use crate::domain::Role;

use super::options::*;

pub(super) struct People {
    /// Who may decide steps of each role (the demo user is left out, so
    /// every demo queue item is theirs to decide).
    pub deciders: HashMap<Role, Vec<String>>,
    pub requesters: Vec<String>,
    /// Each requester's team, and whether they hold a role.
    pub teams: HashMap<String, (String, bool)>,
    pub reviewers: Vec<String>,
}

fn person(rng: &mut ChaCha8Rng, taken: &mut std::collections::HashSet<String>) -> (String, String) {
    loop {
        let first = FIRST_NAMES.choose(rng).copied().unwrap_or("Alex");
        let last = LAST_NAMES.choose(rng).copied().unwrap_or("Doe");
        let base = format!(
            "{}.{}",
            first.to_lowercase(),
            last.to_lowercase().replace('\'', "")
        );
        let email = if taken.contains(&format!("{base}@{EMAIL_DOMAIN}")) {
            format!("{base}{}@{EMAIL_DOMAIN}", taken.len())
        } else {
            format!("{base}@{EMAIL_DOMAIN}")
        };
        if taken.insert(email.clone()) {
            return (email, format!("{first} {last}"));
        }
    }
}

/// The seeded organisation's policy admins.
pub const POLICY_ADMINS: &[(&str, &str)] = &[
    ("priya.natarajan@northwind.example", "Priya Natarajan"),
    ("tomas.berg@northwind.example", "Tomas Berg"),
];

/// Version 2 of the seeded organisation's policy set: the built-in rules,
/// its own category, a residency rule on a label, and HR audits as Local
/// Law 144 asks (sex, race/ethnicity and their intersection, at most a
/// year old).
pub(super) fn seeded_policy_set() -> String {
    crate::domain::policy::set::BUILTIN_SET
        .replace(
            "bias_audit = { threshold = 0.8 }",
            "bias_audit = { threshold = 0.8, attributes = [\"sex\", \"race_ethnicity\"], intersectional = true, max_age = \"365d\" }",
        )
        .replace(
            "description = \"Gavel's built-in policies\"",
            "description = \"Northwind: built-in rules, internal search, EU residency\"",
        )
        .replace(
            "\"operations\", \"research\",",
            "\"operations\", \"research\", \"internal_search\",",
        )
        + r#"
[[policy]]
policy_id = "eu_residency"
name = "EU data residency"
description = "Agents serving EU or UK users with personal data need a data steward's sign-off."
condition = 'has(agent.labels.region) && agent.labels.region in ["eu", "uk"] && at_least(agent.data_classification, "internal")'
action = "require_approval"
approval_chain = ["data_steward"]
"#
}

/// Version 3, proposed and waiting: customer-facing agents on confidential
/// data or above need a data steward too.
pub(super) fn proposed_policy_set() -> String {
    seeded_policy_set().replace(
        "description = \"Northwind: built-in rules, internal search, EU residency\"",
        "description = \"Northwind: a data steward for customer agents on confidential data\"",
    ) + r#"
[[policy]]
policy_id = "customer_confidential"
name = "Customer data steward"
description = "Customer-facing agents that read confidential data or above need a data steward's sign-off."
condition = 'agent.category == "customer_service" && at_least(agent.data_classification, "confidential")'
action = "require_approval"
approval_chain = ["data_steward"]
remediation = "Ask the data steward of your team to review the data the agent reads."
"#
}

pub(super) fn make_people(
    conn: &Connection,
    rng: &mut ChaCha8Rng,
    options: &SeedOptions,
    report: &mut SeedReport,
) -> Result<People> {
    let per_role = (options.workflows / 20_000).clamp(4, 60) as usize;
    let mut taken = std::collections::HashSet::from([DEMO_USER.to_owned()]);
    let mut users: Vec<(String, String, Vec<Role>, String)> = vec![(
        DEMO_USER.to_owned(),
        "Dana Whitfield".to_owned(),
        DEMO_ROLES.to_vec(),
        "AI Governance".to_owned(),
    )];
    let team_of = |i: usize| TEAMS[i % TEAMS.len()].0.to_owned();
    let mut deciders: HashMap<Role, Vec<String>> = HashMap::new();
    for role in Role::ALL {
        for _ in 0..per_role {
            let (email, name) = person(rng, &mut taken);
            // Some reviewers hold a second role, as in real teams.
            let mut roles = vec![role];
            if rng.random_bool(0.2) {
                let other = *Role::ALL.choose(rng).unwrap_or(&role);
                if other != role {
                    roles.push(other);
                    deciders.entry(other).or_default().push(email.clone());
                }
            }
            deciders.entry(role).or_default().push(email.clone());
            users.push((email, name, roles, team_of(users.len())));
        }
    }
    let mut requesters = Vec::new();
    let mut teams = HashMap::new();
    for i in 0..per_role * 3 {
        let (email, name) = person(rng, &mut taken);
        // A few engineers who request deployments also lead teams: separation
        // of duties has to hold for them too.
        let roles = if i % 7 == 0 {
            vec![Role::TechnicalLead]
        } else {
            Vec::new()
        };
        if !roles.is_empty() {
            deciders
                .entry(Role::TechnicalLead)
                .or_default()
                .push(email.clone());
        }
        requesters.push(email.clone());
        teams.insert(email.clone(), (team_of(i), !roles.is_empty()));
        users.push((email, name, roles, team_of(i)));
    }
    let reviewers = deciders
        .get(&Role::EthicsReviewer)
        .cloned()
        .unwrap_or_default();
    // Two policy admins, for four eyes on the policy set (fixed names, after
    // the generated ones, so the generated history stays as it was).
    for (email, name) in POLICY_ADMINS {
        if taken.insert((*email).to_owned()) {
            users.push((
                (*email).to_owned(),
                (*name).to_owned(),
                vec![Role::PolicyAdmin],
                "AI Governance".to_owned(),
            ));
        }
    }
    let now = crate::backend::local::rows::to_ms(options.anchor);
    let mut insert = conn.prepare_cached("INSERT INTO users (email, name, roles, teams, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, NULL, ?5)")?;
    for (email, name, roles, team) in &users {
        insert.execute(rusqlite::params![
            email,
            name,
            crate::backend::local::rows::roles_to_text(roles),
            crate::backend::local::rows::teams_to_text(std::slice::from_ref(team))?,
            now
        ])?;
    }
    report.users = users.len() as u64;
    Ok(People {
        deciders,
        requesters,
        teams,
        reviewers,
    })
}

/// The tools the seeded organisation has approved: most of them.
pub(super) fn seeded_tool_approved(tool: &str) -> bool {
    EXTERNAL_TOOLS
        .iter()
        .position(|known| *known == tool)
        .is_some_and(|index| index % 4 != 3)
}

/// Records the approval of the tools the organisation approved, by a data
/// steward, before the history starts.
pub(super) fn approve_tools(
    conn: &Connection,
    people: &People,
    anchor: DateTime<Utc>,
) -> Result<std::collections::BTreeSet<String>> {
    let steward = people
        .deciders
        .get(&Role::DataSteward)
        .and_then(|stewards| stewards.first())
        .cloned()
        .unwrap_or_else(|| DEMO_USER.to_owned());
    let at = anchor - Duration::days(HISTORY_DAYS + 1);
    let mut approved = std::collections::BTreeSet::new();
    for tool in EXTERNAL_TOOLS
        .iter()
        .filter(|tool| seeded_tool_approved(tool))
    {
        conn.execute(
            "INSERT INTO tools (name, status, decided_by, decided_at, comment) VALUES (?1, 'approved', ?2, ?3, ?4)",
            rusqlite::params![
                tool,
                steward,
                crate::backend::local::rows::to_ms(at),
                "Reviewed the vendor's data processing terms and the scopes the agent requests."
            ],
        )?;
        approved.insert(tool.to_lowercase());
    }
    Ok(approved)
}
