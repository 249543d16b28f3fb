//! Values crossing the seam: parameters going in ([`ToSql`]) and columns
//! coming out ([`FromSql`]), in the five kinds both engines store.

/// What a parameter is, also when it is NULL: PostgreSQL types a NULL
/// parameter, SQLite does not care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Real,
    Text,
    Blob,
}

/// A parameter, borrowed from the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null(Kind),
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// A column's value as read, borrowed from the row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl ValueRef<'_> {
    fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "an integer",
            ValueRef::Real(_) => "a real",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "a blob",
        }
    }
}

/// Why a column could not become the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {reason}")]
pub struct ConversionError {
    pub column: usize,
    pub reason: String,
}

/// Something that binds as a parameter.
pub trait ToSql {
    fn to_value(&self) -> Value<'_>;
    /// The kind of this type's values (for its NULL).
    fn kind() -> Kind
    where
        Self: Sized;
}

macro_rules! integer_to_sql {
    ($($ty:ty),*) => {$(
        impl ToSql for $ty {
            fn to_value(&self) -> Value<'_> {
                // Counts and times stored by Gavel fit an i64; a larger u64
                // (never written) would wrap, and be read back as refused.
                Value::Integer(*self as i64)
            }
            fn kind() -> Kind {
                Kind::Integer
            }
        }
    )*};
}
integer_to_sql!(i64, i32, u32, u64, usize, u16, u8);

impl ToSql for bool {
    fn to_value(&self) -> Value<'_> {
        Value::Integer(i64::from(*self))
    }
    fn kind() -> Kind {
        Kind::Integer
    }
}

impl ToSql for f64 {
    fn to_value(&self) -> Value<'_> {
        Value::Real(*self)
    }
    fn kind() -> Kind {
        Kind::Real
    }
}

impl ToSql for String {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
    fn kind() -> Kind {
        Kind::Text
    }
}

impl ToSql for &[u8] {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
    fn kind() -> Kind {
        Kind::Blob
    }
}

impl ToSql for Vec<u8> {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
    fn kind() -> Kind {
        Kind::Blob
    }
}

impl ToSql for &str {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
    fn kind() -> Kind {
        Kind::Text
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_value(&self) -> Value<'_> {
        match self {
            Some(value) => value.to_value(),
            None => Value::Null(T::kind()),
        }
    }
    fn kind() -> Kind {
        T::kind()
    }
}

impl<T: ToSql> ToSql for &T {
    fn to_value(&self) -> Value<'_> {
        (**self).to_value()
    }
    fn kind() -> Kind {
        T::kind()
    }
}

/// A parameter owned by the list it is in, for queries assembled from
/// parts (filters that add conditions and their values as they go).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Integer(i64),
    Text(String),
}

impl ToSql for Param {
    fn to_value(&self) -> Value<'_> {
        match self {
            Param::Integer(n) => Value::Integer(*n),
            Param::Text(text) => Value::Text(text),
        }
    }
    fn kind() -> Kind {
        Kind::Text
    }
}

/// A column's value of any kind, owned, with the kind its column holds
/// (so a NULL binds as PostgreSQL expects): for copying rows between
/// stores.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null(Kind),
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Cell {
    /// `value` as read from a column holding `kind` (a whole number in a
    /// real column, as SQLite may store it, becomes a real).
    pub fn read(value: ValueRef<'_>, kind: Kind) -> Cell {
        match (value, kind) {
            (ValueRef::Null, kind) => Cell::Null(kind),
            (ValueRef::Integer(n), Kind::Real) => Cell::Real(n as f64),
            (ValueRef::Integer(n), _) => Cell::Integer(n),
            (ValueRef::Real(x), _) => Cell::Real(x),
            (ValueRef::Text(text), _) => Cell::Text(text.to_owned()),
            (ValueRef::Blob(bytes), _) => Cell::Blob(bytes.to_vec()),
        }
    }
}

impl ToSql for Cell {
    fn to_value(&self) -> Value<'_> {
        match self {
            Cell::Null(kind) => Value::Null(*kind),
            Cell::Integer(n) => Value::Integer(*n),
            Cell::Real(x) => Value::Real(*x),
            Cell::Text(text) => Value::Text(text),
            Cell::Blob(bytes) => Value::Blob(bytes),
        }
    }
    fn kind() -> Kind {
        Kind::Text
    }
}

/// Something a column becomes.
pub trait FromSql: Sized {
    fn from_sql(value: ValueRef<'_>) -> Result<Self, String>;
}

fn wrong(value: ValueRef<'_>, wanted: &str) -> String {
    format!("expected {wanted}, found {}", value.kind())
}

macro_rules! integer_from_sql {
    ($($ty:ty),*) => {$(
        impl FromSql for $ty {
            fn from_sql(value: ValueRef<'_>) -> Result<Self, String> {
                match value {
                    ValueRef::Integer(n) => <$ty>::try_from(n)
                        .map_err(|_| format!("{n} does not fit {}", stringify!($ty))),
                    other => Err(wrong(other, "an integer")),
                }
            }
        }
    )*};
}
integer_from_sql!(i64, i32, u32, u64, usize, u16, u8);

impl FromSql for bool {
    fn from_sql(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Integer(n) => Ok(n != 0),
            other => Err(wrong(other, "a boolean (integer)")),
        }
    }
}

impl FromSql for f64 {
    fn from_sql(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Real(x) => Ok(x),
            // SQLite stores a whole real as an integer when it can.
            ValueRef::Integer(n) => Ok(n as f64),
            other => Err(wrong(other, "a real")),
        }
    }
}

impl FromSql for String {
    fn from_sql(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Text(text) => Ok(text.to_owned()),
            other => Err(wrong(other, "text")),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Blob(bytes) => Ok(bytes.to_vec()),
            other => Err(wrong(other, "a blob")),
        }
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Null => Ok(None),
            other => T::from_sql(other).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_both_ways_and_refuse_the_wrong_kind() {
        assert_eq!(Some(7_i64).to_value(), Value::Integer(7));
        assert_eq!(None::<String>.to_value(), Value::Null(Kind::Text));
        assert_eq!(true.to_value(), Value::Integer(1));
        assert_eq!(u32::from_sql(ValueRef::Integer(5)), Ok(5));
        assert!(u32::from_sql(ValueRef::Integer(-1)).is_err());
        assert_eq!(Option::<i64>::from_sql(ValueRef::Null), Ok(None));
        assert_eq!(f64::from_sql(ValueRef::Integer(2)), Ok(2.0));
        let refused = String::from_sql(ValueRef::Integer(1)).unwrap_err();
        assert_eq!(refused, "expected text, found an integer");
    }
}
