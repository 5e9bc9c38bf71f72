//! Spawning the stack for one test: a database, a schema registry process and a server process.

use base64::Engine as _;
use serde_json::Value;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const APP: &str = "test-app";
const PRIVATE_KEY: &[u8] = include_bytes!("../../auth/tests/fixtures/private/test-app.key.pem");
const PUBLIC_KEY: &[u8] = include_bytes!("../../auth/tests/fixtures/test-app.pem");
/// The registry's operator password (user: the default, "operator"): its writes need it, and the
/// servers auto-register their schemas with it.
pub const REGISTRY_PASSWORD: &str = "e2e-registry-operator";
pub const REGISTRY_PASSWORD_VAR: &str = "BALADOS__SCHEMA_REGISTRY__OPERATOR_PASSWORD";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn kafka_bootstrap() -> String {
    std::env::var("BALADOS_TEST_KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".into())
}

fn admin_database_url() -> String {
    std::env::var("BALADOS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://balados:balados@127.0.0.1:5432/postgres".into())
}

pub fn python() -> PathBuf {
    std::env::var_os("BALADOS_TEST_PYTHON")
        .map_or_else(|| repo_root().join(".dev/venv/bin/python"), PathBuf::from)
}

pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("BALADOS_BIN") {
        return bin.into();
    }
    // target/debug/deps/e2e-xxxx -> target/debug/balados
    let exe = std::env::current_exe().expect("current exe");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("balados");
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build -p balados) or set BALADOS_BIN",
        bin.display()
    );
    bin
}

pub fn feed_id(url: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
}

/// One test's stack.
#[derive(Debug)]
pub struct Stack {
    pub prefix: String,
    pub database_url: String,
    pub registry_url: String,
    pub work_dir: PathBuf,
    registry: Child,
    pub server: Option<Server>,
}

#[derive(Debug)]
pub struct Server {
    child: Child,
    pub url: String,
    pub stderr_log: PathBuf,
}

impl Server {
    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `limit` for the process to exit: its exit status, or `None`
    /// when it was still running (then it is killed).
    pub fn terminate(mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.server.take();
        let _ = self.registry.kill();
        let _ = self.registry.wait();
    }
}

/// The environment that lifts the per-user write limit, for tests that load one user on purpose.
pub fn unlimited_writes() -> Vec<(String, String)> {
    vec![(
        "BALADOS__FAIR_USE__USER_WRITES__PER_SECOND".into(),
        "0".into(),
    )]
}

/// The environment of a server run as `./dev/up` runs it on tansu: without transactions nor
/// idempotent producers (docs/broker-compatibility.md) — for several instances at once, whose
/// transactions would overlap on the reply partitions, and for crashes of the broker.
pub fn without_transactions() -> Vec<(String, String)> {
    vec![
        ("BALADOS__KAFKA__IDEMPOTENCE".into(), "false".into()),
        ("BALADOS__AGGREGATOR__TRANSACTIONAL".into(), "false".into()),
    ]
}

/// The environment of a server on a port chosen now, with `http.public_url` naming it: for the
/// routes that answer absolute URLs (Login Flow v2), which port 0 would leave unknown. (The port
/// is free when chosen; another process taking it before the server binds fails the start.)
pub fn public_address_env() -> Vec<(String, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    vec![
        ("BALADOS__HTTP__ADDR".into(), format!("127.0.0.1:{port}")),
        (
            "BALADOS__HTTP__PUBLIC_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ),
    ]
}

/// Starts `balados ARGS` with `env`, and waits until it announces "<what> listening on URL".
pub fn spawn(
    args: &[&str],
    env: &[(String, String)],
    stderr_log: &Path,
    what: &str,
    timeout: Duration,
) -> (Child, String) {
    let stderr = std::fs::File::create(stderr_log).expect("log file");
    let mut child = Command::new(binary())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        // BALADOS_TEST_LOG (e.g. "info,balados_aggregator=debug") to investigate a failure.
        .env(
            "BALADOS__LOG__FILTER",
            std::env::var("BALADOS_TEST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn balados");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let needle = format!("balados {what} listening on ");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix(&needle) {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    match rx.recv_timeout(timeout) {
        Ok(url) => (child, url),
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(stderr_log).unwrap_or_default();
            panic!("balados {args:?} did not announce itself within {timeout:?}; stderr:\n{log}");
        }
    }
}

impl Stack {
    /// A fresh database, a registry, and (when `with_server`) a server whose consumers are ready.
    pub async fn start(with_server: bool) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let prefix = format!("t{}", &id[..12]);
        let database_url = create_database(&prefix).await;
        let work_dir = std::env::temp_dir().join(format!("balados-e2e-{prefix}"));
        std::fs::create_dir_all(work_dir.join("keys")).expect("work dir");
        std::fs::write(work_dir.join("keys").join(format!("{APP}.pem")), PUBLIC_KEY).expect("key");
        let env = vec![
            ("BALADOS__DATABASE__URL".to_owned(), database_url.clone()),
            (
                "BALADOS__SCHEMA_REGISTRY__LISTEN".to_owned(),
                "127.0.0.1:0".to_owned(),
            ),
            (
                REGISTRY_PASSWORD_VAR.to_owned(),
                REGISTRY_PASSWORD.to_owned(),
            ),
        ];
        let (registry, registry_url) = spawn(
            &["schema-registry"],
            &env,
            &work_dir.join("registry.log"),
            "schema-registry",
            Duration::from_secs(60),
        );
        let mut stack = Self {
            prefix,
            database_url,
            registry_url,
            work_dir,
            registry,
            server: None,
        };
        if with_server {
            stack.start_server(&[]).await;
        }
        stack
    }

    pub fn server_env(&self) -> Vec<(String, String)> {
        vec![
            ("BALADOS__DATABASE__URL".into(), self.database_url.clone()),
            (
                "BALADOS__SCHEMA_REGISTRY__URL".into(),
                self.registry_url.clone(),
            ),
            (REGISTRY_PASSWORD_VAR.into(), REGISTRY_PASSWORD.into()),
            ("BALADOS__KAFKA__BOOTSTRAP".into(), kafka_bootstrap()),
            ("BALADOS__KAFKA__TOPIC_PREFIX".into(), self.prefix.clone()),
            ("BALADOS__KAFKA__PARTITIONS".into(), "3".into()),
            ("BALADOS__HTTP__ADDR".into(), "127.0.0.1:0".into()),
            (
                "BALADOS__AUTH__APP_KEYS_DIR".into(),
                self.work_dir.join("keys").display().to_string(),
            ),
            ("BALADOS__AGGREGATOR__INSTANCE_ID".into(), "e2e".into()),
            // The test broker (tansu, memory) holds fetches for the whole wait.
            ("BALADOS__KAFKA__FETCH_WAIT_MAX_MS".into(), "20".into()),
        ]
    }

    /// Starts (or restarts) the server and waits for `/readyz`.
    pub async fn start_server(&mut self, extra_env: &[(String, String)]) -> &Server {
        let server = self.spawn_service("serve", extra_env);
        wait_ready(&server).await;
        self.server.insert(server)
    }

    /// Starts `balados SUBCOMMAND` (e.g. `aggregator`) with the server's environment plus
    /// `extra_env`, once it listens; its readiness is not awaited.
    pub fn spawn_service(&self, subcommand: &str, extra_env: &[(String, String)]) -> Server {
        let mut env = self.server_env();
        env.extend_from_slice(extra_env);
        let n = std::fs::read_dir(&self.work_dir)
            .map(|d| d.count())
            .unwrap_or(0);
        let log = self.work_dir.join(format!("{subcommand}-{n}.log"));
        let (child, url) = spawn(&[subcommand], &env, &log, "http", Duration::from_secs(120));
        Server {
            child,
            url,
            stderr_log: log,
        }
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("server started")
    }

    pub fn topic(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.prefix)
    }
}

pub async fn wait_ready(server: &Server) {
    wait_ready_within(server, Duration::from_secs(90)).await;
}

/// [`wait_ready`] with its own limit, for a process that joins groups others are rebalancing.
pub async fn wait_ready_within(server: &Server, limit: Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + limit;
    let mut last = String::from("no answer");
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.url)).send().await {
            if r.status().is_success() {
                return;
            }
            last = r.text().await.unwrap_or_default();
        }
        if Instant::now() >= deadline {
            // CI keeps only the test's output: what readiness awaited and the log's end go there.
            let log = std::fs::read_to_string(&server.stderr_log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "server not ready in {} s; /readyz said {last}; the end of {}:\n{}",
                limit.as_secs(),
                server.stderr_log.display(),
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn create_database(name: &str) -> String {
    let admin = admin_database_url();
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .expect("PostgreSQL (BALADOS_TEST_DATABASE_URL) reachable");
    // `name` is generated by the test (letters and digits only), never user input.
    let statement = format!("CREATE DATABASE \"{name}\"");
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&pool)
        .await
        .expect("create database");
    pool.close().await;
    // The admin URL names a database (…/postgres): swap it for the new one.
    let (server, _) = admin
        .rsplit_once('/')
        .expect("BALADOS_TEST_DATABASE_URL ends with /database");
    format!("{server}/{name}")
}

/// A fresh database with the read models' migrations applied, for tests of the materializer's
/// writes without a whole stack.
pub async fn read_model_database() -> sqlx::PgPool {
    let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let pool = sqlx::PgPool::connect(&create_database(&name).await)
        .await
        .expect("connect");
    balados_materializer::MIGRATOR
        .run(&pool)
        .await
        .expect("migrate");
    pool
}

/// A token for `user`, signed with the test app's key and valid for `ttl_s` seconds (negative:
/// already expired).
pub fn token(user: &str, ttl_s: i64) -> String {
    token_signed_with(PRIVATE_KEY, user, ttl_s)
}

pub fn token_signed_with(key: &[u8], user: &str, ttl_s: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = balados_auth::Claims {
        iss: APP.into(),
        sub: user.into(),
        exp: now + ttl_s,
        iat: Some(now),
        device_id: None,
        device_name: None,
    };
    balados_auth::mint_token(key, &claims).expect("mint")
}

/// Polls `check` every 100 ms until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The feed ids of `user`'s active subscriptions, from the query API.
pub async fn subscriptions(server_url: &str, user: &str) -> Vec<String> {
    let response = reqwest::Client::new()
        .get(format!("{server_url}/api/v1/subscriptions"))
        .bearer_auth(token(user, 300))
        .send()
        .await
        .expect("query API reachable");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    let mut ids: Vec<String> = body["subscriptions"]
        .as_array()
        .expect("subscriptions array")
        .iter()
        .map(|s| s["rss_source_feed"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// The Prometheus text of the server at `url`.
/// A response's header as text (`None` when absent or not text).
pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub async fn metrics(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .expect("metrics reachable")
        .text()
        .await
        .expect("text")
}

/// A consumer of `topic` from its beginning, read_committed, in its own group `group`.
pub fn topic_reader(group: &str, topic: &str) -> rdkafka::consumer::BaseConsumer {
    reader(group, topic, "read_committed")
}

/// [`topic_reader`], read_uncommitted: for topics that several transactional producers write at
/// once, whose last stable offset tansu can hold for good (docs/broker-compatibility.md). tansu
/// shows aborted records to read_committed readers anyway.
pub fn uncommitted_topic_reader(group: &str, topic: &str) -> rdkafka::consumer::BaseConsumer {
    reader(group, topic, "read_uncommitted")
}

fn reader(group: &str, topic: &str, isolation: &str) -> rdkafka::consumer::BaseConsumer {
    use rdkafka::consumer::Consumer as _;
    let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .set("session.timeout.ms", "10000")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// A codec on the stack's registry that may write `writes` (registering them, as the operator).
pub async fn codec(stack: &Stack, writes: &[balados_schemas::Contract]) -> balados_schemas::Codec {
    balados_schemas::Codec::connect(
        balados_schemas::registry_client::RegistryClient::new(&stack.registry_url)
            .and_then(|client| client.with_basic_auth("operator", REGISTRY_PASSWORD))
            .expect("registry client"),
        &balados_schemas::Topics::new(&stack.prefix),
        writes,
        !writes.is_empty(),
    )
    .await
    .expect("codec")
}

/// An event of `user` at `sequence`, happening now, as the aggregator would write it (tests that
/// put events on the topic themselves: a stray, a poison, a late schema).
pub fn event(
    user: &str,
    sequence: u64,
    payload: balados_schemas::EventPayload,
) -> balados_schemas::EventEnvelope {
    let now = chrono::Utc::now();
    balados_schemas::EventEnvelope {
        sync_position: now.timestamp() + i64::try_from(sequence).expect("small"),
        event_id: uuid::Uuid::new_v4(),
        command_id: uuid::Uuid::new_v4(),
        user_id: balados_schemas::UserId::parse(user).expect("valid"),
        sequence,
        occurred_at: now,
        recorded_at: now,
        app_id: None,
        device_id: None,
        device_name: None,
        payload,
    }
}

/// The event in a record of `events` (the project's decoder; the independent one is in Python).
pub async fn decode_event(
    codec: &balados_schemas::Codec,
    message: &rdkafka::message::BorrowedMessage<'_>,
) -> balados_schemas::EventEnvelope {
    use rdkafka::message::Message as _;
    let value = codec
        .decode(
            balados_schemas::Contract::Event,
            message.payload().expect("value"),
        )
        .await
        .expect("decodes");
    balados_schemas::EventEnvelope::from_avro(value).expect("an event")
}

/// A client of one user that always waits for the outcome.
pub struct Api {
    pub url: String,
    pub auth: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(url: &str, user: &str) -> Self {
        Self {
            url: url.to_owned(),
            auth: token(user, 600),
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_with(method, path, body, None).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.auth)
            .header("Prefer", "wait=10");
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("reachable");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Asserts an accepted outcome with `events` events.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>, events: u64) -> Value {
        let (status, answer) = self.call(method, path, body).await;
        assert!(
            matches!(status, 200 | 201) && answer["events"].as_u64() == Some(events),
            "{method} {path}: expected {events} events, got {status} {answer}"
        );
        answer
    }

    /// Asserts a rejection with `status` and `code`.
    pub async fn rejected(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: &str,
    ) {
        let (got, answer) = self.call(method, path, body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
    }

    /// `GET /api/v1{path}` as this user, presenting `consistency` as `X-Consistency-Token`.
    pub async fn read(&self, path: &str, consistency: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .get(format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.auth);
        if let Some(token) = consistency {
            request = request.header("X-Consistency-Token", token);
        }
        let response = request.send().await.expect("reachable");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }
}

/// A command of `user`, as the ingest builds one (without a reply address).
pub fn command(
    user: &str,
    payload: balados_schemas::CommandPayload,
) -> balados_schemas::CommandEnvelope {
    let now = chrono::Utc::now();
    balados_schemas::CommandEnvelope {
        command_id: uuid::Uuid::new_v4(),
        user_id: balados_schemas::UserId::parse(user).expect("valid"),
        occurred_at: now,
        received_at: now,
        app_id: Some(APP.to_owned()),
        device_id: None,
        device_name: None,
        reply_to: None,
        payload,
    }
}
