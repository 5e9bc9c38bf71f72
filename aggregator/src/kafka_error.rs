//! How a Kafka error is handled, following librdkafka's own classification.

use rdkafka::error::KafkaError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try the same call again.
    Retriable,
    /// Abort the transaction and replay from the last committed offsets.
    Abort,
    /// The producer is unusable (e.g. fenced): recreate it, then replay.
    Fatal,
}

pub fn classify(error: &KafkaError) -> ErrorClass {
    match error {
        KafkaError::Transaction(e) if e.is_fatal() => ErrorClass::Fatal,
        KafkaError::Transaction(e) if e.txn_requires_abort() => ErrorClass::Abort,
        KafkaError::Transaction(e) if e.is_retriable() => ErrorClass::Retriable,
        // Anything else inside a transaction (a failed delivery, a timeout) leaves it in doubt:
        // abort and replay, which is always safe because decisions are deterministic.
        _ => ErrorClass::Abort,
    }
}
