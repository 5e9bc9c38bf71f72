//! Schema resolution (writer's schema → reader's schema) with the branches of a union of records
//! matched by name, as the Avro specification says. apache-avro matches union branches by
//! structure: a record another branch can also read — `Unsubscribe { feed_url }` is readable as
//! `Subscribe { feed_url, source_id = null }` — would come out as the wrong branch. Records are
//! resolved field by field (missing fields from the reader's defaults); everything else is left
//! to apache-avro.

use apache_avro::Schema;
use apache_avro::types::Value;

/// The full name of a named schema (record, enum, fixed, or a reference to one).
fn name_of(schema: &Schema) -> Option<String> {
    match schema {
        Schema::Record(r) => Some(r.name.fullname(None)),
        Schema::Enum(e) => Some(e.name.fullname(None)),
        Schema::Fixed(f) => Some(f.name.fullname(None)),
        Schema::Ref { name } => Some(name.fullname(None)),
        _ => None,
    }
}

pub fn resolve(value: Value, writer: &Schema, reader: &Schema) -> Result<Value, String> {
    match (value, writer, reader) {
        (Value::Record(fields), Schema::Record(w), Schema::Record(r)) => {
            let mut fields: Vec<Option<(String, Value)>> = fields.into_iter().map(Some).collect();
            let mut out = Vec::with_capacity(r.fields.len());
            for rf in &r.fields {
                let found = w.fields.iter().position(|wf| wf.name == rf.name);
                let value = match found.and_then(|i| fields.get_mut(i).and_then(Option::take)) {
                    Some((_, v)) => {
                        resolve(v, &w.fields[found.unwrap_or_default()].schema, &rf.schema)?
                    }
                    None => {
                        let default = rf.default.clone().ok_or_else(|| {
                            format!("field {} missing and without default", rf.name)
                        })?;
                        Value::try_from(default)
                            .and_then(|v| v.resolve(&rf.schema))
                            .map_err(|e| format!("default of {}: {e}", rf.name))?
                    }
                };
                out.push((rf.name.clone(), value));
            }
            Ok(Value::Record(out))
        }
        (Value::Union(index, inner), Schema::Union(w), Schema::Union(r)) => {
            let wv = w
                .variants()
                .get(index as usize)
                .ok_or_else(|| format!("union branch {index} out of range"))?;
            match name_of(wv) {
                Some(name) => {
                    let (j, rv) = r
                        .variants()
                        .iter()
                        .enumerate()
                        .find(|(_, v)| name_of(v).as_deref() == Some(name.as_str()))
                        .ok_or_else(|| format!("the reader has no union branch named {name}"))?;
                    Ok(Value::Union(
                        u32::try_from(j).map_err(|e| e.to_string())?,
                        Box::new(resolve(*inner, wv, rv)?),
                    ))
                }
                None => Value::Union(index, inner)
                    .resolve(reader)
                    .map_err(|e| e.to_string()),
            }
        }
        (Value::Array(items), Schema::Array(w), Schema::Array(r)) => items
            .into_iter()
            .map(|item| resolve(item, &w.items, &r.items))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (value, _, reader) => value.resolve(reader).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{read_datum, write_datum};

    const WRITER: &str = r#"{"type": "record", "name": "Command", "namespace": "t", "fields": [
        {"name": "payload", "type": [
            {"type": "record", "name": "Subscribe", "fields": [
                {"name": "feed_url", "type": "string"},
                {"name": "source_id", "type": ["null", "string"], "default": null}]},
            {"type": "record", "name": "Unsubscribe", "fields": [{"name": "feed_url", "type": "string"}]}]}]}"#;

    /// The next version: a new branch first, and a new field with a default.
    const READER: &str = r#"{"type": "record", "name": "Command", "namespace": "t", "fields": [
        {"name": "payload", "type": [
            {"type": "record", "name": "Play", "fields": [{"name": "item", "type": "string"}]},
            {"type": "record", "name": "Subscribe", "fields": [
                {"name": "feed_url", "type": "string"},
                {"name": "source_id", "type": ["null", "string"], "default": null}]},
            {"type": "record", "name": "Unsubscribe", "fields": [{"name": "feed_url", "type": "string"}]}]},
        {"name": "added", "type": "long", "default": -1}]}"#;

    fn unsubscribe() -> Value {
        Value::Record(vec![(
            "payload".into(),
            Value::Union(
                1,
                Box::new(Value::Record(vec![(
                    "feed_url".into(),
                    Value::String("https://e/f".into()),
                )])),
            ),
        )])
    }

    #[test]
    fn a_union_branch_is_matched_by_name_not_by_shape() {
        let (writer, reader) = (
            Schema::parse_str(WRITER).expect("w"),
            Schema::parse_str(READER).expect("r"),
        );
        let datum = write_datum(&writer, unsubscribe()).expect("encodes");
        let raw = read_datum(&writer, None, &mut datum.as_slice()).expect("decodes");
        let Value::Record(fields) = resolve(raw, &writer, &reader).expect("resolves") else {
            panic!("a record")
        };
        assert_eq!(
            fields[0].1,
            Value::Union(
                2,
                Box::new(Value::Record(vec![(
                    "feed_url".into(),
                    Value::String("https://e/f".into())
                )]))
            )
        );
        assert_eq!(fields[1], ("added".into(), Value::Long(-1)));
    }

    #[test]
    fn apache_avro_alone_picks_the_wrong_branch() {
        // Why this module exists: if this starts failing, apache-avro matches by name now.
        let writer = Schema::parse_str(WRITER).expect("w");
        let datum = write_datum(&writer, unsubscribe()).expect("encodes");
        let resolved = read_datum(&writer, Some(&writer), &mut datum.as_slice()).expect("decodes");
        let Value::Record(fields) = resolved else {
            panic!("a record")
        };
        assert!(
            matches!(fields[0].1, Value::Union(0, _)),
            "{:?}",
            fields[0].1
        );
    }
}
