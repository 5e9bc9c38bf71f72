//! Events: facts decided by the aggregator, on `events`.

use crate::avro::{Fields, ShapeError, millis, opt_string, record};
use crate::ids::{FeedUrl, UserId};
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    pub event_id: Uuid,
    pub command_id: Uuid,
    pub user_id: UserId,
    pub sequence: u64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub app_id: Option<String>,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    pub payload: EventPayload,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPayload {
    Subscribed {
        feed: FeedUrl,
        source_id: Option<String>,
        subscribed_at: DateTime<Utc>,
    },
    Unsubscribed {
        feed: FeedUrl,
        unsubscribed_at: DateTime<Utc>,
    },
}

impl EventPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Subscribed { .. } => "subscribed",
            Self::Unsubscribed { .. } => "unsubscribed",
        }
    }
}

/// Namespace of event ids: `event_id = uuid_v5(NS, command_id ‖ index)`, so that reprocessing a
/// command yields the same ids.
const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_0e55_2b7a_4d0e_9b63_5a1d_bb0c_7e21);

pub fn event_id(command_id: Uuid, index: u32) -> Uuid {
    let mut name = command_id.as_bytes().to_vec();
    name.extend_from_slice(&index.to_be_bytes());
    Uuid::new_v5(&EVENT_ID_NAMESPACE, &name)
}

impl EventEnvelope {
    pub fn to_avro(&self) -> Value {
        let payload = match &self.payload {
            EventPayload::Subscribed {
                feed,
                source_id,
                subscribed_at,
            } => Value::Union(
                0,
                Box::new(record(vec![
                    ("feed_url", Value::String(feed.as_str().to_owned())),
                    ("source_id", opt_string(source_id.as_deref())),
                    ("subscribed_at", millis(*subscribed_at)),
                ])),
            ),
            EventPayload::Unsubscribed {
                feed,
                unsubscribed_at,
            } => Value::Union(
                1,
                Box::new(record(vec![
                    ("feed_url", Value::String(feed.as_str().to_owned())),
                    ("unsubscribed_at", millis(*unsubscribed_at)),
                ])),
            ),
        };
        record(vec![
            ("event_id", Value::Uuid(self.event_id)),
            ("command_id", Value::Uuid(self.command_id)),
            ("user_id", Value::String(self.user_id.as_str().to_owned())),
            (
                "sequence",
                Value::Long(i64::try_from(self.sequence).unwrap_or(i64::MAX)),
            ),
            ("occurred_at", millis(self.occurred_at)),
            ("recorded_at", millis(self.recorded_at)),
            ("app_id", opt_string(self.app_id.as_deref())),
            ("device_id", opt_string(self.device_id.as_deref())),
            ("device_name", opt_string(self.device_name.as_deref())),
            ("payload", payload),
        ])
    }

    pub fn from_avro(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::of(value)?;
        let (branch, payload) = f.union("payload")?;
        let mut p = Fields::of(payload)?;
        let raw_feed = p.string("feed_url")?;
        let feed = FeedUrl::parse(&raw_feed).map_err(|e| ShapeError(format!("feed_url: {e}")))?;
        let payload = match branch {
            0 => EventPayload::Subscribed {
                feed,
                source_id: p.opt_string("source_id")?,
                subscribed_at: p.millis("subscribed_at")?,
            },
            1 => EventPayload::Unsubscribed {
                feed,
                unsubscribed_at: p.millis("unsubscribed_at")?,
            },
            other => return Err(ShapeError(format!("unknown event branch {other}"))),
        };
        let user = f.string("user_id")?;
        let sequence = f.long("sequence")?;
        Ok(Self {
            event_id: f.uuid("event_id")?,
            command_id: f.uuid("command_id")?,
            user_id: UserId::parse(&user).map_err(|e| ShapeError(format!("user_id: {e}")))?,
            sequence: u64::try_from(sequence)
                .map_err(|_| ShapeError("negative sequence".into()))?,
            occurred_at: f.millis("occurred_at")?,
            recorded_at: f.millis("recorded_at")?,
            app_id: f.opt_string("app_id")?,
            device_id: f.opt_string("device_id")?,
            device_name: f.opt_string("device_name")?,
            payload,
        })
    }
}
