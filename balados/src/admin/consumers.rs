//! The consumers of the service, as the toolbox looks at them: each group, the topic it reads,
//! and where its committed offsets live.

use balados_platform::Settings;
use secrecy::ExposeSecret as _;

/// Where a consumer's offsets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Kafka,
    Postgresql,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Self::Kafka => "kafka",
            Self::Postgresql => "postgresql",
        }
    }
}

/// The consumers of the service: group, topic, where its offsets live.
pub fn consumers(settings: &Settings) -> [(String, String, Source); 3] {
    let prefix = &settings.kafka.topic_prefix;
    let topics = settings.topics();
    [
        (
            format!("{prefix}.aggregator"),
            topics.commands,
            Source::Kafka,
        ),
        (
            balados_materializer::runner::group(settings),
            topics.events,
            Source::Postgresql,
        ),
        (
            format!("{prefix}.materializer.outcomes"),
            topics.command_results,
            Source::Postgresql,
        ),
    ]
}

/// A one-connection pool, or why PostgreSQL cannot be reached: the toolbox says so and goes on
/// with what the broker tells, rather than waiting for the database.
pub async fn database(settings: &Settings) -> Result<sqlx::PgPool, sqlx::Error> {
    balados_platform::db::pool_options(&settings.database, balados_platform::db::Role::Writer)
        .max_connections(1)
        .connect(settings.database.url.expose_secret())
        .await
}
