//! The body of `POST /api/v1/sync`, validated into a `Sync` command: feeds and episodes as the
//! other routes take them (`rss_source_feed`, `rss_source_item`: base64url ids), times in RFC 3339,
//! every value through its type's `parse`, and the bounds of one sync
//! (`balados_schemas::sync::check`: 422 `sync_too_large`).

use super::token::SyncToken;
use crate::routes::ids::{field, parse_feed, parse_item, parse_time, seconds};
use balados_platform::http::ApiError;
use balados_schemas::sync::check;
use balados_schemas::{
    CommandPayload, LocalId, Name, SyncPlay, SyncPlaylist, SyncPlaylistItem, SyncSubscription,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct SyncBody {
    /// The `sync_token` of the client's last sync; null or absent on a first sync.
    #[serde(default)]
    last_sync: Option<String>,
    #[serde(default)]
    subscriptions: Vec<SubscriptionBody>,
    #[serde(default)]
    play_statuses: Vec<PlayBody>,
    #[serde(default)]
    playlists: Vec<PlaylistBody>,
}

#[derive(Debug, Deserialize)]
struct SubscriptionBody {
    rss_source_feed: String,
    #[serde(default)]
    subscribed_at: Option<String>,
    #[serde(default)]
    unsubscribed_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PlayBody {
    rss_source_feed: String,
    rss_source_item: String,
    #[serde(default)]
    position: i64,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    played: bool,
    updated_at: String,
    /// An explicit "mark unplayed".
    #[serde(default)]
    reset: bool,
}

#[derive(Debug, Deserialize)]
struct PlaylistBody {
    id: String,
    name: String,
    updated_at: String,
    #[serde(default)]
    deleted_at: Option<String>,
    #[serde(default)]
    items: Vec<ItemBody>,
}

#[derive(Debug, Deserialize)]
struct ItemBody {
    rss_source_feed: String,
    rss_source_item: String,
    added_at: String,
    #[serde(default)]
    removed_at: Option<String>,
}

fn opt_time(raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(parse_time).transpose()
}

impl SyncBody {
    /// The command, and where the client last synced.
    pub fn into_payload(self) -> Result<(Option<SyncToken>, CommandPayload), ApiError> {
        let last_sync = (self.last_sync.as_deref())
            .map(SyncToken::parse)
            .transpose()?;
        let subscriptions = (self.subscriptions.into_iter())
            .map(|s| {
                Ok(SyncSubscription {
                    feed: parse_feed(&s.rss_source_feed)?,
                    subscribed_at: opt_time(s.subscribed_at.as_deref())?,
                    unsubscribed_at: opt_time(s.unsubscribed_at.as_deref())?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let plays = (self.play_statuses.into_iter())
            .map(|p| {
                Ok(SyncPlay {
                    feed: parse_feed(&p.rss_source_feed)?,
                    item: parse_item(&p.rss_source_item)?,
                    position: seconds("invalid_position", "position", p.position)?,
                    duration: (p.duration)
                        .map(|d| seconds("invalid_duration", "duration", d))
                        .transpose()?,
                    played: p.played,
                    updated_at: parse_time(&p.updated_at)?,
                    reset: p.reset,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let playlists = (self.playlists.into_iter())
            .map(PlaylistBody::parse)
            .collect::<Result<Vec<_>, ApiError>>()?;
        check(&subscriptions, &plays, &playlists).map_err(|e| {
            ApiError::validation(
                "sync_too_large",
                format!(
                    "a sync holds at most {} {}; send the rest in another",
                    e.max, e.what
                ),
            )
        })?;
        let payload = CommandPayload::Sync {
            last_sync: last_sync.as_ref().map(|l| l.time),
            subscriptions,
            plays,
            playlists,
        };
        Ok((last_sync, payload))
    }
}

impl PlaylistBody {
    fn parse(self) -> Result<SyncPlaylist, ApiError> {
        let items = (self.items.into_iter())
            .map(|i| {
                Ok(SyncPlaylistItem {
                    feed: parse_feed(&i.rss_source_feed)?,
                    item: parse_item(&i.rss_source_item)?,
                    added_at: parse_time(&i.added_at)?,
                    removed_at: opt_time(i.removed_at.as_deref())?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(SyncPlaylist {
            playlist_id: field("invalid_id", "id", LocalId::parse(&self.id))?,
            name: field("invalid_name", "name", Name::parse(&self.name))?,
            updated_at: parse_time(&self.updated_at)?,
            deleted_at: opt_time(self.deleted_at.as_deref())?,
            items,
        })
    }
}
