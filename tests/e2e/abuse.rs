//! One user's inputs cannot stop the service for another. A user who grows a list (the default
//! collection holds every subscribed feed, in one state record) is refused at its byte bound
//! (`limit_exceeded`), and a record that still would not fit the producer's limit is refused
//! (`too_large`) instead of stopping the partition; meanwhile another user's writes are decided.

use crate::helpers::{Api, Stack, eventually, feed_id, token, unlimited_writes};
use futures::StreamExt as _;
use serde_json::json;
use std::time::Duration;

/// A long feed URL (about 1,400 bytes).
fn long_feed(n: usize) -> String {
    feed_id(&format!("https://e.com/{}/{n}.xml", "a".repeat(1370)))
}

/// `count` subscriptions of `user` to long feeds, 8 at a time, without waiting for outcomes.
async fn hoard(url: &str, user: &str, count: usize) {
    let http = reqwest::Client::new();
    let auth = token(user, 600);
    let accepted = futures::stream::iter(0..count)
        .map(|n| {
            let (http, auth) = (http.clone(), auth.clone());
            async move {
                http.post(format!("{url}/api/v1/subscriptions"))
                    .bearer_auth(auth)
                    .json(&json!({ "rss_source_feed": long_feed(n) }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }
        })
        .buffer_unordered(8)
        .filter(|s| std::future::ready(matches!(s, Ok(202))))
        .count()
        .await;
    assert_eq!(accepted, count, "every subscription taken by the ingest");
}

/// Another user's writes are decided (within `Prefer: wait=10`).
async fn bystander_is_decided(url: &str, round: &str) {
    let other = Api::new(url, "bystander");
    let body =
        json!({ "rss_source_feed": feed_id(&format!("https://feeds.example.com/{round}.xml")) });
    let (status, answer) = other.call("POST", "/subscriptions", Some(body)).await;
    assert!(
        matches!(status, 200 | 201),
        "the bystander's write ({round}) decided: {status} {answer}"
    );
}

/// The outcome of `user`'s next subscription, read back when it comes after the wait.
async fn next_outcome(url: &str, user: &str) -> (u16, serde_json::Value) {
    let api = Api::new(url, user);
    let body = json!({ "rss_source_feed": long_feed(1_000_000) });
    let (_, answer) = api.call("POST", "/subscriptions", Some(body)).await;
    let id = answer["command_id"]
        .as_str()
        .expect("a command id")
        .to_owned();
    eventually(Duration::from_secs(120), "the outcome", || async {
        let (status, body) = api.read(&format!("/commands/{id}"), None).await;
        (status != 404).then_some((status, body))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_grown_to_its_byte_bound_is_refused_and_others_go_on() {
    let mut stack = Stack::start(false).await;
    stack.start_server(&unlimited_writes()).await;
    let url = stack.server().url.clone();
    bystander_is_decided(&url, "before").await;
    // 420 × 1.4 KB: past the 512 KiB a list may hold.
    hoard(&url, "hoarder", 420).await;
    bystander_is_decided(&url, "during").await;
    let (status, outcome) = next_outcome(&url, "hoarder").await;
    assert_eq!(
        (status, outcome["code"].as_str()),
        (422, Some("limit_exceeded")),
        "{outcome}"
    );
    bystander_is_decided(&url, "after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_the_producer_limit_is_refused_and_others_go_on() {
    let mut stack = Stack::start(false).await;
    // A producer limit (100 KB) below what the byte bound of lists allows: the safety net.
    let config = stack.work_dir.join("small-records.toml");
    std::fs::write(
        &config,
        "[kafka.client]\n\"message.max.bytes\" = \"100000\"\n",
    )
    .expect("config");
    stack
        .start_server(&[
            ("BALADOS_CONFIG".into(), config.display().to_string()),
            unlimited_writes().remove(0),
        ])
        .await;
    let url = stack.server().url.clone();
    bystander_is_decided(&url, "before").await;
    // 90 × 1.4 KB: the default collection's record passes 100 KB on the way.
    hoard(&url, "hoarder", 90).await;
    bystander_is_decided(&url, "during").await;
    let (status, outcome) = next_outcome(&url, "hoarder").await;
    assert_eq!(
        (status, outcome["code"].as_str()),
        (422, Some("too_large")),
        "{outcome}"
    );
    assert!(outcome.to_string().len() < 2_000, "a bounded answer");
    bystander_is_decided(&url, "after").await;
}

/// A client that trickles its request body is answered 408 once the request deadline passes,
/// and the service answers others meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_slowly_is_dropped_at_the_deadline() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stack = Stack::start(false).await;
    stack
        .start_server(&[("BALADOS__HTTP__REQUEST_TIMEOUT_MS".into(), "11000".into())])
        .await;
    let url = stack.server().url.clone();
    let addr = url.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/subscriptions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        token("slowpoke", 600)
    );
    slow.write_all(head.as_bytes()).await.expect("headers");
    let trickle = tokio::spawn(async move {
        let mut answer = Vec::new();
        for _ in 0..30 {
            if slow.write_all(b" ").await.is_err() {
                break;
            }
            let mut buf = [0_u8; 4096];
            match tokio::time::timeout(Duration::from_secs(1), slow.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => {
                    answer.extend_from_slice(&buf[..n]);
                    break;
                }
                Err(_) => {}
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    });
    // A client that trickles its headers is cut off too (after 10 s of them).
    let mut slower = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    slower
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("request line");
    let headers = tokio::spawn(async move {
        for n in 0..20 {
            let header = format!("X-Slow-{n}: 1\r\n");
            if slower.write_all(header.as_bytes()).await.is_err() {
                return n;
            }
            let mut buf = [0_u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(1), slower.read(&mut buf)).await;
            if let Ok(Ok(0) | Err(_)) = read {
                return n;
            }
        }
        20
    });
    // Others are served meanwhile.
    let health = reqwest::get(format!("{url}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let answer = trickle.await.expect("trickle");
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("request_timeout"),
        "{answer}"
    );
    let sent = headers.await.expect("headers");
    assert!(
        sent < 20,
        "the connection trickling its headers was closed within 20 s"
    );
}
