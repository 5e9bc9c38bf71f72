//! A dependency that is down at start-up is named, and waited for: no crash loop.

use crate::helpers::{Stack, binary};
use std::time::{Duration, Instant};

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

async fn assert_waits_saying(stack: &Stack, env: Vec<(String, String)>, needle: &str) {
    let log = stack.work_dir.join(format!("startup-{}.log", needle.len()));
    let stderr = std::fs::File::create(&log).expect("log");
    let mut child = std::process::Command::new(binary())
        .arg("serve")
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains(needle) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no message containing {needle:?} in 30 s:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        matches!(child.try_wait(), Ok(None)),
        "the server must keep retrying, not exit"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_broker_or_database_is_named_and_waited_for() {
    let stack = Stack::start(false).await;
    let mut env = stack.server_env();
    env.push((
        "BALADOS__KAFKA__BOOTSTRAP".into(),
        format!("127.0.0.1:{}", closed_port()),
    ));
    assert_waits_saying(
        &stack,
        env,
        "Kafka broker unreachable (setting kafka.bootstrap)",
    )
    .await;

    let mut env = stack.server_env();
    env.push((
        "BALADOS__DATABASE__URL".into(),
        format!(
            "postgres://balados:balados@127.0.0.1:{}/nowhere",
            closed_port()
        ),
    ));
    assert_waits_saying(&stack, env, "PostgreSQL unreachable (setting database.url)").await;

    // And the schema registry, down, too.
    let mut env = stack.server_env();
    env.push((
        "BALADOS__SCHEMA_REGISTRY__URL".into(),
        format!("http://127.0.0.1:{}", closed_port()),
    ));
    assert_waits_saying(
        &stack,
        env,
        "schema registry unreachable (setting schema_registry.url)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_idempotently_and_a_wrong_partition_count_fails_loudly() {
    let stack = Stack::start(false).await;
    let admin_topics = |partitions: &str| {
        let mut env = stack.server_env();
        env.push(("BALADOS__KAFKA__PARTITIONS".into(), partitions.into()));
        std::process::Command::new(binary())
            .args(["admin", "topics"])
            .envs(env)
            .output()
            .expect("runs")
    };
    let first = admin_topics("3");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains(&stack.topic("commands.v1")));
    let again = admin_topics("3");
    assert!(
        again.status.success(),
        "creating existing topics again is not an error: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    let wrong = admin_topics("4");
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success(), "a partition mismatch must fail");
    assert!(
        stderr.contains("exists with 3 partitions but 4 are required"),
        "{stderr}"
    );
}
