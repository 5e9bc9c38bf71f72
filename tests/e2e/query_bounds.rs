//! The read API's bounds against the real PostgreSQL: cursors and ids PostgreSQL refuses (a time
//! before 4713 BC, a NUL byte) and offsets past the bound are 422 with a stable code (they were
//! 503s, or a scan of the whole list), while cursors the API hands out still page as before.
//! Its own test binary, so that it can run alone:
//! `cargo test -p balados-e2e --test query_bounds -- --test-threads=1`.

#[path = "helpers.rs"]
#[expect(dead_code, reason = "this test uses a few of the shared helpers")]
mod helpers;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helpers::{Api, Stack, feed_id};
use serde_json::json;

fn item_id(n: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("qb-{n},https://cdn.example.com/qb/{n}.mp3"))
}

fn cursor(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_cursors_ids_and_offsets_are_422_and_valid_cursors_still_page() {
    let stack = Stack::start(true).await;
    let api = Api::new(&stack.server().url, "query-bounds");
    let feed = feed_id("https://feeds.example.com/query-bounds.xml");
    let mut token = String::new();
    for n in 1..=3u32 {
        let body = json!({"rss_source_feed": feed, "rss_source_item": item_id(n), "position": n});
        let answer = api.ok("POST", "/play", Some(body), 1).await;
        token = answer["consistency_token"]
            .as_str()
            .expect("a token")
            .to_owned();
    }

    // Valid input pages as before: two plays, then the third after the cursor.
    let (status, first) = api.read("/play?limit=2", Some(&token)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["play_statuses"].as_array().map(Vec::len), Some(2));
    let next = first["pagination"]["next_cursor"]
        .as_str()
        .expect("a full page has a next cursor");
    let (status, second) = api
        .read(&format!("/play?limit=2&cursor={next}"), None)
        .await;
    assert_eq!(status, 200, "{second}");
    let seen = |page: &serde_json::Value| -> Vec<String> {
        page["play_statuses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["rss_source_item"].as_str().map(str::to_owned))
            .collect()
    };
    let (mut all, rest) = (seen(&first), seen(&second));
    assert_eq!(rest.len(), 1, "{second}");
    all.extend(rest);
    all.sort();
    assert_eq!(
        all,
        [item_id(1), item_id(2), item_id(3)],
        "three plays, each once"
    );
    let (status, page) = api.read("/play?offset=10000", None).await;
    assert_eq!(
        (status, page["play_statuses"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    // The public timeline's cursor too (plays are public by default), once they are published.
    let public = helpers::eventually(
        std::time::Duration::from_secs(20),
        "the plays on the public timeline",
        || async {
            let (status, page) = api
                .read("/public/timeline?user_id=query-bounds&limit=2", None)
                .await;
            (status == 200 && page["events"].as_array().map(Vec::len) == Some(2)).then_some(page)
        },
    )
    .await;
    let next = public["pagination"]["next_cursor"].as_str().expect("full");
    let (status, rest) = api
        .read(
            &format!("/public/timeline?user_id=query-bounds&cursor={next}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rest}");

    // What PostgreSQL refuses, or what would make it scan, is the client's error.
    for (path, code) in [
        (
            format!("/play?cursor={}", cursor("-210866803200000001,aWQ")),
            "invalid_cursor",
        ),
        (
            format!("/play?cursor={}", cursor("1,a\0b")),
            "invalid_cursor",
        ),
        (
            format!(
                "/public/timeline?cursor={}",
                cursor("-300000000000000000,6f1c4b0e-3a52-4c1e-9d0b-2f7a8e5c1d34")
            ),
            "invalid_cursor",
        ),
        (
            "/public/timeline?user_id=a%00b".to_owned(),
            "invalid_user_id",
        ),
        ("/playlists/a%00b".to_owned(), "invalid_id"),
        ("/collections/a%00b".to_owned(), "invalid_id"),
        (
            "/public/timeline?offset=10001".to_owned(),
            "offset_too_large",
        ),
        ("/play?offset=1000000000000".to_owned(), "offset_too_large"),
    ] {
        let (status, answer) = api.read(&path, None).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some(code)),
            "{path}: {answer}"
        );
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}
