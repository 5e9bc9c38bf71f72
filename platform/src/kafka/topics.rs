//! Topic administration: create idempotently, verify partition counts.

use super::client_config;
use crate::settings::KafkaSettings;
use balados_schemas::topics::TopicSpec;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("Kafka admin client: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("could not create topic {topic}: {reason}")]
    Create { topic: String, reason: String },
    #[error(
        "topic {topic} exists with {actual} partitions but {expected} are required \
         (commands, events and user-state must be co-partitioned); fix it with the partition-growth admin operation"
    )]
    PartitionMismatch {
        topic: String,
        expected: i32,
        actual: i32,
    },
}

impl TopicError {
    /// Whether asking again later may succeed: the broker was slow, restarting or unreachable, as
    /// opposed to a refusal or a partition count that only an operator can fix.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Client(_) => true,
            Self::Create { reason, .. } => TRANSIENT_CREATE_ERRORS
                .iter()
                .any(|code| *reason == code.to_string()),
            // No partitions at all: the metadata of a topic just created has not spread yet.
            Self::PartitionMismatch { actual, .. } => *actual == 0,
        }
    }
}

const TRANSIENT_CREATE_ERRORS: [RDKafkaErrorCode; 6] = [
    RDKafkaErrorCode::RequestTimedOut,
    RDKafkaErrorCode::NotController,
    RDKafkaErrorCode::NetworkException,
    RDKafkaErrorCode::BrokerNotAvailable,
    RDKafkaErrorCode::LeaderNotAvailable,
    RDKafkaErrorCode::CoordinatorLoadInProgress,
];

/// Creates the topics that do not exist and checks the partition count of those that do.
pub async fn ensure_topics(
    settings: &KafkaSettings,
    specs: &[TopicSpec],
) -> Result<(), TopicError> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(settings, "balados-admin").create()?;
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|spec| {
            spec.configs.iter().fold(
                NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(-1)),
                |topic, (k, v)| topic.set(k, v),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(name) => tracing::info!(kafka.topic = %name, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(TopicError::Create {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    verify_partitions(settings, specs).await
}

async fn verify_partitions(
    settings: &KafkaSettings,
    specs: &[TopicSpec],
) -> Result<(), TopicError> {
    // Metadata of a just-created topic can lag behind; ask a few times before judging.
    let mut last_error = None;
    for _ in 0..20 {
        let s = settings.clone();
        let names: Vec<String> = specs.iter().map(|t| t.name.clone()).collect();
        let counts = tokio::task::spawn_blocking(move || partition_counts(&s, &names))
            .await
            .map_err(|e| TopicError::Create {
                topic: "*".into(),
                reason: e.to_string(),
            })??;
        last_error = None;
        for (spec, actual) in specs.iter().zip(counts) {
            if actual != spec.partitions {
                last_error = Some(TopicError::PartitionMismatch {
                    topic: spec.name.clone(),
                    expected: spec.partitions,
                    actual,
                });
            }
        }
        match &last_error {
            None => return Ok(()),
            Some(TopicError::PartitionMismatch { actual, .. }) if *actual > 0 => break,
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    last_error.map_or(Ok(()), Err)
}

fn partition_counts(settings: &KafkaSettings, names: &[String]) -> Result<Vec<i32>, TopicError> {
    let consumer: BaseConsumer = client_config(settings, "balados-admin").create()?;
    let mut counts = Vec::with_capacity(names.len());
    for name in names {
        let metadata = consumer.fetch_metadata(Some(name), Duration::from_secs(10))?;
        let partitions = metadata
            .topics()
            .first()
            .map_or(0, |t| t.partitions().len());
        counts.push(i32::try_from(partitions).unwrap_or(i32::MAX));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_broker_is_waited_for_and_a_refusal_or_a_wrong_count_is_not() {
        let timeout = rdkafka::error::KafkaError::AdminOp(RDKafkaErrorCode::OperationTimedOut);
        assert!(TopicError::Client(timeout).is_transient());
        let create = |code: RDKafkaErrorCode| TopicError::Create {
            topic: "t".into(),
            reason: code.to_string(),
        };
        assert!(create(RDKafkaErrorCode::RequestTimedOut).is_transient());
        assert!(!create(RDKafkaErrorCode::TopicAuthorizationFailed).is_transient());
        assert!(!create(RDKafkaErrorCode::InvalidReplicationFactor).is_transient());
        let mismatch = |actual| TopicError::PartitionMismatch {
            topic: "t".into(),
            expected: 6,
            actual,
        };
        assert!(!mismatch(3).is_transient());
        assert!(mismatch(0).is_transient());
    }
}
