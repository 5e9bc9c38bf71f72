//! Commands: what a user asks for, as produced by the ingest API to `commands`.

use crate::avro::{Fields, ShapeError, millis, opt_string, record};
use crate::ids::{FeedUrl, UserId};
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEnvelope {
    pub command_id: Uuid,
    pub user_id: UserId,
    /// Client time, not yet clamped (the aggregator clamps it).
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub app_id: Option<String>,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    pub reply_to: Option<String>,
    pub payload: CommandPayload,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandPayload {
    Subscribe {
        feed: FeedUrl,
        source_id: Option<String>,
    },
    Unsubscribe {
        feed: FeedUrl,
    },
}

impl CommandPayload {
    /// A short stable name, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Subscribe { .. } => "subscribe",
            Self::Unsubscribe { .. } => "unsubscribe",
        }
    }
}

impl CommandEnvelope {
    pub fn to_avro(&self) -> Value {
        let payload = match &self.payload {
            CommandPayload::Subscribe { feed, source_id } => Value::Union(
                0,
                Box::new(record(vec![
                    ("feed_url", Value::String(feed.as_str().to_owned())),
                    ("source_id", opt_string(source_id.as_deref())),
                ])),
            ),
            CommandPayload::Unsubscribe { feed } => Value::Union(
                1,
                Box::new(record(vec![(
                    "feed_url",
                    Value::String(feed.as_str().to_owned()),
                )])),
            ),
        };
        record(vec![
            ("command_id", Value::Uuid(self.command_id)),
            ("user_id", Value::String(self.user_id.as_str().to_owned())),
            ("occurred_at", millis(self.occurred_at)),
            ("received_at", millis(self.received_at)),
            ("app_id", opt_string(self.app_id.as_deref())),
            ("device_id", opt_string(self.device_id.as_deref())),
            ("device_name", opt_string(self.device_name.as_deref())),
            ("reply_to", opt_string(self.reply_to.as_deref())),
            ("payload", payload),
        ])
    }

    pub fn from_avro(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::of(value)?;
        let (branch, payload) = f.union("payload")?;
        let mut p = Fields::of(payload)?;
        let feed = |p: &mut Fields| {
            let raw = p.string("feed_url")?;
            FeedUrl::parse(&raw).map_err(|e| ShapeError(format!("feed_url: {e}")))
        };
        let payload = match branch {
            0 => CommandPayload::Subscribe {
                feed: feed(&mut p)?,
                source_id: p.opt_string("source_id")?,
            },
            1 => CommandPayload::Unsubscribe {
                feed: feed(&mut p)?,
            },
            other => return Err(ShapeError(format!("unknown command branch {other}"))),
        };
        let user = f.string("user_id")?;
        Ok(Self {
            command_id: f.uuid("command_id")?,
            user_id: UserId::parse(&user).map_err(|e| ShapeError(format!("user_id: {e}")))?,
            occurred_at: f.millis("occurred_at")?,
            received_at: f.millis("received_at")?,
            app_id: f.opt_string("app_id")?,
            device_id: f.opt_string("device_id")?,
            device_name: f.opt_string("device_name")?,
            reply_to: f.opt_string("reply_to")?,
            payload,
        })
    }
}
