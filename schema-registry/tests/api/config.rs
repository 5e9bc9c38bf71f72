use serde_json::json;

use crate::helpers::{assert_error, json_ok, spawn_app};

#[tokio::test]
async fn the_global_level_defaults_to_backward_transitive_and_can_be_changed() {
    let app = spawn_app().await;
    assert_eq!(
        json_ok(app.get("/config").await).await,
        json!({ "compatibilityLevel": "BACKWARD_TRANSITIVE" })
    );
    let updated = json_ok(
        app.put("/config", &json!({ "compatibility": "full" }))
            .await,
    )
    .await;
    assert_eq!(updated, json!({ "compatibility": "FULL" }));
    assert_eq!(
        json_ok(app.get("/config").await).await,
        json!({ "compatibilityLevel": "FULL" })
    );
}

#[tokio::test]
async fn a_subject_level_overrides_the_global_one_until_deleted() {
    let app = spawn_app().await;
    assert_error(app.get("/config/plays-value").await, 404, 40408).await;
    assert_eq!(
        json_ok(app.get("/config/plays-value?defaultToGlobal=true").await).await,
        json!({ "compatibilityLevel": "BACKWARD_TRANSITIVE" })
    );

    let updated = json_ok(
        app.put("/config/plays-value", &json!({ "compatibility": "NONE" }))
            .await,
    )
    .await;
    assert_eq!(updated, json!({ "compatibility": "NONE" }));
    assert_eq!(
        json_ok(app.get("/config/plays-value").await).await,
        json!({ "compatibilityLevel": "NONE" })
    );
    // The global level is untouched.
    assert_eq!(
        json_ok(app.get("/config").await).await,
        json!({ "compatibilityLevel": "BACKWARD_TRANSITIVE" })
    );

    assert_eq!(
        json_ok(app.delete("/config/plays-value").await).await,
        json!({ "compatibilityLevel": "NONE" })
    );
    assert_error(app.get("/config/plays-value").await, 404, 40408).await;
    assert_error(app.delete("/config/plays-value").await, 404, 40408).await;
}

#[tokio::test]
async fn unknown_or_missing_levels_are_rejected_with_42203() {
    let app = spawn_app().await;
    let sideways = json!({ "compatibility": "SIDEWAYS" });
    assert_error(app.put("/config", &sideways).await, 422, 42203).await;
    assert_error(app.put("/config/plays-value", &sideways).await, 422, 42203).await;
    assert_error(app.put("/config", &json!({})).await, 422, 42203).await;
    assert_eq!(
        json_ok(app.get("/config").await).await,
        json!({ "compatibilityLevel": "BACKWARD_TRANSITIVE" })
    );
}
