//! User-state records: one record per entity of a user on the compacted `user-state` topic.

use crate::avro::{Fields, ShapeError, opt_millis, opt_string, record};
use crate::ids::{FeedUrl, UserId};
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The key of one state record: `{user_id}/meta` or `{user_id}/sub/{feed_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateKey {
    Meta(UserId),
    Subscription(UserId, FeedUrl),
}

impl StateKey {
    pub fn user_id(&self) -> &UserId {
        match self {
            Self::Meta(user) | Self::Subscription(user, _) => user,
        }
    }

    pub fn encode(&self) -> String {
        match self {
            Self::Meta(user) => format!("{user}/meta"),
            Self::Subscription(user, feed) => format!("{user}/sub/{}", feed.id()),
        }
    }

    /// Parses a key; `None` for keys this version does not know (skipped by restore, so that a
    /// newer writer's entities do not stop an older reader).
    pub fn decode(key: &str) -> Option<Self> {
        let (user, rest) = key.split_once('/')?;
        let user = UserId::parse(user).ok()?;
        match rest.split_once('/') {
            None if rest == "meta" => Some(Self::Meta(user)),
            Some(("sub", feed_id)) => FeedUrl::from_id(feed_id)
                .ok()
                .map(|f| Self::Subscription(user, f)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStateRecord {
    pub user_id: UserId,
    /// Offset in `commands` of the command that wrote this record.
    pub source_offset: i64,
    pub entity: StateEntity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateEntity {
    Meta {
        sequence: u64,
        recent_commands: Vec<RecentCommand>,
    },
    Subscription {
        feed: FeedUrl,
        source_id: Option<String>,
        subscribed_at: Option<DateTime<Utc>>,
        unsubscribed_at: Option<DateTime<Utc>>,
    },
}

/// A processed command remembered for idempotency, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCommand {
    pub command_id: Uuid,
    pub rejection_code: Option<String>,
    pub first_sequence: u64,
    pub event_count: u32,
}

fn long(n: u64) -> Value {
    Value::Long(i64::try_from(n).unwrap_or(i64::MAX))
}

fn unsigned(name: &str, n: i64) -> Result<u64, ShapeError> {
    u64::try_from(n).map_err(|_| ShapeError(format!("{name}: negative")))
}

impl UserStateRecord {
    pub fn to_avro(&self) -> Value {
        let entity = match &self.entity {
            StateEntity::Meta {
                sequence,
                recent_commands,
            } => {
                let recent = recent_commands
                    .iter()
                    .map(|c| {
                        record(vec![
                            ("command_id", Value::Uuid(c.command_id)),
                            ("rejection_code", opt_string(c.rejection_code.as_deref())),
                            ("first_sequence", long(c.first_sequence)),
                            (
                                "event_count",
                                Value::Int(i32::try_from(c.event_count).unwrap_or(i32::MAX)),
                            ),
                        ])
                    })
                    .collect();
                Value::Union(
                    0,
                    Box::new(record(vec![
                        ("sequence", long(*sequence)),
                        ("recent_commands", Value::Array(recent)),
                    ])),
                )
            }
            StateEntity::Subscription {
                feed,
                source_id,
                subscribed_at,
                unsubscribed_at,
            } => Value::Union(
                1,
                Box::new(record(vec![
                    ("feed_url", Value::String(feed.as_str().to_owned())),
                    ("source_id", opt_string(source_id.as_deref())),
                    ("subscribed_at", opt_millis(*subscribed_at)),
                    ("unsubscribed_at", opt_millis(*unsubscribed_at)),
                ])),
            ),
        };
        record(vec![
            ("user_id", Value::String(self.user_id.as_str().to_owned())),
            ("source_offset", Value::Long(self.source_offset)),
            ("entity", entity),
        ])
    }

    pub fn from_avro(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::of(value)?;
        let (branch, entity) = f.union("entity")?;
        let mut e = Fields::of(entity)?;
        let entity = match branch {
            0 => {
                let sequence = unsigned("sequence", e.long("sequence")?)?;
                let mut recent_commands = Vec::new();
                for item in e.array("recent_commands")? {
                    let mut c = Fields::of(item)?;
                    recent_commands.push(RecentCommand {
                        command_id: c.uuid("command_id")?,
                        rejection_code: c.opt_string("rejection_code")?,
                        first_sequence: unsigned("first_sequence", c.long("first_sequence")?)?,
                        event_count: u32::try_from(c.int("event_count")?)
                            .map_err(|_| ShapeError("event_count: negative".into()))?,
                    });
                }
                StateEntity::Meta {
                    sequence,
                    recent_commands,
                }
            }
            1 => {
                let raw = e.string("feed_url")?;
                StateEntity::Subscription {
                    feed: FeedUrl::parse(&raw)
                        .map_err(|err| ShapeError(format!("feed_url: {err}")))?,
                    source_id: e.opt_string("source_id")?,
                    subscribed_at: e.opt_millis("subscribed_at")?,
                    unsubscribed_at: e.opt_millis("unsubscribed_at")?,
                }
            }
            other => return Err(ShapeError(format!("unknown entity branch {other}"))),
        };
        let user = f.string("user_id")?;
        Ok(Self {
            user_id: UserId::parse(&user).map_err(|e| ShapeError(format!("user_id: {e}")))?,
            source_offset: f.long("source_offset")?,
            entity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_round_trip() {
        let user = UserId::parse("u1").expect("valid");
        let feed = FeedUrl::parse("https://example.com/rss").expect("valid");
        for key in [
            StateKey::Meta(user.clone()),
            StateKey::Subscription(user, feed),
        ] {
            assert_eq!(StateKey::decode(&key.encode()), Some(key));
        }
        assert_eq!(StateKey::decode("u1/unknown-entity/x"), None);
    }
}
