//! `GET|POST /login/v2/flow/{id}`: the page a Nextcloud client (AntennaPod) opens in the
//! browser during Login Flow v2. The user logs in if needed (the usual redirect), sees which app
//! asks to sync as whom, and grants or cancels with a CSRF-protected form. Granting hands the
//! app, at its next poll, a new app password named after it (revocable on the app passwords
//! page); nothing is shown to the user that the app could not ask for itself.
//!
//! Anyone can start a flow and send someone its link, so the page says to grant only a log-in
//! just started in one's own app, and shows from which address the flow was started.

use crate::WebState;
use crate::error::PageError;
use crate::form::Form;
use crate::html::{csrf_field, esc, notice};
use crate::session::LoggedIn;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use balados_accounts::{LoginFlowError, PendingFlow};
use serde::Deserialize;

const TITLE: &str = "Connect an app";

fn flow_error(e: LoginFlowError) -> PageError {
    match e {
        LoginFlowError::NotFound => gone(),
        LoginFlowError::Database(e) => e.into(),
        _ => PageError::Unavailable,
    }
}

fn gone() -> PageError {
    PageError::Invalid(
        "This log-in link has expired, was already used, or was cancelled: start again from the app."
            .into(),
    )
}

async fn pending(state: &WebState, id: &str) -> Result<PendingFlow, PageError> {
    state
        .login_flows
        .pending(id)
        .await
        .map_err(flow_error)?
        .ok_or_else(gone)
}

pub async fn ask(
    State(state): State<WebState>,
    who: LoggedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let flow = pending(&state, &id).await?;
    let body = format!(
        r#"<p><strong id="flow-client">{client}</strong> wants to sync your subscriptions and listening progress as <strong>{user}</strong>.</p>
<p>Grant only if you just started logging in from this app yourself (the request came from address <code>{address}</code>). The app receives an app password of its own, which you can revoke on <a href="/account/app-passwords">your app passwords</a> page.</p>
<form method="post" action="/login/v2/flow/{path}">{csrf}
<button type="submit" name="decision" value="grant">Grant access</button>
<button type="submit" name="decision" value="cancel" class="secondary">Cancel</button></form>"#,
        client = esc(&flow.client),
        user = esc(&who.session.username),
        address = esc(&flow.address),
        path = crate::form::encode(&id),
        csrf = csrf_field(&who.session.csrf),
    );
    Ok(crate::html::no_store(
        who.page(TITLE).render(&body).into_response(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    csrf: String,
    decision: String,
}

pub async fn decide(
    State(state): State<WebState>,
    who: LoggedIn,
    Path(id): Path<String>,
    Form(form): Form<Decision>,
) -> Result<Response, PageError> {
    who.check(&form.csrf)?;
    let flow = pending(&state, &id).await?;
    let body = if form.decision == "grant" {
        state
            .login_flows
            .grant(&id, &who.session.user_id)
            .await
            .map_err(flow_error)?;
        tracing::info!("a login flow was granted by its user");
        format!(
            "{}<p>You can close this page and return to the app.</p><p><a href=\"/account/app-passwords\">Your app passwords</a> · <a href=\"/account\">Your account</a></p>",
            notice(&format!("Access granted to {}.", flow.client))
        )
    } else {
        state.login_flows.cancel(&id).await.map_err(flow_error)?;
        format!(
            "{}<p><a href=\"/account\">Your account</a></p>",
            notice("Cancelled: the app was given nothing.")
        )
    };
    Ok(who.page(TITLE).render(&body).into_response())
}
