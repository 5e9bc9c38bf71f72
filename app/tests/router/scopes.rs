//! Every write route declares the permission it needs: a caller whose app lacks the scope gets
//! 403 `insufficient_scope` and nothing is produced; with it, the command goes through.

use crate::helpers::{Api, feed, item, token};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_write_needs_its_scope() {
    let api = Api::granted("user.plays.write user.read");
    let play = json!({"rss_source_feed": feed(), "rss_source_item": item(), "position": 1});
    let (status, _) = api
        .send("POST", "/api/v1/play", token("ann"), Some(play))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for (method, path, body) in [
        (
            "POST",
            "/api/v1/subscriptions".to_owned(),
            Some(json!({"rss_source_feed": feed()})),
        ),
        (
            "PUT",
            "/api/v1/privacy".to_owned(),
            Some(json!({"privacy": "private"})),
        ),
        (
            "POST",
            "/api/v1/playlists".to_owned(),
            Some(json!({"name": "n"})),
        ),
        ("DELETE", "/api/v1/collections/c1".to_owned(), None),
        ("PUT", "/api/v1/devices/d1".to_owned(), Some(json!({}))),
    ] {
        let (status, answer) = api.send(method, &path, token("ann"), body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("insufficient_scope")),
            "{method} {path}: {answer}"
        );
    }
    assert_eq!(
        api.produced().len(),
        1,
        "only the permitted write was produced"
    );
    // Without a token it is still a 401, whatever the scopes.
    let (status, _) = api
        .send("POST", "/api/v1/subscriptions", None, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_parent_scope_grants_its_children() {
    let api = Api::granted("user.write");
    let (status, _) = api
        .send(
            "PUT",
            "/api/v1/privacy",
            token("ann"),
            Some(json!({"privacy": "private"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let api = Api::granted("user.subscriptions");
    let (status, _) = api
        .send(
            "DELETE",
            &format!("/api/v1/subscriptions/{}", feed()),
            token("ann"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}
