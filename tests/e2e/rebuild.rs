//! Rebuild and replay: read models built incrementally from a workload touching every model
//! (privacy changes, removals and account deletions included) equal, table by table, the models
//! after replaying
//! every event again (with two materializer processes sharing the partitions), and the models
//! `balados admin rebuild` makes from the log, into a fresh database and in place.

use crate::helpers::{Api, Stack, binary, create_database, eventually, feed_id};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// Every read model the rebuild recreates, and the users' positions. (Its offsets may differ from
/// the incremental ones while meaning the same: a transaction marker takes an offset.)
const TABLES: [&str; 15] = [
    "users.subscriptions",
    "users.play_statuses",
    "users.user_privacy",
    "users.devices",
    "users.playlists",
    "users.playlist_items",
    "users.collections",
    "users.collection_feeds",
    "users.public_event_refs",
    "site.public_events",
    "site.podcast_popularity",
    "site.episode_popularity",
    "site.podcast_popularity_hourly",
    "site.episode_popularity_hourly",
    "materializer.user_sequences",
];

async fn offsets(pool: &sqlx::PgPool) -> Vec<(String, i32, i64)> {
    sqlx::query_as(
        "SELECT consumer, partition, next_offset FROM materializer.offsets ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .expect("offsets")
}

type Tables = BTreeMap<&'static str, Vec<String>>;

async fn dump(database_url: &str) -> Tables {
    let pool = sqlx::PgPool::connect(database_url).await.expect("database");
    let mut tables = BTreeMap::new();
    for table in TABLES {
        // Table names are the constants above; `updated_at` of the offsets is bookkeeping time.
        let statement =
            format!("SELECT (to_jsonb(t) - 'updated_at')::text FROM {table} t ORDER BY 1");
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(statement))
            .fetch_all(&pool)
            .await
            .expect("readable");
        tables.insert(table, rows.into_iter().map(|(r,)| r).collect());
    }
    pool.close().await;
    tables
}

fn assert_same(expected: &Tables, actual: &Tables, what: &str) {
    for table in TABLES {
        assert_eq!(
            expected[table], actual[table],
            "{what}: {table} differs from the incrementally built one"
        );
    }
}

fn item(user: &str, n: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("{user}-{n},https://cdn.example.com/{user}/{n}.mp3"))
}

/// A write of the workload, which must be accepted (or it would not test what it claims).
async fn write(api: &Api, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = api.call(method, path, body).await;
    assert!(
        matches!(status, 200 | 201) && answer["status"] == "accepted",
        "{method} {path}: {status} {answer}"
    );
    answer
}

/// A workload over every model for `user`; returns the consistency token of its last write.
async fn workload(api: &Api, user: &str, variant: u32) -> String {
    let feeds: Vec<String> = (1..=3)
        .map(|n| feed_id(&format!("https://feeds.example.com/shared-{n}.xml")))
        .collect();
    let sub = |f: &str| Some(json!({ "rss_source_feed": f }));
    let play = |f: &str, n: u32, position: u32| {
        Some(json!({"rss_source_feed": f, "rss_source_item": item(user, n), "position": position}))
    };
    for feed in &feeds {
        write(api, "POST", "/subscriptions", sub(feed)).await;
    }
    write(api, "DELETE", &format!("/subscriptions/{}", feeds[2]), None).await;
    for n in 1..=4 {
        write(
            api,
            "POST",
            "/play",
            play(&feeds[(n % 2) as usize], n, 10 * n),
        )
        .await;
    }
    write(
        api,
        "PUT",
        &format!("/play/{}/position", item(user, 1)),
        Some(json!({"position": 77})),
    )
    .await;
    write(
        api,
        "POST",
        &format!("/episodes/{}/save", item(user, 2)),
        sub(&feeds[0]),
    )
    .await;
    write(
        api,
        "POST",
        &format!("/episodes/{}/share", item(user, 3)),
        sub(&feeds[1]),
    )
    .await;
    write(
        api,
        "POST",
        &format!("/episodes/{}/save", item(user, 4)),
        sub(&feeds[0]),
    )
    .await;
    write(
        api,
        "DELETE",
        &format!("/episodes/{}/save", item(user, 4)),
        None,
    )
    .await;
    // Privacy: anonymous globally, then one feed private (withdraws), then an episode public.
    write(
        api,
        "PUT",
        "/privacy",
        Some(json!({"privacy": "anonymous"})),
    )
    .await;
    write(api, "POST", "/play", play(&feeds[0], 5, 5)).await;
    if variant.is_multiple_of(2) {
        write(
            api,
            "PUT",
            "/privacy",
            Some(json!({"privacy": "private", "feed": feeds[1]})),
        )
        .await;
    } else {
        write(api, "DELETE", &format!("/events?feed={}", feeds[0]), None).await;
    }
    write(
        api,
        "PUT",
        "/privacy",
        Some(json!({"privacy": "public", "item": item(user, 6)})),
    )
    .await;
    write(api, "POST", "/play", play(&feeds[1], 6, 6)).await;
    write(
        api,
        "POST",
        "/playlists",
        Some(json!({"id": "a", "name": "A"})),
    )
    .await;
    write(
        api,
        "POST",
        "/playlists",
        Some(json!({"id": "b", "name": "B", "public": true})),
    )
    .await;
    for n in 1..=3 {
        let body = json!({"rss_source_feed": feeds[0], "rss_source_item": item(user, n)});
        write(api, "POST", "/playlists/a/items", Some(body)).await;
    }
    let order = json!({"items": [item(user, 2), item(user, 3), item(user, 1)]});
    write(api, "PUT", "/playlists/a/order", Some(order)).await;
    write(api, "DELETE", "/playlists/b", None).await;
    // A bulk sync: its events are ordinary ones, so the rebuild gives the same rows.
    let now = chrono::Utc::now().to_rfc3339();
    let synced = json!({
        "subscriptions": [{"rss_source_feed": feeds[2], "subscribed_at": now}],
        "play_statuses": [{"rss_source_feed": feeds[0], "rss_source_item": item(user, 9),
            "position": 60, "duration": 60, "played": true, "updated_at": now}],
        "playlists": [{"id": "synced", "name": "Synced", "updated_at": now, "items": [
            {"rss_source_feed": feeds[0], "rss_source_item": item(user, 9), "added_at": now}]}],
    });
    let (status, answer) = api.call("POST", "/sync", Some(synced)).await;
    assert_eq!(status, 200, "{answer}");
    write(
        api,
        "POST",
        "/collections",
        Some(json!({"id": "c", "title": "C"})),
    )
    .await;
    write(api, "POST", "/collections/c/feeds", sub(&feeds[0])).await;
    write(api, "POST", "/collections/c/feeds", sub(&feeds[1])).await;
    write(
        api,
        "PUT",
        &format!("/collections/c/feeds/{}/position", feeds[1]),
        Some(json!({"position": 0})),
    )
    .await;
    let last = write(
        api,
        "PUT",
        "/devices/phone",
        Some(json!({"caption": format!("{user}'s phone"), "type": "mobile"})),
    )
    .await;
    last["consistency_token"]
        .as_str()
        .unwrap_or_else(|| panic!("the last write was accepted: {last}"))
        .to_owned()
}

/// Runs `balados admin rebuild` into `database_url`; what it printed.
pub(crate) fn rebuild(stack: &Stack, database_url: &str) -> String {
    let mut env = stack.server_env();
    env.push(("BALADOS__DATABASE__URL".into(), database_url.to_owned()));
    let output = std::process::Command::new(binary())
        .args(["admin", "rebuild"])
        .envs(env)
        .output()
        .expect("balados admin rebuild runs");
    assert!(
        output.status.success(),
        "rebuild failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(said.contains("rebuilt:"), "{said}");
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_and_rebuilds_equal_the_incremental_models() {
    let mut stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    for n in 0..4 {
        let user = format!("rb-{n}");
        let api = Api::new(&url, &user);
        let token = workload(&api, &user, n).await;
        let (status, body) = api.read("/play", Some(&token)).await;
        assert_eq!(status, 200, "{body}");
    }
    // A deleted user vanishes, with whatever they sent after their deletion (refused).
    for (n, later) in [(4, false), (5, true)] {
        let user = format!("rb-{n}");
        let api = Api::new(&url, &user);
        workload(&api, &user, n).await;
        let (_, token) = crate::account_deletion::delete_account(&stack, &user).await;
        if later {
            let feed = feed_id("https://feeds.example.com/shared-1.xml");
            let sub = Some(json!({ "rss_source_feed": feed }));
            api.rejected("POST", "/subscriptions", sub, 410, "account_deleted")
                .await;
        }
        let (status, body) = api.read("/play", Some(&token)).await;
        assert_eq!(status, 200, "{body}");
    }
    let incremental = dump(&stack.database_url).await;
    assert!(
        incremental["site.public_events"].len() > 10
            && !incremental["users.playlist_items"].is_empty()
            && !incremental["users.user_privacy"].is_empty(),
        "the workload reached every model: {incremental:?}"
    );
    // Lag is exported: projection lag per batch, consumer lag from the client's statistics.
    eventually(Duration::from_secs(20), "lag metrics", || async {
        let text = crate::helpers::metrics(&url).await;
        (text.contains("balados_materializer_projection_lag_seconds")
            && text.contains("balados_materializer_consumer_lag{partition=\""))
        .then_some(())
    })
    .await;
    stack.server.take().expect("server").kill();

    // Replay: every event again, by two materializers sharing the partitions.
    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    let reached = offsets(&pool).await;
    sqlx::query("UPDATE materializer.offsets SET next_offset = 0")
        .execute(&pool)
        .await
        .expect("reset");
    let materializers = [
        stack.spawn_service("materializer", &[]),
        stack.spawn_service("materializer", &[]),
    ];
    eventually(Duration::from_secs(60), "the replay caught up", || async {
        (offsets(&pool).await == reached).then_some(())
    })
    .await;
    drop(materializers);
    pool.close().await;
    assert_same(
        &incremental,
        &dump(&stack.database_url).await,
        "after a replay",
    );

    // Rebuild into a fresh database, then in place.
    let fresh = create_database(&format!("{}rb", stack.prefix)).await;
    rebuild(&stack, &fresh);
    assert_same(
        &incremental,
        &dump(&fresh).await,
        "rebuilt into a fresh database",
    );
    rebuild(&stack, &stack.database_url);
    assert_same(
        &incremental,
        &dump(&stack.database_url).await,
        "rebuilt in place",
    );
}
