//! Avro values of a schema, built from a string of arbitrary choice bytes: proptest generates (and
//! shrinks) the bytes, this turns them into a value that fits the schema. Strings are often taken
//! from a pool of plausible ones (a UUID, URLs, the known enum texts), so that some generated
//! records are also valid typed values.

use apache_avro::Schema;
use apache_avro::schema::UuidSchema;
use apache_avro::types::Value;
use balados_schemas::binary::Names;

/// What the typed mappings look for: without these, almost no random record would be one.
const POOL: &[&str] = &[
    "6f1c4b0e-3a52-4c1e-9d0b-2f7a8e5c1d34",
    "user-1",
    "https://example.com/feed.xml",
    "https://cdn.example.com/1.mp3",
    "guid-1",
    "p1",
    "default",
    "public",
    "private",
    "anonymous",
    "play",
    "subscribe",
    "global",
    "feed",
    "item",
    "",
];

/// The choice bytes, read from the front; zeros once they run out, so every value is finite.
#[derive(Debug)]
pub struct Choices<'a>(&'a [u8]);

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }

    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    fn long(&mut self) -> i64 {
        match self.byte() % 4 {
            0 => i64::from(self.byte()),
            // Around now, in milliseconds: what timestamps look like.
            1 => {
                1_700_000_000_000 + i64::from(u32::from_le_bytes([self.byte(), self.byte(), 0, 0]))
            }
            2 => -i64::from(self.byte()),
            _ => i64::from_le_bytes(self.bytes(8).try_into().unwrap_or_default()),
        }
    }

    fn string(&mut self) -> String {
        let pick = self.below(POOL.len() * 2);
        match POOL.get(pick) {
            Some(s) => (*s).to_owned(),
            None => {
                let len = self.below(24);
                String::from_utf8_lossy(&self.bytes(len)).into_owned()
            }
        }
    }
}

/// A value that fits `schema` (our contracts are not recursive, so it is finite).
pub fn value(schema: &Schema, names: &Names<'_>, choices: &mut Choices<'_>) -> Value {
    match schema {
        Schema::Null => Value::Null,
        Schema::Boolean => Value::Boolean(choices.byte() % 2 == 1),
        Schema::Int => Value::Int(i32::from(choices.byte()) - 64),
        Schema::Long => Value::Long(choices.long()),
        Schema::TimestampMillis => Value::TimestampMillis(choices.long()),
        Schema::String => Value::String(choices.string()),
        Schema::Uuid(UuidSchema::String) => Value::Uuid(uuid::Uuid::from_bytes(
            choices.bytes(16).try_into().unwrap_or_default(),
        )),
        Schema::Union(union) => {
            let index = choices.below(union.variants().len());
            let inner = value(&union.variants()[index], names, choices);
            Value::Union(u32::try_from(index).unwrap_or_default(), Box::new(inner))
        }
        Schema::Record(record) => Value::Record(
            record
                .fields
                .iter()
                .map(|f| (f.name.clone(), value(&f.schema, names, choices)))
                .collect(),
        ),
        Schema::Array(array) => {
            let len = choices.below(4);
            Value::Array(
                (0..len)
                    .map(|_| value(&array.items, names, choices))
                    .collect(),
            )
        }
        Schema::Ref { name } => value(names.get(name).expect("a named type"), names, choices),
        other => panic!("the contracts use no {other:?}: teach the generator"),
    }
}
