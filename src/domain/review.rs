//! Structured ethics reviews: templates as data and validation of answers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::name::display_as_str;

const DEFAULT_TEMPLATE_TOML: &str = include_str!("templates/ethics_default.toml");

/// Default limits when a question names none, in bytes.
pub const TEXT_MAX_LEN: usize = 500;
pub const LONG_TEXT_MAX_LEN: usize = 10_000;
/// Hard cap on any single answer, even in a draft, so a store cannot be flooded.
pub const DRAFT_ANSWER_MAX_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Text,
    LongText,
    SingleChoice,
    MultiChoice,
    YesNo,
    #[serde(rename = "scale_1_5")]
    Scale1To5,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredWhen {
    pub question: String,
    pub equals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub prompt: String,
    pub kind: QuestionKind,
    #[serde(default)]
    pub required: bool,
    /// Required only when another question's answer is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_when: Option<RequiredWhen>,
    #[serde(default)]
    pub help: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
}

impl Question {
    pub fn max_len(&self) -> usize {
        self.max_len.unwrap_or(match self.kind {
            QuestionKind::LongText => LONG_TEXT_MAX_LEN,
            _ => TEXT_MAX_LEN,
        })
    }

    /// Required outright, or because of another answer.
    pub fn is_required(&self, answers: &Answers) -> bool {
        self.required
            || self.required_when.as_ref().is_some_and(|when| {
                matches!(answers.get(&when.question), Some(serde_json::Value::String(value)) if when.equals.contains(value))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewTemplate {
    pub template_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub questions: Vec<Question>,
}

#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("review template is not valid TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("review template {template}: {problem}")]
    Invalid { template: String, problem: String },
}

impl ReviewTemplate {
    /// The built-in template from DESIGN.md.
    pub fn default_template() -> ReviewTemplate {
        // The embedded file is covered by a unit test, so this cannot fail at run time.
        ReviewTemplate::from_toml(DEFAULT_TEMPLATE_TOML)
            .unwrap_or_else(|err| unreachable!("embedded review template is invalid: {err}"))
    }

    pub fn from_toml(text: &str) -> Result<ReviewTemplate, TemplateError> {
        let template: ReviewTemplate = toml::from_str(text)?;
        template.check()?;
        Ok(template)
    }

    pub fn check(&self) -> Result<(), TemplateError> {
        let invalid = |problem: String| TemplateError::Invalid {
            template: self.template_id.clone(),
            problem,
        };
        let mut ids = std::collections::HashSet::new();
        for question in &self.questions {
            if !ids.insert(question.id.as_str()) {
                return Err(invalid(format!(
                    "question id {} appears twice",
                    question.id
                )));
            }
            let is_choice = matches!(
                question.kind,
                QuestionKind::SingleChoice | QuestionKind::MultiChoice
            );
            if is_choice && question.options.is_empty() {
                return Err(invalid(format!(
                    "choice question {} has no options",
                    question.id
                )));
            }
            if !is_choice && !question.options.is_empty() {
                return Err(invalid(format!(
                    "question {} has options but is not a choice",
                    question.id
                )));
            }
        }
        for question in &self.questions {
            if let Some(when) = &question.required_when
                && !ids.contains(when.question.as_str())
            {
                return Err(invalid(format!(
                    "question {} depends on unknown question {}",
                    question.id, when.question
                )));
            }
        }
        Ok(())
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|question| question.id == id)
    }
}

/// Answers by question id. Values: text as a string, a single choice as a
/// string, a multi choice as an array of strings, yes/no as a boolean, a
/// scale as an integer.
pub type Answers = BTreeMap<String, serde_json::Value>;

/// Whether validation is for a draft (only what could never be submitted
/// is refused) or for submission (everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationMode {
    Draft,
    Submit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidationIssue {
    pub question_id: String,
    pub message: String,
}

fn is_blank(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::String(text) => !crate::text::has_visible_text(text),
        serde_json::Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Checks answers against a template. Issues come in template order, so the
/// first one names the first field to fix.
pub fn validate(
    template: &ReviewTemplate,
    answers: &Answers,
    mode: ValidationMode,
) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    let mut issue = |question_id: &str, message: String| {
        issues.push(ValidationIssue {
            question_id: question_id.to_owned(),
            message,
        })
    };
    for key in answers.keys() {
        if template.question(key).is_none() {
            issue(
                key,
                format!(
                    "{key:?} is not a question of template {}",
                    template.template_id
                ),
            );
        }
    }
    for question in &template.questions {
        let answer = answers.get(&question.id).filter(|value| !is_blank(value));
        let Some(answer) = answer else {
            if mode == ValidationMode::Submit && question.is_required(answers) {
                issue(&question.id, format!("\"{}\" is required", question.prompt));
            }
            continue;
        };
        let limit = match mode {
            ValidationMode::Draft => DRAFT_ANSWER_MAX_LEN,
            ValidationMode::Submit => question.max_len(),
        };
        if let Some(problem) = check_answer(question, answer, limit, mode) {
            issue(&question.id, problem);
        }
    }
    issues
}

fn check_answer(
    question: &Question,
    answer: &serde_json::Value,
    limit: usize,
    mode: ValidationMode,
) -> Option<String> {
    use serde_json::Value;
    let in_options = |choice: &str| question.options.iter().any(|option| option == choice);
    match (question.kind, answer) {
        (QuestionKind::Text | QuestionKind::LongText, Value::String(text)) => (text.len() > limit)
            .then(|| {
                format!(
                    "\"{}\" is {} bytes long; the limit is {limit}",
                    question.prompt,
                    text.len()
                )
            }),
        (QuestionKind::SingleChoice, Value::String(choice)) => (!in_options(choice)).then(|| {
            format!(
                "{choice:?} is not an option of \"{}\" (options: {})",
                question.prompt,
                question.options.join(", ")
            )
        }),
        (QuestionKind::MultiChoice, Value::Array(items)) => {
            let mut seen = std::collections::HashSet::new();
            for item in items {
                let Value::String(choice) = item else {
                    return Some(format!(
                        "\"{}\" takes a list of option names",
                        question.prompt
                    ));
                };
                if !in_options(choice) {
                    return Some(format!(
                        "{choice:?} is not an option of \"{}\" (options: {})",
                        question.prompt,
                        question.options.join(", ")
                    ));
                }
                if !seen.insert(choice) && mode == ValidationMode::Submit {
                    return Some(format!("{choice:?} is chosen twice"));
                }
            }
            None
        }
        (QuestionKind::YesNo, Value::Bool(_)) => None,
        (QuestionKind::Scale1To5, Value::Number(number)) => match number.as_u64() {
            Some(1..=5) => None,
            _ => Some(format!(
                "\"{}\" takes a whole number from 1 to 5, not {number}",
                question.prompt
            )),
        },
        (kind, _) => Some(format!(
            "\"{}\" expects {}",
            question.prompt,
            match kind {
                QuestionKind::Text | QuestionKind::LongText => "text",
                QuestionKind::SingleChoice => "one option name",
                QuestionKind::MultiChoice => "a list of option names",
                QuestionKind::YesNo => "yes or no (true/false)",
                QuestionKind::Scale1To5 => "a whole number from 1 to 5",
            }
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Assigned,
    Draft,
    Submitted,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 3] = [
        ReviewStatus::Assigned,
        ReviewStatus::Draft,
        ReviewStatus::Submitted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Assigned => "assigned",
            ReviewStatus::Draft => "draft",
            ReviewStatus::Submitted => "submitted",
        }
    }
}

display_as_str!(ReviewStatus);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EthicsReview {
    pub review_id: String,
    pub workflow_id: String,
    pub agent_id: String,
    pub reviewer: String,
    pub template_id: String,
    pub status: ReviewStatus,
    #[schema(value_type = Object)]
    pub answers: Answers,
    /// Where the reviewer left off in the form (opaque to the store).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub form_state: Option<serde_json::Value>,
    pub assigned_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub version: i64,
    /// When the directory removed its reviewer before they submitted: it
    /// waits for a compliance officer to reassign it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassign_since: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn complete() -> Answers {
        serde_json::from_value(json!({
            "use_case_appropriateness": "appropriate",
            "training_data_ethically_sourced": true,
            "affected_populations": ["job_applicants"],
            "values_alignment": 4,
            "risks_and_mitigations": "Proxy discrimination; mitigated by quarterly audits.",
            "recommendation": "approve"
        }))
        .unwrap()
    }

    fn ids(issues: &[ValidationIssue]) -> Vec<&str> {
        issues
            .iter()
            .map(|issue| issue.question_id.as_str())
            .collect()
    }

    #[test]
    fn the_default_template_has_every_question_from_the_design() {
        let template = ReviewTemplate::default_template();
        let question_ids: Vec<&str> = template.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(
            question_ids,
            [
                "use_case_appropriateness",
                "training_data_ethically_sourced",
                "affected_populations",
                "values_alignment",
                "risks_and_mitigations",
                "recommendation",
                "conditions",
                "rationale"
            ]
        );
        let kinds: std::collections::HashSet<_> =
            template.questions.iter().map(|q| q.kind).collect();
        assert_eq!(kinds.len(), 5, "all kinds but short text are used");
    }

    #[test]
    fn a_complete_review_passes() {
        let template = ReviewTemplate::default_template();
        assert_eq!(validate(&template, &complete(), ValidationMode::Submit), []);
    }

    #[test]
    fn missing_required_answers_are_listed_in_template_order() {
        let template = ReviewTemplate::default_template();
        let mut answers = complete();
        answers.remove("values_alignment");
        answers.insert("use_case_appropriateness".into(), json!("   "));
        let issues = validate(&template, &answers, ValidationMode::Submit);
        assert_eq!(
            ids(&issues),
            ["use_case_appropriateness", "values_alignment"]
        );
        assert!(issues[0].message.contains("is required"));
        assert_eq!(validate(&template, &answers, ValidationMode::Draft), []);
        // An answer of zero-width or blank-rendering characters is no answer.
        let mut answers = complete();
        answers.insert(
            "risks_and_mitigations".into(),
            json!("\u{200B}\u{2060}\u{FEFF}\u{3164}"),
        );
        assert_eq!(
            ids(&validate(&template, &answers, ValidationMode::Submit)),
            ["risks_and_mitigations"]
        );
    }

    #[test]
    fn rejecting_needs_a_rationale_and_conditions_need_conditions() {
        let template = ReviewTemplate::default_template();
        let mut answers = complete();
        answers.insert("recommendation".into(), json!("reject"));
        assert_eq!(
            ids(&validate(&template, &answers, ValidationMode::Submit)),
            ["rationale"]
        );
        answers.insert("recommendation".into(), json!("approve_with_conditions"));
        assert_eq!(
            ids(&validate(&template, &answers, ValidationMode::Submit)),
            ["conditions", "rationale"]
        );
    }

    #[test]
    fn choices_must_be_options_and_scales_in_range() {
        let template = ReviewTemplate::default_template();
        let mut answers = complete();
        answers.insert("recommendation".into(), json!("ship it"));
        answers.insert(
            "affected_populations".into(),
            json!(["employees", "martians"]),
        );
        answers.insert("values_alignment".into(), json!(6));
        answers.insert("training_data_ethically_sourced".into(), json!("yes"));
        let issues = validate(&template, &answers, ValidationMode::Submit);
        assert_eq!(
            ids(&issues),
            [
                "training_data_ethically_sourced",
                "affected_populations",
                "values_alignment",
                "recommendation"
            ]
        );
        assert!(issues[2].message.contains("from 1 to 5"));
        answers.insert("values_alignment".into(), json!(2.5));
        assert!(
            ids(&validate(&template, &answers, ValidationMode::Submit))
                .contains(&"values_alignment")
        );
    }

    #[test]
    fn length_limits_apply_on_submit_and_a_hard_cap_on_drafts() {
        let template = ReviewTemplate::default_template();
        let mut answers = complete();
        answers.insert(
            "risks_and_mitigations".into(),
            json!("x".repeat(LONG_TEXT_MAX_LEN + 1)),
        );
        assert_eq!(
            ids(&validate(&template, &answers, ValidationMode::Submit)),
            ["risks_and_mitigations"]
        );
        assert_eq!(validate(&template, &answers, ValidationMode::Draft), []);
        answers.insert(
            "risks_and_mitigations".into(),
            json!("x".repeat(DRAFT_ANSWER_MAX_LEN + 1)),
        );
        assert_eq!(
            ids(&validate(&template, &answers, ValidationMode::Draft)),
            ["risks_and_mitigations"]
        );
    }

    #[test]
    fn unknown_questions_are_refused_even_in_drafts() {
        let template = ReviewTemplate::default_template();
        let mut answers = complete();
        answers.insert("favourite_colour".into(), json!("blue"));
        assert_eq!(
            ids(&validate(&template, &answers, ValidationMode::Draft)),
            ["favourite_colour"]
        );
    }

    #[test]
    fn broken_templates_are_errors() {
        assert!(matches!(
            ReviewTemplate::from_toml("template_id = 3"),
            Err(TemplateError::Parse(_))
        ));
        let no_options = r#"
            template_id = "t"
            name = "t"
            [[questions]]
            id = "q"
            prompt = "q?"
            kind = "single_choice"
        "#;
        assert!(
            ReviewTemplate::from_toml(no_options)
                .unwrap_err()
                .to_string()
                .contains("has no options")
        );
        let bad_kind = no_options.replace("single_choice", "essay");
        assert!(ReviewTemplate::from_toml(&bad_kind).is_err());
    }
}

/// A submitted review as Markdown, for the compliance file. Every question
/// of the template appears, answered or not, in template order.
pub fn to_markdown(review: &EthicsReview, template: &ReviewTemplate, agent_name: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "# {}: {}\n", template.name, one_line(agent_name));
    let _ = writeln!(out, "| | |\n| --- | --- |");
    let rows = [
        ("Review", review.review_id.clone()),
        ("Workflow", review.workflow_id.clone()),
        ("Agent", review.agent_id.clone()),
        ("Reviewer", review.reviewer.clone()),
        ("Status", review.status.to_string()),
        ("Template", template.template_id.clone()),
        (
            "Submitted",
            review.submitted_at.map_or("not submitted".into(), |at| {
                at.format("%Y-%m-%d %H:%M UTC").to_string()
            }),
        ),
    ];
    for (label, value) in rows {
        let _ = writeln!(
            out,
            "| {label} | {} |",
            one_line(&value).replace('|', "\\|")
        );
    }
    for question in &template.questions {
        let _ = writeln!(out, "\n## {}\n", one_line(&question.prompt));
        let answer = review.answers.get(&question.id);
        let text = match (question.kind, answer) {
            (_, None | Some(serde_json::Value::Null)) => "_no answer_".to_owned(),
            (QuestionKind::YesNo, Some(serde_json::Value::Bool(yes))) => {
                if *yes { "Yes" } else { "No" }.to_owned()
            }
            (QuestionKind::MultiChoice, Some(serde_json::Value::Array(items))) => items
                .iter()
                .map(|item| {
                    format!(
                        "- {}",
                        one_line(&option_label(item.as_str().unwrap_or_default()))
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            (QuestionKind::SingleChoice, Some(serde_json::Value::String(choice))) => {
                option_label(choice)
            }
            (QuestionKind::Scale1To5, Some(value)) => format!("{value} of 5"),
            (_, Some(serde_json::Value::String(text))) => quote_block(text),
            (_, Some(other)) => other.to_string(),
        };
        let _ = writeln!(out, "{text}");
    }
    out
}

/// "approve_with_conditions" -> "Approve with conditions".
pub fn option_label(option: &str) -> String {
    let spaced = option.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Free text as a Markdown quote, so nothing in it can become a heading.
fn quote_block(text: &str) -> String {
    text.lines()
        .map(|line| {
            let clean: String = line
                .chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .collect();
            format!("> {clean}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod markdown_tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn an_export_lists_every_question_with_its_answer() {
        let template = ReviewTemplate::default_template();
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap();
        let review = EthicsReview {
            review_id: "rev-1".into(),
            workflow_id: "wf-1".into(),
            agent_id: "agt-1".into(),
            reviewer: "eth@example.com".into(),
            template_id: template.template_id.clone(),
            status: ReviewStatus::Submitted,
            answers: serde_json::from_value(json!({
                "use_case_appropriateness": "appropriate_with_safeguards",
                "training_data_ethically_sourced": true,
                "affected_populations": ["job_applicants", "employees"],
                "values_alignment": 4,
                "risks_and_mitigations": "Proxy bias.\n# not a heading",
                "recommendation": "approve"
            }))
            .unwrap(),
            form_state: None,
            assigned_at: at,
            updated_at: at,
            submitted_at: Some(at),
            version: 3,
            reassign_since: None,
        };
        let markdown = to_markdown(&review, &template, "Resume Screener");
        assert!(markdown.starts_with("# Ethics review: Resume Screener"));
        assert!(markdown.contains("| Submitted | 2026-03-01 09:30 UTC |"));
        assert!(markdown.contains("Appropriate with safeguards"));
        assert!(markdown.contains("- Job applicants\n- Employees"));
        assert!(markdown.contains("4 of 5"));
        assert!(markdown.contains("> Proxy bias.\n> # not a heading"));
        assert!(markdown.contains("## Conditions of approval\n\n_no answer_"));
        assert_eq!(markdown.matches("\n## ").count(), template.questions.len());
    }
}
