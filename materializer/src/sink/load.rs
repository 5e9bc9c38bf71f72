//! Reading what a batch's fold needs: the users' positions (locked), their privacy settings, the
//! lists the batch touches, and the earlier public events that a privacy change may revise.

use crate::apply::lists::{CollectionRow, ListItem, Lists, PlaylistRow};
use crate::apply::privacy::PrivacySettings;
use crate::apply::public::{CountKey, PublicItem, PublicKind, PublicRow};
use crate::apply::{Loaded, Needs, Positions};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use std::collections::{HashMap, HashSet};

pub async fn load(
    tx: &mut Transaction<'_, Postgres>,
    needs: &Needs,
) -> Result<Loaded, sqlx::Error> {
    Ok(Loaded {
        positions: positions(tx, &needs.users).await?,
        privacy: privacy(tx, &needs.users).await?,
        lists: lists(tx, needs).await?,
        earlier: earlier(tx, needs).await?,
        held: held(tx, &needs.users).await?,
        counted: counted(tx, needs).await?,
    })
}

/// Which of the batch's popularity keys counted already (in an earlier batch).
async fn counted(
    tx: &mut Transaction<'_, Postgres>,
    needs: &Needs,
) -> Result<HashSet<CountKey>, sqlx::Error> {
    if needs.counting.is_empty() {
        return Ok(HashSet::new());
    }
    let keys: Vec<&CountKey> = needs.counting.iter().collect();
    let (users, days, kinds, targets) = super::public::key_columns(keys.iter().copied());
    // EXISTS per key, through the primary key: a join let the plan scan the whole table.
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT k.n FROM UNNEST($1::text[], $2::date[], $3::text[], $4::text[])
                WITH ORDINALITY AS k(user_id, day, kind, target, n)
         WHERE EXISTS (SELECT 1 FROM site.popularity_counted c
                       WHERE c.user_id = k.user_id AND c.day = k.day AND c.kind = k.kind
                         AND c.target_hash = decode(md5(k.target), 'hex'))",
    )
    .bind(users)
    .bind(days)
    .bind(kinds)
    .bind(targets)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(n,)| usize::try_from(n - 1).ok())
        .filter_map(|i| keys.get(i).map(|k| (*k).clone()))
        .collect())
}

/// The users held at a sequence gap (see `materializer.sequence_gaps`).
async fn held(
    tx: &mut Transaction<'_, Postgres>,
    users: &[String],
) -> Result<HashSet<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT g.user_id FROM UNNEST($1::text[]) AS u(user_id)
         JOIN materializer.sequence_gaps g USING (user_id)",
    )
    .bind(users)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

async fn positions(
    tx: &mut Transaction<'_, Postgres>,
    users: &[String],
) -> Result<HashMap<String, Positions>, sqlx::Error> {
    // FOR UPDATE: two materializers briefly owning one partition during a rebalance serialise
    // here instead of applying the same event twice.
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.user_id, s.last_sequence, s.public_sequence, s.last_position
         FROM UNNEST($1::text[]) AS u(user_id) JOIN materializer.user_sequences s USING (user_id)
         ORDER BY s.user_id FOR UPDATE OF s",
    )
    .bind(users)
    .fetch_all(&mut **tx)
    .await?;
    let sequence = |s: i64| u64::try_from(s).unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(|(user, per_user, public, sync)| {
            (
                user,
                Positions {
                    per_user: sequence(per_user),
                    public: sequence(public),
                    sync,
                },
            )
        })
        .collect())
}

async fn privacy(
    tx: &mut Transaction<'_, Postgres>,
    users: &[String],
) -> Result<HashMap<String, PrivacySettings>, sqlx::Error> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        // A join with the ids rather than `= ANY($1)`: the planner otherwise scans the whole table
        // once per batch (measured: 17 % of the batch's statement time, bench/README.md §3).
        "SELECT p.user_id, p.scope, p.scope_id, p.privacy
         FROM UNNEST($1::text[]) AS u(user_id) JOIN users.user_privacy p USING (user_id)",
    )
    .bind(users)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_user: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for (user, scope, id, value) in rows {
        by_user.entry(user).or_default().push((scope, id, value));
    }
    Ok(by_user
        .into_iter()
        .map(|(user, rows)| {
            let settings = PrivacySettings::from_rows(
                rows.iter()
                    .map(|(s, i, v)| (s.as_str(), i.as_str(), v.as_str())),
            );
            (user, settings)
        })
        .collect())
}

fn split(keys: &std::collections::BTreeSet<(String, String)>) -> (Vec<&str>, Vec<&str>) {
    keys.iter().map(|(u, i)| (u.as_str(), i.as_str())).unzip()
}

type PlaylistFields = (String, String, String, Option<String>, bool);
type ItemFields = (String, String, String, String, String, String, String);
type CollectionFields = (String, String, String, bool, bool);

async fn lists(tx: &mut Transaction<'_, Postgres>, needs: &Needs) -> Result<Lists, sqlx::Error> {
    let mut lists = Lists::default();
    if !needs.playlists.is_empty() {
        let (users, ids) = split(&needs.playlists);
        let rows: Vec<PlaylistFields> = sqlx::query_as(
            "SELECT p.user_id, p.playlist_id, p.name, p.description, p.public
             FROM users.playlists p JOIN UNNEST($1::text[], $2::text[]) AS k(user_id, playlist_id)
               USING (user_id, playlist_id)",
        )
        .bind(&users)
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await?;
        for (user, id, name, description, public) in rows {
            let row = PlaylistRow {
                name,
                description,
                public,
                items: Vec::new(),
            };
            lists.playlists.insert((user, id), Some(row));
        }
        let items: Vec<ItemFields> = sqlx::query_as(
            "SELECT i.user_id, i.playlist_id, i.item_id, i.feed_id, i.feed_url, i.guid, i.enclosure_url
             FROM users.playlist_items i JOIN UNNEST($1::text[], $2::text[]) AS k(user_id, playlist_id)
               USING (user_id, playlist_id)
             ORDER BY i.user_id, i.playlist_id, i.position",
        )
        .bind(&users)
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await?;
        for (user, id, item_id, feed_id, feed_url, guid, enclosure_url) in items {
            if let Some(Some(playlist)) = lists.playlists.get_mut(&(user, id)) {
                playlist.items.push(ListItem {
                    item_id,
                    feed_id,
                    feed_url,
                    guid,
                    enclosure_url,
                });
            }
        }
    }
    if !needs.collections.is_empty() {
        let (users, ids) = split(&needs.collections);
        let rows: Vec<CollectionFields> = sqlx::query_as(
            "SELECT c.user_id, c.collection_id, c.title, c.is_default, c.public
             FROM users.collections c JOIN UNNEST($1::text[], $2::text[]) AS k(user_id, collection_id)
               USING (user_id, collection_id)",
        )
        .bind(&users)
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await?;
        for (user, id, title, is_default, public) in rows {
            let row = CollectionRow {
                title,
                is_default,
                public,
                feeds: Vec::new(),
            };
            lists.collections.insert((user, id), Some(row));
        }
        let feeds: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT f.user_id, f.collection_id, f.feed_id, f.feed_url
             FROM users.collection_feeds f JOIN UNNEST($1::text[], $2::text[]) AS k(user_id, collection_id)
               USING (user_id, collection_id)
             ORDER BY f.user_id, f.collection_id, f.position",
        )
        .bind(&users)
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await?;
        for (user, id, feed_id, feed_url) in feeds {
            if let Some(Some(collection)) = lists.collections.get_mut(&(user, id)) {
                collection.feeds.push((feed_id, feed_url));
            }
        }
    }
    Ok(lists)
}

#[derive(sqlx::FromRow)]
struct EarlierRow {
    event_id: uuid::Uuid,
    event_type: String,
    user_id: Option<String>,
    feed_id: String,
    feed_url: String,
    item_id: Option<String>,
    guid: Option<String>,
    enclosure_url: Option<String>,
    occurred_at: DateTime<Utc>,
    bucket: Option<DateTime<Utc>>,
    counted: bool,
}

/// The public events of the users whose privacy changes, by owner, oldest first. Two lookups by
/// key, each through its index, joined here: as one join, a plan cached while the tables were
/// small hashed every public event once per batch (27 % of the statement time, bench §3).
async fn earlier(
    tx: &mut Transaction<'_, Postgres>,
    needs: &Needs,
) -> Result<HashMap<String, Vec<PublicRow>>, sqlx::Error> {
    if needs.revising.is_empty() {
        return Ok(HashMap::new());
    }
    let users: Vec<&str> = needs.revising.iter().map(String::as_str).collect();
    let refs: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT event_id, user_id FROM users.public_event_refs WHERE user_id = ANY($1)",
    )
    .bind(&users)
    .fetch_all(&mut **tx)
    .await?;
    if refs.is_empty() {
        return Ok(HashMap::new());
    }
    let mut owners: HashMap<uuid::Uuid, String> = refs.into_iter().collect();
    let ids: Vec<uuid::Uuid> = owners.keys().copied().collect();
    let rows: Vec<EarlierRow> = sqlx::query_as(
        "SELECT event_id, event_type, user_id, feed_id, feed_url, item_id, guid, enclosure_url,
                occurred_at, bucket, counted
         FROM site.public_events WHERE event_id = ANY($1)
         ORDER BY occurred_at, event_id",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_user: HashMap<String, Vec<PublicRow>> = HashMap::new();
    for row in rows {
        let Some(kind) = PublicKind::parse(&row.event_type) else {
            continue; // the table's CHECK constraint makes this unreachable
        };
        let Some(owner) = owners.remove(&row.event_id) else {
            continue; // each id was asked for once
        };
        let item = match (row.item_id, row.guid, row.enclosure_url) {
            (Some(item_id), Some(guid), Some(enclosure_url)) => Some(PublicItem {
                item_id,
                guid,
                enclosure_url,
            }),
            _ => None,
        };
        by_user.entry(owner).or_default().push(PublicRow {
            event_id: row.event_id,
            kind,
            user_id: row.user_id,
            feed_id: row.feed_id,
            feed_url: row.feed_url,
            item,
            occurred_at: row.occurred_at,
            bucket: row.bucket,
            counted: row.counted,
        });
    }
    Ok(by_user)
}
