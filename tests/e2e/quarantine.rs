//! Events the materializer cannot apply are quarantined with their reason and position, and the
//! partition goes on: one that cannot be decoded, and one PostgreSQL refuses (a NUL byte in a
//! text), each followed by a good event of the same user.

use crate::helpers::{Stack, event, eventually, kafka_bootstrap};
use balados_schemas::{Contract, EventPayload, FeedUrl, Topics};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unappliable_events_are_quarantined_and_the_partition_goes_on() {
    let stack = Stack::start(true).await;
    let topics = Topics::new(&stack.prefix);
    let codec = crate::helpers::codec(&stack, &[Contract::Event]).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("partitioner", "murmur2_random")
        .create()
        .expect("producer");
    let feed = FeedUrl::parse("https://feeds.example.com/quarantine.xml").expect("valid");
    let refused = event(
        "quinn",
        1,
        EventPayload::DeviceUpserted {
            device_id: "phone".to_owned(),
            caption: Some("nul \u{0} byte".to_owned()),
            kind: None,
        },
    );
    let good = event(
        "quinn",
        2,
        EventPayload::Subscribed {
            feed: feed.clone(),
            source_id: None,
            subscribed_at: chrono::Utc::now(),
        },
    );
    let mut values = vec![b"not avro at all".to_vec()];
    for e in [&refused, &good] {
        values.push(codec.encode(Contract::Event, e.to_avro()).expect("encodes"));
    }
    for value in &values {
        let record = FutureRecord::to(&topics.events).key("quinn").payload(value);
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .expect("produced");
    }

    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    eventually(
        Duration::from_secs(30),
        "the good event applied",
        || async {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM users.subscriptions WHERE user_id = 'quinn' AND feed_id = $1",
            )
            .bind(feed.id())
            .fetch_one(&pool)
            .await
            .expect("query");
            (n == 1).then_some(())
        },
    )
    .await;
    let quarantined: Vec<(i64, String, bool)> = sqlx::query_as(
        "SELECT \"offset\", reason, payload IS NOT NULL FROM materializer.quarantine ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("quarantine");
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    assert!(
        quarantined.iter().all(|(_, _, payload)| *payload),
        "kept with their bytes: {quarantined:?}"
    );
    assert!(
        quarantined[1].1.contains("refused by PostgreSQL"),
        "{quarantined:?}"
    );
    let (devices,): (i64,) = sqlx::query_as("SELECT count(*) FROM users.devices")
        .fetch_one(&pool)
        .await
        .expect("devices");
    assert_eq!(devices, 0, "the refused event is not half-applied");

    // A rebuild applies the same rule: both set aside, the good event applied, nothing stops it.
    let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let rebuilt_url = crate::helpers::create_database(&name).await;
    let said = crate::rebuild::rebuild(&stack, &rebuilt_url);
    assert!(said.contains("2 quarantined"), "{said}");
    let rebuilt = sqlx::PgPool::connect(&rebuilt_url).await.expect("database");
    let (subscriptions,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM users.subscriptions WHERE user_id = 'quinn'")
            .fetch_one(&rebuilt)
            .await
            .expect("query");
    let (set_aside,): (i64,) = sqlx::query_as("SELECT count(*) FROM materializer.quarantine")
        .fetch_one(&rebuilt)
        .await
        .expect("query");
    assert_eq!((subscriptions, set_aside), (1, 2));
}

/// Text that does not compress (PostgreSQL would otherwise fit a repetitive key in an index).
fn incompressible(len: usize, seed: u64) -> String {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect()
}

/// The largest legal ids are stored and found even when they do not compress (a subscription and a
/// play whose ids are 2,731 and 3,400 bytes of base64, longer than a btree entry may be: the
/// indexes hold their digests), and a URL over the bound is refused at the edge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_ids_fit_the_indexes_and_longer_ones_are_refused_at_the_edge() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let user = "u".repeat(balados_schemas::ids::MAX_USER_ID_LEN);
    let api = crate::helpers::Api::new(&url, &user);
    let head = "https://e.com/";
    let max = balados_schemas::ids::MAX_FEED_URL_LEN;
    let feed = format!(
        "{head}{}",
        incompressible(max - head.len(), 0x9e37_79b9_7f4a_7c15)
    );
    let enclosure = format!(
        "{head}{}",
        incompressible(max - head.len(), 0x2545_f491_4f6c_dd1d)
    );
    let guid = incompressible(balados_schemas::ids::MAX_GUID_LEN, 0x1234_5678_9abc_def1);
    let too_long = format!("{feed}x");
    let feed_id = crate::helpers::feed_id(&feed);
    api.rejected(
        "POST",
        "/subscriptions",
        Some(serde_json::json!({ "rss_source_feed": crate::helpers::feed_id(&too_long) })),
        422,
        "invalid_feed_url",
    )
    .await;
    api.ok(
        "POST",
        "/subscriptions",
        Some(serde_json::json!({ "rss_source_feed": feed_id })),
        3,
    )
    .await;
    let item = crate::helpers::feed_id(&format!("{guid},{enclosure}"));
    let play = serde_json::json!({
        "rss_source_feed": feed_id, "rss_source_item": item, "position": 1, "played": true
    });
    api.ok("POST", "/play", Some(play), 1).await;
    let privacy = serde_json::json!({ "privacy": "anonymous", "item": item });
    api.ok("PUT", "/privacy", Some(privacy), 1).await;
    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    eventually(Duration::from_secs(30), "the play applied", || async {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM users.play_statuses p JOIN users.user_privacy v USING (user_id)
             WHERE p.user_id = $1 AND length(p.item_id) > 2500",
        )
        .bind(&user)
        .fetch_one(&pool)
        .await
        .expect("query");
        (n == 1).then_some(())
    })
    .await;
    assert_eq!(
        crate::helpers::subscriptions(&url, &user).await,
        vec![feed_id]
    );
    let (quarantined,): (i64,) = sqlx::query_as("SELECT count(*) FROM materializer.quarantine")
        .fetch_one(&pool)
        .await
        .expect("quarantine");
    assert_eq!(quarantined, 0, "nothing refused by PostgreSQL");
}
