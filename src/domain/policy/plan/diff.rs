//! How two policy sets differ: their policies, their other parts, and
//! their texts line by line.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::policy::set::PolicySet;

/// How the policies themselves differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Policy id and the fields that differ.
    pub changed: Vec<(String, Vec<String>)>,
    /// Vocabulary, permissions and risk floors that differ.
    pub other: Vec<String>,
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.other.is_empty()
    }
}

impl PolicyDiff {
    /// The diff as lines a person reads (`+` added, `-` removed, `~`
    /// changed). Unsanitized: callers printing it make it safe.
    pub fn lines(&self) -> Vec<String> {
        if self.is_empty() {
            return vec!["no policy changes".to_owned()];
        }
        let mut lines = vec!["policies:".to_owned()];
        lines.extend(self.added.iter().map(|id| format!("  + {id}")));
        lines.extend(self.removed.iter().map(|id| format!("  - {id}")));
        lines.extend(
            self.changed
                .iter()
                .map(|(id, fields)| format!("  ~ {id} ({})", fields.join(", "))),
        );
        lines.extend(self.other.iter().map(|part| format!("  ~ {part}")));
        lines
    }
}

/// The policies, vocabulary, permissions and floors that differ.
pub fn diff(active: &PolicySet, proposed: &PolicySet) -> PolicyDiff {
    let old: BTreeMap<&str, serde_json::Value> = active
        .policies()
        .iter()
        .map(|policy| (policy.policy_id.as_str(), fields(policy)))
        .collect();
    let new: BTreeMap<&str, serde_json::Value> = proposed
        .policies()
        .iter()
        .map(|policy| (policy.policy_id.as_str(), fields(policy)))
        .collect();
    let mut result = PolicyDiff {
        added: new
            .keys()
            .filter(|id| !old.contains_key(*id))
            .map(|id| id.to_string())
            .collect(),
        removed: old
            .keys()
            .filter(|id| !new.contains_key(*id))
            .map(|id| id.to_string())
            .collect(),
        ..PolicyDiff::default()
    };
    for (id, before) in &old {
        let Some(after) = new.get(id) else { continue };
        let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
            continue;
        };
        let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        let differing: Vec<String> = keys
            .into_iter()
            .filter(|key| before.get(*key) != after.get(*key))
            .cloned()
            .collect();
        if !differing.is_empty() {
            result.changed.push((id.to_string(), differing));
        }
    }
    let (a, b) = (&active.file, &proposed.file);
    if a.vocabulary != b.vocabulary {
        result.other.push("vocabulary".into());
    }
    if a.permissions != b.permissions {
        result.other.push("permissions".into());
    }
    if a.minimum_risk != b.minimum_risk {
        result.other.push("minimum_risk".into());
    }
    if a.intake != b.intake {
        result.other.push("intake questions".into());
    }
    if a.obligations != b.obligations {
        result.other.push("obligations gate".into());
    }
    if a.exceptions != b.exceptions {
        let rules = &b.exceptions;
        let chain: Vec<&str> = rules.chain.iter().map(|role| role.as_str()).collect();
        result.other.push(format!(
            "exceptions: approved by {}, for at most {} days{} (exceptions already granted keep their end)",
            chain.join(" -> "),
            rules.max_days,
            if rules.not_for.is_empty() {
                String::new()
            } else {
                format!(", never for {}", rules.not_for.join(", "))
            }
        ));
    }
    if a.recertification != b.recertification {
        let periods: Vec<String> = b
            .recertification
            .after
            .iter()
            .map(|(tier, span)| format!("{tier} every {span}"))
            .collect();
        result.other.push(format!(
            "recertification: {} (approvals standing longer lapse at once when it is approved)",
            if periods.is_empty() {
                "approvals stand until the agent changes".to_owned()
            } else {
                periods.join(", ")
            }
        ));
    }
    result.other.extend(crate::domain::policy::frameworks::diff(
        &a.frameworks,
        &b.frameworks,
    ));
    result
}

/// A policy's fields as compared: what it does, not who wrote it.
fn fields(policy: &crate::domain::policy::policies::Policy) -> serde_json::Value {
    let mut value = serde_json::to_value(policy).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("created_by");
        object.remove("approved_by");
    }
    value
}

/// The line diff of two versions' texts, as `gavel policy diff` prints it:
/// `+` lines added, `-` removed, a context line either side.
pub fn text_diff(old: &str, new: &str) -> Vec<String> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    for group in diff.grouped_ops(1) {
        if !lines.is_empty() {
            lines.push("  …".to_owned());
        }
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "-",
                    similar::ChangeTag::Insert => "+",
                    similar::ChangeTag::Equal => " ",
                };
                lines.push(format!(
                    "{sign} {}",
                    change.value().trim_end_matches(['\n', '\r'])
                ));
            }
        }
    }
    lines
}
