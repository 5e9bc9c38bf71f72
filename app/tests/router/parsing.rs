//! Every write route parses its request into the command it names, produced once (202).

use crate::helpers::{Api, b64, feed, item, token};
use axum::http::StatusCode;
use balados_schemas::{CommandPayload, CommandResult};
use serde_json::json;

#[tokio::test]
async fn every_write_route_produces_its_command() {
    let api = Api::new();
    let (feed, item) = (feed(), item());
    let play = json!({"rss_source_feed": feed, "rss_source_item": item, "position": 30,
                      "duration": 600, "played": true, "timestamp": "2026-01-01T00:00:00Z"});
    let routes: Vec<(&str, String, Option<serde_json::Value>, &str)> = vec![
        (
            "POST",
            "/api/v1/subscriptions".into(),
            Some(json!({"rss_source_feed": feed, "rss_source_id": "s1"})),
            "subscribe",
        ),
        (
            "DELETE",
            format!("/api/v1/subscriptions/{feed}"),
            None,
            "unsubscribe",
        ),
        (
            "POST",
            "/api/v1/play".into(),
            Some(play.clone()),
            "record_play",
        ),
        (
            "PUT",
            format!("/api/v1/play/{item}/position"),
            Some(json!({"position": 31})),
            "update_position",
        ),
        (
            "POST",
            format!("/api/v1/episodes/{item}/save"),
            Some(json!({"rss_source_feed": feed})),
            "save_episode",
        ),
        (
            "DELETE",
            format!("/api/v1/episodes/{item}/save"),
            None,
            "unsave_episode",
        ),
        (
            "POST",
            format!("/api/v1/episodes/{item}/share"),
            Some(json!({"feed": feed})),
            "share_episode",
        ),
        (
            "PUT",
            "/api/v1/privacy".into(),
            Some(json!({"privacy": "anonymous", "item": item})),
            "change_privacy",
        ),
        (
            "DELETE",
            format!("/api/v1/events?feed={feed}"),
            None,
            "remove_events",
        ),
        (
            "PUT",
            "/api/v1/devices/phone.1".into(),
            Some(json!({"caption": "Phone", "type": "mobile"})),
            "upsert_device",
        ),
        (
            "POST",
            "/api/v1/playlists".into(),
            Some(json!({"id": "p1", "name": " Road ", "description": "a\nb"})),
            "create_playlist",
        ),
        (
            "PATCH",
            "/api/v1/playlists/p1".into(),
            Some(json!({"name": "Trip", "public": true})),
            "update_playlist",
        ),
        (
            "POST",
            "/api/v1/playlists/p1/items".into(),
            Some(json!({"rss_source_feed": feed, "rss_source_item": item})),
            "add_playlist_item",
        ),
        (
            "PUT",
            "/api/v1/playlists/p1/order".into(),
            Some(json!({"items": [item]})),
            "reorder_playlist",
        ),
        (
            "DELETE",
            format!("/api/v1/playlists/p1/items/{item}"),
            None,
            "remove_playlist_item",
        ),
        (
            "DELETE",
            "/api/v1/playlists/p1".into(),
            None,
            "delete_playlist",
        ),
        (
            "POST",
            "/api/v1/collections".into(),
            Some(json!({"id": "c1", "title": "Shelf"})),
            "create_collection",
        ),
        (
            "PATCH",
            "/api/v1/collections/c1".into(),
            Some(json!({"title": "Shelf 2"})),
            "update_collection",
        ),
        (
            "POST",
            "/api/v1/collections/c1/feeds".into(),
            Some(json!({"rss_source_feed": feed})),
            "add_collection_feed",
        ),
        (
            "PUT",
            format!("/api/v1/collections/c1/feeds/{feed}/position"),
            Some(json!({"position": 0})),
            "move_collection_feed",
        ),
        (
            "DELETE",
            format!("/api/v1/collections/c1/feeds/{feed}"),
            None,
            "remove_collection_feed",
        ),
        (
            "DELETE",
            "/api/v1/collections/c1".into(),
            None,
            "delete_collection",
        ),
    ];
    for (n, (method, path, body, kind)) in routes.into_iter().enumerate() {
        let (status, answer) = api.send(method, &path, token("ann"), body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{method} {path}: {answer}");
        assert_eq!(answer["status"], "accepted", "{method} {path}");
        let produced = api.produced();
        assert_eq!(produced.len(), n + 1, "{method} {path}: one command");
        let command = produced.last().expect("produced");
        assert_eq!(command.payload.kind(), kind, "{method} {path}");
        assert_eq!(command.user_id.as_str(), "ann");
        assert_eq!(command.app_id.as_deref(), Some("test-app"));
    }
    // Values arrive parsed: names trimmed, times from the client, the creating route's own id.
    let produced = api.produced();
    assert!(produced.iter().any(|c| matches!(&c.payload,
        CommandPayload::CreatePlaylist { playlist_id, name, .. }
            if playlist_id.as_str() == "p1" && name.as_str() == "Road")));
    let played = produced
        .iter()
        .find(|c| c.payload.kind() == "record_play")
        .expect("a play");
    assert_eq!(played.occurred_at.to_rfc3339(), "2026-01-01T00:00:00+00:00");
}

#[tokio::test]
async fn a_creation_names_its_resource_and_a_waiting_client_gets_the_outcome() {
    let api = Api::new();
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/playlists")
        .header(
            "authorization",
            format!("Bearer {}", token("ann").expect("a token")),
        )
        .header("content-type", "application/json")
        .header("prefer", "wait=5")
        .header("idempotency-key", "k-1")
        .body(axum::body::Body::from(json!({"name": "Mix"}).to_string()))
        .expect("a request");
    // The outcome comes from the aggregator; here, from the test, once the command is produced.
    let (recorder, replies) = (api.recorder.clone(), api.replies.clone());
    tokio::spawn(async move {
        loop {
            let produced = recorder.commands.lock().expect("lock").first().cloned();
            if let Some(command) = produced {
                replies.deliver(CommandResult {
                    command_id: command.command_id,
                    user_id: command.user_id,
                    rejection_code: None,
                    message: None,
                    first_sequence: 1,
                    event_count: 1,
                    events_partition: 0,
                    events_next_offset: 7,
                    duplicate: false,
                    clamped: false,
                });
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    let (status, answer) = api.raw(request).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["consistency_token"], "v1.0.7");
    let command = &api.produced()[0];
    let CommandPayload::CreatePlaylist { playlist_id, .. } = &command.payload else {
        panic!("a playlist: {command:?}");
    };
    // Without an id from the client, the playlist is named by the command, itself derived from
    // the Idempotency-Key: a retry names the same playlist.
    assert_eq!(
        playlist_id.as_str(),
        command.command_id.simple().to_string()
    );
    let _ = b64;
}
