//! Who is logged in, and the CSRF check of every form. The session cookie is HttpOnly,
//! SameSite=Lax (an app's link to /authorize still arrives logged in; another site's form post
//! does not carry it) and Secure when the server is reached over TLS. Forms shown before log-in
//! use a double-submit token: a random cookie the form must repeat.

use crate::WebState;
use crate::error::PageError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use balados_accounts::{SESSION_LIFETIME, Session};
use balados_platform::http::is_read;

pub const SESSION_COOKIE: &str = "balados_session";
pub const CSRF_COOKIE: &str = "balados_csrf";

pub use balados_platform::http::cookies::cookie;
use balados_platform::http::cookies::set_cookie;

pub fn session_cookie(state: &WebState, value: &str) -> HeaderValue {
    let max_age = SESSION_LIFETIME.num_seconds();
    set_cookie(SESSION_COOKIE, value, max_age, "Lax", state.secure_cookies)
}

pub fn expired_session_cookie(state: &WebState) -> HeaderValue {
    set_cookie(SESSION_COOKIE, "", 0, "Lax", state.secure_cookies)
}

pub fn csrf_cookie(state: &WebState, value: &str) -> HeaderValue {
    set_cookie(CSRF_COOKIE, value, 3600, "Strict", state.secure_cookies)
}

/// Compares secrets in a time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A logged-in request: the session and its cookie value.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub session: Session,
    pub cookie: String,
}

impl LoggedIn {
    /// Refuses a form whose token is not this session's.
    pub fn check(&self, csrf: &str) -> Result<(), PageError> {
        if same_secret(&self.session.csrf, csrf) {
            Ok(())
        } else {
            Err(PageError::Csrf)
        }
    }

    pub fn page<'a>(&'a self, title: &'a str) -> crate::html::Page<'a> {
        crate::html::Page {
            title,
            username: Some(&self.session.username),
            csrf: Some(&self.session.csrf),
        }
    }
}

impl FromRequestParts<WebState> for LoggedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, PageError> {
        let login = || PageError::LogIn {
            next: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/account".to_owned(), |p| p.as_str().to_owned()),
        };
        let Some(cookie) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(login());
        };
        match state
            .sessions
            .find(cookie, balados_accounts::SessionKind::Web)
            .await?
        {
            Some(session) => {
                // A page opened counts in its user's reads budget; a change pays as a command.
                if let (true, Some(reads)) = (is_read(&parts.method), &state.reads) {
                    reads.admit_user(&session.user_id, &state.ingest.metrics)?;
                }
                Ok(Self {
                    session,
                    cookie: cookie.to_owned(),
                })
            }
            None => Err(login()),
        }
    }
}

/// The double-submit token of a form shown before log-in: the request's cookie when it has one,
/// else a new one (which the page must set, see [`Anonymous::set_cookie`]).
#[derive(Debug, Clone)]
pub struct Anonymous {
    pub csrf: String,
    fresh: bool,
}

impl Anonymous {
    pub fn set_cookie(&self, state: &WebState) -> Option<HeaderValue> {
        self.fresh.then(|| csrf_cookie(state, &self.csrf))
    }

    /// Refuses a form that does not repeat the cookie's token.
    pub fn check(headers: &HeaderMap, csrf: &str) -> Result<(), PageError> {
        match cookie(headers, CSRF_COOKIE) {
            Some(expected) if !expected.is_empty() && same_secret(expected, csrf) => Ok(()),
            _ => Err(PageError::Csrf),
        }
    }
}

impl FromRequestParts<WebState> for Anonymous {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &WebState) -> Result<Self, PageError> {
        match cookie(&parts.headers, CSRF_COOKIE).filter(|c| c.len() == 43) {
            Some(csrf) => Ok(Self {
                csrf: csrf.to_owned(),
                fresh: false,
            }),
            None => Ok(Self {
                csrf: balados_accounts::random_secret("").map_err(|_| PageError::Unavailable)?,
                fresh: true,
            }),
        }
    }
}

/// Where to go after logging in: a path on this site only (`/…`, never `//…` or a URL), else the
/// account page — no open redirect.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 16_384 =>
        {
            path.to_owned()
        }
        _ => "/account".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_log_in() {
        assert_eq!(
            local_path(Some("/authorize?token=a.b.c")),
            "/authorize?token=a.b.c"
        );
        for outside in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "",
        ] {
            assert_eq!(local_path(Some(outside)), "/account", "{outside}");
        }
        assert_eq!(local_path(None), "/account");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}
