//! A sync answer holds at most a page (1,000 subscriptions and 1,000 play statuses) and says when
//! more remains; `GET /api/v1/sync?since=<sync_token>` reads the next page. A device reads a user
//! of 1,200 subscriptions and 2,500 play statuses in pages while another device changes an episode
//! it already has, one it has not reached, adds one and unsubscribes a feed: every row comes, the
//! changed ones again with their new state, nothing else twice, and the last token is where the
//! next sync starts.

use super::{ago, item, sync};
use crate::helpers::{Api, Stack, feed_id};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PAGE: usize = 1_000;
const FEEDS: u32 = 1_200;
const EPISODES: u32 = 2_500;

fn feed(n: u32) -> String {
    feed_id(&format!("https://feeds.example.com/pages/{n}.xml"))
}

fn play(n: u32, position: u32, secs_ago: i64) -> Value {
    json!({"rss_source_feed": feed(0), "rss_source_item": item(n), "position": position,
           "duration": 3_600, "played": false, "updated_at": ago(secs_ago)})
}

/// Every entry of a page's list, by `key`, appended to what was seen before.
fn collect(seen: &mut BTreeMap<String, Vec<Value>>, list: &Value, key: &str) -> usize {
    let entries = list.as_array().expect("a list");
    for e in entries {
        let id = e[key].as_str().expect("an id").to_owned();
        seen.entry(id).or_default().push(e.clone());
    }
    entries.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_answer_comes_in_pages_and_a_write_between_pages_is_not_lost() {
    let stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "sync-pages");

    // Device B: the subscriptions, then the episodes in two syncs (one holds 2,000 at most).
    let subs: Vec<Value> = (0..FEEDS)
        .map(|n| json!({"rss_source_feed": feed(n), "subscribed_at": ago(3_000)}))
        .collect();
    let b = sync(&api, json!({"subscriptions": subs})).await;
    assert_eq!(b["conflicts"], json!([]), "{b}");
    for range in [0..2_000, 2_000..EPISODES] {
        let plays: Vec<Value> = range.map(|n| play(n, 60, 2_000)).collect();
        let b = sync(&api, json!({"play_statuses": plays})).await;
        assert_eq!(b["conflicts"], json!([]), "{b}");
    }

    // Device A, first sync: the first page, with the playlists and the conflicts.
    let mut page = sync(&api, json!({"last_sync": null})).await;
    assert_eq!(page["more"], true, "{page}");
    assert!(page["changes"]["playlists"].is_array(), "{page}");
    let (mut subs_seen, mut plays_seen) = (BTreeMap::new(), BTreeMap::new());
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "the reading ends");
        let changes = &page["changes"];
        let s = collect(&mut subs_seen, &changes["subscriptions"], "rss_source_feed");
        let p = collect(&mut plays_seen, &changes["plays"], "rss_source_item");
        assert!(
            s <= PAGE && p <= PAGE,
            "page {pages}: {s} subscriptions, {p} plays"
        );
        if pages > 1 {
            assert!(changes.get("playlists").is_none(), "only the first page");
            assert_eq!(page["conflicts"], json!([]));
        }
        if page["more"] == false {
            break;
        }
        if pages == 2 {
            // Between pages, device B: a newer position of an episode A has, one A has not
            // reached, a new episode, and a feed A has unsubscribed.
            let b = sync(
                &api,
                json!({
                    "play_statuses": [play(5, 777, 10), play(EPISODES - 1, 888, 10),
                                      play(9_000, 999, 10)],
                    "subscriptions": [{"rss_source_feed": feed(3), "subscribed_at": ago(3_000),
                                       "unsubscribed_at": ago(10)}],
                }),
            )
            .await;
            assert_eq!(b["conflicts"], json!([]), "{b}");
            assert!(
                plays_seen.contains_key(&item(5)),
                "item 5 came before the write"
            );
            assert!(
                !plays_seen.contains_key(&item(EPISODES - 1)),
                "not reached yet"
            );
        }
        let token = page["sync_token"].as_str().expect("a token").to_owned();
        let (status, next) = api.read(&format!("/sync?since={token}"), None).await;
        assert_eq!(status, 200, "{next}");
        page = next;
    }
    assert_eq!(
        pages, 4,
        "1,200 subscriptions and 2,501 play statuses in pages of 1,000"
    );

    // Every row came; twice only what changed after it came, the second time as it is now.
    assert_eq!(subs_seen.len(), FEEDS as usize);
    assert_eq!(plays_seen.len(), EPISODES as usize + 1);
    let twice: Vec<&String> = (subs_seen.iter().chain(&plays_seen))
        .filter(|(_, seen)| seen.len() > 1)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        twice,
        [&feed(3), &item(5)],
        "only the rows changed after they came"
    );
    assert_eq!(subs_seen[&feed(3)][1]["subscribed"], false);
    let latest = |n: u32| plays_seen[&item(n)].last().map(|p| p["position"].clone());
    assert_eq!(latest(5), Some(json!(777)));
    assert_eq!(latest(EPISODES - 1), Some(json!(888)));
    assert_eq!(latest(9_000), Some(json!(999)));

    // The last token is where the next sync starts: nothing new, nothing again.
    let after = sync(&api, json!({"last_sync": page["sync_token"]})).await;
    assert_eq!(after["more"], false, "{after}");
    assert_eq!(after["changes"]["subscriptions"], json!([]), "{after}");
    assert_eq!(after["changes"]["plays"], json!([]), "{after}");
}
