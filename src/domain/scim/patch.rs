//! PATCH (RFC 7644 section 3.5.2): `add`, `replace` and `remove` on a kept
//! resource, with the paths directories send: `active`, `name.givenName`,
//! `emails[type eq "work"].value`, `members[value eq "2819c223"]`, or none
//! (the value names the attributes). The result is read again as a whole
//! (`resource::normalise`), so a PATCH can never keep what a PUT could not.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{Condition, value_filter};
use super::resource::{attribute_value, check_required, normalise, strip_schema};
use super::schema::{self, Attribute, Kind, Type};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Where an operation lands.
struct Target {
    attribute: &'static Attribute,
    filter: Option<Vec<Condition>>,
    sub: Option<&'static Attribute>,
}

/// `resource` with the PatchOp `body` applied, checked as a whole.
pub fn apply(
    kind: Kind,
    resource: &Map<String, Value>,
    body: &Value,
) -> Result<Map<String, Value>, ScimError> {
    let schemas = body.get("schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|schemas| schemas.iter().any(|s| s == schema::PATCH_SCHEMA)) {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("a PATCH body's schemas must name {}", schema::PATCH_SCHEMA),
        ));
    }
    let operations = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a PATCH body needs Operations"))?;
    if operations.len() > schema::MAX_OPERATIONS {
        return Err(ScimError::bad(
            "tooMany",
            format!(
                "a PATCH carries at most {} operations",
                schema::MAX_OPERATIONS
            ),
        ));
    }
    let mut patched = resource.clone();
    for operation in operations {
        let op = match operation.get("op").and_then(Value::as_str) {
            Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
            Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
            Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
            _ => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    "each operation's op is add, replace or remove",
                ));
            }
        };
        let value = operation.get("value").unwrap_or(&Value::Null);
        match operation.get("path").and_then(Value::as_str) {
            None | Some("") => whole(kind, &mut patched, op, value)?,
            Some(path) => {
                let target = target(kind, path)?;
                at(kind, &mut patched, op, &target, value)?;
            }
        }
    }
    let patched = normalise(kind, &Value::Object(patched))?;
    check_required(kind, &patched)?;
    Ok(patched)
}

/// An operation without a path: its value's attributes, each added or
/// replaced.
fn whole(
    kind: Kind,
    resource: &mut Map<String, Value>,
    op: Op,
    value: &Value,
) -> Result<(), ScimError> {
    if op == Op::Remove {
        return Err(ScimError::bad("noTarget", "remove needs a path"));
    }
    let object = value.as_object().ok_or_else(|| {
        ScimError::bad(
            "invalidValue",
            "an operation without a path needs an object value",
        )
    })?;
    for (key, value) in object {
        let key = strip_schema(kind, key);
        if key.eq_ignore_ascii_case("externalId") {
            resource.insert("externalId".into(), value.clone());
            continue;
        }
        let Some(attribute) = kind.attribute(key) else {
            continue;
        };
        let target = Target {
            attribute,
            filter: None,
            sub: None,
        };
        at(kind, resource, op, &target, value)?;
    }
    Ok(())
}

/// The target a path names.
fn target(kind: Kind, path: &str) -> Result<Target, ScimError> {
    let invalid = || {
        ScimError::bad(
            "invalidPath",
            format!("path {path:?} names nothing Gavel keeps"),
        )
    };
    let path = strip_schema(kind, path.trim());
    let (head, filter, tail) = match path.find('[') {
        Some(open) => {
            let close = path
                .rfind(']')
                .filter(|close| *close > open)
                .ok_or_else(invalid)?;
            let tail = path[close + 1..]
                .strip_prefix('.')
                .unwrap_or(&path[close + 1..]);
            (&path[..open], Some(&path[open + 1..close]), tail)
        }
        None => match path.split_once('.') {
            Some((head, tail)) => (head, None, tail),
            None => (path, None, ""),
        },
    };
    if head.eq_ignore_ascii_case("externalId") && filter.is_none() && tail.is_empty() {
        return Ok(Target {
            attribute: &EXTERNAL_ID,
            filter: None,
            sub: None,
        });
    }
    let attribute = kind.attribute(head).ok_or_else(invalid)?;
    let parts = match attribute.kind {
        Type::Complex(parts) => Some(parts),
        _ => None,
    };
    let filter = match (filter, parts) {
        (None, _) => None,
        (Some(filter), Some(parts)) if attribute.multi_valued => Some(value_filter(parts, filter)?),
        (Some(_), _) => return Err(invalid()),
    };
    let sub = match (tail, parts) {
        ("", _) => None,
        (tail, Some(parts)) => Some(schema::find(parts, tail).ok_or_else(invalid)?),
        (_, None) => return Err(invalid()),
    };
    Ok(Target {
        attribute,
        filter,
        sub,
    })
}

/// `externalId`, the common attribute every resource may carry.
const EXTERNAL_ID: Attribute = Attribute {
    name: "externalId",
    kind: Type::String,
    multi_valued: false,
    required: false,
    case_exact: true,
    mutability: schema::Mutability::ReadWrite,
    unique: false,
    description: "The directory's own id",
};

/// Whether an element of a multi-valued attribute meets every condition.
fn matches(element: &Value, conditions: &[Condition]) -> bool {
    conditions
        .iter()
        .all(|condition| match element.get(condition.attribute) {
            Some(Value::String(text)) => text.eq_ignore_ascii_case(&condition.value),
            Some(Value::Bool(flag)) => flag.to_string() == condition.value.to_ascii_lowercase(),
            _ => false,
        })
}

fn at(
    kind: Kind,
    resource: &mut Map<String, Value>,
    op: Op,
    target: &Target,
    value: &Value,
) -> Result<(), ScimError> {
    let name = target.attribute.name;
    match (&target.filter, target.sub) {
        // The whole attribute.
        (None, None) => match op {
            Op::Remove if target.attribute.multi_valued && !value.is_null() => {
                // Entra ID removes members by value: `{"value": [{"value": id}]}`.
                let gone: Vec<Value> = match value {
                    Value::Array(values) => values.clone(),
                    single => vec![single.clone()],
                };
                if let Some(Value::Array(elements)) = resource.get_mut(name) {
                    elements.retain(|element| {
                        !gone.iter().any(|gone| {
                            gone.get("value")
                                .is_some_and(|v| Some(v) == element.get("value"))
                        })
                    });
                }
            }
            Op::Remove => {
                resource.remove(name);
            }
            Op::Replace => {
                resource.insert(name.into(), value.clone());
            }
            Op::Add if target.attribute.multi_valued => {
                let added = attribute_value(kind, target.attribute, value)?
                    .unwrap_or(Value::Array(Vec::new()));
                let elements = resource
                    .entry(name)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let (Value::Array(elements), Value::Array(added)) = (elements, added) {
                    for element in added {
                        if !elements.contains(&element) {
                            elements.push(element);
                        }
                    }
                }
            }
            Op::Add => match (resource.get_mut(name), value) {
                (Some(Value::Object(kept)), Value::Object(added)) => {
                    kept.extend(added.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    resource.insert(name.into(), value.clone());
                }
            },
        },
        // A sub-attribute of a single complex attribute: `name.givenName`.
        (None, Some(sub)) => {
            if target.attribute.multi_valued {
                return Err(ScimError::bad(
                    "invalidPath",
                    format!(
                        "{name} holds several values: name one with a filter ({name}[type eq \"work\"].{})",
                        sub.name
                    ),
                ));
            }
            let entry = resource
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(object) = entry {
                match op {
                    Op::Remove => {
                        object.remove(sub.name);
                    }
                    Op::Add | Op::Replace => {
                        object.insert(sub.name.into(), value.clone());
                    }
                }
            }
        }
        // Elements of a multi-valued attribute.
        (Some(conditions), sub) => {
            let elements = resource
                .entry(name)
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(elements) = elements else {
                return Err(ScimError::bad(
                    "invalidPath",
                    format!("{name} holds one value"),
                ));
            };
            let found = elements.iter().any(|element| matches(element, conditions));
            match (op, sub) {
                (Op::Remove, None) => elements.retain(|element| !matches(element, conditions)),
                (Op::Remove, Some(sub)) => {
                    for element in elements.iter_mut().filter(|e| matches(e, conditions)) {
                        if let Value::Object(object) = element {
                            object.remove(sub.name);
                        }
                    }
                }
                (Op::Add | Op::Replace, Some(sub)) if found => {
                    for element in elements.iter_mut().filter(|e| matches(e, conditions)) {
                        if let Value::Object(object) = element {
                            object.insert(sub.name.into(), value.clone());
                        }
                    }
                }
                // `emails[type eq "work"].value` when there is no work email
                // yet: directories mean "the work email is this".
                (Op::Add | Op::Replace, Some(sub)) => {
                    let mut element: Map<String, Value> = conditions
                        .iter()
                        .map(|c| (c.attribute.to_owned(), Value::String(c.value.clone())))
                        .collect();
                    element.insert(sub.name.into(), value.clone());
                    elements.push(Value::Object(element));
                }
                (Op::Add | Op::Replace, None) if found => {
                    let Value::Object(replacement) = value else {
                        return Err(ScimError::bad(
                            "invalidValue",
                            format!("{name}[...] takes an object"),
                        ));
                    };
                    for element in elements.iter_mut().filter(|e| matches(e, conditions)) {
                        if let Value::Object(object) = element {
                            object.extend(replacement.iter().map(|(k, v)| (k.clone(), v.clone())));
                        }
                    }
                }
                (Op::Add | Op::Replace, None) => {
                    return Err(ScimError::bad(
                        "noTarget",
                        format!("no value of {name} meets the path's filter"),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(resource: Value, operations: Value) -> Result<Value, ScimError> {
        apply(
            Kind::User,
            resource.as_object().unwrap(),
            &json!({ "schemas": [schema::PATCH_SCHEMA], "Operations": operations }),
        )
        .map(Value::Object)
    }

    fn ada() -> Value {
        json!({
            "userName": "ada", "active": true,
            "emails": [{ "value": "ada@example.com", "type": "work", "primary": true }],
        })
    }

    #[test]
    fn directories_paths_add_replace_and_remove_what_they_name() {
        // Entra ID: capitalised ops, a boolean as text, no path.
        assert_eq!(
            patched(
                ada(),
                json!([{ "op": "Replace", "path": "active", "value": "False" }])
            )
            .unwrap()["active"],
            false
        );
        assert_eq!(
            patched(
                ada(),
                json!([{ "op": "replace", "value": { "active": false, "displayName": "Ada" } }])
            )
            .unwrap()["displayName"],
            "Ada"
        );
        // A filtered sub-attribute, present and absent.
        let moved = patched(
            ada(),
            json!([
                { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@new.example" },
                { "op": "add", "path": "emails[type eq \"home\"].value", "value": "ada@home.example" },
                { "op": "add", "path": "name.givenName", "value": "Ada" },
            ]),
        )
        .unwrap();
        assert_eq!(moved["emails"][0]["value"], "ada@new.example");
        assert_eq!(
            moved["emails"][1],
            json!({ "type": "home", "value": "ada@home.example" })
        );
        assert_eq!(moved["name"], json!({ "givenName": "Ada" }));
        let removed = patched(
            moved,
            json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }, { "op": "remove", "path": "name" }]),
        )
        .unwrap();
        assert_eq!(removed["emails"].as_array().unwrap().len(), 1);
        assert!(removed.get("name").is_none());
    }

    #[test]
    fn members_are_added_and_removed_by_value_and_by_filter() {
        let group =
            json!({ "displayName": "Ethics", "members": [{ "value": "u1" }, { "value": "u2" }] });
        let apply_group = |operations: Value| {
            apply(
                Kind::Group,
                group.as_object().unwrap(),
                &json!({ "schemas": [schema::PATCH_SCHEMA], "Operations": operations }),
            )
            .unwrap()
        };
        let added = apply_group(
            json!([{ "op": "add", "path": "members", "value": [{ "value": "u3" }, { "value": "u1" }] }]),
        );
        assert_eq!(added["members"].as_array().unwrap().len(), 3);
        let removed = apply_group(
            json!([{ "op": "Remove", "path": "members", "value": [{ "value": "u1" }] }]),
        );
        assert_eq!(removed["members"], json!([{ "value": "u2" }]));
        let filtered = apply_group(json!([{ "op": "remove", "path": "members[value eq \"u2\"]" }]));
        assert_eq!(filtered["members"], json!([{ "value": "u1" }]));
    }

    #[test]
    fn bad_operations_are_refused_with_their_scim_type() {
        let refused = |operations: Value| patched(ada(), operations).unwrap_err().scim_type;
        assert_eq!(
            refused(json!([{ "op": "move", "path": "active" }])),
            Some("invalidSyntax")
        );
        assert_eq!(refused(json!([{ "op": "remove" }])), Some("noTarget"));
        assert_eq!(
            refused(json!([{ "op": "replace", "path": "password", "value": "x" }])),
            Some("invalidPath")
        );
        assert_eq!(
            refused(json!([{ "op": "replace", "path": "emails.value", "value": "x" }])),
            Some("invalidPath")
        );
        assert_eq!(
            refused(json!([{ "op": "remove", "path": "userName" }])),
            Some("invalidValue")
        );
        assert_eq!(
            refused(json!([{ "op": "replace", "path": "active", "value": 3 }])),
            Some("invalidValue")
        );
        assert_eq!(
            refused(
                json!([{ "op": "replace", "path": "emails[type eq \"home\"]", "value": { "value": "x" } }])
            ),
            Some("noTarget")
        );
        let no_schema = apply(
            Kind::User,
            ada().as_object().unwrap(),
            &json!({ "Operations": [] }),
        );
        assert_eq!(no_schema.unwrap_err().scim_type, Some("invalidSyntax"));
    }
}
