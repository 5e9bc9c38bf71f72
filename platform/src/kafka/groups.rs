//! A consumer group as the broker describes it (`balados admin describe groups`): its state and
//! members, each member's partitions decoded from the consumer protocol's assignment. Some brokers
//! answer only part of it (tansu reports a state but no members), which the caller says as it is.

use super::client_config;
use crate::settings::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use std::time::Duration;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group: String,
    /// As the broker says it: `Stable`, `Empty`, `PreparingRebalance`, `Dead`, …
    pub state: String,
    /// The assignor (`range`, `cooperative-sticky`, …), empty when none was chosen.
    pub protocol: String,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub client_id: String,
    pub host: String,
    /// Topic and partitions, or why they could not be read.
    pub assignment: Result<Vec<(String, Vec<i32>)>, String>,
}

/// Describes `group` (DescribeGroups); `None` when the broker does not know it.
pub fn describe_group(
    settings: &KafkaSettings,
    client_id: &str,
    group: &str,
) -> Result<Option<GroupDescription>, KafkaError> {
    let consumer: BaseConsumer = client_config(settings, client_id).create()?;
    let list = consumer.fetch_group_list(Some(group), REQUEST_TIMEOUT)?;
    Ok(list
        .groups()
        .iter()
        .find(|g| g.name() == group)
        .map(|g| GroupDescription {
            group: g.name().to_owned(),
            state: g.state().to_owned(),
            protocol: g.protocol().to_owned(),
            members: g
                .members()
                .iter()
                .map(|m| Member {
                    id: m.id().to_owned(),
                    client_id: m.client_id().to_owned(),
                    host: m.client_host().to_owned(),
                    assignment: m
                        .assignment()
                        .map_or_else(|| Ok(Vec::new()), decode_assignment),
                })
                .collect(),
        }))
}

/// Decodes a member's assignment in the consumer protocol (`ConsumerProtocolAssignment`, versions
/// 0–3): a version, then topics with their partitions, then user data (ignored).
pub fn decode_assignment(bytes: &[u8]) -> Result<Vec<(String, Vec<i32>)>, String> {
    let mut input = Input(bytes);
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let version = input.i16()?;
    if !(0..=3).contains(&version) {
        return Err(format!("unknown assignment version {version}"));
    }
    let topics = input.count()?;
    let mut assigned = Vec::with_capacity(topics.min(1024));
    for _ in 0..topics {
        let len = usize::try_from(input.i16()?).map_err(|_| "null topic name")?;
        let name = String::from_utf8_lossy(input.take(len)?).into_owned();
        let count = input.count()?;
        let mut partitions = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            partitions.push(input.i32()?);
        }
        assigned.push((name, partitions));
    }
    Ok(assigned)
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("assignment cut short".into());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, String> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An array length; a null array (-1) is empty.
    fn count(&mut self) -> Result<usize, String> {
        Ok(usize::try_from(self.i32()?).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(version: i16, topics: &[(&str, &[i32])]) -> Vec<u8> {
        let mut out = version.to_be_bytes().to_vec();
        out.extend((topics.len() as i32).to_be_bytes());
        for (name, partitions) in topics {
            out.extend((name.len() as i16).to_be_bytes());
            out.extend(name.as_bytes());
            out.extend((partitions.len() as i32).to_be_bytes());
            for p in *partitions {
                out.extend(p.to_be_bytes());
            }
        }
        out.extend((-1_i32).to_be_bytes()); // no user data
        out
    }

    #[test]
    fn an_assignment_reads_as_topics_and_partitions() {
        let bytes = encode(1, &[("b.events.v1", &[0, 2, 4]), ("b.commands.v1", &[1])]);
        assert_eq!(
            decode_assignment(&bytes),
            Ok(vec![
                ("b.events.v1".to_owned(), vec![0, 2, 4]),
                ("b.commands.v1".to_owned(), vec![1]),
            ])
        );
        assert_eq!(
            decode_assignment(&[]),
            Ok(vec![]),
            "a member not assigned yet"
        );
    }

    #[test]
    fn a_cut_or_foreign_assignment_is_an_error_not_a_panic() {
        let bytes = encode(0, &[("t", &[0, 1])]);
        for cut in 1..bytes.len() - 4 {
            assert!(decode_assignment(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_assignment(&encode(9, &[])).is_err());
        // A count claiming billions of partitions fails on the missing bytes, without reserving them.
        let mut huge = 0_i16.to_be_bytes().to_vec();
        huge.extend(i32::MAX.to_be_bytes());
        assert!(decode_assignment(&huge).is_err());
    }
}
