//! Crashes under the service: during a stream of writes from several users, on the broker
//! configuration `./dev/up` runs (tansu on S3 storage, without idempotence or transactions), the
//! broker is SIGKILLed and restarted at random moments, its storage once, PostgreSQL once, the
//! schema registry once, and the server itself once. After each, a new write must be decided
//! within a minute, with no other process of ours restarted. At the end every acknowledged write is decided once and visible, and every
//! user's event sequence is without gap.
//!
//! FAULT_BROKER_KILLS (default 5) sets the number of broker kills (bench/README.md reports a
//! run of 50); FAULT_SEED replays a schedule.

use crate::helpers::{
    APP, REGISTRY_PASSWORD, REGISTRY_PASSWORD_VAR, metrics, spawn, unlimited_writes,
    without_transactions,
};
use crate::infra::Infra;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use workload::{
    Writes, decided_once_without_gaps, decided_write, every_acknowledged_write_visible, free_port,
    write_stream,
};

pub(crate) mod workload;

const USERS: usize = 4;
const PARTITIONS: i32 = 3;

#[derive(Debug, Clone, Copy)]
enum Fault {
    Broker,
    Storage,
    Postgres,
    Registry,
    Server,
}

/// Broker kills, with the storage, PostgreSQL, the registry and the server each killed once among
/// them.
fn schedule(broker_kills: usize) -> Vec<Fault> {
    let mut faults = vec![Fault::Broker; broker_kills.max(1)];
    for (at, fault) in [
        (1, Fault::Storage),
        (3, Fault::Postgres),
        (5, Fault::Registry),
        (7, Fault::Server),
    ] {
        faults.insert(at.min(faults.len()), fault);
    }
    faults
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn user(i: usize) -> String {
    format!("faults-user-{i}")
}

struct Processes {
    registry: Child,
    server: Child,
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in [&mut self.registry, &mut self.server] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_of_the_broker_its_storage_postgres_and_the_registry_lose_nothing() {
    let infra = Infra::start();
    let work = infra.dir.join("balados");
    std::fs::create_dir_all(work.join("keys")).expect("dir");
    std::fs::write(
        work.join("keys").join(format!("{APP}.pem")),
        include_bytes!("../../auth/tests/fixtures/test-app.pem"),
    )
    .expect("key");
    let prefix = "faults";
    let registry_addr = format!("127.0.0.1:{}", free_port());
    let registry_url = format!("http://{registry_addr}");
    let mut env: Vec<(String, String)> = [
        ("BALADOS__DATABASE__URL", infra.database_url()),
        ("BALADOS__SCHEMA_REGISTRY__LISTEN", registry_addr.clone()),
        ("BALADOS__SCHEMA_REGISTRY__URL", registry_url.clone()),
        (REGISTRY_PASSWORD_VAR, REGISTRY_PASSWORD.to_owned()),
        ("BALADOS__KAFKA__BOOTSTRAP", infra.bootstrap()),
        ("BALADOS__KAFKA__TOPIC_PREFIX", prefix.into()),
        ("BALADOS__KAFKA__PARTITIONS", PARTITIONS.to_string()),
        ("BALADOS__KAFKA__FETCH_WAIT_MAX_MS", "100".into()),
        ("BALADOS__KAFKA__GROUP_INSTANCE_ID", "faults".into()),
        // A fixed port: the writers keep their address across the server's restart.
        ("BALADOS__HTTP__ADDR", format!("127.0.0.1:{}", free_port())),
        (
            "BALADOS__AUTH__APP_KEYS_DIR",
            work.join("keys").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // As ./dev/up runs it; each writer is one user writing as fast as it can, which is not what
    // the rate limits are about.
    env.extend(without_transactions());
    env.extend(unlimited_writes());
    let start_registry = |n: usize| {
        spawn(
            &["schema-registry"],
            &env,
            &work.join(format!("registry-{n}.log")),
            "schema-registry",
            Duration::from_secs(60),
        )
        .0
    };
    let registry = start_registry(0);
    let server_log = |n: usize| work.join(format!("server-{n}.log"));
    let start_server = |n: usize| {
        spawn(
            &["serve"],
            &env,
            &server_log(n),
            "http",
            Duration::from_secs(120),
        )
    };
    let (server, url) = start_server(0);
    let mut processes = Processes { registry, server };
    let first = decided_write(&url, 0).await;
    eprintln!("first write decided after {first:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let writes: Vec<Arc<Mutex<Writes>>> = (0..USERS).map(|_| Arc::default()).collect();
    let writers: Vec<_> = writes
        .iter()
        .enumerate()
        .map(|(i, w)| tokio::spawn(write_stream(url.clone(), user(i), stop.clone(), w.clone())))
        .collect();

    let seed = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) | 1);
    eprintln!("FAULT_SEED={seed}");
    let mut rng = Rng(seed);
    let kills = std::env::var("FAULT_BROKER_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(5);
    let mut recoveries = Vec::new();
    for (n, fault) in schedule(kills).into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(1000 + rng.below(4000))).await;
        let down = Duration::from_millis(300 + rng.below(2700));
        let killed_at = chrono::Utc::now();
        match fault {
            Fault::Broker => {
                infra.kill_broker();
                tokio::time::sleep(down).await;
                infra.start_broker();
            }
            Fault::Storage => {
                infra.kill_storage();
                tokio::time::sleep(down).await;
                infra.start_storage();
            }
            Fault::Postgres => {
                infra.kill_postgres();
                tokio::time::sleep(down).await;
                infra.start_postgres();
            }
            Fault::Registry => {
                let _ = processes.registry.kill();
                let _ = processes.registry.wait();
                tokio::time::sleep(down).await;
                processes.registry = start_registry(n + 1);
            }
            Fault::Server => {
                let _ = processes.server.kill();
                let _ = processes.server.wait();
                tokio::time::sleep(down).await;
                processes.server = start_server(n + 1).0;
            }
        }
        let recovery = decided_write(&url, n + 1).await;
        // Wall-clock times, to find the fault in the server's log.
        eprintln!(
            "fault {n} ({fault:?}, killed at {killed}, down {down:?}): a new write decided \
             {recovery:?} after the return",
            killed = killed_at.format("%H:%M:%S%.3f")
        );
        recoveries.push((fault, recovery));
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }

    let users: Vec<(String, Arc<Mutex<Writes>>)> = writes
        .iter()
        .enumerate()
        .map(|(i, w)| (user(i), w.clone()))
        .collect();
    let acked_total = every_acknowledged_write_visible(&[&url], &users, &work).await;
    eprintln!("{acked_total} acknowledged writes, all visible; recoveries: {recoveries:?}");
    decided_once_without_gaps(
        (&infra.bootstrap(), &registry_url),
        (prefix, PARTITIONS),
        &users,
    )
    .await;
    let metrics = metrics(&url).await;
    for loss in [
        "balados_materializer_sequence_gaps_total",
        "balados_aggregator_missing_events_total",
    ] {
        assert!(
            !metrics
                .lines()
                .any(|l| l.starts_with(loss) && !l.ends_with(" 0")),
            "{loss} is not zero:\n{metrics}"
        );
    }

    // A SIGTERM with the broker gone still ends the process, in bounded time.
    infra.kill_broker();
    let pid = processes.server.id().to_string();
    let stopping = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    while processes.server.try_wait().expect("wait").is_none() {
        assert!(
            stopping.elapsed() < Duration::from_secs(45),
            "the server did not stop within 45 s of SIGTERM with the broker down"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "SIGTERM with the broker down: stopped in {:?}",
        stopping.elapsed()
    );
    drop(processes);
}
