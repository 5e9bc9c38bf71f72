//! The context of every group consumer: what the group takes away and gives, for the loop to
//! act on between batches (librdkafka calls these callbacks from inside a poll, where the loop
//! cannot drop state or seek), readiness once partitions are assigned, and, when asked for, the
//! consumer lag from librdkafka's statistics.

use crate::metrics::Metrics;
use crate::readiness::Readiness;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use std::sync::Mutex;

/// A gauge per assigned partition, from librdkafka's periodic statistics (no request of ours to
/// the broker); they come only with `statistics.interval.ms` set on the consumer.
#[derive(Debug)]
struct LagMetric {
    metrics: Metrics,
    name: &'static str,
    help: &'static str,
}

#[derive(Debug)]
pub struct GroupContext {
    /// The readiness component, also the name in logs.
    component: &'static str,
    revoked: Mutex<Vec<i32>>,
    assigned: Mutex<Option<Vec<i32>>>,
    readiness: Readiness,
    lag: Option<LagMetric>,
}

impl GroupContext {
    /// `component` is ready once the group has given this instance its partitions.
    pub fn new(component: &'static str, readiness: Readiness) -> Self {
        Self {
            component,
            revoked: Mutex::default(),
            assigned: Mutex::default(),
            readiness,
            lag: None,
        }
    }

    /// Reports the consumer lag per partition as the gauge `name`.
    pub fn with_lag_metric(
        mut self,
        metrics: Metrics,
        name: &'static str,
        help: &'static str,
    ) -> Self {
        self.lag = Some(LagMetric {
            metrics,
            name,
            help,
        });
        self
    }

    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// The partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<i32> {
        self.revoked
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }

    /// The partitions of the last assignment, once.
    pub fn take_assigned(&self) -> Option<Vec<i32>> {
        self.assigned.lock().ok().and_then(|mut a| a.take())
    }
}

impl ClientContext for GroupContext {
    /// Consumer lag per partition, as librdkafka computes it (high watermark minus position).
    fn stats(&self, statistics: rdkafka::Statistics) {
        let Some(lag) = &self.lag else { return };
        for topic in statistics.topics.values() {
            for (partition, stats) in &topic.partitions {
                if *partition >= 0 && stats.consumer_lag >= 0 {
                    lag.metrics.set(
                        lag.name,
                        lag.help,
                        &[("partition", &partition.to_string())],
                        stats.consumer_lag as f64,
                    );
                }
            }
        }
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance
            && let Ok(mut revoked) = self.revoked.lock()
        {
            revoked.extend(tpl.elements().iter().map(|e| e.partition()));
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(
                kafka.partitions = tpl.count(),
                "{} partitions assigned",
                self.component
            );
            if let Ok(mut assigned) = self.assigned.lock() {
                *assigned = Some(tpl.elements().iter().map(|e| e.partition()).collect());
            }
            self.readiness.set(self.component, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::consumer::Consumer as _;
    use rdkafka::{ClientConfig, TopicPartitionList};

    fn consumer(readiness: &Readiness) -> BaseConsumer<GroupContext> {
        // No broker is needed: the callbacks are called directly.
        ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("group.id", "rebalance-test")
            .create_with_context(GroupContext::new("tested", readiness.clone()))
            .expect("consumer")
    }

    fn partitions(list: &[i32]) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for p in list {
            tpl.add_partition("t", *p);
        }
        tpl
    }

    #[test]
    fn revocations_accumulate_until_taken_and_an_assignment_is_taken_once() {
        let readiness = Readiness::default();
        readiness.register("tested");
        let consumer = consumer(&readiness);
        let context = consumer.context();
        context.pre_rebalance(&consumer, &Rebalance::Revoke(&partitions(&[0, 1])));
        context.pre_rebalance(&consumer, &Rebalance::Revoke(&partitions(&[2])));
        assert_eq!(context.take_revoked(), [0, 1, 2]);
        assert!(context.take_revoked().is_empty());
        assert_eq!(readiness.waiting_for(), ["tested"]);
        context.post_rebalance(&consumer, &Rebalance::Assign(&partitions(&[1, 2])));
        assert_eq!(context.take_assigned(), Some(vec![1, 2]));
        assert_eq!(context.take_assigned(), None);
        assert!(readiness.waiting_for().is_empty(), "ready once assigned");
    }
}
