//! The aggregator's instance id, which names its transactional id
//! (`{topic_prefix}.aggregator.{id}`). Two live processes with one id fence each other in a loop,
//! each new producer fencing the other's; a restarted process, though, must take its
//! predecessor's id: initialising the same transactional id fences the old producer and aborts
//! the transaction it left open at once (else read_committed readers wait until the broker times
//! it out — 10 s — and tansu never does).
//!
//! So an id is unique among live processes and stable across a restart:
//! - `aggregator.instance_id` set: used as given (e.g. a StatefulSet's pod name);
//! - empty (the default): `kafka.group_instance_id` when set (unique and stable per process by
//!   its own contract); else `{host}-{slot}`, the host name and the lowest slot free on this host.
//!   Scaling out needs no setting: processes on other hosts differ by host name, processes on one
//!   host by slot, and a restarted process takes its slot back.
//!
//! On one host an id is held by an exclusive lock on `{transactional id}.lock` in the temporary
//! directory, for the life of the process (the OS releases it with a crashed process). A process
//! given an id that a live one holds waits a while (a predecessor still stopping), then refuses
//! to start with a message that names the setting. Across hosts only the setting keeps ids apart.

use std::fs::{File, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Slots tried on one host before giving up.
const SLOTS: u32 = 64;
/// How long a configured id in use is waited for: a predecessor's shutdown grace.
const IN_USE_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `aggregator.instance_id`.
    Configured,
    /// `kafka.group_instance_id`.
    GroupInstanceId,
    /// The host name and a slot free on this host.
    Derived,
}

/// An instance id, held for as long as this value lives.
#[derive(Debug)]
pub struct InstanceId {
    id: String,
    source: Source,
    _lock: Option<File>,
}

impl InstanceId {
    pub fn as_str(&self) -> &str {
        &self.id
    }

    pub fn source(&self) -> Source {
        self.source
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceIdError {
    #[error(
        "aggregator.instance_id: {id:?} is in use by another aggregator on this host ({holder}, lock \
         {path}); two aggregators with one id fence each other's transactions in a loop. Give \
         each its own id, or leave aggregator.instance_id empty to derive one"
    )]
    InUse {
        id: String,
        holder: String,
        path: PathBuf,
    },
    #[error(
        "aggregator.instance_id is empty, and no slot of this host could be claimed in {dir}: \
         {reason}; set aggregator.instance_id (unique per process, the same after a restart)"
    )]
    NoSlot { dir: PathBuf, reason: String },
}

/// The id of the aggregator whose transactional ids start with `scope` (`{prefix}.aggregator`).
pub fn claim(
    configured: &str,
    group_instance_id: &str,
    scope: &str,
) -> Result<InstanceId, InstanceIdError> {
    let dir = std::env::temp_dir().join("balados-locks");
    claim_in(&dir, IN_USE_WAIT, configured, group_instance_id, scope)
}

fn claim_in(
    dir: &Path,
    wait: Duration,
    configured: &str,
    group_instance_id: &str,
    scope: &str,
) -> Result<InstanceId, InstanceIdError> {
    let given = match (configured, group_instance_id) {
        ("", "") => None,
        ("", group) => Some((group, Source::GroupInstanceId)),
        (id, _) => Some((id, Source::Configured)),
    };
    if let Some((id, source)) = given {
        return claim_given(dir, wait, id, source, scope);
    }
    let host = host_name();
    let mut last = String::from("no slot tried");
    for slot in 0..SLOTS {
        let id = format!("{host}-{slot}");
        match try_lock(dir, scope, &id) {
            Ok(Lock::Held(file)) => {
                return Ok(InstanceId {
                    id,
                    source: Source::Derived,
                    _lock: Some(file),
                });
            }
            Ok(Lock::InUse { .. }) => last = format!("{id} and the slots before it are in use"),
            Err(e) => {
                return Err(InstanceIdError::NoSlot {
                    dir: dir.to_owned(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Err(InstanceIdError::NoSlot {
        dir: dir.to_owned(),
        reason: last,
    })
}

/// A given id: locked on this host, waited for while in use; used without a lock when none can
/// be taken (a read-only file system): the operator chose it.
fn claim_given(
    dir: &Path,
    wait: Duration,
    id: &str,
    source: Source,
    scope: &str,
) -> Result<InstanceId, InstanceIdError> {
    let deadline = Instant::now() + wait;
    let mut reported = false;
    loop {
        match try_lock(dir, scope, id) {
            Ok(Lock::Held(file)) => {
                return Ok(InstanceId {
                    id: id.to_owned(),
                    source,
                    _lock: Some(file),
                });
            }
            Ok(Lock::InUse { holder, path }) if Instant::now() >= deadline => {
                return Err(InstanceIdError::InUse {
                    id: id.to_owned(),
                    holder,
                    path,
                });
            }
            Ok(Lock::InUse { holder, .. }) => {
                if !reported {
                    tracing::warn!(
                        instance.id = id,
                        holder,
                        "aggregator instance id in use on this host; waiting for it"
                    );
                    reported = true;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => {
                tracing::warn!(instance.id = id, dir = %dir.display(), error = %e, "the instance id cannot be locked on this host; using it unlocked");
                return Ok(InstanceId {
                    id: id.to_owned(),
                    source,
                    _lock: None,
                });
            }
        }
    }
}

enum Lock {
    Held(File),
    InUse { holder: String, path: PathBuf },
}

fn try_lock(dir: &Path, scope: &str, id: &str) -> std::io::Result<Lock> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{scope}.{id}.lock"));
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => {
            // Who holds it, for the message another process may give.
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "pid {}", std::process::id())?;
            Ok(Lock::Held(file))
        }
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Ok(Lock::InUse { holder, path })
        }
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// This host's name, reduced to the characters a transactional id takes.
fn host_name() -> String {
    let raw = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    sanitize_host(&raw)
}

fn sanitize_host(raw: &str) -> String {
    let name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "host".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        std::env::temp_dir().join(format!("balados-instance-test-{}", uuid::Uuid::new_v4()))
    }

    const SCOPE: &str = "test.aggregator";

    #[test]
    fn processes_on_one_host_get_distinct_ids_and_a_restart_gets_its_own_back() {
        let dir = scratch();
        let first = claim_in(&dir, Duration::ZERO, "", "", SCOPE).expect("first");
        let second = claim_in(&dir, Duration::ZERO, "", "", SCOPE).expect("second");
        assert_eq!(first.source(), Source::Derived);
        assert_ne!(first.as_str(), second.as_str());
        assert!(first.as_str().ends_with("-0"), "{}", first.as_str());
        assert!(second.as_str().ends_with("-1"), "{}", second.as_str());
        // The first process stops (or crashes: the OS drops its lock); its restart takes its id.
        let id = first.as_str().to_owned();
        drop(first);
        let restarted = claim_in(&dir, Duration::ZERO, "", "", SCOPE).expect("restart");
        assert_eq!(restarted.as_str(), id);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_configured_id_in_use_is_refused_with_the_setting_named() {
        let dir = scratch();
        let running = claim_in(&dir, Duration::ZERO, "a", "", SCOPE).expect("first");
        assert_eq!(running.source(), Source::Configured);
        let twin = claim_in(&dir, Duration::from_millis(300), "a", "", SCOPE);
        let message = twin.expect_err("in use").to_string();
        assert!(message.contains("aggregator.instance_id"), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        // Another id, or the same once its holder stopped, is fine.
        claim_in(&dir, Duration::ZERO, "b", "", SCOPE).expect("another id");
        drop(running);
        claim_in(&dir, Duration::ZERO, "a", "", SCOPE).expect("after it stopped");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_group_instance_id_names_the_instance_when_none_is_set() {
        let dir = scratch();
        let id = claim_in(&dir, Duration::ZERO, "", "dev-0", SCOPE).expect("claimed");
        assert_eq!(
            (id.as_str(), id.source()),
            ("dev-0", Source::GroupInstanceId)
        );
        let id = claim_in(&dir, Duration::ZERO, "x", "dev-1", SCOPE).expect("claimed");
        assert_eq!((id.as_str(), id.source()), ("x", Source::Configured));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn without_a_lock_directory_a_derived_id_is_refused_and_a_given_one_used() {
        // A file where the directory should be: nothing can be locked there.
        let blocker = scratch();
        std::fs::write(&blocker, b"not a directory").expect("written");
        let derived = claim_in(&blocker, Duration::ZERO, "", "", SCOPE);
        let message = derived.expect_err("no slot").to_string();
        assert!(message.contains("set aggregator.instance_id"), "{message}");
        let given = claim_in(&blocker, Duration::ZERO, "a", "", SCOPE).expect("used unlocked");
        assert_eq!(given.as_str(), "a");
        let _ = std::fs::remove_file(blocker);
    }

    #[test]
    fn host_names_are_reduced_to_id_characters() {
        assert_eq!(sanitize_host("web-01.example.org\n"), "web-01.example.org");
        assert_eq!(sanitize_host("my host:1"), "my-host-1");
        assert_eq!(sanitize_host("  \n"), "host");
    }
}
