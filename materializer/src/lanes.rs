//! Splitting batches into lanes written at once (`writers`), each in its own transaction on its
//! own connection: one PostgreSQL backend per lane, so that PostgreSQL uses more than one core.
//!
//! A lane holds whole partitions, always the same ones. A user's events are all in one partition,
//! so lanes never share a user: their rows, positions and offsets are disjoint. What they share
//! are the popularity rows, which every lane upserts in key order, table after table, so that a
//! lane waits for another instead of deadlocking with it (a deadlock PostgreSQL still reports is
//! written again).

use crate::refused::Origin;
use crate::sink::Quarantined;
use balados_schemas::EventEnvelope;
use std::collections::BTreeMap;

/// The part of a batch one transaction writes.
#[derive(Debug, Default)]
pub struct Lane {
    pub events: Vec<EventEnvelope>,
    /// Where `events[i]` came from.
    pub origins: Vec<Origin>,
    pub quarantined: Vec<Quarantined>,
    /// The next offset of each of the lane's partitions once it is written.
    pub reached: BTreeMap<i32, i64>,
}

/// The lane of a partition: fixed for the life of the process, so that a partition's events, queued
/// in one lane, are written in their order.
pub fn lane_of(partition: i32, writers: usize) -> usize {
    let writers = i32::try_from(writers.max(1)).unwrap_or(i32::MAX);
    usize::try_from(partition.rem_euclid(writers)).unwrap_or(0)
}

/// Splits a batch by lane (see [`lane_of`]), keeping each partition's events in their order.
/// Returns the non-empty lanes with their index.
pub fn split(
    writers: usize,
    decoded: Vec<(EventEnvelope, Origin)>,
    quarantined: Vec<Quarantined>,
    reached: &BTreeMap<i32, i64>,
) -> Vec<(usize, Lane)> {
    let mut lanes: BTreeMap<usize, Lane> = BTreeMap::new();
    for (partition, offset) in reached {
        lanes
            .entry(lane_of(*partition, writers))
            .or_default()
            .reached
            .insert(*partition, *offset);
    }
    for (event, origin) in decoded {
        let lane = lanes.entry(lane_of(origin.partition, writers)).or_default();
        lane.events.push(event);
        lane.origins.push(origin);
    }
    for item in quarantined {
        lanes
            .entry(lane_of(item.partition, writers))
            .or_default()
            .quarantined
            .push(item);
    }
    lanes.into_iter().collect()
}

impl Lane {
    /// Records (events and quarantined ones) it holds.
    pub fn records(&self) -> usize {
        self.events.len() + self.quarantined.len()
    }

    /// Appends a later part of the same lane: one write for both.
    pub fn absorb(&mut self, later: Lane) {
        self.events.extend(later.events);
        self.origins.extend(later.origins);
        self.quarantined.extend(later.quarantined);
        for (partition, offset) in later.reached {
            let next = self.reached.entry(partition).or_insert(offset);
            *next = (*next).max(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::tests::event;
    use balados_schemas::EventPayload;

    fn decoded(partition: i32, offset: i64) -> (EventEnvelope, Origin) {
        let sequence = u64::try_from(offset).unwrap_or(0) + 1;
        let user = format!("user-{partition}");
        let origin = Origin {
            partition,
            offset,
            payload: None,
        };
        (
            event(&user, sequence, EventPayload::AccountDeleted {}),
            origin,
        )
    }

    fn quarantined(partition: i32, offset: i64) -> Quarantined {
        Quarantined {
            partition,
            offset,
            reason: "undecodable".into(),
            payload: None,
            stepped_over: None,
        }
    }

    fn partitions(lane: &Lane) -> Vec<i32> {
        lane.reached.keys().copied().collect()
    }

    #[test]
    fn a_partition_always_goes_to_the_same_lane_in_its_order() {
        let batch = vec![
            decoded(4, 10),
            decoded(1, 7),
            decoded(2, 3),
            decoded(4, 11),
            decoded(1, 8),
        ];
        let reached = BTreeMap::from([(1, 9), (2, 4), (4, 12)]);
        let lanes = split(2, batch, vec![], &reached);
        let indexes: Vec<usize> = lanes.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [0, 1]);
        assert_eq!(partitions(&lanes[0].1), [2, 4]);
        assert_eq!(partitions(&lanes[1].1), [1]);
        let offsets: Vec<(i32, i64)> = lanes[0]
            .1
            .origins
            .iter()
            .map(|o| (o.partition, o.offset))
            .collect();
        assert_eq!(offsets, [(4, 10), (2, 3), (4, 11)]);
        for (_, lane) in &lanes {
            assert_eq!(lane.events.len(), lane.origins.len());
            for (event, origin) in lane.events.iter().zip(&lane.origins) {
                assert_eq!(event.user_id.as_str(), format!("user-{}", origin.partition));
            }
        }
        // The same partition in a later batch: the same lane.
        let later = split(2, vec![decoded(4, 12)], vec![], &BTreeMap::from([(4, 13)]));
        assert_eq!(later[0].0, 0);
        assert_eq!(lane_of(5, 1), 0);
        assert_eq!(lane_of(7, 3), 1);
    }

    #[test]
    fn a_lane_of_quarantined_records_only_still_moves_its_offsets() {
        let reached = BTreeMap::from([(1, 6), (2, 2)]);
        let lanes = split(2, vec![decoded(1, 5)], vec![quarantined(2, 1)], &reached);
        assert_eq!(lanes.len(), 2);
        assert_eq!(partitions(&lanes[0].1), [2]);
        assert!(lanes[0].1.events.is_empty());
        assert_eq!(lanes[0].1.quarantined[0].offset, 1);
        assert_eq!(lanes[0].1.records(), 1);
        assert_eq!(partitions(&lanes[1].1), [1]);
    }

    #[test]
    fn absorbing_a_later_part_appends_it_and_keeps_the_furthest_offsets() {
        let mut first = split(
            1,
            vec![decoded(0, 1), decoded(2, 5)],
            vec![],
            &BTreeMap::from([(0, 2), (2, 6)]),
        )
        .remove(0)
        .1;
        let later = split(
            1,
            vec![decoded(0, 2)],
            vec![quarantined(3, 0)],
            &BTreeMap::from([(0, 3), (3, 1)]),
        )
        .remove(0)
        .1;
        first.absorb(later);
        let offsets: Vec<(i32, i64)> = first
            .origins
            .iter()
            .map(|o| (o.partition, o.offset))
            .collect();
        assert_eq!(offsets, [(0, 1), (2, 5), (0, 2)]);
        assert_eq!(first.reached, BTreeMap::from([(0, 3), (2, 6), (3, 1)]));
        assert_eq!(first.records(), 4);
    }
}
