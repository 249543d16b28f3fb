//! Audit case files: JSON Lines or CSV, one case per line or row.
//!
//! The governance model's own form is accepted as is: `{"prompt": "...",
//! "group": "female"}`. Richer cases name themselves and carry several
//! protected attributes, a template's fields instead of a prompt, and a
//! `pair_id` shared by counterfactual cases that differ only in an
//! attribute:
//!
//! ```json
//! {"id": "c-017", "fields": {"name": "Amara Okafor", "years": "6"},
//!  "attributes": {"sex": "female", "race_ethnicity": "black"}, "pair_id": "p-9"}
//! ```
//!
//! CSV files name the same things in their header: `id`, `prompt`,
//! `pair_id`, `group`, `attr.NAME` for an attribute and `field.NAME` for a
//! template field.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

/// The most cases one file may hold.
pub const MAX_CASES: usize = 1_000_000;
/// The largest case file read.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;
const MAX_ID_BYTES: usize = 128;
const MAX_TEXT_BYTES: usize = 64 * 1024;
const MAX_ATTRIBUTES: usize = 16;
const MAX_VALUE_BYTES: usize = 200;

/// What the agent is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseInput {
    Prompt(String),
    /// Fields for a prompt or request-body template.
    Fields(BTreeMap<String, String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: String,
    pub input: CaseInput,
    /// Protected attributes: name -> category.
    pub attributes: BTreeMap<String, String>,
    pub pair_id: Option<String>,
}

/// A case as a JSON line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCase {
    id: Option<String>,
    prompt: Option<String>,
    fields: Option<BTreeMap<String, serde_json::Value>>,
    group: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    pair_id: Option<String>,
}

/// A case file that cannot be used, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CaseError(pub String);

/// A case file's cases and the SHA-256 of its bytes.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub cases: Vec<Case>,
    pub sha256: String,
}

/// Reads a case file: CSV when its name ends in `.csv`, JSON Lines
/// otherwise.
pub fn read(path: &std::path::Path) -> Result<CaseFile, CaseError> {
    let shown = path.display();
    let metadata = std::fs::metadata(path)
        .map_err(|err| CaseError(format!("cannot read case file {shown}: {err}")))?;
    if metadata.len() > MAX_FILE_BYTES {
        return Err(CaseError(format!(
            "case file {shown} is {} bytes; the most read is {MAX_FILE_BYTES}",
            metadata.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|err| CaseError(format!("cannot read case file {shown}: {err}")))?;
    let csv = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
    let cases = if csv {
        parse_csv(&bytes)
    } else {
        parse_jsonl(&bytes)
    }
    .map_err(|err| CaseError(format!("{shown}: {}", err.0)))?;
    Ok(CaseFile {
        cases,
        sha256: crate::domain::digest::sha256_hex(&bytes),
    })
}

pub fn parse_jsonl(bytes: &[u8]) -> Result<Vec<Case>, CaseError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|err| CaseError(format!("the file is not UTF-8: {err}")))?;
    let mut cases = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let raw: JsonCase =
            serde_json::from_str(line).map_err(|err| CaseError(format!("line {number}: {err}")))?;
        let fields = raw
            .fields
            .map(|fields| {
                fields
                    .into_iter()
                    .map(|(name, value)| {
                        let value = match value {
                            serde_json::Value::String(text) => text,
                            other @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                                other.to_string()
                            }
                            _ => {
                                return Err(CaseError(format!(
                                    "line {number}: field {name:?} must be a string, number or boolean"
                                )));
                            }
                        };
                        Ok((name, value))
                    })
                    .collect::<Result<BTreeMap<_, _>, _>>()
            })
            .transpose()?;
        let case = build(
            raw.id,
            raw.prompt,
            fields,
            raw.group,
            raw.attributes,
            raw.pair_id,
            number,
        )
        .map_err(|err| CaseError(format!("line {number}: {}", err.0)))?;
        cases.push(case);
    }
    finish(cases)
}

pub fn parse_csv(bytes: &[u8]) -> Result<Vec<Case>, CaseError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|err| CaseError(format!("the header row: {err}")))?
        .clone();
    let mut known = HashSet::new();
    for header in &headers {
        let ok = matches!(header, "id" | "prompt" | "pair_id" | "group")
            || header.starts_with("attr.")
            || header.starts_with("field.");
        if !ok {
            return Err(CaseError(format!(
                "column {header:?} is not one of id, prompt, pair_id, group, attr.NAME, field.NAME"
            )));
        }
        if !known.insert(header.to_owned()) {
            return Err(CaseError(format!("column {header:?} appears twice")));
        }
    }
    let mut cases = Vec::new();
    for (index, record) in reader.records().enumerate() {
        // The header is row 1.
        let number = index + 2;
        let record = record.map_err(|err| CaseError(format!("row {number}: {err}")))?;
        let (mut id, mut prompt, mut pair_id, mut group) = (None, None, None, None);
        let mut fields = BTreeMap::new();
        let mut attributes = BTreeMap::new();
        for (header, value) in headers.iter().zip(record.iter()) {
            let value = value.to_owned();
            match header {
                "id" => id = Some(value).filter(|v| !v.is_empty()),
                "prompt" => prompt = Some(value).filter(|v| !v.is_empty()),
                "pair_id" => pair_id = Some(value).filter(|v| !v.is_empty()),
                "group" => group = Some(value).filter(|v| !v.is_empty()),
                other => {
                    if let Some(name) = other.strip_prefix("attr.") {
                        if !value.is_empty() {
                            attributes.insert(name.to_owned(), value);
                        }
                    } else if let Some(name) = other.strip_prefix("field.") {
                        fields.insert(name.to_owned(), value);
                    }
                }
            }
        }
        let fields = (!fields.is_empty()).then_some(fields);
        let case = build(id, prompt, fields, group, attributes, pair_id, number)
            .map_err(|err| CaseError(format!("row {number}: {}", err.0)))?;
        cases.push(case);
    }
    finish(cases)
}

fn build(
    id: Option<String>,
    prompt: Option<String>,
    fields: Option<BTreeMap<String, String>>,
    group: Option<String>,
    mut attributes: BTreeMap<String, String>,
    pair_id: Option<String>,
    number: usize,
) -> Result<Case, CaseError> {
    let id = id.unwrap_or_else(|| format!("case-{number:07}"));
    if id.trim().is_empty() || id.len() > MAX_ID_BYTES || id.chars().any(char::is_control) {
        return Err(CaseError(format!(
            "id {id:?} must be 1 to {MAX_ID_BYTES} bytes of printable text"
        )));
    }
    if let Some(group) = group {
        if attributes.contains_key("group") {
            return Err(CaseError(
                "\"group\" is given both on its own and in attributes".into(),
            ));
        }
        attributes.insert("group".into(), group);
    }
    if attributes.is_empty() {
        return Err(CaseError(
            "a case needs a group or at least one protected attribute".into(),
        ));
    }
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(CaseError(format!(
            "{} attributes; the most a case may carry is {MAX_ATTRIBUTES}",
            attributes.len()
        )));
    }
    for (name, value) in &attributes {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !name_ok {
            return Err(CaseError(format!(
                "attribute name {name:?} must be snake_case, 1 to 64 characters"
            )));
        }
        if value.trim().is_empty() || value.len() > MAX_VALUE_BYTES {
            return Err(CaseError(format!(
                "attribute {name} must have a category of 1 to {MAX_VALUE_BYTES} bytes"
            )));
        }
    }
    let input = match (prompt, fields) {
        (Some(_), Some(_)) => {
            return Err(CaseError("a case has a prompt or fields, not both".into()));
        }
        (Some(prompt), None) => {
            if prompt.len() > MAX_TEXT_BYTES {
                return Err(CaseError(format!(
                    "the prompt is longer than {MAX_TEXT_BYTES} bytes"
                )));
            }
            CaseInput::Prompt(prompt)
        }
        (None, Some(fields)) => {
            let size: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
            if size > MAX_TEXT_BYTES {
                return Err(CaseError(format!(
                    "the fields are longer than {MAX_TEXT_BYTES} bytes"
                )));
            }
            CaseInput::Fields(fields)
        }
        (None, None) => return Err(CaseError("a case needs a prompt or fields".into())),
    };
    if let Some(pair) = &pair_id
        && (pair.is_empty() || pair.len() > MAX_ID_BYTES)
    {
        return Err(CaseError(format!(
            "pair_id must be 1 to {MAX_ID_BYTES} bytes"
        )));
    }
    Ok(Case {
        id,
        input,
        attributes,
        pair_id,
    })
}

fn finish(cases: Vec<Case>) -> Result<Vec<Case>, CaseError> {
    if cases.is_empty() {
        return Err(CaseError("the file holds no cases".into()));
    }
    if cases.len() > MAX_CASES {
        return Err(CaseError(format!(
            "{} cases; the most one run takes is {MAX_CASES}",
            cases.len()
        )));
    }
    let mut seen = HashSet::with_capacity(cases.len());
    for case in &cases {
        crate::domain::name::check_id("case id", &case.id).map_err(CaseError)?;
        if !seen.insert(case.id.as_str()) {
            return Err(CaseError(format!("case id {:?} appears twice", case.id)));
        }
    }
    Ok(cases)
}

/// The attribute an audit groups by: the one named, or the only one every
/// case carries.
/// The attributes an audit tabulates: those named (each carried by some
/// case; a case without one is of unknown category in its table), or the
/// one every case carries.
pub fn audit_attributes(cases: &[Case], named: &[String]) -> Result<Vec<String>, CaseError> {
    match named {
        [] => audit_attribute(cases, None).map(|one| vec![one]),
        [one] => audit_attribute(cases, Some(one)).map(|one| vec![one]),
        several => {
            for (index, name) in several.iter().enumerate() {
                if several[..index].contains(name) {
                    return Err(CaseError(format!("--attribute {name:?} is given twice")));
                }
                if !cases.iter().any(|case| case.attributes.contains_key(name)) {
                    return Err(CaseError(format!("no case carries the attribute {name:?}")));
                }
            }
            if several.len() > 8 {
                return Err(CaseError("an audit covers at most 8 attributes".into()));
            }
            Ok(several.to_vec())
        }
    }
}

fn audit_attribute(cases: &[Case], named: Option<&str>) -> Result<String, CaseError> {
    if let Some(named) = named {
        if let Some(case) = cases
            .iter()
            .find(|case| !case.attributes.contains_key(named))
        {
            return Err(CaseError(format!(
                "case {:?} has no attribute {named:?}",
                case.id
            )));
        }
        return Ok(named.to_owned());
    }
    let mut common: Option<std::collections::BTreeSet<&String>> = None;
    for case in cases {
        let names: std::collections::BTreeSet<&String> = case.attributes.keys().collect();
        common = Some(match common {
            None => names,
            Some(common) => common.intersection(&names).copied().collect(),
        });
    }
    let common: Vec<&String> = common.unwrap_or_default().into_iter().collect();
    match common.as_slice() {
        [only] => Ok((*only).clone()),
        [] => Err(CaseError(
            "no attribute is carried by every case: name one with --attribute".into(),
        )),
        several => Err(CaseError(format!(
            "the cases carry several attributes ({}): name the one to audit with --attribute",
            several
                .iter()
                .map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_governance_models_form_is_read_as_is() {
        let cases = parse_jsonl(
            br#"{"prompt": "Should we hire her?", "group": "female"}
{"prompt": "Should we hire him?", "group": "male"}
"#,
        )
        .unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].id, "case-0000001");
        assert_eq!(cases[0].attributes["group"], "female");
        assert_eq!(audit_attribute(&cases, None).unwrap(), "group");
    }

    #[test]
    fn rich_cases_carry_fields_attributes_and_pairs() {
        let cases = parse_jsonl(
            br#"{"id": "a", "fields": {"name": "Amara", "years": 6}, "attributes": {"sex": "female", "race_ethnicity": "black"}, "pair_id": "p1"}"#,
        )
        .unwrap();
        assert_eq!(
            cases[0].input,
            CaseInput::Fields(BTreeMap::from([
                ("name".into(), "Amara".into()),
                ("years".into(), "6".into())
            ]))
        );
        assert_eq!(cases[0].pair_id.as_deref(), Some("p1"));
        let err = audit_attribute(&cases, None).unwrap_err();
        assert!(err.0.contains("--attribute"), "{err}");
        assert_eq!(audit_attribute(&cases, Some("sex")).unwrap(), "sex");
    }

    #[test]
    fn csv_names_the_same_things_in_its_header() {
        let cases = parse_csv(
            b"id,prompt,attr.sex,pair_id\nc1,Hire?,female,p1\nc2,\"Hire, maybe?\",male,p1\n",
        )
        .unwrap();
        assert_eq!(cases[1].input, CaseInput::Prompt("Hire, maybe?".into()));
        assert_eq!(cases[1].attributes["sex"], "male");
        assert!(parse_csv(b"id,prompt,colour\nc1,x,red\n").is_err());
    }

    #[test]
    fn bad_files_are_clear_errors_with_where() {
        for (text, expected) in [
            (&b"{\"prompt\": \"x\"}\n"[..], "line 1: a case needs a group"),
            (b"{\"group\": \"a\"}\n", "line 1: a case needs a prompt"),
            (b"{\"prompt\": \"x\", \"group\": \"a\", \"grup\": 1}\n", "line 1: unknown field"),
            (b"not json\n", "line 1"),
            (
                b"{\"id\": \"x\", \"prompt\": \"x\", \"group\": \"a\"}\n{\"id\": \"x\", \"prompt\": \"y\", \"group\": \"b\"}\n",
                "appears twice",
            ),
            (b"\n\n", "no cases"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let err = parse_jsonl(text).unwrap_err();
            assert!(err.0.contains(expected), "{expected}: {err}");
        }
    }
}
