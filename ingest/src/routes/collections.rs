//! Collections: `POST /collections`, `PATCH/DELETE /collections/{id}`,
//! `POST /collections/{id}/feeds`, `DELETE /collections/{id}/feeds/{feed}`,
//! `PUT /collections/{id}/feeds/{feed}/position`.

use super::ids::{field, opt_field, parse_feed};
use super::{IdPath, Submission, submit, submit_creation};
use crate::IngestState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use balados_platform::http::{ApiError, Authenticated, Json, PathParams};
use balados_schemas::{CommandPayload, LocalId, Name};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    /// The client's id for the collection; derived from the command id when absent.
    #[serde(default)]
    id: Option<String>,
    title: String,
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
        "collection id",
        body.id.as_deref(),
        LocalId::parse,
    )?;
    let title = field("invalid_title", "title", Name::parse(&body.title))?;
    let place = ("/api/v1/collections", id);
    submit_creation(&state, &headers, auth, place, |collection_id| {
        CommandPayload::CreateCollection {
            collection_id,
            title,
            public: body.public,
        }
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct UpdateBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    public: Option<bool>,
}

pub async fn update(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(collection_id): PathParams<IdPath>,
    body: Result<Json<UpdateBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let payload = CommandPayload::UpdateCollection {
        collection_id: collection_id.parse()?,
        title: opt_field("invalid_title", "title", body.title.as_deref(), Name::parse)?,
        public: body.public,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}

pub async fn delete(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(collection_id): PathParams<IdPath>,
) -> Result<Response, ApiError> {
    let payload = CommandPayload::DeleteCollection {
        collection_id: collection_id.parse()?,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}

#[derive(Debug, Deserialize)]
pub struct FeedBody {
    rss_source_feed: String,
}

pub async fn add_feed(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams(collection_id): PathParams<IdPath>,
    body: Result<Json<FeedBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let payload = CommandPayload::AddCollectionFeed {
        collection_id: collection_id.parse()?,
        feed: parse_feed(&body.rss_source_feed)?,
    };
    submit(&state, &headers, auth, Submission::creating(payload, None)).await
}

pub async fn remove_feed(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams((collection_id, feed)): PathParams<(IdPath, String)>,
) -> Result<Response, ApiError> {
    let payload = CommandPayload::RemoveCollectionFeed {
        collection_id: collection_id.parse()?,
        feed: parse_feed(&feed)?,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}

#[derive(Debug, Deserialize)]
pub struct PositionBody {
    /// 0-based; the aggregator checks it against the collection's size.
    position: i64,
}

pub async fn move_feed(
    State(state): State<IngestState>,
    auth: Authenticated,
    headers: HeaderMap,
    PathParams((collection_id, feed)): PathParams<(IdPath, String)>,
    body: Result<Json<PositionBody>, ApiError>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let payload = CommandPayload::MoveCollectionFeed {
        collection_id: collection_id.parse()?,
        feed: parse_feed(&feed)?,
        position: body.position,
    };
    submit(&state, &headers, auth, Submission::new(payload)).await
}
