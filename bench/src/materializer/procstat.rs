//! CPU time from /proc (Linux): of one process, and of the PostgreSQL processes, which do much of
//! the materializer's set-based work on their side of the connection.

use std::collections::HashMap;
use std::time::Duration;

/// CPU time (user + system) used so far by process `pid`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) close with ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux ABI that matters here.
    Some(Duration::from_millis(ticks * 10))
}

/// Busy and total time of the whole machine so far, in ticks (the `cpu` line of /proc/stat).
pub fn machine() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    // idle and iowait
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle, total))
}

/// The share of the machine's CPU used between two [`machine`] readings.
pub fn busy_between(earlier: Option<(u64, u64)>, later: Option<(u64, u64)>) -> f64 {
    match (earlier, later) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => (b1 - b0) as f64 / (t1 - t0) as f64,
        _ => 0.0,
    }
}

/// CPU time per PostgreSQL process, split in two: the backends serving `database` (their
/// command line is `postgres: USER DATABASE HOST ...`, autovacuum workers name it too), and every
/// PostgreSQL process (the WAL writer, checkpointer and background writer work for everyone;
/// the other databases' backends are in there as well, so this one is only as clean as the
/// machine is idle).
#[derive(Debug, Default, Clone)]
pub struct PgCpu {
    database: HashMap<u32, Duration>,
    all: HashMap<u32, Duration>,
}

impl PgCpu {
    pub fn sample(database: &str) -> Self {
        let mut sample = Self::default();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return sample;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&cmdline);
            let is_postgres =
                cmdline.starts_with("postgres:") || cmdline.starts_with("/usr/lib/postgresql/");
            if !is_postgres {
                continue;
            }
            let Some(cpu) = cpu_time(pid) else { continue };
            sample.all.insert(pid, cpu);
            if cmdline.split_whitespace().any(|word| word == database) {
                sample.database.insert(pid, cpu);
            }
        }
        sample
    }

    /// CPU used between `earlier` and `self`: (the database's backends, all PostgreSQL). A
    /// process that started in between counts from zero; one that ended in between is lost.
    pub fn since(&self, earlier: &Self) -> (Duration, Duration) {
        let delta = |now: &HashMap<u32, Duration>, then: &HashMap<u32, Duration>| {
            now.iter()
                .map(|(pid, cpu)| cpu.saturating_sub(then.get(pid).copied().unwrap_or_default()))
                .sum()
        };
        (
            delta(&self.database, &earlier.database),
            delta(&self.all, &earlier.all),
        )
    }
}
