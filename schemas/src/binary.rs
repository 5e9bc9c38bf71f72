//! Avro binary encoding of the values this crate builds, written for speed: apache-avro's writer
//! builds a hash map per record (to find fields by name) and validates every value first, which
//! made encoding the aggregator's largest cost. Here a record's fields are found by a linear scan
//! (records have a few fields), nothing is validated twice (a value that does not fit its schema
//! is an error, as it would be there) and the output is byte-identical (a test compares them on
//! every typed value).

use apache_avro::Schema;
use apache_avro::schema::{Name, UuidSchema};
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
}
