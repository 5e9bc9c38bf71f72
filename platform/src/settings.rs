//! One typed configuration: built-in defaults, then an optional file, then `BALADOS__*`
//! environment variables; validated at start-up with messages that name the setting.

use balados_schemas::registry_client::{RegistryClient, RegistryError as RegistryClientError};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod fair_use;
pub mod reference;
pub use fair_use::{FairUseSettings, RateSetting};

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub aggregator: AggregatorSettings,
    pub materializer: MaterializerSettings,
    pub query: QuerySettings,
    pub fair_use: FairUseSettings,
    pub feeds: FeedsSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub addr: String,
    pub public_url: String,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KafkaSettings {
    pub bootstrap: String,
    pub topic_prefix: String,
    pub partitions: i32,
    pub session_timeout_ms: u32,
    pub fetch_wait_max_ms: u32,
    pub idempotence: bool,
    pub group_instance_id: String,
    #[serde(default)]
    pub client: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegistrySettings {
    pub url: String,
    pub auto_register: bool,
    pub listen: String,
    /// The operator credential (HTTP Basic): required by the registry we serve for every write,
    /// and sent by our services with every request to `url`. No password: writes are refused.
    pub operator_user: String,
    #[serde(default)]
    pub operator_password: Option<SecretString>,
}

impl RegistrySettings {
    /// A client of `url` that sends the operator credential, when one is configured.
    pub fn client(&self) -> Result<RegistryClient, RegistryClientError> {
        let client = RegistryClient::new(&self.url)?;
        match &self.operator_password {
            Some(password) => client.with_basic_auth(&self.operator_user, password.expose_secret()),
            None => Ok(client),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    /// The writers' pool (materializers, relay, pruning).
    pub max_connections: u32,
    /// The readers' pool (query API), separate so that a crowd of readers never starves the
    /// writers, nor the writers the readers.
    pub read_max_connections: u32,
    pub read_statement_timeout_ms: u64,
    pub write_statement_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub app_keys_dir: PathBuf,
    pub cache_verified_tokens: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AggregatorSettings {
    pub instance_id: String,
    pub transactional: bool,
    pub commit_interval_ms: u64,
    pub max_batch: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MaterializerSettings {
    pub batch_max: usize,
    pub batch_interval_ms: u64,
    pub writers: usize,
    pub popularity_grace_hours: u32,
    pub outcome_retention_hours: u32,
    pub prune_interval_minutes: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QuerySettings {
    pub consistency_wait_ms: u64,
    /// How long a public answer is shared by every reader; 0: not shared.
    pub public_cache_ms: u64,
    /// Public answers kept at most (distinct paths and query strings).
    pub public_cache_entries: usize,
}

/// Fetching podcast feeds for the private feeds (`/rss/…`).
#[derive(Debug, Clone, Deserialize)]
pub struct FeedsSettings {
    pub fetch_timeout_ms: u64,
    pub max_bytes: usize,
    pub cache_seconds: u64,
    pub cache_entries: usize,
    pub max_feeds: usize,
    pub concurrency: usize,
    /// Lets feeds be fetched from loopback and private networks: for tests and a server of one's
    /// own, never for a public instance (anyone could make it fetch from inside its network).
    pub allow_private_addresses: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub filter: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration could not be read: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// The built-in defaults, commented: the source of `docs/configuration.md` too.
pub const DEFAULTS: &str = include_str!("defaults.toml");

/// Variables taken verbatim, as strings: the environment source parses values that look like
/// booleans or numbers, which would turn a password "0123" into "123", or "1e5" into "100000".
const VERBATIM: [(&str, &str); 2] = [
    (
        "BALADOS__SCHEMA_REGISTRY__OPERATOR_USER",
        "schema_registry.operator_user",
    ),
    (
        "BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD",
        "schema_registry.operator_password",
    ),
];

impl Settings {
    /// Defaults, then `file` if given, then `BALADOS__*` variables from the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Settings::load`] with an explicit environment (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let mut vars: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("BALADOS__"))
            .collect();
        for (var, key) in VERBATIM {
            if let Some(value) = vars.remove(var) {
                // An override ranks above every source, as the environment does anyway.
                builder = builder.set_override(key, value)?;
            }
        }
        builder = builder.add_source(
            config::Environment::with_prefix("BALADOS")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(vars)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, reason: &str| {
            Err(SettingsError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.http.addr.parse::<std::net::SocketAddr>().is_err() {
            return invalid(
                "http.addr",
                "expected host:port with an IP address, e.g. 127.0.0.1:8080",
            );
        }
        if self
            .schema_registry
            .listen
            .parse::<std::net::SocketAddr>()
            .is_err()
        {
            return invalid(
                "schema_registry.listen",
                "expected host:port with an IP address",
            );
        }
        if self.kafka.bootstrap.trim().is_empty() {
            return invalid("kafka.bootstrap", "empty");
        }
        if self.kafka.partitions < 1 {
            return invalid("kafka.partitions", "must be at least 1");
        }
        let prefix_ok = !self.kafka.topic_prefix.is_empty()
            && self
                .kafka
                .topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !prefix_ok {
            return invalid("kafka.topic_prefix", "use letters, digits, '.', '_' or '-'");
        }
        if url::Url::parse(&self.schema_registry.url).is_err() {
            return invalid("schema_registry.url", "not a URL");
        }
        let user = &self.schema_registry.operator_user;
        // HTTP Basic ends the user at the first colon (RFC 7617).
        if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
            return invalid(
                "schema_registry.operator_user",
                "must be non-empty, without ':' or control characters",
            );
        }
        if let Some(password) = &self.schema_registry.operator_password
            && password.expose_secret().is_empty()
        {
            return invalid(
                "schema_registry.operator_password",
                "empty: set a password, or leave the setting out (the registry then refuses \
                 every write)",
            );
        }
        match url::Url::parse(self.database.url.expose_secret()) {
            Ok(u) if matches!(u.scheme(), "postgres" | "postgresql") => {}
            _ => {
                return invalid(
                    "database.url",
                    "expected postgres://user:password@host:port/database",
                );
            }
        }
        // Names that end up in Kafka ids (transactional, group instance).
        let name_ok = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        };
        // Empty: derived per process when the aggregator starts (see `kafka::instance`).
        if !name_ok(&self.aggregator.instance_id) {
            return invalid(
                "aggregator.instance_id",
                "use letters, digits, '.', '_' or '-' (or leave it empty to derive one)",
            );
        }
        if self.aggregator.max_batch == 0 || self.materializer.batch_max == 0 {
            return invalid(
                "aggregator.max_batch / materializer.batch_max",
                "must be at least 1",
            );
        }
        self.fair_use.validate()?;
        if self.database.read_max_connections == 0 || self.database.max_connections == 0 {
            return invalid(
                "database.max_connections / database.read_max_connections",
                "must be at least 1",
            );
        }
        // The relay, the outcomes consumer and the pruner need connections of their own.
        let writers = self.materializer.writers;
        if writers == 0
            || writers > 64
            || writers as u64 + 2 > u64::from(self.database.max_connections)
        {
            return invalid(
                "materializer.writers",
                "must be 1 to 64, and at least 2 below database.max_connections",
            );
        }
        if self.materializer.prune_interval_minutes == 0 {
            return invalid("materializer.prune_interval_minutes", "must be at least 1");
        }
        if !name_ok(&self.kafka.group_instance_id) {
            return invalid(
                "kafka.group_instance_id",
                "use letters, digits, '.', '_' or '-'",
            );
        }
        if self.aggregator.transactional && !self.kafka.idempotence {
            return invalid(
                "aggregator.transactional",
                "transactions need idempotent producers: set kafka.idempotence = true, or \
                 aggregator.transactional = false",
            );
        }
        // Longer than the longest wait a request may ask for (Prefer: wait=10, a consistency wait).
        if self.http.request_timeout_ms < 11_000 {
            return invalid(
                "http.request_timeout_ms",
                "must be at least 11000 (a write may wait 10 s for its outcome)",
            );
        }
        if self.http.body_limit_bytes == 0 {
            return invalid("http.body_limit_bytes", "must be at least 1");
        }
        // Public statistics older than a minute would be stale, and clients are told to keep
        // them as long.
        if self.query.public_cache_ms > 60_000 {
            return invalid(
                "query.public_cache_ms",
                "must be at most 60000 (0 turns the cache off)",
            );
        }
        if !(1..=100_000).contains(&self.query.public_cache_entries) {
            return invalid(
                "query.public_cache_entries",
                "must be between 1 and 100000 (turn the cache off with query.public_cache_ms = 0)",
            );
        }
        if !(1_000..=60_000).contains(&self.feeds.fetch_timeout_ms) {
            return invalid("feeds.fetch_timeout_ms", "must be between 1000 and 60000");
        }
        if !(65_536..=67_108_864).contains(&self.feeds.max_bytes) {
            return invalid(
                "feeds.max_bytes",
                "must be between 65536 and 67108864 (64 MiB)",
            );
        }
        if !(1..=100_000).contains(&self.feeds.cache_entries) {
            return invalid("feeds.cache_entries", "must be between 1 and 100000");
        }
        if !(1..=1_000).contains(&self.feeds.max_feeds) {
            return invalid("feeds.max_feeds", "must be between 1 and 1000");
        }
        if !(1..=64).contains(&self.feeds.concurrency) {
            return invalid("feeds.concurrency", "must be between 1 and 64");
        }
        Ok(())
    }

    pub fn topics(&self) -> balados_schemas::Topics {
        balados_schemas::Topics::new(&self.kafka.topic_prefix)
    }
}

#[cfg(test)]
mod tests;
