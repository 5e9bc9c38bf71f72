//! Admission of verified callers: a token verifier that also counts each caller against its
//! user's and its app's budget, and a middleware that counts anonymous requests against their
//! client address. Writes (the ingest) and authenticated reads (the query API) have separate
//! budgets, so that a client polling its reads never loses its writes.

use super::{Admission, RateLimiter};
use crate::http::ApiError;
use crate::metrics::Metrics;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use balados_auth::{AuthError, Caller, TokenVerifier};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The per-user and per-app limits of one budget (writes or reads).
#[derive(Debug)]
pub struct Budget {
    pub name: &'static str,
    pub users: RateLimiter<String>,
    pub apps: RateLimiter<String>,
}

impl Budget {
    /// Charges `cells` more requests to a caller's user and app at once: a batch of commands
    /// costs what that many single requests would (its authentication paid for one).
    pub fn charge(&self, user: &str, app: &str, cells: u64) -> Result<(), ApiError> {
        for (who, limiter, key) in [("user", &self.users, user), ("app", &self.apps, app)] {
            if let Admission::Limited(wait) = limiter.charge(key.to_owned(), cells) {
                return Err(too_many(who, wait));
            }
        }
        Ok(())
    }

    /// Admits one request of `user` alone, or refuses it (429): the reads of the callers without
    /// a token (gpodder, Nextcloud, the account's pages), which have no app of their own to count.
    /// A refusal is counted in `metrics` as the verifier's are.
    pub fn admit_user(&self, user: &str, metrics: &Metrics) -> Result<(), ApiError> {
        let admission = self.users.check(user.to_owned());
        count(metrics, self.name, "user", admission);
        match admission {
            Admission::Limited(wait) => Err(too_many("user", wait)),
            Admission::Allowed | Admission::Untracked => Ok(()),
        }
    }

    /// Charges `cells` commands to `user` alone, waiting up to `patience` for them to fit. For
    /// the writers without a token: gpodder and Nextcloud clients take a 429 as a failed sync
    /// and try again only at the next one (they are slowed down rather than refused), and neither
    /// they nor the account's pages have an app of their own to charge (the name they share would
    /// let one user's writes refuse another's). A wait beyond `patience` is a 429, counted in
    /// `metrics` (the waits are not).
    pub async fn pace_user(
        &self,
        user: &str,
        cells: u64,
        patience: Duration,
        metrics: &Metrics,
    ) -> Result<(), ApiError> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let admission = self.users.charge(user.to_owned(), cells);
            match admission {
                Admission::Limited(wait) if tokio::time::Instant::now() + wait <= deadline => {
                    tokio::time::sleep(wait).await;
                }
                Admission::Limited(wait) => {
                    count(metrics, self.name, "user", admission);
                    return Err(too_many("user", wait));
                }
                Admission::Allowed | Admission::Untracked => {
                    count(metrics, self.name, "user", admission);
                    return Ok(());
                }
            }
        }
    }
}

/// Verifies with `inner`, then admits the caller within `budget`.
#[derive(Debug)]
pub struct LimitedVerifier {
    inner: Arc<dyn TokenVerifier>,
    budget: Arc<Budget>,
    metrics: Metrics,
}

impl LimitedVerifier {
    pub fn new(inner: Arc<dyn TokenVerifier>, budget: Arc<Budget>, metrics: Metrics) -> Self {
        Self {
            inner,
            budget,
            metrics,
        }
    }
}

impl TokenVerifier for LimitedVerifier {
    fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let caller = self.inner.verify(token)?;
        let checks = [
            ("user", &self.budget.users, &caller.user_id),
            ("app", &self.budget.apps, &caller.app_id),
        ];
        for (who, limiter, key) in checks {
            let admission = limiter.check(key.clone());
            count(&self.metrics, self.budget.name, who, admission);
            if let Admission::Limited(wait) = admission {
                return Err(AuthError::RateLimited {
                    who,
                    retry_after_secs: seconds(wait),
                });
            }
        }
        Ok(caller)
    }
}

/// The 429 of a caller (`user` or `app`) who must wait `wait`.
fn too_many(who: &str, wait: Duration) -> ApiError {
    ApiError::rate_limited(format!("too many requests for this {who}"), seconds(wait))
}

/// `Retry-After` is in whole seconds: rounded up, at least 1.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

fn count(metrics: &Metrics, budget: &str, by: &str, admission: Admission) {
    let outcome = match admission {
        Admission::Allowed => return,
        Admission::Limited(_) => "limited",
        Admission::Untracked => "untracked",
    };
    metrics.add(
        "balados_rate_limit_total",
        "Requests refused (limited) or admitted without a count (untracked: table of keys full).",
        &[("budget", budget), ("by", by), ("outcome", outcome)],
        1.0,
    );
}

/// The key of a client address: an IPv6 client holds a whole /64 (one address per request would
/// otherwise make a new key each time, and fill the table).
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
        v4 => v4,
    }
}

/// The routes that need no credentials and are counted per client address.
pub const ANONYMOUS_PREFIX: &str = "/api/v1/public/";

/// The routes counted per client address when posted, under the log-ins' limit: the forms that
/// check an account password (an Argon2 hash each; a password change, two), and the start of a
/// Nextcloud login flow (a row each until it expires).
pub const LOGIN_ROUTES: [&str; 5] = [
    "/login",
    "/register",
    "/account/password",
    "/account/delete",
    "/index.php/login/v2",
];

/// The per-address limits of anonymous routes and of log-ins, and the metrics they count in.
#[derive(Debug, Clone)]
pub struct AddressLimit {
    pub limiter: Arc<RateLimiter<IpAddr>>,
    pub logins: Arc<RateLimiter<IpAddr>>,
    pub metrics: Metrics,
}

/// Middleware: a request to an anonymous route is counted against its client's address (the
/// peer of the connection: behind a proxy, the proxy's, so the proxy should limit instead).
pub async fn limit_by_address(
    State(limit): State<AddressLimit>,
    request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let anonymous = path.is_some_and(|p| p.starts_with(ANONYMOUS_PREFIX));
    let login = request.method() == axum::http::Method::POST
        && path.is_some_and(|p| LOGIN_ROUTES.contains(&p));
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client(c.0.ip()));
    let limited = match (anonymous, login, peer) {
        (true, _, Some(ip)) => Some((&limit.limiter, "anonymous", ip)),
        (_, true, Some(ip)) => Some((&limit.logins, "logins", ip)),
        _ => None,
    };
    if let Some((limiter, budget, ip)) = limited {
        let admission = limiter.check(ip);
        count(&limit.metrics, budget, "address", admission);
        if let Admission::Limited(wait) = admission {
            return ApiError::rate_limited("too many requests from this address", seconds(wait))
                .into_response();
        }
    }
    next.run(request).await
}
