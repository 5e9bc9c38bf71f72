//! Producing commands: acks=all (idempotent where the broker can be trusted with it), keyed by user id so that one user's
//! commands stay in order in one partition.

use balados_platform::producer::RenewableProducer;
use balados_platform::retirement;
use balados_platform::settings::KafkaSettings;
use balados_schemas::{Codec, CodecError, CommandEnvelope, Contract};
use rdkafka::producer::FutureRecord;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("encoding the command: {0}")]
    Encode(#[from] CodecError),
    #[error("the broker did not acknowledge the command: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("the topics were retired by a partition growth; their successor is {successor}")]
    Retired { successor: String },
    #[error("whether the topics are retired could not be read lately (PostgreSQL unreachable)")]
    RetirementUnknown,
}

/// Where the ingest writes its commands: the broker ([`CommandProducer`]), or anything that keeps
/// them (the HTTP layer's tests, in process). `Ok` means durably accepted.
pub trait CommandSink: Send + Sync + std::fmt::Debug {
    fn send<'a>(
        &'a self,
        command: &'a CommandEnvelope,
    ) -> futures::future::BoxFuture<'a, Result<(), ProduceError>>;
}

impl CommandSink for CommandProducer {
    fn send<'a>(
        &'a self,
        command: &'a CommandEnvelope,
    ) -> futures::future::BoxFuture<'a, Result<(), ProduceError>> {
        Box::pin(CommandProducer::send(self, command))
    }
}

#[derive(Clone)]
pub struct CommandProducer {
    producer: Arc<RenewableProducer>,
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
        let mut config = balados_platform::kafka::producer_config(kafka, "balados-ingest");
        config.set(
            "message.timeout.ms",
            retirement::COMMAND_DELIVERY_TIMEOUT.as_millis().to_string(),
        );
        Ok(Self {
            producer: Arc::new(RenewableProducer::new(config)?),
            codec,
            topic,
        })
    }

    /// Produces the command and waits for the broker's acknowledgement. A producer left in a
    /// fatal state by the failure is replaced, so that the client's retry goes through.
    pub async fn send(&self, command: &CommandEnvelope) -> Result<(), ProduceError> {
        let bytes = self.codec.encode(Contract::Command, command.to_avro())?;
        let record = FutureRecord::to(&self.topic)
            .key(command.user_id.as_str())
            .payload(&bytes);
        let producer = self.producer.get();
        let sent = producer.send(record, retirement::COMMAND_QUEUE_WAIT).await;
        if let Err((e, _)) = sent {
            self.producer.renew_if_fatal(&producer);
            return Err(e.into());
        }
        Ok(())
    }
}
