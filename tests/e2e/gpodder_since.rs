//! `since` under concurrent uploads: several devices upload episode actions at once while another
//! device keeps downloading with the `timestamp` of its previous answer as its next `since`. Every
//! uploaded action must reach it (a duplicate may come twice, never a loss): positions are the
//! server's, assigned by the aggregate, and an answer names only what the read models reached.

use crate::gpodder::account_with_app_password;
use crate::helpers::{Stack, unlimited_writes};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const DEVICES: usize = 4;
const UPLOADS: usize = 20;
const BATCH: usize = 10;

fn episode(device: usize, n: usize) -> String {
    format!("https://cdn.example.com/since/{device}/{n}.mp3")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_from_several_devices_are_all_delivered_by_since() {
    // 800 actions of one user within seconds, on purpose: beyond the writes budget's pace.
    let mut stack = Stack::start(false).await;
    stack.start_server(&unlimited_writes()).await;
    let password = account_with_app_password(&stack, "gpsince");
    let url = format!("{}/api/2/episodes/gpsince.json", stack.server().url);
    let client = reqwest::Client::new();

    let uploaders: Vec<_> = (0..DEVICES)
        .map(|device| {
            let (client, url, password) = (client.clone(), url.clone(), password.clone());
            tokio::spawn(async move {
                for upload in 0..UPLOADS {
                    let actions: Vec<serde_json::Value> = (0..BATCH)
                        .map(|k| {
                            let n = upload * BATCH + k;
                            serde_json::json!({
                                "podcast": "https://pod.example/since.xml",
                                "episode": episode(device, n),
                                "device": format!("dev{device}"),
                                "action": "play",
                                // Old times, in no order across devices: only positions count.
                                "timestamp": format!("2020-01-{:02}T10:00:00", 1 + (n * 7 + device) % 28),
                                "started": 0, "position": 10, "total": 100,
                            })
                        })
                        .collect();
                    let answer = client
                        .post(&url)
                        .basic_auth("gpsince", Some(&password))
                        .json(&actions)
                        .send()
                        .await
                        .expect("upload");
                    assert_eq!(answer.status().as_u16(), 200, "{}", answer.text().await.unwrap_or_default());
                }
            })
        })
        .collect();

    // The reader: since = the previous answer's timestamp, again and again, during the uploads.
    let mut seen = BTreeSet::new();
    let mut since = 0i64;
    let mut reads = 0;
    let read = |since: i64| {
        let (client, url, password) = (client.clone(), url.clone(), password.clone());
        async move {
            let body: serde_json::Value = client
                .get(format!("{url}?since={since}"))
                .basic_auth("gpsince", Some(&password))
                .send()
                .await
                .expect("download")
                .json()
                .await
                .expect("JSON");
            body
        }
    };
    let started = Instant::now();
    let mut done = false;
    while !done {
        done = uploaders.iter().all(tokio::task::JoinHandle::is_finished);
        let body = read(since).await;
        reads += 1;
        for action in body["actions"].as_array().expect("actions") {
            seen.insert(action["episode"].as_str().expect("episode").to_owned());
        }
        let next = body["timestamp"].as_i64().expect("timestamp");
        assert!(
            next >= since,
            "the timestamp went back: {since} then {next}"
        );
        since = next;
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "uploads still running after 2 min"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for uploader in uploaders {
        uploader.await.expect("uploader");
    }
    // Everything was decided and visible before each upload was answered: one more read sees
    // whatever the last ones added after the reader's last call.
    let body = read(since).await;
    for action in body["actions"].as_array().expect("actions") {
        seen.insert(action["episode"].as_str().expect("episode").to_owned());
    }
    let all: BTreeSet<String> = (0..DEVICES)
        .flat_map(|d| (0..UPLOADS * BATCH).map(move |n| episode(d, n)))
        .collect();
    let missed: Vec<_> = all.difference(&seen).take(5).collect();
    assert!(
        missed.is_empty(),
        "{} of {} missed over {reads} reads, e.g. {missed:?}",
        all.difference(&seen).count(),
        all.len()
    );
    assert!(
        reads > 3,
        "the reader read during the uploads ({reads} reads)"
    );
}

/// Subscription changes come in pages of at most 1,000, each answer's timestamp saying where the
/// next starts; together they hold every change once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_changes_are_paged_and_the_pages_hold_every_change() {
    let stack = Stack::start(true).await;
    let password = account_with_app_password(&stack, "gppages");
    let base = format!("{}/api/2/subscriptions/gppages", stack.server().url);
    let client = reqwest::Client::new();
    let get = |since: i64| {
        let (client, base, password) = (client.clone(), base.clone(), password.clone());
        async move {
            let body: serde_json::Value = client
                .get(format!("{base}/reader.json?since={since}"))
                .basic_auth("gppages", Some(&password))
                .send()
                .await
                .expect("download")
                .json()
                .await
                .expect("JSON");
            body
        }
    };
    // A first feed, so that the reader's since is past the start (from 0 everything comes at once).
    let first = serde_json::json!({"add": ["https://pod.example/first.xml"], "remove": []});
    let answer: serde_json::Value = client
        .post(format!("{base}/phone.json"))
        .basic_auth("gppages", Some(&password))
        .json(&first)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("JSON");
    let start = answer["timestamp"].as_i64().expect("timestamp");
    let feeds: Vec<String> = (0..1_200)
        .map(|n| format!("https://pod.example/{n}.xml"))
        .collect();
    let status = client
        .post(format!("{base}/phone.json"))
        .basic_auth("gppages", Some(&password))
        .json(&serde_json::json!({"add": feeds, "remove": []}))
        .send()
        .await
        .expect("upload")
        .status();
    assert_eq!(status.as_u16(), 200);
    let (mut seen, mut since, mut pages) = (BTreeSet::new(), start, 0);
    loop {
        let body = get(since).await;
        pages += 1;
        let add = body["add"].as_array().expect("add");
        assert!(add.len() <= 1_000, "a page of {}", add.len());
        for url in add {
            assert!(
                seen.insert(url.as_str().expect("url").to_owned()),
                "{url} twice"
            );
        }
        let next = body["timestamp"].as_i64().expect("timestamp");
        if add.is_empty() || next == since {
            break;
        }
        since = next;
    }
    assert_eq!(seen.len(), 1_200, "every change, in {pages} pages");
    assert!(pages >= 2, "paged: {pages}");
}
