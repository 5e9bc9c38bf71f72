//! `balados admin dead-letters list | redrive`: the commands the aggregator could not decode, as
//! they sit on the dead-letter topic (untouched, with the reason and source in headers), and their
//! re-drive to `commands` once the cause is gone (a schema registered again, an aggregator that
//! knows a new command).
//!
//! What a re-drive guarantees: each command that decodes now is produced again, unchanged (same
//! bytes, same command id), keyed by its user id as the ingest keys it. The aggregator decides a
//! command id once: a command already decided is skipped here when its outcome is known
//! (`users.command_outcomes`, kept `materializer.outcome_retention_hours`), and if it is produced
//! anyway (a second re-drive racing the first) the aggregator answers the copy as a duplicate
//! while the id is among the user's last 32 commands. Beyond both windows a second re-drive of the
//! same range would decide it again: re-drive a range once, and continue with `--from-offset`.
//! Commands are never printed beyond their id, user and kind (their URLs may be credentials).

use super::text::{Table, opt, redact, time_ms};
use balados_platform::Settings;
use balados_platform::kafka::inspect::{Inspected, Inspector};
use balados_schemas::{Codec, CodecError, CommandEnvelope, Contract};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

const CLIENT_ID: &str = "balados-admin-dead-letters";
const READ_CHUNK: usize = 1000;
/// The header a re-driven command carries: where on the dead-letter topic it came from.
pub const REDRIVEN_FROM: &str = "balados.redriven-from";

/// A dead letter, as listed.
#[derive(Debug)]
struct Letter {
    partition: i32,
    record: Inspected,
    /// The command, or why it does not decode now.
    command: Result<CommandEnvelope, String>,
}

impl Letter {
    fn user(&self) -> Option<String> {
        match &self.command {
            Ok(c) => Some(c.user_id.as_str().to_owned()),
            Err(_) => self
                .record
                .key
                .as_deref()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
        }
    }
}

/// The command in `bytes`; `Err` only when the registry cannot be asked (a command is never
/// judged undecodable for an outage).
async fn decode(
    codec: &Codec,
    bytes: Option<&[u8]>,
) -> anyhow::Result<Result<CommandEnvelope, String>> {
    let Some(bytes) = bytes else {
        return Ok(Err("empty value".into()));
    };
    match codec.decode(Contract::Command, bytes).await {
        Ok(value) => Ok(CommandEnvelope::from_avro(value).map_err(|e| e.to_string())),
        Err(CodecError::Registry(e)) if e.is_transient() => {
            anyhow::bail!("the schema registry cannot be asked now: {e}")
        }
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Records of every partition of the dead-letter topic from `from` (the first retained one when
/// `None`); `last` keeps only the last `last` of each partition when `from` is not given.
async fn read(
    settings: &Settings,
    codec: &Codec,
    from: Option<i64>,
    last: Option<usize>,
) -> anyhow::Result<Vec<Letter>> {
    let topic = settings.topics().dead_letters;
    let inspector = Inspector::new(&settings.kafka, CLIENT_ID)?;
    let count = inspector.partition_count(&topic)?.unwrap_or(0);
    let mut letters = Vec::new();
    for partition in 0..count {
        let marks = inspector.watermarks(&topic, partition)?;
        let mut next = match (from, last) {
            (Some(from), _) => from.max(marks.low),
            (None, Some(n)) => (marks.high - i64::try_from(n).unwrap_or(i64::MAX)).max(marks.low),
            (None, None) => marks.low,
        };
        let mut kept = 0;
        while next < marks.high && last.is_none_or(|n| kept < n) {
            let (records, reached) = inspector.read(&topic, partition, next, READ_CHUNK)?;
            if records.is_empty() {
                break;
            }
            for record in records {
                if last.is_some_and(|n| kept >= n) {
                    break;
                }
                let command = decode(codec, record.value.as_deref()).await?;
                letters.push(Letter {
                    partition,
                    record,
                    command,
                });
                kept += 1;
            }
            next = reached;
        }
    }
    Ok(letters)
}

pub async fn list(
    settings: &Settings,
    limit: usize,
    from: Option<i64>,
    as_json: bool,
) -> anyhow::Result<()> {
    balados_platform::kafka::wait_for_broker(&settings.kafka).await;
    let codec = balados_app::startup::codec(settings, &[]).await?;
    let letters = read(settings, &codec, from, Some(limit)).await?;
    if as_json {
        let items: Vec<Value> = letters.iter().map(letter_json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "dead_letters": items }))?
        );
        return Ok(());
    }
    let mut table = Table::new(&[
        "OFFSET",
        "TIME",
        "USER",
        "COMMAND_ID",
        "KIND",
        "NOW",
        "REASON",
    ]);
    for letter in &letters {
        let (id, kind, now) = match &letter.command {
            Ok(c) => (
                c.command_id.to_string(),
                c.payload.kind().to_owned(),
                "decodes",
            ),
            Err(_) => ("-".to_owned(), "-".to_owned(), "fails"),
        };
        table.row(vec![
            format!("{}/{}", letter.partition, letter.record.offset),
            time_ms(letter.record.timestamp_ms),
            opt(letter.user()),
            id,
            kind,
            now.to_owned(),
            redact(
                &letter.record.header("balados.reason").unwrap_or_default(),
                100,
            ),
        ]);
    }
    if table.is_empty() {
        println!("no dead letters");
    } else {
        print!("{}", table.render());
    }
    Ok(())
}

fn letter_json(letter: &Letter) -> Value {
    let (command, decode_error) = match &letter.command {
        Ok(c) => (
            Some(
                json!({"command_id": c.command_id, "user_id": c.user_id.as_str(), "kind": c.payload.kind()}),
            ),
            None,
        ),
        Err(e) => (None, Some(redact(e, 0))),
    };
    json!({
        "partition": letter.partition, "offset": letter.record.offset,
        "timestamp_ms": letter.record.timestamp_ms, "user": letter.user(),
        "reason": letter.record.header("balados.reason").map(|r| redact(&r, 0)),
        "source": letter.record.header("balados.source"),
        "command": command, "decode_error_now": decode_error,
    })
}

/// What a re-drive did with one dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Reproduced {
        partition: i32,
        offset: i64,
    },
    WouldReproduce,
    AlreadyDecided,
    /// The same command id met earlier in this run (dead-lettered more than once).
    Repeated,
    StillUndecodable(String),
}

impl Outcome {
    fn describe(&self, commands: &str) -> String {
        match self {
            Self::Reproduced { partition, offset } => {
                format!("re-produced to {commands} partition {partition} offset {offset}")
            }
            Self::WouldReproduce => "would be re-produced (dry run)".into(),
            Self::AlreadyDecided => "skipped: already decided (its outcome is recorded)".into(),
            Self::Repeated => "skipped: the same command earlier in this run".into(),
            Self::StillUndecodable(reason) => {
                format!("skipped: still undecodable: {}", redact(reason, 100))
            }
        }
    }
}

pub async fn redrive(settings: &Settings, from: Option<i64>, dry_run: bool) -> anyhow::Result<()> {
    balados_platform::kafka::wait_for_broker(&settings.kafka).await;
    let codec = balados_app::startup::codec(settings, &[]).await?;
    let pool = super::consumers::database(settings).await.map_err(|e| {
        anyhow::anyhow!(
            "PostgreSQL (setting database.url), needed to skip commands already decided: {e}"
        )
    })?;
    // Commands sent to topics a partition growth retired would be read by no one.
    let retired =
        balados_platform::retirement::retirement_of(&pool, &settings.kafka.topic_prefix).await?;
    if let Some((successor, _)) = retired {
        anyhow::bail!(
            "the topics of {} were retired for {successor} by a partition growth: run the \
             re-drive with the successor's settings (BALADOS__KAFKA__TOPIC_PREFIX={successor})",
            settings.kafka.topic_prefix
        );
    }
    let producer: FutureProducer =
        balados_platform::kafka::producer_config(&settings.kafka, CLIENT_ID).create()?;
    let topics = settings.topics();
    let letters = read(settings, &codec, from, None).await?;
    let mut seen = HashSet::new();
    let mut table = Table::new(&["OFFSET", "USER", "COMMAND_ID", "KIND", "OUTCOME"]);
    for letter in &letters {
        let outcome = match &letter.command {
            Err(reason) => Outcome::StillUndecodable(reason.clone()),
            Ok(command) if !seen.insert(command.command_id) => Outcome::Repeated,
            Ok(command) if decided(&pool, command.command_id).await? => Outcome::AlreadyDecided,
            Ok(_) if dry_run => Outcome::WouldReproduce,
            Ok(command) => {
                let source = format!(
                    "{}/{}/{}",
                    topics.dead_letters, letter.partition, letter.record.offset
                );
                let headers = OwnedHeaders::new().insert(Header {
                    key: REDRIVEN_FROM,
                    value: Some(&source),
                });
                let record = FutureRecord::to(&topics.commands)
                    .key(command.user_id.as_str())
                    .payload(letter.record.value.as_deref().unwrap_or_default())
                    .headers(headers);
                let (partition, offset) = producer
                    .send(record, Duration::from_secs(30))
                    .await
                    .map(|d| (d.partition, d.offset))
                    .map_err(|(e, _)| anyhow::anyhow!("producing to {}: {e}", topics.commands))?;
                Outcome::Reproduced { partition, offset }
            }
        };
        let (id, kind) = match &letter.command {
            Ok(c) => (c.command_id.to_string(), c.payload.kind().to_owned()),
            Err(_) => ("-".to_owned(), "-".to_owned()),
        };
        table.row(vec![
            format!("{}/{}", letter.partition, letter.record.offset),
            opt(letter.user()),
            id,
            kind,
            outcome.describe(&topics.commands),
        ]);
    }
    if table.is_empty() {
        println!("no dead letters from there");
    } else {
        print!("{}", table.render());
    }
    Ok(())
}

/// Whether the command's outcome is recorded: the aggregator has decided it.
async fn decided(pool: &sqlx::PgPool, command_id: uuid::Uuid) -> anyhow::Result<bool> {
    let row: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM users.command_outcomes WHERE command_id = $1")
            .bind(command_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.is_some())
}
