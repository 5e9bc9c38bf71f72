use serde_json::json;

use crate::helpers::{
    ID, POS, POS_DEFAULT, SPEED_DEFAULT, TestApp, assert_error, json_ok, play, spawn_app,
};

#[tokio::test]
async fn adding_a_field_with_a_default_is_accepted_as_a_new_version() {
    let app = spawn_app().await;
    let v1 = app.register_ok("plays-value", &play(ID)).await;
    let v2 = app
        .register_ok("plays-value", &play(&format!("{ID},{POS_DEFAULT}")))
        .await;
    assert_ne!(v1, v2);
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions").await).await,
        json!([1, 2])
    );
}

#[tokio::test]
async fn adding_a_field_without_default_is_rejected_and_reported_incompatible() {
    let app = spawn_app().await;
    app.register_ok("plays-value", &play(ID)).await;
    let breaking = play(&format!("{ID},{POS}"));

    assert_error(app.register("plays-value", &breaking).await, 409, 409).await;
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions").await).await,
        json!([1])
    );

    let body = json!({ "schema": breaking });
    for path in [
        "/compatibility/subjects/plays-value/versions",
        "/compatibility/subjects/plays-value/versions/latest",
        "/compatibility/subjects/plays-value/versions/1",
    ] {
        let answer = json_ok(app.post(path, &body).await).await;
        assert_eq!(answer, json!({ "is_compatible": false }), "{path}");
    }
    let verbose = json_ok(
        app.post(
            "/compatibility/subjects/plays-value/versions?verbose=true",
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(verbose["is_compatible"], false);
    let messages = verbose["messages"].as_array().expect("messages");
    assert!(
        messages
            .iter()
            .any(|m| m.as_str().is_some_and(|m| m.contains("pos"))),
        "{messages:?}"
    );
}

#[tokio::test]
async fn the_compatibility_endpoint_accepts_a_compatible_schema() {
    let app = spawn_app().await;
    app.register_ok("plays-value", &play(ID)).await;
    let body = json!({ "schema": play(&format!("{ID},{POS_DEFAULT}")) });
    let answer = json_ok(
        app.post(
            "/compatibility/subjects/plays-value/versions?verbose=true",
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(answer, json!({ "is_compatible": true, "messages": [] }));
}

/// v1 `{id}`, then v2 `{id, pos}` with no default (accepted under NONE), then level `level`.
async fn subject_with_a_gap(app: &TestApp, subject: &str, level: &str) {
    app.set_level(subject, "NONE").await;
    app.register_ok(subject, &play(ID)).await;
    app.register_ok(subject, &play(&format!("{ID},{POS}")))
        .await;
    app.set_level(subject, level).await;
}

#[tokio::test]
async fn transitive_levels_check_every_earlier_version_and_plain_ones_only_the_latest() {
    let app = spawn_app().await;
    // Reads v2's data (pos present, speed defaulted) but not v1's (pos missing, no default).
    let v3 = play(&format!("{ID},{POS},{SPEED_DEFAULT}"));

    subject_with_a_gap(&app, "plain-value", "BACKWARD").await;
    app.register_ok("plain-value", &v3).await;

    subject_with_a_gap(&app, "transitive-value", "BACKWARD_TRANSITIVE").await;
    assert_error(app.register("transitive-value", &v3).await, 409, 409).await;
    let against_v2 = json_ok(
        app.post(
            "/compatibility/subjects/transitive-value/versions/2",
            &json!({ "schema": v3 }),
        )
        .await,
    )
    .await;
    assert_eq!(against_v2, json!({ "is_compatible": true }));
}

#[tokio::test]
async fn forward_compatibility_lets_the_old_schema_read_new_data() {
    let app = spawn_app().await;
    app.set_level("plays-value", "FORWARD").await;
    app.register_ok("plays-value", &play(&format!("{ID},{POS}")))
        .await;
    // Dropping `pos` breaks FORWARD: v1 readers need it and have no default.
    assert_error(app.register("plays-value", &play(ID)).await, 409, 409).await;
    // Adding a field without default is fine: old readers ignore it.
    let wider = play(&format!("{ID},{POS},{}", r#"{"name":"n","type":"int"}"#));
    app.register_ok("plays-value", &wider).await;
}

#[tokio::test]
async fn a_subject_without_versions_is_compatible_with_anything() {
    let app = spawn_app().await;
    let answer = json_ok(
        app.post(
            "/compatibility/subjects/new-value/versions",
            &json!({ "schema": play(ID) }),
        )
        .await,
    )
    .await;
    assert_eq!(answer, json!({ "is_compatible": true }));
}
