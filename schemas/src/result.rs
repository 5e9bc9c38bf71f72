//! Command outcomes, on `command-results`.

use crate::avro::{Fields, ShapeError, opt_string, record, unsigned};
use crate::ids::UserId;
use apache_avro::types::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    pub command_id: Uuid,
    pub user_id: UserId,
    pub rejection_code: Option<String>,
    pub message: Option<String>,
    pub duplicate: bool,
    pub first_sequence: u64,
    pub event_count: u32,
    pub events_partition: i32,
    /// Offset just past the last event in `events_partition`; -1 when there is none.
    pub events_next_offset: i64,
    /// The client's time was too far in the future; the reception time was used.
    pub clamped: bool,
}

impl CommandResult {
    pub fn to_avro(&self) -> Value {
        record(vec![
            ("command_id", Value::Uuid(self.command_id)),
            ("user_id", Value::String(self.user_id.as_str().to_owned())),
            ("rejection_code", opt_string(self.rejection_code.as_deref())),
            ("message", opt_string(self.message.as_deref())),
            ("duplicate", Value::Boolean(self.duplicate)),
            ("first_sequence", unsigned(self.first_sequence)),
            (
                "event_count",
                Value::Int(i32::try_from(self.event_count).unwrap_or(i32::MAX)),
            ),
            ("events_partition", Value::Int(self.events_partition)),
            ("events_next_offset", Value::Long(self.events_next_offset)),
            ("clamped", Value::Boolean(self.clamped)),
        ])
    }

    pub fn from_avro(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::of(value)?;
        let user = f.string("user_id")?;
        Ok(Self {
            command_id: f.uuid("command_id")?,
            user_id: UserId::parse(&user).map_err(|e| ShapeError(format!("user_id: {e}")))?,
            rejection_code: f.opt_string("rejection_code")?,
            message: f.opt_string("message")?,
            duplicate: f.boolean("duplicate")?,
            first_sequence: u64::try_from(f.long("first_sequence")?).unwrap_or(0),
            event_count: u32::try_from(f.int("event_count")?).unwrap_or(0),
            events_partition: f.int("events_partition")?,
            events_next_offset: f.long("events_next_offset")?,
            clamped: f.boolean("clamped")?,
        })
    }
}

/// The `reply_to` address of a command: `{instance}#{partition}`. The waiting ingest instance
/// reads only that partition of `command-results`, and keeps only records keyed by its address,
/// so any number of instances share the topic without reading each other's replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub instance: String,
    pub partition: i32,
}

impl ReplyTo {
    pub fn encode(&self) -> String {
        format!("{}#{}", self.instance, self.partition)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (instance, partition) = raw.rsplit_once('#')?;
        let partition = partition.parse().ok().filter(|p: &i32| *p >= 0)?;
        (!instance.is_empty()).then(|| Self {
            instance: instance.to_owned(),
            partition,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_addresses_round_trip_and_reject_garbage() {
        let reply = ReplyTo {
            instance: "balados.ingest.abc#x".into(),
            partition: 4,
        };
        assert_eq!(ReplyTo::parse(&reply.encode()), Some(reply));
        assert_eq!(ReplyTo::parse("no-partition"), None);
        assert_eq!(ReplyTo::parse("x#-1"), None);
        assert_eq!(ReplyTo::parse("#3"), None);
    }
}
