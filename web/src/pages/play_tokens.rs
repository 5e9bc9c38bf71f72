//! Play tokens: for the play gateway's media links and the private feed, where a player cannot
//! sign a request.
//! Created with a lifetime (shown once), listed with their expiry, revoked.

use crate::WebState;
use crate::error::PageError;
use crate::form::{CsrfOnly, Form};
use crate::html::{csrf_field, esc, no_store, shown_once};
use crate::session::LoggedIn;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use balados_accounts::{DEFAULT_PLAY_TOKEN_DAYS, MAX_PLAY_TOKEN_DAYS, PlayTokenError};
use serde::Deserialize;

fn page_error(e: PlayTokenError) -> PageError {
    match e {
        PlayTokenError::NotFound => PageError::NotFound,
        PlayTokenError::Database(e) => e.into(),
        other => PageError::Invalid(other.to_string()),
    }
}

async fn render(state: &WebState, who: &LoggedIn, top: &str) -> Result<Html<String>, PageError> {
    let now = chrono::Utc::now();
    let rows: String = state
        .play_tokens
        .list(&who.session.user_id)
        .await
        .map_err(page_error)?
        .iter()
        .filter(|t| t.revoked_at.is_none())
        .map(|t| {
            let expiry = if t.expires_at <= now { "Expired on " } else { "Expires on " };
            format!(
                r#"<li><strong>{name}</strong><br>{expiry}{at}<form method="post" action="/account/play-tokens/{id}/revoke">{csrf}<button type="submit" class="danger" aria-label="Revoke {name}">Revoke</button></form></li>"#,
                name = esc(&t.name),
                at = t.expires_at.format("%Y-%m-%d"),
                id = t.id,
                csrf = csrf_field(&who.session.csrf),
            )
        })
        .collect();
    let body = format!(
        r#"{top}<p>A play token lets a podcast app or an RSS reader that does not sync record your plays without your password. Give it your private feed, <code>/rss/TOKEN/subscriptions</code> on this server: the newest episodes of your subscriptions, and playing one records the listen. Or use a media link <code>/play/TOKEN/FEED_ID/EPISODE_ID</code> on this server (the ids are base64url of the feed's address, and of the episode's GUID, a comma and its media address) plays the episode and records the listen, keeping the position your apps saved. Each token is shown once and stops working when it expires or is revoked.</p>
<form method="post" action="/account/play-tokens">{csrf}<label for="name">Name (where you will use it)</label><input type="text" id="name" name="name" required maxlength="100">
<label for="days">Valid for (days, 1 to {MAX_PLAY_TOKEN_DAYS})</label><input type="text" inputmode="numeric" id="days" name="days" value="{DEFAULT_PLAY_TOKEN_DAYS}" pattern="[0-9]+" required>
<button type="submit">Create a play token</button></form>
<h2>Your play tokens</h2><ul class="items">{rows}</ul>"#,
        csrf = csrf_field(&who.session.csrf),
    );
    Ok(who.page("Play tokens").render(&body))
}

pub async fn list(State(state): State<WebState>, who: LoggedIn) -> Result<Html<String>, PageError> {
    render(&state, &who, "").await
}

#[derive(Debug, Deserialize)]
pub struct Creation {
    csrf: String,
    name: String,
    days: String,
}

pub async fn create(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(form): Form<Creation>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let days = form.days.trim().parse().map_err(|_| {
        PageError::Invalid(format!(
            "a play token lives 1 to {MAX_PLAY_TOKEN_DAYS} days"
        ))
    })?;
    let (record, token) = state
        .play_tokens
        .create(&who.session.user_id, &form.name, days)
        .await
        .map_err(page_error)?;
    let created = format!(
        "Play token “{}” created, valid until {}.",
        record.name,
        record.expires_at.format("%Y-%m-%d")
    );
    let feed = format!(
        "{}/rss/{token}/subscriptions",
        state.public_url.trim_end_matches('/')
    );
    let top = format!(
        r#"{}<p>Your private feed, to give to a podcast app that does not sync:</p><p><output class="secret" aria-label="Your private feed">{}</output></p>"#,
        shown_once(&created, &token, "The new play token"),
        esc(&feed)
    );
    let page = render(&state, &who, &top).await?;
    Ok(no_store(page.into_response()))
}

pub async fn revoke(
    State(state): State<WebState>,
    who: LoggedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    state
        .play_tokens
        .revoke(&who.session.user_id, id)
        .await
        .map_err(page_error)?;
    Ok(Redirect::to("/account/play-tokens").into_response())
}
