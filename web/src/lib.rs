//! The account's web pages and the apps API. Pages are rendered on the server (no script), each
//! form carries a CSRF token, and every change to the user's listening data (privacy, deletion)
//! goes through the pipeline as a command, like an app's.

mod api;
mod error;
pub mod feeds;
mod form;
mod gateway;
mod html;
mod pages;
mod session;

pub use session::{CSRF_COOKIE, SESSION_COOKIE};

use balados_accounts::{Accounts, AppPasswords, Authorizations, LoginFlows, PlayTokens, Sessions};
use balados_auth::TokenVerifier;
use balados_platform::http::Verifies;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct WebState {
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub authorizations: Authorizations,
    pub app_passwords: AppPasswords,
    pub play_tokens: PlayTokens,
    /// Nextcloud's Login Flow v2: the page where a user grants an app's log-in.
    pub login_flows: LoginFlows,
    /// For the apps API (a token of any of the user's apps may list and revoke them).
    pub verifier: Arc<dyn TokenVerifier>,
    /// Cookies marked Secure: the server is reached over TLS (setting http.public_url).
    pub secure_cookies: bool,
    /// Where the pages send the user's commands (privacy, deletion).
    pub ingest: balados_ingest::IngestState,
    /// The read models (subscriptions, privacy, export).
    pub readers: sqlx::PgPool,
    /// This instance's copy of the authorizations, refreshed at once after an approval or a
    /// revocation (the others follow within a second).
    pub grants: Option<Arc<balados_accounts::GrantCache>>,
    /// The read models' progress: a page that changed something shows it only once they have it.
    pub consistency: Option<balados_query_api::Consistency>,
    /// The users' reads budget (fair use), which every page a logged-in user opens counts in.
    pub reads: Option<Arc<balados_platform::fair_use::Budget>>,
    /// Where users reach the server (setting http.public_url): the private feeds' links are
    /// absolute.
    pub public_url: String,
    /// What fetches the podcasts' feeds for the private feeds (none: they are not served).
    pub feeds: Option<Arc<feeds::fetch::Fetcher>>,
}

impl WebState {
    pub fn new(
        accounts_pool: sqlx::PgPool,
        readers: sqlx::PgPool,
        ingest: balados_ingest::IngestState,
        secure_cookies: bool,
    ) -> Self {
        Self {
            accounts: Accounts::new(accounts_pool.clone()),
            sessions: Sessions::new(accounts_pool.clone()),
            authorizations: Authorizations::new(accounts_pool.clone()),
            app_passwords: AppPasswords::new(accounts_pool.clone()),
            login_flows: LoginFlows::new(accounts_pool.clone()),
            play_tokens: PlayTokens::new(accounts_pool),
            verifier: ingest.verifier.clone(),
            secure_cookies,
            ingest,
            readers,
            grants: None,
            consistency: None,
            reads: None,
            public_url: String::new(),
            feeds: None,
        }
    }

    /// Brings this instance's authorizations up to date (after the pages or the API changed one).
    pub(crate) async fn refresh_grants(&self) {
        if let Some(grants) = &self.grants
            && let Err(e) = grants.refresh(self.accounts.pool()).await
        {
            tracing::warn!(error = %e, "cannot refresh app authorizations (the periodic refresh will)");
        }
    }
}

impl Verifies for WebState {
    fn verifier(&self) -> &dyn TokenVerifier {
        self.verifier.as_ref()
    }
}

/// The pages, the apps API and the play gateway.
pub fn router(state: WebState) -> axum::Router {
    pages::router()
        .merge(api::router())
        .route(
            "/play/{token}/{feed}/{item}",
            axum::routing::get(gateway::play),
        )
        .route(
            "/rss/{token}/subscriptions",
            axum::routing::get(feeds::subscriptions),
        )
        .route(
            "/rss/{token}/collections/{id}",
            axum::routing::get(feeds::collection),
        )
        .route(
            "/rss/{token}/playlists/{id}",
            axum::routing::get(feeds::playlist),
        )
        .with_state(state)
}
