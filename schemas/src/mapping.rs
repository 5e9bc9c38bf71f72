//! How each Rust type of the contracts sits in an Avro record: one trait, [`AvroField`], that the
//! declared unions and records (the crate's `declare` module) call field by field. Most types
//! fill one field named after their Rust field; a feed is always the `feed_url` field, and an
//! episode or a scope is flattened into the fields that name it, as the `.avsc` files lay them out.
//!
//! Decoding goes through the same `parse` as the ingest: a record from elsewhere that breaks a
//! bound is undecodable (dead-lettered), never decided.

use crate::avro::{Fields, ShapeError, opt_string};
use crate::ids::{FeedUrl, ItemId};
use crate::values::Scope;
use apache_avro::types::Value;
use scalars::{parsed, wrong};

mod scalars;

/// A Rust type of the contracts as Avro: as a value on its own, and as the field(s) it fills in a
/// record. The declared unions and records are built of these, field by field.
pub trait AvroField: Sized {
    /// The record fields it fills whatever its Rust name; `None` for one field of that name.
    const FIXED: Option<&'static [&'static str]> = None;

    /// The value on its own: a field's, an optional's or an array item's.
    fn to_value(&self) -> Value;

    /// `name`, the field's, is for the error.
    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError>;

    /// Appends its fields to a record, as the Rust field `name`.
    fn put(&self, name: &str, record: &mut Vec<(String, Value)>) {
        record.push((one_name::<Self>(name).to_owned(), self.to_value()));
    }

    /// Takes its fields out of a decoded record, as the Rust field `name`.
    fn take_from(fields: &mut Fields, name: &str) -> Result<Self, ShapeError> {
        let name = one_name::<Self>(name);
        Self::from_value(fields.take(name)?, name)
    }
}

fn one_name<T: AvroField>(name: &str) -> &str {
    match T::FIXED {
        Some(&[fixed]) => fixed,
        _ => name,
    }
}

/// The record fields a `T` fills as the Rust field `name`, in order.
pub fn field_names<T: AvroField>(name: &'static str) -> Vec<&'static str> {
    T::FIXED.map_or_else(|| vec![name], <[_]>::to_vec)
}

/// How many record fields a `T` fills.
pub const fn width<T: AvroField>() -> usize {
    match T::FIXED {
        Some(names) => names.len(),
        None => 1,
    }
}

/// A `["null", T]` union.
impl<T: AvroField> AvroField for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            None => Value::Union(0, Box::new(Value::Null)),
            Some(value) => Value::Union(1, Box::new(value.to_value())),
        }
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        let inner = match value {
            Value::Union(_, inner) => *inner,
            other => other,
        };
        match inner {
            Value::Null => Ok(None),
            other => T::from_value(other, name).map(Some),
        }
    }
}

impl<T: AvroField> AvroField for Vec<T> {
    fn to_value(&self) -> Value {
        Value::Array(self.iter().map(T::to_value).collect())
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        match value {
            Value::Array(items) => items.into_iter().map(|v| T::from_value(v, name)).collect(),
            other => Err(wrong(name, "an array", &other)),
        }
    }
}

/// The value on its own of a type flattened into its parent record (as an array item): the record
/// of its fields.
macro_rules! flattened_value {
    () => {
        fn to_value(&self) -> Value {
            let mut record = Vec::with_capacity(width::<Self>());
            self.put("", &mut record);
            Value::Record(record)
        }

        fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
            Self::take_from(&mut Fields::of(value)?, name)
        }
    };
}

/// A feed: the `feed_url` field.
impl AvroField for FeedUrl {
    const FIXED: Option<&'static [&'static str]> = Some(&["feed_url"]);

    fn to_value(&self) -> Value {
        Value::String(self.as_str().to_owned())
    }

    fn from_value(value: Value, name: &str) -> Result<Self, ShapeError> {
        parsed(value, name, Self::parse)
    }
}

/// An episode: its `guid` and `enclosure_url`.
impl AvroField for ItemId {
    const FIXED: Option<&'static [&'static str]> = Some(&["guid", "enclosure_url"]);

    flattened_value!();

    fn put(&self, _: &str, record: &mut Vec<(String, Value)>) {
        record.push(("guid".into(), Value::String(self.guid().to_owned())));
        let url = Value::String(self.enclosure_url().to_owned());
        record.push(("enclosure_url".into(), url));
    }

    fn take_from(fields: &mut Fields, _: &str) -> Result<Self, ShapeError> {
        let guid = String::take_from(fields, "guid")?;
        let url = String::take_from(fields, "enclosure_url")?;
        ItemId::new(&guid, &url).map_err(|e| ShapeError(format!("guid/enclosure_url: {e}")))
    }
}

/// An episode of a playlist: its feed, then the episode.
impl AvroField for (FeedUrl, ItemId) {
    const FIXED: Option<&'static [&'static str]> = Some(&["feed_url", "guid", "enclosure_url"]);

    flattened_value!();

    fn put(&self, _: &str, record: &mut Vec<(String, Value)>) {
        self.0.put("feed_url", record);
        self.1.put("item", record);
    }

    fn take_from(fields: &mut Fields, _: &str) -> Result<Self, ShapeError> {
        Ok((
            FeedUrl::take_from(fields, "feed_url")?,
            ItemId::take_from(fields, "item")?,
        ))
    }
}

/// A privacy scope: optional `feed_url`, `guid` and `enclosure_url`, all null for the global one.
impl AvroField for Scope {
    const FIXED: Option<&'static [&'static str]> = Some(&["feed_url", "guid", "enclosure_url"]);

    flattened_value!();

    fn put(&self, _: &str, record: &mut Vec<(String, Value)>) {
        let (feed, item) = match self {
            Scope::Global => (None, None),
            Scope::Feed(feed) => (Some(feed.as_str()), None),
            Scope::Item(item) => (None, Some(item)),
        };
        record.push(("feed_url".into(), opt_string(feed)));
        record.push(("guid".into(), opt_string(item.map(ItemId::guid))));
        let url = opt_string(item.map(ItemId::enclosure_url));
        record.push(("enclosure_url".into(), url));
    }

    fn take_from(fields: &mut Fields, _: &str) -> Result<Self, ShapeError> {
        let feed = fields.get::<Option<String>>("feed_url")?;
        let guid = fields.get::<Option<String>>("guid")?;
        let url = fields.get::<Option<String>>("enclosure_url")?;
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
}
