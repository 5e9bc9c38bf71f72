//! SIGKILL in the middle of a stream of subscriptions: nothing accepted is lost, nothing is
//! applied twice.

use crate::helpers::{
    Stack, decode_event, eventually, feed_id, subscriptions, token, topic_reader,
};
use balados_schemas::Topics;
use futures::StreamExt as _;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const USERS: usize = 4;
const FEEDS_PER_USER: usize = 45;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Accepted,
    /// The request failed: it may or may not have reached the broker.
    Unknown,
}

fn user(i: usize) -> String {
    format!("crash-user-{i}")
}

fn requests() -> Vec<(String, String)> {
    (0..FEEDS_PER_USER)
        .flat_map(|f| {
            (0..USERS).map(move |u| {
                (
                    user(u),
                    feed_id(&format!("https://crash.example.com/{u}/{f}.xml")),
                )
            })
        })
        .collect()
}

/// Sends `batch` to `url`, 8 at a time; counts acceptances in `accepted`.
async fn send(
    url: String,
    batch: Vec<(String, String)>,
    accepted: Arc<AtomicUsize>,
) -> Vec<((String, String), Outcome)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    futures::stream::iter(batch)
        .map(|(user, feed)| {
            let (client, url, accepted) = (client.clone(), url.clone(), accepted.clone());
            async move {
                let response = client
                    .post(format!("{url}/api/v1/subscriptions"))
                    .bearer_auth(token(&user, 300))
                    .json(&serde_json::json!({ "rss_source_feed": feed }))
                    .send()
                    .await;
                let outcome = match response {
                    Ok(r) if r.status() == 202 => {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        Outcome::Accepted
                    }
                    _ => Outcome::Unknown,
                };
                ((user, feed), outcome)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_server_loses_no_accepted_subscription_and_applies_none_twice() {
    let mut stack = Stack::start(true).await;
    let all = requests();
    let third = all.len() / 3;
    let mut outcomes = Vec::new();
    for (phase, chunk) in all.chunks(third).enumerate() {
        let accepted = Arc::new(AtomicUsize::new(0));
        let url = stack.server().url.clone();
        let sender = tokio::spawn(send(url, chunk.to_vec(), accepted.clone()));
        if phase < 2 {
            // Kill mid-stream, with requests in flight.
            let target = chunk.len() / 2;
            let deadline = Instant::now() + Duration::from_secs(60);
            while accepted.load(Ordering::SeqCst) < target && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            stack.server.take().expect("running").kill();
            outcomes.extend(sender.await.expect("sender"));
            stack.start_server(&[]).await;
        } else {
            outcomes.extend(sender.await.expect("sender"));
        }
    }
    let accepted: BTreeSet<&(String, String)> = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Accepted)
        .map(|(r, _)| r)
        .collect();
    let unknown: BTreeSet<&(String, String)> = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Unknown)
        .map(|(r, _)| r)
        .collect();
    assert!(
        accepted.len() > all.len() / 2,
        "most requests are accepted ({} of {})",
        accepted.len(),
        all.len()
    );

    let url = stack.server().url.clone();
    let mut visible_per_user = BTreeMap::new();
    for u in 0..USERS {
        let name = user(u);
        let must: BTreeSet<String> = accepted
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
            .collect();
        let may: BTreeSet<String> = unknown
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
            .collect();
        let visible = eventually(
            Duration::from_secs(60),
            "every accepted subscription visible",
            || async {
                let visible: BTreeSet<String> =
                    subscriptions(&url, &name).await.into_iter().collect();
                must.is_subset(&visible).then_some(visible)
            },
        )
        .await;
        let extra: Vec<&String> = visible
            .difference(&must)
            .filter(|f| !may.contains(*f))
            .collect();
        assert!(
            extra.is_empty(),
            "{name}: subscriptions that were never requested: {extra:?}"
        );
        // Each subscription is two events (subscribed, added to the default collection), plus
        // the default collection's creation with the first.
        let events = if visible.is_empty() {
            0
        } else {
            2 * visible.len() + 1
        };
        visible_per_user.insert(name, events);
    }

    let sequences = event_sequences(&stack, &visible_per_user).await;
    for (name, expected) in &visible_per_user {
        let seen = &sequences[name];
        let numbers: Vec<u64> = seen.keys().copied().collect();
        let contiguous: Vec<u64> = (1..=u64::try_from(*expected).expect("small")).collect();
        assert_eq!(
            numbers, contiguous,
            "{name}: per-user sequences without gap or repeat, two per subscription plus one"
        );
    }
}

/// Reads `events` until every user has `expected` distinct sequences; fails on two different
/// events with one sequence (a decision made twice).
async fn event_sequences(
    stack: &Stack,
    expected: &BTreeMap<String, usize>,
) -> BTreeMap<String, BTreeMap<u64, uuid::Uuid>> {
    let topics = Topics::new(&stack.prefix);
    let codec = crate::helpers::codec(stack, &[]).await;
    let consumer = topic_reader(&format!("{}-crash-check", stack.prefix), &topics.events);
    let mut seen: BTreeMap<String, BTreeMap<u64, uuid::Uuid>> = expected
        .keys()
        .map(|u| (u.clone(), BTreeMap::new()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    while expected.iter().any(|(u, n)| seen[u].len() < *n) {
        assert!(
            Instant::now() < deadline,
            "events missing on the topic: {seen:?}"
        );
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.expect("no consumer error");
        let event = decode_event(&codec, &message).await;
        let by_sequence = seen.entry(event.user_id.as_str().to_owned()).or_default();
        if let Some(previous) = by_sequence.insert(event.sequence, event.event_id) {
            // A replay (e.g. of an aborted transaction) is byte-identical; a second decision is not.
            assert_eq!(
                previous, event.event_id,
                "sequence {} of {} decided twice",
                event.sequence, event.user_id
            );
        }
    }
    seen
}
