//! What a group has committed, and the rule that follows from it for every reader of
//! `user-state`: a state record written by a command the aggregator's group has not committed is
//! work of an aborted or unfinished transaction, and is skipped.

use crate::settings::KafkaSettings;
use balados_schemas::state::SOURCE_OFFSET_HEADER;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a committed-offset request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The rule of every reader of `user-state`: a record written by a command at or beyond the
/// committed offset of `commands` in its partition (`committed`) comes from work of an aborted or
/// unfinished transaction, which some brokers show even to read_committed consumers. It is
/// ignored: that command will be processed again, and write the same record. A record without a
/// source offset (a tombstone written by an older version, or by compaction tooling) is applied.
pub fn written_by_uncommitted_work(source_offset: Option<i64>, committed: i64) -> bool {
    source_offset.is_some_and(|source| source >= committed)
}

/// The source offset in a tombstone's headers, if it carries one.
pub fn source_offset_of(headers: &impl Headers) -> Option<i64> {
    headers
        .iter()
        .find(|h| h.key == SOURCE_OFFSET_HEADER)
        .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
}

/// The next offset to read a committed offset says, `None` when nothing is committed.
pub fn next_offset(committed: Offset) -> Option<i64> {
    committed.to_raw().filter(|o| *o >= 0)
}

/// The committed offsets of `consumer`'s group on `partitions` of `topic` (`None` where the group
/// has committed nothing).
pub fn committed_offsets<C: ConsumerContext, K: Consumer<C>>(
    consumer: &K,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, Option<i64>>, KafkaError> {
    let mut tpl = TopicPartitionList::new();
    for partition in partitions {
        tpl.add_partition(topic, *partition);
    }
    let committed = consumer.committed_offsets(tpl, REQUEST_TIMEOUT)?;
    Ok(partitions
        .iter()
        .map(|p| {
            let offset = committed
                .find_partition(topic, *p)
                .and_then(|e| next_offset(e.offset()));
            (*p, offset)
        })
        .collect())
}

/// The committed offsets of another process's `group` (looked up without joining it; `None`
/// where it has committed nothing).
pub fn other_group_offsets(
    settings: &KafkaSettings,
    client_id: &str,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, Option<i64>>, KafkaError> {
    let consumer: BaseConsumer = super::client_config(settings, client_id)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    committed_offsets(&consumer, topic, partitions)
}

/// As [`other_group_offsets`], 0 where nothing is committed: everything the group holds there is
/// uncommitted work.
pub fn group_committed_offsets(
    settings: &KafkaSettings,
    client_id: &str,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, i64>, KafkaError> {
    let committed = other_group_offsets(settings, client_id, group, topic, partitions)?;
    Ok(committed
        .into_iter()
        .map(|(p, o)| (p, o.unwrap_or(0)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::{Header, OwnedHeaders};

    #[test]
    fn state_records_of_uncommitted_commands_are_skipped() {
        // Committed offset 10: commands 0..=9 are committed, 10 and later are not.
        assert!(!written_by_uncommitted_work(Some(9), 10));
        assert!(written_by_uncommitted_work(Some(10), 10));
        assert!(written_by_uncommitted_work(Some(42), 10));
        // Nothing committed: every record with a source offset is uncommitted work.
        assert!(written_by_uncommitted_work(Some(0), 0));
    }

    #[test]
    fn a_tombstone_without_a_source_offset_is_applied() {
        assert!(!written_by_uncommitted_work(None, 0));
        assert!(!written_by_uncommitted_work(None, 10));
    }

    #[test]
    fn a_tombstone_carries_its_source_offset_in_a_header() {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "other",
                value: Some("1"),
            })
            .insert(Header {
                key: SOURCE_OFFSET_HEADER,
                value: Some("1234"),
            });
        assert_eq!(source_offset_of(&headers), Some(1234));
        let garbled = OwnedHeaders::new().insert(Header {
            key: SOURCE_OFFSET_HEADER,
            value: Some("twelve"),
        });
        assert_eq!(source_offset_of(&garbled), None);
        let empty = OwnedHeaders::new().insert(Header::<&str> {
            key: SOURCE_OFFSET_HEADER,
            value: None,
        });
        assert_eq!(source_offset_of(&empty), None);
    }

    #[test]
    fn nothing_committed_reads_as_none() {
        assert_eq!(next_offset(Offset::Offset(17)), Some(17));
        assert_eq!(next_offset(Offset::Offset(0)), Some(0));
        assert_eq!(next_offset(Offset::Invalid), None);
        assert_eq!(next_offset(Offset::Beginning), None);
        assert_eq!(next_offset(Offset::End), None);
    }
}
