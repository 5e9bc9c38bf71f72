//! Who calls: HTTP Basic with the username and an **app password** (never the account's
//! password), or the `sessionid` cookie of a log-in. Every route but log-in and log-out passes
//! through [`authenticate`] before its body is read; the route then checks that the path's
//! username is the caller's ([`Caller::owns`]).
//!
//! mygpoclient sends credentials only when challenged, and gives up after three challenges per
//! client object; it keeps cookies. So, as gpodder.net does, a call authenticated by Basic that
//! came without a session cookie gets one: its next calls go through on the cookie alone.
//! Checking an app password or a cookie costs one query each.

use crate::GpodderState;
use crate::error::GpodderError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use balados_accounts::SESSION_LIFETIME;
use balados_platform::http::{ApiError, PathParams, is_read};
use base64::Engine as _;

/// The cookie name gpodder clients (AntennaPod) expect.
pub const SESSION_COOKIE: &str = "sessionid";

/// The authenticated caller: the account's user id and its username.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: balados_schemas::UserId,
    pub username: String,
    /// The app password the caller presented (by Basic): a session it opens ends with it.
    pub app_password: Option<uuid::Uuid>,
}

impl Caller {
    /// 401 unless `username` (from the path) names the caller, whatever its case.
    pub fn owns(&self, username: &str) -> Result<(), GpodderError> {
        if self.username.eq_ignore_ascii_case(username) {
            Ok(())
        } else {
            Err(GpodderError::challenge(
                "these credentials are not for the user in the path",
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = GpodderError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| GpodderError::challenge("log in with your username and an app password"))
    }
}

use balados_platform::http::cookies::cookie;

/// `Authorization: Basic` decoded: `None` without it, `Some(Err)` when malformed.
fn basic(headers: &HeaderMap) -> Option<Result<(String, String), GpodderError>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let malformed = || GpodderError::challenge("malformed Basic credentials");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    Some(
        decoded
            .as_deref()
            .and_then(|text| text.split_once(':'))
            .map(|(user, password)| (user.to_owned(), password.to_owned()))
            .ok_or_else(malformed),
    )
}

fn caller(user_id: &str, username: String) -> Result<Caller, GpodderError> {
    let user_id = balados_schemas::UserId::parse(user_id)
        .map_err(|_| GpodderError::unavailable("this account cannot use the gpodder API"))?;
    Ok(Caller {
        user_id,
        username,
        app_password: None,
    })
}

/// The caller by Basic (an app password), `None` without Basic credentials.
async fn by_password(
    state: &GpodderState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, GpodderError> {
    let Some(credentials) = basic(headers) else {
        return Ok(None);
    };
    let (username, secret) = credentials?;
    match state.app_passwords.verify_which(&username, &secret).await {
        Ok(Some((user_id, password))) => caller(&user_id, username).map(|mut caller| {
            caller.app_password = Some(password);
            Some(caller)
        }),
        Ok(None) => Err(GpodderError::challenge(
            "unknown username or app password (create one on your account's page)",
        )),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check an app password");
            Err(GpodderError::unavailable("retry later"))
        }
    }
}

/// The caller by session cookie, `None` when the cookie is unknown or expired.
async fn by_cookie(state: &GpodderState, value: &str) -> Result<Option<Caller>, GpodderError> {
    match state
        .sessions
        .find(value, balados_accounts::SessionKind::Gpodder)
        .await
    {
        Ok(Some(session)) => caller(&session.user_id, session.username).map(Some),
        Ok(None) => Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a session");
            Err(GpodderError::unavailable("retry later"))
        }
    }
}

fn set_cookie(state: &GpodderState, value: &str, max_age: i64) -> HeaderValue {
    let secure = state.secure_cookies;
    balados_platform::http::cookies::set_cookie(SESSION_COOKIE, value, max_age, "Lax", secure)
}

/// Opens a session for `caller` and sets its cookie on `response` (a failure only costs the
/// client a challenge on its next call).
async fn open_session(state: &GpodderState, caller: &Caller, response: &mut Response) {
    // Only a caller who presented an app password opens a session, tied to that password.
    let Some(password) = caller.app_password else {
        return;
    };
    match state
        .sessions
        .open_for_app_password(caller.user_id.as_str(), password)
        .await
    {
        Ok((value, _)) => {
            let cookie = set_cookie(state, &value, SESSION_LIFETIME.num_seconds());
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Err(e) => tracing::warn!(error = %e, "cannot open a gpodder session"),
    }
}

/// A write sent by a browser from another site: refused (403). A browser that once answered the
/// Basic challenge for this server sends those credentials with any site's form, and these routes
/// read JSON whatever the Content-Type; podcast apps send no `Sec-Fetch-Site`.
fn cross_site_write(request: &Request) -> Option<Response> {
    let write = !is_read(request.method());
    let cross_site = request
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site"));
    (write && cross_site).then(|| {
        ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "cross_site_request",
            "writes from another site's page are refused",
        )
        .into_response()
    })
}

/// The middleware of every authenticated route: Basic first (then no cookie is read), else the
/// cookie; a 401 challenge without either. A successful call by Basic that carried no cookie
/// receives one.
pub async fn authenticate(
    State(state): State<GpodderState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(refused) = cross_site_write(&request) {
        return refused;
    }
    let headers = request.headers();
    let presented = cookie(headers, SESSION_COOKIE).map(str::to_owned);
    let found = match by_password(&state, headers).await {
        Ok(Some(caller)) => Ok((caller, presented.is_none())),
        Ok(None) => match &presented {
            Some(value) => match by_cookie(&state, value).await {
                Ok(Some(caller)) => Ok((caller, false)),
                Ok(None) => Err(GpodderError::challenge(
                    "this session has expired: log in again",
                )),
                Err(e) => Err(e),
            },
            None => Err(GpodderError::challenge(
                "log in with your username and an app password",
            )),
        },
        Err(e) => Err(e),
    };
    let (caller, give_cookie) = match found {
        Ok(found) => found,
        Err(refused) => return refused.into_response(),
    };
    // A read counts in its user's reads budget; a write pays per command when it sends them.
    if let (true, Some(reads)) = (is_read(request.method()), &state.reads)
        && let Err(limited) = reads.admit_user(caller.user_id.as_str(), &state.ingest.metrics)
    {
        return GpodderError::from(limited).into_response();
    }
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    if give_cookie && response.status().is_success() {
        open_session(&state, &caller, &mut response).await;
    }
    response
}

/// The middleware of the Nextcloud routes: Basic with an app password on every call (AntennaPod
/// sends it preemptively), never a cookie read or given — such a client would only pile up
/// sessions.
pub async fn basic_only(
    State(state): State<GpodderState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(refused) = cross_site_write(&request) {
        return refused;
    }
    match by_password(&state, request.headers()).await {
        Ok(Some(caller)) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Ok(None) => {
            GpodderError::challenge("log in with your username and an app password").into_response()
        }
        Err(refused) => refused.into_response(),
    }
}

/// `POST /api/2/auth/{username}/login.json` and `…/logout.json`.
pub async fn login_or_logout(
    State(state): State<GpodderState>,
    PathParams((username, action)): PathParams<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, GpodderError> {
    let presented = cookie(&headers, SESSION_COOKIE);
    let session = match presented {
        Some(value) => by_cookie(&state, value).await?,
        None => None,
    };
    if let Some(session) = &session
        && !session.username.eq_ignore_ascii_case(&username)
    {
        return Err(GpodderError::bad_request(
            "other_user",
            "this session is another user's: log out first",
        ));
    }
    match action.as_str() {
        "login.json" => {
            if session.is_some() {
                return Ok(StatusCode::OK.into_response());
            }
            let caller = by_password(&state, &headers).await?.ok_or_else(|| {
                GpodderError::challenge("log in with your username and an app password")
            })?;
            caller.owns(&username)?;
            let mut response = StatusCode::OK.into_response();
            open_session(&state, &caller, &mut response).await;
            Ok(response)
        }
        "logout.json" => {
            if let Some(value) = presented
                && let Err(e) = state.sessions.close(value).await
            {
                tracing::warn!(error = %e, "cannot close a gpodder session");
                return Err(GpodderError::unavailable("retry later"));
            }
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, set_cookie(&state, "", 0));
            Ok(response)
        }
        _ => Err(GpodderError::not_found("no such route")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).expect("value"));
        }
        map
    }

    #[test]
    fn basic_credentials_are_decoded_and_malformed_ones_refused() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:bal_x:y");
        let ok = headers(&[(header::AUTHORIZATION, &format!("Basic {encoded}"))]);
        let (user, password) = basic(&ok).expect("present").expect("valid");
        assert_eq!((user.as_str(), password.as_str()), ("alice", "bal_x:y"));
        assert!(basic(&headers(&[(header::AUTHORIZATION, "Bearer abc")])).is_none());
        assert!(
            basic(&headers(&[(header::AUTHORIZATION, "Basic !!!")])).is_some_and(|r| r.is_err())
        );
        assert!(basic(&HeaderMap::new()).is_none());
    }
}
