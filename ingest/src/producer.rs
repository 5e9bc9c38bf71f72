//! Producing commands: idempotent producer, acks=all, keyed by user id so that one user's
//! commands stay in order in one partition.

use balados_platform::settings::KafkaSettings;
use balados_schemas::{Codec, CodecError, CommandEnvelope, Contract};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("encoding the command: {0}")]
    Encode(#[from] CodecError),
    #[error("the broker did not acknowledge the command: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

#[derive(Clone)]
pub struct CommandProducer {
    producer: FutureProducer,
    codec: Codec,
    topic: String,
}

impl std::fmt::Debug for CommandProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandProducer")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl CommandProducer {
    pub fn new(
        kafka: &KafkaSettings,
        codec: Codec,
        topic: String,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let producer = balados_platform::kafka::client_config(kafka, "balados-ingest")
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "15000")
            .create()?;
        Ok(Self {
            producer,
            codec,
            topic,
        })
    }

    /// Produces the command and waits for the broker's acknowledgement.
    pub async fn send(&self, command: &CommandEnvelope) -> Result<(), ProduceError> {
        let bytes = self.codec.encode(Contract::Command, command.to_avro())?;
        let record = FutureRecord::to(&self.topic)
            .key(command.user_id.as_str())
            .payload(&bytes);
        self.producer
            .send(record, Duration::from_secs(15))
            .await
            .map_err(|(e, _)| e)?;
        Ok(())
    }
}
