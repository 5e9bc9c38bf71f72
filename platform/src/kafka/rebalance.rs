//! The context of every group consumer: what the group takes away and gives, for the loop to
//! act on between batches (librdkafka calls these callbacks from inside a poll, where the loop
//! cannot drop state or seek), readiness once partitions are assigned, and, when asked for, a
//! count of rebalances and the consumer lag from librdkafka's statistics.

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
    from: LagFrom,
    name: &'static str,
    help: &'static str,
}

/// Where a partition's lag is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LagFrom {
    /// The group's committed offset, to the partition's end (librdkafka's `consumer_lag`): right
    /// for a consumer that commits to the group itself.
    Committed,
    /// The next record the application takes (the committed offset before the first), to the
    /// high watermark: for a consumer whose offsets a transactional producer commits, which
    /// librdkafka's statistics never see — their committed offset stays where the assignment
    /// found it, and `consumer_lag` would only grow. The high watermark is the end for a topic
    /// written without transactions.
    Read,
}

impl LagFrom {
    fn lag(self, p: &rdkafka::statistics::Partition) -> Option<i64> {
        match self {
            Self::Committed => (p.consumer_lag >= 0).then_some(p.consumer_lag),
            Self::Read => {
                let read = p.app_offset.max(p.committed_offset);
                (p.hi_offset >= 0 && read >= 0).then(|| (p.hi_offset - read).max(0))
            }
        }
    }
}

/// The counter of rebalances, by consumer and kind (assign, revoke, error).
const REBALANCES: &str = "balados_kafka_rebalances_total";
const REBALANCES_HELP: &str = "Consumer group rebalances seen by this instance, by consumer and kind (assign, revoke, error).";

#[derive(Debug)]
pub struct GroupContext {
    /// The readiness component, also the name in logs.
    component: &'static str,
    revoked: Mutex<Vec<i32>>,
    assigned: Mutex<Option<Vec<i32>>>,
    readiness: Readiness,
    lag: Option<LagMetric>,
    rebalances: Option<Metrics>,
    /// The consumer says itself when it is ready (after restoring what it was assigned).
    ready_when_told: bool,
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
            rebalances: None,
            ready_when_told: false,
        }
    }

    /// Leaves readiness to the consumer: an assignment makes it not ready until the consumer,
    /// having restored what it was given, says so.
    pub fn ready_when_told(mut self) -> Self {
        self.ready_when_told = true;
        self
    }

    /// Reports the consumer lag per partition, counted `from`, as the gauge `name`.
    pub fn with_lag_metric(
        mut self,
        metrics: Metrics,
        from: LagFrom,
        name: &'static str,
        help: &'static str,
    ) -> Self {
        self.lag = Some(LagMetric {
            metrics,
            from,
            name,
            help,
        });
        self
    }

    /// Counts rebalances in `balados_kafka_rebalances_total{consumer, kind}`, `consumer` being
    /// the component's name.
    pub fn with_rebalance_metric(mut self, metrics: Metrics) -> Self {
        self.rebalances = Some(metrics);
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
    /// Consumer lag per partition, from librdkafka's offsets (see [`LagFrom`]).
    fn stats(&self, statistics: rdkafka::Statistics) {
        let Some(lag) = &self.lag else { return };
        for topic in statistics.topics.values() {
            for (partition, stats) in &topic.partitions {
                // A partition no longer assigned stays in the statistics, not desired.
                if *partition < 0 || !stats.desired {
                    continue;
                }
                if let Some(value) = lag.from.lag(stats) {
                    lag.metrics.set(
                        lag.name,
                        lag.help,
                        &[("partition", &partition.to_string())],
                        value as f64,
                    );
                }
            }
        }
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            if let Ok(mut revoked) = self.revoked.lock() {
                revoked.extend(tpl.elements().iter().map(|e| e.partition()));
            }
            // The new owner reports these partitions' lag: ours would stay at its last value.
            if let Some(lag) = &self.lag {
                for element in tpl.elements() {
                    let partition = element.partition().to_string();
                    lag.metrics.remove(lag.name, &[("partition", &partition)]);
                }
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Some(metrics) = &self.rebalances {
            let kind = match rebalance {
                Rebalance::Assign(_) => "assign",
                Rebalance::Revoke(_) => "revoke",
                Rebalance::Error(_) => "error",
            };
            metrics.add(
                REBALANCES,
                REBALANCES_HELP,
                &[("consumer", self.component), ("kind", kind)],
                1.0,
            );
        }
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(
                kafka.partitions = tpl.count(),
                "{} partitions assigned",
                self.component
            );
            if let Ok(mut assigned) = self.assigned.lock() {
                *assigned = Some(tpl.elements().iter().map(|e| e.partition()).collect());
            }
            self.readiness.set(self.component, !self.ready_when_told);
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

    #[test]
    fn a_consumer_that_restores_first_is_ready_only_when_it_says_so() {
        let readiness = Readiness::default();
        readiness.register("tested");
        let consumer: BaseConsumer<GroupContext> = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("group.id", "rebalance-test")
            .create_with_context(GroupContext::new("tested", readiness.clone()).ready_when_told())
            .expect("consumer");
        let context = consumer.context();
        readiness.set("tested", true);
        context.post_rebalance(&consumer, &Rebalance::Assign(&partitions(&[0])));
        assert_eq!(
            readiness.waiting_for(),
            ["tested"],
            "not ready until restored"
        );
        readiness.set("tested", true);
        assert!(readiness.waiting_for().is_empty());
    }

    #[test]
    fn rebalances_are_counted_by_consumer_and_kind() {
        let metrics = Metrics::default();
        let consumer: BaseConsumer<GroupContext> = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("group.id", "rebalance-test")
            .create_with_context(
                GroupContext::new("tested", Readiness::default())
                    .with_rebalance_metric(metrics.clone()),
            )
            .expect("consumer");
        let context = consumer.context();
        context.post_rebalance(&consumer, &Rebalance::Assign(&partitions(&[0])));
        context.post_rebalance(&consumer, &Rebalance::Revoke(&partitions(&[0])));
        context.post_rebalance(&consumer, &Rebalance::Assign(&partitions(&[0, 1])));
        let text = metrics.render();
        assert!(
            text.contains(
                "balados_kafka_rebalances_total{consumer=\"tested\",kind=\"assign\"} 2\n"
            ) && text.contains(
                "balados_kafka_rebalances_total{consumer=\"tested\",kind=\"revoke\"} 1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn lag_from_reading_ignores_a_committed_offset_the_consumer_never_saw_move() {
        let stats = rdkafka::statistics::Partition {
            hi_offset: 100,
            app_offset: 90,
            // Fetched at assignment; a transactional producer has committed far beyond since.
            committed_offset: 10,
            consumer_lag: 90,
            ..Default::default()
        };
        assert_eq!(LagFrom::Read.lag(&stats), Some(10));
        assert_eq!(LagFrom::Committed.lag(&stats), Some(90));
        let before_the_first_record = rdkafka::statistics::Partition {
            app_offset: -1001,
            ..stats.clone()
        };
        assert_eq!(LagFrom::Read.lag(&before_the_first_record), Some(90));
        let unknown = rdkafka::statistics::Partition {
            app_offset: -1001,
            committed_offset: -1001,
            consumer_lag: -1,
            ..stats
        };
        assert_eq!(LagFrom::Read.lag(&unknown), None);
        assert_eq!(LagFrom::Committed.lag(&unknown), None);
    }

    #[test]
    fn a_partition_has_a_lag_gauge_only_while_it_is_assigned() {
        let metrics = Metrics::default();
        let consumer: BaseConsumer<GroupContext> = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("group.id", "rebalance-test")
            .create_with_context(
                GroupContext::new("tested", Readiness::default()).with_lag_metric(
                    metrics.clone(),
                    LagFrom::Committed,
                    "lag",
                    "Lag.",
                ),
            )
            .expect("consumer");
        let context = consumer.context();
        let partition = |desired, consumer_lag| rdkafka::statistics::Partition {
            desired,
            consumer_lag,
            ..Default::default()
        };
        let mut topic = rdkafka::statistics::Topic::default();
        topic.partitions.insert(0, partition(true, 7));
        topic.partitions.insert(1, partition(false, 9));
        topic.partitions.insert(-1, partition(false, 3));
        let mut statistics = rdkafka::Statistics::default();
        statistics.topics.insert("t".into(), topic);
        context.stats(statistics.clone());
        let text = metrics.render();
        assert!(text.contains("lag{partition=\"0\"} 7\n"), "{text}");
        assert!(
            !text.contains("partition=\"1\"") && !text.contains("partition=\"-1\""),
            "{text}"
        );
        context.pre_rebalance(&consumer, &Rebalance::Revoke(&partitions(&[0])));
        assert!(!metrics.render().contains("lag{"), "{}", metrics.render());
    }
}
