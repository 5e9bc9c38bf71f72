//! Encoding and decoding of the contracts in the Confluent wire format, with the writer's schema
//! fetched from the registry by id (cached) and resolved against the reader's schema.

use crate::binary::Names;
use crate::registry_client::{RegistryClient, RegistryError, SchemaStep};
use crate::topics::Topics;
use crate::wire::{self, WireError};
use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::ResolvedSchema;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// One of the Avro contracts in `schemas/avro/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contract {
    Command,
    Event,
    UserState,
    CommandResult,
    PublicEvent,
}

impl Contract {
    pub const ALL: [Contract; 5] = [
        Self::Command,
        Self::Event,
        Self::UserState,
        Self::CommandResult,
        Self::PublicEvent,
    ];

    /// The `.avsc` text, as released.
    pub fn schema_text(self) -> &'static str {
        match self {
            Self::Command => include_str!("../avro/command.avsc"),
            Self::Event => include_str!("../avro/event.avsc"),
            Self::UserState => include_str!("../avro/user-state.avsc"),
            Self::CommandResult => include_str!("../avro/command-result.avsc"),
            Self::PublicEvent => include_str!("../avro/public-event.avsc"),
        }
    }

    /// Topic-name strategy: `{topic}-value`.
    pub fn subject(self, topics: &Topics) -> String {
        let topic = match self {
            Self::Command => &topics.commands,
            Self::Event => &topics.events,
            Self::UserState => &topics.user_state,
            Self::CommandResult => &topics.command_results,
            Self::PublicEvent => &topics.public_events,
        };
        format!("{topic}-value")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("writer schema id {0} is not known yet")]
    UnknownSchema(u32),
    #[error("contract {0:?} has no registered writer id in this codec")]
    NotRegistered(Contract),
    #[error("Avro error: {0}")]
    Avro(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The registry refused or failed one of our own schemas at start-up; the subject says which,
    /// so that the refusal can be explained and repaired (not a `source`: the message holds it).
    #[error("{step} the {contract:?} schema under subject {subject}: {error}")]
    Registration {
        contract: Contract,
        subject: String,
        step: SchemaStep,
        error: RegistryError,
    },
}

/// A schema with its named types and datum reader built once: building them resolves every name
/// of the schema, which cost more than the encoding itself when done per record.
struct Compiled {
    /// Leaked on purpose, so that the writer and reader can borrow it for the process's life: a
    /// process holds a handful of schemas (one per contract and per writer version it meets).
    schema: &'static Schema,
    names: Names<'static>,
    reader: GenericDatumReader<'static>,
    /// Parsing Canonical Form: equal forms mean the same binary layout.
    canonical: String,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("canonical", &self.canonical)
            .finish_non_exhaustive()
    }
}

impl Compiled {
    fn new(schema: Schema) -> Result<Self, CodecError> {
        let schema: &'static Schema = Box::leak(Box::new(schema));
        let avro = |e: apache_avro::Error| CodecError::Avro(e.to_string());
        let names = ResolvedSchema::try_from(schema)
            .map_err(avro)?
            .get_names()
            .clone();
        Ok(Self {
            names,
            reader: GenericDatumReader::builder(schema).build().map_err(avro)?,
            canonical: schema.canonical_form(),
            schema,
        })
    }

    fn read(&self, datum: &mut &[u8]) -> Result<Value, CodecError> {
        // The datum comes from a topic: its lengths are checked against its size before
        // apache-avro allocates what they claim.
        crate::binary::check_bounded(datum, self.schema, &self.names).map_err(CodecError::Avro)?;
        self.reader
            .read_value(datum)
            .map_err(|e| CodecError::Avro(e.to_string()))
    }
}

#[derive(Debug)]
struct ReaderSchema {
    compiled: Compiled,
    writer_id: Option<u32>,
}

type WriterSchema = Compiled;

/// Cheap to clone; shared by all tasks of a process.
#[derive(Debug, Clone)]
pub struct Codec {
    client: RegistryClient,
    readers: Arc<HashMap<Contract, ReaderSchema>>,
    writers: Arc<RwLock<HashMap<u32, Arc<WriterSchema>>>>,
}

impl Codec {
    /// Parses every contract and obtains a writer id for each of `writes` — registering it when
    /// `auto_register`, else looking it up (the registry must already hold it).
    pub async fn connect(
        client: RegistryClient,
        topics: &Topics,
        writes: &[Contract],
        auto_register: bool,
    ) -> Result<Self, CodecError> {
        let mut readers = HashMap::new();
        for contract in Contract::ALL {
            let text = contract.schema_text();
            let schema = Schema::parse_str(text).map_err(|e| CodecError::Avro(e.to_string()))?;
            let writer_id = if writes.contains(&contract) {
                let subject = contract.subject(topics);
                let (step, answer) = if auto_register {
                    (SchemaStep::Register, client.register(&subject, text).await)
                } else {
                    (SchemaStep::Lookup, client.lookup(&subject, text).await)
                };
                Some(answer.map_err(|error| CodecError::Registration {
                    contract,
                    subject,
                    step,
                    error,
                })?)
            } else {
                None
            };
            readers.insert(
                contract,
                ReaderSchema {
                    compiled: Compiled::new(schema)?,
                    writer_id,
                },
            );
        }
        Ok(Self {
            client,
            readers: Arc::new(readers),
            writers: Arc::default(),
        })
    }

    fn reader(&self, contract: Contract) -> &ReaderSchema {
        // Every contract is inserted by `connect`.
        &self.readers[&contract]
    }

    pub fn encode(&self, contract: Contract, value: Value) -> Result<Vec<u8>, CodecError> {
        let reader = self.reader(contract);
        let id = reader
            .writer_id
            .ok_or(CodecError::NotRegistered(contract))?;
        let compiled = &reader.compiled;
        let mut framed = wire::frame(id, &[]);
        crate::binary::encode(&value, compiled.schema, &compiled.names, &mut framed)
            .map_err(CodecError::Avro)?;
        Ok(framed)
    }

    /// Decodes without I/O; `UnknownSchema` means [`Codec::fetch_schema`] must run first.
    pub fn decode_cached(&self, contract: Contract, bytes: &[u8]) -> Result<Value, CodecError> {
        let (id, mut datum) = wire::unframe(bytes)?;
        let ReaderSchema {
            compiled: reader,
            writer_id,
        } = self.reader(contract);
        if *writer_id == Some(id) {
            return reader.read(&mut datum);
        }
        let writer = self
            .cached_writer(id)
            .ok_or(CodecError::UnknownSchema(id))?;
        if writer.canonical == reader.canonical {
            return reader.read(&mut datum);
        }
        // Another version: read as written, then resolve by name (see `resolve`).
        let written = writer.read(&mut datum)?;
        crate::resolve::resolve(written, writer.schema, reader.schema).map_err(CodecError::Avro)
    }

    pub async fn decode(&self, contract: Contract, bytes: &[u8]) -> Result<Value, CodecError> {
        match self.decode_cached(contract, bytes) {
            Err(CodecError::UnknownSchema(id)) => {
                self.fetch_schema(id).await?;
                self.decode_cached(contract, bytes)
            }
            other => other,
        }
    }

    fn cached_writer(&self, id: u32) -> Option<Arc<WriterSchema>> {
        self.writers.read().ok()?.get(&id).cloned()
    }

    /// Fetches and caches the writer schema with this id.
    pub async fn fetch_schema(&self, id: u32) -> Result<(), CodecError> {
        if self.cached_writer(id).is_some() {
            return Ok(());
        }
        let text = self.client.schema_by_id(id).await?;
        let schema =
            Schema::parse_str(&text).map_err(|e| CodecError::Avro(format!("schema {id}: {e}")))?;
        let compiled = Arc::new(Compiled::new(schema)?);
        if let Ok(mut writers) = self.writers.write() {
            // A concurrent fetch of the same id may win: the loser's schema stays leaked, bounded
            // by the number of concurrent first decodes.
            writers.entry(id).or_insert(compiled);
        }
        Ok(())
    }
}

/// Avro binary encoding of `value` (validated against `schema`).
pub fn write_datum(schema: &Schema, value: Value) -> Result<Vec<u8>, CodecError> {
    GenericDatumWriter::builder(schema)
        .build()
        .and_then(|w| w.write_value_to_vec(value))
        .map_err(|e| CodecError::Avro(e.to_string()))
}

/// Decodes a datum written with `writer`, resolved to `reader` when given; bounded as
/// [`Codec::decode`] is.
pub fn read_datum(
    writer: &Schema,
    reader: Option<&Schema>,
    datum: &mut &[u8],
) -> Result<Value, CodecError> {
    let avro = |e: apache_avro::Error| CodecError::Avro(e.to_string());
    let resolved = ResolvedSchema::try_from(writer).map_err(avro)?;
    crate::binary::check_bounded(datum, writer, resolved.get_names()).map_err(CodecError::Avro)?;
    GenericDatumReader::builder(writer)
        .maybe_reader_schema(reader)
        .build()
        .and_then(|r| r.read_value(datum))
        .map_err(avro)
}
