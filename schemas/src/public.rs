//! Public events, on `public-events`: what data teams read, already filtered by privacy.

use crate::avro::{Fields, ShapeError, millis, opt_string, record, string};
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicEvent {
    pub event_id: Uuid,
    /// subscribe, play, save or share.
    pub event_type: String,
    /// `None` for an anonymous event.
    pub user_id: Option<String>,
    pub feed_url: String,
    pub guid: Option<String>,
    pub enclosure_url: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl PublicEvent {
    pub fn to_avro(&self) -> Value {
        record(vec![
            ("event_id", Value::Uuid(self.event_id)),
            ("event_type", string(&self.event_type)),
            ("user_id", opt_string(self.user_id.as_deref())),
            ("feed_url", string(&self.feed_url)),
            ("guid", opt_string(self.guid.as_deref())),
            ("enclosure_url", opt_string(self.enclosure_url.as_deref())),
            ("occurred_at", millis(self.occurred_at)),
        ])
    }

    pub fn from_avro(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::of(value)?;
        Ok(Self {
            event_id: f.uuid("event_id")?,
            event_type: f.string("event_type")?,
            user_id: f.opt_string("user_id")?,
            feed_url: f.string("feed_url")?,
            guid: f.opt_string("guid")?,
            enclosure_url: f.opt_string("enclosure_url")?,
            occurred_at: f.millis("occurred_at")?,
        })
    }
}
