//! `GET /authorize?token=…`: an app asks the logged-in user for access. The request is verified
//! (signed by the key it carries, bounded, return URL on the app's own origin) before anything is
//! shown; the user sees who asks for what and approves or refuses; approval stores the app's key
//! and the granted scopes, and sends the user back to the app with their user id.

use crate::WebState;
use crate::error::PageError;
use crate::form::{Form, encode};
use crate::html::{csrf_field, esc, notice};
use crate::session::LoggedIn;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use balados_auth::request::{VerifiedRequest, verify_request};
use balados_auth::{Access, Grant};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct RequestQuery {
    token: Option<String>,
}

fn verified(token: Option<&str>) -> Result<VerifiedRequest, PageError> {
    let token = token.ok_or_else(|| {
        PageError::Invalid("the link has no authorization request (token)".into())
    })?;
    verify_request(token, chrono::Utc::now().timestamp()).map_err(|e| {
        PageError::Invalid(format!(
            "This authorization request is refused ({}): {e}. Ask the app for a new link.",
            e.code()
        ))
    })
}

/// What a grant lets the app do, in words.
pub fn describe(grant: Grant) -> String {
    let access = |a: Access| match a {
        Access::Read => "read",
        Access::Write => "change",
    };
    match grant {
        Grant::Everything => "read and change all your listening data, and sync it in bulk".into(),
        Grant::EveryRead => "read all your listening data".into(),
        Grant::EveryWrite => "change all your listening data".into(),
        Grant::Area(area) => format!("read and change your {}", area.as_str()),
        Grant::Data(area, a) => format!("{} your {}", access(a), area.as_str()),
        Grant::Sync => "sync all your listening data in bulk (reads and changes everything)".into(),
    }
}

pub async fn ask(who: LoggedIn, Query(q): Query<RequestQuery>) -> Result<Response, PageError> {
    let VerifiedRequest { request, scopes } = verified(q.token.as_deref())?;
    let app = &request.app;
    let asks: String = scopes
        .grants()
        .iter()
        .map(|g| format!("<li>{}</li>", esc(&describe(*g))))
        .collect();
    let image = app
        .image
        .as_deref()
        .map(|src| format!(r#"<img src="{}" alt="" width="64" height="64">"#, esc(src)))
        .unwrap_or_default();
    let back = request
        .redirect_uri
        .as_deref()
        .map(|r| format!("<p>You will then return to <code>{}</code>.</p>", esc(r)))
        .unwrap_or_default();
    let body = format!(
        r#"{image}<p><strong>{name}</strong> (<a href="{url}" rel="noopener noreferrer">{url}</a>, app id <code>{id}</code>) asks to:</p><ul>{asks}</ul>{back}
<form method="post" action="/authorize">{csrf}<input type="hidden" name="token" value="{token}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="refuse" class="secondary">Refuse</button></form>
<p>You can revoke it at any time on <a href="/account/apps">your apps</a> page.</p>"#,
        name = esc(&app.name),
        url = esc(&app.url),
        id = esc(&request.iss),
        csrf = csrf_field(&who.session.csrf),
        token = esc(q.token.as_deref().unwrap_or_default()),
    );
    Ok(who.page("Authorize an app").render(&body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    csrf: String,
    token: String,
    decision: String,
}

/// The return URL with the answer appended.
fn back_to(redirect: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let join = if redirect.contains('?') { '&' } else { '?' };
    format!("{redirect}{join}{}", query.join("&"))
}

pub async fn decide(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(form): Form<Decision>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let VerifiedRequest { request, scopes } = verified(Some(&form.token))?;
    let user = &who.session.user_id;
    let approve = form.decision == "approve";
    if approve {
        let app = (
            request.iss.as_str(),
            request.app.name.trim(),
            request.app.public_key.as_str(),
        );
        state
            .authorizations
            .authorize(user, app, &scopes)
            .await
            .map_err(|e| match e {
                balados_accounts::AuthorizationError::Database(e) => PageError::from(e),
                other => PageError::Invalid(other.to_string()),
            })?;
        state.refresh_grants().await;
        tracing::info!(app_id = %request.iss, "app authorized by its user");
    }
    let state_param = request.state.as_deref().unwrap_or_default();
    if let Some(redirect) = &request.redirect_uri {
        let to = if approve {
            back_to(redirect, &[("user_id", user), ("state", state_param)])
        } else {
            back_to(
                redirect,
                &[("error", "access_denied"), ("state", state_param)],
            )
        };
        return Ok(Redirect::to(&to).into_response());
    }
    let body = if approve {
        format!(
            "{}<p>Give the app your user id if it asks: <code>{}</code></p><p><a href=\"/account/apps\">Your apps</a> · <a href=\"/account\">Your account</a></p>",
            notice(&format!("{} is authorized.", request.app.name.trim())),
            esc(user)
        )
    } else {
        format!(
            "{}<p><a href=\"/account\">Your account</a></p>",
            notice("Refused: the app was given nothing.")
        )
    };
    Ok(who.page("Authorize an app").render(&body).into_response())
}
