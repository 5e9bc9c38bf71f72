//! Growing the partitions under writes (6 → 12): `balados admin partitions grow` pauses the writes,
//! copies every user's events and state to the successor's topics, and the server restarts on
//! them. Writers keep writing throughout (their refused writes are retried by the next). At the
//! end every acknowledged write is decided once and visible, every user's event sequence on the
//! new topics is without gap, and users whose partition changed went on from their sequence.

use crate::broker_faults::workload::{
    Writes, decided_once_without_gaps, every_acknowledged_write_visible, free_port, write_stream,
};
use crate::helpers::{Stack, binary, kafka_bootstrap, unlimited_writes};
use balados_platform::kafka::partitioner::partition_for;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const USERS: usize = 8;

fn user(i: usize) -> String {
    format!("grow-user-{i}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_from_6_to_12_partitions_under_writes_loses_and_duplicates_nothing() {
    let mut stack = Stack::start(false).await;
    let successor = format!("{}-g12", stack.prefix);
    // A fixed port: the writers keep their address across the restart.
    let mut env = unlimited_writes();
    env.push((
        "BALADOS__HTTP__ADDR".into(),
        format!("127.0.0.1:{}", free_port()),
    ));
    env.push(("BALADOS__KAFKA__PARTITIONS".into(), "6".into()));
    stack.start_server(&env).await;
    let url = stack.server().url.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let users: Vec<(String, Arc<Mutex<Writes>>)> =
        (0..USERS).map(|i| (user(i), Arc::default())).collect();
    let writers: Vec<_> = users
        .iter()
        .map(|(u, w)| {
            tokio::spawn(write_stream(
                url.clone(),
                u.clone(),
                stop.clone(),
                w.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut grow_env = stack.server_env();
    grow_env.extend(env.clone());
    let started = Instant::now();
    let growth = tokio::process::Command::new(binary())
        .args([
            "admin",
            "partitions",
            "grow",
            "--to",
            "12",
            "--prefix",
            &successor,
        ])
        .envs(grow_env)
        .output()
        .await
        .expect("balados admin partitions grow runs");
    let said = String::from_utf8_lossy(&growth.stdout);
    assert!(
        growth.status.success(),
        "the growth failed:\n{said}\n{}",
        String::from_utf8_lossy(&growth.stderr)
    );
    eprintln!("growth in {:?}:\n{said}", started.elapsed());
    assert!(said.contains("grown from 6 to 12 partitions"), "{said}");

    // The server restarts on the successor's topics; the writers go on against the same address.
    let old = stack.server.take().expect("server");
    assert!(old.terminate(Duration::from_secs(30)).is_some(), "stopped");
    env.push(("BALADOS__KAFKA__TOPIC_PREFIX".into(), successor.clone()));
    env.push(("BALADOS__KAFKA__PARTITIONS".into(), "12".into()));
    stack.start_server(&env).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    let before_and_after = users
        .iter()
        .filter(|(u, _)| partition_for(u.as_bytes(), 6) != partition_for(u.as_bytes(), 12))
        .count();
    assert!(before_and_after > 0, "some users change partition");

    // Writes during the pause were refused with 503 (and Retry-After), never another server error.
    let mut refused = Vec::new();
    for (_, writes) in &users {
        refused.extend(writes.lock().await.server_errors.iter().copied());
    }
    assert!(!refused.is_empty(), "no write was refused during the pause");
    assert!(
        refused.iter().all(|s| *s == 503),
        "server errors: {refused:?}"
    );
    let acked = every_acknowledged_write_visible(&[&url], &users, &stack.work_dir).await;
    assert!(acked > USERS * 10, "writes were acknowledged: {acked}");
    decided_once_without_gaps(
        (&kafka_bootstrap(), &stack.registry_url),
        (&successor, 12),
        &users,
    )
    .await;
    // The restored meta records point at their users' last events in the new topic: the
    // aggregator's restore check found none missing, and no user is held at a sequence gap.
    let metrics = crate::helpers::metrics(&url).await;
    for loss in [
        "balados_aggregator_missing_events_total",
        "balados_materializer_sequence_gaps_total",
    ] {
        assert!(
            metrics.lines().any(|l| l.starts_with(loss))
                && !metrics
                    .lines()
                    .any(|l| l.starts_with(loss) && !l.ends_with(" 0")),
            "{loss} not zero:\n{metrics}"
        );
    }
}
