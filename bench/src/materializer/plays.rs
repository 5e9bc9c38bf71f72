//! Plays over HTTP against a running stack: signed users, `POST /api/v1/play` as listeners send
//! it (mostly the episode in progress, further on), and the checks that they are visible.

use balados_schemas::ItemId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One play report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Play {
    feed: String,
    item: String,
    position: u64,
}

/// Records that `play`, the user's `round`-th, was accepted: the latest round is what shows.
pub fn accepted(expected: &mut Option<(u64, Play)>, round: u64, play: Play) {
    if expected.as_ref().is_none_or(|(r, _)| *r < round) {
        *expected = Some((round, play));
    }
}

#[derive(Debug)]
pub struct Players {
    client: reqwest::Client,
    url: String,
    run: String,
    key: Vec<u8>,
    app: String,
    next_item: AtomicU64,
}

fn token(key: &[u8], app: &str, user: &str) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = balados_auth::Claims {
        iss: app.into(),
        sub: user.into(),
        exp: now + 3 * 3600,
        iat: Some(now),
        device_id: None,
        device_name: None,
    };
    Ok(balados_auth::mint_token(key, &claims)?)
}

impl Players {
    pub fn new(url: &str, key: &Path, app: &str) -> anyhow::Result<Self> {
        let key = std::fs::read(key).map_err(|e| {
            anyhow::anyhow!("cannot read {}: {e} (run ./dev/up first)", key.display())
        })?;
        Ok(Self {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(1_024)
                .build()?,
            url: url.trim_end_matches('/').to_owned(),
            run: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            key,
            app: app.to_owned(),
            next_item: AtomicU64::new(0),
        })
    }

    /// Tokens of `n` users named `bench-{run}-{group}-{i}`.
    pub fn users(&self, group: &str, n: usize) -> anyhow::Result<Vec<String>> {
        (0..n)
            .map(|i| {
                token(
                    &self.key,
                    &self.app,
                    &format!("bench-{}-{group}-{i}", self.run),
                )
            })
            .collect()
    }

    /// The `n`-th play of the load over `users` users: user `n % users` plays on from where
    /// they were (their round `n / users`): ten reports of an episode, 30 s apart, then the next
    /// one. Episodes are shared by the users of a feed, as listeners of a podcast share them.
    pub fn load_play(&self, n: u64, users: usize) -> (usize, Play) {
        let user = (n % users as u64) as usize;
        let round = n / users as u64;
        let feed = user as u64 % 20;
        let episode = (user as u64 + round / 10) % 50;
        let play = Play {
            feed: self.feed(feed),
            item: self.item(&format!("{feed}:{episode}")),
            position: 30 * (round % 10 + 1),
        };
        (user, play)
    }

    /// An episode no one played yet.
    pub fn new_play(&self) -> Play {
        let n = self.next_item.fetch_add(1, Ordering::Relaxed);
        Play {
            feed: self.feed(u64::MAX),
            item: self.item(&format!("new:{n}")),
            position: 0,
        }
    }

    fn feed(&self, n: u64) -> String {
        URL_SAFE_NO_PAD.encode(format!("https://bench.example.com/{}/{n}.xml", self.run))
    }

    fn item(&self, name: &str) -> String {
        ItemId::new(
            &format!("urn:bench:{}:{name}", self.run),
            &format!("https://cdn.bench.example.com/{}/{name}.mp3", self.run),
        )
        .expect("a valid item")
        .id()
    }

    /// Posts `play` as `token`, stamped with the client's time (so that the newest report wins
    /// however requests overtake each other): the HTTP status, 0 when the request failed.
    pub async fn post(&self, token: &str, play: &Play) -> u16 {
        self.post_waiting(token, play, false).await
    }

    /// As [`Players::post`]; with `wait`, asks for the command's outcome (`Prefer: wait`), so
    /// that the answer comes once the aggregator has decided.
    async fn post_waiting(&self, token: &str, play: &Play, wait: bool) -> u16 {
        let body = serde_json::json!({
            "rss_source_feed": play.feed,
            "rss_source_item": play.item,
            "position": play.position,
            "duration": 3_600,
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        let mut request = self
            .client
            .post(format!("{}/api/v1/play", self.url))
            .bearer_auth(token)
            .json(&body);
        if wait {
            request = request.header("Prefer", "wait=10");
        }
        match request.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// The user's newest play status: its item and position.
    async fn newest(&self, token: &str) -> anyhow::Result<Option<(String, u64)>> {
        let body: serde_json::Value = self
            .client
            .get(format!("{}/api/v1/play?limit=1", self.url))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let newest = &body["play_statuses"][0];
        Ok(newest["rss_source_item"]
            .as_str()
            .map(|item| (item.to_owned(), newest["position"].as_u64().unwrap_or(0))))
    }

    /// Plays a new episode and polls until the query API shows it on top: the time to the POST's
    /// answer (with `wait`, to the command's outcome) and the POST-to-visible time. `token` must
    /// be a user no one else plays as meanwhile.
    pub async fn probe(
        &self,
        token: &str,
        wait: bool,
        deadline: Duration,
    ) -> anyhow::Result<(Duration, Duration)> {
        let started = Instant::now();
        let play = self.new_play();
        let status = self.post_waiting(token, &play, wait).await;
        // 200: the play recorded (the outcome, with `wait`); 202: the command accepted.
        let expected = if wait { 200 } else { 202 };
        anyhow::ensure!(
            status == expected,
            "POST /api/v1/play answered {status}, not {expected}"
        );
        let answered = started.elapsed();
        loop {
            if self
                .newest(token)
                .await?
                .is_some_and(|(item, _)| item == play.item)
            {
                return Ok((answered, started.elapsed()));
            }
            anyhow::ensure!(
                started.elapsed() < deadline,
                "not visible after {deadline:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits until every user `i` shows `expected[i]` (their last accepted play) as the newest.
    pub async fn wait_visible(
        &self,
        tokens: &[String],
        expected: &[Option<(u64, Play)>],
        deadline: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut waiting: Vec<usize> = (0..tokens.len())
            .filter(|i| expected[*i].is_some())
            .collect();
        while !waiting.is_empty() {
            anyhow::ensure!(
                started.elapsed() < deadline,
                "{} users still behind after {deadline:?}",
                waiting.len()
            );
            let behind: Vec<Option<usize>> = futures::stream::iter(waiting)
                .map(|i| async move {
                    let seen = self.newest(&tokens[i]).await.ok().flatten();
                    let shown = expected[i].as_ref().is_some_and(|(_, play)| {
                        seen.as_ref() == Some(&(play.item.clone(), play.position))
                    });
                    (!shown).then_some(i)
                })
                .buffer_unordered(16)
                .collect()
                .await;
            waiting = behind.into_iter().flatten().collect();
            if !waiting.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }
}

pub use balados_bench::percentile;
