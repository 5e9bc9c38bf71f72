//! What the ingest needs around it, for one run: the broker's topics under a fresh prefix, a schema
//! registry (a `balados schema-registry` child process on a throwaway database) for the codec, and
//! the producer and replies every variant shares, built as the server builds them
//! (app/src/serve.rs `ingest_state`).

use balados_ingest::{CommandProducer, Replies};
use balados_platform::Settings;
use balados_schemas::{Codec, Contract};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[derive(Debug)]
pub struct StackArgs {
    pub bootstrap: String,
    pub partitions: i32,
    pub balados: PathBuf,
    pub database_admin_url: String,
}

#[derive(Debug)]
pub struct Stack {
    pub settings: Settings,
    pub producer: CommandProducer,
    pub replies: Replies,
    pub leftovers: Leftovers,
}

/// What a run leaves behind: the registry, its database and the run's topics.
#[derive(Debug)]
pub struct Leftovers {
    settings: Settings,
    registry: Child,
    admin_url: String,
    database: String,
}

impl Stack {
    /// Starts the registry, creates the topics of prefix `run` and connects the producer and the
    /// replies' consumer.
    pub async fn start(args: &StackArgs, run: &str) -> anyhow::Result<Self> {
        let database = format!("authbench{run}");
        let database_url = create_database(&args.database_admin_url, &database).await?;
        let password = uuid::Uuid::new_v4().simple().to_string();
        let (registry, registry_url) = spawn_registry(args, run, &database_url, &password)?;
        let env = [
            ("BALADOS__KAFKA__BOOTSTRAP", args.bootstrap.clone()),
            ("BALADOS__KAFKA__TOPIC_PREFIX", format!("authbench{run}")),
            ("BALADOS__KAFKA__PARTITIONS", args.partitions.to_string()),
            // The in-memory tansu holds fetches for the whole wait (bench/README.md §1).
            ("BALADOS__KAFKA__FETCH_WAIT_MAX_MS", "20".into()),
            ("BALADOS__SCHEMA_REGISTRY__URL", registry_url),
            ("BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD", password),
        ];
        let settings = Settings::load_from(None, env.map(|(k, v)| (k.to_owned(), v)))?;
        balados_platform::kafka::wait_for_broker(&settings.kafka).await;
        let specs = settings.topics().specs(settings.kafka.partitions);
        balados_platform::kafka::ensure_topics(&settings.kafka, &specs).await?;
        let codec = Codec::connect(
            settings.schema_registry.client()?,
            &settings.topics(),
            &[Contract::Command],
            true,
        )
        .await?;
        let producer =
            CommandProducer::new(&settings.kafka, codec.clone(), settings.topics().commands)?;
        let replies = Replies::start(
            &settings.kafka,
            &settings.topics().command_results,
            codec,
            format!("authbench{run}.ingest.bench"),
        )
        .await?;
        Ok(Self {
            settings: settings.clone(),
            producer,
            replies,
            leftovers: Leftovers {
                settings,
                registry,
                admin_url: args.database_admin_url.clone(),
                database,
            },
        })
    }
}

impl Leftovers {
    /// Stops the registry, drops its database and deletes the run's topics (the in-memory broker
    /// is shared: what the run produced would otherwise stay in its memory). Only once no client
    /// of the run is left: librdkafka 2.x crashed (SIGSEGV in its metadata cache) in a client
    /// that learnt its topic had been deleted from under it, from tansu.
    pub async fn remove(mut self) -> anyhow::Result<()> {
        let _ = self.registry.kill();
        let _ = self.registry.wait();
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE \"{}\" WITH (FORCE)",
            self.database
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        let kafka: AdminClient<DefaultClientContext> =
            balados_platform::kafka::client_config(&self.settings.kafka, "authbench-admin")
                .create()?;
        let specs = self.settings.topics().specs(self.settings.kafka.partitions);
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        for result in kafka.delete_topics(&names, &options).await? {
            if let Err((topic, code)) = result {
                eprintln!("could not delete topic {topic}: {code}");
            }
        }
        Ok(())
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        let _ = self.registry.kill();
        let _ = self.registry.wait();
    }
}

/// Creates database `name` on the server of `admin_url` (…/postgres); its URL.
async fn create_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (server, _) = admin_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("--database-admin-url: expected postgres://…/DB"))?;
    let mut admin = PgConnection::connect(admin_url).await?;
    // `name` is made here of letters and digits, never input.
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(format!("{server}/{name}"))
}

/// `balados schema-registry` on a port of its own; it and the URL it announces.
fn spawn_registry(
    args: &StackArgs,
    run: &str,
    database_url: &str,
    password: &str,
) -> anyhow::Result<(Child, String)> {
    let log = std::env::temp_dir().join(format!("authbench{run}-registry.log"));
    let mut child = Command::new(&args.balados)
        .arg("schema-registry")
        .env("BALADOS__DATABASE__URL", database_url)
        .env("BALADOS__SCHEMA_REGISTRY__LISTEN", "127.0.0.1:0")
        .env("BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD", password)
        .env("BALADOS__LOG__FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot start {}: {e} (cargo build --release -p balados, or --balados)",
                args.balados.display()
            )
        })?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("balados schema-registry listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => Ok((child, url)),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "the schema registry did not start within 60 s; see {}",
                log.display()
            )
        }
    }
}
