use serde_json::json;

use crate::helpers::{ID, POS_DEFAULT, json_ok, play, spawn_app};

#[tokio::test]
async fn a_registered_schema_is_served_by_id_by_version_and_as_latest() {
    let app = spawn_app().await;
    let schema = play(ID);
    let id = app.register_ok("plays-value", &schema).await;

    let by_id = json_ok(app.get(&format!("/schemas/ids/{id}")).await).await;
    assert_eq!(by_id, json!({ "schema": schema }));
    let raw = app.get(&format!("/schemas/ids/{id}/schema")).await;
    assert_eq!(raw.text().await.expect("body"), schema);

    let versions = json_ok(app.get("/subjects/plays-value/versions").await).await;
    assert_eq!(versions, json!([1]));
    let expected = json!({ "subject": "plays-value", "version": 1, "id": id, "schema": schema });
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions/1").await).await,
        expected
    );
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions/latest").await).await,
        expected
    );
    let raw = app
        .get("/subjects/plays-value/versions/latest/schema")
        .await;
    assert_eq!(raw.text().await.expect("body"), schema);

    assert_eq!(
        json_ok(app.get("/subjects").await).await,
        json!(["plays-value"])
    );
    assert_eq!(
        json_ok(app.get(&format!("/schemas/ids/{id}/versions")).await).await,
        json!([{ "subject": "plays-value", "version": 1 }])
    );
}

#[tokio::test]
async fn registering_the_same_schema_again_returns_its_id_without_a_new_version() {
    let app = spawn_app().await;
    let first = app.register_ok("plays-value", &play(ID)).await;
    // Same schema, other layout and key order: still the same schema.
    let relaid = r#"{ "namespace": "balados", "name": "Play", "type": "record",
                      "fields": [ { "type": "string", "name": "id" } ] }"#;
    let second = app.register_ok("plays-value", relaid).await;
    assert_eq!(first, second);
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions").await).await,
        json!([1])
    );
}

#[tokio::test]
async fn the_same_schema_under_two_subjects_has_one_global_id() {
    let app = spawn_app().await;
    let a = app.register_ok("a-value", &play(ID)).await;
    let b = app.register_ok("b-value", &play(ID)).await;
    assert_eq!(a, b);
    let other = app
        .register_ok("b-value", &play(&format!("{ID},{POS_DEFAULT}")))
        .await;
    assert_ne!(a, other);
    assert_eq!(
        json_ok(app.get(&format!("/schemas/ids/{a}/versions")).await).await,
        json!([{ "subject": "a-value", "version": 1 }, { "subject": "b-value", "version": 1 }])
    );
    assert_eq!(
        json_ok(app.get("/subjects").await).await,
        json!(["a-value", "b-value"])
    );
}

#[tokio::test]
async fn a_registered_schema_can_be_looked_up_under_its_subject() {
    let app = spawn_app().await;
    let v1 = play(ID);
    let v2 = play(&format!("{ID},{POS_DEFAULT}"));
    app.register_ok("plays-value", &v1).await;
    let id2 = app.register_ok("plays-value", &v2).await;
    let found = json_ok(
        app.post("/subjects/plays-value", &json!({ "schema": v2 }))
            .await,
    )
    .await;
    assert_eq!(
        found,
        json!({ "subject": "plays-value", "version": 2, "id": id2, "schema": v2 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_registrations_of_one_schema_create_one_version_and_one_id() {
    let app = spawn_app().await;
    let schema = play(ID);
    let attempts = (0..16).map(|i| {
        let (app, schema) = (&app, &schema);
        async move {
            app.register_ok(&format!("race-{}-value", i % 2), schema)
                .await
        }
    });
    let ids = futures::future::join_all(attempts).await;
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "ids: {ids:?}");
    for subject in ["race-0-value", "race-1-value"] {
        let versions = json_ok(app.get(&format!("/subjects/{subject}/versions")).await).await;
        assert_eq!(versions, json!([1]));
    }
}
