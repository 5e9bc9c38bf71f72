//! Reads are open; every write and delete needs the operator credential (HTTP Basic).

use balados_schema_registry::WriteAccess;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{
    Auth, ID, OPERATOR, PASSWORD, POS_DEFAULT, TestApp, assert_error, json_ok, play, spawn_app,
    spawn_app_with,
};

/// Every route that writes or deletes, with a body where it takes one.
fn writes() -> Vec<(Method, &'static str, Option<Value>)> {
    let schema = json!({ "schema": play(&format!("{ID},{POS_DEFAULT}")) });
    let level = json!({ "compatibility": "NONE" });
    vec![
        (Method::POST, "/subjects/plays-value/versions", Some(schema)),
        (Method::PUT, "/config", Some(level.clone())),
        (Method::PUT, "/config/plays-value", Some(level)),
        (Method::DELETE, "/config/plays-value", None),
        (Method::DELETE, "/subjects/plays-value/versions/1", None),
        (
            Method::DELETE,
            "/subjects/plays-value/versions/1?permanent=true",
            None,
        ),
        (Method::DELETE, "/subjects/plays-value", None),
        (Method::DELETE, "/subjects/plays-value?permanent=true", None),
        // Checked before the path: an anonymous caller gets 401, not a hint about the version.
        (Method::DELETE, "/subjects/plays-value/versions/zero", None),
    ]
}

async fn assert_unauthorized(response: Response) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(
        challenge.as_deref(),
        Some(r#"Basic realm="schema-registry""#)
    );
    let body = assert_error(response, 401, 40101).await;
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("credential"), "{message}");
}

/// The observable state the writes above would change.
async fn state(app: &TestApp) -> Value {
    json!({
        "subjects": json_ok(app.get("/subjects?deleted=true").await).await,
        "versions": json_ok(app.get("/subjects/plays-value/versions?deleted=true").await).await,
        "live": json_ok(app.get("/subjects/plays-value/versions").await).await,
        "global": json_ok(app.get("/config").await).await,
        "level": json_ok(app.get("/config/plays-value").await).await,
    })
}

#[tokio::test]
async fn writes_without_or_with_a_wrong_credential_are_401_and_change_nothing() {
    let app = spawn_app().await;
    app.register_ok("plays-value", &play(ID)).await;
    app.set_level("plays-value", "FULL").await;
    let before = state(&app).await;

    let wrong = [
        Auth::Anonymous,
        Auth::Basic(OPERATOR, "wrong"),
        Auth::Basic(OPERATOR, &PASSWORD[..PASSWORD.len() - 1]),
        Auth::Basic("someone", PASSWORD),
        Auth::Basic("", ""),
        Auth::Header("Bearer b3BlcmF0b3I="),
        Auth::Header("Basic not-base64!"),
    ];
    for (method, path, body) in writes() {
        for auth in wrong {
            let response = app.request(method.clone(), path, body.as_ref(), auth).await;
            assert_unauthorized(response).await;
        }
    }
    assert_eq!(state(&app).await, before);
    assert_eq!(before["versions"], json!([1]));
}

#[tokio::test]
async fn every_write_succeeds_with_the_operator_credential() {
    let app = spawn_app().await;
    app.register_ok("plays-value", &play(ID)).await;
    for (method, path, body) in writes() {
        let response = app
            .request(method.clone(), path, body.as_ref(), Auth::Operator)
            .await;
        if path.ends_with("/zero") {
            assert_error(response, 422, 42202).await;
        } else {
            json_ok(response).await;
        }
    }
    // The last deletes were permanent: nothing is left, and the global level was changed.
    assert_eq!(
        json_ok(app.get("/subjects?deleted=true").await).await,
        json!([])
    );
    assert_eq!(
        json_ok(app.get("/config").await).await,
        json!({ "compatibilityLevel": "NONE" })
    );
}

#[tokio::test]
async fn reads_are_open_to_anyone_whatever_credential_they_send() {
    let app = spawn_app().await;
    let schema = play(ID);
    let id = app.register_ok("plays-value", &schema).await;
    let body = json!({ "schema": schema });
    let reads = [
        (Method::GET, "/subjects".to_owned(), None),
        (
            Method::GET,
            "/subjects/plays-value/versions".to_owned(),
            None,
        ),
        (
            Method::GET,
            "/subjects/plays-value/versions/latest".to_owned(),
            None,
        ),
        (Method::GET, format!("/schemas/ids/{id}"), None),
        (Method::GET, format!("/schemas/ids/{id}/versions"), None),
        (Method::GET, "/config".to_owned(), None),
        (Method::GET, "/schemas/types".to_owned(), None),
        // Look-ups and compatibility checks are POSTs that change nothing.
        (
            Method::POST,
            "/subjects/plays-value".to_owned(),
            Some(&body),
        ),
        (
            Method::POST,
            "/compatibility/subjects/plays-value/versions".to_owned(),
            Some(&body),
        ),
    ];
    // A client configured with some other registry's credential sends it on reads too.
    for auth in [Auth::Anonymous, Auth::Basic(OPERATOR, "wrong")] {
        for (method, path, body) in &reads {
            let response = app.request(method.clone(), path, *body, auth).await;
            json_ok(response).await;
        }
    }
}

#[tokio::test]
async fn without_an_operator_password_every_write_is_refused_and_reads_work() {
    let app = spawn_app_with(WriteAccess::Refused).await;
    for (method, path, body) in writes() {
        for auth in [Auth::Operator, Auth::Anonymous] {
            let response = app.request(method.clone(), path, body.as_ref(), auth).await;
            // 403, not 401: no credential would help, so none is asked for.
            assert!(response.headers().get("www-authenticate").is_none());
            let body = assert_error(response, 403, 40301).await;
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("schema_registry.operator_password"),
                "{message}"
            );
        }
    }
    assert_eq!(json_ok(app.get("/subjects").await).await, json!([]));
    assert_eq!(
        json_ok(app.get("/config").await).await,
        json!({ "compatibilityLevel": "BACKWARD_TRANSITIVE" })
    );
}
