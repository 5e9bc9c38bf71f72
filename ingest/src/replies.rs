//! Outcomes for clients that wait (`Prefer: wait=N`).
//!
//! Delivery guarantee: best effort, by design. Each ingest instance reads only its own partition
//! of `command-results` (its reply address names it), from the end (found by producing a marker
//! record there), without a consumer group and without committing offsets, and keeps only records keyed by its address; an outcome that
//! arrives after the client stopped waiting is dropped (the client has its 202 and command id).

use balados_platform::settings::KafkaSettings;
use balados_schemas::{Codec, CommandResult, Contract, ReplyTo};
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use uuid::Uuid;

type Waiters = Arc<Mutex<HashMap<Uuid, oneshot::Sender<CommandResult>>>>;

#[derive(Debug, Clone)]
pub struct Replies {
    address: String,
    waiters: Waiters,
}

/// A registered wait; dropping it unregisters.
#[derive(Debug)]
pub struct Waiter {
    id: Uuid,
    waiters: Waiters,
    receiver: Option<oneshot::Receiver<CommandResult>>,
}

impl Waiter {
    /// The outcome, or `None` after `wait`.
    pub async fn outcome(mut self, wait: Duration) -> Option<CommandResult> {
        let receiver = self.receiver.take()?;
        tokio::time::timeout(wait, receiver).await.ok()?.ok()
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.remove(&self.id);
        }
    }
}

/// A stable partition for an instance name (FNV-1a; any stable hash does, the address says it).
fn partition_for(instance: &str, partitions: i32) -> i32 {
    let hash = instance.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i32::try_from(hash % u64::try_from(partitions.max(1)).unwrap_or(1)).unwrap_or(0)
}

impl Replies {
    /// Starts listening on this instance's partition of `topic`.
    pub async fn start(
        kafka: &KafkaSettings,
        topic: &str,
        codec: Codec,
        instance: String,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let mut config = balados_platform::kafka::client_config(kafka, "balados-ingest-replies");
        config
            .set("group.id", format!("{topic}-ingest"))
            .set("enable.auto.commit", "false")
            .set(
                "isolation.level",
                balados_platform::kafka::isolation_level(kafka),
            )
            .set("fetch.wait.max.ms", kafka.fetch_wait_max_ms.to_string());
        let consumer: StreamConsumer = config.create()?;
        let topic_name = topic.to_owned();
        let name = instance.clone();
        let (consumer, partition) =
            tokio::task::spawn_blocking(move || -> Result<_, rdkafka::error::KafkaError> {
                let metadata =
                    consumer.fetch_metadata(Some(&topic_name), Duration::from_secs(10))?;
                let count = metadata
                    .topics()
                    .first()
                    .map_or(1, |t| t.partitions().len());
                let partition = partition_for(&name, i32::try_from(count).unwrap_or(1));
                Ok((consumer, partition))
            })
            .await
            .map_err(|e| rdkafka::error::KafkaError::ClientCreation(e.to_string()))??;
        let address = ReplyTo {
            instance,
            partition,
        }
        .encode();
        // Start where a record produced now lands: the end, whatever the broker says its high
        // watermark is (tansu answers the start of its last batch + 1, which re-read every old
        // reply of the partition before the first new one). The record is empty, keyed by no
        // reply address: every reader skips it.
        let producer: FutureProducer =
            balados_platform::kafka::producer_config(kafka, "balados-ingest-replies").create()?;
        let start = producer
            .send(
                FutureRecord::<str, [u8]>::to(topic)
                    .partition(partition)
                    .key("__replies-start__"),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)?
            .offset;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(start + 1))?;
        consumer.assign(&tpl)?;
        let replies = Self::local(address.clone());
        let delivery = replies.clone();
        tokio::spawn(async move {
            loop {
                let message = match consumer.recv().await {
                    Ok(m) => m,
                    Err(e) => {
                        balados_platform::kafka::log_consumer_error("ingest-replies", &e);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                if message.key() != Some(address.as_bytes()) {
                    continue;
                }
                let Some(bytes) = message.payload() else {
                    continue;
                };
                let result = match codec
                    .decode(Contract::CommandResult, bytes)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|v| CommandResult::from_avro(v).map_err(|e| e.to_string()))
                {
                    Ok(result) => result,
                    Err(e) => {
                        tracing::warn!(error = %e, kafka.offset = message.offset(), "undecodable command result skipped");
                        continue;
                    }
                };
                delivery.deliver(result);
            }
        });
        Ok(replies)
    }

    /// Replies at `address` that nothing feeds but [`Replies::deliver`]: for a process without a
    /// broker, such as the HTTP layer's tests.
    pub fn local(address: String) -> Self {
        Self {
            address,
            waiters: Waiters::default(),
        }
    }

    /// Hands an outcome to whoever waits for it (nobody: dropped).
    pub fn deliver(&self, result: CommandResult) {
        let waiter = self
            .waiters
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&result.command_id));
        if let Some(sender) = waiter {
            let _ = sender.send(result);
        }
    }

    /// This instance's reply address, to put in commands.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Registers interest in `command_id`'s outcome; do it before producing the command.
    pub fn register(&self, command_id: Uuid) -> Waiter {
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.insert(command_id, sender);
        }
        Waiter {
            id: command_id,
            waiters: self.waiters.clone(),
            receiver: Some(receiver),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::partition_for;

    #[test]
    fn an_instance_keeps_its_partition_and_instances_spread() {
        assert_eq!(partition_for("a", 6), partition_for("a", 6));
        let used: std::collections::HashSet<i32> = (0..60)
            .map(|i| partition_for(&format!("ingest-{i}"), 6))
            .collect();
        assert!(used.len() > 3, "{used:?}");
        assert!(used.iter().all(|p| (0..6).contains(p)));
    }
}
