//! Writing the playlists and collections a batch touched: each is deleted and written again whole
//! (lists are bounded by the aggregate's limits), four set-based statements per kind.

use crate::apply::lists::Lists;
use sqlx::{Postgres, Transaction};

pub async fn write(tx: &mut Transaction<'_, Postgres>, lists: &Lists) -> Result<(), sqlx::Error> {
    if !lists.playlists.is_empty() {
        write_playlists(tx, lists).await?;
    }
    if !lists.collections.is_empty() {
        write_collections(tx, lists).await?;
    }
    Ok(())
}

fn position(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

async fn write_playlists(
    tx: &mut Transaction<'_, Postgres>,
    lists: &Lists,
) -> Result<(), sqlx::Error> {
    let (users, ids): (Vec<&str>, Vec<&str>) = lists
        .playlists
        .keys()
        .map(|(u, i)| (u.as_str(), i.as_str()))
        .unzip();
    for table in [
        "DELETE FROM users.playlist_items t USING UNNEST($1::text[], $2::text[]) AS k(user_id, id)
         WHERE t.user_id = k.user_id AND t.playlist_id = k.id",
        "DELETE FROM users.playlists t USING UNNEST($1::text[], $2::text[]) AS k(user_id, id)
         WHERE t.user_id = k.user_id AND t.playlist_id = k.id",
    ] {
        sqlx::query(table)
            .bind(&users)
            .bind(&ids)
            .execute(&mut **tx)
            .await?;
    }
    let (mut p_users, mut p_ids, mut names, mut descriptions, mut publics) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut items: [Vec<String>; 7] = Default::default();
    let mut positions = Vec::new();
    for ((user, id), playlist) in &lists.playlists {
        let Some(playlist) = playlist else { continue };
        p_users.push(user.as_str());
        p_ids.push(id.as_str());
        names.push(playlist.name.as_str());
        descriptions.push(playlist.description.as_deref());
        publics.push(playlist.public);
        for (index, item) in playlist.items.iter().enumerate() {
            let fields = [
                user,
                id,
                &item.item_id,
                &item.feed_id,
                &item.feed_url,
                &item.guid,
                &item.enclosure_url,
            ];
            for (column, value) in items.iter_mut().zip(fields) {
                column.push(value.clone());
            }
            positions.push(position(index));
        }
    }
    sqlx::query(
        "INSERT INTO users.playlists (user_id, playlist_id, name, description, public)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[])",
    )
    .bind(p_users)
    .bind(p_ids)
    .bind(names)
    .bind(descriptions)
    .bind(publics)
    .execute(&mut **tx)
    .await?;
    let [users, ids, item_ids, feed_ids, feed_urls, guids, enclosures] = items;
    sqlx::query(
        "INSERT INTO users.playlist_items
             (user_id, playlist_id, item_id, feed_id, feed_url, guid, enclosure_url, position)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::int[])",
    )
    .bind(users)
    .bind(ids)
    .bind(item_ids)
    .bind(feed_ids)
    .bind(feed_urls)
    .bind(guids)
    .bind(enclosures)
    .bind(positions)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_collections(
    tx: &mut Transaction<'_, Postgres>,
    lists: &Lists,
) -> Result<(), sqlx::Error> {
    let (users, ids): (Vec<&str>, Vec<&str>) = lists
        .collections
        .keys()
        .map(|(u, i)| (u.as_str(), i.as_str()))
        .unzip();
    for table in [
        "DELETE FROM users.collection_feeds t USING UNNEST($1::text[], $2::text[]) AS k(user_id, id)
         WHERE t.user_id = k.user_id AND t.collection_id = k.id",
        "DELETE FROM users.collections t USING UNNEST($1::text[], $2::text[]) AS k(user_id, id)
         WHERE t.user_id = k.user_id AND t.collection_id = k.id",
    ] {
        sqlx::query(table)
            .bind(&users)
            .bind(&ids)
            .execute(&mut **tx)
            .await?;
    }
    let (mut c_users, mut c_ids, mut titles, mut defaults, mut publics) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut f_users, mut f_ids, mut feed_ids, mut feed_urls, mut positions) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((user, id), collection) in &lists.collections {
        let Some(collection) = collection else {
            continue;
        };
        c_users.push(user.as_str());
        c_ids.push(id.as_str());
        titles.push(collection.title.as_str());
        defaults.push(collection.is_default);
        publics.push(collection.public);
        for (index, (feed_id, feed_url)) in collection.feeds.iter().enumerate() {
            f_users.push(user.as_str());
            f_ids.push(id.as_str());
            feed_ids.push(feed_id.as_str());
            feed_urls.push(feed_url.as_str());
            positions.push(position(index));
        }
    }
    sqlx::query(
        "INSERT INTO users.collections (user_id, collection_id, title, is_default, public)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bool[], $5::bool[])",
    )
    .bind(c_users)
    .bind(c_ids)
    .bind(titles)
    .bind(defaults)
    .bind(publics)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO users.collection_feeds (user_id, collection_id, feed_id, feed_url, position)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int[])",
    )
    .bind(f_users)
    .bind(f_ids)
    .bind(feed_ids)
    .bind(feed_urls)
    .bind(positions)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
