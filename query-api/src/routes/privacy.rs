//! `GET /api/v1/privacy`: the caller's privacy settings (global, per feed, per episode). Without
//! any, everything is public.

use crate::QueryState;
use axum::extract::State;
use balados_platform::http::{ApiError, Authenticated, Json};
use serde::Serialize;

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Setting {
    /// global, feed or item.
    scope: String,
    /// The feed or item id ("" for global).
    scope_id: String,
    privacy: String,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    privacy_settings: Vec<Setting>,
}

pub async fn list(
    State(state): State<QueryState>,
    auth: Authenticated,
) -> Result<Json<Settings>, ApiError> {
    let privacy_settings = sqlx::query_as::<_, Setting>(
        "SELECT scope, scope_id, privacy FROM users.user_privacy
         WHERE user_id = $1
         ORDER BY CASE scope WHEN 'global' THEN 0 WHEN 'feed' THEN 1 ELSE 2 END, scope_id",
    )
    .bind(auth.user.as_str())
    .fetch_all(&state.pool)
    .await
    .map_err(super::unavailable)?;
    Ok(Json(Settings { privacy_settings }))
}
