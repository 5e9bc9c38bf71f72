//! What every service of the process shares: the typed settings, Kafka client configuration and
//! topic administration, the PostgreSQL connection, the HTTP error shape and extractors, health
//! and metrics endpoints, and logging set-up.

pub mod db;
pub mod fair_use;
pub mod feed_urls;
pub mod http;
pub mod kafka;
pub mod metrics;
pub mod opml;
pub mod outcome;
pub mod producer;
pub mod readiness;
pub mod retirement;
pub mod settings;
pub mod telemetry;

pub use settings::Settings;
