//! Privacy (changed through the pipeline, like an app's change), and how a page sends a command.

use super::subscriptions::subscriptions_of;
use crate::WebState;
use crate::error::PageError;
use crate::form::Form;
use crate::html::{csrf_field, error, esc, notice};
use crate::session::LoggedIn;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use balados_schemas::{CommandPayload, FeedUrl, Privacy, Scope, UserId};
use serde::Deserialize;
use std::time::Duration;

/// How long a page waits for its command's outcome before saying it is on its way.
const WAIT: Duration = Duration::from_secs(5);

async fn privacy_settings(
    state: &WebState,
    user: &str,
) -> Result<Vec<(String, String, String)>, PageError> {
    Ok(sqlx::query_as(
        "SELECT scope, scope_id, privacy FROM users.user_privacy WHERE user_id = $1 AND scope <> 'item'",
    )
    .bind(user)
    .fetch_all(&state.readers)
    .await?)
}

/// A privacy select; `current` is `None` for a feed without a setting of its own (it follows the
/// global one), which must then be chosen explicitly.
fn choice(name: &str, label: &str, current: Option<&str>) -> String {
    let mut options = String::new();
    if current.is_none() {
        options.push_str(r#"<option value="" selected disabled>not set: as everything</option>"#);
    }
    for p in ["public", "anonymous", "private"] {
        let selected = if Some(p) == current { " selected" } else { "" };
        options.push_str(&format!(r#"<option value="{p}"{selected}>{p}</option>"#));
    }
    format!(
        r#"<label for="{name}">{label}</label><select id="{name}" name="privacy">{options}</select>"#
    )
}

/// The privacy page; `saved` is a change just decided (scope id, privacy), shown even if the read
/// model has not caught up yet.
async fn privacy_page(
    state: &WebState,
    who: &LoggedIn,
    top: &str,
    saved: Option<(&str, &str)>,
) -> Result<Html<String>, PageError> {
    let user = &who.session.user_id;
    let settings = privacy_settings(state, user).await?;
    let of = |scope: &str, id: &str| match saved {
        Some((saved_id, privacy)) if saved_id == id => Some(privacy.to_owned()),
        _ => settings
            .iter()
            .find(|(s, i, _)| s == scope && i == id)
            .map(|(_, _, p)| p.clone()),
    };
    let global = of("global", "").unwrap_or_else(|| "public".to_owned());
    let csrf = csrf_field(&who.session.csrf);
    let mut body = format!(
        r#"{top}<p><strong>public</strong>: your activity appears in public timelines and stats with your user id; <strong>anonymous</strong>: it counts without your id; <strong>private</strong>: it is not published (earlier public events are withdrawn).</p>
<form method="post" action="/account/privacy">{csrf}<input type="hidden" name="feed" value="">{}<button type="submit">Save for everything</button></form><h2>Per feed</h2>"#,
        choice("global", "Everything you do", Some(&global))
    );
    for (n, s) in subscriptions_of(state, user).await?.iter().enumerate() {
        let current = of("feed", &s.feed_id);
        body.push_str(&format!(
            r#"<form method="post" action="/account/privacy">{csrf}<input type="hidden" name="feed" value="{id}">{}<button type="submit" aria-label="Save for {url}">Save</button></form>"#,
            choice(&format!("feed{n}"), &esc(&s.feed_url), current.as_deref()),
            id = esc(&s.feed_id),
            url = esc(&s.feed_url),
        ));
    }
    Ok(who.page("Privacy").render(&body))
}

pub async fn privacy(
    State(state): State<WebState>,
    who: LoggedIn,
) -> Result<Html<String>, PageError> {
    privacy_page(&state, &who, "", None).await
}

#[derive(Debug, Deserialize)]
pub struct PrivacyChange {
    csrf: String,
    #[serde(default)]
    privacy: String,
    #[serde(default)]
    feed: String,
}

/// The pages' commands: app `web`, no device, now.
pub fn web_origin() -> balados_ingest::Origin<'static> {
    balados_ingest::Origin::app("web")
}

/// Sends `payload` for the logged-in user and says how it went, in a sentence. A change decided is
/// "Saved." once the read models show it (bounded by the read API's consistency wait), so that the
/// page rendered next shows it too.
pub async fn through_pipeline(
    state: &WebState,
    who: &LoggedIn,
    payload: CommandPayload,
) -> Result<(StatusCode, String), PageError> {
    let user =
        UserId::parse(&who.session.user_id).map_err(|e| PageError::Invalid(e.to_string()))?;
    state.ingest.pace(&user, 1).await?;
    let outcome = balados_ingest::submit_for_user(&state.ingest, user, web_origin(), payload, WAIT)
        .await
        .map_err(|_| PageError::Unavailable)?;
    Ok(match outcome {
        Some(result) if result.rejection_code.is_some() => (
            StatusCode::UNPROCESSABLE_ENTITY,
            error(result.message.as_deref().unwrap_or("refused")),
        ),
        Some(result) if visible(state, &result).await => (StatusCode::OK, notice("Saved.")),
        Some(_) => (StatusCode::OK, notice("Saved: it will show in a moment.")),
        None => (
            StatusCode::ACCEPTED,
            notice("Accepted: it will show in a moment."),
        ),
    })
}

/// Whether the read models show the events of `result` (true when it produced none).
async fn visible(state: &WebState, result: &balados_schemas::CommandResult) -> bool {
    if result.events_next_offset < 0 {
        return true;
    }
    let Some(consistency) = &state.consistency else {
        return false;
    };
    let token = balados_query_api::consistency::Token {
        partition: result.events_partition,
        next_offset: result.events_next_offset,
    };
    matches!(consistency.reached(token).await, Ok(true))
}

pub async fn change_privacy(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(form): Form<PrivacyChange>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let privacy = Privacy::parse(&form.privacy)
        .ok_or_else(|| PageError::Invalid("privacy must be public, anonymous or private".into()))?;
    let scope = if form.feed.is_empty() {
        Scope::Global
    } else {
        Scope::Feed(
            FeedUrl::from_id(&form.feed).map_err(|e| PageError::Invalid(format!("feed: {e}")))?,
        )
    };
    let (status, top) = through_pipeline(
        &state,
        &who,
        CommandPayload::ChangePrivacy { scope, privacy },
    )
    .await?;
    let saved = (status != StatusCode::UNPROCESSABLE_ENTITY)
        .then_some((form.feed.as_str(), privacy.as_str()));
    let page = privacy_page(&state, &who, &top, saved).await?;
    Ok((status, page).into_response())
}
