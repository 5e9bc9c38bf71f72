//! What a page answers when it cannot do what was asked: an HTML page with the status and a
//! sentence saying what to do, or the log-in page for a request that needs a session.

use crate::html::{Page, error};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("log in first")]
    LogIn { next: String },
    #[error("this form has expired or was sent from another site: reload the page and try again")]
    Csrf,
    #[error("{0}")]
    Invalid(String),
    #[error("not found")]
    NotFound,
    #[error("the service is busy or unavailable: try again in a moment")]
    Unavailable,
    #[error("you are making changes faster than the service takes them: try again in {0} s")]
    TooMany(u64),
}

impl From<balados_platform::http::ApiError> for PageError {
    /// A command the pipeline could not take: the user's writes budget spent, a request it
    /// refuses, or the service unavailable.
    fn from(e: balados_platform::http::ApiError) -> Self {
        match (e.status.as_u16(), e.retry_after) {
            (429, retry_after) => Self::TooMany(retry_after.unwrap_or(1)),
            (400..=499, _) => Self::Invalid(e.message),
            _ => Self::Unavailable,
        }
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        tracing::warn!(error = %e, "a page could not read or write the database");
        Self::Unavailable
    }
}

impl From<balados_accounts::SessionError> for PageError {
    fn from(e: balados_accounts::SessionError) -> Self {
        tracing::warn!(error = %e, "a session could not be read or written");
        Self::Unavailable
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::LogIn { next } => {
                let to = format!("/login?next={}", crate::form::encode(next));
                return Redirect::to(&to).into_response();
            }
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
        };
        let page = Page::anonymous(status.canonical_reason().unwrap_or("Error")).render(&format!(
            "{}<p><a href=\"/account\">Back to your account</a></p>",
            error(&self.to_string())
        ));
        crate::html::no_store((status, page).into_response())
    }
}
