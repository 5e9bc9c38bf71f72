//! Running services: all of them in one process (the default), or any subset.

use crate::http::{Ops, app};
use crate::startup;
use balados_platform::Settings;
use balados_platform::db::{Role, connect_with_retry};
use balados_platform::metrics::Metrics;
use balados_platform::readiness::Readiness;
use balados_schemas::Contract;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy)]
pub struct Components {
    pub ingest: bool,
    pub aggregator: bool,
    pub materializer: bool,
    pub query: bool,
}

impl Components {
    pub const ALL: Self = Self {
        ingest: true,
        aggregator: true,
        materializer: true,
        query: true,
    };
    pub const NONE: Self = Self {
        ingest: false,
        aggregator: false,
        materializer: false,
        query: false,
    };
}

/// How long a stopping process waits for its services to finish their current batch.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub async fn run(settings: Settings, components: Components) -> anyhow::Result<()> {
    let metrics = Metrics::default();
    let readiness = Readiness::default();
    readiness.register("http");
    let (stop_tx, stop_rx) = watch::channel(false);
    let needs_kafka = components.ingest || components.aggregator || components.materializer;
    let needs_db = components.materializer || components.query;

    if needs_kafka {
        balados_platform::kafka::wait_for_broker(&settings.kafka).await;
        let specs = settings.topics().specs(settings.kafka.partitions);
        balados_platform::kafka::ensure_topics(&settings.kafka, &specs).await?;
    }
    // Two pools: the writers' (materializers) and the readers' (query API), each with its own
    // connections and statement timeout.
    let pool = if needs_db {
        let pool = connect_with_retry(&settings.database, Role::Writer).await;
        startup::migrate(&pool).await?;
        Some(pool)
    } else {
        None
    };
    let readers = if components.query {
        Some(connect_with_retry(&settings.database, Role::Reader).await)
    } else {
        None
    };
    let mut writes = Vec::new();
    if components.ingest {
        writes.push(Contract::Command);
    }
    if components.aggregator {
        writes.extend([
            Contract::Event,
            Contract::UserState,
            Contract::CommandResult,
        ]);
    }
    if components.materializer {
        writes.push(Contract::PublicEvent);
    }
    let codec = if needs_kafka {
        Some(startup::codec(&settings, &writes).await?)
    } else {
        None
    };

    let mut tasks = tokio::task::JoinSet::new();
    let stop_flag = Arc::new(AtomicBool::new(false));
    if let (true, Some(codec)) = (components.aggregator, &codec) {
        let (settings, codec, metrics, flag) = (
            settings.clone(),
            codec.clone(),
            metrics.clone(),
            stop_flag.clone(),
        );
        let runtime = tokio::runtime::Handle::current();
        readiness.register(balados_aggregator::runner::READINESS);
        let readiness = readiness.clone();
        tasks.spawn_blocking(move || {
            balados_aggregator::run(&settings, codec, metrics, readiness, runtime, flag)
        });
    }
    if let (true, Some(codec), Some(pool)) = (components.materializer, &codec, &pool) {
        readiness.register(balados_materializer::runner::READINESS);
        let fut = balados_materializer::run(
            settings.clone(),
            pool.clone(),
            codec.clone(),
            metrics.clone(),
            readiness.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(fut);
        let outcomes = balados_materializer::outcomes::run(
            settings.clone(),
            pool.clone(),
            codec.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(outcomes);
        let relay = balados_materializer::relay::run(
            settings.kafka.clone(),
            settings.topics().public_events,
            pool.clone(),
            codec.clone(),
            metrics.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(relay);
        let hours = u64::from(settings.materializer.outcome_retention_hours);
        let minutes = u64::from(settings.materializer.prune_interval_minutes);
        let retention = balados_materializer::prune::Retention {
            outcomes: std::time::Duration::from_secs(hours * 3600),
            every: std::time::Duration::from_secs(minutes * 60),
        };
        let prune = balados_materializer::prune::run(
            pool.clone(),
            retention,
            metrics.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(prune);
    }
    let mut api = axum::Router::new();
    let limits = crate::fair_use::Limits::new(&settings.fair_use, &metrics);
    if components.ingest || components.query {
        let verifier = startup::verifier(&settings)?;
        if let (true, Some(codec)) = (components.ingest, &codec) {
            let producer = balados_ingest::CommandProducer::new(
                &settings.kafka,
                codec.clone(),
                settings.topics().commands,
            )?;
            let instance = format!(
                "{}.ingest.{}",
                settings.kafka.topic_prefix,
                uuid::Uuid::new_v4()
            );
            let replies = balados_ingest::Replies::start(
                &settings.kafka,
                &settings.topics().command_results,
                codec.clone(),
                instance,
            )
            .await?;
            let state = balados_ingest::IngestState {
                producer: Arc::new(producer),
                verifier: limits.for_writes(verifier.clone()),
                metrics: metrics.clone(),
                replies,
            };
            api = api.merge(balados_ingest::router(state));
        }
        if let Some(pool) = &readers {
            api = api.merge(balados_query_api::router(balados_query_api::QueryState {
                pool: pool.clone(),
                verifier: limits.for_reads(verifier),
                consistency: balados_query_api::Consistency::start(
                    pool.clone(),
                    balados_materializer::runner::group(&settings),
                    settings.topics().events,
                    std::time::Duration::from_millis(settings.query.consistency_wait_ms),
                ),
            }));
        }
    }
    let ops = Ops {
        metrics: metrics.clone(),
        readiness: readiness.clone(),
    };
    let router = app(
        api,
        ops,
        settings.http.body_limit_bytes,
        std::time::Duration::from_millis(settings.http.request_timeout_ms),
        limits.anonymous.clone(),
    );
    let addr = settings.http.addr.clone();
    let http_stop = stop_rx.clone();
    tasks.spawn(async move { crate::http::serve(&addr, router, http_stop).await });
    readiness.set("http", true);

    let outcome = tokio::select! {
        () = shutdown_signal() => Ok(()),
        Some(finished) = tasks.join_next() => match finished {
            Ok(Ok(())) => Err(anyhow::anyhow!("a service stopped unexpectedly")),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(anyhow::anyhow!("a service panicked: {e}")),
        },
    };
    readiness.set("http", false);
    let _ = stop_tx.send(true);
    stop_flag.store(true, Ordering::Relaxed);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            grace_s = SHUTDOWN_GRACE.as_secs(),
            "services still busy after the shutdown grace period; stopping anyway (uncommitted work is replayed by the next owner)"
        );
    }
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "stopping");
    }
    outcome
}
