//! Benchmark of the gpodder API's episode actions against a running stack (`./dev/up`): devices of
//! one user upload batches of actions concurrently, as AntennaPod does (30 per upload, HTTP Basic
//! with an app password on every call), each answered after the aggregate's decision and once the
//! read models show it. Reports actions per second and the per-upload latency (p50/p99).
//!
//! The episodes cycle through a fixed set per device (below a user's tracked-episode limit), each
//! action newer than the last, so every one changes a play status and runs repeat cleanly.

use balados_bench::percentile;
use clap::Parser;
use futures::StreamExt as _;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The account's username.
    #[arg(long)]
    user: String,
    /// An app password of that account (`balados admin app-password create --user U`).
    #[arg(long, env = "BENCH_APP_PASSWORD")]
    password: String,
    /// Devices uploading at once.
    #[arg(long, default_value_t = 16)]
    devices: usize,
    /// Actions per upload.
    #[arg(long, default_value_t = 30)]
    batch: usize,
    /// Uploads per device.
    #[arg(long, default_value_t = 40)]
    uploads: usize,
    /// Distinct episodes per device.
    #[arg(long, default_value_t = 500)]
    episodes: usize,
}

/// One upload of `device`: `batch` plays, each at its own second from `base`.
fn batch(args: &Args, device: usize, upload: usize, base: i64) -> serde_json::Value {
    let actions: Vec<serde_json::Value> = (0..args.batch)
        .map(|k| {
            let n = upload * args.batch + k;
            let at = chrono::DateTime::from_timestamp(base + i64::try_from(n).unwrap_or(0), 0)
                .unwrap_or_default();
            serde_json::json!({
                "podcast": format!("https://bench.example/gpodder/{device}.xml"),
                "episode": format!("https://bench.example/gpodder/{device}/{}.mp3", n % args.episodes),
                "guid": format!("bench-{device}-{}", n % args.episodes),
                "device": format!("bench-{device}"),
                "action": "play",
                "timestamp": at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "started": 0,
                "position": n % 3000 + 1,
                "total": 3600,
            })
        })
        .collect();
    serde_json::Value::Array(actions)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.devices)
        .build()?;
    let endpoint = format!("{}/api/2/episodes/{}.json", args.url, args.user);
    // Newer than any earlier run's actions (which used their own start time the same way).
    let base = chrono::Utc::now().timestamp() - 86_400;
    let started = Instant::now();
    let uploads = (0..args.devices).flat_map(|d| (0..args.uploads).map(move |u| (d, u)));
    let results: Vec<(u16, Duration, usize)> = futures::stream::iter(uploads)
        .map(|(device, upload)| {
            let (client, endpoint, body) = (
                client.clone(),
                endpoint.clone(),
                batch(&args, device, upload, base),
            );
            let (user, password) = (args.user.clone(), args.password.clone());
            async move {
                let sent = Instant::now();
                let answer = client
                    .post(endpoint)
                    .basic_auth(user, Some(password))
                    .json(&body)
                    .send()
                    .await;
                let (status, skipped) = match answer {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        (status, body["skipped"].as_array().map_or(0, Vec::len))
                    }
                    Err(_) => (0, 0),
                };
                (status, sent.elapsed(), skipped)
            }
        })
        .buffer_unordered(args.devices)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let ok = results.iter().filter(|(s, _, _)| *s == 200).count();
    let skipped: usize = results.iter().map(|(_, _, k)| k).sum();
    let actions = ok * args.batch - skipped;
    let mut latencies: Vec<Duration> = results.iter().map(|(_, d, _)| *d).collect();
    latencies.sort();
    println!(
        "{ok}/{} uploads of {} actions answered 200 ({skipped} actions skipped) in {:.2} s: \
         {:.0} actions/s from {} devices",
        results.len(),
        args.batch,
        elapsed.as_secs_f64(),
        actions as f64 / elapsed.as_secs_f64(),
        args.devices
    );
    println!(
        "per upload (decided and readable): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    anyhow::ensure!(ok == results.len(), "some uploads failed");
    Ok(())
}
