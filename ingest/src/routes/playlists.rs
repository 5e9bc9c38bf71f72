//! Playlists: `POST /playlists`, `PATCH/DELETE /playlists/{id}`, `POST /playlists/{id}/items`,
//! `DELETE /playlists/{id}/items/{item}`, `PUT /playlists/{id}/order`.

use super::ids::{field, opt_field, parse_feed, parse_item};
use super::{IdPath, Submission, submit, submit_creation};
use crate::IngestState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use balados_platform::http::{ApiError, Authenticated, Json, PathParams};
use balados_schemas::{CommandPayload, Description, LocalId, Name};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    /// The client's id for the playlist; derived from the command id when absent.
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    public: bool,
}

pub async fn create(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Json<CreateBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let id = opt_field(
        "invalid_id",
        "playlist id",
        body.id.as_deref(),
        LocalId::parse,
    )?;
    let name = field("invalid_name", "name", Name::parse(&body.name))?;
    let description = description(body.description.as_deref())?;
    let place = ("/api/v1/playlists", id);
    submit_creation(&state, &headers, auth, place, |playlist_id| {
        CommandPayload::CreatePlaylist {
            playlist_id,
            name,
            description,
            public: body.public,
        }
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    /// An empty description removes it.
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    public: Option<bool>,
}

pub async fn update(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(playlist_id): PathParams<IdPath>,
    body: Result<Json<UpdateBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let payload = CommandPayload::UpdatePlaylist {
        playlist_id: playlist_id.parse()?,
        name: opt_field("invalid_name", "name", body.name.as_deref(), Name::parse)?,
        description: description(body.description.as_deref())?,
        public: body.public,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}

pub async fn delete(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(playlist_id): PathParams<IdPath>,
) -> Result<Response, ApiError> {
    let payload = CommandPayload::DeletePlaylist {
        playlist_id: playlist_id.parse()?,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}

#[derive(Debug, Deserialize)]
pub struct ItemBody {
    rss_source_feed: String,
    rss_source_item: String,
}

pub async fn add_item(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(playlist_id): PathParams<IdPath>,
    body: Result<Json<ItemBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let payload = CommandPayload::AddPlaylistItem {
        playlist_id: playlist_id.parse()?,
        feed: parse_feed(&body.rss_source_feed)?,
        item: parse_item(&body.rss_source_item)?,
    };
    submit(&state, &headers, auth, Submission::creating(payload, None)).await
}

pub async fn remove_item(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams((playlist_id, item)): PathParams<(IdPath, String)>,
) -> Result<Response, ApiError> {
    let payload = CommandPayload::RemovePlaylistItem {
        playlist_id: playlist_id.parse()?,
        item: parse_item(&item)?,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}

fn description(raw: Option<&str>) -> Result<Option<Description>, ApiError> {
    opt_field(
        "invalid_description",
        "description",
        raw,
        Description::parse,
    )
}

/// Longest accepted order: a playlist's own bounds (the aggregate's), in items and in bytes, so
/// that the command fits a record whatever its items.
const MAX_ORDER_ITEMS: usize = balados_schemas::fields::MAX_PLAYLIST_ITEMS;

#[derive(Debug, Deserialize)]
pub struct OrderBody {
    /// Every item id of the playlist, in the new order.
    items: Vec<String>,
}

pub async fn reorder(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(playlist_id): PathParams<IdPath>,
    body: Result<Json<OrderBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    if body.items.len() > MAX_ORDER_ITEMS {
        return Err(ApiError::validation(
            "too_many_items",
            format!("an order lists at most {MAX_ORDER_ITEMS} items"),
        ));
    }
    let items: Vec<_> = body
        .items
        .iter()
        .map(|i| parse_item(i))
        .collect::<Result<_, _>>()?;
    let bytes: usize = items
        .iter()
        .map(|i| i.guid().len() + i.enclosure_url().len())
        .sum();
    if bytes > balados_schemas::fields::MAX_LIST_BYTES {
        return Err(ApiError::validation(
            "too_many_items",
            "an order holds more bytes of GUIDs and URLs than a playlist may",
        ));
    }
    let payload = CommandPayload::ReorderPlaylist {
        playlist_id: playlist_id.parse()?,
        items,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}
