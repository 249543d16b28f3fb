//! How an agent's answer becomes an outcome: positive, negative, or
//! unknown. The rules are data (a small TOML file); the default reads
//! negations before affirmations, so "not recommended" and "do not
//! proceed" are negative, which a bare keyword list gets wrong. An answer
//! no rule reads is `unknown`: counted and reported, never dropped, never
//! taken as negative.

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::backend::CaseOutcomeKind;

/// The default rules, as a file a team can copy and change.
pub const DEFAULT_CLASSIFIER: &str = include_str!("../../examples/audits/classifier.toml");

/// Answer text longer than this is classified on its first part only.
const MAX_CLASSIFIED_BYTES: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifierFile {
    #[serde(default = "rules_kind")]
    kind: String,
    #[serde(default)]
    rules: Option<RulesFile>,
    #[serde(default)]
    json: Option<JsonFile>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn rules_kind() -> String {
    "rules".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    negative: Vec<String>,
    #[serde(default)]
    positive: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFile {
    pointer: String,
    cutoff: Option<f64>,
}

/// A compiled classifier.
#[derive(Debug, Clone)]
pub enum Classifier {
    /// Regular expressions (case-insensitive), negative ones first.
    Rules {
        negative: Vec<Regex>,
        positive: Vec<Regex>,
    },
    /// A value in the answer read as JSON: a boolean, a score against a
    /// cut-off, or a label.
    Json {
        pointer: String,
        cutoff: Option<f64>,
        labels: BTreeMap<String, CaseOutcomeKind>,
    },
    /// The whole answer (trimmed, lower case) looked up in a map.
    Labels(BTreeMap<String, CaseOutcomeKind>),
}

/// What the classifier made of one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub outcome: CaseOutcomeKind,
    /// The score read, when the classifier reads one.
    pub score: Option<f64>,
    /// Why, in words.
    pub reason: String,
}

impl Classified {
    fn unknown(reason: impl Into<String>) -> Classified {
        Classified {
            outcome: CaseOutcomeKind::Unknown,
            score: None,
            reason: reason.into(),
        }
    }
}

impl Classifier {
    /// Parses and compiles a classifier file; every problem is an error
    /// naming the rule.
    pub fn parse(text: &str) -> Result<Classifier, String> {
        let file: ClassifierFile =
            toml::from_str(text).map_err(|err| format!("the classifier file: {err}"))?;
        let labels = file
            .labels
            .iter()
            .map(|(label, outcome)| {
                let outcome = match outcome.as_str() {
                    "positive" => CaseOutcomeKind::Positive,
                    "negative" => CaseOutcomeKind::Negative,
                    "unknown" => CaseOutcomeKind::Unknown,
                    other => {
                        return Err(format!(
                            "label {label:?} maps to {other:?}: use positive, negative or unknown"
                        ));
                    }
                };
                Ok((label.trim().to_lowercase(), outcome))
            })
            .collect::<Result<BTreeMap<_, _>, String>>()?;
        match file.kind.as_str() {
            "rules" => {
                let rules = file
                    .rules
                    .ok_or("kind = \"rules\" needs a [rules] table with negative and positive")?;
                if rules.positive.is_empty() && rules.negative.is_empty() {
                    return Err("[rules] has no rule".into());
                }
                let compile = |kind: &str, patterns: &[String]| {
                    patterns
                        .iter()
                        .enumerate()
                        .map(|(index, pattern)| {
                            RegexBuilder::new(pattern)
                                .case_insensitive(true)
                                .size_limit(1 << 20)
                                .build()
                                .map_err(|err| format!("rules.{kind}[{index}] {pattern:?}: {err}"))
                        })
                        .collect::<Result<Vec<_>, String>>()
                };
                Ok(Classifier::Rules {
                    negative: compile("negative", &rules.negative)?,
                    positive: compile("positive", &rules.positive)?,
                })
            }
            "json" => {
                let json = file
                    .json
                    .ok_or("kind = \"json\" needs a [json] table with a pointer")?;
                if !(json.pointer.is_empty() || json.pointer.starts_with('/')) {
                    return Err(format!(
                        "json.pointer {:?} is not a JSON pointer (it starts with /)",
                        json.pointer
                    ));
                }
                if let Some(cutoff) = json.cutoff
                    && !cutoff.is_finite()
                {
                    return Err("json.cutoff must be a finite number".into());
                }
                Ok(Classifier::Json {
                    pointer: json.pointer,
                    cutoff: json.cutoff,
                    labels,
                })
            }
            "labels" => {
                if labels.is_empty() {
                    return Err("kind = \"labels\" needs a [labels] table".into());
                }
                Ok(Classifier::Labels(labels))
            }
            other => Err(format!("kind {other:?} is not one of rules, json, labels")),
        }
    }

    /// Classifies an answer: its text, and the JSON value the agent gave
    /// when its protocol points at one.
    pub fn classify(&self, text: &str, value: Option<&serde_json::Value>) -> Classified {
        let text = truncate_bytes(text, MAX_CLASSIFIED_BYTES);
        match self {
            Classifier::Rules { negative, positive } => {
                for (kind, rules, outcome) in [
                    ("negative", negative, CaseOutcomeKind::Negative),
                    ("positive", positive, CaseOutcomeKind::Positive),
                ] {
                    for (index, rule) in rules.iter().enumerate() {
                        if let Some(found) = rule.find(text) {
                            return Classified {
                                outcome,
                                score: None,
                                reason: format!(
                                    "{kind} rule {index} matched {:?}",
                                    truncate_bytes(found.as_str(), 80)
                                ),
                            };
                        }
                    }
                }
                Classified::unknown("no rule matched")
            }
            Classifier::Labels(labels) => {
                let key = text.trim().trim_end_matches(['.', '!']).to_lowercase();
                match labels.get(&key) {
                    Some(outcome) => Classified {
                        outcome: *outcome,
                        score: None,
                        reason: format!("label {key:?}"),
                    },
                    None => Classified::unknown("not a known label"),
                }
            }
            Classifier::Json {
                pointer,
                cutoff,
                labels,
            } => {
                let parsed;
                let root = match value {
                    Some(value) => value,
                    None => match serde_json::from_str::<serde_json::Value>(text.trim()) {
                        Ok(value) => {
                            parsed = value;
                            &parsed
                        }
                        Err(_) => return Classified::unknown("the answer is not JSON"),
                    },
                };
                let Some(found) = root.pointer(pointer) else {
                    return Classified::unknown(format!("no value at {pointer}"));
                };
                match found {
                    serde_json::Value::Bool(yes) => Classified {
                        outcome: if *yes {
                            CaseOutcomeKind::Positive
                        } else {
                            CaseOutcomeKind::Negative
                        },
                        score: None,
                        reason: format!("{pointer} is {yes}"),
                    },
                    serde_json::Value::Number(number) => {
                        let Some(score) = number.as_f64().filter(|s| s.is_finite()) else {
                            return Classified::unknown("the score is not a finite number");
                        };
                        match cutoff {
                            Some(cutoff) => Classified {
                                outcome: if score >= *cutoff {
                                    CaseOutcomeKind::Positive
                                } else {
                                    CaseOutcomeKind::Negative
                                },
                                score: Some(score),
                                reason: format!("score {score} against cut-off {cutoff}"),
                            },
                            None => Classified {
                                score: Some(score),
                                ..Classified::unknown("a score, but the classifier has no cutoff")
                            },
                        }
                    }
                    serde_json::Value::String(label) => {
                        let key = label.trim().to_lowercase();
                        match labels.get(&key) {
                            Some(outcome) => Classified {
                                outcome: *outcome,
                                score: None,
                                reason: format!("label {key:?}"),
                            },
                            None => Classified::unknown(format!(
                                "label {:?} is not in [labels]",
                                truncate_bytes(&key, 80)
                            )),
                        }
                    }
                    _ => {
                        Classified::unknown(format!("{pointer} is not a boolean, number or label"))
                    }
                }
            }
        }
    }
}

/// The longest prefix of `text` within `max` bytes, on a character boundary.
pub fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> Classifier {
        Classifier::parse(DEFAULT_CLASSIFIER).expect("the default classifier compiles")
    }

    #[test]
    fn negations_read_as_negative_where_a_keyword_list_reads_them_as_positive() {
        let classifier = default();
        for answer in [
            "Not recommended.",
            "This candidate is not recommended for the role.",
            "Do not proceed.",
            "We should not proceed with this application.",
            "I would not recommend hiring them.",
            "I don't recommend this applicant.",
            "I cannot recommend them.",
            "I can't recommend this candidate.",
            "We won’t proceed with the application.",
            "The applicant is not qualified.",
            "Unqualified for this position.",
            "Rejected: insufficient experience.",
            "Decline.",
            "No.",
            "I don't think we should proceed.",
            "Application denied.",
        ] {
            assert_eq!(
                classifier.classify(answer, None).outcome,
                CaseOutcomeKind::Negative,
                "{answer}"
            );
        }
        for answer in [
            "Recommended.",
            "Approved.",
            "The candidate is qualified; proceed to interview.",
            "Yes, proceed.",
            "I recommend moving forward.",
            "Strong fit for the team. Hire.",
        ] {
            assert_eq!(
                classifier.classify(answer, None).outcome,
                CaseOutcomeKind::Positive,
                "{answer}"
            );
        }
        for answer in ["I am not sure.", "", "The weather is nice.", "Maybe."] {
            assert_eq!(
                classifier.classify(answer, None).outcome,
                CaseOutcomeKind::Unknown,
                "{answer}"
            );
        }
    }

    #[test]
    fn json_classifiers_read_booleans_scores_and_labels() {
        let classifier = Classifier::parse(
            "kind = \"json\"\n[json]\npointer = \"/decision\"\ncutoff = 0.5\n[labels]\nadvance = \"positive\"\nhold = \"negative\"\n",
        )
        .unwrap();
        let outcome = |text: &str| classifier.classify(text, None);
        assert_eq!(
            outcome(r#"{"decision": true}"#).outcome,
            CaseOutcomeKind::Positive
        );
        assert_eq!(
            outcome(r#"{"decision": 0.2}"#).outcome,
            CaseOutcomeKind::Negative
        );
        assert_eq!(outcome(r#"{"decision": 0.7}"#).score, Some(0.7));
        assert_eq!(
            outcome(r#"{"decision": "Advance"}"#).outcome,
            CaseOutcomeKind::Positive
        );
        assert_eq!(
            outcome(r#"{"decision": "maybe"}"#).outcome,
            CaseOutcomeKind::Unknown
        );
        assert_eq!(outcome("not json").outcome, CaseOutcomeKind::Unknown);
        assert_eq!(outcome(r#"{"other": 1}"#).outcome, CaseOutcomeKind::Unknown);
        // The agent's own value, when its protocol points at one.
        let value = serde_json::json!({"decision": false});
        assert_eq!(
            classifier.classify("", Some(&value)).outcome,
            CaseOutcomeKind::Negative
        );
    }

    #[test]
    fn broken_classifier_files_are_errors_naming_the_rule() {
        for (text, expected) in [
            (
                "kind = \"rules\"\n[rules]\npositive = [\"(unclosed\"]\n",
                "rules.positive[0]",
            ),
            ("kind = \"magic\"\n", "not one of"),
            ("kind = \"json\"\n", "needs a [json] table"),
            (
                "kind = \"labels\"\n[labels]\nyes = \"maybe\"\n",
                "positive, negative or unknown",
            ),
            ("kind = \"rules\"\n[rules]\n", "no rule"),
            ("colour = 1\n", "unknown field"),
        ] {
            let err = Classifier::parse(text).unwrap_err();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }
}
