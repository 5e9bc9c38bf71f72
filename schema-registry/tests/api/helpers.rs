//! One registry per test: a fresh database, the crate's migrations, the router on port 0. Its
//! writes need the operator credential below, which the helpers send unless told otherwise.

use std::time::Duration;

use balados_schema_registry::{OperatorCredential, Registry, WriteAccess, serve};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

pub const OPERATOR: &str = "operator";
pub const PASSWORD: &str = "correct horse battery staple";

const DEFAULT_ADMIN_URL: &str = "postgres://balados:balados@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("BALADOS_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// `postgres://.../postgres` → `postgres://.../{database}`
fn database_url(admin: &str, database: &str) -> String {
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    format!("{base}/{database}")
}

#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    pub client: Client,
    database: String,
}

/// The `Authorization` a request carries.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// `OPERATOR:PASSWORD`, as Basic auth.
    Operator,
    /// No header at all.
    Anonymous,
    /// This user and password, as Basic auth.
    Basic(&'a str, &'a str),
    /// This header value verbatim.
    Header(&'a str),
}

/// Starts a registry whose writes need `OPERATOR:PASSWORD`, on a database of its own, so tests can
/// run in parallel.
pub async fn spawn_app() -> TestApp {
    let credential = OperatorCredential::new(OPERATOR, &PASSWORD.into());
    spawn_app_with(WriteAccess::Operator(credential)).await
}

/// As [`spawn_app`], with the given write access.
pub async fn spawn_app_with(writes: WriteAccess) -> TestApp {
    let admin = admin_url();
    let database = format!("registry_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to the admin database (is PostgreSQL running?)");
    sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{database}""#)))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    conn.close().await.ok();

    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&database_url(&admin, &database))
        .await
        .expect("connect to the test database");
    Registry::migrate(&pool).await.expect("migrate");
    // Twice: migrations must be idempotent, they run at every start.
    Registry::migrate(&pool).await.expect("migrate again");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(serve(listener, Registry::new(pool, writes)));
    TestApp {
        address,
        client: Client::new(),
        database,
    }
}

impl Drop for TestApp {
    /// Best-effort cleanup, also after a failed assertion: `WITH (FORCE)` closes the server's
    /// connections. A thread of its own because `Drop` cannot await.
    fn drop(&mut self) {
        let database = self.database.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
                    let sql = format!(r#"DROP DATABASE IF EXISTS "{database}" WITH (FORCE)"#);
                    sqlx::query(AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await
                        .ok();
                }
            });
        });
        cleanup.join().ok();
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Reads go without a credential, as data teams read: they must stay open.
    pub async fn get(&self, path: &str) -> Response {
        self.request(reqwest::Method::GET, path, None, Auth::Anonymous)
            .await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(reqwest::Method::DELETE, path, None, Auth::Operator)
            .await
    }

    /// A JSON request as the operator, with Confluent's own content type, as most clients send it.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Response {
        self.request(method, path, Some(body), Auth::Operator).await
    }

    /// A request builder as the operator, for tests that shape the rest by hand.
    pub fn as_operator(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(OPERATOR, Some(PASSWORD))
    }

    /// Any request, with `auth`; a body is sent as Confluent's JSON.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        auth: Auth<'_>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        request = match auth {
            Auth::Operator => request.basic_auth(OPERATOR, Some(PASSWORD)),
            Auth::Anonymous => request,
            Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
            Auth::Header(value) => request.header("Authorization", value),
        };
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .body(body.to_string());
        }
        request.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::PUT, path, body).await
    }

    /// Registers a schema and returns the raw response.
    pub async fn register(&self, subject: &str, schema: &str) -> Response {
        self.post(
            &format!("/subjects/{subject}/versions"),
            &json!({ "schema": schema }),
        )
        .await
    }

    /// Registers a schema that must be accepted and returns its id.
    pub async fn register_ok(&self, subject: &str, schema: &str) -> i64 {
        let body = json_ok(self.register(subject, schema).await).await;
        body["id"].as_i64().expect("an integer id")
    }

    pub async fn set_level(&self, subject: &str, level: &str) {
        let response = self
            .put(
                &format!("/config/{subject}"),
                &json!({ "compatibility": level }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// The body of a 200 response, checking Confluent's content type on the way.
pub async fn json_ok(response: Response) -> Value {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "body: {body}");
    assert_eq!(
        content_type.as_deref(),
        Some("application/vnd.schemaregistry.v1+json")
    );
    serde_json::from_str(&body).expect("a JSON body")
}

/// Asserts a Confluent error: this HTTP status and this `error_code`, with a message.
pub async fn assert_error(response: Response, status: u16, error_code: i64) -> Value {
    let actual = response.status().as_u16();
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "body: {body}");
    let body: Value = serde_json::from_str(&body).expect("a JSON error body");
    assert_eq!(body["error_code"], error_code, "body: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

/// A record schema `balados.Play` with the given fields (JSON objects, comma-separated).
pub fn play(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"Play","namespace":"balados","fields":[{fields}]}}"#)
}

pub const ID: &str = r#"{"name":"id","type":"string"}"#;
pub const POS: &str = r#"{"name":"pos","type":"long"}"#;
pub const POS_DEFAULT: &str = r#"{"name":"pos","type":"long","default":0}"#;
pub const SPEED_DEFAULT: &str = r#"{"name":"speed","type":"float","default":1.0}"#;
