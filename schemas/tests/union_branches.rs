//! Every branch of the unions of `command.avsc`, `event.avsc` and `user-state.avsc`, built from
//! the schema itself (not from a typed value), decodes to a typed value that encodes back to the
//! same bytes. The datum comes from the `.avsc`, so a branch number, a field name or a field
//! layout that the typed mapping gets wrong — in either direction — changes the bytes; and a
//! branch the mapping forgets does not decode.

use apache_avro::Schema;
use apache_avro::schema::{Name, ResolvedSchema};
use apache_avro::types::Value;
use balados_schemas::codec::write_datum;
use balados_schemas::{CommandEnvelope, Contract, EventEnvelope, UserStateRecord};
use std::collections::HashMap;
use uuid::Uuid;

type Names<'s> = HashMap<Name, &'s Schema>;

/// Whether the optional fields of a datum hold a value or null.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Optionals {
    Null,
    Present,
}

/// A valid value for a string field, chosen by the field's name.
fn text(field: &str) -> String {
    match field {
        "feed_url" | "feeds" => "https://example.com/feed.xml",
        "enclosure_url" => "https://cdn.example.com/1.mp3",
        "guid" => "guid-1",
        "privacy" => "anonymous",
        "kind" => "mobile",
        "action" => "play",
        "user_id" => "user-1",
        "reply_to" => "ingest-1#0",
        "playlist_id" | "collection_id" | "device_id" => "id-1",
        _ => "Some text",
    }
    .to_owned()
}

fn optional(schema: &Schema) -> Option<&Schema> {
    match schema {
        Schema::Union(u) => match u.variants() {
            [Schema::Null, inner] => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// A value of `schema` for the field `field`; `branch` picks the branch of the record union.
fn fill(schema: &Schema, field: &str, names: &Names, opt: Optionals, branch: usize) -> Value {
    match schema {
        Schema::Ref { name } => fill(names[name], field, names, opt, branch),
        Schema::Record(r) => {
            // A scope is an episode or a feed, never both: with an episode, the feed is null.
            let scoped = r
                .fields
                .iter()
                .any(|f| f.name == "guid" && optional(&f.schema).is_some());
            let fields = r.fields.iter().map(|f| {
                let opt = if scoped && f.name == "feed_url" {
                    Optionals::Null
                } else {
                    opt
                };
                (f.name.clone(), fill(&f.schema, &f.name, names, opt, branch))
            });
            Value::Record(fields.collect())
        }
        Schema::Union(u) => match optional(schema) {
            Some(_) if opt == Optionals::Null => Value::Union(0, Box::new(Value::Null)),
            Some(inner) => Value::Union(1, Box::new(fill(inner, field, names, opt, branch))),
            None => Value::Union(
                u32::try_from(branch).expect("few branches"),
                Box::new(fill(&u.variants()[branch], field, names, opt, branch)),
            ),
        },
        Schema::Array(a) => Value::Array(vec![fill(&a.items, field, names, opt, branch)]),
        Schema::String => Value::String(text(field)),
        Schema::Uuid(_) => Value::Uuid(Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0)),
        Schema::Long => Value::Long(7),
        Schema::Int => Value::Int(3),
        Schema::Boolean => Value::Boolean(true),
        Schema::TimestampMillis => Value::TimestampMillis(1_700_000_000_000),
        other => panic!("{field}: no sample for {other:?}"),
    }
}

/// The number of branches of the record union among the top-level fields of `schema`.
fn branch_count(schema: &Schema) -> usize {
    let Schema::Record(r) = schema else {
        panic!("a record")
    };
    r.fields
        .iter()
        .find_map(|f| match &f.schema {
            Schema::Union(u) if optional(&f.schema).is_none() => Some(u.variants().len()),
            _ => None,
        })
        .expect("a union of records")
}

/// Decodes every branch's datum with `from`, encodes it back with `to`, and compares the bytes.
fn every_branch_decodes_and_encodes_back<T, E: std::fmt::Debug>(
    contract: Contract,
    from: fn(Value) -> Result<T, E>,
    to: fn(&T) -> Value,
) {
    let schema = Schema::parse_str(contract.schema_text()).expect("parses");
    let resolved = ResolvedSchema::try_from(&schema).expect("resolves");
    let branches = branch_count(&schema);
    assert!(branches > 1, "{contract:?}: {branches} branches");
    for branch in 0..branches {
        for opt in [Optionals::Null, Optionals::Present] {
            let datum = fill(&schema, "", resolved.get_names(), opt, branch);
            let bytes = write_datum(&schema, datum.clone()).expect("the sample fits its schema");
            let typed = from(datum)
                .unwrap_or_else(|e| panic!("{contract:?} branch {branch} ({opt:?}): {e:?}"));
            let again = write_datum(&schema, to(&typed)).expect("a typed value encodes");
            assert_eq!(again, bytes, "{contract:?} branch {branch} ({opt:?})");
        }
    }
}

#[test]
fn every_command_branch_decodes_and_encodes_back_to_the_same_bytes() {
    every_branch_decodes_and_encodes_back(
        Contract::Command,
        CommandEnvelope::from_avro,
        CommandEnvelope::to_avro,
    );
}

#[test]
fn every_event_branch_decodes_and_encodes_back_to_the_same_bytes() {
    every_branch_decodes_and_encodes_back(
        Contract::Event,
        EventEnvelope::from_avro,
        EventEnvelope::to_avro,
    );
}

#[test]
fn every_state_branch_decodes_and_encodes_back_to_the_same_bytes() {
    every_branch_decodes_and_encodes_back(
        Contract::UserState,
        UserStateRecord::from_avro,
        UserStateRecord::to_avro,
    );
}
