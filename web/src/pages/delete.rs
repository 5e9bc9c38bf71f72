//! Deleting the account: confirmed with the password; the apps, app passwords and play tokens are
//! withdrawn, then the user's data is deleted through the pipeline (a `DeleteAccount` command:
//! read models, state records, public events withdrawn), then the account itself is erased.

use crate::WebState;
use crate::error::PageError;
use crate::form::Form;
use crate::html::{Page, csrf_field, error, notice};
use crate::session::{LoggedIn, expired_session_cookie};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use balados_accounts::AccountError;
use balados_schemas::{CommandPayload, UserId};
use serde::Deserialize;
use std::time::Duration;

fn form(who: &LoggedIn) -> String {
    format!(
        r#"<p>This deletes your subscriptions, plays, playlists, collections, privacy settings and devices, withdraws your public activity from the public timeline and statistics, revokes every app, app password and play token, and logs you out everywhere. It cannot be undone: <a href="/account/export">export your data</a> first if you want to keep it.</p>
<form method="post" action="/account/delete">{}
<label for="confirm">Type your username to confirm</label><input type="text" id="confirm" name="confirm" autocomplete="off" required>
<label for="password">Your password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" class="danger">Delete my account and my data</button></form>"#,
        csrf_field(&who.session.csrf)
    )
}

pub async fn page(who: LoggedIn) -> Html<String> {
    who.page("Delete your account").render(&form(&who))
}

#[derive(Debug, Deserialize)]
pub struct Confirmation {
    csrf: String,
    confirm: String,
    password: String,
}

pub async fn delete(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(confirmation): Form<Confirmation>,
) -> Result<Response, PageError> {
    who.check(&confirmation.csrf)?;
    let session = &who.session;
    let refuse = |message: &str| {
        let body = format!("{}{}", error(message), form(&who));
        Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            who.page("Delete your account").render(&body),
        )
            .into_response())
    };
    if !confirmation
        .confirm
        .trim()
        .eq_ignore_ascii_case(&session.username)
    {
        return refuse("The username typed is not yours: nothing was deleted.");
    }
    match state
        .accounts
        .log_in(
            &session.username,
            &confirmation.password,
            chrono::Utc::now(),
        )
        .await
    {
        Ok(_) => {}
        Err(AccountError::Database(e)) => return Err(e.into()),
        Err(e) => return refuse(&format!("{e}: nothing was deleted.")),
    }
    let user = UserId::parse(&session.user_id).map_err(|e| PageError::Invalid(e.to_string()))?;
    let failed = |e: AccountError| match e {
        AccountError::Database(e) => PageError::from(e),
        _ => PageError::Unavailable,
    };
    // Apps first: once every instance has dropped their grants (within two refreshes), no app can
    // write for the user behind the deletion — what came before it is in the log ahead of it, and
    // is deleted with the rest.
    state
        .accounts
        .revoke_credentials(&session.user_id)
        .await
        .map_err(failed)?;
    state.refresh_grants().await;
    tokio::time::sleep(balados_accounts::REFRESH * 2 + Duration::from_millis(100)).await;
    // Once the broker has the command the deletion stands (it is decided even if the outcome is
    // late); if it could not be stored, the account stays (its apps revoked) and the user may
    // try again. Not paced by the writes budget: leaving is never refused for having written
    // too much.
    let decided = balados_ingest::submit_for_user(
        &state.ingest,
        user,
        balados_ingest::Origin::app("web"),
        CommandPayload::DeleteAccount {},
        Duration::from_secs(10),
    )
    .await
    .map_err(|_| PageError::Unavailable)?;
    state
        .accounts
        .erase(&session.user_id)
        .await
        .map_err(failed)?;
    tracing::info!("an account was deleted by its user");
    let said = if decided.is_some() {
        "Your account and your data are deleted."
    } else {
        "Your account is deleted; your data is being deleted and will be gone in a moment."
    };
    let page = Page::anonymous("Account deleted").render(&format!(
        "{}<p><a href=\"/register\">Register again</a></p>",
        notice(said)
    ));
    let mut response = page.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, expired_session_cookie(&state));
    Ok(response)
}
