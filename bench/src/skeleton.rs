//! Benchmark of the walking skeleton against a running stack (`./dev/up`):
//! 1. ingest throughput: subscriptions accepted (202) per second at a given concurrency;
//! 2. POST-to-visible latency: one subscription at a time, the time until the query API shows it.
//!
//! Every run uses fresh user ids, so runs do not disturb each other.

use balados_bench::percentile;
use base64::Engine as _;
use clap::Parser;
use futures::StreamExt as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The app's private key: an operator's app, which may act for any user (dev/up writes
    /// .dev/keys/bench.key.pem, its public key in auth.app_keys_dir).
    #[arg(long, default_value = ".dev/keys/bench.key.pem")]
    key: PathBuf,
    #[arg(long, default_value = "bench")]
    app: String,
    /// Subscriptions sent in the throughput phase.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Requests in flight in the throughput phase.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Distinct users in the throughput phase.
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Samples of the latency phase.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Only the throughput phase: against `balados ingest` alone, to measure the ingest's own
    /// cost (the drain and latency phases need the whole pipeline).
    #[arg(long)]
    throughput_only: bool,
}

fn token(key: &[u8], app: &str, user: &str) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = balados_auth::Claims {
        iss: app.into(),
        sub: user.into(),
        exp: now + 3600,
        iat: Some(now),
        device_id: None,
        device_name: None,
    };
    Ok(balados_auth::mint_token(key, &claims)?)
}

fn feed(run: &str, n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("https://bench.example.com/{run}/{n}.xml"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = std::fs::read(&args.key).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e} (run ./dev/up first)",
            args.key.display()
        )
    })?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let tokens: Vec<String> = (0..args.users)
        .map(|u| token(&key, &args.app, &format!("bench-{run}-{u}")))
        .collect::<anyhow::Result<_>>()?;

    // Throughput.
    let started = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(0..args.requests)
        .map(|n| {
            let (client, url, token, body) = (
                client.clone(),
                args.url.clone(),
                tokens[n % tokens.len()].clone(),
                serde_json::json!({ "rss_source_feed": feed(&run, n) }),
            );
            async move {
                match client
                    .post(format!("{url}/api/v1/subscriptions"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(e) => {
                        eprintln!("POST failed: {e:?}");
                        0
                    }
                }
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    println!(
        "throughput: {accepted}/{} accepted in {:.2} s = {:.0} subscriptions/s (concurrency {}, {} users)",
        args.requests,
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64(),
        args.concurrency,
        args.users
    );

    if args.throughput_only {
        return Ok(());
    }
    // Drain: until every user's last subscription is visible, i.e. the whole pipeline caught up.
    let expected = |u: usize| (0..args.requests).filter(|n| n % tokens.len() == u).count();
    for (u, token) in tokens.iter().enumerate() {
        loop {
            let body: serde_json::Value = client
                .get(format!("{}/api/v1/subscriptions", args.url))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            if body["subscriptions"].as_array().map_or(0, Vec::len) >= expected(u) {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(1800),
                "pipeline did not catch up in 30 min"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let drained = started.elapsed();
    println!(
        "pipeline: all {accepted} visible in the query API {:.2} s after the first POST = {:.0} subscriptions/s end to end",
        drained.as_secs_f64(),
        accepted as f64 / drained.as_secs_f64()
    );

    // Latency, POST to visible, one at a time on an otherwise idle stack.
    let user = format!("bench-{run}-latency");
    let token = token(&key, &args.app, &user)?;
    let mut samples = Vec::with_capacity(args.samples);
    for n in 0..args.samples {
        let id = feed(&format!("{run}-latency"), n);
        let started = Instant::now();
        let r = client
            .post(format!("{}/api/v1/subscriptions", args.url))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "rss_source_feed": id }))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 202, "POST answered {}", r.status());
        loop {
            let body: serde_json::Value = client
                .get(format!("{}/api/v1/subscriptions", args.url))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            let visible = body["subscriptions"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x["rss_source_feed"] == id.as_str()));
            if visible {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "not visible after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "POST-to-visible latency over {} samples: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    Ok(())
}
