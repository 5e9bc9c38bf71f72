//! Register, log in, log out, the account's home and the password change.

use crate::WebState;
use crate::error::PageError;
use crate::form::{CsrfOnly, Form};
use crate::html::{Page, csrf_field, error, esc, no_store, notice};
use crate::session::{Anonymous, LoggedIn, expired_session_cookie, local_path, session_cookie};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use balados_accounts::{AccountError, Password, PasswordChangeError, Username};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
    #[serde(default)]
    logged_out: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// The log-in or registration page (`register`), with `top` above the form (a notice, an error),
/// and its CSRF cookie set when new.
fn credentials_page(
    state: &WebState,
    anon: &Anonymous,
    (status, register): (StatusCode, bool),
    next: &str,
    top: &str,
) -> Response {
    let (title, action, other) = if register {
        ("Register", "/register", String::new())
    } else {
        let link = format!(
            "<p>No account yet? <a href=\"/register?next={}\">Register</a>.</p>",
            crate::form::encode(next)
        );
        ("Log in", "/login", link)
    };
    let form = credentials_form(action, anon, next, register);
    let page = Page::anonymous(title).render(&format!("{top}{form}{other}"));
    let mut response = no_store((status, page).into_response());
    if let Some(cookie) = anon.set_cookie(state) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn credentials_form(action: &str, anon: &Anonymous, next: &str, new_password: bool) -> String {
    let (complete, user_hint, hint) = if new_password {
        (
            "new-password",
            r#" aria-describedby="user-hint"><p id="user-hint">3 to 30 letters, digits, - or _.</p>"#,
            r#" aria-describedby="pw-hint"><p id="pw-hint">At least 10 characters, not the username; a passphrase of several words is best.</p>"#,
        )
    } else {
        ("current-password", ">", ">")
    };
    format!(
        r#"<form method="post" action="{action}">{csrf}<input type="hidden" name="next" value="{next}">
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" required minlength="3" maxlength="30" pattern="[A-Za-z0-9_\-]+"{user_hint}
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="{complete}" required{hint}
<button type="submit">{label}</button></form>"#,
        csrf = csrf_field(&anon.csrf),
        next = esc(next),
        label = if new_password {
            "Create the account"
        } else {
            "Log in"
        },
    )
}

pub async fn login_page(
    State(state): State<WebState>,
    anon: Anonymous,
    Query(q): Query<Next>,
) -> Response {
    let next = local_path(q.next.as_deref());
    let bye = if q.logged_out.is_some() {
        notice("You are logged out.")
    } else {
        String::new()
    };
    credentials_page(&state, &anon, (StatusCode::OK, false), &next, &bye)
}

/// Logs in: a new session (never one the browser brought along), then where the user was going.
async fn open_session(state: &WebState, user_id: &str, next: &str) -> Result<Response, PageError> {
    let (cookie, _) = state
        .sessions
        .open(user_id, balados_accounts::SessionKind::Web)
        .await?;
    let mut response = Redirect::to(next).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(state, &cookie));
    Ok(response)
}

pub async fn login(
    State(state): State<WebState>,
    anon: Anonymous,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    Anonymous::check(&headers, &form.csrf)?;
    let next = local_path(form.next.as_deref());
    let refused = match state
        .accounts
        .log_in(&form.username, &form.password, chrono::Utc::now())
        .await
    {
        Ok(account) => return open_session(&state, &account.user_id, &next).await,
        Err(AccountError::Locked(until)) => format!(
            "Too many failed log-ins: this account is locked until {} UTC. Each further failure doubles the wait.",
            until.format("%Y-%m-%d %H:%M:%S")
        ),
        Err(AccountError::Disabled) => "This account is disabled.".to_owned(),
        Err(AccountError::Database(e)) => return Err(e.into()),
        Err(_) => "Wrong username or password.".to_owned(),
    };
    let status = (StatusCode::UNAUTHORIZED, false);
    Ok(credentials_page(
        &state,
        &anon,
        status,
        &next,
        &error(&refused),
    ))
}

pub async fn register_page(
    State(state): State<WebState>,
    anon: Anonymous,
    Query(q): Query<Next>,
) -> Response {
    let next = local_path(q.next.as_deref());
    credentials_page(&state, &anon, (StatusCode::OK, true), &next, "")
}

pub async fn register(
    State(state): State<WebState>,
    anon: Anonymous,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    Anonymous::check(&headers, &form.csrf)?;
    let next = local_path(form.next.as_deref());
    let refused = match Username::parse(&form.username) {
        Err(e) => e.to_string(),
        Ok(username) => match Password::choose(&form.password, username.as_str()) {
            Err(e) => e.to_string(),
            Ok(password) => match state.accounts.create(&username, &password, None).await {
                Ok(account) => return open_session(&state, &account.user_id, &next).await,
                Err(AccountError::UsernameTaken) => "This username is taken.".to_owned(),
                Err(AccountError::Database(e)) => return Err(e.into()),
                Err(e) => e.to_string(),
            },
        },
    };
    let status = (StatusCode::UNPROCESSABLE_ENTITY, true);
    Ok(credentials_page(
        &state,
        &anon,
        status,
        &next,
        &error(&refused),
    ))
}

pub async fn logout(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    state.sessions.close(&who.cookie).await?;
    let mut response = Redirect::to("/login?logged_out=1").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, expired_session_cookie(&state));
    Ok(response)
}

pub async fn home(who: LoggedIn) -> Html<String> {
    let body = format!(
        r#"<p>Logged in as <strong>{name}</strong>. Your user id, which apps sign their tokens for: <code>{id}</code></p>
<ul><li><a href="/account/subscriptions">Your subscriptions</a></li><li><a href="/account/listening">Listening history</a></li><li><a href="/account/devices">Your devices</a></li><li><a href="/account/privacy">Privacy of your listening activity</a></li>
<li><a href="/account/apps">Apps you authorized</a></li><li><a href="/account/app-passwords">App passwords</a> (for podcast apps speaking gpodder.net or Nextcloud)</li>
<li><a href="/account/play-tokens">Play tokens</a></li><li><a href="/account/export">Export your data</a></li>
<li><a href="/account/password">Change your password</a></li><li><a href="/account/delete">Delete your account</a></li></ul>"#,
        name = esc(&who.session.username),
        id = esc(&who.session.user_id),
    );
    who.page("Your account").render(&body)
}

fn password_form(who: &LoggedIn) -> String {
    format!(
        r#"<form method="post" action="/account/password">{}
<label for="current">Current password</label><input type="password" id="current" name="current" autocomplete="current-password" required>
<label for="new">New password</label><input type="password" id="new" name="new" autocomplete="new-password" required aria-describedby="pw-hint">
<p id="pw-hint">At least 10 characters, not the username. Your other sessions will be logged out.</p>
<button type="submit">Change the password</button></form>"#,
        csrf_field(&who.session.csrf)
    )
}

pub async fn password_page(who: LoggedIn) -> Html<String> {
    who.page("Change your password")
        .render(&password_form(&who))
}

#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    csrf: String,
    current: String,
    new: String,
}

pub async fn change_password(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(form): Form<PasswordChange>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let user = &who.session.user_id;
    let (status, message) = match state
        .accounts
        .change_password(user, &form.current, &form.new)
        .await
    {
        Ok(()) => {
            let closed = state.sessions.close_others(user, &who.cookie).await?;
            let done = format!("Password changed; {closed} other session(s) logged out.");
            (StatusCode::OK, notice(&done))
        }
        Err(PasswordChangeError::Weak(e)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, error(&e.to_string()))
        }
        Err(PasswordChangeError::Account(AccountError::Database(e))) => return Err(e.into()),
        Err(PasswordChangeError::Account(e)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, error(&e.to_string()))
        }
    };
    let body = format!("{message}{}", password_form(&who));
    Ok((status, who.page("Change your password").render(&body)).into_response())
}
