//! Running services: all of them in one process (the default), or any subset. [`App::build`]
//! starts what the settings and the components ask for; [`App::run`] serves until a signal.

use crate::http::{Ops, app};
use crate::startup;
use balados_platform::Settings;
use balados_platform::db::{Role, connect_with_retry};
use balados_platform::metrics::Metrics;
use balados_platform::readiness::Readiness;
use balados_schemas::{Codec, Contract};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

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
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

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

/// Builds the process's services from `settings` and runs them until a signal or a failure.
pub async fn run(settings: Settings, components: Components) -> anyhow::Result<()> {
    App::build(settings, components).await?.run().await
}

/// A process's services, started, and its HTTP application, not yet listening.
#[derive(Debug)]
pub struct App {
    settings: Settings,
    router: axum::Router,
    readiness: Readiness,
    tasks: JoinSet<anyhow::Result<()>>,
    stop: watch::Sender<bool>,
    /// For the aggregator, whose loop is blocking and reads a flag rather than a channel.
    stop_flag: Arc<AtomicBool>,
}

/// What the services of one process share.
struct Shared {
    settings: Settings,
    metrics: Metrics,
    readiness: Readiness,
    stop: watch::Receiver<bool>,
    stop_flag: Arc<AtomicBool>,
}

impl App {
    /// Waits for what `components` need (broker, PostgreSQL, registry), starts the background
    /// services and builds the HTTP application.
    pub async fn build(settings: Settings, components: Components) -> anyhow::Result<Self> {
        let readiness = Readiness::default();
        readiness.register("http");
        let (stop, stop_rx) = watch::channel(false);
        let shared = Shared {
            settings,
            metrics: Metrics::default(),
            readiness: readiness.clone(),
            stop: stop_rx,
            stop_flag: Arc::new(AtomicBool::new(false)),
        };
        let infra = Infrastructure::connect(&shared.settings, components).await?;
        let mut tasks = JoinSet::new();
        // The API first: a failure building it then leaves no service running.
        let router = api(&shared, components, &infra, &mut tasks).await?;
        if let (true, Some(codec)) = (components.aggregator, &infra.codec) {
            spawn_aggregator(&shared, codec, &mut tasks);
        }
        if let (true, Some(codec), Some(pool)) =
            (components.materializer, &infra.codec, &infra.writers)
        {
            spawn_materializer(&shared, codec, pool, &mut tasks);
        }
        Ok(Self {
            settings: shared.settings,
            router,
            readiness,
            tasks,
            stop,
            stop_flag: shared.stop_flag,
        })
    }

    /// The HTTP application, as the server serves it (for tests in process).
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Serves HTTP until a signal or a service's failure; then stops every service, each within
    /// [`SHUTDOWN_GRACE`].
    pub async fn run(mut self) -> anyhow::Result<()> {
        let addr = self.settings.http.addr.clone();
        let (router, http_stop) = (self.router.clone(), self.stop.subscribe());
        self.tasks
            .spawn(async move { crate::http::serve(&addr, router, http_stop).await });
        self.readiness.set("http", true);
        let outcome = tokio::select! {
            () = shutdown_signal() => Ok(()),
            Some(finished) = self.tasks.join_next() => match finished {
                Ok(Ok(())) => Err(anyhow::anyhow!("a service stopped unexpectedly")),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(anyhow::anyhow!("a service panicked: {e}")),
            },
        };
        self.readiness.set("http", false);
        let _ = self.stop.send(true);
        self.stop_flag.store(true, Ordering::Relaxed);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
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
}

/// Waits for the broker, then creates or checks the topics; a broker that is slow or restarting
/// (an admin request timing out) is waited for like one that is down, a refusal stops the start.
async fn ensure_topics(settings: &Settings) -> anyhow::Result<()> {
    let specs = settings.topics().specs(settings.kafka.partitions);
    let mut delay = Duration::from_millis(500);
    loop {
        balados_platform::kafka::wait_for_broker(&settings.kafka).await;
        match balados_platform::kafka::ensure_topics(&settings.kafka, &specs).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() => tracing::warn!(
                error = %e,
                retry_in_ms = delay.as_millis() as u64,
                "creating or checking the topics failed; retrying"
            ),
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// The broker's topics, PostgreSQL's two pools (writers: materializers, accounts; readers: the
/// query API, each with its own connections and statement timeout) and the codec, as needed.
struct Infrastructure {
    writers: Option<sqlx::PgPool>,
    readers: Option<sqlx::PgPool>,
    codec: Option<Codec>,
}

impl Infrastructure {
    async fn connect(settings: &Settings, components: Components) -> anyhow::Result<Self> {
        let needs_kafka = components.ingest || components.aggregator || components.materializer;
        if needs_kafka {
            ensure_topics(settings).await?;
        }
        // The APIs verify tokens against the users' app authorizations (accounts tables).
        let writers = if components.materializer || components.query || components.ingest {
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
        let codec = if needs_kafka {
            Some(startup::codec(settings, &contracts_written(components)).await?)
        } else {
            None
        };
        Ok(Self {
            writers,
            readers,
            codec,
        })
    }
}

/// The contracts the process's services produce (registered at start-up when allowed).
fn contracts_written(components: Components) -> Vec<Contract> {
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
    writes
}

fn spawn_aggregator(shared: &Shared, codec: &Codec, tasks: &mut JoinSet<anyhow::Result<()>>) {
    let (settings, codec, metrics, flag) = (
        shared.settings.clone(),
        codec.clone(),
        shared.metrics.clone(),
        shared.stop_flag.clone(),
    );
    let runtime = tokio::runtime::Handle::current();
    shared
        .readiness
        .register(balados_aggregator::runner::READINESS);
    let readiness = shared.readiness.clone();
    tasks.spawn_blocking(move || {
        balados_aggregator::run(&settings, codec, metrics, readiness, runtime, flag)
    });
}

/// The materializer, the outcomes' consumer, the public-events relay and the pruning.
fn spawn_materializer(
    shared: &Shared,
    codec: &Codec,
    pool: &sqlx::PgPool,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) {
    let Shared {
        settings,
        metrics,
        readiness,
        stop,
        ..
    } = shared;
    readiness.register(balados_materializer::runner::READINESS);
    tasks.spawn(balados_materializer::run(
        settings.clone(),
        pool.clone(),
        codec.clone(),
        metrics.clone(),
        readiness.clone(),
        stop.clone(),
    ));
    tasks.spawn(balados_materializer::outcomes::run(
        settings.clone(),
        pool.clone(),
        codec.clone(),
        stop.clone(),
    ));
    tasks.spawn(balados_materializer::relay::run(
        settings.kafka.clone(),
        settings.topics().public_events,
        pool.clone(),
        codec.clone(),
        metrics.clone(),
        stop.clone(),
    ));
    let hours = u64::from(settings.materializer.outcome_retention_hours);
    let minutes = u64::from(settings.materializer.prune_interval_minutes);
    let retention = balados_materializer::prune::Retention {
        outcomes: Duration::from_secs(hours * 3600),
        every: Duration::from_secs(minutes * 60),
    };
    tasks.spawn(balados_materializer::prune::run(
        pool.clone(),
        retention,
        metrics.clone(),
        stop.clone(),
    ));
}

/// The HTTP application: the APIs the process runs, behind the server's own layers.
async fn api(
    shared: &Shared,
    components: Components,
    infra: &Infrastructure,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<axum::Router> {
    let settings = &shared.settings;
    let mut api = axum::Router::new();
    let limits = crate::fair_use::Limits::new(&settings.fair_use, &shared.metrics);
    if let (true, Some(accounts)) = (components.ingest || components.query, &infra.writers) {
        let (grants, follow) = startup::follow_grants(accounts.clone()).await?;
        let mut stop = shared.stop.clone();
        tasks.spawn(async move {
            tokio::select! {
                () = follow => {}
                _ = stop.wait_for(|stop| *stop) => {}
            }
            Ok(())
        });
        let verifier = startup::verifier(settings, grants.clone())?;
        let mut ingest = None;
        if let (true, Some(codec)) = (components.ingest, &infra.codec) {
            let mut state =
                ingest_state(shared, codec, limits.for_writes(verifier.clone()), accounts).await?;
            state.writes = Some(limits.writes());
            api = api.merge(balados_ingest::router(state.clone()));
            ingest = Some(state);
        }
        // One poller of the materializer's offsets for the reads and the gpodder uploads.
        let consistency = infra.readers.as_ref().map(|pool| {
            balados_query_api::Consistency::start(
                pool.clone(),
                balados_materializer::runner::group(settings),
                settings.topics().events,
                Duration::from_millis(settings.query.consistency_wait_ms),
            )
        });
        if let (Some(pool), Some(consistency)) = (&infra.readers, &consistency) {
            let public_cache = balados_query_api::PublicCache::new(
                balados_query_api::public_cache::Limits {
                    ttl: Duration::from_millis(settings.query.public_cache_ms),
                    max_entries: settings.query.public_cache_entries,
                },
                &shared.metrics,
            );
            api = api.merge(balados_query_api::router(balados_query_api::QueryState {
                pool: pool.clone(),
                verifier: limits.for_reads(verifier),
                consistency: consistency.clone(),
                public_cache,
            }));
        }
        // The account's pages and the gpodder API send commands and read the read models.
        if let (Some(ingest), Some(readers), Some(consistency)) =
            (ingest, &infra.readers, consistency)
        {
            // The bulk sync answers from the read models once they show its decision.
            api = api.merge(balados_ingest::sync_router(balados_ingest::SyncState {
                ingest: ingest.clone(),
                readers: readers.clone(),
                consistency: consistency.clone(),
            }));
            let secure = settings.http.public_url.starts_with("https://");
            api = api.merge(balados_gpodder::router(
                balados_gpodder::GpodderState::new(
                    accounts.clone(),
                    readers.clone(),
                    ingest.clone(),
                    consistency.clone(),
                    secure,
                )
                .with_public_url(&settings.http.public_url)
                .with_reads(limits.reads()),
            ));
            let mut state =
                balados_web::WebState::new(accounts.clone(), readers.clone(), ingest, secure);
            state.grants = Some(grants);
            state.consistency = Some(consistency);
            state.reads = Some(limits.reads());
            state.public_url = settings.http.public_url.clone();
            state.feeds = Some(Arc::new(balados_web::feeds::fetch::Fetcher::new(
                &settings.feeds,
            )?));
            api = api.merge(balados_web::router(state));
        }
    }
    let ops = Ops {
        metrics: shared.metrics.clone(),
        readiness: shared.readiness.clone(),
    };
    Ok(app(
        api,
        ops,
        settings.http.body_limit_bytes,
        Duration::from_millis(settings.http.request_timeout_ms),
        limits.anonymous.clone(),
    ))
}

/// The ingest: its producer and this instance's reply address on `command-results`.
async fn ingest_state(
    shared: &Shared,
    codec: &Codec,
    verifier: Arc<dyn balados_auth::TokenVerifier>,
    accounts: &sqlx::PgPool,
) -> anyhow::Result<balados_ingest::IngestState> {
    let settings = &shared.settings;
    let producer = balados_ingest::CommandProducer::new(
        &settings.kafka,
        codec.clone(),
        settings.topics().commands,
    )?;
    let mut stop = shared.stop.clone();
    let producer = balados_ingest::retired::Retiring::watch(
        producer,
        accounts.clone(),
        settings.kafka.topic_prefix.clone(),
        async move {
            let _ = stop.wait_for(|stop| *stop).await;
        },
    )
    .await;
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
    Ok(balados_ingest::IngestState {
        producer: Arc::new(producer),
        verifier,
        metrics: shared.metrics.clone(),
        replies,
        writes: None,
    })
}
