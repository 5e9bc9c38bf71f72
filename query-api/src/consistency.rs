//! Read-your-writes: a read that presents the consistency token of a command outcome
//! (`X-Consistency-Token: v1.{partition}.{next offset}` of the events it produced) waits, bounded,
//! until the materializer's committed offset of that partition has reached it. The offsets are the
//! ones the materializer writes in the same transaction as the rows, so passing them means the
//! rows are visible. One poller per process reads the offsets, and only while reads are waiting:
//! a thousand waiting reads cost PostgreSQL the same one query every few milliseconds.

use crate::QueryState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use balados_platform::http::ApiError;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

pub const HEADER: &str = "x-consistency-token";

/// How often the offsets are read while reads are waiting.
const POLL: Duration = Duration::from_millis(5);

/// The materializer's offsets as last read: next offset per partition of `events`, or `None`
/// when reading them failed.
type Offsets = Option<Arc<HashMap<i32, i64>>>;

/// The shared view of the materializer's offsets, and how long a read may wait for them.
#[derive(Debug, Clone)]
pub struct Consistency {
    max_wait: Duration,
    offsets: watch::Receiver<Offsets>,
    waiting: Arc<AtomicUsize>,
    wake: Arc<Notify>,
}

impl Consistency {
    /// Starts the poller of `materializer.offsets` for `consumer` (the materializers' group) on
    /// `events_topic`; it stops when the last `Consistency` is dropped.
    pub fn start(pool: PgPool, consumer: String, events_topic: String, max_wait: Duration) -> Self {
        let (tx, offsets) = watch::channel(Some(Arc::new(HashMap::new())));
        let waiting = Arc::new(AtomicUsize::new(0));
        let wake = Arc::new(Notify::new());
        let (poller_waiting, poller_wake) = (waiting.clone(), wake.clone());
        tokio::spawn(async move {
            let mut failing = false;
            while !tx.is_closed() {
                if poller_waiting.load(Ordering::Acquire) == 0 {
                    poller_wake.notified().await;
                    continue;
                }
                let read: Result<Vec<(i32, i64)>, sqlx::Error> = sqlx::query_as(
                    "SELECT partition, next_offset FROM materializer.offsets
                     WHERE consumer = $1 AND topic = $2",
                )
                .bind(&consumer)
                .bind(&events_topic)
                .fetch_all(&pool)
                .await;
                let snapshot = match read {
                    Ok(rows) => {
                        if failing {
                            tracing::info!("reading the materializer's offsets works again");
                        }
                        failing = false;
                        Some(Arc::new(rows.into_iter().collect()))
                    }
                    Err(e) => {
                        // Once per outage, not at every poll (every few milliseconds).
                        if !failing {
                            tracing::error!(error = %e, "reading the materializer's offsets failed; reads that wait answer 503 until it works again");
                        }
                        failing = true;
                        None
                    }
                };
                tx.send_replace(snapshot);
                tokio::time::sleep(POLL).await;
            }
        });
        Self {
            max_wait,
            offsets,
            waiting,
            wake,
        }
    }

    /// Whether the materializer reached `token` within the wait; `Err` when its offsets cannot
    /// be read. Public for the front ends that answer a write once it is readable (gpodder).
    pub async fn reached(&self, token: Token) -> Result<bool, Unreadable> {
        let mut offsets = self.offsets.clone();
        // Offsets only grow: an old view that already passed the token is still right.
        if passed(offsets.borrow_and_update().as_ref(), token) == Some(true) {
            return Ok(true);
        }
        let _waiting = Waiting::new(self);
        let deadline = Instant::now() + self.max_wait;
        loop {
            match tokio::time::timeout_at(deadline, offsets.changed()).await {
                Ok(Ok(())) => match passed(offsets.borrow_and_update().as_ref(), token) {
                    Some(true) => return Ok(true),
                    Some(false) => {}
                    None => return Err(Unreadable),
                },
                // The wait ran out, or the poller is gone (the process is stopping).
                Ok(Err(_)) | Err(_) => return Ok(false),
            }
        }
    }
}

/// The materializer's offsets could not be read (the database is unavailable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable;

/// `None` when the offsets could not be read.
fn passed(offsets: Option<&Arc<HashMap<i32, i64>>>, token: Token) -> Option<bool> {
    offsets.map(|o| {
        o.get(&token.partition)
            .is_some_and(|next| *next >= token.next_offset)
    })
}

/// A read waiting for the poller, for as long as it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(consistency: &'a Consistency) -> Self {
        consistency.waiting.fetch_add(1, Ordering::AcqRel);
        consistency.wake.notify_one();
        Self(&consistency.waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
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

/// The middleware: without the header, reads go straight through. With it, a read of one's own
/// data is authenticated before it waits: a caller without valid credentials is refused at once,
/// never held for the whole wait.
pub async fn wait_for_token(
    State(state): State<QueryState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(raw) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    let public = request
        .uri()
        .path()
        .starts_with(balados_platform::fair_use::ANONYMOUS_PREFIX);
    if !public {
        // Verified (and counted against the caller's budget) once: the handler's extractor
        // takes it from the request.
        match balados_platform::http::authenticate_caller(
            request.headers(),
            state.verifier.as_ref(),
        ) {
            Ok(auth) => {
                request.extensions_mut().insert(auth);
            }
            Err(refused) => return refused.into_response(),
        }
    }
    let Some(token) = raw.to_str().ok().and_then(Token::parse) else {
        return invalid().into_response();
    };
    match state.consistency.reached(token).await {
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
        Err(Unreadable) => {
            ApiError::unavailable("the read model is unavailable; retry later").into_response()
        }
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
