//! The user's subscriptions: listed from the read model, added and removed through the pipeline
//! like an app's (the page after a change shows it: `through_pipeline` waits for the read models).

use super::data::through_pipeline;
use crate::WebState;
use crate::error::PageError;
use crate::form::Form;
use crate::html::{csrf_field, error, esc};
use crate::session::LoggedIn;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use balados_schemas::ids::MAX_FEED_URL_LEN;
use balados_schemas::{CommandPayload, FeedUrl};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(sqlx::FromRow)]
pub(super) struct Subscription {
    pub feed_id: String,
    pub feed_url: String,
    pub subscribed_at: DateTime<Utc>,
}

pub(super) async fn subscriptions_of(
    state: &WebState,
    user: &str,
) -> Result<Vec<Subscription>, PageError> {
    Ok(sqlx::query_as::<_, Subscription>(
        "SELECT feed_id, feed_url, subscribed_at FROM users.subscriptions
         WHERE user_id = $1 AND subscribed_at IS NOT NULL
           AND (unsubscribed_at IS NULL OR unsubscribed_at <= subscribed_at)
         ORDER BY feed_url",
    )
    .bind(user)
    .fetch_all(&state.readers)
    .await?)
}

/// The page, with `top` above it (how the last change went) and `typed` in the field (an address
/// refused, to correct).
async fn page(
    state: &WebState,
    who: &LoggedIn,
    top: &str,
    typed: &str,
) -> Result<Html<String>, PageError> {
    let subscriptions = subscriptions_of(state, &who.session.user_id).await?;
    let csrf = csrf_field(&who.session.csrf);
    let typed = esc(typed);
    let mut body = format!(
        r#"{top}<form method="post" action="/account/subscriptions">{csrf}<label for="url">Subscribe to a feed (its RSS or Atom address)</label><input type="url" id="url" name="url" required maxlength="{MAX_FEED_URL_LEN}" placeholder="https://example.com/feed.xml" value="{typed}"><button type="submit">Subscribe</button></form>"#
    );
    if subscriptions.is_empty() {
        body.push_str("<p>No subscriptions yet: add one above, or subscribe in your podcast app and they appear here.</p>");
        return Ok(who.page("Your subscriptions").render(&body));
    }
    let count = match subscriptions.len() {
        1 => "1 feed.".to_owned(),
        n => format!("{n} feeds."),
    };
    body.push_str(&format!(r#"<p>{count}</p><ul class="items">"#));
    for s in &subscriptions {
        body.push_str(&format!(
            r#"<li><code>{url}</code><br>since {since}<form method="post" action="/account/subscriptions/remove">{csrf}<input type="hidden" name="feed" value="{id}"><button class="secondary" type="submit" aria-label="Unsubscribe from {url}">Unsubscribe</button></form></li>"#,
            url = esc(&s.feed_url),
            since = s.subscribed_at.format("%Y-%m-%d"),
            id = esc(&s.feed_id),
        ));
    }
    body.push_str("</ul>");
    Ok(who.page("Your subscriptions").render(&body))
}

pub async fn list(State(state): State<WebState>, who: LoggedIn) -> Result<Html<String>, PageError> {
    page(&state, &who, "", "").await
}

#[derive(Debug, Deserialize)]
pub struct Subscribe {
    csrf: String,
    #[serde(default)]
    url: String,
}

pub async fn subscribe(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(form): Form<Subscribe>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    match FeedUrl::parse(&form.url) {
        Ok(feed) => {
            changed(
                &state,
                &who,
                CommandPayload::Subscribe {
                    feed,
                    source_id: None,
                },
            )
            .await
        }
        // The page again, with what was wrong above the field to correct.
        Err(e) => {
            let top = error(&format!("This address cannot be subscribed to: {e}."));
            let page = page(&state, &who, &top, &form.url).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Unsubscribe {
    csrf: String,
    #[serde(default)]
    feed: String,
}

pub async fn unsubscribe(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(form): Form<Unsubscribe>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let feed =
        FeedUrl::from_id(&form.feed).map_err(|e| PageError::Invalid(format!("feed: {e}")))?;
    changed(&state, &who, CommandPayload::Unsubscribe { feed }).await
}

/// Sends the change and answers with the page as it is then, the outcome above it.
async fn changed(
    state: &WebState,
    who: &LoggedIn,
    payload: CommandPayload,
) -> Result<Response, PageError> {
    let (status, top) = through_pipeline(state, who, payload).await?;
    Ok((status, page(state, who, &top, "").await?).into_response())
}
