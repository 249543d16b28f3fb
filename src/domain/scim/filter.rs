//! The list filters Gavel answers (RFC 7644 section 3.4.2.2): equality on
//! an indexed attribute, joined by `and`, which is what directories send to
//! find a person or a group before they create it (`userName eq "ada"`,
//! `externalId eq "00u1"`). Any other filter is refused as `invalidFilter`,
//! never answered with everything.

use super::error::ScimError;
use super::resource::strip_schema;
use super::schema::Kind;

/// The longest filter read.
const MAX_FILTER: usize = 1024;

/// One `attribute eq "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The canonical name: `id`, `userName`, `externalId`, `displayName`.
    pub attribute: &'static str,
    pub value: String,
}

/// The attributes a list of `kind` may be filtered on.
fn filterable(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::User => &["id", "userName", "externalId", "displayName"],
        Kind::Group => &["id", "displayName", "externalId"],
    }
}

/// The conditions of `filter`, all of which a resource must meet.
pub fn parse(kind: Kind, filter: &str) -> Result<Vec<Condition>, ScimError> {
    let names = filterable(kind);
    conditions(filter, "invalidFilter", |path| {
        let path = strip_schema(kind, path);
        names
            .iter()
            .find(|name| name.eq_ignore_ascii_case(path))
            .copied()
            .ok_or_else(|| {
                format!(
                    "Gavel filters {}s on {} only",
                    kind.name(),
                    names.join(", ")
                )
            })
    })
}

/// The conditions of a value filter inside a PATCH path
/// (`emails[type eq "work"]`), on the sub-attributes `parts`.
pub fn value_filter(
    parts: &'static [super::schema::Attribute],
    filter: &str,
) -> Result<Vec<Condition>, ScimError> {
    conditions(filter, "invalidPath", |path| {
        super::schema::find(parts, path)
            .map(|part| part.name)
            .ok_or_else(|| format!("no sub-attribute {path:?}"))
    })
}

/// `attribute eq value` conditions joined by `and`, each attribute named
/// through `lookup`.
fn conditions(
    filter: &str,
    scim_type: &'static str,
    lookup: impl Fn(&str) -> Result<&'static str, String>,
) -> Result<Vec<Condition>, ScimError> {
    let invalid = |why: &str| ScimError::bad(scim_type, format!("filter {filter:?}: {why}"));
    if filter.len() > MAX_FILTER {
        return Err(invalid("longer than Gavel reads"));
    }
    let mut rest = filter.trim();
    let mut conditions = Vec::new();
    loop {
        let (path, after) = word(rest);
        let attribute = lookup(path).map_err(|why| invalid(&why))?;
        let (operator, after) = word(after);
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(invalid("Gavel answers `eq` only, joined by `and`"));
        }
        let (value, after) =
            quoted(after).ok_or_else(|| invalid("the value must be a string in double quotes"))?;
        conditions.push(Condition { attribute, value });
        let after = after.trim_start();
        if after.is_empty() {
            return Ok(conditions);
        }
        let (joiner, after) = word(after);
        if !joiner.eq_ignore_ascii_case("and") {
            return Err(invalid("Gavel answers `eq` only, joined by `and`"));
        }
        rest = after;
    }
}

/// The first word of `text` and what follows it.
fn word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    (&text[..end], &text[end..])
}

/// A JSON string at the start of `text`, unescaped (or a bare `true` or
/// `false`, as text), and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    if !text.starts_with('"') {
        let (literal, after) = word(text);
        return ["true", "false"]
            .iter()
            .find(|flag| flag.eq_ignore_ascii_case(literal))
            .map(|flag| ((*flag).to_owned(), after));
    }
    let mut escaped = false;
    for (index, character) in text.char_indices().skip(1) {
        match character {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                let value = serde_json::from_str(&text[..=index]).ok()?;
                return Some((value, &text[index + 1..]));
            }
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_on_indexed_attributes_joined_by_and_is_read() {
        assert_eq!(
            parse(
                Kind::User,
                r#"UserName eq "ada \"the\" first" and externalId EQ "00u1""#
            )
            .unwrap(),
            vec![
                Condition {
                    attribute: "userName",
                    value: "ada \"the\" first".into()
                },
                Condition {
                    attribute: "externalId",
                    value: "00u1".into()
                }
            ]
        );
        assert_eq!(
            parse(
                Kind::Group,
                r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Ethics""#
            )
            .unwrap()[0]
                .attribute,
            "displayName"
        );
    }

    #[test]
    fn any_other_filter_is_refused_rather_than_answered_with_everything() {
        for filter in [
            r#"userName co "a""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"(userName eq "a")"#,
            r#"emails.value eq "a@x""#,
            r#"userName eq 7"#,
            r#"userName eq "unterminated"#,
            "",
        ] {
            let err = parse(Kind::User, filter).unwrap_err();
            assert_eq!(err.scim_type, Some("invalidFilter"), "{filter}");
        }
    }
}
