//! The apps a user authorized (revoke), and their app passwords (create — shown once — and
//! revoke).

use crate::WebState;
use crate::error::PageError;
use crate::form::{CsrfOnly, Form};
use crate::html::{csrf_field, esc, no_store, shown_once};
use crate::session::LoggedIn;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use balados_accounts::{AppPasswordError, AuthorizationError};
use serde::Deserialize;

fn unavailable_apps(e: AuthorizationError) -> PageError {
    match e {
        AuthorizationError::NotFound => PageError::NotFound,
        AuthorizationError::Database(e) => e.into(),
        other => PageError::Invalid(other.to_string()),
    }
}

pub async fn apps(State(state): State<WebState>, who: LoggedIn) -> Result<Html<String>, PageError> {
    let apps = state
        .authorizations
        .list(&who.session.user_id)
        .await
        .map_err(unavailable_apps)?;
    let rows: String = apps
        .iter()
        .map(|a| {
            format!(
                r#"<li><strong>{name}</strong> (<code>{id}</code>)<br>Scopes: {scopes}<br>Authorized on {at}<form method="post" action="/account/apps/{path}/revoke">{csrf}<button type="submit" class="danger" aria-label="Revoke {name}">Revoke</button></form></li>"#,
                name = esc(&a.app_name),
                id = esc(&a.app_id),
                path = crate::form::encode(&a.app_id),
                scopes = esc(&a.scopes),
                at = a.authorized_at.format("%Y-%m-%d"),
                csrf = csrf_field(&who.session.csrf),
            )
        })
        .collect();
    let body = if apps.is_empty() {
        "<p>No app is authorized. An app asks for access by sending you to an authorization link.</p>".to_owned()
    } else {
        format!(
            "<p>A revoked app is refused at once, on every server.</p><h2>Authorized apps</h2><ul class=\"items\">{rows}</ul>"
        )
    };
    Ok(who.page("Your apps").render(&body))
}

pub async fn revoke_app(
    State(state): State<WebState>,
    who: LoggedIn,
    Path(app_id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    state
        .authorizations
        .revoke(&who.session.user_id, &app_id)
        .await
        .map_err(unavailable_apps)?;
    state.refresh_grants().await;
    Ok(Redirect::to("/account/apps").into_response())
}

fn app_password_error(e: AppPasswordError) -> PageError {
    match e {
        AppPasswordError::NotFound => PageError::NotFound,
        AppPasswordError::Database(e) => e.into(),
        other => PageError::Invalid(other.to_string()),
    }
}

async fn app_passwords_page(
    state: &WebState,
    who: &LoggedIn,
    top: &str,
) -> Result<Html<String>, PageError> {
    let list = state
        .app_passwords
        .list(&who.session.user_id)
        .await
        .map_err(app_password_error)?;
    let rows: String = list
        .iter()
        .filter(|p| p.revoked_at.is_none())
        .map(|p| {
            format!(
                r#"<li><strong>{name}</strong><br>Created on {at}<form method="post" action="/account/app-passwords/{id}/revoke">{csrf}<button type="submit" class="danger" aria-label="Revoke {name}">Revoke</button></form></li>"#,
                name = esc(&p.name),
                at = p.created_at.format("%Y-%m-%d"),
                id = p.id,
                csrf = csrf_field(&who.session.csrf),
            )
        })
        .collect();
    let body = format!(
        r#"{top}<p>Podcast apps that speak the gpodder.net or Nextcloud protocols (AntennaPod, gPodder, Kasts…) log in with your username and an app password — never your account password. Each is shown once; revoke one to cut its app off.</p>
<form method="post" action="/account/app-passwords">{csrf}<label for="name">Name (the app or device it is for)</label><input type="text" id="name" name="name" required maxlength="100"><button type="submit">Create an app password</button></form>
<h2>Your app passwords</h2><ul class="items">{rows}</ul>"#,
        csrf = csrf_field(&who.session.csrf),
    );
    Ok(who.page("App passwords").render(&body))
}

pub async fn app_passwords(
    State(state): State<WebState>,
    who: LoggedIn,
) -> Result<Html<String>, PageError> {
    app_passwords_page(&state, &who, "").await
}

#[derive(Debug, Deserialize)]
pub struct Named {
    csrf: String,
    name: String,
}

pub async fn create_app_password(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(form): Form<Named>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let (record, secret) = state
        .app_passwords
        .create(&who.session.user_id, &form.name)
        .await
        .map_err(app_password_error)?;
    let created = format!("App password “{}” created.", record.name);
    let top = shown_once(&created, &secret, "The new app password");
    let page = app_passwords_page(&state, &who, &top).await?;
    Ok(no_store(page.into_response()))
}

pub async fn revoke_app_password(
    State(state): State<WebState>,
    who: LoggedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    state
        .app_passwords
        .revoke(&who.session.user_id, id)
        .await
        .map_err(app_password_error)?;
    Ok(Redirect::to("/account/app-passwords").into_response())
}
