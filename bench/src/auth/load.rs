//! Serving a router over real HTTP, and the load: single plays, a fixed number in flight, users
//! round-robin, every answer checked, timed one by one, with the process's CPU time around it.

use futures::StreamExt as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Serves `router` on a port of its own on 127.0.0.1, in the background; its base URL.
pub async fn serve(router: axum::Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

/// The same plays for every pass: request `n` is `bodies[n]`, sent with `tokens[n % users]`.
#[derive(Debug)]
pub struct Workload {
    pub bodies: Vec<String>,
}

impl Workload {
    /// `requests` single plays (`played: false`) of episodes spread over 100 feeds.
    pub fn new(run: &str, requests: usize) -> anyhow::Result<Self> {
        let bodies = (0..requests)
            .map(|n| {
                let base = format!("https://bench.example.com/{run}/{}", n % 100);
                let feed = balados_schemas::FeedUrl::parse(&format!("{base}/feed.xml"))?;
                let item = balados_schemas::ItemId::new(
                    &format!("episode-{n}"),
                    &format!("{base}/episode-{n}.mp3"),
                )?;
                Ok(serde_json::json!({
                    "rss_source_feed": feed.id(),
                    "rss_source_item": item.id(),
                    "position": n % 3_600,
                    "played": false,
                })
                .to_string())
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { bodies })
    }
}

/// What one pass measured.
#[derive(Debug)]
pub struct Pass {
    pub requests: usize,
    pub failures: usize,
    /// The first refusal's status and body, to say why.
    pub first_failure: Option<String>,
    pub wall: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
    /// CPU time (user + system) of the whole process: server, producer and load generator.
    pub cpu: Duration,
}

impl Pass {
    pub fn per_second(&self) -> f64 {
        (self.requests - self.failures) as f64 / self.wall.as_secs_f64()
    }

    pub fn cpu_per_request(&self) -> Duration {
        self.cpu / u32::try_from(self.requests.max(1)).unwrap_or(u32::MAX)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        balados_bench::percentile(&self.latencies, p)
    }
}

/// Sends the first `requests` plays of `workload` to `url`, `concurrency` in flight.
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    tokens: &Arc<Vec<String>>,
    workload: &Arc<Workload>,
    requests: usize,
    concurrency: usize,
) -> Pass {
    let endpoint = format!("{url}/api/v1/play");
    let cpu_before = cpu_time();
    let started = Instant::now();
    let answers: Vec<(Result<(), String>, Duration)> = futures::stream::iter(0..requests)
        .map(|n| {
            let request = client
                .post(&endpoint)
                .bearer_auth(&tokens[n % tokens.len()])
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(workload.bodies[n % workload.bodies.len()].clone());
            async move {
                let sent = Instant::now();
                let answer = match request.send().await {
                    // The body is read so that the connection goes back to the pool.
                    Ok(r) => match (r.status().as_u16(), r.text().await) {
                        (202, Ok(_)) => Ok(()),
                        (status, body) => Err(format!("{status} {}", body.unwrap_or_default())),
                    },
                    Err(e) => Err(e.to_string()),
                };
                (answer, sent.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let mut latencies: Vec<Duration> = answers.iter().map(|(_, d)| *d).collect();
    latencies.sort_unstable();
    let mut refused = answers.into_iter().filter_map(|(a, _)| a.err());
    let first_failure = refused.next();
    Pass {
        requests,
        failures: first_failure.iter().count() + refused.count(),
        first_failure,
        wall,
        latencies,
        cpu,
    }
}

/// CPU time (user + system) this process used so far, from /proc/self/stat (Linux; 10 ms ticks).
pub fn cpu_time() -> Duration {
    let ticks = || -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces) close with ')'.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    // USER_HZ is 100 on every Linux ABI that matters here.
    Duration::from_millis(ticks().unwrap_or(0) * 10)
}
