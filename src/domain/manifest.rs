//! Deployment manifests: the agent as its team describes it, parsed and
//! bounded; what changed between two versions.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use std::collections::BTreeMap;

use crate::domain::agent::Agent;

mod artifacts;
pub use artifacts::{Artifact, MAX_ARTIFACTS, is_sha256_digest};

/// The most bytes any single text field of a manifest may hold.
pub const MAX_FIELD_BYTES: usize = 256;

/// The most bytes a manifest file may hold.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// What `deploy check` and `deploy request` read: the agent as its team
/// describes it. Who asks is never part of it: the requester is whoever is
/// authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The agent as declared. `tools_approved` is always false here: tool
    /// approval is a record Gavel keeps, derived at evaluation.
    pub agent: Agent,
    /// Deprecated: when present it must name the authenticated user.
    pub requested_by: Option<String>,
    /// Names of the external tools the agent calls.
    pub external_tools: Vec<String>,
    /// A `tools_approved` the file declared; ignored, with a warning.
    pub declared_tools_approved: Option<bool>,
    /// What the deployment ships, by digest (images, model files).
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest is {0} bytes; the most accepted is {MAX_MANIFEST_BYTES}")]
    TooLarge(usize),
    /// Not the shape the schema gives (a missing field, a wrong type).
    #[error("manifest is not valid: {path}: {message}")]
    Invalid { path: String, message: String },
    /// The right shape, but a value breaks a rule (empty text, say).
    #[error("manifest is not valid: {path}: {message}")]
    Rule { path: String, message: String },
}

/// Fields a manifest must have.
const REQUIRED: [&str; 9] = [
    "agent_id",
    "name",
    "team",
    "owner",
    "category",
    "data_classification",
    "has_external_tools",
    "risk_tier",
    "version",
];

/// Fields a manifest may have besides.
const OPTIONAL: [&str; 5] = [
    "artifacts",
    "external_tools",
    "labels",
    "requested_by",
    "tools_approved",
];

/// The most labels an agent carries.
pub const MAX_LABELS: usize = 32;

/// The longest label value, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

/// A JSON value whose objects name each key once, at every depth: parsed
/// into `serde_json::Value` alone, the last of two equal keys would win.
struct UniqueKeys(serde_json::Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("{key:?} is given twice")));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(UniqueKeys(serde_json::Value::Object(object)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(value)) = seq.next_element()? {
            items.push(value);
        }
        Ok(UniqueKeys(serde_json::Value::Array(items)))
    }

    fn visit_bool<E>(self, value: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_i64<E>(self, value: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_f64<E>(self, value: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_str<E>(self, value: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_string<E>(self, value: String) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(value.into()))
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(serde_json::Value::Null))
    }
}

impl Manifest {
    /// Parses and checks a manifest; errors say what is wrong and where.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(text.len()));
        }
        // A field given twice (`risk_tier` "high" then "low") is refused,
        // whichever a parser would keep.
        let UniqueKeys(value) =
            serde_json::from_str(text).map_err(|err| ManifestError::Invalid {
                path: format!("line {} column {}", err.line(), err.column()),
                message: err.to_string(),
            })?;
        let serde_json::Value::Object(fields) = &value else {
            return Err(ManifestError::Invalid {
                path: "(top level)".into(),
                message: "expected a JSON object with the agent's fields".into(),
            });
        };
        let known = || REQUIRED.iter().chain(&OPTIONAL);
        if let Some(unknown) = fields.keys().find(|key| !known().any(|known| known == key)) {
            return Err(ManifestError::Invalid {
                path: unknown.clone(),
                message: format!(
                    "unknown field (known fields: {})",
                    known().copied().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        if let Some(missing) = REQUIRED.iter().find(|key| !fields.contains_key(**key)) {
            return Err(ManifestError::Invalid {
                path: (*missing).into(),
                message: "missing field".into(),
            });
        }
        let manifest: ManifestFields =
            serde_path_to_error::deserialize(&value).map_err(|err| ManifestError::Invalid {
                path: err.path().to_string(),
                message: err.inner().to_string(),
            })?;
        let manifest = manifest.into_manifest();
        manifest.check()?;
        Ok(manifest)
    }

    /// The manifest of an agent as stored (for tests and tools that start
    /// from a known agent).
    pub fn for_agent(agent: Agent, external_tools: Vec<String>) -> Manifest {
        Manifest {
            agent: Agent {
                tools_approved: false,
                ..agent
            },
            requested_by: None,
            external_tools,
            declared_tools_approved: None,
            artifacts: Vec::new(),
        }
    }

    /// The same manifest naming these artifacts.
    pub fn with_artifacts(self, artifacts: Vec<Artifact>) -> Manifest {
        Manifest { artifacts, ..self }
    }

    /// `sha256:` and the SHA-256 of the manifest's canonical form: its
    /// fields as Gavel reads them (never `requested_by` or
    /// `tools_approved`, which do not decide), as JSON with sorted keys and
    /// no spaces (RFC 8785 for a manifest's values). An attestation names
    /// the agent version by it; `gavel attest verify --manifest` recomputes it.
    pub fn canonical_digest(&self) -> String {
        let mut fields = ManifestFields::from(self);
        fields.requested_by = None;
        fields.tools_approved = None;
        // Through `Value`, whose maps keep keys sorted.
        let value = serde_json::to_value(&fields).unwrap_or_default();
        format!(
            "sha256:{}",
            crate::domain::digest::sha256_hex(value.to_string())
        )
    }

    fn check(&self) -> Result<(), ManifestError> {
        let agent = &self.agent;
        let text_fields = [
            ("agent_id", &agent.agent_id),
            ("name", &agent.name),
            ("team", &agent.team),
            ("owner", &agent.owner),
            ("version", &agent.version),
        ];
        for (path, value) in text_fields {
            check_text(path, value)?;
        }
        crate::domain::name::check_id("agent_id", &agent.agent_id).map_err(|message| {
            ManifestError::Rule {
                path: "agent_id".into(),
                message,
            }
        })?;
        if let Some(requested_by) = &self.requested_by {
            check_text("requested_by", requested_by)?;
        }
        for (index, tool) in self.external_tools.iter().enumerate() {
            check_text(&format!("external_tools[{index}]"), tool)?;
        }
        check_labels(&agent.labels)?;
        artifacts::check_artifacts(&self.artifacts, MAX_FIELD_BYTES)
            .map_err(|(path, message)| ManifestError::Rule { path, message })?;
        if self
            .requested_by
            .as_deref()
            .is_some_and(|email| !email.contains('@'))
        {
            return Err(ManifestError::Rule {
                path: "requested_by".into(),
                message: format!("{:?} is not an email address", self.requested_by),
            });
        }
        Ok(())
    }
}

impl Serialize for Manifest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ManifestFields::from(self).serialize(serializer)
    }
}

impl From<&Manifest> for ManifestFields {
    fn from(manifest: &Manifest) -> ManifestFields {
        let agent = &manifest.agent;
        ManifestFields {
            agent_id: agent.agent_id.clone(),
            name: agent.name.clone(),
            team: agent.team.clone(),
            owner: agent.owner.clone(),
            category: agent.category,
            data_classification: agent.data_classification,
            has_external_tools: agent.has_external_tools,
            tools_approved: manifest.declared_tools_approved,
            risk_tier: agent.risk_tier,
            version: agent.version.clone(),
            requested_by: manifest.requested_by.clone(),
            external_tools: manifest.external_tools.clone(),
            labels: agent.labels.clone(),
            artifacts: manifest.artifacts.clone(),
        }
    }
}

fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), ManifestError> {
    let rule = |path: String, message: String| ManifestError::Rule { path, message };
    if labels.len() > MAX_LABELS {
        return Err(rule(
            "labels".into(),
            format!(
                "{} labels; an agent carries at most {MAX_LABELS}",
                labels.len()
            ),
        ));
    }
    for (key, value) in labels {
        if crate::domain::name::intern("label", key).is_err() {
            return Err(rule(
                format!("labels.{}", key.chars().take(64).collect::<String>()),
                "a label key is a snake_case name (a lower-case letter, then letters, digits or _; at most 63)".into(),
            ));
        }
        if value.len() > MAX_LABEL_BYTES {
            return Err(rule(
                format!("labels.{key}"),
                format!(
                    "is {} bytes; the most allowed is {MAX_LABEL_BYTES}",
                    value.len()
                ),
            ));
        }
        check_text(&format!("labels.{key}"), value)?;
    }
    Ok(())
}

fn check_text(path: &str, value: &str) -> Result<(), ManifestError> {
    match crate::text::field_problem(value, MAX_FIELD_BYTES) {
        Some(message) => Err(ManifestError::Rule {
            path: path.to_owned(),
            message,
        }),
        None => Ok(()),
    }
}

/// A deployment manifest as JSON: the agent's fields. The requester is the
/// authenticated user; `requested_by` is deprecated (when given it must name
/// that user) and `tools_approved` is ignored (tool approval is a record).
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Manifest)]
pub struct ManifestFields {
    agent_id: String,
    name: String,
    team: String,
    owner: String,
    category: crate::domain::agent::Category,
    data_classification: crate::domain::agent::DataClassification,
    has_external_tools: bool,
    /// Ignored: a tool is approved by `gavel tools approve`, not by the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    tools_approved: Option<bool>,
    /// The declared tier; it may raise, never lower, the minimum the policies derive.
    risk_tier: crate::domain::agent::RiskTier,
    version: String,
    /// Deprecated: the requester is the authenticated user; if given, it must name them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    requested_by: Option<String>,
    /// Names of the external tools the agent calls.
    #[serde(default)]
    external_tools: Vec<String>,
    /// The organisation's own facts about the agent, read by policy
    /// conditions as `agent.labels.KEY`: at most 32, keys snake_case names,
    /// values 1 to 256 bytes of text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    /// What the deployment ships, by digest: container images (the
    /// admission webhook admits only these) and model files. At most 64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    artifacts: Vec<Artifact>,
}

impl ManifestFields {
    fn into_manifest(self) -> Manifest {
        Manifest {
            agent: Agent {
                agent_id: self.agent_id,
                name: self.name,
                team: self.team,
                owner: self.owner,
                category: self.category,
                data_classification: self.data_classification,
                has_external_tools: self.has_external_tools,
                tools_approved: false,
                risk_tier: self.risk_tier,
                version: self.version,
                labels: self.labels,
            },
            requested_by: self.requested_by,
            external_tools: self.external_tools,
            declared_tools_approved: self.tools_approved,
            artifacts: self.artifacts,
        }
    }
}

/// One field of a manifest that differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    /// `risk_tier`, `labels.region`, `external_tools`...
    pub field: String,
    /// The running version's value (none: the field is new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The requested version's value (none: the field is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The fields of a manifest as a reviewer compares them, in a fixed order.
fn manifest_fields(agent: &Agent, tools: &[String]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        "name",
        "team",
        "owner",
        "version",
        "category",
        "data_classification",
        "risk_tier",
        "has_external_tools",
        "tools_approved",
    ]
    .into_iter()
    .filter_map(|key| {
        let value = agent.attribute(key)?;
        let text = match value {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        Some((key.to_owned(), text))
    })
    .collect();
    if !tools.is_empty() {
        let mut tools = tools.to_vec();
        tools.sort();
        fields.push(("external_tools".into(), tools.join(", ")));
    }
    fields.extend(
        agent
            .labels
            .iter()
            .map(|(key, value)| (format!("labels.{key}"), value.clone())),
    );
    fields
}

/// What changed from the running version of an agent to the one requested,
/// field by field (labels one by one).
pub fn manifest_changes(
    running: (&Agent, &[String]),
    requested: (&Agent, &[String]),
) -> Vec<FieldChange> {
    let before = manifest_fields(running.0, running.1);
    let after = manifest_fields(requested.0, requested.1);
    let value = |fields: &[(String, String)], field: &str| {
        fields
            .iter()
            .find(|(key, _)| key == field)
            .map(|(_, value)| value.clone())
    };
    let mut names: Vec<&String> = after.iter().map(|(key, _)| key).collect();
    for (key, _) in &before {
        if !names.contains(&key) {
            names.push(key);
        }
    }
    names
        .into_iter()
        .filter_map(|field| {
            let (old, new) = (value(&before, field), value(&after, field));
            (old != new).then(|| FieldChange {
                field: field.clone(),
                before: old,
                after: new,
            })
        })
        .collect()
}

#[cfg(test)]
mod manifest_change_tests {
    use super::*;

    #[test]
    fn changes_name_each_field_that_differs_and_nothing_else() {
        let running: Agent = serde_json::from_value(serde_json::json!({
            "agent_id": "agt-1", "name": "Helper", "team": "support", "owner": "o@example.com",
            "category": "customer_support", "data_classification": "internal",
            "has_external_tools": false, "tools_approved": false, "risk_tier": "low",
            "version": "1.0", "labels": { "region": "eu", "tier": "gold" }
        }))
        .unwrap();
        let mut requested = running.clone();
        requested.version = "1.1".into();
        requested.data_classification =
            crate::domain::DataClassification::new("confidential").unwrap();
        requested.labels.remove("tier");
        requested.labels.insert("channel".into(), "chat".into());
        let changes = manifest_changes((&running, &[]), (&requested, &["search".to_owned()]));
        let fields: Vec<(&str, Option<&str>, Option<&str>)> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_deref(), c.after.as_deref()))
            .collect();
        assert_eq!(
            fields,
            [
                ("version", Some("1.0"), Some("1.1")),
                (
                    "data_classification",
                    Some("internal"),
                    Some("confidential")
                ),
                ("external_tools", None, Some("search")),
                ("labels.channel", None, Some("chat")),
                ("labels.tier", Some("gold"), None),
            ]
        );
        assert!(manifest_changes((&running, &[]), (&running, &[])).is_empty());
    }
}
