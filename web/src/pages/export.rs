//! The export: everything the service holds about the user as JSON (the read models, their
//! public events, the account's apps, app passwords and play tokens — names and dates, never a
//! secret), and the subscriptions as OPML (collections as outline groups), which every podcast
//! app imports.

use crate::WebState;
use crate::error::PageError;
use crate::session::LoggedIn;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

pub async fn export_page(who: LoggedIn) -> Html<String> {
    who.page("Export your data").render(
        r#"<p>Everything the service holds about you, as you can take it elsewhere.</p><ul>
<li><a href="/account/export.json" download>All your data (JSON)</a>: account, subscriptions, plays, privacy, devices, playlists, collections, your public activity, apps, app passwords and play tokens (names, never secrets).</li>
<li><a href="/account/export.opml" download>Your subscriptions (OPML)</a>, collections as groups: every podcast app imports it.</li></ul>
<p>Coming from another app? <a href="/account/import">Import its OPML file</a>.</p>"#,
    )
}

/// The per-user read models, each exported whole.
const TABLES: [&str; 8] = [
    "subscriptions",
    "play_statuses",
    "user_privacy",
    "devices",
    "playlists",
    "playlist_items",
    "collections",
    "collection_feeds",
];

fn download(content_type: &'static str, name: &str, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub async fn export_json(
    State(state): State<WebState>,
    who: LoggedIn,
) -> Result<Response, PageError> {
    let user = &who.session.user_id;
    let mut data = serde_json::Map::new();
    data.insert("user_id".into(), user.clone().into());
    data.insert("username".into(), who.session.username.clone().into());
    for table in TABLES {
        // `table` comes from the fixed list above, never from a request.
        let sql = format!(
            "SELECT coalesce(json_agg(to_jsonb(t) - 'user_id' - 'last_sequence'), '[]'::json) FROM users.{table} t WHERE user_id = $1"
        );
        let (rows,): (serde_json::Value,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .fetch_one(&state.readers)
            .await?;
        data.insert(table.into(), rows);
    }
    let (public,): (serde_json::Value,) = sqlx::query_as(
        "SELECT coalesce(json_agg(to_jsonb(e) - 'user_id' - 'bucket' ORDER BY e.occurred_at), '[]'::json)
         FROM users.public_event_refs r JOIN site.public_events e USING (event_id)
         WHERE r.user_id = $1",
    )
    .bind(user)
    .fetch_one(&state.readers)
    .await?;
    data.insert("public_events".into(), public);
    let (accounts,): (serde_json::Value,) = sqlx::query_as(
        "SELECT json_build_object(
           'apps', (SELECT coalesce(json_agg(json_build_object('app_id', app_id, 'name', app_name, 'scopes', scopes, 'authorized_at', authorized_at, 'revoked_at', revoked_at)), '[]') FROM accounts.app_authorizations WHERE user_id = $1),
           'app_passwords', (SELECT coalesce(json_agg(json_build_object('name', name, 'created_at', created_at, 'revoked_at', revoked_at)), '[]') FROM accounts.app_passwords WHERE user_id = $1),
           'play_tokens', (SELECT coalesce(json_agg(json_build_object('name', name, 'created_at', created_at, 'expires_at', expires_at, 'revoked_at', revoked_at)), '[]') FROM accounts.play_tokens WHERE user_id = $1),
           'account', (SELECT json_build_object('created_at', created_at) FROM accounts.users WHERE user_id = $1))",
    )
    .bind(user)
    .fetch_one(state.accounts.pool())
    .await?;
    if let serde_json::Value::Object(more) = accounts {
        data.extend(more);
    }
    let body = serde_json::to_string_pretty(&data).map_err(|_| PageError::Unavailable)?;
    Ok(download("application/json", "balados-export.json", body))
}

pub async fn export_opml(
    State(state): State<WebState>,
    who: LoggedIn,
) -> Result<Response, PageError> {
    let body = balados_platform::opml::export(&state.readers, &who.session.user_id, true).await?;
    Ok(download(
        "text/x-opml; charset=utf-8",
        "balados-subscriptions.opml",
        body,
    ))
}
