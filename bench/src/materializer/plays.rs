//! Plays over HTTP against a running stack: signed users, `POST /api/v1/play` of a new episode
//! each time (so every accepted play adds one row to the user's play statuses, whatever the
//! order the requests overtake each other in), and the checks that they are visible.

use balados_schemas::ItemId;
use futures::StreamExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

    /// Plays a new episode as `token`: the HTTP status (0 when the request failed) and the item.
    pub async fn play(&self, token: &str) -> (u16, String) {
        let n = self.next_item.fetch_add(1, Ordering::Relaxed);
        let feed = format!("https://bench.example.com/{}/feed.xml", self.run);
        let item = ItemId::new(
            &format!("urn:bench:{}:{n}", self.run),
            &format!("https://cdn.bench.example.com/{}/{n}.mp3", self.run),
        )
        .expect("a valid item")
        .id();
        let body = serde_json::json!({
            "rss_source_feed": base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &feed
            ),
            "rss_source_item": item,
            "position": 120,
            "duration": 3_600,
        });
        let status = match self
            .client
            .post(format!("{}/api/v1/play", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        (status, item)
    }

    /// The user's play statuses, newest first: the first item id and the total.
    async fn newest(&self, token: &str) -> anyhow::Result<(Option<String>, u64)> {
        let body: serde_json::Value = self
            .client
            .get(format!("{}/api/v1/play?limit=1", self.url))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let first = body["play_statuses"][0]["rss_source_item"]
            .as_str()
            .map(str::to_owned);
        Ok((first, body["pagination"]["total"].as_u64().unwrap_or(0)))
    }

    /// Plays a new episode and polls (every 2 ms) until the query API shows it on top: the
    /// POST-to-visible time. `token` must be a user no one else plays as meanwhile.
    pub async fn probe(&self, token: &str, deadline: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let (status, item) = self.play(token).await;
        anyhow::ensure!(status == 202, "POST /api/v1/play answered {status}");
        loop {
            if self.newest(token).await?.0.as_deref() == Some(item.as_str()) {
                return Ok(started.elapsed());
            }
            anyhow::ensure!(
                started.elapsed() < deadline,
                "not visible after {deadline:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits until every user `i` shows at least `expected[i]` play statuses.
    pub async fn wait_visible(
        &self,
        tokens: &[String],
        expected: &[u64],
        deadline: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut waiting: Vec<usize> = (0..tokens.len()).filter(|i| expected[*i] > 0).collect();
        while !waiting.is_empty() {
            anyhow::ensure!(
                started.elapsed() < deadline,
                "{} users still behind after {deadline:?}",
                waiting.len()
            );
            let behind: Vec<Option<usize>> = futures::stream::iter(waiting)
                .map(|i| async move {
                    match self.newest(&tokens[i]).await {
                        Ok((_, total)) if total >= expected[i] => None,
                        _ => Some(i),
                    }
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

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
