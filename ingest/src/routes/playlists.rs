//! Playlists: `POST /playlists`, `PATCH/DELETE /playlists/{id}`, `POST /playlists/{id}/items`,
//! `DELETE /playlists/{id}/items/{item}`, `PUT /playlists/{id}/order`.

use super::ids::{parse_feed, parse_item};
use super::{Submission, caller, submit, submit_creation};
use crate::IngestState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use balados_platform::http::{ApiError, Json};
use balados_schemas::CommandPayload;
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
    headers: HeaderMap,
    body: Result<Json<CreateBody>, ApiError>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let Json(body) = body?;
    let place = ("/api/v1/playlists", body.id);
    submit_creation(&state, &headers, caller, user, place, |playlist_id| {
        CommandPayload::CreatePlaylist {
            playlist_id,
            name: body.name,
            description: body.description,
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
    headers: HeaderMap,
    Path(playlist_id): Path<String>,
    body: Result<Json<UpdateBody>, ApiError>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let Json(body) = body?;
    let payload = CommandPayload::UpdatePlaylist {
        playlist_id,
        name: body.name,
        description: body.description,
        public: body.public,
    };
    submit(&state, &headers, caller, user, Submission::new(payload)).await
}

pub async fn delete(
    State(state): State<IngestState>,
    headers: HeaderMap,
    Path(playlist_id): Path<String>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let payload = CommandPayload::DeletePlaylist { playlist_id };
    submit(&state, &headers, caller, user, Submission::new(payload)).await
}

#[derive(Debug, Deserialize)]
pub struct ItemBody {
    rss_source_feed: String,
    rss_source_item: String,
}

pub async fn add_item(
    State(state): State<IngestState>,
    headers: HeaderMap,
    Path(playlist_id): Path<String>,
    body: Result<Json<ItemBody>, ApiError>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let Json(body) = body?;
    let payload = CommandPayload::AddPlaylistItem {
        playlist_id,
        feed: parse_feed(&body.rss_source_feed)?,
        item: parse_item(&body.rss_source_item)?,
    };
    submit(
        &state,
        &headers,
        caller,
        user,
        Submission::creating(payload, None),
    )
    .await
}

pub async fn remove_item(
    State(state): State<IngestState>,
    headers: HeaderMap,
    Path((playlist_id, item)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let payload = CommandPayload::RemovePlaylistItem {
        playlist_id,
        item: parse_item(&item)?,
    };
    submit(&state, &headers, caller, user, Submission::new(payload)).await
}

/// Longest accepted order (the playlist bound is the aggregator's; this only caps the request).
const MAX_ORDER_ITEMS: usize = 1_000;

#[derive(Debug, Deserialize)]
pub struct OrderBody {
    /// Every item id of the playlist, in the new order.
    items: Vec<String>,
}

pub async fn reorder(
    State(state): State<IngestState>,
    headers: HeaderMap,
    Path(playlist_id): Path<String>,
    body: Result<Json<OrderBody>, ApiError>,
) -> Result<Response, ApiError> {
    let (caller, user) = caller(&state, &headers)?;
    let Json(body) = body?;
    if body.items.len() > MAX_ORDER_ITEMS {
        return Err(ApiError::validation(
            "too_many_items",
            format!("an order lists at most {MAX_ORDER_ITEMS} items"),
        ));
    }
    let items = body
        .items
        .iter()
        .map(|i| parse_item(i))
        .collect::<Result<_, _>>()?;
    let payload = CommandPayload::ReorderPlaylist { playlist_id, items };
    submit(&state, &headers, caller, user, Submission::new(payload)).await
}
