//! The commands of a batch as they come in: decoded, or set aside on the dead-letter topic.

use super::{BatchError, BatchWriter};
use crate::output::UNTRACKED;
use balados_platform::metrics::Counter;
use balados_schemas::{CodecError, CommandEnvelope, Contract};
use rdkafka::message::{Header, Message as _, OwnedHeaders, OwnedMessage};
use rdkafka::producer::BaseRecord;

pub(crate) const DEAD_LETTERS: Counter = Counter {
    name: "balados_aggregator_dead_letters_total",
    help: "Undecodable commands dead-lettered.",
};

impl BatchWriter {
    /// `Ok(Err(reason))`: the record is malformed (dead-letter it); `Err`: the registry could not
    /// be asked (retry the batch; a command is never dead-lettered for our own outage).
    pub(super) fn decode(
        &self,
        message: &OwnedMessage,
    ) -> Result<Result<CommandEnvelope, String>, BatchError> {
        let Some(bytes) = message.payload() else {
            return Ok(Err("empty value".into()));
        };
        let value = match self.codec.decode_cached(Contract::Command, bytes) {
            Err(CodecError::UnknownSchema(_)) => self
                .runtime
                .block_on(self.codec.decode(Contract::Command, bytes)),
            other => other,
        };
        match value {
            Ok(value) => Ok(CommandEnvelope::from_avro(value).map_err(|e| e.to_string())),
            Err(CodecError::Registry(e)) if e.is_transient() => {
                Err(BatchError::Codec(CodecError::Registry(e)))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    /// An undecodable command goes, untouched and with its reason, to the dead-letter topic;
    /// processing goes on.
    pub(super) fn dead_letter(
        &self,
        message: &OwnedMessage,
        reason: &str,
    ) -> Result<(), BatchError> {
        tracing::warn!(
            kafka.partition = message.partition(),
            kafka.offset = message.offset(),
            reason,
            "command dead-lettered"
        );
        self.metrics.count(DEAD_LETTERS, &[], 1.0);
        let source = format!(
            "{}/{}/{}",
            message.topic(),
            message.partition(),
            message.offset()
        );
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "balados.reason",
                value: Some(reason),
            })
            .insert(Header {
                key: "balados.source",
                value: Some(source.as_str()),
            });
        let mut record =
            BaseRecord::<[u8], [u8], usize>::with_opaque_to(&self.topics.dead_letters, UNTRACKED)
                .headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        Ok(self.output.send(record)?)
    }
}
