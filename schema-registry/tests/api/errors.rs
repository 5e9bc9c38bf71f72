use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ID, assert_error, json_ok, play, spawn_app};

#[tokio::test]
async fn unknown_subjects_versions_and_ids_have_their_own_codes() {
    let app = spawn_app().await;
    assert_error(app.get("/subjects/nope/versions").await, 404, 40401).await;
    assert_error(app.get("/subjects/nope/versions/1").await, 404, 40401).await;
    assert_error(app.get("/subjects/nope/versions/latest").await, 404, 40401).await;
    assert_error(app.delete("/subjects/nope").await, 404, 40401).await;
    assert_error(app.get("/schemas/ids/999").await, 404, 40403).await;
    assert_error(app.get("/schemas/ids/999/schema").await, 404, 40403).await;
    assert_error(app.get("/schemas/ids/999/versions").await, 404, 40403).await;
    assert_error(app.get("/schemas/ids/abc").await, 404, 40403).await;

    app.register_ok("plays-value", &play(ID)).await;
    assert_error(
        app.get("/subjects/plays-value/versions/2").await,
        404,
        40402,
    )
    .await;
    assert_error(
        app.get("/subjects/plays-value/versions/2/schema").await,
        404,
        40402,
    )
    .await;
    let unknown = json!({ "schema": play(r#"{"name":"other","type":"int"}"#) });
    assert_error(
        app.post("/subjects/plays-value", &unknown).await,
        404,
        40403,
    )
    .await;
    assert_error(app.post("/subjects/nope", &unknown).await, 404, 40401).await;
    assert_error(
        app.post("/compatibility/subjects/plays-value/versions/9", &unknown)
            .await,
        404,
        40402,
    )
    .await;
}

#[tokio::test]
async fn invalid_versions_are_rejected_with_42202() {
    let app = spawn_app().await;
    app.register_ok("plays-value", &play(ID)).await;
    for version in ["0", "-2", "first", "99999999999"] {
        let path = format!("/subjects/plays-value/versions/{version}");
        assert_error(app.get(&path).await, 422, 42202).await;
    }
    assert_error(
        app.delete("/subjects/plays-value/versions/zero").await,
        422,
        42202,
    )
    .await;
    assert_error(
        app.post(
            "/compatibility/subjects/plays-value/versions/zero",
            &json!({ "schema": play(ID) }),
        )
        .await,
        422,
        42202,
    )
    .await;
}

#[tokio::test]
async fn invalid_avro_and_other_schema_types_are_rejected_with_42201() {
    let app = spawn_app().await;
    for schema in [
        "",
        "{not json",
        r#"{"type":"record","name":"NoFields"}"#,
        r#""nope""#,
    ] {
        assert_error(app.register("plays-value", schema).await, 422, 42201).await;
    }
    let json_schema = json!({ "schema": r#"{"type":"object"}"#, "schemaType": "JSON" });
    let body = assert_error(
        app.post("/subjects/plays-value/versions", &json_schema)
            .await,
        422,
        42201,
    )
    .await;
    assert!(body["message"].as_str().is_some_and(|m| m.contains("AVRO")));
    let referencing = json!({
        "schema": play(ID),
        "references": [{ "name": "x", "subject": "s", "version": 1 }],
    });
    assert_error(
        app.post("/subjects/plays-value/versions", &referencing)
            .await,
        422,
        42201,
    )
    .await;
    assert_eq!(json_ok(app.get("/subjects").await).await, json!([]));
}

#[tokio::test]
async fn malformed_bodies_get_a_confluent_error_not_plain_text() {
    let app = spawn_app().await;
    let send = |body: &'static str| {
        app.as_operator(Method::POST, "/subjects/plays-value/versions")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    assert_error(send("{\"schema\": ").await.expect("send"), 400, 400).await;
    assert_error(send("not json at all").await.expect("send"), 400, 400).await;
    assert_error(
        send("{\"schemaa\": \"x\"}").await.expect("send"),
        422,
        42201,
    )
    .await;
    assert_error(send("{\"schema\": 42}").await.expect("send"), 422, 42201).await;
    let config = app
        .as_operator(Method::PUT, "/config")
        .body("{")
        .send()
        .await
        .expect("send");
    assert_error(config, 400, 400).await;
}

#[tokio::test]
async fn every_content_type_clients_send_is_accepted() {
    let app = spawn_app().await;
    let body = json!({ "schema": play(ID) }).to_string();
    let mut ids = Vec::new();
    for content_type in [
        Some("application/vnd.schemaregistry.v1+json"),
        Some("application/vnd.schemaregistry+json"),
        Some("application/json"),
        Some("application/octet-stream"),
        None,
    ] {
        let mut request = app
            .as_operator(Method::POST, "/subjects/plays-value/versions")
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let answer = json_ok(request.send().await.expect("send")).await;
        ids.push(answer["id"].clone());
    }
    assert!(ids.iter().all(|id| id == &ids[0] && id.is_i64()), "{ids:?}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    assert_error(app.get("/nowhere").await, 404, 404).await;
    let put_subjects = app.put("/subjects", &json!({})).await;
    assert_error(put_subjects, 405, 405).await;
}

#[tokio::test]
async fn root_health_and_types_answer() {
    let app = spawn_app().await;
    assert_eq!(json_ok(app.get("/").await).await, json!({}));
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(
        json_ok(app.get("/schemas/types").await).await,
        Value::from(vec!["AVRO"])
    );
}
