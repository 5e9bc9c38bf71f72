//! The topic catalogue (README, "Topics"): names derived from a configurable prefix, with the
//! partition counts and configs the admin command creates.

/// One topic the project owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub configs: Vec<(&'static str, String)>,
}

/// Topic names for one deployment (or one test run), from a prefix such as `balados`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub commands: String,
    pub events: String,
    pub user_state: String,
    pub command_results: String,
    pub public_events: String,
    pub dead_letters: String,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

impl Topics {
    pub fn new(prefix: &str) -> Self {
        let name = |suffix: &str| format!("{prefix}.{suffix}");
        Self {
            commands: name("commands.v1"),
            events: name("events.v1"),
            user_state: name("user-state.v1"),
            command_results: name("command-results.v1"),
            public_events: name("public-events.v1"),
            dead_letters: name("dead-letters.v1"),
        }
    }

    /// Every topic with its partition count and configs. `commands`, `events` and `user-state`
    /// share `partitions` because they are co-partitioned by user id.
    pub fn specs(&self, partitions: i32) -> Vec<TopicSpec> {
        let delete = |retention_ms: i64| {
            vec![
                ("cleanup.policy", "delete".to_owned()),
                ("retention.ms", retention_ms.to_string()),
            ]
        };
        let compact = || vec![("cleanup.policy", "compact".to_owned())];
        let spec = |name: &String, partitions: i32, configs| TopicSpec {
            name: name.clone(),
            partitions,
            configs,
        };
        vec![
            spec(&self.commands, partitions, delete(7 * DAY_MS)),
            spec(&self.events, partitions, delete(45 * DAY_MS)),
            spec(&self.user_state, partitions, compact()),
            spec(&self.command_results, partitions, delete(3600 * 1000)),
            spec(&self.public_events, partitions, compact()),
            spec(&self.dead_letters, 1, delete(30 * DAY_MS)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn co_partitioned_topics_share_the_partition_count() {
        let topics = Topics::new("t1");
        let specs = topics.specs(12);
        for name in [&topics.commands, &topics.events, &topics.user_state] {
            let spec = specs.iter().find(|s| &s.name == name).expect("listed");
            assert_eq!(spec.partitions, 12, "{name}");
        }
        assert_eq!(topics.events, "t1.events.v1");
    }

    #[test]
    fn events_are_retained_45_days_and_state_is_compacted() {
        let topics = Topics::new("balados");
        let specs = topics.specs(6);
        let config = |name: &str, key: &str| {
            let spec = specs.iter().find(|s| s.name == name).expect("listed");
            spec.configs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            config(&topics.events, "retention.ms").as_deref(),
            Some("3888000000")
        );
        assert_eq!(
            config(&topics.user_state, "cleanup.policy").as_deref(),
            Some("compact")
        );
    }
}
