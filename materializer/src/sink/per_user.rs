//! Set-based writes of the per-user models: subscriptions, play statuses, privacy settings and
//! devices. One statement per table per batch; keys are unique within a batch (the fold merged
//! them).

use crate::apply::per_user::PerUserChanges;
use crate::sink::to_i64;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

pub async fn write(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PerUserChanges,
) -> Result<(), sqlx::Error> {
    upsert_subscriptions(tx, changes).await?;
    upsert_episodes(tx, changes).await?;
    upsert_privacy(tx, changes).await?;
    upsert_devices(tx, changes).await
}

/// Play statuses: a patch sets only its columns. An existing row is updated in place, a new one
/// inserted with the defaults for the columns the batch did not set.
async fn upsert_subscriptions(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PerUserChanges,
) -> Result<(), sqlx::Error> {
    if changes.subscriptions.is_empty() {
        return Ok(());
    }
    let n = changes.subscriptions.len();
    let (mut users, mut feeds, mut urls, mut sources) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut subscribed, mut unsubscribed) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut sync = Vec::with_capacity(n);
    for ((user, feed), patch) in &changes.subscriptions {
        sync.push(patch.sync_position);
        users.push(user.clone());
        feeds.push(feed.clone());
        urls.push(patch.feed_url.clone());
        sources.push(patch.source_id.clone().flatten());
        subscribed.push(patch.subscribed_at);
        unsubscribed.push(patch.unsubscribed_at);
    }
    // A Subscribed event sets subscribed_at and source_id together, so a null subscribed_at
    // means "source_id untouched" too.
    sqlx::query(
        "INSERT INTO users.subscriptions AS t
             (user_id, feed_id, feed_url, source_id, subscribed_at, unsubscribed_at, sync_position)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::bigint[])
         ON CONFLICT (user_id, feed_key) DO UPDATE SET
             source_id = CASE WHEN EXCLUDED.subscribed_at IS NOT NULL THEN EXCLUDED.source_id ELSE t.source_id END,
             subscribed_at = COALESCE(EXCLUDED.subscribed_at, t.subscribed_at),
             unsubscribed_at = COALESCE(EXCLUDED.unsubscribed_at, t.unsubscribed_at),
             sync_position = EXCLUDED.sync_position",
    )
    .bind(users)
    .bind(feeds)
    .bind(urls)
    .bind(sources)
    .bind(subscribed)
    .bind(unsubscribed)
    .bind(sync)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_episodes(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PerUserChanges,
) -> Result<(), sqlx::Error> {
    if changes.episodes.is_empty() {
        return Ok(());
    }
    let n = changes.episodes.len();
    let mut users = Vec::with_capacity(n);
    let mut items = Vec::with_capacity(n);
    let mut feed_ids = Vec::with_capacity(n);
    let mut feed_urls = Vec::with_capacity(n);
    let mut guids = Vec::with_capacity(n);
    let mut enclosures = Vec::with_capacity(n);
    let mut positions: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut durations: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut duration_set = Vec::with_capacity(n);
    let mut played: Vec<Option<bool>> = Vec::with_capacity(n);
    let mut updated: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
    let mut saved: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
    let mut saved_set = Vec::with_capacity(n);
    let mut sync = Vec::with_capacity(n);
    for ((user, item_id), p) in &changes.episodes {
        sync.push(p.sync_position);
        users.push(user.clone());
        items.push(item_id.clone());
        feed_ids.push(p.feed.id());
        feed_urls.push(p.feed.as_str().to_owned());
        guids.push(p.item.guid().to_owned());
        enclosures.push(p.item.enclosure_url().to_owned());
        positions.push(p.position.map(to_i64));
        durations.push(p.duration.flatten().map(to_i64));
        duration_set.push(p.duration.is_some());
        played.push(p.played);
        updated.push(p.updated_at);
        saved.push(p.saved_at.flatten());
        saved_set.push(p.saved_at.is_some());
    }
    sqlx::query(
        // The key is computed once per row, as a column, and joined as the primary key's own
        // column: joined on `site.id_key(i.item_id)` (computed again by the anti-join), a
        // benchmark's plan looked the rows up through the sync index by user alone, filtering.
        "WITH input AS (
             SELECT i.*, site.id_key(i.item_id) AS item_key
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::bigint[], $8::bigint[], $9::bool[], $10::bool[], $11::timestamptz[],
                         $12::timestamptz[], $13::bool[], $14::bigint[])
                 AS i(user_id, item_id, feed_id, feed_url, guid, enclosure_url, position, duration,
                      duration_set, played, updated_at, saved_at, saved_set, sync_position)
         ),
         updated AS (
             UPDATE users.play_statuses t SET
                 feed_id = i.feed_id, feed_url = i.feed_url,
                 position = COALESCE(i.position, t.position),
                 duration = CASE WHEN i.duration_set THEN i.duration ELSE t.duration END,
                 played = COALESCE(i.played, t.played),
                 updated_at = COALESCE(i.updated_at, t.updated_at),
                 saved_at = CASE WHEN i.saved_set THEN i.saved_at ELSE t.saved_at END,
                 sync_position = i.sync_position
             FROM input i
             WHERE t.user_id = i.user_id AND t.item_key = i.item_key
             RETURNING t.user_id, t.item_key
         )
         INSERT INTO users.play_statuses
             (user_id, item_id, feed_id, feed_url, guid, enclosure_url, position, duration, played, updated_at, saved_at, sync_position)
         SELECT i.user_id, i.item_id, i.feed_id, i.feed_url, i.guid, i.enclosure_url,
                COALESCE(i.position, 0), i.duration, COALESCE(i.played, false), i.updated_at, i.saved_at,
                i.sync_position
         FROM input i
         WHERE NOT EXISTS (SELECT 1 FROM updated u WHERE u.user_id = i.user_id AND u.item_key = i.item_key)",
    )
    .bind(users)
    .bind(items)
    .bind(feed_ids)
    .bind(feed_urls)
    .bind(guids)
    .bind(enclosures)
    .bind(positions)
    .bind(durations)
    .bind(duration_set)
    .bind(played)
    .bind(updated)
    .bind(saved)
    .bind(saved_set)
    .bind(sync)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_privacy(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PerUserChanges,
) -> Result<(), sqlx::Error> {
    if changes.privacy.is_empty() {
        return Ok(());
    }
    let (mut users, mut scopes, mut ids, mut values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((user, scope, id), privacy) in &changes.privacy {
        users.push(user.as_str());
        scopes.push(*scope);
        ids.push(id.as_str());
        values.push(privacy.as_str());
    }
    sqlx::query(
        "INSERT INTO users.user_privacy (user_id, scope, scope_id, privacy)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (user_id, scope, scope_key) DO UPDATE SET privacy = EXCLUDED.privacy",
    )
    .bind(users)
    .bind(scopes)
    .bind(ids)
    .bind(values)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_devices(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PerUserChanges,
) -> Result<(), sqlx::Error> {
    if changes.devices.is_empty() {
        return Ok(());
    }
    let (mut users, mut ids, mut captions, mut kinds) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((user, id), (caption, kind)) in &changes.devices {
        users.push(user.as_str());
        ids.push(id.as_str());
        captions.push(caption.as_deref());
        kinds.push(kind.as_deref());
    }
    sqlx::query(
        "INSERT INTO users.devices (user_id, device_id, caption, kind)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (user_id, device_id) DO UPDATE SET caption = EXCLUDED.caption, kind = EXCLUDED.kind",
    )
    .bind(users)
    .bind(ids)
    .bind(captions)
    .bind(kinds)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
