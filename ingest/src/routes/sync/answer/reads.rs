//! The read-model rows a sync answers with, all read in one snapshot: the user's subscriptions
//! and play statuses after a cursor in the order of answers (position, then id in byte order,
//! whatever the database's locale), those named by the upload, and their playlists.

use crate::routes::sync::page::Placed;
use crate::routes::sync::token::{Cursor, Kind};
use balados_schemas::UserId;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::collections::BTreeMap;

/// One snapshot for every read of an answer: a page cut where one list ends must find the other
/// list as it was at the same moment, else a row written between the two reads, before the cut,
/// would be skipped. The rows and the reached position are committed together by the materializer.
pub async fn snapshot(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// The position the user's read models have reached: the next `last_sync` once a reading ends.
pub async fn last_position(db: &mut PgConnection, user: &UserId) -> Result<i64, sqlx::Error> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT last_position FROM materializer.user_sequences WHERE user_id = $1")
            .bind(user.as_str())
            .fetch_optional(db)
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

impl Placed for Sub {
    fn sync_position(&self) -> i64 {
        self.sync_position
    }
    fn key(&self) -> &str {
        &self.feed_id
    }
}

/// At most `limit` subscriptions after `cursor`.
pub async fn subscriptions_after(
    db: &mut PgConnection,
    user: &UserId,
    cursor: &Cursor,
    limit: usize,
) -> Result<Vec<Sub>, sqlx::Error> {
    sqlx::query_as(
        "SELECT feed_id, feed_url, subscribed_at, unsubscribed_at, sync_position
         FROM users.subscriptions
         WHERE user_id = $1
           AND (sync_position > $2 OR (sync_position = $2 AND feed_id COLLATE \"C\" > $3))
         ORDER BY sync_position, feed_id COLLATE \"C\" LIMIT $4",
    )
    .bind(user.as_str())
    .bind(cursor.position)
    .bind(cursor.tied_after(Kind::Subscription))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(db)
    .await
}

/// The user's rows of the uploaded feeds, whatever their position: what the conflicts compare.
pub async fn named_subscriptions(
    db: &mut PgConnection,
    user: &UserId,
    feeds: &[String],
) -> Result<Vec<Sub>, sqlx::Error> {
    sqlx::query_as(
        "SELECT feed_id, feed_url, subscribed_at, unsubscribed_at, sync_position
         FROM users.subscriptions
         WHERE user_id = $1 AND feed_key IN (SELECT site.id_key(id) FROM UNNEST($2::text[]) AS k(id))",
    )
    .bind(user.as_str())
    .bind(feeds)
    .fetch_all(db)
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

impl Placed for Play {
    fn sync_position(&self) -> i64 {
        self.sync_position
    }
    fn key(&self) -> &str {
        &self.item_id
    }
}

macro_rules! play_columns {
    () => {
        "SELECT item_id, feed_id, feed_url, guid, enclosure_url, position, duration, played,
                updated_at, sync_position FROM users.play_statuses "
    };
}

/// At most `limit` play statuses after `cursor`; an episode only saved has none.
pub async fn plays_after(
    db: &mut PgConnection,
    user: &UserId,
    cursor: &Cursor,
    limit: usize,
) -> Result<Vec<Play>, sqlx::Error> {
    sqlx::query_as(concat!(
        play_columns!(),
        "WHERE user_id = $1 AND updated_at IS NOT NULL
           AND (sync_position > $2 OR (sync_position = $2 AND item_id COLLATE \"C\" > $3))
         ORDER BY sync_position, item_id COLLATE \"C\" LIMIT $4"
    ))
    .bind(user.as_str())
    .bind(cursor.position)
    .bind(cursor.tied_after(Kind::Play))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(db)
    .await
}

/// The user's rows of the uploaded episodes, whatever their position: what the conflicts compare.
pub async fn named_plays(
    db: &mut PgConnection,
    user: &UserId,
    items: &[String],
) -> Result<Vec<Play>, sqlx::Error> {
    sqlx::query_as(concat!(
        play_columns!(),
        "WHERE user_id = $1 AND item_key IN (SELECT site.id_key(id) FROM UNNEST($2::text[]) AS k(id))"
    ))
    .bind(user.as_str())
    .bind(items)
    .fetch_all(db)
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
pub async fn playlists(db: &mut PgConnection, user: &UserId) -> Result<Vec<List>, sqlx::Error> {
    let heads: Vec<(String, String)> = sqlx::query_as(
        "SELECT playlist_id, name FROM users.playlists WHERE user_id = $1 ORDER BY playlist_id",
    )
    .bind(user.as_str())
    .fetch_all(&mut *db)
    .await?;
    let items: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT playlist_id, item_id, feed_id FROM users.playlist_items
         WHERE user_id = $1 ORDER BY playlist_id, position",
    )
    .bind(user.as_str())
    .fetch_all(db)
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
