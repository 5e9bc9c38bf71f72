//! Reads that hold a crowd: requests per second and latency (p50/p99) of GET routes against a
//! running server, a fixed number of connections each sending one request after another, every
//! route in the same run as `/healthz` (the server's bare HTTP rate, the yardstick). With
//! `--revalidate`, each request of a route carries the ETag of its first answer (`If-None-Match`),
//! as a client that keeps what it read does: the server then answers 304 without a body.

use clap::Parser;
use futures::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "GET requests per second and latency of routes beside /healthz")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of load per route (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Routes measured after /healthz (path and query string).
    #[arg(long = "path", default_values_t = [
        "/api/v1/public/trending/podcasts".to_owned(),
        "/api/v1/public/trending/episodes?period=week".to_owned(),
        "/api/v1/public/timeline".to_owned(),
    ])]
    paths: Vec<String>,
    /// Send the ETag of each route's first answer back in If-None-Match.
    #[arg(long)]
    revalidate: bool,
}

/// What one route gave.
struct Measure {
    per_second: f64,
    /// Sorted.
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
}

impl Measure {
    fn percentile(&self, p: f64) -> Duration {
        balados_bench::percentile(&self.latencies, p)
    }
}

/// `connections` loops of GET `url` for `duration`; each request's latency and status.
async fn load(
    client: &reqwest::Client,
    url: &str,
    etag: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Measure {
    let started = Instant::now();
    let per_connection: Vec<Vec<(u16, Duration)>> = futures::stream::iter(0..connections)
        .map(|_| async move {
            let mut seen = Vec::new();
            while started.elapsed() < duration {
                let mut request = client.get(url);
                if let Some(etag) = etag {
                    request = request.header(IF_NONE_MATCH, etag);
                }
                let sent = Instant::now();
                let status = match request.send().await {
                    // The body is read so that the connection goes back to the pool.
                    Ok(answer) => {
                        let status = answer.status().as_u16();
                        let _ = answer.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                seen.push((status, sent.elapsed()));
            }
            seen
        })
        .buffer_unordered(connections)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut statuses = BTreeMap::new();
    let mut latencies = Vec::new();
    for (status, latency) in per_connection.into_iter().flatten() {
        *statuses.entry(status).or_insert(0) += 1;
        latencies.push(latency);
    }
    latencies.sort_unstable();
    Measure {
        per_second: latencies.len() as f64 / wall.as_secs_f64(),
        latencies,
        statuses,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let duration = Duration::from_secs(args.secs);
    let mut routes = vec!["/healthz".to_owned()];
    routes.extend(args.paths.iter().cloned());
    println!(
        "{} connections, {} s per route{}",
        args.connections,
        args.secs,
        if args.revalidate {
            ", If-None-Match with each route's first ETag"
        } else {
            ""
        }
    );
    println!("| route | requests/s | of /healthz | p50 | p99 | max | answers |");
    println!("|---|---|---|---|---|---|---|");
    let mut bare = None;
    for route in &routes {
        let url = format!("{}{route}", args.url);
        let first = client.get(&url).send().await?;
        if first.status() != StatusCode::OK {
            anyhow::bail!("{route}: {} {}", first.status(), first.text().await?);
        }
        let etag = first
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let etag = etag.as_deref().filter(|_| args.revalidate);
        // Warm-up: connections opened, caches filled.
        load(
            &client,
            &url,
            etag,
            args.connections,
            Duration::from_secs(1),
        )
        .await;
        let measure = load(&client, &url, etag, args.connections, duration).await;
        let base = *bare.get_or_insert(measure.per_second);
        let answers: Vec<String> = measure
            .statuses
            .iter()
            .map(|(status, n)| format!("{n} × {status}"))
            .collect();
        println!(
            "| `{route}` | {:.0} | {:.0} % | {:.2} ms | {:.2} ms | {:.1} ms | {} |",
            measure.per_second,
            100.0 * measure.per_second / base,
            measure.percentile(0.50).as_secs_f64() * 1e3,
            measure.percentile(0.99).as_secs_f64() * 1e3,
            measure
                .latencies
                .last()
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3,
            answers.join(", ")
        );
    }
    Ok(())
}
