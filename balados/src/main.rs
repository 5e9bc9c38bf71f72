//! `balados`: every service in one process by default (`serve`), each service alone, the
//! schema registry, admin commands, and an app developer's tools (`app`: keys, authorization links,
//! tokens).

mod admin;
mod apps;
mod partitions;
mod users;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "balados",
    version,
    about = "Balados Sync: podcast listening sync over Kafka"
)]
struct Cli {
    /// Configuration file (TOML); BALADOS__* variables override it.
    #[arg(long, global = true, env = "BALADOS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every service in one process: ingest, aggregator, materializer, query API.
    Serve,
    /// The write API alone.
    Ingest,
    /// The aggregator alone.
    Aggregator,
    /// The materializer alone.
    Materializer,
    /// The read API alone.
    QueryApi,
    /// The Confluent-compatible schema registry (storage in PostgreSQL).
    SchemaRegistry,
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// An app developer's tools: key pairs, authorization URLs, signed tokens (no server needed).
    App {
        #[command(subcommand)]
        command: apps::AppCommand,
    },
}

/// The services allocate many small, short-lived values per record (Avro trees, keys); mimalloc
/// serves them markedly faster than glibc's allocator (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = match balados_platform::Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("balados: {e}");
            std::process::exit(2);
        }
    };
    balados_platform::telemetry::init(&settings.log.filter);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve => balados_app::run(settings, balados_app::Components::ALL).await,
            Command::Ingest => {
                balados_app::run(
                    settings,
                    balados_app::Components {
                        ingest: true,
                        ..balados_app::Components::NONE
                    },
                )
                .await
            }
            Command::Aggregator => {
                balados_app::run(
                    settings,
                    balados_app::Components {
                        aggregator: true,
                        ..balados_app::Components::NONE
                    },
                )
                .await
            }
            Command::Materializer => {
                balados_app::run(
                    settings,
                    balados_app::Components {
                        materializer: true,
                        ..balados_app::Components::NONE
                    },
                )
                .await
            }
            Command::QueryApi => {
                balados_app::run(
                    settings,
                    balados_app::Components {
                        query: true,
                        ..balados_app::Components::NONE
                    },
                )
                .await
            }
            Command::SchemaRegistry => balados_app::registry::run(settings).await,
            Command::Admin { command } => admin::run(settings, command).await,
            Command::App { command } => apps::run(command),
        }
    });
    // A service still stuck in a blocking call (a broker that does not answer) must not hold the
    // process: its work is replayed by whoever takes over.
    runtime.shutdown_timeout(balados_app::SHUTDOWN_GRACE);
    outcome
}
