//! Building and reading `apache_avro::types::Value` records by hand (rather than with serde, so
//! that union branch numbers stay explicit and match the `.avsc` files). Commands, events and
//! state records are declared once, their mapping following from [`AvroField`] field by field
//! (the crate's `declare` module); the small records (results, public events) use these helpers.

use crate::mapping::AvroField;
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
#[error("Avro value does not match the contract: {0}")]
pub struct ShapeError(pub String);

pub fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

pub fn opt_string(value: Option<&str>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(s) => Value::Union(1, Box::new(Value::String(s.to_owned()))),
    }
}

pub fn millis(value: DateTime<Utc>) -> Value {
    value.to_value()
}

pub fn string(value: &str) -> Value {
    Value::String(value.to_owned())
}

/// A count or position: Avro has no unsigned long; values beyond `i64::MAX` cannot occur.
pub fn unsigned(n: u64) -> Value {
    n.to_value()
}

/// Field access on a decoded record.
#[derive(Debug)]
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    pub fn of(value: Value) -> Result<Self, ShapeError> {
        match value {
            Value::Record(fields) => Ok(Self(fields)),
            other => Err(ShapeError(format!("expected a record, found {other:?}"))),
        }
    }

    /// Takes the field out of the record (each is read once).
    pub fn take(&mut self, name: &str) -> Result<Value, ShapeError> {
        let index = self
            .0
            .iter()
            .position(|(k, _)| k == name)
            .ok_or_else(|| ShapeError(format!("missing field {name}")))?;
        Ok(self.0.swap_remove(index).1)
    }

    /// The field `name`, typed as [`AvroField`] maps it.
    pub fn get<T: AvroField>(&mut self, name: &str) -> Result<T, ShapeError> {
        T::take_from(self, name)
    }

    pub fn string(&mut self, name: &str) -> Result<String, ShapeError> {
        self.get(name)
    }

    pub fn uuid(&mut self, name: &str) -> Result<Uuid, ShapeError> {
        self.get(name)
    }

    pub fn long(&mut self, name: &str) -> Result<i64, ShapeError> {
        self.get(name)
    }

    pub fn int(&mut self, name: &str) -> Result<i32, ShapeError> {
        self.get(name)
    }

    pub fn boolean(&mut self, name: &str) -> Result<bool, ShapeError> {
        self.get(name)
    }

    pub fn millis(&mut self, name: &str) -> Result<DateTime<Utc>, ShapeError> {
        self.get(name)
    }

    pub fn opt_string(&mut self, name: &str) -> Result<Option<String>, ShapeError> {
        self.get(name)
    }
}
