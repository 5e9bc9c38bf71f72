//! Read-your-writes: a read that presents the consistency token of a command outcome
//! (`X-Consistency-Token: v1.{partition}.{next offset}` of the events it produced) waits, bounded,
//! until the materializer's committed offset of that partition has reached it. The offsets are the
//! ones the materializer writes in the same transaction as the rows, so passing them means the
//! rows are visible.

use crate::QueryState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use balados_platform::http::ApiError;
use std::time::Duration;
use tokio::time::Instant;

pub const HEADER: &str = "x-consistency-token";

/// How often a waiting read looks at the offsets again.
const POLL: Duration = Duration::from_millis(5);

/// Where the materializer's offsets are, and how long a read may wait for them.
#[derive(Debug, Clone)]
pub struct Consistency {
    /// The materializer's consumer name in `materializer.offsets` (its group).
    pub consumer: String,
    pub events_topic: String,
    pub max_wait: Duration,
}

/// A parsed token: the events partition and the offset the materializer must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub partition: i32,
    pub next_offset: i64,
}

impl Token {
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split('.');
        let (Some("v1"), Some(partition), Some(offset), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let token = Self {
            partition: partition.parse().ok()?,
            next_offset: offset.parse().ok()?,
        };
        (token.partition >= 0 && token.next_offset >= 0).then_some(token)
    }
}

fn invalid() -> ApiError {
    ApiError::validation(
        "invalid_consistency_token",
        "X-Consistency-Token must be a token from a command outcome (v1.{partition}.{offset})",
    )
}

/// The middleware: without the header, reads go straight through.
pub async fn wait_for_token(
    State(state): State<QueryState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(raw) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let Some(token) = raw.to_str().ok().and_then(Token::parse) else {
        return invalid().into_response();
    };
    match reached(&state, token).await {
        Ok(true) => next.run(request).await,
        Ok(false) => {
            let mut response = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "consistency_timeout",
                "the read models have not reached this token yet; retry later",
            )
            .into_response();
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the materializer's offsets failed");
            ApiError::unavailable("the read model is unavailable; retry later").into_response()
        }
    }
}

/// Whether the materializer reached `token` within the wait.
async fn reached(state: &QueryState, token: Token) -> Result<bool, sqlx::Error> {
    let deadline = Instant::now() + state.consistency.max_wait;
    loop {
        let stored: Option<(i64,)> = sqlx::query_as(
            "SELECT next_offset FROM materializer.offsets
             WHERE consumer = $1 AND topic = $2 AND partition = $3",
        )
        .bind(&state.consistency.consumer)
        .bind(&state.consistency.events_topic)
        .bind(token.partition)
        .fetch_optional(&state.pool)
        .await?;
        if stored.is_some_and(|(offset,)| offset >= token.next_offset) {
            return Ok(true);
        }
        if Instant::now() + POLL > deadline {
            return Ok(false);
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_strictly() {
        assert_eq!(
            Token::parse("v1.3.42"),
            Some(Token {
                partition: 3,
                next_offset: 42
            })
        );
        for bad in [
            "",
            "v1.3",
            "v2.3.42",
            "v1.3.42.1",
            "v1.-1.4",
            "v1.a.4",
            "v1.3.x",
        ] {
            assert_eq!(Token::parse(bad), None, "{bad}");
        }
    }
}
