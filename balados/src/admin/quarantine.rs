//! `balados admin quarantine list | redrive` and `balados admin replay-user`: the command line of
//! the materializer's quarantine and one-user replay (`balados_materializer::quarantine`,
//! `replay_user`, where what they guarantee is written).

use super::text::{Table, redact};
use balados_materializer::quarantine::{self, Plan, Redriven};
use balados_platform::Settings;
use balados_platform::kafka::inspect::Inspector;
use balados_platform::kafka::partitioner::partition_for;
use serde_json::{Value, json};

/// A row's id on the command line: `PARTITION/OFFSET` in this deployment's `events`.
pub fn parse_id(id: &str) -> Result<(i32, i64), String> {
    let parsed = id
        .split_once('/')
        .and_then(|(p, o)| Some((p.parse().ok()?, o.parse().ok()?)));
    parsed
        .filter(|(p, o): &(i32, i64)| *p >= 0 && *o >= 0)
        .ok_or_else(|| format!("{id:?}: expected PARTITION/OFFSET, as `quarantine list` shows it"))
}

async fn pool(settings: &Settings) -> sqlx::PgPool {
    balados_platform::db::connect_with_retry(&settings.database, balados_platform::db::Role::Writer)
        .await
}

pub async fn list(settings: &Settings, limit: i64, as_json: bool) -> anyhow::Result<()> {
    let rows = quarantine::list(&pool(settings).await, limit).await?;
    if as_json {
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({"id": format!("{}/{}", r.partition, r.offset), "topic": r.topic,
                       "partition": r.partition, "offset": r.offset, "reason": redact(&r.reason, 0),
                       "recorded_at": r.recorded_at, "bytes_kept": r.has_payload})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "quarantine": items }))?
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("the quarantine is empty");
        return Ok(());
    }
    let mut table = Table::new(&["ID", "TOPIC", "RECORDED_AT", "BYTES", "REASON"]);
    for r in &rows {
        table.row(vec![
            format!("{}/{}", r.partition, r.offset),
            r.topic.clone(),
            r.recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            if r.has_payload { "kept" } else { "on topic" }.to_owned(),
            redact(&r.reason, 100),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

pub async fn redrive(settings: &Settings, ids: &[String], dry_run: bool) -> anyhow::Result<()> {
    let ids: Vec<(i32, i64)> = ids
        .iter()
        .map(|id| parse_id(id))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("--id {e}"))?;
    balados_platform::kafka::wait_for_broker(&settings.kafka).await;
    let pool = super::migrated_pool(settings).await?;
    let codec = balados_app::startup::codec(settings, &[]).await?;
    let selection = (!ids.is_empty()).then_some(ids.as_slice());
    let done = quarantine::redrive(settings, &pool, &codec, selection, dry_run).await?;
    if done.is_empty() {
        println!("nothing to re-drive");
        return Ok(());
    }
    let mut table = Table::new(&["ID", "OUTCOME"]);
    for (row, outcome) in &done {
        table.row(vec![
            format!("{}/{}", row.partition, row.offset),
            describe(outcome),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

pub fn describe(outcome: &Redriven) -> String {
    match outcome {
        Redriven::Applied { user, sequence } => {
            format!("applied: {user} sequence {sequence}; removed from the quarantine")
        }
        Redriven::Repaired {
            user,
            sequence,
            state_records,
        } => format!(
            "{user} sequence {sequence} was stepped over: the per-user models were rebuilt from \
             {state_records} state records; its public effect returns only with `admin rebuild`; \
             removed from the quarantine"
        ),
        Redriven::Held {
            user,
            sequence,
            gap,
        } => format!(
            "not applied: {user} is held at a sequence gap (applied {}, found {}) before sequence \
             {sequence}; kept (`replay-user` or `repair-user`)",
            gap.0, gap.1
        ),
        Redriven::StillFailing { reason } => format!("still fails, kept: {}", redact(reason, 100)),
        Redriven::WouldDo {
            user,
            sequence,
            plan,
        } => match plan {
            Plan::Replay => {
                format!("decodes: {user} sequence {sequence}; would replay the user from it")
            }
            Plan::Repair => format!(
                "decodes: {user} sequence {sequence}, which their models are past; would repair the user from the state records"
            ),
        },
        Redriven::Skipped { why } => format!("skipped: {why}"),
    }
}

pub async fn replay_user(settings: &Settings, user: &str, from: Option<i64>) -> anyhow::Result<()> {
    let user = balados_schemas::UserId::parse(user).map_err(|e| anyhow::anyhow!("--user: {e}"))?;
    balados_platform::kafka::wait_for_broker(&settings.kafka).await;
    let topic = settings.topics().events;
    let count = Inspector::new(&settings.kafka, "balados-replay")?
        .partition_count(&topic)?
        .ok_or_else(|| anyhow::anyhow!("topic {topic} does not exist"))?;
    let partition = partition_for(user.as_str().as_bytes(), count);
    let pool = super::migrated_pool(settings).await?;
    let codec = balados_app::startup::codec(settings, &[]).await?;
    let report = balados_materializer::replay_user::replay_user(
        settings,
        &pool,
        &codec,
        user.as_str(),
        partition,
        from,
    )
    .await?;
    println!(
        "replayed {user}: {} of their records in {topic} partition {partition}, offsets {}..{}: \
         {} events applied, {} already applied",
        report.records, report.from, report.to, report.applied, report.replays
    );
    if let Some((applied, found)) = report.released {
        println!("released from the gap after sequence {applied} (found {found})");
    }
    for (offset, reason) in report.undecodable.iter().chain(&report.refused) {
        println!("offset {offset} set aside: {}", redact(reason, 100));
    }
    match report.held {
        Some((applied, found)) => println!(
            "still held at a gap after sequence {applied} (found {found}): events are missing from \
             the log (`repair-user` rebuilds the per-user models from the state records), or came \
             while it ran (run it again)"
        ),
        None => println!("not held at a gap"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_partition_and_an_offset() {
        assert_eq!(parse_id("2/1041"), Ok((2, 1041)));
        for bad in ["", "2", "2/", "/3", "a/1", "1/-3", "-1/3", "1/2/3"] {
            assert!(parse_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_outcome_says_whether_the_row_stays() {
        let applied = describe(&Redriven::Applied {
            user: "u".into(),
            sequence: 3,
        });
        assert!(applied.contains("removed from the quarantine"), "{applied}");
        let failing = describe(&Redriven::StillFailing {
            reason: "bad https://feed.example/?token=x".into(),
        });
        assert!(
            failing.contains("kept") && !failing.contains("token"),
            "{failing}"
        );
        let held = describe(&Redriven::Held {
            user: "u".into(),
            sequence: 5,
            gap: (3, 6),
        });
        assert!(held.contains("kept"), "{held}");
    }
}
