//! A resource as the directory sends it, made into what Gavel keeps: the
//! declared attributes only, in their canonical spelling, each of its type;
//! what is read-only (`id`, `meta`) or unknown (another schema's extension)
//! is dropped, and whatever is not text, a boolean or an object of them is
//! refused. And a kept resource shown as a request asks (`attributes`,
//! `excludedAttributes`).

use serde_json::{Map, Value};

use super::error::ScimError;
use super::schema::{self, Attribute, Kind, Type};

/// The longest text value kept.
const MAX_TEXT: usize = 1024;
/// The most values a multi-valued attribute other than members holds.
const MAX_VALUES: usize = 100;

/// The attributes of `input` Gavel keeps, checked.
pub fn normalise(kind: Kind, input: &Value) -> Result<Map<String, Value>, ScimError> {
    let object = input
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a resource must be a JSON object"))?;
    let mut kept = Map::new();
    for (key, value) in object {
        let key = strip_schema(kind, key);
        if key.eq_ignore_ascii_case("externalId") {
            if let Some(text) = text_value("externalId", value)? {
                kept.insert("externalId".into(), Value::String(text));
            }
            continue;
        }
        let Some(attribute) = kind.attribute(key) else {
            // `schemas`, `id`, `meta` (the server's) and other schemas'
            // extensions: not Gavel's to keep.
            continue;
        };
        if let Some(value) = attribute_value(kind, attribute, value)? {
            kept.insert(attribute.name.into(), value);
        }
    }
    Ok(kept)
}

/// Refuses a resource without a required attribute.
pub fn check_required(kind: Kind, resource: &Map<String, Value>) -> Result<(), ScimError> {
    for attribute in kind.attributes().iter().filter(|a| a.required) {
        if !resource.contains_key(attribute.name) {
            return Err(ScimError::bad(
                "invalidValue",
                format!("a {} needs {}", kind.name(), attribute.name),
            ));
        }
    }
    Ok(())
}

/// `key` without its schema's URN (`urn:...:User:userName` is `userName`).
pub fn strip_schema(kind: Kind, key: &str) -> &str {
    let schema = kind.schema();
    if key.len() > schema.len()
        && key[..schema.len()].eq_ignore_ascii_case(schema)
        && key.as_bytes()[schema.len()] == b':'
    {
        &key[schema.len() + 1..]
    } else {
        key
    }
}

fn text_value(name: &str, value: &Value) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.len() > MAX_TEXT => Err(ScimError::bad(
            "invalidValue",
            format!("{name} is longer than {MAX_TEXT} bytes"),
        )),
        Value::String(text) if text.chars().any(char::is_control) => Err(ScimError::bad(
            "invalidValue",
            format!("{name} holds control characters"),
        )),
        Value::String(text) => Ok(Some(text.clone())),
        _ => Err(ScimError::bad(
            "invalidValue",
            format!("{name} must be a string"),
        )),
    }
}

/// One value of `attribute` (an element, for a multi-valued one).
fn single_value(attribute: &Attribute, value: &Value) -> Result<Option<Value>, ScimError> {
    match attribute.kind {
        Type::String | Type::Reference(_) => {
            Ok(text_value(attribute.name, value)?.map(Value::String))
        }
        Type::Boolean => match value {
            Value::Null => Ok(None),
            Value::Bool(flag) => Ok(Some(Value::Bool(*flag))),
            // Some directories (Entra ID) send booleans as "True"/"False".
            Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Some(true.into())),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(Some(false.into())),
            _ => Err(ScimError::bad(
                "invalidValue",
                format!("{} must be a boolean", attribute.name),
            )),
        },
        Type::Complex(parts) => {
            let Some(object) = value.as_object() else {
                return match value {
                    Value::Null => Ok(None),
                    _ => Err(ScimError::bad(
                        "invalidValue",
                        format!("{} must be an object", attribute.name),
                    )),
                };
            };
            let mut kept = Map::new();
            for (key, value) in object {
                let Some(part) = schema::find(parts, key) else {
                    continue;
                };
                if let Some(value) = single_value(part, value)? {
                    kept.insert(part.name.into(), value);
                }
            }
            Ok((!kept.is_empty()).then_some(Value::Object(kept)))
        }
    }
}

/// The kept value of `attribute`, `None` when it holds nothing.
pub fn attribute_value(
    kind: Kind,
    attribute: &Attribute,
    value: &Value,
) -> Result<Option<Value>, ScimError> {
    if !attribute.multi_valued {
        return single_value(attribute, value);
    }
    let values = match value {
        Value::Null => return Ok(None),
        Value::Array(values) => values.as_slice(),
        single => std::slice::from_ref(single),
    };
    let most = if kind == Kind::Group && attribute.name == "members" {
        schema::MAX_MEMBERS
    } else {
        MAX_VALUES
    };
    if values.len() > most {
        return Err(ScimError::bad(
            "tooMany",
            format!("{} holds at most {most} values", attribute.name),
        ));
    }
    let mut kept = Vec::with_capacity(values.len());
    for value in values {
        if let Some(value) = single_value(attribute, value)? {
            kept.push(value);
        }
    }
    let primaries = kept
        .iter()
        .filter(|value| value.get("primary") == Some(&Value::Bool(true)))
        .count();
    if primaries > 1 {
        return Err(ScimError::bad(
            "invalidValue",
            format!("at most one of {} may be primary", attribute.name),
        ));
    }
    Ok((!kept.is_empty()).then_some(Value::Array(kept)))
}

/// A resource as asked: only `attributes` (with `id` and `schemas`, which
/// are always returned), or all but `excluded`. Each is a comma-separated
/// list of attribute paths (`name.givenName`, schema URNs allowed).
pub fn project(
    kind: Kind,
    resource: &Map<String, Value>,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Map<String, Value> {
    let paths = |list: &str| -> Vec<(String, Option<String>)> {
        list.split(',')
            .map(|path| strip_schema(kind, path.trim()))
            .filter(|path| !path.is_empty())
            .map(|path| match path.split_once('.') {
                Some((attribute, sub)) => (attribute.to_owned(), Some(sub.to_owned())),
                None => (path.to_owned(), None),
            })
            .collect()
    };
    let always = |key: &str| key == "id" || key == "schemas";
    if let Some(attributes) = attributes.filter(|list| !list.trim().is_empty()) {
        let wanted = paths(attributes);
        let mut shown = Map::new();
        for (key, value) in resource {
            if always(key) {
                shown.insert(key.clone(), value.clone());
                continue;
            }
            let asked: Vec<&Option<String>> = wanted
                .iter()
                .filter(|(attribute, _)| attribute.eq_ignore_ascii_case(key))
                .map(|(_, sub)| sub)
                .collect();
            if asked.is_empty() {
                continue;
            }
            if asked.iter().any(|sub| sub.is_none()) {
                shown.insert(key.clone(), value.clone());
            } else {
                let subs: Vec<&str> = asked.iter().filter_map(|sub| sub.as_deref()).collect();
                if let Some(value) = only_subs(value, &subs) {
                    shown.insert(key.clone(), value);
                }
            }
        }
        return shown;
    }
    let mut shown = resource.clone();
    if let Some(excluded) = excluded {
        for (attribute, sub) in paths(excluded) {
            let Some(key) = shown
                .keys()
                .find(|key| key.eq_ignore_ascii_case(&attribute) && !always(key))
                .cloned()
            else {
                continue;
            };
            match sub {
                None => {
                    shown.remove(&key);
                }
                Some(sub) => {
                    if let Some(value) = shown.get_mut(&key) {
                        drop_sub(value, &sub);
                    }
                }
            }
        }
    }
    shown
}

/// A complex value (or each of a multi-valued one) with only `subs`.
fn only_subs(value: &Value, subs: &[&str]) -> Option<Value> {
    let keep = |object: &Map<String, Value>| -> Map<String, Value> {
        object
            .iter()
            .filter(|(key, _)| subs.iter().any(|sub| sub.eq_ignore_ascii_case(key)))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    };
    match value {
        Value::Object(object) => Some(Value::Object(keep(object))),
        Value::Array(values) => Some(Value::Array(
            values
                .iter()
                .filter_map(Value::as_object)
                .map(|object| Value::Object(keep(object)))
                .collect(),
        )),
        _ => None,
    }
}

fn drop_sub(value: &mut Value, sub: &str) {
    match value {
        Value::Object(object) => object.retain(|key, _| !key.eq_ignore_ascii_case(sub)),
        Value::Array(values) => values.iter_mut().for_each(|value| drop_sub(value, sub)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_resource_keeps_its_declared_attributes_in_canonical_spelling_and_drops_the_rest() {
        let kept = normalise(
            Kind::User,
            &json!({
                "schemas": [schema::USER_SCHEMA],
                "id": "forged", "meta": { "created": "1970" },
                "USERNAME": "ada", "externalId": "00u1",
                "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Ada L.",
                "emails": [{ "value": "ada@example.com", "primary": true, "display": "x" }],
                "active": "False",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "R&D" },
            }),
        )
        .unwrap();
        assert_eq!(
            Value::Object(kept),
            json!({
                "userName": "ada", "externalId": "00u1", "displayName": "Ada L.",
                "emails": [{ "value": "ada@example.com", "primary": true }],
                "active": false,
            })
        );
    }

    #[test]
    fn wrong_types_two_primaries_and_a_missing_user_name_are_refused() {
        let refused = |input: Value| normalise(Kind::User, &input).unwrap_err().scim_type;
        assert_eq!(refused(json!({ "userName": 7 })), Some("invalidValue"));
        assert_eq!(refused(json!({ "active": "maybe" })), Some("invalidValue"));
        assert_eq!(
            refused(json!({ "userName": "a\u{0}b" })),
            Some("invalidValue")
        );
        assert_eq!(
            refused(
                json!({ "emails": [{ "value": "a@x", "primary": true }, { "value": "b@x", "primary": true }] })
            ),
            Some("invalidValue")
        );
        assert_eq!(refused(json!([1])), Some("invalidSyntax"));
        let kept = normalise(Kind::User, &json!({ "displayName": "x" })).unwrap();
        assert!(check_required(Kind::User, &kept).is_err());
    }

    #[test]
    fn attributes_and_excluded_attributes_shape_what_is_shown() {
        let resource = json!({
            "schemas": [schema::USER_SCHEMA], "id": "u1", "userName": "ada",
            "name": { "givenName": "Ada", "familyName": "Lovelace" },
            "emails": [{ "value": "ada@example.com", "type": "work" }],
        });
        let resource = resource.as_object().unwrap();
        let only = project(Kind::User, resource, Some("name.givenName,emails"), None);
        assert_eq!(
            Value::Object(only),
            json!({
                "schemas": [schema::USER_SCHEMA], "id": "u1",
                "name": { "givenName": "Ada" },
                "emails": [{ "value": "ada@example.com", "type": "work" }],
            })
        );
        let without = project(Kind::User, resource, None, Some("userName,emails.type,id"));
        assert_eq!(
            Value::Object(without),
            json!({
                "schemas": [schema::USER_SCHEMA], "id": "u1",
                "name": { "givenName": "Ada", "familyName": "Lovelace" },
                "emails": [{ "value": "ada@example.com" }],
            })
        );
    }
}
