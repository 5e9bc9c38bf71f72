//! The authorization request an app sends its user to `GET /authorize?token=…` with: a JWT the app
//! signs (RS256) with the private half of the key it registers, carrying who it is, the key, the
//! scopes it asks for and where to send the user back. Verified with the key it carries: the
//! signature proves the app holds the private key, and the user decides whether to trust the rest.

use crate::keys::{KeyError, MAX_TOKEN_BYTES, public_key};
use crate::{MAX_TOKEN_LIFETIME_SECS, Scopes};
use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The longest an authorization request may live: the user approves within minutes.
pub const MAX_REQUEST_LIFETIME_SECS: i64 = 3600;

/// Bounds on what the request says about the app (it is shown to the user and stored).
pub const MAX_APP_ID: usize = 100;
pub const MAX_APP_NAME: usize = 100;
pub const MAX_APP_URL: usize = 500;
pub const MAX_PUBLIC_KEY: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    pub name: String,
    /// The app's site: `https` (or `http` on localhost); a return URL must be on its origin.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The RSA public key (SubjectPublicKeyInfo PEM) the app's API tokens will be verified with.
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The app id: `[A-Za-z0-9._-]`, 1 to [`MAX_APP_ID`] characters.
    pub iss: String,
    pub app: AppInfo,
    /// The scopes asked for, space-separated (see [`Scopes`]).
    pub scopes: String,
    /// Where to send the user back (`?user_id=…&state=…` appended), on the app's origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Echoed back to `redirect_uri`, for the app to tie the answer to its request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the authorization request is not a well-formed token")]
    Malformed,
    #[error("the authorization request is expired, not yet valid or lives too long")]
    Lifetime,
    #[error("the app id must be 1 to {MAX_APP_ID} of [A-Za-z0-9._-]")]
    AppId,
    #[error("the app's {0} is missing, too long or not an acceptable URL")]
    AppField(&'static str),
    #[error("the app's key is refused: {0}")]
    Key(#[from] KeyError),
    #[error("the request is not signed by the key it carries")]
    Signature,
    #[error("the scopes asked for are not valid: {0}")]
    Scopes(String),
    #[error("the return URL is not on the app's origin")]
    Redirect,
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed_request",
            Self::Lifetime => "request_expired",
            Self::AppId => "invalid_app_id",
            Self::AppField(_) => "invalid_app",
            Self::Key(KeyError::TooSmall(_)) => "weak_key",
            Self::Key(_) => "invalid_key",
            Self::Signature => "invalid_signature",
            Self::Scopes(_) => "invalid_scope",
            Self::Redirect => "invalid_redirect",
        }
    }
}

/// A verified request: the app, its key, the scopes it asks for.
#[derive(Debug, Clone)]
pub struct VerifiedRequest {
    pub request: AuthorizationRequest,
    pub scopes: Scopes,
}

/// Checks a request token: its shape and bounds, that the key it carries signed it, its lifetime,
/// and that the return URL is on the app's origin (no open redirect).
pub fn verify_request(token: &str, now: i64) -> Result<VerifiedRequest, RequestError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(RequestError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| RequestError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(RequestError::Signature);
    }
    let unverified = jsonwebtoken::dangerous::insecure_decode::<AuthorizationRequest>(token)
        .map_err(|_| RequestError::Malformed)?
        .claims;
    check_app(&unverified)?;
    let key = public_key(&unverified.app.public_key)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iss"]);
    validation.validate_exp = false;
    let request = jsonwebtoken::decode::<AuthorizationRequest>(token, &key, &validation)
        .map_err(|_| RequestError::Signature)?
        .claims;
    if request != unverified {
        return Err(RequestError::Signature);
    }
    if request.exp <= now || request.iat > now + 60 || request.exp - now > MAX_REQUEST_LIFETIME_SECS
    {
        return Err(RequestError::Lifetime);
    }
    let scopes = Scopes::parse(&request.scopes).map_err(|e| RequestError::Scopes(e.to_string()))?;
    if scopes.grants().is_empty() {
        return Err(RequestError::Scopes("no scope asked for".into()));
    }
    Ok(VerifiedRequest { request, scopes })
}

fn check_app(request: &AuthorizationRequest) -> Result<(), RequestError> {
    let id_ok = (1..=MAX_APP_ID).contains(&request.iss.len())
        && request
            .iss
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !id_ok {
        return Err(RequestError::AppId);
    }
    let app = &request.app;
    let name = app.name.trim();
    if name.is_empty() || name.len() > MAX_APP_NAME || name.chars().any(char::is_control) {
        return Err(RequestError::AppField("name"));
    }
    let site = origin(&app.url).ok_or(RequestError::AppField("url"))?;
    if let Some(image) = &app.image {
        origin(image).ok_or(RequestError::AppField("image"))?;
    }
    if app.public_key.len() > MAX_PUBLIC_KEY {
        return Err(RequestError::Key(KeyError::NotPem));
    }
    if let Some(redirect) = &request.redirect_uri
        && origin(redirect) != Some(site)
    {
        return Err(RequestError::Redirect);
    }
    for (value, max) in [(&request.state, 500), (&request.redirect_uri, MAX_APP_URL)] {
        if value.as_ref().is_some_and(|v| v.len() > max) {
            return Err(RequestError::AppField("state or redirect_uri"));
        }
    }
    Ok(())
}

/// The origin (`scheme://host[:port]`, host in lower case) of an absolute `https` URL, or `http`
/// on a loopback host; `None` for anything else (other schemes, credentials, control characters,
/// over [`MAX_APP_URL`]).
pub fn origin(url: &str) -> Option<String> {
    if url.len() > MAX_APP_URL || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains(['@', '\\']) {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority.as_str(), |(host, _)| host);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match scheme.as_str() {
        "https" => Some(format!("{scheme}://{authority}")),
        "http" if loopback => Some(format!("{scheme}://{authority}")),
        _ => None,
    }
}

/// Signs an authorization request as an app would (development, demos, tests).
pub fn sign_request(
    private_pem: &[u8],
    request: &AuthorizationRequest,
) -> Result<String, crate::MintError> {
    let key = EncodingKey::from_rsa_pem(private_pem)
        .map_err(|e| crate::MintError::BadKey(e.to_string()))?;
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), request, &key)
        .map_err(|e| crate::MintError::Sign(e.to_string()))
}

// The API token bound applies to what the request's grant will be used with; keep them apart.
const _: () = assert!(MAX_REQUEST_LIFETIME_SECS < MAX_TOKEN_LIFETIME_SECS);
