//! Every bad request gets its 4xx with the stable error body, and nothing is produced for it.

use crate::helpers::{Api, b64, feed, forged, item, token, token_with};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

/// (what, method, path, token, body, status, code)
type Case = (
    &'static str,
    &'static str,
    String,
    Option<String>,
    Option<Value>,
    u16,
    &'static str,
);

fn cases() -> Vec<Case> {
    let (feed, item) = (feed(), item());
    let good = || token("mallory");
    let sub = |body: Value| {
        (
            "POST",
            "/api/v1/subscriptions".to_owned(),
            good(),
            Some(body),
        )
    };
    let play = |extra: Value| {
        let mut body = json!({"rss_source_feed": feed, "rss_source_item": item, "position": 1});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        ("POST", "/api/v1/play".to_owned(), good(), Some(body))
    };
    let with = |what,
                (m, p, t, b): (&'static str, String, Option<String>, Option<Value>),
                status,
                code| { (what, m, p, t, b, status, code) };
    vec![
        with(
            "invalid base64",
            sub(json!({"rss_source_feed": "%%%"})),
            422,
            "invalid_feed_id",
        ),
        with(
            "not an http(s) URL",
            sub(json!({"rss_source_feed": b64("ftp://x/y")})),
            422,
            "invalid_feed_url",
        ),
        with(
            "not a URL at all",
            sub(json!({"rss_source_feed": b64("not a url")})),
            422,
            "invalid_feed_url",
        ),
        with(
            "a URL over 2,048 bytes",
            sub(json!({"rss_source_feed": b64(&format!("https://e.com/{}", "a".repeat(2048)))})),
            422,
            "invalid_feed_url",
        ),
        with(
            "a control character in a URL",
            sub(json!({"rss_source_feed": b64("https://e.com/a\nb")})),
            422,
            "invalid_feed_url",
        ),
        with(
            "a source id over 512 bytes",
            sub(json!({"rss_source_feed": feed, "rss_source_id": "s".repeat(513)})),
            422,
            "invalid_source_id",
        ),
        with("missing field", sub(json!({})), 422, "invalid_body"),
        with(
            "field of the wrong type",
            sub(json!({"rss_source_feed": 7})),
            422,
            "invalid_body",
        ),
        with(
            "missing token",
            (
                "POST",
                "/api/v1/subscriptions".into(),
                None,
                Some(json!({"rss_source_feed": feed})),
            ),
            401,
            "missing_token",
        ),
        with(
            "expired token",
            (
                "POST",
                "/api/v1/subscriptions".into(),
                Some(token_with(
                    include_bytes!("../../../auth/tests/fixtures/private/test-app.key.pem"),
                    "mallory",
                    -60,
                    None,
                )),
                Some(json!({"rss_source_feed": feed})),
            ),
            401,
            "token_expired",
        ),
        with(
            "forged token",
            (
                "POST",
                "/api/v1/subscriptions".into(),
                forged("mallory"),
                Some(json!({"rss_source_feed": feed})),
            ),
            401,
            "invalid_signature",
        ),
        with(
            "garbage token",
            (
                "POST",
                "/api/v1/subscriptions".into(),
                Some("not.a.jwt".into()),
                Some(json!({"rss_source_feed": feed})),
            ),
            401,
            "malformed_token",
        ),
        with(
            "a token's device id with a slash",
            (
                "POST",
                "/api/v1/subscriptions".into(),
                Some(token_with(
                    include_bytes!("../../../auth/tests/fixtures/private/test-app.key.pem"),
                    "mallory",
                    60,
                    Some("a/b"),
                )),
                Some(json!({"rss_source_feed": feed})),
            ),
            401,
            "invalid_token",
        ),
        with(
            "bad feed id in the path",
            (
                "DELETE",
                "/api/v1/subscriptions/%25%25".into(),
                good(),
                None,
            ),
            422,
            "invalid_feed_id",
        ),
        with(
            "bad item id in the path",
            (
                "PUT",
                "/api/v1/play/%25%25/position".into(),
                good(),
                Some(json!({"position": 1})),
            ),
            422,
            "invalid_item_id",
        ),
        with(
            "a negative position",
            play(json!({"position": -1})),
            422,
            "invalid_position",
        ),
        with(
            "a wrong-typed value of 100 KB (the parser quotes it)",
            play(json!({"position": "x".repeat(100_000)})),
            422,
            "invalid_body",
        ),
        with(
            "a position over 2^31-1",
            play(json!({"position": 2_147_483_648_i64})),
            422,
            "invalid_position",
        ),
        with(
            "a negative duration",
            play(json!({"duration": -5})),
            422,
            "invalid_duration",
        ),
        with(
            "a time that is not RFC 3339",
            play(json!({"timestamp": "yesterday"})),
            422,
            "invalid_timestamp",
        ),
        with(
            "a time before 1970",
            play(json!({"timestamp": "1969-12-31T23:59:59Z"})),
            422,
            "invalid_timestamp",
        ),
        with(
            "an unknown privacy",
            (
                "PUT",
                "/api/v1/privacy".into(),
                good(),
                Some(json!({"privacy": "friends"})),
            ),
            422,
            "invalid_privacy",
        ),
        with(
            "a blank playlist name",
            (
                "POST",
                "/api/v1/playlists".into(),
                good(),
                Some(json!({"name": "  "})),
            ),
            422,
            "invalid_name",
        ),
        with(
            "a playlist name over 200 characters",
            (
                "POST",
                "/api/v1/playlists".into(),
                good(),
                Some(json!({"name": "x".repeat(201)})),
            ),
            422,
            "invalid_name",
        ),
        with(
            "a NUL in a description",
            (
                "POST",
                "/api/v1/playlists".into(),
                good(),
                Some(json!({"name": "n", "description": "a\u{0}b"})),
            ),
            422,
            "invalid_description",
        ),
        with(
            "a playlist id with a dot",
            (
                "POST",
                "/api/v1/playlists".into(),
                good(),
                Some(json!({"id": "a.b", "name": "n"})),
            ),
            422,
            "invalid_id",
        ),
        with(
            "a playlist id in a path over 64 bytes",
            (
                "DELETE",
                format!("/api/v1/playlists/{}", "p".repeat(65)),
                good(),
                None,
            ),
            422,
            "invalid_id",
        ),
        with(
            "a multi-line collection title",
            (
                "POST",
                "/api/v1/collections".into(),
                good(),
                Some(json!({"title": "a\nb"})),
            ),
            422,
            "invalid_title",
        ),
        with(
            "a device id with a slash",
            (
                "PUT",
                "/api/v1/devices/a%2Fb".into(),
                good(),
                Some(json!({})),
            ),
            422,
            "invalid_device_id",
        ),
        with(
            "an unknown device type",
            (
                "PUT",
                "/api/v1/devices/d1".into(),
                good(),
                Some(json!({"type": "toaster"})),
            ),
            422,
            "invalid_device_kind",
        ),
        with(
            "an order of 1,001 items",
            (
                "PUT",
                "/api/v1/playlists/p1/order".into(),
                good(),
                Some(json!({"items": vec![item.clone(); 1001]})),
            ),
            422,
            "too_many_items",
        ),
        with(
            "a batch of 1,001 plays",
            (
                "POST",
                "/api/v1/play/batch".into(),
                good(),
                Some(json!({"plays": vec![json!({}); 1001]})),
            ),
            422,
            "batch_too_large",
        ),
        with(
            "a path segment that is not UTF-8 once decoded",
            ("DELETE", "/api/v1/subscriptions/%FF".into(), good(), None),
            422,
            "invalid_path",
        ),
        with(
            "a playlist id that is not UTF-8 once decoded",
            ("DELETE", "/api/v1/playlists/%FF%FE".into(), good(), None),
            422,
            "invalid_path",
        ),
        with(
            "an unknown route",
            ("POST", "/api/v1/nowhere".into(), good(), Some(json!({}))),
            404,
            "not_found",
        ),
    ]
}

#[tokio::test]
async fn every_bad_request_gets_its_4xx_and_produces_nothing() {
    let api = Api::new();
    for (what, method, path, token, body, status, code) in cases() {
        let (got, answer) = api.send(method, &path, token, body).await;
        assert_eq!(
            (got.as_u16(), answer["code"].as_str()),
            (status, Some(code)),
            "{what}: {answer}"
        );
        assert!(
            answer["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty() && e.len() < 1_000),
            "{what}: a bounded message: {answer}"
        );
    }
    assert!(
        api.produced().is_empty(),
        "nothing produced for a refused request"
    );
}

#[tokio::test]
async fn bodies_that_are_not_json_too_large_or_of_another_type_are_refused() {
    let api = Api::new();
    let request = |content_type: &str, body: Vec<u8>, key: Option<&str>| {
        let mut r = Request::builder()
            .method("POST")
            .uri("/api/v1/subscriptions")
            .header(
                "authorization",
                format!("Bearer {}", token("mallory").expect("token")),
            )
            .header("content-type", content_type);
        if let Some(key) = key {
            r = r.header("idempotency-key", key);
        }
        r.body(Body::from(body)).expect("a request")
    };
    let json = |v: Value| v.to_string().into_bytes();
    let good = json!({"rss_source_feed": feed()});
    for (what, request, status, code) in [
        (
            "not JSON",
            request("application/json", b"{not json".to_vec(), None),
            400,
            "invalid_json",
        ),
        (
            "wrong content type",
            request("text/plain", json(good.clone()), None),
            415,
            "unsupported_media_type",
        ),
        (
            "body over 1 MiB",
            request("application/json", vec![b' '; 1024 * 1024 + 1], None),
            413,
            "payload_too_large",
        ),
        (
            "an idempotency key over 255 characters",
            request(
                "application/json",
                json(good.clone()),
                Some(&"k".repeat(256)),
            ),
            422,
            "invalid_idempotency_key",
        ),
    ] {
        let (got, answer) = api.raw(request).await;
        assert_eq!(
            (got.as_u16(), answer["code"].as_str()),
            (status, Some(code)),
            "{what}: {answer}"
        );
    }
    assert!(api.produced().is_empty());
}

#[tokio::test]
async fn a_broker_that_does_not_take_the_command_is_a_503_to_retry() {
    let api = Api::new();
    api.recorder
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, answer) = api
        .send(
            "POST",
            "/api/v1/subscriptions",
            token("ann"),
            Some(json!({"rss_source_feed": feed()})),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );
}
