//! Aggregator benchmark: a backlog of N commands over U users is produced to a fresh topic prefix
//! (`--workload subscribe`: every command a new subscription; `mixed`: each user's first command a
//! subscription, the next ones plays), then one `balados aggregator` process (transactions on or
//! off) is started and timed until every command has its outcome on `command-results`, in wall
//! time and in the CPU time the aggregator used (commands per core-second); then it is restarted
//! and the restore of its partitions' users is timed (from its own log lines).
//!
//! Needs a broker and a schema registry (e.g. those of ./dev/up, or the recipe in bench/README.md),
//! and the registry's operator password to register schemas (`--registry-password` or
//! BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD; ./dev/up keeps its in .dev/registry-operator-password).

use balados_schemas::registry_client::RegistryClient;
use balados_schemas::{
    Codec, CommandEnvelope, CommandPayload, Contract, FeedUrl, ItemId, Seconds, Topics, UserId,
};
use clap::Parser;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:9092")]
    bootstrap: String,
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    registry: String,
    /// The registry's operator credential: the benchmark and the aggregator register schemas.
    #[arg(
        long,
        env = "BALADOS__SCHEMA_REGISTRY__OPERATOR_USER",
        default_value = "operator"
    )]
    registry_user: String,
    #[arg(
        long,
        env = "BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD",
        hide_env_values = true
    )]
    registry_password: Option<String>,
    #[arg(long, default_value = "target/release/balados")]
    balados: String,
    #[arg(long, default_value_t = 100_000)]
    commands: u64,
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    #[arg(long, default_value_t = 1)]
    partitions: i32,
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    transactional: bool,
    #[arg(long, default_value_t = 20)]
    fetch_wait_max_ms: u32,
    #[arg(long, value_enum, default_value = "subscribe")]
    workload: Workload,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Workload {
    /// Every command subscribes a user to a new feed.
    Subscribe,
    /// A user's first command subscribes; the following ones record plays.
    Mixed,
}

fn command(i: u64, users: u64, workload: Workload) -> CommandEnvelope {
    let at =
        chrono::DateTime::from_timestamp_millis(1_700_000_000_000 + i64::try_from(i).unwrap_or(0))
            .unwrap_or_default();
    CommandEnvelope {
        command_id: uuid::Uuid::from_u64_pair(0xbe9c, i),
        user_id: UserId::parse(&format!("bench-user-{}", i % users)).expect("a valid user id"),
        occurred_at: at,
        received_at: at,
        app_id: None,
        device_id: None,
        device_name: None,
        reply_to: None,
        payload: payload(i / users, workload),
    }
}

/// The `round`-th command of a user.
fn payload(round: u64, workload: Workload) -> CommandPayload {
    let feed = |n: u64| {
        FeedUrl::parse(&format!("https://bench.example.com/{n}.xml")).expect("a valid feed URL")
    };
    match workload {
        Workload::Mixed if round > 0 => CommandPayload::RecordPlay {
            feed: feed(0),
            item: ItemId::new(
                &format!("episode-{}", round % 5),
                &format!("https://bench.example.com/{}.mp3", round % 5),
            )
            .expect("a valid item"),
            position: Seconds::parse(i64::try_from(round * 10).unwrap_or(0)).unwrap_or_default(),
            duration: Seconds::parse(3_600).ok(),
            played: false,
        },
        Workload::Mixed => CommandPayload::Subscribe {
            feed: feed(0),
            source_id: None,
        },
        Workload::Subscribe => CommandPayload::Subscribe {
            feed: feed(round),
            source_id: None,
        },
    }
}

/// Resident memory of process `pid` now, and at its peak, in MiB, from /proc (Linux).
fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((kib("VmRSS:")? / 1024.0, kib("VmHWM:")? / 1024.0))
}

/// CPU time (user + system) used so far by process `pid`, from /proc (Linux).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) close with ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux ABI that matters here.
    Some(Duration::from_millis(ticks * 10))
}

fn env(args: &Args, prefix: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("BALADOS__KAFKA__BOOTSTRAP".into(), args.bootstrap.clone()),
        ("BALADOS__KAFKA__TOPIC_PREFIX".into(), prefix.into()),
        (
            "BALADOS__KAFKA__PARTITIONS".into(),
            args.partitions.to_string(),
        ),
        (
            "BALADOS__KAFKA__FETCH_WAIT_MAX_MS".into(),
            args.fetch_wait_max_ms.to_string(),
        ),
        (
            "BALADOS__SCHEMA_REGISTRY__URL".into(),
            args.registry.clone(),
        ),
        ("BALADOS__HTTP__ADDR".into(), "127.0.0.1:0".into()),
        (
            "BALADOS__AGGREGATOR__TRANSACTIONAL".into(),
            args.transactional.to_string(),
        ),
        ("BALADOS__AGGREGATOR__INSTANCE_ID".into(), "bench".into()),
        ("BALADOS__LOG__FILTER".into(), "info".into()),
        (
            "BALADOS__SCHEMA_REGISTRY__OPERATOR_USER".into(),
            args.registry_user.clone(),
        ),
    ];
    if let Some(password) = &args.registry_password {
        env.push((
            "BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD".into(),
            password.clone(),
        ));
    }
    env
}

/// Starts the aggregator; returns it and a channel of its log lines.
fn start(
    args: &Args,
    prefix: &str,
) -> anyhow::Result<(std::process::Child, std::sync::mpsc::Receiver<String>)> {
    let mut child = Command::new(&args.balados)
        .arg("aggregator")
        .envs(env(args, prefix))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Ok((child, rx))
}

/// Waits for `expected` distinct outcomes; returns the time to all, the time from the first to
/// all, and the CPU time the aggregator (`pid`) used from the first to all.
fn count_results(
    consumer: &BaseConsumer,
    expected: u64,
    deadline: Duration,
    pid: u32,
) -> anyhow::Result<(Duration, Duration, Duration)> {
    let started = Instant::now();
    let mut first: Option<(Instant, Duration)> = None;
    let mut seen = std::collections::HashSet::new();
    while (seen.len() as u64) < expected {
        anyhow::ensure!(
            started.elapsed() < deadline,
            "only {} of {expected} outcomes",
            seen.len()
        );
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message?;
            first.get_or_insert_with(|| (Instant::now(), cpu_time(pid).unwrap_or_default()));
            // The command id is the first field: a 36-byte UUID string after a 1-byte length.
            if let Some(id) = rdkafka::Message::payload(&message).and_then(|p| p.get(6..42)) {
                seen.insert(id.to_vec());
            }
        }
    }
    let (wall, cpu) = first.map_or((Duration::ZERO, Duration::ZERO), |(at, cpu)| {
        (
            at.elapsed(),
            cpu_time(pid).unwrap_or_default().saturating_sub(cpu),
        )
    });
    Ok((started.elapsed(), wall, cpu))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let topics = Topics::new(&prefix);
    let status = Command::new(&args.balados)
        .args(["admin", "topics"])
        .envs(env(&args, &prefix))
        .output()?;
    anyhow::ensure!(
        status.status.success(),
        "admin topics: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut registry = RegistryClient::new(&args.registry)?;
    if let Some(password) = &args.registry_password {
        registry = registry.with_basic_auth(&args.registry_user, password)?;
    }
    let codec = Codec::connect(registry, &topics, &[Contract::Command], true).await?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "20")
        .set("enable.idempotence", "true")
        .create()?;
    let started = Instant::now();
    let mut pending = Vec::new();
    for i in 0..args.commands {
        let c = command(i, args.users, args.workload);
        let bytes = codec.encode(Contract::Command, c.to_avro())?;
        let record = FutureRecord::to(&topics.commands)
            .key(c.user_id.as_str())
            .payload(&bytes);
        pending.push(producer.send_result(record).map_err(|(e, _)| e)?);
        if pending.len() >= 10_000 {
            for p in pending.drain(..) {
                p.await?.map_err(|(e, _)| e)?;
            }
        }
    }
    for p in pending.drain(..) {
        p.await?.map_err(|(e, _)| e)?;
    }
    println!(
        "produced {} commands over {} users in {:.1} s",
        args.commands,
        args.users,
        started.elapsed().as_secs_f64()
    );

    let results: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap)
        .set("group.id", format!("{prefix}-bench"))
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .create()?;
    results.subscribe(&[&topics.command_results])?;
    let (mut aggregator, _log) = start(&args, &prefix)?;
    let (total, steady, cpu) = count_results(
        &results,
        args.commands,
        Duration::from_secs(1800),
        aggregator.id(),
    )?;
    println!(
        "decided {} commands ({:?} workload): {:.2} s from start ({:.0}/s, with the group join and first restore); {:.2} s from the first outcome to the last = {:.0} commands/s, using {:.2} s of aggregator CPU = {:.0} commands per core-second (transactions {}, {} partition(s))",
        args.commands,
        args.workload,
        total.as_secs_f64(),
        args.commands as f64 / total.as_secs_f64(),
        steady.as_secs_f64(),
        args.commands as f64 / steady.as_secs_f64(),
        cpu.as_secs_f64(),
        args.commands as f64 / cpu.as_secs_f64(),
        if args.transactional { "on" } else { "off" },
        args.partitions
    );
    aggregator.kill()?;
    aggregator.wait()?;

    // Restore: a restart reads every state record back; one more command per partition triggers it.
    let (mut aggregator, log) = start(&args, &prefix)?;
    for p in 0..args.partitions {
        let c = command(
            args.commands + u64::try_from(p).unwrap_or(0),
            args.users,
            args.workload,
        );
        let bytes = codec.encode(Contract::Command, c.to_avro())?;
        producer
            .send(
                FutureRecord::to(&topics.commands)
                    .partition(p)
                    .key(c.user_id.as_str())
                    .payload(&bytes),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    let mut restored = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while restored < args.partitions && Instant::now() < deadline {
        if let Ok(line) = log.recv_timeout(Duration::from_secs(1))
            && line.contains("partition state restored")
        {
            println!(
                "restore: {}",
                line.split("restore.users")
                    .nth(1)
                    .map_or(line.as_str(), |rest| rest)
            );
            restored += 1;
        }
    }
    // The whole state of the partition's users is in memory once restored: what it costs.
    if let Some((rss, peak)) = memory_mib(aggregator.id()) {
        println!(
            "memory after the restore of {} users: resident {rss:.0} MiB (peak {peak:.0} MiB), {:.0} bytes per user",
            args.users,
            rss * 1024.0 * 1024.0 / args.users as f64
        );
    }
    aggregator.kill()?;
    aggregator.wait()?;
    Ok(())
}
