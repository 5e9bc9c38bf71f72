//! What verifying a token costs the ingest: authenticated single plays (`POST /api/v1/play`) per
//! second with the verification cache (`cached`, as the server runs), without it (`uncached`:
//! every request pays the RS256 verification) and with no token at all (`bare`: produce alone),
//! measured in one process and one run.
//!
//! Three ingest routers (`balados_ingest::router`) share one producer, one replies' consumer and
//! one metrics registry, and differ only in their verifier; each is served over HTTP on a port of
//! its own, and loaded in turn with the same plays, then once more in reverse order. The load
//! generator runs in the same process, so the CPU time per request includes it: the `bare`
//! variant is the baseline, the differences between variants are the verification's cost. Last,
//! a loop of single RS256 verifications through the uncached verifier.
//!
//! Needs a broker (the in-memory tansu of bench/README.md), PostgreSQL (a throwaway database for
//! the schema registry) and the `balados` binary (it starts `balados schema-registry`).

mod load;
mod stack;
mod verifiers;

use balados_auth::TokenVerifier;
use balados_ingest::IngestState;
use clap::Parser;
use load::{Pass, Workload};
use stack::{Stack, StackArgs};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:19092")]
    bootstrap: String,
    /// Partitions of the run's topics.
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// The binary that serves the schema registry.
    #[arg(long, default_value = "target/release/balados")]
    balados: std::path::PathBuf,
    /// Where the registry's throwaway database is created (and dropped at the end).
    #[arg(
        long,
        default_value = "postgres://balados:balados@127.0.0.1:5432/postgres"
    )]
    database_admin_url: String,
    /// Distinct users, each with one token (one grant and one cache entry each).
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Plays per pass.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Plays sent to each variant before the measured passes (not measured): connections opened,
    /// and every user's token verified once, as in a server that has been running.
    #[arg(long, default_value_t = 1_000)]
    warmup: usize,
    /// RS256 verifications per round of the one-off measurement.
    #[arg(long, default_value_t = 2_000)]
    verifications: usize,
}

/// One of the compared verifiers, served.
#[derive(Debug)]
struct Variant {
    name: &'static str,
    url: String,
    tokens: Arc<Vec<String>>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    println!("run {run}: minting {} tokens", args.users);
    let users = verifiers::Users::new(&run, args.users)?;
    let stack_args = StackArgs {
        bootstrap: args.bootstrap.clone(),
        partitions: args.partitions,
        balados: args.balados.clone(),
        database_admin_url: args.database_admin_url.clone(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let stack = runtime.block_on(Stack::start(&stack_args, &run))?;
    let outcome = runtime.block_on(measure(&args, &run, &users, &stack));
    let Stack { leftovers, .. } = stack;
    // The servers and the replies' consumer are tasks: with the runtime go the last of the run's
    // broker clients, before its topics are deleted.
    runtime.shutdown_timeout(Duration::from_secs(10));
    tokio::runtime::Runtime::new()?.block_on(leftovers.remove())?;
    outcome
}

async fn measure(
    args: &Args,
    run: &str,
    users: &verifiers::Users,
    stack: &Stack,
) -> anyhow::Result<()> {
    let producer: Arc<dyn balados_ingest::CommandSink> = Arc::new(stack.producer.clone());
    let metrics = balados_platform::metrics::Metrics::default();
    let state = |verifier: Arc<dyn TokenVerifier>| IngestState {
        producer: producer.clone(),
        verifier,
        metrics: metrics.clone(),
        replies: stack.replies.clone(),
        writes: None,
    };
    let uncached = verifiers::uncached(users.grants.clone());
    let signed = Arc::new(users.signed.clone());
    let variant = |name, verifier, tokens| async move {
        let url = load::serve(balados_ingest::router(state(verifier))).await?;
        anyhow::Ok(Variant { name, url, tokens })
    };
    let variants = [
        variant(
            "cached",
            verifiers::cached(users.grants.clone()),
            signed.clone(),
        )
        .await?,
        variant("uncached", uncached.clone(), signed).await?,
        variant(
            "bare",
            Arc::new(verifiers::Bare),
            Arc::new(users.ids.clone()),
        )
        .await?,
    ];
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let workload = Arc::new(Workload::new(run, args.requests.max(args.warmup))?);

    for variant in &variants {
        let pass = load::run(
            &client,
            &variant.url,
            &variant.tokens,
            &workload,
            args.warmup,
            args.concurrency,
        )
        .await;
        anyhow::ensure!(
            pass.failures == 0,
            "warm-up of {}: {} of {} refused, first: {:?}",
            variant.name,
            pass.failures,
            pass.requests,
            pass.first_failure
        );
    }
    println!(
        "topics {}.*, {} partitions; {} plays per pass, {} in flight, {} users (warm-up: {} plays per variant)\n",
        stack.settings.kafka.topic_prefix,
        stack.settings.kafka.partitions,
        args.requests,
        args.concurrency,
        args.users,
        args.warmup
    );
    println!("| order | variant | writes/s | p50 | p99 | CPU per request | refused |");
    println!("|---|---|---|---|---|---|---|");
    let mut passes: [Vec<Pass>; 3] = Default::default();
    let orders: [(&str, [usize; 3]); 2] = [("1", [0, 1, 2]), ("2 (reverse)", [2, 1, 0])];
    for (order, indexes) in orders {
        for i in indexes {
            let variant = &variants[i];
            let pass = load::run(
                &client,
                &variant.url,
                &variant.tokens,
                &workload,
                args.requests,
                args.concurrency,
            )
            .await;
            print_row(order, variant.name, &pass);
            passes[i].push(pass);
        }
    }

    // Over both passes of each variant: the CPU time over the requests.
    let per_request = |i: usize| {
        let cpu: Duration = passes[i].iter().map(|p| p.cpu).sum();
        let requests: usize = passes[i].iter().map(|p| p.requests).sum();
        cpu.as_secs_f64() * 1e6 / requests.max(1) as f64
    };
    let (cached, uncached_cpu, bare) = (per_request(0), per_request(1), per_request(2));
    println!(
        "\nCPU per request over both passes: cached {cached:.1} µs, uncached {uncached_cpu:.1} µs, bare {bare:.1} µs"
    );
    println!(
        "verification's cost per request: uncached − cached {:.1} µs; cached − bare {:.1} µs; uncached − bare {:.1} µs",
        uncached_cpu - cached,
        cached - bare,
        uncached_cpu - bare
    );

    one_off(args, users, uncached).await
}

fn print_row(order: &str, variant: &str, pass: &Pass) {
    let refused = match &pass.first_failure {
        Some(first) => format!("{} (first: {first})", pass.failures),
        None => "0".into(),
    };
    println!(
        "| {order} | {variant} | {:.0} | {:.1} ms | {:.1} ms | {:.1} µs | {refused} |",
        pass.per_second(),
        pass.percentile(0.50).as_secs_f64() * 1e3,
        pass.percentile(0.99).as_secs_f64() * 1e3,
        pass.cpu_per_request().as_secs_f64() * 1e6,
    );
}

/// One RS256 verification, timed alone: rounds of `verifications` tokens (users round-robin)
/// through the uncached chain on one thread, the fastest and the median round (wall clock: the
/// other rounds met the machine's other work); and, for scale, the cached chain's answer for a
/// known token.
async fn one_off(
    args: &Args,
    users: &verifiers::Users,
    uncached: Arc<dyn TokenVerifier>,
) -> anyhow::Result<()> {
    const ROUNDS: usize = 5;
    let count = args.verifications.max(1);
    let tokens = users.signed.clone();
    let cache = verifiers::cached(users.grants.clone());
    let (rsa, hit) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let rounds = |verifier: &dyn TokenVerifier| -> anyhow::Result<Vec<Duration>> {
            let mut each = Vec::new();
            for _ in 0..ROUNDS {
                let started = Instant::now();
                for n in 0..count {
                    verifier.verify(&tokens[n % tokens.len()])?;
                }
                each.push(started.elapsed() / u32::try_from(count).unwrap_or(u32::MAX));
            }
            each.sort_unstable();
            Ok(each)
        };
        let rsa = rounds(uncached.as_ref())?;
        // Every token once, so that the timed rounds answer from memory.
        for token in tokens.iter() {
            cache.verify(token)?;
        }
        Ok((rsa, rounds(cache.as_ref())?))
    })
    .await??;
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "\none verification ({ROUNDS} rounds of {count} on one thread, fastest / median round): \
         uncached (RS256) {:.1} / {:.1} µs; cached (a known token) {:.2} / {:.2} µs",
        micros(rsa[0]),
        micros(rsa[ROUNDS / 2]),
        micros(hit[0]),
        micros(hit[ROUNDS / 2]),
    );
    Ok(())
}
