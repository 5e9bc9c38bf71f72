//! Admin commands: topics, migrations, rebuilding the read models, development tokens.

use balados_platform::Settings;
use clap::Subcommand;

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
    /// Play tokens (what the play gateway and private RSS feeds carry): create, list, revoke.
    PlayToken {
        #[command(subcommand)]
        command: crate::users::PlayTokenCommand,
    },
    /// Sign a token as an app would (development and demos): the same as `balados app
    /// sign-token`; an operator's app has its public key as `{app}.pem` in auth.app_keys_dir.
    MintToken(crate::apps::SignArgs),
}

pub async fn run(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    match command {
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
            let pool = balados_platform::db::connect_with_retry(
                &settings.database,
                balados_platform::db::Role::Writer,
            )
            .await;
            balados_app::startup::migrate(&pool).await?;
            balados_schema_registry::Registry::migrate(&pool).await?;
            println!("migrations applied");
        }
        AdminCommand::Rebuild => {
            balados_platform::kafka::wait_for_broker(&settings.kafka).await;
            let pool = balados_platform::db::connect_with_retry(
                &settings.database,
                balados_platform::db::Role::Writer,
            )
            .await;
            balados_app::startup::migrate(&pool).await?;
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
            let pool = balados_platform::db::connect_with_retry(
                &settings.database,
                balados_platform::db::Role::Writer,
            )
            .await;
            balados_app::startup::migrate(&pool).await?;
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
        AdminCommand::MintToken(args) => {
            let now = chrono::Utc::now().timestamp();
            println!("{}", crate::apps::sign_token(&args, now)?);
        }
    }
    Ok(())
}
