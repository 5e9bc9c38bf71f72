//! SIGTERM under load: the server stops within its bounded grace period, every request in flight
//! is answered or its connection closed (none hangs), and every write it accepted is decided and
//! visible once it runs again.

use crate::helpers::{Stack, eventually, feed_id, subscriptions, token, unlimited_writes};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const USERS: usize = 4;
const CLIENTS: usize = 12;

#[derive(Debug, Default)]
struct Seen {
    /// (user, feed) answered 202.
    accepted: Vec<(String, String)>,
    /// Answered with another status, or the connection closed: not accepted.
    refused: usize,
    /// No answer within the client's timeout: a request left hanging.
    hung: usize,
}

/// One client writing subscriptions until `stop`, each to a new feed.
async fn client(url: String, n: usize, stop: Arc<AtomicBool>) -> Seen {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let user = format!("term-user-{}", n % USERS);
    let auth = token(&user, 600);
    let mut seen = Seen::default();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let feed = feed_id(&format!("https://term.example.com/{n}/{i}.xml"));
        let response = http
            .post(format!("{url}/api/v1/subscriptions"))
            .bearer_auth(&auth)
            .json(&serde_json::json!({ "rss_source_feed": feed }))
            .send()
            .await;
        match response {
            Ok(r) if r.status() == 202 => seen.accepted.push((user.clone(), feed)),
            Ok(_) => seen.refused += 1,
            Err(e) if e.is_timeout() => seen.hung += 1,
            Err(_) => {
                seen.refused += 1;
                // The server is going away: do not spin on refused connections.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_stops_in_bounded_time_and_loses_no_accepted_write() {
    let mut stack = Stack::start(false).await;
    stack.start_server(&unlimited_writes()).await;
    let url = stack.server().url.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(url.clone(), n, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let server = stack.server.take().expect("running");
    // The process's grace period is 15 s; it must exit well within a minute, and cleanly.
    let status = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(60)))
        .await
        .expect("terminate");
    assert!(
        status.is_some_and(|s| s.success()),
        "stopped cleanly in bounded time: {status:?}"
    );
    stop.store(true, Ordering::SeqCst);
    let mut seen = Seen::default();
    for c in clients {
        let s = c.await.expect("client");
        seen.accepted.extend(s.accepted);
        seen.refused += s.refused;
        seen.hung += s.hung;
    }
    assert_eq!(seen.hung, 0, "no request left hanging");
    assert!(seen.accepted.len() > 20, "load was running: {seen:?}");

    stack.start_server(&[]).await;
    let url = stack.server().url.clone();
    for u in 0..USERS {
        let user = format!("term-user-{u}");
        let must: BTreeSet<String> = seen
            .accepted
            .iter()
            .filter(|(owner, _)| *owner == user)
            .map(|(_, feed)| feed.clone())
            .collect();
        eventually(
            Duration::from_secs(60),
            "every accepted write visible after the restart",
            || async {
                let visible: BTreeSet<String> =
                    subscriptions(&url, &user).await.into_iter().collect();
                must.is_subset(&visible).then_some(())
            },
        )
        .await;
    }
}
