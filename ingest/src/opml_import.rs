//! An OPML import, for the API (`POST /api/v1/subscriptions/opml`) and the account's import page:
//! each feed of the file subscribed, each outline group made a collection holding its feeds, every
//! change an ordinary command decided by the aggregate, and the answer — after the decisions —
//! says per feed and per collection what happened.
//!
//! A group's collection is found by its title: its id is derived from the title, so importing the
//! same file twice finds the collections the first import created (and a collection created
//! another way with the same title is not reused). Collections are created private.

use crate::IngestState;
use crate::routes::{Origin, submit_for_user};
use balados_platform::feed_urls::{Normalised, normalise};
use balados_platform::http::ApiError;
use balados_schemas::{CommandPayload, CommandResult, FeedUrl, LocalId, Name, UserId};
use futures::StreamExt as _;
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// The most outlines a file may hold (the subscription limit, 5,000).
pub const MAX_OUTLINES: usize = 5_000;
/// How long each command waits for its decision.
const DECISION_WAIT: Duration = Duration::from_secs(10);
/// Commands of one import in flight at once.
const IN_FLIGHT: usize = 32;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FeedReport {
    /// The `xmlUrl` as written in the file.
    pub url: String,
    /// The feed as kept (normalised), absent when the URL cannot be a feed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// `subscribed`, `already` (subscribed before), `invalid` (not a feed URL), `refused` (by
    /// the aggregate: a limit) or `pending` (not decided in time; it stands).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CollectionReport {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    /// `created`, `existing`, `invalid` (a title that cannot be a name), `refused` or `pending`.
    pub status: &'static str,
    /// Feeds of the group now in the collection.
    pub feeds: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub feeds: Vec<FeedReport>,
    pub collections: Vec<CollectionReport>,
}

/// A collection id derived from its title: the same title gives the same collection.
pub fn collection_id(title: &str) -> LocalId {
    let name = format!("balados-opml-collection:{title}");
    LocalId::from_uuid(uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        name.as_bytes(),
    ))
}

/// Each command decided for `user` (`None` for those not decided in time), in order.
async fn decide(
    state: &IngestState,
    user: &UserId,
    origin: &Origin<'_>,
    payloads: Vec<CommandPayload>,
) -> Result<Vec<Option<CommandResult>>, ApiError> {
    futures::stream::iter(payloads)
        .map(|payload| submit_for_user(state, user.clone(), origin.clone(), payload, DECISION_WAIT))
        .buffered(IN_FLIGHT)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Imports `body` for `user`: 422 `invalid_opml` when it is not OPML, 413 `too_many_outlines`
/// beyond [`MAX_OUTLINES`].
pub async fn import(
    state: &IngestState,
    user: &UserId,
    origin: Origin<'_>,
    body: &str,
    with_groups: bool,
) -> Result<ImportReport, ApiError> {
    let outlines = balados_platform::opml::read(body)
        .ok_or_else(|| ApiError::validation("invalid_opml", "the body is not an OPML file"))?;
    if outlines.len() > MAX_OUTLINES {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_outlines",
            format!("an import holds at most {MAX_OUTLINES} feeds"),
        ));
    }
    // Each feed once (its first spelling), and the groups in the order they appear.
    let (mut feeds, mut reports, mut seen) = (Vec::new(), Vec::new(), BTreeSet::new());
    let mut groups: Vec<(String, Vec<FeedUrl>)> = Vec::new();
    for outline in &outlines {
        let Normalised::Feed { url, .. } = normalise(&outline.url) else {
            reports.push(FeedReport {
                url: outline.url.clone(),
                feed: None,
                status: "invalid",
                message: Some("not a feed URL".to_owned()),
            });
            continue;
        };
        if let Some(title) = &outline.group {
            match groups.iter_mut().find(|(t, _)| t == title) {
                Some((_, members)) if !members.contains(&url) => members.push(url.clone()),
                Some(_) => {}
                None => groups.push((title.clone(), vec![url.clone()])),
            }
        }
        if seen.insert(url.as_str().to_owned()) {
            reports.push(FeedReport {
                url: outline.url.clone(),
                feed: Some(url.as_str().to_owned()),
                status: "pending",
                message: None,
            });
            feeds.push(url);
        }
    }
    // Collections are their own data: a caller that may not write them imports the feeds flat.
    if !with_groups {
        groups.clear();
    }
    // The whole import is paid for first (at most: a group's feeds may not all be subscribed),
    // so that the budget never stops it half-way.
    let commands = feeds.len() + groups.iter().map(|(_, m)| 1 + m.len()).sum::<usize>();
    state.pace(user, commands).await?;
    let subscribes = feeds
        .iter()
        .map(|feed| CommandPayload::Subscribe {
            feed: feed.clone(),
            source_id: None,
        })
        .collect();
    let decided = decide(state, user, &origin, subscribes).await?;
    let mut subscribed = BTreeSet::new();
    let mut outcomes = feeds.iter().zip(decided);
    for report in reports.iter_mut().filter(|r| r.status == "pending") {
        let Some((feed, result)) = outcomes.next() else {
            break;
        };
        match result {
            None => {}
            Some(r) if r.rejection_code.is_some() => {
                report.status = "refused";
                report.message = r.message.or(r.rejection_code);
            }
            Some(r) => {
                report.status = if r.event_count == 0 {
                    "already"
                } else {
                    "subscribed"
                };
                subscribed.insert(feed.as_str().to_owned());
            }
        }
    }
    let mut collections = Vec::with_capacity(groups.len());
    for (title, members) in groups {
        let members: Vec<FeedUrl> = members
            .into_iter()
            .filter(|f| subscribed.contains(f.as_str()))
            .collect();
        collections.push(collection(state, user, &origin, title, members).await?);
    }
    Ok(ImportReport {
        feeds: reports,
        collections,
    })
}

/// The group `title` as a collection (created when missing) holding `members`.
async fn collection(
    state: &IngestState,
    user: &UserId,
    origin: &Origin<'_>,
    title: String,
    members: Vec<FeedUrl>,
) -> Result<CollectionReport, ApiError> {
    let mut report = CollectionReport {
        title,
        collection_id: None,
        status: "pending",
        feeds: 0,
        message: None,
    };
    let name = match Name::parse(&report.title) {
        Ok(name) => name,
        Err(e) => {
            report.status = "invalid";
            report.message = Some(format!("title {e}"));
            return Ok(report);
        }
    };
    let id = collection_id(&report.title);
    report.collection_id = Some(id.as_str().to_owned());
    let create = CommandPayload::CreateCollection {
        collection_id: id.clone(),
        title: name,
        public: false,
    };
    let created = decide(state, user, origin, vec![create])
        .await?
        .pop()
        .flatten();
    match created {
        None => return Ok(report),
        Some(r) => match r.rejection_code.as_deref() {
            None => report.status = "created",
            Some("already_exists") => report.status = "existing",
            Some(_) => {
                report.status = "refused";
                report.message = r.message.or(r.rejection_code);
                return Ok(report);
            }
        },
    }
    let adds = members
        .into_iter()
        .map(|feed| CommandPayload::AddCollectionFeed {
            collection_id: id.clone(),
            feed,
        })
        .collect();
    let added = decide(state, user, origin, adds).await?;
    report.feeds = added
        .iter()
        .filter(|r| r.as_ref().is_some_and(|r| r.rejection_code.is_none()))
        .count();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_names_one_collection() {
        assert_eq!(collection_id("News"), collection_id("News"));
        assert_ne!(collection_id("News"), collection_id("news"));
        assert!(LocalId::parse(collection_id("Ünïcode & co").as_str()).is_ok());
    }
}
