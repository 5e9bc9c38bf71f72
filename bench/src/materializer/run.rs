//! One `balados materializer` process over the backlog, timed by what it committed: the offsets
//! it stores in PostgreSQL with the rows (`materializer.offsets`), polled until they reach the
//! backlog's end. The clock and the CPU counters start at its first committed batch, so start-up
//! (migrations, the group join) is not counted, and the events of that first batch are not either.

use crate::backlog::Backlog;
use crate::procstat::{PgCpu, cpu_time};
use sqlx::PgConnection;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Measured {
    /// Events materialized between the first committed batch and the last.
    pub events: u64,
    pub wall: Duration,
    /// CPU time of the materializer process.
    pub cpu: Duration,
    /// CPU time of the PostgreSQL backends of the bench database, and of every PostgreSQL process.
    pub pg_database: Duration,
    pub pg_all: Duration,
    /// From the process start to the last commit.
    pub from_start: Duration,
}

/// Starts `balados materializer` with `env`, its log in `log`.
pub fn start(balados: &str, env: &[(String, String)], log: &Path) -> anyhow::Result<Child> {
    let stderr = std::fs::File::create(log)?;
    Ok(Command::new(balados)
        .arg("materializer")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()?)
}

/// SIGTERM, so that it leaves its consumer group cleanly; SIGKILL if it lingers.
pub fn stop(mut child: Child) -> anyhow::Result<()> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// Next offsets stored for `consumer` on `topic`; empty until the first batch (or the migrations).
async fn stored(conn: &mut PgConnection, consumer: &str, topic: &str) -> BTreeMap<i32, i64> {
    sqlx::query_as::<_, (i32, i64)>(
        "SELECT partition, next_offset FROM materializer.offsets WHERE consumer = $1 AND topic = $2",
    )
    .bind(consumer)
    .bind(topic)
    .fetch_all(conn)
    .await
    .map(|rows| rows.into_iter().collect())
    .unwrap_or_default()
}

/// Waits until `child` has materialized `backlog`, measuring from its first committed batch.
pub async fn measure(
    child: &mut Child,
    conn: &mut PgConnection,
    database: &str,
    consumer: &str,
    topic: &str,
    backlog: &Backlog,
    deadline: Duration,
) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let pid = child.id();
    let mut first = None;
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the materializer exited ({status}); see its log");
        }
        anyhow::ensure!(
            started.elapsed() < deadline,
            "the backlog was not materialized within {deadline:?}"
        );
        let reached = stored(conn, consumer, topic).await;
        if !reached.is_empty() && first.is_none() {
            first = Some((
                Instant::now(),
                cpu_time(pid).unwrap_or_default(),
                PgCpu::sample(database),
                backlog.below(&reached),
            ));
        }
        if let Some((at, cpu, pg, below)) = &first
            && backlog.covered_by(&reached)
        {
            let (pg_database, pg_all) = PgCpu::sample(database).since(pg);
            return Ok(Measured {
                events: backlog.events - below,
                wall: at.elapsed(),
                cpu: cpu_time(pid).unwrap_or_default().saturating_sub(*cpu),
                pg_database,
                pg_all,
                from_start: started.elapsed(),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
