//! Admin commands: topics, migrations, rebuilding the read models, development tokens, and the
//! operator's toolbox (docs/operations.md): lag, describe, dead letters, quarantine, one user's
//! replay.

mod consumers;
mod dead_letters;
mod groups;
mod lag;
mod quarantine;
mod text;
mod topics;

use balados_platform::Settings;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the topics that are missing and verify the partition counts of the others.
    Topics,
    /// Run the database migrations (read models and schema registry).
    Migrate,
    /// Recreate the read models from the log: per-user models from the latest state records,
    /// public models from the retained events. Stop the materializers first.
    Rebuild,
    /// Rebuild one user's read models from their latest state records, and release them if the
    /// materializer holds them at a sequence gap (events lost upstream). Safe while running.
    RepairUser {
        /// The user id (as in tokens and topics).
        #[arg(long)]
        user: String,
    },
    /// Replay one user's retained events into the read models (per-user and public), through the
    /// live apply path: applied events are dropped by sequence, a user held at a gap is released
    /// if the missing events are in the log. Safe while running.
    ReplayUser {
        /// The user id (as in tokens and topics).
        #[arg(long)]
        user: String,
        /// Start at this offset of the user's partition of events (default: the first retained).
        #[arg(long)]
        from_offset: Option<i64>,
    },
    /// How far each consumer is behind, per partition: offsets, records and seconds.
    Lag(Output),
    /// The service's topics or consumer groups as the broker describes them.
    Describe {
        #[command(subcommand)]
        what: DescribeCommand,
    },
    /// Commands the aggregator could not decode: list them, re-drive them after a fix.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLetterCommand,
    },
    /// Events the materializer set aside: list them, re-drive them after a fix.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Accounts: create, list, disable.
    User {
        #[command(subcommand)]
        command: crate::users::UserCommand,
    },
    /// App passwords (what gpodder.net and Nextcloud clients log in with): create, list, revoke.
    AppPassword {
        #[command(subcommand)]
        command: crate::users::AppPasswordCommand,
    },
    /// Play tokens (what the play gateway's media links and the private feeds carry): create, list, revoke.
    PlayToken {
        #[command(subcommand)]
        command: crate::users::PlayTokenCommand,
    },
    /// Sign a token as an app would (development and demos): the same as `balados app
    /// sign-token`; an operator's app has its public key as `{app}.pem` in auth.app_keys_dir.
    MintToken(crate::apps::SignArgs),
    /// Grow the co-partitioned topics to more partitions (docs/deployment.md, "Partitions").
    Partitions {
        #[command(subcommand)]
        command: crate::partitions::PartitionsCommand,
    },
}

#[derive(Debug, Args)]
pub struct Output {
    /// JSON for scripts instead of aligned text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DescribeCommand {
    /// Partitions, where each starts and ends, and the configs that decide retention.
    Topics(Output),
    /// State, members and their partitions, as far as the broker answers.
    Groups(Output),
}

#[derive(Debug, Subcommand)]
pub enum DeadLetterCommand {
    /// The dead letters: offset, time, user, command id and kind, whether it decodes now, reason.
    List {
        /// At most this many (the most recent, unless --from-offset).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        from_offset: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Produce the dead letters that decode now to the commands topic again (unchanged: the same
    /// command ids); those already decided are skipped.
    Redrive {
        /// Start at this offset of the dead-letter topic (default: the first retained).
        #[arg(long)]
        from_offset: Option<i64>,
        /// Say what would be re-produced, produce nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// The quarantined events: id (partition/offset), topic, time, reason.
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Apply quarantined events again through the materializer's apply path; a row is removed
    /// once applied, one that fails again keeps its new reason.
    #[command(group = clap::ArgGroup::new("which").required(true).args(["id", "all"]))]
    Redrive {
        /// A row, as `PARTITION/OFFSET` (repeatable).
        #[arg(long)]
        id: Vec<String>,
        /// Every row.
        #[arg(long)]
        all: bool,
        /// Say what would be done, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Lag(output) => lag::run(&settings, output.json).await?,
        AdminCommand::Describe { what } => match what {
            DescribeCommand::Topics(output) => topics::run(&settings, output.json).await?,
            DescribeCommand::Groups(output) => groups::run(&settings, output.json).await?,
        },
        AdminCommand::DeadLetters { command } => match command {
            DeadLetterCommand::List {
                limit,
                from_offset,
                json,
            } => dead_letters::list(&settings, limit, from_offset, json).await?,
            DeadLetterCommand::Redrive {
                from_offset,
                dry_run,
            } => dead_letters::redrive(&settings, from_offset, dry_run).await?,
        },
        AdminCommand::Quarantine { command } => match command {
            QuarantineCommand::List { limit, json } => {
                quarantine::list(&settings, limit, json).await?;
            }
            QuarantineCommand::Redrive {
                id,
                all: _,
                dry_run,
            } => {
                quarantine::redrive(&settings, &id, dry_run).await?;
            }
        },
        AdminCommand::ReplayUser { user, from_offset } => {
            quarantine::replay_user(&settings, &user, from_offset).await?;
        }
        AdminCommand::User { command } => crate::users::run(&settings, command).await?,
        AdminCommand::AppPassword { command } => {
            crate::users::run_app_passwords(&settings, command).await?;
        }
        AdminCommand::PlayToken { command } => {
            crate::users::run_play_tokens(&settings, command).await?;
        }
        AdminCommand::Topics => {
            balados_platform::kafka::wait_for_broker(&settings.kafka).await;
            let specs = settings.topics().specs(settings.kafka.partitions);
            balados_platform::kafka::ensure_topics(&settings.kafka, &specs).await?;
            for spec in specs {
                println!(
                    "{:<40} partitions={:<3} {:?}",
                    spec.name, spec.partitions, spec.configs
                );
            }
        }
        AdminCommand::Migrate => {
            let pool = migrated_pool(&settings).await?;
            balados_schema_registry::Registry::migrate(&pool).await?;
            println!("migrations applied");
        }
        AdminCommand::Rebuild => {
            balados_platform::kafka::wait_for_broker(&settings.kafka).await;
            let pool = migrated_pool(&settings).await?;
            let codec = balados_app::startup::codec(&settings, &[]).await?;
            let report = balados_materializer::rebuild::rebuild(&settings, &pool, &codec).await?;
            println!(
                "rebuilt: {} users from {} state records ({} of uncommitted commands ignored), \
                 {} events replayed ({} public, {} quarantined) in {:.1} s",
                report.users,
                report.state_records,
                report.ignored_uncommitted,
                report.events,
                report.public_events,
                report.quarantined,
                report.duration.as_secs_f64()
            );
        }
        AdminCommand::RepairUser { user } => {
            let user = balados_schemas::UserId::parse(&user)
                .map_err(|e| anyhow::anyhow!("--user: {e}"))?;
            balados_platform::kafka::wait_for_broker(&settings.kafka).await;
            let pool = migrated_pool(&settings).await?;
            let codec = balados_app::startup::codec(&settings, &[]).await?;
            let repaired =
                balados_materializer::repair::repair_user(&settings, &pool, &codec, &user).await?;
            let gap = repaired.gap.map_or_else(
                || "it was not held at a gap".to_owned(),
                |(applied, found)| {
                    format!("released from the gap after sequence {applied} (found {found})")
                },
            );
            println!(
                "repaired: per-user models from {} state records, at sequence {}; {gap}",
                repaired.state_records, repaired.sequence
            );
        }
        AdminCommand::Partitions { command } => crate::partitions::run(settings, command).await?,
        AdminCommand::MintToken(args) => {
            let now = chrono::Utc::now().timestamp();
            println!("{}", crate::apps::sign_token(&args, now)?);
        }
    }
    Ok(())
}

/// The writers' pool with the read models' migrations applied: a tool may run before any server
/// has migrated the database.
pub(crate) async fn migrated_pool(settings: &Settings) -> anyhow::Result<sqlx::PgPool> {
    let pool = balados_platform::db::connect_with_retry(
        &settings.database,
        balados_platform::db::Role::Writer,
    )
    .await;
    balados_app::startup::migrate(&pool).await?;
    Ok(pool)
}
