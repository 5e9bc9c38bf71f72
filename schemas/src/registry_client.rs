//! A client of the Confluent Schema Registry REST API (the subset producers and consumers use).
//! Works against Confluent's registry and against the project's own.

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderValue};
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

/// What a producer asks of the registry for one of its schemas at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaStep {
    /// Register it (idempotent): a write, which needs the operator credential.
    Register,
    /// Find the id it was registered under: a read.
    Lookup,
}

impl std::fmt::Display for SchemaStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Register => "registering",
            Self::Lookup => "looking up",
        })
    }
}

#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: url::Url,
    http: reqwest::Client,
    /// `Basic …`, marked sensitive so that it never shows in `Debug` output or logs.
    authorization: Option<HeaderValue>,
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
        Ok(Self {
            base,
            http,
            authorization: None,
        })
    }

    /// Sends `user:password` as HTTP Basic auth with every request, as Confluent clients do with
    /// `basic.auth.user.info`: registering needs it on our registry (reads do not), and
    /// Confluent's may require it for everything.
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Result<Self, RegistryError> {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|e| RegistryError::Protocol(format!("unusable credential: {e}")))?;
        value.set_sensitive(true);
        self.authorization = Some(value);
        Ok(self)
    }

    /// True when requests carry a credential.
    pub fn has_credential(&self) -> bool {
        self.authorization.is_some()
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
        let mut request = request.header(reqwest::header::ACCEPT, MEDIA_TYPE);
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let response = request.send().await.map_err(unreachable)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_is_sent_as_basic_auth_and_never_shown() {
        let client = RegistryClient::new("http://127.0.0.1:8081")
            .and_then(|c| c.with_basic_auth("operator", "s3cret"))
            .expect("client");
        let value = client.authorization.as_ref().expect("a header");
        // base64("operator:s3cret")
        assert_eq!(value.as_bytes(), b"Basic b3BlcmF0b3I6czNjcmV0");
        assert!(value.is_sensitive());
        let shown = format!("{client:?}");
        assert!(!shown.contains("b3BlcmF0b3I6czNjcmV0"), "{shown}");
    }
}
