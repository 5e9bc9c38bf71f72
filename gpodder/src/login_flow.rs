//! Nextcloud's Login Flow v2, the app's side: `POST /index.php/login/v2` starts a flow and
//! answers where to poll and which page the user opens (`/login/v2/flow/{id}`, in the `web`
//! crate: log in, then grant or cancel); `POST /index.php/login/v2/poll` with `token=…` answers
//! 404 until the user granted, then once the username and a new app password (the flow is then
//! gone: the next poll is 404 again). URLs are absolute, from `http.public_url`.

use crate::GpodderState;
use crate::error::GpodderError;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use balados_accounts::LoginFlowError;
use balados_platform::http::ApiError;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Serialize)]
pub struct Poll {
    token: String,
    endpoint: String,
}

#[derive(Debug, Serialize)]
pub struct Started {
    poll: Poll,
    login: String,
}

#[derive(Debug, Serialize)]
pub struct Granted {
    server: String,
    #[serde(rename = "loginName")]
    login_name: String,
    #[serde(rename = "appPassword")]
    app_password: String,
}

/// Who asks, for the bound on pending flows: an IPv6 client by its /64 (one host holds many).
fn requester(peer: Option<SocketAddr>) -> String {
    match peer.map(|p| p.ip()) {
        Some(IpAddr::V6(v6)) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets).to_string()
        }
        Some(v4) => v4.to_string(),
        None => "unknown".to_owned(),
    }
}

fn failed(e: LoginFlowError) -> GpodderError {
    match e {
        LoginFlowError::TooMany => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_logins",
            e.to_string(),
        )
        .into(),
        LoginFlowError::NotFound => GpodderError::not_found(e.to_string()),
        other => {
            tracing::warn!(error = %other, "a login flow could not be read or written");
            GpodderError::unavailable("retry later")
        }
    }
}

/// `POST /index.php/login/v2`.
pub async fn start(
    State(state): State<GpodderState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Json<Started>, GpodderError> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let client = balados_accounts::client_name(agent);
    let address = requester(peer.map(|axum::Extension(ConnectInfo(p))| p));
    let flow = state
        .login_flows
        .start(&client, &address)
        .await
        .map_err(failed)?;
    let server = state.public_url.trim_end_matches('/');
    Ok(Json(Started {
        poll: Poll {
            token: flow.poll_token,
            endpoint: format!("{server}/index.php/login/v2/poll"),
        },
        login: format!("{server}/login/v2/flow/{}", flow.id),
    }))
}

/// The poll token of a form body (`token=…`), a query-like text.
fn token_of(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.trim().to_owned())
}

/// The largest poll body read: a form with one token.
const MAX_POLL_BYTES: usize = 1024;

/// `POST /index.php/login/v2/poll`.
pub async fn poll(
    State(state): State<GpodderState>,
    body: axum::body::Bytes,
) -> Result<Json<Granted>, GpodderError> {
    let not_yet = || GpodderError::not_found("not granted yet (or expired, or already picked up)");
    // Unauthenticated: a small form, read as sent (never inflated).
    if body.len() > MAX_POLL_BYTES {
        return Err(not_yet());
    }
    let token = token_of(&body).ok_or_else(not_yet)?;
    let granted = state
        .login_flows
        .poll(&token)
        .await
        .map_err(failed)?
        .ok_or_else(not_yet)?;
    tracing::info!("a login flow handed over its app password");
    Ok(Json(Granted {
        server: state.public_url.trim_end_matches('/').to_owned(),
        login_name: granted.username,
        app_password: granted.app_password,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_form() {
        assert_eq!(token_of(b"token=abc%2Bd").as_deref(), Some("abc+d"));
        assert_eq!(token_of(b"other=1&token=x").as_deref(), Some("x"));
        assert_eq!(token_of(b""), None);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_network() {
        let a: SocketAddr = "[2001:db8::1]:1".parse().expect("address");
        let b: SocketAddr = "[2001:db8::ffff]:2".parse().expect("address");
        assert_eq!(requester(Some(a)), requester(Some(b)));
        let v4: SocketAddr = "10.1.2.3:4".parse().expect("address");
        assert_eq!(requester(Some(v4)), "10.1.2.3");
        assert_eq!(requester(None), "unknown");
    }
}
