//! Writing the public projection of a batch: withdrawals, anonymisations and new public events,
//! their owners' references, the outbox of `public-events` and the counted keys (`write`); the
//! popularity deltas (`popularity`), which the sink writes last in the batch's transaction.

use crate::apply::public::{CountKey, Counts, PublicChanges};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

pub async fn write(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PublicChanges,
) -> Result<(), sqlx::Error> {
    if !changes.withdrawn.is_empty() {
        let (ids, owners): (Vec<Uuid>, Vec<&str>) = changes
            .withdrawn
            .iter()
            .map(|(id, owner)| (*id, owner.as_str()))
            .unzip();
        sqlx::query("DELETE FROM site.public_events WHERE event_id = ANY($1)")
            .bind(&ids)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "DELETE FROM users.public_event_refs r USING UNNEST($1::text[], $2::uuid[]) AS w(user_id, event_id)
             WHERE r.user_id = w.user_id AND r.event_id = w.event_id",
        )
        .bind(owners)
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
    }
    if !changes.anonymised.is_empty() {
        let ids: Vec<Uuid> = changes.anonymised.iter().copied().collect();
        sqlx::query("UPDATE site.public_events SET user_id = NULL WHERE event_id = ANY($1)")
            .bind(ids)
            .execute(&mut **tx)
            .await?;
    }
    insert_events(tx, changes).await?;
    let outbox: Vec<Uuid> = changes.outbox().collect();
    if !outbox.is_empty() {
        sqlx::query(
            "INSERT INTO site.public_event_outbox (event_id) SELECT * FROM UNNEST($1::uuid[])",
        )
        .bind(outbox)
        .execute(&mut **tx)
        .await?;
    }
    counted_keys(tx, changes).await
}

/// The keys that counted for the first time (see `CountKey`): new by the batch's lookup, and a
/// user's keys are written by one transaction at a time (their partition's), so a plain insert.
async fn counted_keys(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PublicChanges,
) -> Result<(), sqlx::Error> {
    if changes.counted.is_empty() {
        return Ok(());
    }
    let (users, days, kinds, targets) = key_columns(&changes.counted);
    sqlx::query(
        "INSERT INTO site.popularity_counted (user_id, day, kind, target_hash)
         SELECT user_id, day, kind, decode(md5(target), 'hex')
         FROM UNNEST($1::text[], $2::date[], $3::text[], $4::text[]) AS k(user_id, day, kind, target)",
    )
    .bind(users)
    .bind(days)
    .bind(kinds)
    .bind(targets)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type KeyColumns<'a> = (Vec<&'a str>, Vec<NaiveDate>, Vec<&'a str>, Vec<&'a str>);

/// Popularity keys as the columns of an UNNEST (user, day, kind, target).
pub(super) fn key_columns<'a>(keys: impl IntoIterator<Item = &'a CountKey>) -> KeyColumns<'a> {
    let mut columns = KeyColumns::default();
    for key in keys {
        columns.0.push(&key.user);
        columns.1.push(key.day);
        columns.2.push(key.kind);
        columns.3.push(&key.target);
    }
    columns
}

/// Appends the new public events and their owners' references, as plain inserts: an event is
/// applied once (the user's position drops replays), so a second row for one event id would be a
/// fault, which the primary keys refuse — the batch is then written event by event and the
/// offending event set aside (`crate::refused`). `ON CONFLICT DO NOTHING` cost 8 % of PostgreSQL's
/// CPU (a probe of the key before each row, and a confirmation after it).
async fn insert_events(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PublicChanges,
) -> Result<(), sqlx::Error> {
    if changes.inserts.is_empty() {
        return Ok(());
    }
    let n = changes.inserts.len();
    let mut ids = Vec::with_capacity(n);
    let mut owners = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut users = Vec::with_capacity(n);
    let mut feed_ids = Vec::with_capacity(n);
    let mut feed_urls = Vec::with_capacity(n);
    let mut item_ids = Vec::with_capacity(n);
    let mut guids = Vec::with_capacity(n);
    let mut enclosures = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    let mut buckets = Vec::with_capacity(n);
    let mut counted = Vec::with_capacity(n);
    for (id, (owner, row)) in &changes.inserts {
        ids.push(*id);
        owners.push(owner.as_str());
        kinds.push(row.kind.as_str());
        users.push(row.user_id.as_deref());
        feed_ids.push(row.feed_id.as_str());
        feed_urls.push(row.feed_url.as_str());
        item_ids.push(row.item.as_ref().map(|i| i.item_id.as_str()));
        guids.push(row.item.as_ref().map(|i| i.guid.as_str()));
        enclosures.push(row.item.as_ref().map(|i| i.enclosure_url.as_str()));
        times.push(row.occurred_at);
        buckets.push(row.bucket);
        counted.push(row.counted);
    }
    sqlx::query(
        "INSERT INTO site.public_events
             (event_id, event_type, user_id, feed_id, feed_url, item_id, guid, enclosure_url, occurred_at, bucket, counted)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::bool[])",
    )
    .bind(&ids)
    .bind(kinds)
    .bind(users)
    .bind(feed_ids)
    .bind(feed_urls)
    .bind(item_ids)
    .bind(guids)
    .bind(enclosures)
    .bind(times)
    .bind(buckets)
    .bind(counted)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO users.public_event_refs (event_id, user_id)
         SELECT * FROM UNNEST($1::uuid[], $2::text[])",
    )
    .bind(&ids)
    .bind(owners)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Column vectors of counts, in the order of the statements below.
#[derive(Default)]
struct CountColumns {
    score: Vec<i64>,
    plays: Vec<i64>,
    likes: Vec<i64>,
    subscribes: Vec<i64>,
    shares: Vec<i64>,
}

impl CountColumns {
    fn push(&mut self, c: &Counts) {
        self.score.push(c.score);
        self.plays.push(c.plays);
        self.likes.push(c.likes);
        self.subscribes.push(c.subscribes);
        self.shares.push(c.shares);
    }
}

/// Adds the deltas; a row that falls back to nothing (every event withdrawn) is deleted, so that
/// the tables hold the same rows however the events were batched. Only the keys given a delta
/// that takes something away are looked at (a handful per batch, where a privacy change withdrew
/// events): looking at every key of the batch cost 5.7 % of the statement time.
///
/// These rows are shared between lanes (popular feeds are in every batch): a lane holds the ones
/// it upserted until it commits, and another lane touching them waits. So they come last in the
/// batch's transaction, the hottest (a feed's all-time totals) at the very end, and every lane goes
/// through the tables in this order and through each table's keys in key order: lanes wait for
/// each other, they do not deadlock.
pub(super) async fn popularity(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PublicChanges,
) -> Result<(), sqlx::Error> {
    hours(tx, changes).await?;
    episodes(tx, changes).await?;
    podcasts(tx, changes).await
}

/// All-time totals per feed. Entries that netted to zero (published and withdrawn in one batch)
/// change nothing.
async fn podcasts(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PublicChanges,
) -> Result<(), sqlx::Error> {
    if !changes.podcasts.is_empty() {
        let (mut feeds, mut urls, mut counts) = (Vec::new(), Vec::new(), CountColumns::default());
        for (feed, (url, c)) in changes.podcasts.iter().filter(|(_, (_, c))| !c.is_zero()) {
            feeds.push(feed.as_str());
            urls.push(url.as_str());
            counts.push(c);
        }
        sqlx::query(
            "INSERT INTO site.podcast_popularity AS t (feed_id, feed_url, score, plays, likes, subscribes, shares)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
             ON CONFLICT (feed_key) DO UPDATE SET score = t.score + EXCLUDED.score,
                 plays = t.plays + EXCLUDED.plays, likes = t.likes + EXCLUDED.likes,
                 subscribes = t.subscribes + EXCLUDED.subscribes, shares = t.shares + EXCLUDED.shares",
        )
        .bind(&feeds)
        .bind(urls)
        .bind(counts.score)
        .bind(counts.plays)
        .bind(counts.likes)
        .bind(counts.subscribes)
        .bind(counts.shares)
        .execute(&mut **tx)
        .await?;
        let lowered: Vec<&str> =
            lowered(changes.podcasts.iter().map(|(f, (_, c))| (f.as_str(), c)));
        if !lowered.is_empty() {
            sqlx::query(
                "DELETE FROM site.podcast_popularity
                 WHERE feed_key IN (SELECT site.id_key(id) FROM UNNEST($1::text[]) AS k(id))
                   AND score = 0 AND plays = 0 AND likes = 0 AND subscribes = 0 AND shares = 0",
            )
            .bind(lowered)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// All-time totals per episode.
async fn episodes(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PublicChanges,
) -> Result<(), sqlx::Error> {
    if !changes.episodes.is_empty() {
        let mut columns: [Vec<&str>; 5] = Default::default();
        let mut counts = CountColumns::default();
        for (item, (feed_id, feed_url, episode, c)) in
            changes.episodes.iter().filter(|(_, e)| !e.3.is_zero())
        {
            let fields = [
                item.as_str(),
                feed_id.as_str(),
                feed_url.as_str(),
                episode.guid.as_str(),
                episode.enclosure_url.as_str(),
            ];
            for (column, value) in columns.iter_mut().zip(fields) {
                column.push(value);
            }
            counts.push(c);
        }
        let [items, feeds, urls, guids, enclosures] = columns;
        sqlx::query(
            "INSERT INTO site.episode_popularity AS t
                 (item_id, feed_id, feed_url, guid, enclosure_url, score, plays, likes, shares)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
             ON CONFLICT (item_key) DO UPDATE SET score = t.score + EXCLUDED.score,
                 plays = t.plays + EXCLUDED.plays, likes = t.likes + EXCLUDED.likes,
                 shares = t.shares + EXCLUDED.shares",
        )
        .bind(&items)
        .bind(feeds)
        .bind(urls)
        .bind(guids)
        .bind(enclosures)
        .bind(counts.score)
        .bind(counts.plays)
        .bind(counts.likes)
        .bind(counts.shares)
        .execute(&mut **tx)
        .await?;
        let lowered: Vec<&str> = lowered(changes.episodes.iter().map(|(i, e)| (i.as_str(), &e.3)));
        if !lowered.is_empty() {
            sqlx::query(
                "DELETE FROM site.episode_popularity
                 WHERE item_key IN (SELECT site.id_key(id) FROM UNNEST($1::text[]) AS k(id))
                   AND score = 0 AND plays = 0 AND likes = 0 AND shares = 0",
            )
            .bind(lowered)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// The keys whose delta takes something away.
fn lowered<'a, K: Copy>(deltas: impl Iterator<Item = (K, &'a Counts)>) -> Vec<K> {
    deltas.filter(|(_, c)| c.lowers()).map(|(k, _)| k).collect()
}

async fn hours(
    tx: &mut Transaction<'_, Postgres>,
    changes: &PublicChanges,
) -> Result<(), sqlx::Error> {
    if !changes.podcast_hours.is_empty() {
        let (mut feeds, mut buckets, mut counts) = (
            Vec::new(),
            Vec::<DateTime<Utc>>::new(),
            CountColumns::default(),
        );
        for ((feed, bucket), c) in changes.podcast_hours.iter().filter(|(_, c)| !c.is_zero()) {
            feeds.push(feed.as_str());
            buckets.push(*bucket);
            counts.push(c);
        }
        sqlx::query(
            "INSERT INTO site.podcast_popularity_hourly AS t (feed_id, bucket, score, plays, likes)
             SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[])
             ON CONFLICT (feed_key, bucket) DO UPDATE SET score = t.score + EXCLUDED.score,
                 plays = t.plays + EXCLUDED.plays, likes = t.likes + EXCLUDED.likes",
        )
        .bind(&feeds)
        .bind(&buckets)
        .bind(counts.score)
        .bind(counts.plays)
        .bind(counts.likes)
        .execute(&mut **tx)
        .await?;
        let (feeds, buckets): (Vec<&str>, Vec<DateTime<Utc>>) = lowered(
            changes
                .podcast_hours
                .iter()
                .map(|((f, b), c)| ((f.as_str(), *b), c)),
        )
        .into_iter()
        .unzip();
        delete_emptied_hours(
            tx,
            "site.podcast_popularity_hourly",
            "feed_key",
            feeds,
            buckets,
        )
        .await?;
    }
    if !changes.episode_hours.is_empty() {
        let (mut items, mut buckets, mut feeds, mut counts) = (
            Vec::new(),
            Vec::<DateTime<Utc>>::new(),
            Vec::new(),
            CountColumns::default(),
        );
        for ((item, bucket), (feed, c)) in changes
            .episode_hours
            .iter()
            .filter(|(_, (_, c))| !c.is_zero())
        {
            items.push(item.as_str());
            buckets.push(*bucket);
            feeds.push(feed.as_str());
            counts.push(c);
        }
        sqlx::query(
            "INSERT INTO site.episode_popularity_hourly AS t (item_id, bucket, feed_id, score, plays, likes)
             SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
             ON CONFLICT (item_key, bucket) DO UPDATE SET score = t.score + EXCLUDED.score,
                 plays = t.plays + EXCLUDED.plays, likes = t.likes + EXCLUDED.likes",
        )
        .bind(&items)
        .bind(&buckets)
        .bind(feeds)
        .bind(counts.score)
        .bind(counts.plays)
        .bind(counts.likes)
        .execute(&mut **tx)
        .await?;
        let (items, buckets): (Vec<&str>, Vec<DateTime<Utc>>) = lowered(
            changes
                .episode_hours
                .iter()
                .map(|((i, b), (_, c))| ((i.as_str(), *b), c)),
        )
        .into_iter()
        .unzip();
        delete_emptied_hours(
            tx,
            "site.episode_popularity_hourly",
            "item_key",
            items,
            buckets,
        )
        .await?;
    }
    Ok(())
}

/// Deletes the hourly rows of `ids` and `buckets` (pairwise) whose counts fell back to nothing.
/// `table` and `key` (the digest column of the id) are constants of this module.
async fn delete_emptied_hours(
    tx: &mut Transaction<'_, Postgres>,
    table: &'static str,
    key: &'static str,
    ids: Vec<&str>,
    buckets: Vec<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {table}
         WHERE ({key}, bucket) IN
               (SELECT site.id_key(k.id), k.bucket FROM UNNEST($1::text[], $2::timestamptz[]) AS k(id, bucket))
           AND score = 0 AND plays = 0 AND likes = 0"
    )))
    .bind(ids)
    .bind(buckets)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
