//! Materializer benchmark.
//!
//! `throughput`: a backlog of N events (a realistic mix over U users, see `workload`) is produced
//! to the events topic of a fresh prefix; one `balados materializer` process is started on a fresh
//! database and timed until the offsets it stores with its rows reach the backlog's end: events
//! per second, per core-second of the materializer (CPU time from /proc) and the PostgreSQL CPU
//! over the same interval. Then, in the same database, a bare `COPY` of exactly the rows it wrote
//! is timed, and the ratio reported.
//!
//! `latency`: against a running stack, POST-to-visible latency of plays at half the highest rate
//! the stack sustains (see `latency`).
//!
//! Needs a broker, a schema registry and PostgreSQL (the recipe in bench/README.md).

mod backlog;
mod copy;
mod database;
mod latency;
mod plays;
mod procstat;
mod run;
mod workload;

use clap::{Parser, Subcommand};
use std::time::Duration;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Events materialized per second and per core, and the ratio to a bare COPY of its rows.
    Throughput(ThroughputArgs),
    /// POST-to-visible latency of plays at half the maximum load, against a running stack.
    Latency(latency::LatencyArgs),
}

#[derive(Debug, clap::Args)]
struct ThroughputArgs {
    #[arg(long, default_value = "127.0.0.1:9092")]
    bootstrap: String,
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    registry: String,
    /// A database of the PostgreSQL server to use; the benchmark creates its own beside it.
    #[arg(
        long,
        default_value = "postgres://balados:balados@127.0.0.1:5432/postgres"
    )]
    database_admin_url: String,
    #[arg(long, default_value = "target/release/balados")]
    balados: String,
    #[arg(long, default_value_t = 500_000)]
    events: u64,
    #[arg(long, default_value_t = 50_000)]
    users: u64,
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    #[arg(long, default_value_t = 20)]
    fetch_wait_max_ms: u32,
    /// A PostgreSQL setting for the benchmark's database, KEY=VALUE (repeatable), e.g.
    /// `synchronous_commit=off` or `log_min_duration_statement=0`.
    #[arg(long)]
    pg_setting: Vec<String>,
    /// Keep the benchmark's database (dropped by default).
    #[arg(long)]
    keep_database: bool,
}

/// The materializer's settings; any other `BALADOS__*` variable of the caller (e.g.
/// `BALADOS__MATERIALIZER__BATCH_MAX`) reaches it too.
fn env(args: &ThroughputArgs, prefix: &str, database_url: &str) -> Vec<(String, String)> {
    [
        ("BALADOS__KAFKA__BOOTSTRAP", args.bootstrap.clone()),
        ("BALADOS__KAFKA__TOPIC_PREFIX", prefix.to_owned()),
        ("BALADOS__KAFKA__PARTITIONS", args.partitions.to_string()),
        (
            "BALADOS__KAFKA__FETCH_WAIT_MAX_MS",
            args.fetch_wait_max_ms.to_string(),
        ),
        ("BALADOS__SCHEMA_REGISTRY__URL", args.registry.clone()),
        ("BALADOS__DATABASE__URL", database_url.to_owned()),
        ("BALADOS__HTTP__ADDR", "127.0.0.1:0".to_owned()),
        ("BALADOS__LOG__FILTER", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn throughput(args: ThroughputArgs) -> anyhow::Result<()> {
    let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let prefix = format!("bench{id}");
    let database = database::Database::create(&args.database_admin_url, &prefix).await?;
    for setting in &args.pg_setting {
        database.set(setting).await?;
    }
    let env = env(&args, &prefix, &database.url);
    let settings =
        balados_platform::Settings::load_from(None, std::env::vars().chain(env.iter().cloned()))?;
    let backlog = backlog::produce(&settings, args.events, args.users).await?;

    let log = std::env::temp_dir().join(format!("materializer-bench-{prefix}.log"));
    let mut child = run::start(&args.balados, &env, &log)?;
    let mut conn = database.connect().await?;
    let measured = run::measure(
        &mut child,
        &mut conn,
        &database.name,
        &format!("{prefix}.materializer"),
        &settings.topics().events,
        &backlog,
        Duration::from_secs(1_800),
    )
    .await;
    run::stop(child)?;
    let m = measured.map_err(|e| e.context(format!("materializer log: {}", log.display())))?;
    let per = |cpu: Duration| m.events as f64 / cpu.as_secs_f64();
    println!(
        "materialized {} events in {:.2} s from its first commit to its last ({:.2} s from its start) = {:.0} events/s; materializer CPU {:.2} s = {:.0} events per core-second; PostgreSQL CPU {:.2} s in the bench database's backends ({:.2} s in all PostgreSQL processes); both = {:.0} events per core-second",
        m.events,
        m.wall.as_secs_f64(),
        m.from_start.as_secs_f64(),
        per(m.wall),
        m.cpu.as_secs_f64(),
        per(m.cpu),
        m.pg_database.as_secs_f64(),
        m.pg_all.as_secs_f64(),
        per(m.cpu + m.pg_all),
    );

    // The materializer's time for the whole backlog, its first batch included at the same pace.
    let whole = m
        .wall
        .mul_f64(backlog.events as f64 / m.events.max(1) as f64);
    println!(
        "materializer: {:.2} s for the {} events (its first batch counted at the same pace)",
        whole.as_secs_f64(),
        backlog.events
    );
    copy::compare(&mut conn, &database.name, whole).await?;
    drop(conn);
    if args.keep_database {
        println!("database kept: {}", database.url);
    } else {
        database.drop().await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Bench::Throughput(args) => throughput(args).await,
        Bench::Latency(args) => latency::run(args).await,
    }
}
