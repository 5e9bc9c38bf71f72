use serde_json::json;

use crate::helpers::{ID, POS_DEFAULT, assert_error, json_ok, play, spawn_app};

#[tokio::test]
async fn a_soft_deleted_subject_is_hidden_unless_deleted_is_asked_for() {
    let app = spawn_app().await;
    let id = app.register_ok("plays-value", &play(ID)).await;
    app.register_ok("plays-value", &play(&format!("{ID},{POS_DEFAULT}")))
        .await;

    assert_eq!(
        json_ok(app.delete("/subjects/plays-value").await).await,
        json!([1, 2])
    );
    assert_eq!(json_ok(app.get("/subjects").await).await, json!([]));
    assert_eq!(
        json_ok(app.get("/subjects?deleted=true").await).await,
        json!(["plays-value"])
    );
    assert_error(app.get("/subjects/plays-value/versions").await, 404, 40401).await;
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions?deleted=true").await).await,
        json!([1, 2])
    );
    // Deserializers must still find the schemas of records already written.
    json_ok(app.get(&format!("/schemas/ids/{id}")).await).await;
    assert_error(app.delete("/subjects/plays-value").await, 404, 40404).await;
}

#[tokio::test]
async fn a_permanent_delete_needs_a_soft_delete_first() {
    let app = spawn_app().await;
    let id = app.register_ok("plays-value", &play(ID)).await;
    assert_error(
        app.delete("/subjects/plays-value?permanent=true").await,
        404,
        40405,
    )
    .await;
    json_ok(app.delete("/subjects/plays-value").await).await;
    assert_eq!(
        json_ok(app.delete("/subjects/plays-value?permanent=true").await).await,
        json!([1])
    );
    assert_eq!(
        json_ok(app.get("/subjects?deleted=true").await).await,
        json!([])
    );
    assert_error(app.get(&format!("/schemas/ids/{id}")).await, 404, 40403).await;
    assert_error(app.delete("/subjects/plays-value").await, 404, 40401).await;
    // Registering it again gives the same global id back.
    assert_eq!(app.register_ok("plays-value", &play(ID)).await, id);
}

#[tokio::test]
async fn versions_are_soft_then_permanently_deleted_one_at_a_time() {
    let app = spawn_app().await;
    app.register_ok("plays-value", &play(ID)).await;
    app.register_ok("plays-value", &play(&format!("{ID},{POS_DEFAULT}")))
        .await;

    assert_error(
        app.delete("/subjects/plays-value/versions/2?permanent=true")
            .await,
        404,
        40407,
    )
    .await;
    assert_eq!(
        json_ok(app.delete("/subjects/plays-value/versions/latest").await).await,
        json!(2)
    );
    assert_error(
        app.delete("/subjects/plays-value/versions/2").await,
        404,
        40406,
    )
    .await;
    assert_error(
        app.get("/subjects/plays-value/versions/2").await,
        404,
        40402,
    )
    .await;
    assert_eq!(
        json_ok(
            app.get("/subjects/plays-value/versions/2?deleted=true")
                .await
        )
        .await["version"],
        json!(2)
    );
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions/latest").await).await["version"],
        json!(1)
    );
    assert_eq!(
        json_ok(
            app.delete("/subjects/plays-value/versions/2?permanent=true")
                .await
        )
        .await,
        json!(2)
    );
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions?deleted=true").await).await,
        json!([1])
    );
    assert_error(
        app.delete("/subjects/plays-value/versions/7").await,
        404,
        40402,
    )
    .await;
}

#[tokio::test]
async fn version_numbers_are_not_reused_after_a_soft_delete() {
    let app = spawn_app().await;
    app.register_ok("plays-value", &play(ID)).await;
    json_ok(app.delete("/subjects/plays-value/versions/1").await).await;
    app.register_ok("plays-value", &play(&format!("{ID},{POS_DEFAULT}")))
        .await;
    assert_eq!(
        json_ok(app.get("/subjects/plays-value/versions").await).await,
        json!([2])
    );
}
