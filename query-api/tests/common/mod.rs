//! What the in-process router tests share: the router over a closed pool, so that every query
//! fails at once, as with a database that is down (a request past the checks answers 503).

use balados_auth::TokenVerifier;
use balados_platform::metrics::Metrics;
use balados_query_api::{Consistency, PublicCache, QueryState, public_cache, router};
use std::sync::Arc;
use std::time::Duration;

pub async fn closed_database_router(
    verifier: Arc<dyn TokenVerifier>,
    cache: public_cache::Limits,
    metrics: &Metrics,
) -> axum::Router {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_lazy("postgres://nobody@127.0.0.1:9/none")
        .expect("a valid URL");
    pool.close().await;
    let consistency = Consistency::start(
        pool.clone(),
        "materializer".to_owned(),
        "events".to_owned(),
        Duration::from_millis(10),
    );
    router(QueryState {
        pool,
        verifier,
        consistency,
        public_cache: PublicCache::new(cache, metrics),
    })
}
