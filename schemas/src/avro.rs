//! Small helpers to build and read `apache_avro::types::Value` records by hand. Hand-written
//! mapping (rather than serde) keeps union branch indexes explicit and matching the `.avsc` files.

use crate::ids::{FeedUrl, ItemId};
use crate::mapping::AvroField;
use crate::values::Scope;
use apache_avro::types::Value;
use chrono::{DateTime, TimeZone as _, Utc};
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

pub fn opt_millis(value: Option<DateTime<Utc>>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(t) => Value::Union(1, Box::new(Value::TimestampMillis(t.timestamp_millis()))),
    }
}

pub fn millis(value: DateTime<Utc>) -> Value {
    Value::TimestampMillis(value.timestamp_millis())
}

pub fn string(value: &str) -> Value {
    Value::String(value.to_owned())
}

/// A count or position: Avro has no unsigned long; values beyond `i64::MAX` cannot occur.
pub fn unsigned(n: u64) -> Value {
    Value::Long(i64::try_from(n).unwrap_or(i64::MAX))
}

pub fn opt_unsigned(value: Option<u64>) -> Value {
    opt_long(value.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
}

pub fn opt_long(value: Option<i64>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(n) => Value::Union(1, Box::new(Value::Long(n))),
    }
}

pub fn opt_bool(value: Option<bool>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(b) => Value::Union(1, Box::new(Value::Boolean(b))),
    }
}

/// The `feed_url` field.
pub fn feed(feed: &FeedUrl) -> (&'static str, Value) {
    ("feed_url", string(feed.as_str()))
}

/// The `guid` and `enclosure_url` fields that name an episode.
pub fn item(item: &ItemId) -> [(&'static str, Value); 2] {
    [
        ("guid", string(item.guid())),
        ("enclosure_url", string(item.enclosure_url())),
    ]
}

/// The optional `feed_url`, `guid`, `enclosure_url` fields that name a privacy scope.
pub fn scope(scope: &Scope) -> [(&'static str, Value); 3] {
    let (feed, item) = match scope {
        Scope::Global => (None, None),
        Scope::Feed(feed) => (Some(feed.as_str()), None),
        Scope::Item(item) => (None, Some(item)),
    };
    [
        ("feed_url", opt_string(feed)),
        ("guid", opt_string(item.map(ItemId::guid))),
        ("enclosure_url", opt_string(item.map(ItemId::enclosure_url))),
    ]
}

/// A record from its fixed fields followed by more.
pub fn record_with<const N: usize>(head: [(&str, Value); N], rest: Vec<(&str, Value)>) -> Value {
    let mut fields: Vec<(&str, Value)> = head.into_iter().collect();
    fields.extend(rest);
    record(fields)
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
        match self.take(name)? {
            Value::String(s) => Ok(s),
            Value::Uuid(u) => Ok(u.to_string()),
            other => Err(ShapeError(format!(
                "{name}: expected a string, found {other:?}"
            ))),
        }
    }

    pub fn uuid(&mut self, name: &str) -> Result<Uuid, ShapeError> {
        match self.take(name)? {
            Value::Uuid(u) => Ok(u),
            Value::String(s) => Uuid::parse_str(&s).map_err(|e| ShapeError(format!("{name}: {e}"))),
            other => Err(ShapeError(format!(
                "{name}: expected a uuid, found {other:?}"
            ))),
        }
    }

    pub fn long(&mut self, name: &str) -> Result<i64, ShapeError> {
        match self.take(name)? {
            Value::Long(n) | Value::TimestampMillis(n) => Ok(n),
            Value::Int(n) => Ok(n.into()),
            other => Err(ShapeError(format!(
                "{name}: expected a long, found {other:?}"
            ))),
        }
    }

    pub fn int(&mut self, name: &str) -> Result<i32, ShapeError> {
        match self.take(name)? {
            Value::Int(n) => Ok(n),
            other => Err(ShapeError(format!(
                "{name}: expected an int, found {other:?}"
            ))),
        }
    }

    pub fn boolean(&mut self, name: &str) -> Result<bool, ShapeError> {
        match self.take(name)? {
            Value::Boolean(b) => Ok(b),
            other => Err(ShapeError(format!(
                "{name}: expected a boolean, found {other:?}"
            ))),
        }
    }

    pub fn millis(&mut self, name: &str) -> Result<DateTime<Utc>, ShapeError> {
        let ms = self.long(name)?;
        to_time(name, ms)
    }

    pub fn opt_string(&mut self, name: &str) -> Result<Option<String>, ShapeError> {
        match unwrap_union(self.take(name)?) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Err(ShapeError(format!(
                "{name}: expected a string, found {other:?}"
            ))),
        }
    }

    pub fn opt_millis(&mut self, name: &str) -> Result<Option<DateTime<Utc>>, ShapeError> {
        match unwrap_union(self.take(name)?) {
            Value::Null => Ok(None),
            Value::Long(ms) | Value::TimestampMillis(ms) => to_time(name, ms).map(Some),
            other => Err(ShapeError(format!(
                "{name}: expected a timestamp, found {other:?}"
            ))),
        }
    }

    pub fn opt_long(&mut self, name: &str) -> Result<Option<i64>, ShapeError> {
        match unwrap_union(self.take(name)?) {
            Value::Null => Ok(None),
            Value::Long(n) => Ok(Some(n)),
            Value::Int(n) => Ok(Some(n.into())),
            other => Err(ShapeError(format!(
                "{name}: expected a long, found {other:?}"
            ))),
        }
    }

    /// A long that must not be negative.
    pub fn unsigned(&mut self, name: &str) -> Result<u64, ShapeError> {
        let n = self.long(name)?;
        u64::try_from(n).map_err(|_| ShapeError(format!("{name}: negative")))
    }

    pub fn opt_unsigned(&mut self, name: &str) -> Result<Option<u64>, ShapeError> {
        self.opt_long(name)?
            .map(|n| u64::try_from(n).map_err(|_| ShapeError(format!("{name}: negative"))))
            .transpose()
    }

    pub fn opt_bool(&mut self, name: &str) -> Result<Option<bool>, ShapeError> {
        match unwrap_union(self.take(name)?) {
            Value::Null => Ok(None),
            Value::Boolean(b) => Ok(Some(b)),
            other => Err(ShapeError(format!(
                "{name}: expected a boolean, found {other:?}"
            ))),
        }
    }

    pub fn feed(&mut self) -> Result<FeedUrl, ShapeError> {
        let raw = self.string("feed_url")?;
        FeedUrl::parse(&raw).map_err(|e| ShapeError(format!("feed_url: {e}")))
    }

    pub fn item(&mut self) -> Result<ItemId, ShapeError> {
        let guid = self.string("guid")?;
        let url = self.string("enclosure_url")?;
        ItemId::new(&guid, &url).map_err(|e| ShapeError(format!("guid/enclosure_url: {e}")))
    }

    pub fn scope(&mut self) -> Result<Scope, ShapeError> {
        let feed = self.opt_string("feed_url")?;
        let guid = self.opt_string("guid")?;
        let url = self.opt_string("enclosure_url")?;
        match (feed, guid, url) {
            (_, Some(guid), Some(url)) => ItemId::new(&guid, &url)
                .map(Scope::Item)
                .map_err(|e| ShapeError(format!("scope item: {e}"))),
            (Some(feed), None, None) => FeedUrl::parse(&feed)
                .map(Scope::Feed)
                .map_err(|e| ShapeError(format!("scope feed_url: {e}"))),
            (None, None, None) => Ok(Scope::Global),
            _ => Err(ShapeError(
                "scope: guid and enclosure_url go together".into(),
            )),
        }
    }

    /// A union field: the branch index and its value.
    pub fn union(&mut self, name: &str) -> Result<(u32, Value), ShapeError> {
        match self.take(name)? {
            Value::Union(index, value) => Ok((index, *value)),
            other => Err(ShapeError(format!(
                "{name}: expected a union, found {other:?}"
            ))),
        }
    }

    pub fn array(&mut self, name: &str) -> Result<Vec<Value>, ShapeError> {
        match self.take(name)? {
            Value::Array(items) => Ok(items),
            other => Err(ShapeError(format!(
                "{name}: expected an array, found {other:?}"
            ))),
        }
    }
}

fn unwrap_union(value: Value) -> Value {
    match value {
        Value::Union(_, inner) => *inner,
        other => other,
    }
}

fn to_time(name: &str, ms: i64) -> Result<DateTime<Utc>, ShapeError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| ShapeError(format!("{name}: timestamp {ms} out of range")))
}
