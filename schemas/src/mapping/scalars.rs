//! The values that fill one field: strings (the bounded ones read back through their `parse`),
//! numbers, booleans, ids and times.

use super::AvroField;
use crate::avro::ShapeError;
use crate::fields::{Description, DeviceId, DeviceKind, LocalId, Name, Seconds, SourceId};
use crate::ids::UserId;
use crate::values::{EpisodeAction, Privacy};
use apache_avro::types::Value;
use chrono::{DateTime, TimeZone as _, Utc};
use std::fmt::Display;
use uuid::Uuid;

pub(super) fn wrong(name: &str, expected: &str, found: &Value) -> ShapeError {
    ShapeError(format!("{name}: expected {expected}, found {found:?}"))
}

/// A string parsed by `parse`; its error, not the value, goes into the message.
pub(super) fn parsed<T, E: Display>(
    value: Value,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ShapeError> {
    parse(&String::from_value(value, name)?).map_err(|e| ShapeError(format!("{name}: {e}")))
}

impl AvroField for String {
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        match value {
            Value::String(s) => Ok(s),
            Value::Uuid(u) => Ok(u.to_string()),
            other => Err(wrong(name, "a string", &other)),
        }
    }
}

/// The bounded strings: written as they are, read back through their `parse`.
macro_rules! parsed_text {
    ($($text:ty),*) => {$(
        impl AvroField for $text {
            fn to_value(&self) -> Value {
                Value::String(self.as_str().to_owned())
            }

            fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
                parsed(value, name, Self::parse)
            }
        }
    )*};
}

parsed_text!(
    UserId,
    LocalId,
    Name,
    Description,
    DeviceId,
    DeviceKind,
    SourceId
);

impl AvroField for Privacy {
    fn to_value(&self) -> Value {
        Value::String(self.as_str().to_owned())
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        parsed(value, name, |raw| {
            Self::parse(raw).ok_or("not public, anonymous or private")
        })
    }
}

impl AvroField for EpisodeAction {
    fn to_value(&self) -> Value {
        Value::String(self.as_str().to_owned())
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        parsed(value, name, |raw| {
            Self::parse(raw).ok_or("not play, download, delete or new")
        })
    }
}

impl AvroField for Uuid {
    fn to_value(&self) -> Value {
        Value::Uuid(*self)
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        match value {
            Value::Uuid(u) => Ok(u),
            Value::String(s) => Uuid::parse_str(&s).map_err(|e| ShapeError(format!("{name}: {e}"))),
            other => Err(wrong(name, "a uuid", &other)),
        }
    }
}

/// Values that are one Avro variant as they are.
macro_rules! plain {
    ($($t:ty: $variant:ident, $what:literal);*) => {$(
        impl AvroField for $t {
            fn to_value(&self) -> Value {
                Value::$variant(*self)
            }

            fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
                match value {
                    Value::$variant(v) => Ok(v),
                    other => Err(wrong(name, $what, &other)),
                }
            }
        }
    )*};
}

plain!(bool: Boolean, "a boolean"; i32: Int, "an int");

impl AvroField for i64 {
    fn to_value(&self) -> Value {
        Value::Long(*self)
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        match value {
            Value::Long(n) | Value::TimestampMillis(n) => Ok(n),
            Value::Int(n) => Ok(n.into()),
            other => Err(wrong(name, "a long", &other)),
        }
    }
}

/// A count or a sequence: Avro has no unsigned long; values beyond `i64::MAX` cannot occur.
impl AvroField for u64 {
    fn to_value(&self) -> Value {
        Value::Long(i64::try_from(*self).unwrap_or(i64::MAX))
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        u64::try_from(i64::from_value(value, name)?)
            .map_err(|_| ShapeError(format!("{name}: negative")))
    }
}

/// A position in a list, as a long.
impl AvroField for u32 {
    fn to_value(&self) -> Value {
        Value::Long((*self).into())
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        u32::try_from(i64::from_value(value, name)?)
            .map_err(|_| ShapeError(format!("{name}: out of range")))
    }
}

impl AvroField for Seconds {
    fn to_value(&self) -> Value {
        self.get().to_value()
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        Self::parse(i64::from_value(value, name)?).map_err(|e| ShapeError(format!("{name}: {e}")))
    }
}

/// A `timestamp-millis`.
impl AvroField for DateTime<Utc> {
    fn to_value(&self) -> Value {
        Value::TimestampMillis(self.timestamp_millis())
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        let ms = i64::from_value(value, name)?;
        Utc.timestamp_millis_opt(ms)
            .single()
            .ok_or_else(|| ShapeError(format!("{name}: timestamp {ms} out of range")))
    }
}
