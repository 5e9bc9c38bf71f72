//! The rebuild's replay of the retained events into the public models, under the live
//! materializer's quarantine rule: an event that cannot be decoded, or whose rows PostgreSQL
//! refuses for their data (SQLSTATE classes 22, 23, 54), is set aside in `materializer.quarantine`
//! with its reason and position, and the replay goes on without it. Inside the rebuild's one
//! transaction, a savepoint undoes a refused chunk, which is then replayed event by event.

use crate::apply::privacy::PrivacySettings;
use crate::decode::decode_waiting;
use crate::refused::refused_data;
use crate::sink::{Quarantined, apply_events, insert_quarantine};
use balados_schemas::{Codec, Contract, EventEnvelope};
use chrono::TimeDelta;
use sqlx::{Acquire as _, Postgres, Transaction};
use std::collections::HashMap;
use std::time::Duration;

/// An event record of the replay: its offset and value (`None` for a tombstone).
pub(super) struct EventRecord<'a> {
    pub offset: i64,
    pub value: Option<&'a [u8]>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Replayed {
    pub events: u64,
    pub public_events: u64,
    pub quarantined: u64,
}

/// Where the chunk comes from, and how its events are read and applied.
pub(super) struct Source<'a> {
    pub codec: &'a Codec,
    pub topic: &'a str,
    pub partition: i32,
    pub grace: TimeDelta,
}

/// How long the replay waits for the registry: the rebuild's transaction locks every read model
/// meanwhile, so it is abandoned (rolled back, nothing changed) rather than held.
const REGISTRY_PATIENCE: Duration = Duration::from_secs(60);

pub(super) async fn replay(
    tx: &mut Transaction<'_, Postgres>,
    source: &Source<'_>,
    records: &[EventRecord<'_>],
    carried: &mut HashMap<String, PrivacySettings>,
) -> anyhow::Result<Replayed> {
    let mut replayed = Replayed::default();
    let mut quarantined = Vec::new();
    let mut events = Vec::with_capacity(records.len());
    let mut offsets = Vec::with_capacity(records.len());
    for record in records {
        let Some(bytes) = record.value else { continue };
        let waited = tokio::time::timeout(
            REGISTRY_PATIENCE,
            decode_waiting(source.codec, Contract::Event, bytes),
        )
        .await;
        let Ok(decoded) = waited else {
            anyhow::bail!(
                "the schema registry did not answer for {} s; the rebuild is abandoned (nothing changed)",
                REGISTRY_PATIENCE.as_secs()
            );
        };
        let decoded = decoded.and_then(|v| EventEnvelope::from_avro(v).map_err(|e| e.to_string()));
        match decoded {
            Ok(event) => {
                events.push(event);
                offsets.push(record.offset);
            }
            Err(reason) => quarantined.push(Quarantined {
                partition: source.partition,
                offset: record.offset,
                reason: format!("undecodable: {reason}"),
                payload: Some(bytes.to_vec()),
                stepped_over: None,
            }),
        }
    }
    replayed.events = events.len() as u64;
    let mut whole = tx.begin().await?;
    match apply_events(&mut whole, &events, source.grace, Some(carried)).await {
        Ok(changes) => {
            whole.commit().await?;
            replayed.public_events = changes.public.inserts.len() as u64;
        }
        Err(e) if refused_data(&e) => {
            whole.rollback().await?;
            tracing::warn!(error = %e, "PostgreSQL refused a chunk of the replay; replaying it event by event");
            for (event, offset) in events.iter().zip(&offsets) {
                let mut one = tx.begin().await?;
                match apply_events(
                    &mut one,
                    std::slice::from_ref(event),
                    source.grace,
                    Some(carried),
                )
                .await
                {
                    Ok(changes) => {
                        one.commit().await?;
                        replayed.public_events += changes.public.inserts.len() as u64;
                    }
                    Err(e) if refused_data(&e) => {
                        one.rollback().await?;
                        tracing::error!(kafka.partition = source.partition, kafka.offset = offset, error = %e, "event refused by PostgreSQL during the rebuild: quarantined");
                        quarantined.push(Quarantined {
                            partition: source.partition,
                            offset: *offset,
                            reason: format!("refused by PostgreSQL: {e}"),
                            payload: None,
                            stepped_over: Some((event.user_id.as_str().to_owned(), event.sequence)),
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Err(e) => return Err(e.into()),
    }
    replayed.quarantined = quarantined.len() as u64;
    insert_quarantine(tx, source.topic, &quarantined).await?;
    Ok(replayed)
}
