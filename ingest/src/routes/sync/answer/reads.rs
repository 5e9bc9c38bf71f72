//! The read-model rows a sync answers with: the user's subscriptions and play statuses changed
//! since a position or named by the upload, and their playlists.

use balados_schemas::UserId;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::BTreeMap;

/// The position the user's read models have reached: the next `last_sync`.
pub async fn last_position(pool: &PgPool, user: &UserId) -> Result<i64, sqlx::Error> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT last_position FROM materializer.user_sequences WHERE user_id = $1")
            .bind(user.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(found.map_or(0, |(p,)| p))
}

#[derive(Debug, sqlx::FromRow)]
pub struct Sub {
    pub feed_id: String,
    pub feed_url: String,
    pub subscribed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub sync_position: i64,
}

impl Sub {
    /// Subscribed, and not unsubscribed since (a tie keeps it).
    pub fn active(&self) -> bool {
        self.subscribed_at.is_some() && self.unsubscribed_at <= self.subscribed_at
    }

    pub fn to_json(&self) -> Value {
        json!({
            "rss_source_feed": self.feed_id,
            "feed_url": self.feed_url,
            "subscribed_at": self.subscribed_at,
            "unsubscribed_at": self.unsubscribed_at,
            "subscribed": self.active(),
        })
    }
}

pub async fn subscriptions(
    pool: &PgPool,
    user: &UserId,
    since: i64,
    feeds: &[String],
) -> Result<Vec<Sub>, sqlx::Error> {
    sqlx::query_as(
        "SELECT feed_id, feed_url, subscribed_at, unsubscribed_at, sync_position
         FROM users.subscriptions
         WHERE user_id = $1 AND (sync_position > $2 OR feed_id = ANY($3))
         ORDER BY sync_position, feed_id",
    )
    .bind(user.as_str())
    .bind(since)
    .bind(feeds)
    .fetch_all(pool)
    .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct Play {
    pub item_id: String,
    pub feed_id: String,
    pub feed_url: String,
    pub guid: String,
    pub enclosure_url: String,
    pub position: i64,
    pub duration: Option<i64>,
    pub played: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub sync_position: i64,
}

impl Play {
    pub fn to_json(&self) -> Value {
        json!({
            "rss_source_feed": self.feed_id,
            "rss_source_item": self.item_id,
            "feed_url": self.feed_url,
            "guid": self.guid,
            "enclosure_url": self.enclosure_url,
            "position": self.position,
            "duration": self.duration,
            "played": self.played,
            "updated_at": self.updated_at,
        })
    }
}

pub async fn plays(
    pool: &PgPool,
    user: &UserId,
    since: i64,
    items: &[String],
) -> Result<Vec<Play>, sqlx::Error> {
    sqlx::query_as(
        "SELECT item_id, feed_id, feed_url, guid, enclosure_url, position, duration, played,
                updated_at, sync_position
         FROM users.play_statuses
         WHERE user_id = $1 AND (sync_position > $2 OR item_id = ANY($3))
         ORDER BY sync_position, item_id",
    )
    .bind(user.as_str())
    .bind(since)
    .bind(items)
    .fetch_all(pool)
    .await
}

#[derive(Debug)]
pub struct List {
    pub id: String,
    pub name: String,
    /// Item ids, with their feed id, in order.
    pub items: Vec<(String, String)>,
}

impl List {
    pub fn to_json(&self) -> Value {
        let items: Vec<Value> = (self.items.iter())
            .map(|(item, feed)| json!({"rss_source_feed": feed, "rss_source_item": item}))
            .collect();
        json!({"id": self.id, "name": self.name, "items": items})
    }
}

/// Every playlist of the user with its items (bounded by the per-user limits).
pub async fn playlists(pool: &PgPool, user: &UserId) -> Result<Vec<List>, sqlx::Error> {
    let heads: Vec<(String, String)> = sqlx::query_as(
        "SELECT playlist_id, name FROM users.playlists WHERE user_id = $1 ORDER BY playlist_id",
    )
    .bind(user.as_str())
    .fetch_all(pool)
    .await?;
    let items: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT playlist_id, item_id, feed_id FROM users.playlist_items
         WHERE user_id = $1 ORDER BY playlist_id, position",
    )
    .bind(user.as_str())
    .fetch_all(pool)
    .await?;
    let mut lists: BTreeMap<String, List> = (heads.into_iter())
        .map(|(id, name)| {
            let list = List {
                id: id.clone(),
                name,
                items: Vec::new(),
            };
            (id, list)
        })
        .collect();
    for (playlist, item, feed) in items {
        if let Some(list) = lists.get_mut(&playlist) {
            list.items.push((item, feed));
        }
    }
    Ok(lists.into_values().collect())
}
