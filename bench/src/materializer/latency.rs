//! POST-to-visible latency of a play at a fraction (half, by default) of the highest rate the
//! stack sustains, against a running stack (`balados serve`).
//!
//! 1. Maximum: plays posted closed-loop (`--concurrency` in flight) for `--max-secs`, then the
//!    time until every one is visible in `GET /api/v1/play`. The sustained maximum is the lower
//!    of the accepted rate and the end-to-end rate (accepted plays over the time until all were
//!    visible): a rate the ingest accepts but the pipeline cannot follow only grows a backlog.
//! 2. Load: plays posted open-loop (on a fixed schedule, whatever the answers) at the fraction of
//!    that maximum for `--secs`; meanwhile `--samples-per-sec` of the scheduled plays are probes,
//!    each by a fresh user, timed from its POST until the query API shows it. The first seconds
//!    are warm-up and not sampled.

use crate::plays::{self, Play, Players, percentile};
use crate::procstat;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct LatencyArgs {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The app's private key: an operator's app, which may act for any user (dev/up writes
    /// .dev/keys/bench.key.pem, its public key in auth.app_keys_dir).
    #[arg(long, default_value = ".dev/keys/bench.key.pem")]
    key: PathBuf,
    #[arg(long, default_value = "bench")]
    app: String,
    /// Users of the load.
    #[arg(long, default_value_t = 2_000)]
    users: usize,
    /// Requests in flight while finding the maximum rate.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of the maximum-rate phase.
    #[arg(long, default_value_t = 20)]
    max_secs: u64,
    /// The load as a fraction of the measured maximum.
    #[arg(long, default_value_t = 0.5)]
    fraction: f64,
    /// The load in plays per second, instead of a fraction of a measured maximum (skips phase 1).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of open-loop load.
    #[arg(long, default_value_t = 90)]
    secs: u64,
    /// Seconds of load at the start that are not sampled.
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// POST-to-visible samples per second during the load.
    #[arg(long, default_value_t = 5)]
    samples_per_sec: u64,
    /// Probes ask for their outcome (`Prefer: wait`): their POST's answer is then the time to
    /// the aggregator's decision, which splits POST-to-visible in two.
    #[arg(long)]
    probe_wait: bool,
}

/// What one scheduled request of the load came to.
#[derive(Debug)]
enum Sent {
    /// The `n`-th play of the load, as user `user`, and the HTTP status.
    Play {
        user: usize,
        n: u64,
        play: Play,
        status: u16,
    },
    /// A probe: its POST's answer and POST-to-visible times, unless it fell in the warm-up.
    Probe(anyhow::Result<Option<(Duration, Duration)>>),
}

/// The open-loop phase: what every request came to, and how it went.
#[derive(Debug)]
struct Loaded {
    sent: Vec<Sent>,
    /// Time to send everything, how late the scheduler was at worst, the machine's busy share.
    sending: Duration,
    late: Duration,
    busy: f64,
    started: tokio::time::Instant,
}

pub async fn run(args: LatencyArgs) -> anyhow::Result<()> {
    let players = Arc::new(Players::new(&args.url, &args.key, &args.app)?);
    let tokens = Arc::new(players.users("load", args.users)?);
    let mut expected = vec![None; args.users];
    // The load's plays are numbered on from the maximum phase's: a user's rounds keep growing.
    let (rate, first) = match args.rate {
        Some(rate) => (rate, 0),
        None => {
            let (max, issued) = maximum(&args, &players, &tokens, &mut expected).await?;
            (args.fraction * max, issued)
        }
    };
    anyhow::ensure!(rate > 0.0, "no rate to load at");
    let loaded = open_loop(&args, &players, &tokens, rate, first).await?;

    let (mut accepted, mut failed) = (0u64, 0u64);
    let (mut answers, mut samples) = (Vec::new(), Vec::new());
    for sent in loaded.sent {
        match sent {
            Sent::Play {
                user,
                n,
                play,
                status: 202,
            } => {
                accepted += 1;
                plays::accepted(&mut expected[user], n / args.users as u64, play);
            }
            Sent::Play { .. } => failed += 1,
            Sent::Probe(Ok(sample)) => {
                accepted += 1;
                if let Some((answer, visible)) = sample {
                    answers.push(answer);
                    samples.push(visible);
                }
            }
            Sent::Probe(Err(e)) => {
                failed += 1;
                eprintln!("probe failed: {e}");
            }
        }
    }
    let answered = loaded.started.elapsed();
    players
        .wait_visible(&tokens, &expected, Duration::from_secs(600))
        .await?;
    samples.sort();
    answers.sort();
    println!(
        "load: {accepted} accepted, {failed} failed, sent in {:.2} s (scheduler at most {:.1} ms late; machine CPU {:.0} % busy meanwhile, this benchmark included), all answered after {:.2} s, all visible after {:.2} s",
        loaded.sending.as_secs_f64(),
        loaded.late.as_secs_f64() * 1e3,
        loaded.busy * 100.0,
        answered.as_secs_f64(),
        loaded.started.elapsed().as_secs_f64()
    );
    println!(
        "POST-to-visible at {rate:.0} plays/s over {} samples: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    println!(
        "of which the POST's answer ({}): p50 {:.1} ms, p99 {:.1} ms",
        if args.probe_wait {
            "Prefer: wait, the command decided"
        } else {
            "202, the command on the broker"
        },
        percentile(&answers, 0.50).as_secs_f64() * 1e3,
        percentile(&answers, 0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}

/// Phase 2: plays sent on a fixed schedule at `rate`, each in its own task, whatever the answers;
/// the load's plays are numbered from `first`.
async fn open_loop(
    args: &LatencyArgs,
    players: &Arc<Players>,
    tokens: &Arc<Vec<String>>,
    rate: f64,
    first: u64,
) -> anyhow::Result<Loaded> {
    let probes_every = ((rate / args.samples_per_sec.max(1) as f64).round() as u64).max(1);
    let total = (rate * args.secs as f64) as u64;
    let probe_tokens = players.users("probe", (total / probes_every + 1) as usize)?;
    println!(
        "load: {rate:.0} plays/s open-loop for {} s over {} users, every {probes_every}th play a probe by a fresh user",
        args.secs, args.users
    );
    let (warmup, wait) = (Duration::from_secs(args.warmup_secs), args.probe_wait);
    let started = tokio::time::Instant::now();
    let machine = procstat::machine();
    let mut handles = Vec::with_capacity(total as usize);
    let mut late = Duration::ZERO;
    for k in 0..total {
        let at = started + Duration::from_secs_f64(k as f64 / rate);
        late = late.max(tokio::time::Instant::now().saturating_duration_since(at));
        tokio::time::sleep_until(at).await;
        let players = players.clone();
        if k % probes_every == 0 {
            let token = probe_tokens[(k / probes_every) as usize].clone();
            let sampled = at - started >= warmup;
            handles.push(tokio::spawn(async move {
                let latency = players.probe(&token, wait, Duration::from_secs(60)).await;
                Sent::Probe(latency.map(|l| sampled.then_some(l)))
            }));
        } else {
            let n = first + k;
            let (user, play) = players.load_play(n, tokens.len());
            let tokens = tokens.clone();
            handles.push(tokio::spawn(async move {
                let status = players.post(&tokens[user], &play).await;
                Sent::Play {
                    user,
                    n,
                    play,
                    status,
                }
            }));
        }
    }
    let sending = started.elapsed();
    let busy = procstat::busy_between(machine, procstat::machine());
    let mut sent = Vec::with_capacity(handles.len());
    for handle in handles {
        sent.push(handle.await?);
    }
    Ok(Loaded {
        sent,
        sending,
        late,
        busy,
        started,
    })
}

/// Phase 1: the highest rate of plays accepted and made visible, and how many were sent.
async fn maximum(
    args: &LatencyArgs,
    players: &Arc<Players>,
    tokens: &Arc<Vec<String>>,
    expected: &mut [Option<(u64, Play)>],
) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    let machine = procstat::machine();
    let until = started + Duration::from_secs(args.max_secs);
    // One counter for all workers: concurrent requests belong to different users.
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (players, tokens, next) = (players.clone(), tokens.clone(), next.clone());
        workers.spawn(async move {
            let (mut accepted, mut failed) = (Vec::new(), 0u64);
            while Instant::now() < until {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let (user, play) = players.load_play(n, tokens.len());
                match players.post(&tokens[user], &play).await {
                    202 => accepted.push((user, n / tokens.len() as u64, play)),
                    _ => failed += 1,
                }
            }
            (accepted, failed)
        });
    }
    let (mut accepted, mut failed) = (0u64, 0u64);
    while let Some(done) = workers.join_next().await {
        let (plays, f) = done?;
        accepted += plays.len() as u64;
        for (user, round, play) in plays {
            plays::accepted(&mut expected[user], round, play);
        }
        failed += f;
    }
    let posted = started.elapsed();
    let busy = procstat::busy_between(machine, procstat::machine());
    players
        .wait_visible(tokens, expected, Duration::from_secs(900))
        .await?;
    let visible = started.elapsed();
    let ingest = accepted as f64 / posted.as_secs_f64();
    let end_to_end = accepted as f64 / visible.as_secs_f64();
    println!(
        "maximum: {accepted} plays accepted ({failed} failed) in {:.2} s = {ingest:.0}/s at the ingest ({} in flight, machine CPU {:.0} % busy); all visible after {:.2} s = {end_to_end:.0}/s end to end",
        posted.as_secs_f64(),
        args.concurrency,
        busy * 100.0,
        visible.as_secs_f64()
    );
    Ok((ingest.min(end_to_end), next.load(Ordering::Relaxed)))
}
