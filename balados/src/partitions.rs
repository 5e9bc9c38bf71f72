//! `balados admin partitions grow`: moves the co-partitioned topics to more partitions by copying
//! them to the topics of a successor prefix (`balados_materializer::grow` says how and why).

use balados_platform::Settings;
use balados_schemas::Contract;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PartitionsCommand {
    /// Copy the users' events and state (and the public events and dead letters) to the topics
    /// of `--prefix` with `--to` partitions. Writes are refused (503, retry) from its start until each instance restarts
    /// with the new prefix and count; reads go on. Run it with the services running: it waits for
    /// them to decide and apply everything first.
    Grow {
        /// The partition count to grow to (more than today's).
        #[arg(long)]
        to: i32,
        /// The successor's topic prefix (e.g. "balados-p12"): its topics are created.
        #[arg(long)]
        prefix: String,
    },
}

pub async fn run(settings: Settings, command: PartitionsCommand) -> anyhow::Result<()> {
    let PartitionsCommand::Grow { to, prefix } = command;
    let successor = successor(&settings, &prefix, to)?;
    balados_platform::kafka::wait_for_broker(&settings.kafka).await;
    let pool = crate::admin::migrated_pool(&settings).await?;
    let codec = balados_app::startup::codec(&successor, &[Contract::UserState]).await?;
    let progress = |line: &str| println!("{line}");
    let report =
        balados_materializer::grow::grow(&settings, &pool, &codec, &successor, &progress).await?;
    println!(
        "grown from {} to {to} partitions: {} events, {} state records of {} users, {} public \
         events, {} dead letters copied; writes paused for {:.1} s so far",
        report.from_partitions,
        report.events,
        report.state_records,
        report.users,
        report.public_events,
        report.dead_letters,
        report.pause.as_secs_f64()
    );
    println!(
        "now restart every instance with BALADOS__KAFKA__TOPIC_PREFIX={prefix} and \
         BALADOS__KAFKA__PARTITIONS={to} (or the same in its config file): each takes writes again \
         as it comes back"
    );
    Ok(())
}

/// The settings of the successor: the same, with the new prefix and count (validated as a start
/// would validate them).
fn successor(settings: &Settings, prefix: &str, partitions: i32) -> anyhow::Result<Settings> {
    let valid = !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    anyhow::ensure!(valid, "--prefix: use letters, digits, '.', '_' or '-'");
    anyhow::ensure!(partitions >= 1, "--to: at least 1");
    let mut next = settings.clone();
    next.kafka.topic_prefix = prefix.to_owned();
    next.kafka.partitions = partitions;
    Ok(next)
}
