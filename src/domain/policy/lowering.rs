//! What a re-filing changes that needs sign-off: risk fields lowered,
//! whose agent it is, and anything a policy reads.

use std::collections::BTreeSet;

use crate::domain::agent::Agent;

use crate::domain::policy::set::PolicySet;
use crate::domain::policy::vocabulary::Vocabulary;

/// How `requested` lowers a risk-relevant field against `reference`, in words.
pub fn lowered_fields(
    vocabulary: &Vocabulary,
    reference: &Agent,
    requested: &Agent,
) -> Vec<String> {
    let mut lowered = Vec::new();
    if requested.category != reference.category {
        lowered.push(format!(
            "category changed from {} to {}",
            reference.category, requested.category
        ));
    }
    if vocabulary.is_lower(requested.data_classification, reference.data_classification) {
        lowered.push(format!(
            "data classification lowered from {} to {}",
            reference.data_classification, requested.data_classification
        ));
    }
    if reference.has_external_tools && !requested.has_external_tools {
        lowered.push("external tools removed".into());
    }
    if requested.risk_tier < reference.risk_tier {
        lowered.push(format!(
            "risk tier lowered from {} to {}",
            reference.risk_tier, requested.risk_tier
        ));
    }
    lowered
}

/// The agent fields judged apart from what conditions read: by
/// `lowered_fields` (in the vocabulary's order), by `governed_changes`
/// (whose agent it is), or derived from records rather than filed
/// (`tools_approved`); and the version, which a re-filing changes by
/// definition.
const JUDGED_APART: [&str; 8] = [
    "category",
    "data_classification",
    "has_external_tools",
    "risk_tier",
    "owner",
    "team",
    "tools_approved",
    "version",
];

/// What a re-filing changes that must be signed off before it stands (the
/// `classification_change` path): risk fields lowered, whose agent it is
/// (owner, team), and any field or label an active policy's condition
/// reads, changed, added or removed, so that no re-filing escapes a policy
/// by dropping what the policy reads.
pub fn governed_changes(set: &PolicySet, reference: &Agent, requested: &Agent) -> Vec<String> {
    let mut changes = lowered_fields(set.vocabulary(), reference, requested);
    if !reference.owner.eq_ignore_ascii_case(&requested.owner) {
        changes.push(format!(
            "owner changed from {} to {}",
            reference.owner, requested.owner
        ));
    }
    if reference.team != requested.team {
        changes.push(format!(
            "team changed from {} to {}",
            reference.team, requested.team
        ));
    }
    for field in crate::domain::policy::condition::AGENT_FIELDS {
        if JUDGED_APART.contains(&field) || !set.governs_field(field) {
            continue;
        }
        let (before, after) = (reference.attribute(field), requested.attribute(field));
        if before != after {
            changes.push(format!(
                "{field} changed from {} to {}, which a policy reads",
                shown(before.as_ref()),
                shown(after.as_ref())
            ));
        }
    }
    let keys: BTreeSet<&String> = reference
        .labels
        .keys()
        .chain(requested.labels.keys())
        .collect();
    for key in keys {
        let (before, after) = (reference.labels.get(key), requested.labels.get(key));
        if before == after || !set.governs_label(key) {
            continue;
        }
        changes.push(match (before, after) {
            (Some(before), Some(after)) => {
                format!("label {key} changed from {before} to {after}, which a policy reads")
            }
            (Some(before), None) => {
                format!("label {key} removed (was {before}), which a policy reads")
            }
            (None, Some(after)) => format!("label {key} added ({after}), which a policy reads"),
            (None, None) => continue,
        });
    }
    changes
}

/// A field's value in a sentence.
fn shown(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "nothing".into(),
    }
}
