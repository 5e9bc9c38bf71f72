//! `balados admin lag`: how far each consumer of the service is behind, per partition, in records
//! and in seconds. The aggregator's offsets are its group's, on the broker; the materializer's
//! and the outcomes consumer's are the ones they store in `materializer.offsets` (the truth they
//! resume from; their group offsets on the broker are informational and may trail). The end of a
//! partition is read, not asked for (see `balados_platform::kafka::inspect`); the age is that of
//! the oldest record not consumed yet, read at the committed offset.

use super::consumers::{Source, consumers};
use super::text::{Table, opt, seconds};
use balados_platform::Settings;
use balados_platform::kafka::inspect::{self, Inspector};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const CLIENT_ID: &str = "balados-admin-lag";

/// One partition of one consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct Lag {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The next offset the consumer reads; `None` when it has stored nothing.
    pub committed: Option<i64>,
    pub low: i64,
    pub high: i64,
    pub records: i64,
    pub seconds: Option<f64>,
    pub source: Source,
}

/// Where the consumer resumes: its committed offset, or the first retained one when it committed
/// nothing or its offset aged out.
pub fn resume_at(committed: Option<i64>, low: i64) -> i64 {
    committed.unwrap_or(low).max(low)
}

/// Records not consumed yet, in offsets from `next`, the next record the consumer will get, to
/// the end. `None` (reading from where it resumes meets the end) is 0: the offsets left are
/// transaction markers, which a transactional producer writes after its records and no consumer
/// is ever given, so a consumer that stores "last record + 1" stays one marker short.
pub fn records_behind(next: Option<i64>, high: i64) -> i64 {
    next.map_or(0, |n| (high - n).max(0))
}

/// Seconds behind: 0 when caught up, else now minus the time of the oldest record not consumed
/// (never negative: clocks differ); `None` when that record's time is unknown.
pub fn seconds_behind(records: i64, oldest_ms: Option<i64>, now_ms: i64) -> Option<f64> {
    if records == 0 {
        return Some(0.0);
    }
    oldest_ms.map(|t| (now_ms - t).max(0) as f64 / 1000.0)
}

pub async fn run(settings: &Settings, as_json: bool) -> anyhow::Result<()> {
    balados_platform::kafka::wait_for_broker(&settings.kafka).await;
    let inspector = Inspector::new(&settings.kafka, CLIENT_ID)?;
    let pool = super::consumers::database(settings).await;
    let mut lags = Vec::new();
    let mut notes = Vec::new();
    for (group, topic, source) in consumers(settings) {
        let count = match inspector.partition_count(&topic) {
            Ok(Some(count)) => count,
            Ok(None) => {
                notes.push(format!("{group}: topic {topic} does not exist"));
                continue;
            }
            Err(e) => {
                notes.push(format!("{group}: topic {topic}: {e}"));
                continue;
            }
        };
        let partitions: Vec<i32> = (0..count).collect();
        let committed = match (source, &pool) {
            (Source::Kafka, _) => balados_platform::kafka::committed::other_group_offsets(
                &settings.kafka,
                CLIENT_ID,
                &group,
                &topic,
                &partitions,
            )
            .map_err(|e| e.to_string()),
            (Source::Postgresql, Ok(pool)) => stored(pool, &group, &topic).await,
            (Source::Postgresql, Err(e)) => Err(format!("PostgreSQL unreachable: {e}")),
        };
        let committed = match committed {
            Ok(committed) => committed,
            Err(e) => {
                notes.push(format!("{group}: offsets unknown ({}): {e}", source.name()));
                continue;
            }
        };
        for partition in partitions {
            let offset = committed.get(&partition).copied().flatten();
            match measure(&inspector, &topic, partition, offset) {
                Ok((low, high, records, seconds)) => lags.push(Lag {
                    group: group.clone(),
                    topic: topic.clone(),
                    partition,
                    committed: offset,
                    low,
                    high,
                    records,
                    seconds,
                    source,
                }),
                Err(e) => notes.push(format!("{group}: {topic} partition {partition}: {e}")),
            }
        }
    }
    let outbox = match &pool {
        Ok(pool) => sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM site.public_event_outbox")
            .fetch_one(pool)
            .await
            .map(|(n,)| n)
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("PostgreSQL unreachable: {e}")),
    };
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&lags, &outbox, &notes))?
        );
    } else {
        print!("{}", render(&lags));
        match outbox {
            Ok(n) => println!("relay: {n} public-event changes in the outbox (postgresql)"),
            Err(e) => println!("relay: outbox unknown: {e}"),
        }
        for note in notes {
            println!("note: {note}");
        }
    }
    Ok(())
}

/// A partition's (low, high, records behind, seconds behind) for a consumer at `committed`.
fn measure(
    inspector: &Inspector,
    topic: &str,
    partition: i32,
    committed: Option<i64>,
) -> Result<(i64, i64, i64, Option<f64>), inspect::InspectError> {
    let marks = inspector.watermarks(topic, partition)?;
    let at = resume_at(committed, marks.low);
    let next = if at < marks.high {
        inspector.record_at(topic, partition, at)?
    } else {
        None
    };
    let records = records_behind(next.as_ref().map(|r| r.offset), marks.high);
    let oldest = next.and_then(|r| r.timestamp_ms);
    let now = chrono::Utc::now().timestamp_millis();
    Ok((
        marks.low,
        marks.high,
        records,
        seconds_behind(records, oldest, now),
    ))
}

/// The next offsets a consumer stored in `materializer.offsets`, by partition.
async fn stored(
    pool: &sqlx::PgPool,
    consumer: &str,
    topic: &str,
) -> Result<BTreeMap<i32, Option<i64>>, String> {
    let rows: Vec<(i32, i64)> = sqlx::query_as(
        "SELECT partition, next_offset FROM materializer.offsets WHERE consumer = $1 AND topic = $2",
    )
    .bind(consumer)
    .bind(topic)
    .fetch_all(pool)
    .await
    .map_err(|e| e.to_string())?;
    Ok(rows.into_iter().map(|(p, o)| (p, Some(o))).collect())
}

pub fn render(lags: &[Lag]) -> String {
    let mut table = Table::new(&[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "HIGH",
        "LAG",
        "LAG_S",
        "SOURCE",
    ]);
    for lag in lags {
        table.row(vec![
            lag.group.clone(),
            lag.topic.clone(),
            lag.partition.to_string(),
            opt(lag.committed),
            lag.high.to_string(),
            lag.records.to_string(),
            seconds(lag.seconds),
            lag.source.name().to_owned(),
        ]);
    }
    table.render()
}

fn to_json(lags: &[Lag], outbox: &Result<i64, String>, notes: &[String]) -> Value {
    let partitions: Vec<Value> = lags
        .iter()
        .map(|l| {
            json!({
                "group": l.group, "topic": l.topic, "partition": l.partition,
                "committed": l.committed, "low": l.low, "high": l.high,
                "lag_records": l.records, "lag_seconds": l.seconds, "source": l.source.name(),
            })
        })
        .collect();
    json!({
        "partitions": partitions,
        "relay_outbox_rows": outbox.as_ref().ok(),
        "notes": notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_from_the_next_record_to_the_end() {
        assert_eq!(resume_at(Some(7), 0), 7);
        assert_eq!(
            resume_at(None, 3),
            3,
            "nothing committed: every retained record"
        );
        assert_eq!(resume_at(Some(1), 5), 5, "committed before the retention");
        assert_eq!(records_behind(Some(7), 12), 5);
        assert_eq!(records_behind(Some(20), 12), 0, "never negative");
        // Committed 6 after a transaction: its marker at 6 ends the partition (high 7); nothing
        // is to be read, the consumer is caught up.
        assert_eq!(records_behind(None, 7), 0);
    }

    #[test]
    fn seconds_are_the_age_of_the_oldest_unconsumed_record() {
        assert_eq!(
            seconds_behind(0, Some(1_000), 9_000),
            Some(0.0),
            "caught up"
        );
        assert_eq!(seconds_behind(3, Some(1_000), 9_500), Some(8.5));
        assert_eq!(
            seconds_behind(3, Some(10_000), 9_000),
            Some(0.0),
            "a clock ahead"
        );
        assert_eq!(seconds_behind(3, None, 9_000), None);
    }

    #[test]
    fn the_text_says_where_each_figure_comes_from() {
        let lag = |group: &str, committed, records, source| Lag {
            group: group.into(),
            topic: "b.events.v1".into(),
            partition: 0,
            committed,
            low: 0,
            high: 40,
            records,
            seconds: Some(if records > 0 { 12.34 } else { 0.0 }),
            source,
        };
        let text = render(&[
            lag("b.aggregator", Some(40), 0, Source::Kafka),
            lag("b.materializer", None, 40, Source::Postgresql),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "GROUP           TOPIC        PARTITION  COMMITTED  HIGH  LAG  LAG_S  SOURCE",
                "b.aggregator    b.events.v1  0          40         40    0    0.0    kafka",
                "b.materializer  b.events.v1  0          -          40    40   12.3   postgresql",
            ]
        );
    }
}
