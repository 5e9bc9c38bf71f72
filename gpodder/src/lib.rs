//! The gpodder.net API v2 as existing podcast apps use it (mygpoclient and gPodder desktop,
//! AntennaPod): authentication by app password or session cookie, devices, subscriptions per
//! device and the simple API. Writes are commands through the pipeline, answered after their
//! decision; `since`/`timestamp` are server-side positions (see `docs/gpodder.md`).

/// The condition of a subscription row that is active: subscribed, and not unsubscribed since
/// (a tie keeps it). A macro, for `concat!` into the static text of a query.
macro_rules! active {
    () => {
        "subscribed_at IS NOT NULL AND (unsubscribed_at IS NULL OR unsubscribed_at <= subscribed_at)"
    };
}

mod auth;
mod body;
mod devices;
mod episodes;
mod error;
mod favorites;
mod formats;
mod login_flow;
mod nextcloud;
mod pipeline;
mod settings;
mod simple;
mod subscriptions;
mod sync_devices;
pub mod time;
mod toplist;
mod updates;
pub mod urls;

pub use auth::SESSION_COOKIE;
pub use body::MAX_DECOMPRESSED_BYTES;
pub use error::REALM;
pub use nextcloud::DEVICE as NEXTCLOUD_DEVICE;

use axum::Router;
use axum::routing::{get, post};
use balados_accounts::LoginFlows;
use balados_accounts::{AppPasswords, Sessions};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct GpodderState {
    pub app_passwords: AppPasswords,
    /// The accounts' sessions, opened by a log-in (their CSRF token is unused here).
    pub sessions: Sessions,
    /// Where the commands go, as app `gpodder`.
    pub ingest: balados_ingest::IngestState,
    /// The read models.
    pub readers: sqlx::PgPool,
    /// The materializer's progress, to answer an upload once its effects are readable.
    pub consistency: balados_query_api::Consistency,
    /// Cookies marked Secure: the server is reached over TLS (setting http.public_url).
    pub secure_cookies: bool,
    /// Nextcloud's Login Flow v2: the flows apps start and users grant.
    pub login_flows: LoginFlows,
    /// Where users reach the server (setting http.public_url): Login Flow v2's URLs are absolute.
    pub public_url: String,
    /// The users' reads budget (fair use), which every read of an authenticated caller counts in.
    pub reads: Option<Arc<balados_platform::fair_use::Budget>>,
}

impl GpodderState {
    pub fn new(
        accounts_pool: sqlx::PgPool,
        readers: sqlx::PgPool,
        ingest: balados_ingest::IngestState,
        consistency: balados_query_api::Consistency,
        secure_cookies: bool,
    ) -> Self {
        Self {
            app_passwords: AppPasswords::new(accounts_pool.clone()),
            login_flows: LoginFlows::new(accounts_pool.clone()),
            sessions: Sessions::new(accounts_pool),
            ingest,
            readers,
            consistency,
            secure_cookies,
            public_url: String::new(),
            reads: None,
        }
    }
}

impl GpodderState {
    /// The server's public URL (setting http.public_url), for Login Flow v2.
    pub fn with_public_url(mut self, public_url: &str) -> Self {
        self.public_url = public_url.trim_end_matches('/').to_owned();
        self
    }

    /// Counts every authenticated read in `reads`, per user.
    pub fn with_reads(mut self, reads: Arc<balados_platform::fair_use::Budget>) -> Self {
        self.reads = Some(reads);
        self
    }
}

/// The gpodder routes. Paths end in `.json`/`.opml`/`.txt` after a captured name, which the
/// router cannot split: each route takes the whole last segment and splits it itself.
pub fn router(state: GpodderState) -> Router {
    let authenticated = Router::new()
        .route("/api/2/devices/{file}", get(devices::list))
        .route(
            "/api/2/devices/{username}/{file}",
            post(devices::upsert).put(devices::upsert),
        )
        .route(
            "/api/2/subscriptions/{username}/{file}",
            get(subscriptions::changes).post(subscriptions::upload),
        )
        .route(
            "/api/2/episodes/{file}",
            get(episodes::download).post(episodes::upload),
        )
        .route("/subscriptions/{file}", get(simple::all))
        .route(
            "/subscriptions/{username}/{file}",
            get(simple::of_device).put(simple::replace),
        )
        .route("/api/2/updates/{username}/{file}", get(updates::updates))
        .route(
            "/api/2/sync-devices/{file}",
            get(sync_devices::get).post(sync_devices::post),
        )
        .route(
            "/api/2/settings/{username}/{file}",
            get(settings::get).post(settings::post),
        )
        .route("/api/2/favorites/{file}", get(favorites::list))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .route(
            "/api/2/auth/{username}/{action}",
            post(auth::login_or_logout),
        )
        .route("/toplist/{file}", get(toplist::toplist))
        .route("/index.php/login/v2", post(login_flow::start))
        .route("/index.php/login/v2/poll", post(login_flow::poll))
        .merge(nextcloud::router(&state))
        .merge(authenticated)
        .with_state(state)
}
