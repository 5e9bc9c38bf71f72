//! Fair use: one user over their rate is answered 429 with `Retry-After`, while another user of
//! the same app goes on; anonymous routes are limited per client address; health checks never.

use crate::helpers::{Stack, feed_id, token};
use std::time::Duration;

/// The server's environment for `[fair_use]` settings (`("USER_WRITES__BURST", "3")`).
fn limits(settings: &[(&str, &str)]) -> Vec<(String, String)> {
    settings
        .iter()
        .map(|(name, value)| (format!("BALADOS__FAIR_USE__{name}"), (*value).to_owned()))
        .collect()
}

/// Sends `n` subscriptions as `user` at once; the statuses and the `Retry-After` of any 429.
async fn burst(url: &str, user: &str, n: usize) -> (Vec<u16>, Vec<String>) {
    let http = reqwest::Client::new();
    let auth = token(user, 600);
    let mut statuses = Vec::new();
    let mut retry_after = Vec::new();
    for i in 0..n {
        let body = serde_json::json!({
            "rss_source_feed": feed_id(&format!("https://fair.example.com/{user}/{i}.xml"))
        });
        let response = http
            .post(format!("{url}/api/v1/subscriptions"))
            .bearer_auth(&auth)
            .json(&body)
            .send()
            .await
            .expect("reachable");
        let status = response.status().as_u16();
        if status == 429 {
            let header = response.headers().get("retry-after").cloned();
            let answer: serde_json::Value = response.json().await.expect("json");
            assert_eq!(answer["code"], "rate_limited", "{answer}");
            retry_after.push(
                header
                    .and_then(|h| h.to_str().ok().map(str::to_owned))
                    .unwrap_or_default(),
            );
        }
        statuses.push(status);
    }
    (statuses, retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_their_rate_gets_429_and_others_go_on() {
    let mut stack = Stack::start(false).await;
    stack
        .start_server(&limits(&[
            ("USER_WRITES__PER_SECOND", "0.5"),
            ("USER_WRITES__BURST", "3"),
            ("ADDRESS_ANONYMOUS__PER_SECOND", "0.5"),
            ("ADDRESS_ANONYMOUS__BURST", "2"),
        ]))
        .await;
    let url = stack.server().url.clone();

    let (greedy, retry_after) = burst(&url, "greedy", 8).await;
    assert_eq!(&greedy[..3], &[202, 202, 202], "the burst is allowed");
    assert!(greedy[3..].iter().all(|s| *s == 429), "{greedy:?}");
    assert!(
        retry_after
            .iter()
            .all(|r| r.parse::<u64>().is_ok_and(|s| (1..=10).contains(&s))),
        "Retry-After in seconds: {retry_after:?}"
    );
    let (patient, _) = burst(&url, "patient", 3).await;
    assert_eq!(patient, vec![202, 202, 202], "another user is not limited");

    // A batch costs its plays: ten plays in one request go through, then the user waits.
    let plays: Vec<serde_json::Value> = (0..10)
        .map(|n| {
            serde_json::json!({
                "rss_source_feed": feed_id("https://fair.example.com/batch.xml"),
                "rss_source_item": feed_id(&format!("g{n},https://fair.example.com/{n}.mp3")),
                "position": 1
            })
        })
        .collect();
    let batch = reqwest::Client::new()
        .post(format!("{url}/api/v1/play/batch"))
        .bearer_auth(token("batcher", 600))
        .json(&serde_json::json!({ "plays": plays }))
        .send()
        .await
        .expect("reachable");
    assert_eq!(batch.status(), 202);
    let (after_batch, waits) = burst(&url, "batcher", 1).await;
    assert_eq!(after_batch, vec![429], "the batch's ten plays were charged");
    assert!(
        waits
            .iter()
            .all(|w| w.parse::<u64>().is_ok_and(|s| s >= 10)),
        "{waits:?}"
    );

    // After the advertised wait, the greedy user may write again.
    let wait: u64 = retry_after.last().and_then(|r| r.parse().ok()).unwrap_or(2);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (again, _) = burst(&url, "greedy", 1).await;
    assert_eq!(again, vec![202]);

    // Anonymous routes are limited per address; health checks are not limited at all.
    let mut public = Vec::new();
    for _ in 0..5 {
        let r = reqwest::get(format!("{url}/api/v1/public/timeline"))
            .await
            .expect("reachable");
        public.push(r.status().as_u16());
    }
    assert_eq!(&public[..2], &[200, 200], "{public:?}");
    assert!(public[2..].contains(&429), "{public:?}");
    for _ in 0..20 {
        let r = reqwest::get(format!("{url}/healthz"))
            .await
            .expect("reachable");
        assert_eq!(r.status(), 200);
    }
    let metrics = crate::helpers::metrics(&url).await;
    assert!(
        metrics.contains(
            "balados_rate_limit_total{budget=\"writes\",by=\"user\",outcome=\"limited\"}"
        ),
        "counted"
    );
}

/// Uploads `count` gpodder play actions as `user` from `device` (episodes `first..first + count`);
/// the status and the `Retry-After` of the answer.
async fn upload(
    (url, user, password): (&str, &str, &str),
    device: &str,
    first: usize,
    count: usize,
) -> (u16, u64) {
    let actions: Vec<serde_json::Value> = (first..first + count)
        .map(|n| {
            serde_json::json!({
                "podcast": "https://fair.example.com/paced.xml",
                "episode": format!("https://fair.example.com/paced/{n}.mp3"),
                "action": "play", "device": device, "timestamp": "2026-11-30T10:00:00",
                "started": 0, "position": 10, "total": 100
            })
        })
        .collect();
    let response = reqwest::Client::new()
        .post(format!("{url}/api/2/episodes/{user}.json"))
        .basic_auth(user, Some(password))
        .json(&actions)
        .send()
        .await
        .expect("reachable");
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|h| h.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    (response.status().as_u16(), retry_after)
}

/// A gpodder read as `user`: its JSON answer.
async fn read((url, user, password): (&str, &str, &str), path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{url}{path}"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpodder_uploads_and_pages_pay_for_their_commands_and_are_paced_not_dropped() {
    let mut stack = Stack::start(false).await;
    let env = limits(&[
        ("USER_WRITES__PER_SECOND", "2"),
        ("USER_WRITES__BURST", "5"),
    ]);
    let url = stack.start_server(&env).await.url.clone();
    let greedy = crate::gpodder::account_with_app_password(&stack, "fairgreedy");
    let other = crate::gpodder::account_with_app_password(&stack, "fairother");

    // 40 actions pass at once (one fits now) and leave the user owing ~18 s of writes.
    let greedy = (url.as_str(), "fairgreedy", greedy.as_str());
    assert_eq!(upload(greedy, "phone", 0, 40).await.0, 200);
    // The next upload would wait longer than the server waits for a budget: refused, whole (from
    // a new device too, whose creation is a command of its own, not a refusal of the device).
    let (status, retry_after) = upload(greedy, "tablet", 40, 1).await;
    assert_eq!(status, 429);
    assert!(retry_after >= 10, "Retry-After {retry_after}");
    // The account's pages write from the same budget.
    let mut browser = crate::accounts::client::Browser::new(&url);
    let logged_in = browser.log_in("fairgreedy", "a long enough password").await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    let csrf = browser.csrf("/account/subscriptions").await;
    let page = browser
        .post(
            "/account/subscriptions",
            &[
                ("csrf", &csrf),
                ("url", "https://fair.example.com/page.xml"),
            ],
        )
        .await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("faster than the service takes them"));
    // So does an OPML import, refused whole: none of its feeds is subscribed below.
    let csrf = browser.csrf("/account/import").await;
    let opml = r#"<opml version="2.0"><body><outline xmlUrl="https://fair.example.com/imported.xml"/></body></opml>"#;
    let import = browser
        .post("/account/import", &[("csrf", &csrf), ("opml", opml)])
        .await;
    assert_eq!(import.status, 429, "{}", import.body);
    // Another user of the same protocol is not slowed down.
    let other = (url.as_str(), "fairother", other.as_str());
    assert_eq!(upload(other, "phone", 0, 5).await.0, 200);

    // What was refused was not applied: the user's actions are the first upload's 40.
    let actions = read(greedy, "/api/2/episodes/fairgreedy.json?since=0").await;
    assert_eq!(
        actions["actions"].as_array().map(Vec::len),
        Some(40),
        "{actions}"
    );
    let subscriptions = read(greedy, "/subscriptions/fairgreedy.json").await;
    assert_eq!(
        subscriptions,
        serde_json::json!([]),
        "none of the refused changes"
    );

    // A few seconds short of the advertised wait, an upload is held until it fits, not refused.
    tokio::time::sleep(Duration::from_secs(retry_after - 4)).await;
    assert_eq!(upload(greedy, "tablet", 40, 1).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpodder_and_page_reads_count_in_their_users_reads_budget() {
    let mut stack = Stack::start(false).await;
    let env = limits(&[
        ("USER_READS__PER_SECOND", "0.1"),
        ("USER_READS__BURST", "3"),
    ]);
    let url = stack.start_server(&env).await.url.clone();
    let reader = crate::gpodder::account_with_app_password(&stack, "fairreader");
    let other = crate::gpodder::account_with_app_password(&stack, "fairquiet");
    let devices = |user: &'static str, password: String| {
        let url = url.clone();
        async move {
            let response = reqwest::Client::new()
                .get(format!("{url}/api/2/devices/{user}.json"))
                .basic_auth(user, Some(password))
                .send()
                .await
                .expect("reachable");
            let retry_after = response.headers().contains_key("retry-after");
            (response.status().as_u16(), retry_after)
        }
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(devices("fairreader", reader.clone()).await);
    }
    assert_eq!(
        &statuses[..3],
        &[(200, false); 3],
        "the burst: {statuses:?}"
    );
    assert_eq!(
        &statuses[3..],
        &[(429, true); 2],
        "then refused: {statuses:?}"
    );
    assert_eq!(
        devices("fairquiet", other).await,
        (200, false),
        "another user"
    );

    // The account's pages read from the same budget (logging in is not a read of it).
    let mut browser = crate::accounts::client::Browser::new(&url);
    let logged_in = browser.log_in("fairreader", "a long enough password").await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    let page = browser.get("/account").await;
    assert_eq!(page.status, 429, "{}", page.body);
}
