//! Avro binary encoding of the values this crate builds, written for speed: apache-avro's writer
//! builds a hash map per record (to find fields by name) and validates every value first, which
//! made encoding the aggregator's largest cost. Here a record's fields are found by a linear scan
//! (records have a few fields), nothing is validated twice (a value that does not fit its schema
//! is an error, as it would be there) and the output is byte-identical (a test compares them on
//! every typed value).
//!
//! And the bounds of a datum before apache-avro decodes it ([`check_bounded`]): apache-avro
//! allocates what a length prefix claims before reading the bytes it announces, so a ten-byte
//! record read from a topic could make it allocate hundreds of megabytes.

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, InnerDecimalSchema, Name, UuidSchema};
use apache_avro::types::Value;
use std::collections::HashMap;

/// Named types of a schema, for `Schema::Ref`.
pub type Names<'s> = HashMap<Name, &'s Schema>;

/// Appends the encoding of `value` under `schema` to `out`.
pub fn encode(
    value: &Value,
    schema: &Schema,
    names: &Names<'_>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match (value, schema) {
        (_, Schema::Ref { name }) => {
            let target = names
                .get(name)
                .ok_or_else(|| format!("unknown named type {name:?}"))?;
            encode(value, target, names, out)
        }
        (Value::Union(index, inner), Schema::Union(union)) => {
            let variant = usize::try_from(*index)
                .ok()
                .and_then(|i| union.variants().get(i))
                .ok_or_else(|| format!("union branch {index} out of range"))?;
            long(i64::from(*index), out);
            encode(inner, variant, names, out)
        }
        (Value::Null, Schema::Null) => Ok(()),
        (Value::Boolean(b), Schema::Boolean) => {
            out.push(u8::from(*b));
            Ok(())
        }
        (Value::Int(n), Schema::Int) => {
            long(i64::from(*n), out);
            Ok(())
        }
        (Value::Long(n), Schema::Long | Schema::TimestampMillis)
        | (Value::TimestampMillis(n), Schema::TimestampMillis | Schema::Long) => {
            long(*n, out);
            Ok(())
        }
        (Value::String(s), Schema::String | Schema::Uuid(UuidSchema::String)) => {
            bytes(s.as_bytes(), out);
            Ok(())
        }
        (Value::Uuid(u), Schema::Uuid(UuidSchema::String) | Schema::String) => {
            bytes(
                u.hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer())
                    .as_bytes(),
                out,
            );
            Ok(())
        }
        (Value::Record(fields), Schema::Record(record)) => {
            for field in &record.fields {
                let value = fields
                    .iter()
                    .find(|(name, _)| *name == field.name)
                    .map(|(_, v)| v)
                    .ok_or_else(|| format!("{}: missing field {}", record.name, field.name))?;
                encode(value, &field.schema, names, out)
                    .map_err(|e| format!("{}.{}: {e}", record.name, field.name))?;
            }
            Ok(())
        }
        (Value::Array(items), Schema::Array(array)) => {
            if !items.is_empty() {
                long(i64::try_from(items.len()).unwrap_or(i64::MAX), out);
                for item in items {
                    encode(item, &array.items, names, out)?;
                }
            }
            out.push(0);
            Ok(())
        }
        (value, schema) => Err(format!(
            "a {:?} value does not fit a {:?} schema",
            apache_avro::types::ValueKind::from(value),
            apache_avro::schema::SchemaKind::from(schema)
        )),
    }
}

/// Zig-zag varint.
fn long(n: i64, out: &mut Vec<u8>) {
    let mut z = ((n << 1) ^ (n >> 63)).cast_unsigned();
    while z >= 0x80 {
        out.push(u8::try_from(z & 0x7f).unwrap_or_default() | 0x80);
        z >>= 7;
    }
    out.push(u8::try_from(z).unwrap_or_default());
}

fn bytes(b: &[u8], out: &mut Vec<u8>) {
    long(i64::try_from(b.len()).unwrap_or(i64::MAX), out);
    out.extend_from_slice(b);
}

/// Deepest nesting a datum may have. Our contracts nest a handful of levels; a recursive writer
/// schema would otherwise let a one-megabyte datum recurse a million levels and overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// Walks `datum` under `schema` without allocating and refuses it when a length or an item count
/// claims more than the bytes that follow, when it ends early, or when it nests deeper than
/// [`MAX_DEPTH`]. apache-avro allocates what a length claims before reading (up to 512 MiB for a
/// string, and that many values for an array block), and it reads a datum cut short in a string,
/// a boolean or a union as null. Run first, this bounds what a decode allocates by the size of its
/// input. An array item must take at least a byte (every item of our contracts does): otherwise a
/// block of a billion empty items would be a few bytes long.
pub fn check_bounded(datum: &[u8], schema: &Schema, names: &Names<'_>) -> Result<(), String> {
    let mut input = datum;
    walk(&mut input, schema, names, 0)
}

fn walk(input: &mut &[u8], schema: &Schema, names: &Names<'_>, depth: usize) -> Result<(), String> {
    if depth >= MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    let depth = depth + 1;
    match schema {
        Schema::Null => Ok(()),
        Schema::Boolean => skip(input, 1),
        Schema::Float => skip(input, 4),
        Schema::Double => skip(input, 8),
        Schema::Int
        | Schema::Long
        | Schema::Enum(_)
        | Schema::Date
        | Schema::TimeMillis
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => read_long(input).map(drop),
        Schema::String
        | Schema::Bytes
        | Schema::BigDecimal
        | Schema::Uuid(UuidSchema::String | UuidSchema::Bytes)
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Bytes,
            ..
        }) => {
            let len = read_len(input)?;
            skip(input, len)
        }
        Schema::Fixed(fixed)
        | Schema::Duration(fixed)
        | Schema::Uuid(UuidSchema::Fixed(fixed))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(fixed),
            ..
        }) => skip(input, fixed.size),
        Schema::Union(union) => {
            let index = read_long(input)?;
            let variant = usize::try_from(index)
                .ok()
                .and_then(|i| union.variants().get(i))
                .ok_or_else(|| format!("union branch {index} out of range"))?;
            walk(input, variant, names, depth)
        }
        Schema::Record(record) => record.fields.iter().try_for_each(|field| {
            walk(input, &field.schema, names, depth)
                .map_err(|e| format!("{}.{}: {e}", record.name, field.name))
        }),
        Schema::Array(array) => blocks(input, |input| walk(input, &array.items, names, depth)),
        Schema::Map(map) => blocks(input, |input| {
            let len = read_len(input)?;
            skip(input, len)?;
            walk(input, &map.types, names, depth)
        }),
        Schema::Ref { name } => {
            let target = names
                .get(name)
                .ok_or_else(|| format!("unknown named type {name:?}"))?;
            walk(input, target, names, depth)
        }
    }
}

/// The blocks of an array or map: a count (negative: followed by the block's size in bytes), that
/// many items, until a count of zero.
fn blocks(
    input: &mut &[u8],
    mut item: impl FnMut(&mut &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    loop {
        let count = read_long(input)?;
        if count == 0 {
            return Ok(());
        }
        if count < 0 {
            read_long(input)?;
        }
        let count = count.unsigned_abs();
        if count > input.len() as u64 {
            return Err(format!(
                "a block of {count} items with {} bytes left",
                input.len()
            ));
        }
        for _ in 0..count {
            let before = input.len();
            item(input)?;
            if input.len() == before {
                return Err("an array or map item that takes no bytes".to_owned());
            }
        }
    }
}

fn skip(input: &mut &[u8], n: usize) -> Result<(), String> {
    *input = input
        .get(n..)
        .ok_or_else(|| format!("{n} bytes expected, {} left", input.len()))?;
    Ok(())
}

/// A length: not negative, and not beyond the bytes left.
fn read_len(input: &mut &[u8]) -> Result<usize, String> {
    let n = read_long(input)?;
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= input.len())
        .ok_or_else(|| format!("a length of {n} bytes with {} left", input.len()))
}

/// Zig-zag varint of at most 10 bytes, as apache-avro reads it.
fn read_long(input: &mut &[u8]) -> Result<i64, String> {
    let mut z: u64 = 0;
    for i in 0..10 {
        let (&byte, rest) = input
            .split_first()
            .ok_or_else(|| "the datum ends within a number".to_owned())?;
        *input = rest;
        z |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let half = (z >> 1).cast_signed();
            return Ok(if z & 1 == 0 { half } else { !half });
        }
    }
    Err("a number longer than 10 bytes".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_are_zigzag_varints() {
        for (n, expected) in [
            (0i64, vec![0u8]),
            (-1, vec![1]),
            (1, vec![2]),
            (-64, vec![0x7f]),
            (64, vec![0x80, 0x01]),
            (
                i64::MAX,
                vec![0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let mut out = Vec::new();
            long(n, &mut out);
            assert_eq!(out, expected, "{n}");
        }
    }

    #[test]
    fn a_value_that_does_not_fit_is_an_error() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}"#,
        )
        .expect("parses");
        let names = Names::new();
        let mut out = Vec::new();
        let wrong = Value::Record(vec![("a".into(), Value::String("x".into()))]);
        assert!(encode(&wrong, &schema, &names, &mut out).is_err());
        let missing = Value::Record(vec![]);
        assert!(encode(&missing, &schema, &names, &mut out).is_err());
    }

    fn checked(schema: &str, datum: &[u8]) -> Result<(), String> {
        let schema = Schema::parse_str(schema).expect("parses");
        let resolved = apache_avro::schema::ResolvedSchema::try_from(&schema).expect("resolves");
        check_bounded(datum, &schema, resolved.get_names())
    }

    const RECORD: &str = r#"{"type":"record","name":"R","fields":[
        {"name":"s","type":"string"},
        {"name":"o","type":["null","string"]},
        {"name":"a","type":{"type":"array","items":"long"}}]}"#;

    #[test]
    fn a_datum_that_holds_what_it_claims_passes() {
        // "hi", Some("x"), [1, 2] in one block, then the block of -1 item (with its size), end.
        let datum = [4, b'h', b'i', 2, 2, b'x', 4, 2, 4, 1, 2, 6, 0];
        assert_eq!(checked(RECORD, &datum), Ok(()));
    }

    #[test]
    fn lengths_and_counts_beyond_the_input_are_refused() {
        let mut huge_string = Vec::new();
        long(400 << 20, &mut huge_string);
        huge_string.extend_from_slice(b"abc");
        assert!(checked(RECORD, &huge_string).is_err());
        // A valid string, null, then a block claiming a billion items.
        let mut huge_block = vec![0, 0];
        long(1_000_000_000, &mut huge_block);
        huge_block.extend_from_slice(&[2, 2, 0]);
        assert!(checked(RECORD, &huge_block).is_err());
        assert!(checked(RECORD, &[1]).is_err(), "a negative length");
    }

    #[test]
    fn a_datum_cut_short_is_refused_where_apache_avro_would_read_null() {
        // The optional string's branch is missing: apache-avro reads null and returns a record.
        assert!(checked(RECORD, &[0]).is_err());
        assert!(checked(RECORD, &[0, 2]).is_err(), "its string is missing");
        assert!(
            checked(RECORD, &[0, 0, 0xff]).is_err(),
            "a number cut short"
        );
        assert!(
            checked(
                RECORD,
                &[
                    0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0
                ]
            )
            .is_err()
        );
    }

    #[test]
    fn empty_items_and_deep_nesting_are_refused() {
        let nulls = r#"{"type":"array","items":"null"}"#;
        assert!(checked(nulls, &[0]).is_ok());
        assert!(checked(nulls, &[6, 0, 0, 0]).is_err());
        let list = r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#;
        let mut deep = vec![2; MAX_DEPTH];
        deep.push(0);
        assert!(checked(list, &deep).is_err());
        // Each level is three steps: the record, its union, the reference back to the record.
        let mut shallow = vec![2; MAX_DEPTH / 3 - 1];
        shallow.push(0);
        assert_eq!(checked(list, &shallow), Ok(()));
    }
}
