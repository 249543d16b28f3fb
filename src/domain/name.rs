//! Names from the organisation's vocabulary: agent categories, data
//! classifications and roles. Each is a short snake_case word that the
//! active policy set declares; the built-in names are constants of their
//! type, and the default vocabulary.
//!
//! A name is interned, so it is `Copy` and compares as cheaply as the enum
//! it replaced. Whether a name belongs to the active vocabulary is checked
//! where data enters (a manifest, a user's roles, a policy set), not here.
//! The interner keeps at most `MAX_NAMES` distinct names, so text from
//! outside cannot grow it without bound.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

/// The most distinct names one process interns.
const MAX_NAMES: usize = 4096;
/// The longest name, in bytes.
pub const MAX_NAME_LEN: usize = 63;
/// What every name looks like (also the OpenAPI pattern).
pub const NAME_PATTERN: &str = "^[a-z][a-z0-9_]{0,62}$";

/// Why text is not a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {text:?} is not a name: {reason}")]
pub struct NameError {
    pub kind: &'static str,
    pub text: String,
    pub reason: &'static str,
}

fn interned() -> &'static Mutex<BTreeSet<&'static str>> {
    static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    NAMES.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// Checks `text` is a name and returns its one interned copy.
pub fn intern(kind: &'static str, text: &str) -> Result<&'static str, NameError> {
    let error = |reason| NameError {
        kind,
        text: text.chars().take(80).collect(),
        reason,
    };
    let mut bytes = text.bytes();
    if !bytes.next().is_some_and(|first| first.is_ascii_lowercase()) {
        return Err(error("it must start with a lower-case letter"));
    }
    if text.len() > MAX_NAME_LEN {
        return Err(error("it is longer than 63 characters"));
    }
    if !bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_') {
        return Err(error("only lower-case letters, digits and _ may follow"));
    }
    let mut names = interned().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(name) = names.get(text) {
        return Ok(name);
    }
    if names.len() >= MAX_NAMES {
        return Err(error("this process already knows 4096 distinct names"));
    }
    let name: &'static str = Box::leak(text.to_owned().into_boxed_str());
    names.insert(name);
    Ok(name)
}

/// "human_resources" -> "human resources".
pub fn words(name: &str) -> String {
    name.replace('_', " ")
}

/// Declares a vocabulary name type with its built-in names.
macro_rules! vocabulary_name {
    ($(#[$doc:meta])* $ty:ident, $kind:literal, [$($konst:ident = $text:literal),* $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(&'static str);

        // The built-in names keep the spelling of the enum variants they were.
        #[allow(non_upper_case_globals)]
        impl $ty {
            $(pub const $konst: $ty = $ty($text);)*
            /// The built-in names: the default vocabulary.
            pub const BUILTIN: &'static [$ty] = &[$($ty::$konst),*];

            /// A name of this kind; whether the vocabulary holds it is the
            /// caller's question.
            pub fn new(text: &str) -> Result<$ty, $crate::domain::name::NameError> {
                if let Some(builtin) = $ty::BUILTIN.iter().find(|name| name.0 == text) {
                    return Ok(*builtin);
                }
                $crate::domain::name::intern($kind, text).map($ty)
            }

            pub fn as_str(self) -> &'static str {
                self.0
            }

            pub fn is_builtin(self) -> bool {
                $ty::BUILTIN.contains(&self)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.0)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::domain::name::NameError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $ty::new(text)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                $ty::new(&text).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some($crate::domain::name::NAME_PATTERN))
                    .description(Some(concat!(
                        "A ", $kind, " of the active policy set's vocabulary (built in: ",
                        $($text, " "),*, ")"
                    )))
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {}
    };
}
pub(crate) use vocabulary_name;

/// The longest id a person chooses (an agent id, a case id), in bytes.
pub const MAX_ID_LEN: usize = 64;
/// What an id a person chooses looks like.
pub const ID_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,63}$";

/// Checks an id a person chooses (an agent's, an audit case's): lower-case
/// ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit,
/// at most `MAX_ID_LEN` bytes. One plain spelling per id, so no two ids
/// look alike (`agt-x` and `AGT-X`, or one with an invisible character)
/// and none reads as a path or turns text around.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    let plain = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = id.as_bytes();
    let fits = !bytes.is_empty()
        && bytes.len() <= MAX_ID_LEN
        && plain(bytes[0])
        && bytes
            .iter()
            .all(|&b| plain(b) || matches!(b, b'.' | b'_' | b'-'));
    if fits {
        return Ok(());
    }
    Err(format!(
        "{what} {:?} is not a plain id: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most {MAX_ID_LEN} bytes",
        id.chars().take(80).collect::<String>()
    ))
}

/// A text that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of: {expected})")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

impl UnknownValue {
    pub fn new<'a>(
        kind: &'static str,
        value: &str,
        expected: impl Iterator<Item = &'a str>,
    ) -> UnknownValue {
        UnknownValue {
            kind,
            value: value.to_owned(),
            expected: expected.collect::<Vec<_>>().join(", "),
        }
    }
}

macro_rules! display_as_str {
    ($($ty:ty),*) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = crate::domain::name::UnknownValue;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| crate::domain::name::UnknownValue::new(stringify!($ty), text, Self::ALL.iter().map(|v| v.as_str())))
            }
        }
    )*};
}
pub(crate) use display_as_str;

#[cfg(test)]
mod tests {
    use super::{MAX_ID_LEN, check_id};

    vocabulary_name!(Colour, "colour", [Red = "red", DeepBlue = "deep_blue"]);

    #[test]
    fn names_are_checked_interned_and_compare_by_text() {
        assert_eq!(Colour::new("deep_blue"), Ok(Colour::DeepBlue));
        let teal = Colour::new("teal").unwrap();
        assert_eq!(teal, Colour::new("teal").unwrap());
        assert!(std::ptr::eq(
            teal.as_str(),
            Colour::new("teal").unwrap().as_str()
        ));
        assert!(!teal.is_builtin() && Colour::Red.is_builtin());
        for bad in ["", "Teal", "1st", "sea green", "a-b", &"x".repeat(64)] {
            let err = Colour::new(bad).unwrap_err();
            assert!(err.to_string().starts_with("colour "), "{err}");
        }
        let json = serde_json::to_string(&Colour::DeepBlue).unwrap();
        assert_eq!(json, "\"deep_blue\"");
        assert_eq!(
            serde_json::from_str::<Colour>(&json).unwrap(),
            Colour::DeepBlue
        );
        assert!(serde_json::from_str::<Colour>("\"NOPE\"").is_err());
        assert_eq!(format!("{:<6}|", Colour::Red), "red   |");
    }

    #[test]
    fn ids_have_one_plain_spelling() {
        for good in ["agt-x", "agt-00022", "c1", "cf-001a", "v1.2_b", "0day"] {
            assert!(check_id("agent_id", good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(MAX_ID_LEN + 1);
        for bad in [
            "agt-x\u{200b}",
            "AGT-X",
            "agt\u{202e}x",
            "../../etc/passwd",
            "-agt",
            ".agt",
            "agt x",
            "",
            "agt/x",
            too_long.as_str(),
        ] {
            let refused = check_id("agent_id", bad).unwrap_err();
            assert!(refused.contains("plain id"), "{bad:?}: {refused}");
        }
    }
}
