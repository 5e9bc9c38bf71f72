//! `POST /api/v1/subscriptions/opml`: an OPML file imported (see `crate::opml_import`), answered
//! after the decisions with what happened to each feed and each group.

use crate::IngestState;
use crate::opml_import::{ImportReport, import};
use crate::routes::Origin;
use axum::extract::State;
use axum::extract::rejection::StringRejection;
use balados_platform::http::{ApiError, Authenticated, Json, bounded};

pub async fn import_opml(
    State(state): State<IngestState>,
    auth: Authenticated,
    body: Result<String, StringRejection>,
) -> Result<Json<ImportReport>, ApiError> {
    let body = body.map_err(|e| ApiError::validation("invalid_body", bounded(&e.body_text())))?;
    let origin = Origin {
        app_id: &auth.caller.app_id,
        device: auth
            .device_id
            .clone()
            .map(|d| (d, auth.device_name.clone())),
        occurred_at: None,
    };
    use balados_auth::{Access, Area, Permission};
    let groups = auth
        .caller
        .scopes
        .allows(Permission::Data(Area::Collections, Access::Write));
    Ok(Json(
        import(&state, &auth.user, origin, &body, groups).await?,
    ))
}
