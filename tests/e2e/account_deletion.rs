//! Deleting an account through the pipeline: once the deletion is decided and materialized,
//! nothing of the user is left in the read models, the public timeline, the popularity numbers,
//! `public-events` (a tombstone per withdrawn event) or `user-state` (a tombstone per entity, the
//! meta record kept marked deleted); another user is untouched; and the user id never lives
//! again: a later write is refused (410 `account_deleted`) and leaves nothing, a repeated
//! deletion is accepted with nothing to do.

use crate::helpers::command;
use crate::helpers::{Api, Stack, feed_id};
use balados_schemas::{
    CommandEnvelope, CommandPayload, Contract, FeedUrl, StateEntity, Topics, UserStateRecord,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pipeline::{latest_until, outcome, produce, send_deletion, token_of};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

mod pipeline;

pub(crate) use pipeline::delete_account;

const ALICE: &str = "del-alice";
const BOB: &str = "del-bob";

/// Every table keyed by user (the read models and the materializer's bookkeeping), but
/// `users.command_outcomes` (see below).
const USER_TABLES: [&str; 13] = [
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
    "site.popularity_counted",
    "materializer.user_sequences",
    "materializer.sequence_gaps",
];

fn item(n: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("del-{n},https://cdn.example.com/del/{n}.mp3"))
}

/// Whether every list in a read answer is empty (and there is one).
fn empty_lists(body: &Value) -> bool {
    let lists: Vec<&Vec<Value>> = body
        .as_object()
        .map(|o| o.values().filter_map(Value::as_array).collect())
        .unwrap_or_default();
    !lists.is_empty() && lists.iter().all(|l| l.is_empty())
}

async fn feed_score(api: &Api, feed: &str) -> i64 {
    let (status, body) = api
        .read(&format!("/public/feed/{feed}/popularity"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["popularity"]["score"].as_i64().expect("a score")
}

async fn count(pool: &sqlx::PgPool, table: &str, user: &str) -> i64 {
    // `table` is one of the constants above.
    let statement = format!("SELECT count(*) FROM {table} WHERE user_id = $1");
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(statement))
        .bind(user)
        .fetch_one(pool)
        .await
        .expect("countable");
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_deletion() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let topics = Topics::new(&stack.prefix);
    let (alice, bob) = (Api::new(&url, ALICE), Api::new(&url, BOB));
    let shared = feed_id("https://feeds.example.com/del-shared.xml");
    let own = feed_id("https://feeds.example.com/del-own.xml");
    let sub = |feed: &str| Some(json!({ "rss_source_feed": feed }));
    let play = |feed: &str, n: u32| {
        Some(json!({"rss_source_feed": feed, "rss_source_item": item(n), "position": 10}))
    };

    // Alice subscribes and plays publicly, keeps a playlist and a device, and makes one feed
    // anonymous; Bob subscribes to and plays the same feed.
    alice.ok("POST", "/subscriptions", sub(&shared), 3).await;
    alice.ok("POST", "/subscriptions", sub(&own), 2).await;
    alice.ok("POST", "/play", play(&shared, 1), 1).await;
    alice.ok("POST", "/play", play(&own, 2), 1).await;
    let list = Some(json!({"id": "later", "name": "Later"}));
    alice.ok("POST", "/playlists", list, 1).await;
    let device = Some(json!({"caption": "Phone", "type": "mobile"}));
    alice.ok("PUT", "/devices/phone", device, 1).await;
    let anonymous = Some(json!({"privacy": "anonymous", "feed": own}));
    let last = alice.ok("PUT", "/privacy", anonymous, 1).await;
    bob.ok("POST", "/subscriptions", sub(&shared), 3).await;
    let bobs = bob.ok("POST", "/play", play(&shared, 1), 1).await;
    for (api, answer) in [(&alice, &last), (&bob, &bobs)] {
        let token = answer["consistency_token"].as_str().expect("a token");
        assert_eq!(api.read("/privacy", Some(token)).await.0, 200);
    }
    let pool = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("database");
    let alices_events: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT event_id FROM users.public_event_refs WHERE user_id = $1")
            .bind(ALICE)
            .fetch_all(&pool)
            .await
            .expect("references");
    assert_eq!(alices_events.len(), 4, "two subscriptions and two plays");
    assert_eq!(feed_score(&bob, &shared).await, 30, "both users' points");
    // Her 7 outcomes are stored (by another consumer than the events'), so their deletion shows.
    crate::helpers::eventually(Duration::from_secs(20), "her outcomes stored", || async {
        (count(&pool, "users.command_outcomes", ALICE).await == 7).then_some(())
    })
    .await;

    let decided = send_deletion(&stack, ALICE).await;
    assert_eq!((&decided.rejection_code, decided.event_count), (&None, 1));
    let (deletion, token) = (decided.command_id, token_of(&decided));

    // Her read models are gone: through the API (read once the deletion is materialized) and in
    // every table keyed by user.
    for path in [
        "/subscriptions",
        "/play",
        "/privacy",
        "/playlists",
        "/collections",
    ] {
        let (status, body) = alice.read(path, Some(&token)).await;
        assert!(
            status == 200 && empty_lists(&body),
            "{path}: {status} {body}"
        );
    }
    for table in USER_TABLES {
        assert_eq!(
            count(&pool, table, ALICE).await,
            0,
            "{table} keeps her rows"
        );
    }
    let (left,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM site.public_events WHERE event_id = ANY($1)")
            .bind(&alices_events)
            .fetch_one(&pool)
            .await
            .expect("countable");
    assert_eq!(left, 0, "her anonymous events are withdrawn too");
    // The deletion's own outcome may be stored after it (pruned with the others' retention).
    let outcomes: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT command_id FROM users.command_outcomes WHERE user_id = $1")
            .bind(ALICE)
            .fetch_all(&pool)
            .await
            .expect("outcomes");
    assert!(outcomes.iter().all(|id| *id == deletion), "{outcomes:?}");

    // The public side: the timeline shows Bob's activity only, the popularity numbers his points.
    let (status, timeline) = bob.read("/public/timeline?limit=100", None).await;
    assert_eq!(status, 200, "{timeline}");
    let ids: BTreeSet<String> = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "Bob's subscription and play: {timeline}");
    assert!(
        alices_events
            .iter()
            .all(|id| !ids.contains(&id.to_string()))
    );
    assert_eq!(
        feed_score(&bob, &shared).await,
        15,
        "her points are taken back"
    );
    let withdrawn: Vec<String> = alices_events.iter().map(ToString::to_string).collect();
    latest_until(&stack, &topics.public_events, "public events", |latest| {
        withdrawn
            .iter()
            .all(|id| matches!(latest.get(id), Some(None)))
            && ids.iter().all(|id| matches!(latest.get(id), Some(Some(_))))
    })
    .await;

    // A request still being served may send more of hers: refused, and a repeated deletion has
    // nothing to do. Each deletion is decided in a batch of its own, so the last refusal's
    // outcome comes after whatever the commands before it wrote.
    alice
        .rejected("POST", "/subscriptions", sub(&own), 410, "account_deleted")
        .await;
    let again = send_deletion(&stack, ALICE).await;
    assert_eq!((&again.rejection_code, again.event_count), (&None, 0));
    alice
        .rejected("POST", "/play", play(&own, 3), 410, "account_deleted")
        .await;
    assert_eq!(
        crate::helpers::subscriptions(&url, ALICE).await,
        Vec::<String>::new()
    );
    for table in USER_TABLES {
        assert_eq!(
            count(&pool, table, ALICE).await,
            0,
            "{table} has rows again"
        );
    }

    // Every entity record of hers is a tombstone, her meta record says she is deleted (and was
    // not written again after the deletion); Bob's stand.
    let prefix = format!("{ALICE}/");
    let meta = format!("{ALICE}/meta");
    let state = latest_until(&stack, &topics.user_state, "user state", |latest| {
        let entities: Vec<_> = latest
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix) && **k != meta)
            .collect();
        entities.len() >= 8
            && entities.iter().all(|(_, v)| v.is_none())
            && matches!(latest.get(&meta), Some(Some(_)))
            && latest.get(&format!("{BOB}/meta")).is_some()
    })
    .await;
    let hers = (state.iter()).filter(|(k, _)| k.starts_with(&prefix) && **k != meta);
    assert!(
        hers.clone().all(|(_, v)| v.is_none()),
        "{:?}",
        hers.collect::<Vec<_>>()
    );
    let codec = crate::helpers::codec(&stack, &[]).await;
    let bytes = state[&meta].as_deref().expect("her meta record");
    let value = codec
        .decode(Contract::UserState, bytes)
        .await
        .expect("decodes");
    let StateEntity::Meta {
        deleted,
        sequence,
        recent_commands,
        ..
    } = UserStateRecord::from_avro(value).expect("a record").entity
    else {
        panic!("a meta record")
    };
    assert!(deleted);
    assert_eq!(sequence, decided.first_sequence, "the deletion's");
    assert_eq!(
        recent_commands.last().map(|c| c.command_id),
        Some(deletion),
        "the deletion is the last command it remembers"
    );
    assert!(matches!(state.get(&format!("{BOB}/meta")), Some(Some(_))));
    assert_eq!(
        crate::helpers::subscriptions(&url, BOB).await,
        vec![shared.clone()]
    );
    assert_eq!(count(&pool, "users.play_statuses", BOB).await, 1);
    pool.close().await;
}

/// A deletion polled in one batch with commands of its user before and after it is decided in a
/// batch of its own, and the command after it is refused: nothing of it is visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_among_its_users_commands_is_decided_alone() {
    let stack = Stack::start(true).await;
    let codec = crate::helpers::codec(&stack, &[Contract::Command]).await;
    let url = |n: u32| format!("https://feeds.example.com/del-batch-{n}.xml");
    let subscribe = |n: u32| {
        let feed = FeedUrl::parse(&url(n)).expect("valid");
        command(
            ALICE,
            CommandPayload::Subscribe {
                feed,
                source_id: None,
            },
        )
    };
    let commands = [
        subscribe(1),
        command(ALICE, CommandPayload::DeleteAccount {}),
        subscribe(2),
    ];
    let sent: Vec<&CommandEnvelope> = commands.iter().collect();
    produce(&codec, &Topics::new(&stack.prefix).commands, &sent).await;
    let mut decided = Vec::new();
    for command in &commands {
        decided.push(outcome(&stack, &codec, command.command_id).await);
    }
    let sequences: Vec<(u64, u32, Option<&str>)> = decided
        .iter()
        .map(|r| (r.first_sequence, r.event_count, r.rejection_code.as_deref()))
        .collect();
    // A subscription (with the default collection it creates and joins), the deletion after it,
    // and a refusal.
    assert_eq!(
        sequences,
        vec![(1, 3, None), (4, 1, None), (0, 0, Some("account_deleted"))]
    );
    let alice = Api::new(&stack.server().url, ALICE);
    let (status, body) = alice
        .read("/subscriptions", Some(&token_of(&decided[1])))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(empty_lists(&body), "{body}");
}
