//! A command's outcome as an HTTP answer: the same shape from the write API (`Prefer: wait`) and
//! from `GET /api/v1/commands/{id}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use balados_schemas::CommandResult;
use serde::Serialize;
use std::time::Duration;

/// The JSON body of an outcome.
#[derive(Debug, Serialize)]
pub struct Outcome<'a> {
    command_id: uuid::Uuid,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    /// The command id had been processed before: this is its original outcome.
    duplicate: bool,
    /// How many events the command produced (0: nothing changed).
    events: u32,
    /// Present a read model that has consumed past it shows the command's effects (opaque).
    consistency_token: Option<String>,
    /// The client's time was too far in the future: the reception time was used instead.
    clamped: bool,
}

/// The status of a rejection: every code the aggregate produces, in one exhaustive match. A code
/// this version does not produce (a result recorded by an earlier one) is a 422.
pub fn rejection_status(code: &str) -> StatusCode {
    use balados_schemas::RejectionCode as C;
    let Some(code) = C::parse(code) else {
        return StatusCode::UNPROCESSABLE_ENTITY;
    };
    match code {
        C::NotFound => StatusCode::NOT_FOUND,
        C::AlreadyExists | C::CannotDeleteDefaultCollection => StatusCode::CONFLICT,
        // Permanent, whoever asks: the account is gone, and its id with it.
        C::AccountDeleted => StatusCode::GONE,
        C::FeedNotSubscribed
        | C::InvalidId
        | C::InvalidOrder
        | C::InvalidPosition
        | C::LimitExceeded
        | C::PositionOutOfBounds
        | C::TooLarge => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// `v1.{partition}.{next offset}` of `events`; `None` when the command emitted no event.
pub fn consistency_token(result: &CommandResult) -> Option<String> {
    (result.events_next_offset >= 0).then(|| {
        format!(
            "v1.{}.{}",
            result.events_partition, result.events_next_offset
        )
    })
}

/// 201 when the command created something, 200 when accepted otherwise, 404/409/410/422 when
/// rejected; `Preference-Applied: wait=N` says the wait was honoured.
pub fn response(result: &CommandResult, created: bool, waited: Duration) -> Response {
    let mut response = body(result, created);
    if let Ok(value) = HeaderValue::from_str(&format!("wait={}", waited.as_secs())) {
        response.headers_mut().insert("preference-applied", value);
    }
    response
}

/// The outcome with its status, without the preference header.
pub fn body(result: &CommandResult, created: bool) -> Response {
    let (status, body) = outcome(result, created);
    (status, axum::Json(body)).into_response()
}

/// The status and body of an outcome.
pub fn outcome(result: &CommandResult, created: bool) -> (StatusCode, Outcome<'_>) {
    let rejected = result.rejection_code.as_deref();
    let status = match rejected {
        Some(code) => rejection_status(code),
        None if created && result.event_count > 0 && !result.duplicate => StatusCode::CREATED,
        None => StatusCode::OK,
    };
    let body = Outcome {
        command_id: result.command_id,
        status: if rejected.is_some() {
            "rejected"
        } else {
            "accepted"
        },
        error: rejected.map(|_| {
            result
                .message
                .as_deref()
                .unwrap_or("the command was rejected")
        }),
        code: rejected,
        duplicate: result.duplicate,
        events: result.event_count,
        consistency_token: consistency_token(result),
        clamped: result.clamped,
    };
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use balados_schemas::UserId;

    fn result(rejection: Option<&str>, events: u32) -> CommandResult {
        CommandResult {
            command_id: uuid::Uuid::nil(),
            user_id: UserId::parse("u").expect("valid"),
            rejection_code: rejection.map(str::to_owned),
            message: rejection.map(|_| "because".to_owned()),
            duplicate: false,
            first_sequence: u64::from(events.min(1)),
            event_count: events,
            events_partition: 2,
            events_next_offset: if events > 0 { 41 } else { -1 },
            clamped: false,
        }
    }

    #[test]
    fn statuses_follow_the_outcome() {
        let wait = Duration::from_secs(5);
        assert_eq!(
            response(&result(None, 1), true, wait).status(),
            StatusCode::CREATED
        );
        assert_eq!(
            response(&result(None, 0), true, wait).status(),
            StatusCode::OK
        );
        assert_eq!(
            response(&result(None, 1), false, wait).status(),
            StatusCode::OK
        );
        assert_eq!(
            response(&result(Some("not_found"), 0), false, wait).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            response(&result(Some("limit_exceeded"), 0), false, wait).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let r = response(&result(None, 1), true, wait);
        assert_eq!(
            r.headers().get("preference-applied").map(|v| v.as_bytes()),
            Some(&b"wait=5"[..])
        );
    }

    #[test]
    fn conflicts_missing_resources_and_deleted_accounts_have_their_status_and_the_rest_is_422() {
        use balados_schemas::RejectionCode as C;
        for code in C::ALL {
            let expected = match code {
                C::NotFound => StatusCode::NOT_FOUND,
                C::AlreadyExists | C::CannotDeleteDefaultCollection => StatusCode::CONFLICT,
                C::AccountDeleted => StatusCode::GONE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            assert_eq!(rejection_status(code.as_str()), expected, "{code}");
        }
        // A code of an earlier version's stored result.
        assert_eq!(
            rejection_status("invalid_name"),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn the_token_names_the_events_partition_and_offset() {
        assert_eq!(
            consistency_token(&result(None, 1)).as_deref(),
            Some("v1.2.41")
        );
        assert_eq!(consistency_token(&result(None, 0)), None);
    }
}
