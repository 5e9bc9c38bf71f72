//! The pages, and the headers every one of them carries.

mod account;
mod apps;
mod authorize;
mod data;
mod delete;
mod export;
mod import;
mod listening;
mod login_flow;
mod play_tokens;
mod subscriptions;

use crate::WebState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Redirect;
use axum::routing::{get, post};

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/account") }))
        .route("/login", get(account::login_page).post(account::login))
        .route(
            "/register",
            get(account::register_page).post(account::register),
        )
        .route("/logout", post(account::logout))
        .route("/account", get(account::home))
        .route(
            "/account/password",
            get(account::password_page).post(account::change_password),
        )
        .route("/authorize", get(authorize::ask).post(authorize::decide))
        .route(
            "/login/v2/flow/{id}",
            get(login_flow::ask).post(login_flow::decide),
        )
        .route("/account/apps", get(apps::apps))
        .route("/account/apps/{id}/revoke", post(apps::revoke_app))
        .route(
            "/account/app-passwords",
            get(apps::app_passwords).post(apps::create_app_password),
        )
        .route(
            "/account/app-passwords/{id}/revoke",
            post(apps::revoke_app_password),
        )
        .route(
            "/account/play-tokens",
            get(play_tokens::list).post(play_tokens::create),
        )
        .route(
            "/account/play-tokens/{id}/revoke",
            post(play_tokens::revoke),
        )
        .route(
            "/account/subscriptions",
            get(subscriptions::list).post(subscriptions::subscribe),
        )
        .route(
            "/account/subscriptions/remove",
            post(subscriptions::unsubscribe),
        )
        .route("/account/listening", get(listening::history))
        .route("/account/devices", get(listening::devices))
        .route(
            "/account/privacy",
            get(data::privacy).post(data::change_privacy),
        )
        .route("/account/delete", get(delete::page).post(delete::delete))
        .route("/account/export", get(export::export_page))
        .route("/account/export.json", get(export::export_json))
        .route("/account/export.opml", get(export::export_opml))
        .route("/account/import", get(import::page).post(import::upload))
        .layer(axum::middleware::map_response(protect))
}

/// No page may be framed (clickjacking of the Approve button), run another origin's scripts, or
/// be kept by a shared cache.
async fn protect(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src https:; form-action 'self' https: http://127.0.0.1:* http://localhost:*; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-cache"));
    response
}
