//! The Nextcloud gpoddersync API as AntennaPod's Nextcloud provider calls it: Basic with the
//! username and an app password sent preemptively on every call, its JSON shapes, and its own
//! clock stored as the next `since` after an upload. Two phones of one user: subscriptions and
//! episode actions from one reach the other; an action uploaded late (recorded days ago) still
//! arrives; a stale upload does not overwrite a newer position; Login Flow v2's start and poll
//! (the grant in a real browser is in tests/browser/account_pages.py).

use crate::helpers::{Stack, public_address_env};
use serde_json::{Value, json};

const BASE: &str = "/index.php/apps/gpoddersync";
const FEED_A: &str = "https://feeds.example/a.xml";
const FEED_B: &str = "http://feeds.example/b.xml";

/// One phone running AntennaPod, logged in with an app password.
struct Phone {
    http: reqwest::Client,
    url: String,
    user: String,
    password: String,
}

impl Phone {
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .expect("reachable");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A GET with `since`, which must answer 200 (anything else is an error to AntennaPod).
    async fn get(&self, route: &str, since: i64) -> Value {
        let url = format!("{}{BASE}/{route}?since={since}", self.url);
        let (status, body) = self.send(self.http.get(url)).await;
        assert_eq!(status, 200, "GET {route}?since={since}: {body}");
        assert!(body["timestamp"].is_i64(), "{body}");
        body
    }

    /// A POST of JSON, answered 200 `{"timestamp"}`; then AntennaPod's clock is its next `since`.
    async fn post(&self, route: &str, body: Value) -> i64 {
        let url = format!("{}{BASE}/{route}", self.url);
        let (status, answer) = self.send(self.http.post(url).json(&body)).await;
        assert_eq!(status, 200, "POST {route}: {answer}");
        assert!(answer["timestamp"].is_i64(), "{answer}");
        chrono::Utc::now().timestamp()
    }
}

/// A time as AntennaPod writes it: `yyyy-MM-dd'T'HH:mm:ss`, UTC, no zone.
fn ago(seconds: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

fn play(episode: &str, guid: &str, position: i64, seconds_ago: i64) -> Value {
    json!({"podcast": FEED_A, "episode": episode, "guid": guid, "action": "play",
           "timestamp": ago(seconds_ago), "started": 0, "position": position, "total": 600})
}

/// The play position each episode (by media URL) has in a download.
fn positions(download: &Value) -> Vec<(String, i64)> {
    let mut found: Vec<(String, i64)> = download["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["action"] == "play")
        .map(|a| {
            let episode = a["episode"].as_str().expect("episode").to_owned();
            (episode, a["position"].as_i64().expect("position"))
        })
        .collect();
    found.sort();
    found
}

fn has(list: &Value, url: &str) -> bool {
    list.as_array().is_some_and(|l| l.iter().any(|u| u == url))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn antennapod_syncs_two_phones_through_the_nextcloud_routes() {
    let mut stack = Stack::start(false).await;
    let url = stack.start_server(&public_address_env()).await.url.clone();
    let password = crate::gpodder::account_with_app_password(&stack, "NcAnn");
    let phone = |user: &str, password: &str| Phone {
        http: reqwest::Client::new(),
        url: url.clone(),
        user: user.into(),
        password: password.into(),
    };
    let (one, two) = (phone("ncann", &password), phone("NCANN", &password));

    // Without Basic, or with the account's own password: a challenge, never a cookie needed.
    let anonymous = reqwest::get(format!("{url}{BASE}/subscriptions?since=0"))
        .await
        .expect("reachable");
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = phone("ncann", "a long enough password");
    let (status, _) = wrong
        .send(wrong.http.get(format!("{url}{BASE}/subscriptions")))
        .await;
    assert_eq!(status, 401);

    // Subscriptions: the first phone adds two (as the user typed them), the second sees them
    // stored; the second removes one, the first sees it from its own clock.
    let first = one.get("subscriptions", 0).await;
    assert_eq!(
        (first["add"].clone(), first["remove"].clone()),
        (json!([]), json!([]))
    );
    let sent_a = "https://Feeds.Example/a.xml?utm_source=app";
    let since_one = one
        .post(
            "subscription_change/create",
            json!({"add": [sent_a, "feed://feeds.example/b.xml"], "remove": []}),
        )
        .await;
    let seen = two.get("subscriptions", 0).await;
    assert_eq!(seen["add"], json!([FEED_B, FEED_A]), "{seen}");
    let since_two = two
        .post(
            "subscription_change/create",
            json!({"add": [], "remove": [FEED_B]}),
        )
        .await;
    let changes = one.get("subscriptions", since_one).await;
    assert!(has(&changes["remove"], FEED_B), "{changes}");
    assert!(!has(&changes["add"], FEED_B), "{changes}");

    // Episode actions: the first phone's plays (one invalid action among them) reach the second.
    let since_one = one
        .post(
            "episode_action/create",
            json!([
                play("https://cdn.example/1.mp3", "guid-1", 120, 10),
                {"episode": "https://cdn.example/x.mp3", "action": "play"},
                play("https://cdn.example/2.mp3", "guid-2", 600, 10),
            ]),
        )
        .await;
    let down = two.get("episode_action", 0).await;
    assert_eq!(
        positions(&down),
        [
            ("https://cdn.example/1.mp3".to_owned(), 120),
            ("https://cdn.example/2.mp3".to_owned(), 600)
        ],
        "{down}"
    );
    let action = &down["actions"][0];
    assert_eq!(
        (&action["podcast"], &action["guid"]),
        (&json!(FEED_A), &json!("guid-1"))
    );
    assert!(
        action["timestamp"].as_str().is_some_and(|t| t.len() == 19),
        "{action}"
    );

    // Late: the second phone was offline; its play recorded three days ago is uploaded now, and
    // still reaches the first phone, whose `since` is its clock after its own upload.
    two.post(
        "episode_action/create",
        json!([play("https://cdn.example/3.mp3", "guid-3", 45, 3 * 86_400)]),
    )
    .await;
    let late = one.get("episode_action", since_one).await;
    assert!(
        positions(&late).contains(&("https://cdn.example/3.mp3".to_owned(), 45)),
        "{late}"
    );

    // Stale: an older play of episode 1 from the second phone changes nothing; a newer one wins.
    two.post(
        "episode_action/create",
        json!([play("https://cdn.example/1.mp3", "guid-1", 30, 3_600)]),
    )
    .await;
    let now = one.get("episode_action", 0).await;
    assert!(
        positions(&now).contains(&("https://cdn.example/1.mp3".to_owned(), 120)),
        "{now}"
    );
    // Same GUID, a new media URL: one episode still.
    two.post(
        "episode_action/create",
        json!([play("https://cdn2.example/1.mp3", "guid-1", 300, 0)]),
    )
    .await;
    let now = one.get("episode_action", since_two).await;
    let one_episode: Vec<_> = now["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["guid"] == "guid-1")
        .collect();
    assert_eq!(one_episode.len(), 1, "{now}");
    assert_eq!(one_episode[0]["position"], 300, "{now}");

    // Nextcloud has no devices: everything was written as device "nextcloud".
    let (status, devices) = one
        .send(one.http.get(format!("{url}/api/2/devices/ncann.json")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(devices[0]["id"], "nextcloud", "{devices}");

    // Login Flow v2's app side: absolute URLs on the public URL, a poll 404 until granted.
    let started: Value = one
        .http
        .post(format!("{url}/index.php/login/v2"))
        .header("User-Agent", "AntennaPod/3.5.0")
        .send()
        .await
        .expect("reachable")
        .json()
        .await
        .expect("JSON");
    assert!(
        started["login"]
            .as_str()
            .is_some_and(|l| l.starts_with(&format!("{url}/login/v2/flow/"))),
        "{started}"
    );
    assert_eq!(
        started["poll"]["endpoint"],
        format!("{url}/index.php/login/v2/poll")
    );
    for token in [started["poll"]["token"].as_str().expect("token"), "unknown"] {
        let poll = one
            .http
            .post(format!("{url}/index.php/login/v2/poll"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .expect("reachable");
        assert_eq!(poll.status().as_u16(), 404);
    }
}
