//! A client of the Confluent Schema Registry REST API (the subset producers and consumers use).
//! Works against Confluent's registry and against the project's own.

use serde::Deserialize;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("schema registry at {url} is unreachable: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("schema registry refused ({status}, error_code {code}): {message}")]
    Refused {
        status: u16,
        code: i64,
        message: String,
    },
    #[error("schema registry answered something unexpected: {0}")]
    Protocol(String),
}

impl RegistryError {
    /// True when retrying later may succeed (the registry is down or failing).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => *status >= 500,
            Self::Protocol(_) => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: url::Url,
    http: reqwest::Client,
}

const MEDIA_TYPE: &str = "application/vnd.schemaregistry.v1+json";

#[derive(Deserialize)]
struct IdAnswer {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaAnswer {
    schema: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error_code: i64,
    message: String,
}

impl RegistryClient {
    pub fn new(base_url: &str) -> Result<Self, RegistryError> {
        let base = url::Url::parse(base_url).map_err(|e| {
            RegistryError::Protocol(format!("invalid registry URL {base_url:?}: {e}"))
        })?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|source| RegistryError::Unreachable {
                url: base.to_string(),
                source,
            })?;
        Ok(Self { base, http })
    }

    fn url(&self, segments: &[&str]) -> url::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Registers `schema` under `subject` (idempotent) and returns its global id.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = self.url(&["subjects", subject, "versions"]);
        let body = json!({ "schema": schema, "schemaType": "AVRO" });
        let answer: IdAnswer = self.send(self.http.post(url).json(&body)).await?;
        Ok(answer.id)
    }

    /// Finds the id of an already registered `schema` under `subject` (for deployments that
    /// forbid producers to register).
    pub async fn lookup(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = self.url(&["subjects", subject]);
        let answer: IdAnswer = self
            .send(self.http.post(url).json(&json!({ "schema": schema })))
            .await?;
        Ok(answer.id)
    }

    /// The schema text registered under a global id.
    pub async fn schema_by_id(&self, id: u32) -> Result<String, RegistryError> {
        let url = self.url(&["schemas", "ids", &id.to_string()]);
        let answer: SchemaAnswer = self.send(self.http.get(url)).await?;
        Ok(answer.schema)
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, RegistryError> {
        let unreachable = |source| RegistryError::Unreachable {
            url: self.base.to_string(),
            source,
        };
        let response = request
            .header(reqwest::header::ACCEPT, MEDIA_TYPE)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| RegistryError::Protocol(e.to_string()));
        }
        let (code, message) = match serde_json::from_slice::<ErrorAnswer>(&bytes) {
            Ok(e) => (e.error_code, e.message),
            Err(_) => (
                i64::from(status.as_u16()),
                String::from_utf8_lossy(&bytes).into_owned(),
            ),
        };
        Err(RegistryError::Refused {
            status: status.as_u16(),
            code,
            message,
        })
    }
}
