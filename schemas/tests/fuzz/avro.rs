//! Records as read from the topics: the Confluent frame, then the Avro datum, then the typed
//! mapping. Whatever the bytes, decoding answers an error or a value, never a panic; a datum that
//! fits a schema (current or released) decodes to the value that was encoded, resolves to the
//! current schema, and a typed value survives the whole trip.

use crate::generate::{self, Choices};
use apache_avro::Schema;
use apache_avro::schema::ResolvedSchema;
use apache_avro::types::Value;
use balados_schemas::codec::{read_datum, write_datum};
use balados_schemas::{
    CommandEnvelope, CommandResult, Contract, EventEnvelope, PublicEvent, UserStateRecord, binary,
    resolve, wire,
};
use proptest::prelude::*;
use std::fmt::Debug;
use std::path::Path;
use std::sync::LazyLock;

/// Each contract's current schema and every schema a producer may have written it with.
struct Versions {
    contract: Contract,
    current: Schema,
    writers: Vec<Schema>,
}

static VERSIONS: LazyLock<Vec<Versions>> = LazyLock::new(|| {
    let history = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/avro/history"));
    let files: Vec<_> = std::fs::read_dir(history)
        .expect("avro/history")
        .map(|e| e.expect("an entry").path())
        .collect();
    Contract::ALL
        .into_iter()
        .map(|contract| {
            let current = Schema::parse_str(contract.schema_text()).expect("parses");
            let stem = file_stem(contract);
            let mut writers = vec![current.clone()];
            for file in &files {
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with(&format!("{stem}.v")) {
                    let text = std::fs::read_to_string(file).expect("readable");
                    writers.push(Schema::parse_str(&text).expect("a released schema parses"));
                }
            }
            Versions {
                contract,
                current,
                writers,
            }
        })
        .collect()
});

fn file_stem(contract: Contract) -> &'static str {
    match contract {
        Contract::Command => "command",
        Contract::Event => "event",
        Contract::UserState => "user-state",
        Contract::CommandResult => "command-result",
        Contract::PublicEvent => "public-event",
    }
}

/// Decodes as a consumer does: the datum under `writer`, resolved to the current schema, typed.
/// A datum that fails any step is fine (an error value); the test fails on a panic, or on a typed
/// value that does not survive its own encoding.
fn consume(versions: &Versions, writer: &Schema, datum: &[u8]) -> Result<(), TestCaseError> {
    let Ok(value) = read_datum(writer, None, &mut &datum[..]) else {
        return Ok(());
    };
    let Ok(value) = resolve::resolve(value, writer, &versions.current) else {
        return Ok(());
    };
    match typed(versions.contract, value, &versions.current) {
        Err(TestCaseError::Fail(why)) => Err(TestCaseError::Fail(why)),
        Ok(()) | Err(TestCaseError::Reject(_)) => Ok(()),
    }
}

/// The typed mapping of `value`, checked to survive its own encoding: from_avro(to_avro(t)) == t.
fn typed(contract: Contract, value: Value, schema: &Schema) -> Result<(), TestCaseError> {
    match contract {
        Contract::Command => typed_trip(
            value,
            schema,
            CommandEnvelope::from_avro,
            CommandEnvelope::to_avro,
        ),
        Contract::Event => typed_trip(
            value,
            schema,
            EventEnvelope::from_avro,
            EventEnvelope::to_avro,
        ),
        Contract::UserState => typed_trip(
            value,
            schema,
            UserStateRecord::from_avro,
            UserStateRecord::to_avro,
        ),
        Contract::CommandResult => typed_trip(
            value,
            schema,
            CommandResult::from_avro,
            CommandResult::to_avro,
        ),
        Contract::PublicEvent => {
            typed_trip(value, schema, PublicEvent::from_avro, PublicEvent::to_avro)
        }
    }
}

fn typed_trip<T: PartialEq + Debug, E: Debug>(
    value: Value,
    schema: &Schema,
    from: fn(Value) -> Result<T, E>,
    to: fn(&T) -> Value,
) -> Result<(), TestCaseError> {
    let Ok(typed) = from(value) else {
        return Err(TestCaseError::reject("not a typed value"));
    };
    let bytes = encode(&to(&typed), schema);
    let back = read_datum(schema, None, &mut bytes.as_slice()).expect("our own encoding decodes");
    prop_assert_eq!(from(back).expect("our own encoding types"), typed);
    Ok(())
}

/// Our encoder's bytes, checked against apache-avro's validating writer.
fn encode(value: &Value, schema: &Schema) -> Vec<u8> {
    let resolved = ResolvedSchema::try_from(schema).expect("resolves");
    let mut ours = Vec::new();
    binary::encode(value, schema, resolved.get_names(), &mut ours)
        .expect("a fitting value encodes");
    let theirs = write_datum(schema, value.clone()).expect("apache-avro encodes it too");
    assert_eq!(ours, theirs, "our encoding differs from apache-avro's");
    ours
}

/// A value of `writer` built from `choices`, and its encoding.
fn generated(writer: &Schema, choices: &[u8]) -> (Value, Vec<u8>) {
    let resolved = ResolvedSchema::try_from(writer).expect("resolves");
    let value = generate::value(writer, resolved.get_names(), &mut Choices::new(choices));
    let bytes = encode(&value, writer);
    (value, bytes)
}

/// Damage done to a valid datum: what a bit flip, a bad producer or a truncated read leave.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bits: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Remove {
        at: usize,
        len: usize,
    },
    /// A length prefix that claims gigabytes, written anywhere.
    HugeLength {
        at: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, 1..=255u8).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        at.prop_map(|at| Mutation::Truncate { at }),
        (at, prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at, 1..8usize).prop_map(|(at, len)| Mutation::Remove { at, len }),
        at.prop_map(|at| Mutation::HugeLength { at }),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let len = bytes.len();
    let within = |at: usize| if len == 0 { 0 } else { at % len };
    match mutation {
        Mutation::Flip { at, bits } => {
            if let Some(b) = bytes.get_mut(within(*at)) {
                *b ^= bits;
            }
        }
        Mutation::Truncate { at } => bytes.truncate(within(*at)),
        Mutation::Insert { at, bytes: extra } => {
            let at = within(*at);
            bytes.splice(at..at, extra.iter().copied());
        }
        Mutation::Remove { at, len: n } => {
            let at = within(*at);
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::HugeLength { at } => {
            // 3 GiB, zig-zag varint.
            let at = within(*at);
            bytes.splice(at..at, [0x80, 0x80, 0x80, 0x80, 0x18]);
        }
    }
    bytes
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for versions in VERSIONS.iter() {
            for writer in &versions.writers {
                consume(versions, writer, &bytes)?;
            }
        }
    }

    #[test]
    fn frames_split_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..16), id: u32) {
        match wire::unframe(&bytes) {
            Ok((schema_id, datum)) => {
                prop_assert_eq!(bytes[0], wire::MAGIC);
                prop_assert_eq!(wire::frame(schema_id, datum), bytes.clone());
            }
            Err(_) => prop_assert!(bytes.len() < 5 || bytes[0] != wire::MAGIC),
        }
        let framed = wire::frame(id, &bytes);
        prop_assert_eq!(wire::unframe(&framed), Ok((id, &bytes[..])));
    }

    #[test]
    fn a_valid_datum_of_any_version_decodes_resolves_and_types(
        choices in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        for versions in VERSIONS.iter() {
            for writer in &versions.writers {
                let (value, bytes) = generated(writer, &choices);
                let decoded = read_datum(writer, None, &mut bytes.as_slice());
                prop_assert_eq!(decoded.as_ref().ok(), Some(&value), "{:?}", decoded);
                let current = resolve::resolve(value, writer, &versions.current);
                prop_assert!(current.is_ok(), "{:?}: {:?}", versions.contract, current);
                // Most generated records are not typed values (a random string is no URL); those
                // that are must survive their own encoding.
                consume(versions, writer, &bytes)?;
            }
        }
    }

    #[test]
    fn a_damaged_datum_is_an_error_or_a_value_never_a_panic(
        choices in prop::collection::vec(any::<u8>(), 0..256),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        for versions in VERSIONS.iter() {
            for writer in &versions.writers {
                let (_, bytes) = generated(writer, &choices);
                let damaged = mutations.iter().fold(bytes, mutate);
                consume(versions, writer, &damaged)?;
            }
        }
    }
}
